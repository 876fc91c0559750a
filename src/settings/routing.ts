/** Where alerts go: the Alertmanager receivers' destinations and secrets, and the maintenance window. */
import { z } from "zod";
import { obj, url, type IssueSink } from "./fields";

/** Where the Prometheus operator mounts the configuration Secret's keys (and thus the templates) in the Alertmanager pod. */
export const ALERTMANAGER_CONFIG_DIR = "/etc/alertmanager/config";
/** Where it mounts each Secret listed in alertmanagerSpec.secrets: <dir>/<secret name>. */
export const ALERTMANAGER_SECRETS_DIR = "/etc/alertmanager/secrets";

/** Secrets: set with `pulumi config set --secret`; only their presence is a setting. */
export const SECRET_KEYS = [
  "slackAuthWebhookUrl",
  "slackSecurityWebhookUrl",
  "pagerdutyRoutingKey",
  "smtpPassword",
  "deadMansSwitchToken",
] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

const weekday = z.enum(["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]);
const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, "must be HH:MM");

/**
 * The receivers' destinations. None has a default: a default would be some
 * other stack's channel or on-call, so a stack that left one out would alert
 * people who are not its own. Each mode requires the ones it routes to.
 */
const DESTINATIONS = {
  slackAuthChannel: "the Slack channel of this stack's auth alerts, e.g. #auth-alerts-<stack>",
  slackSecurityChannel: "the Slack channel of this stack's security alerts, e.g. #security-alerts-<stack>",
  emailTo: "the e-mail address of this stack's on-call (info alerts)",
  deadMansSwitchUrl: "this stack's own dead man's switch endpoint for its Watchdog",
} as const;
type Destination = keyof typeof DESTINATIONS;
const SHARE = "(to deliver where another stack does, write that stack's value here)";
/** Never shared: one stack's heartbeat would hide another's silence. */
const UNSHARED: readonly Destination[] = ["deadMansSwitchUrl"];
const ROUTED_TO: Record<"tiered" | "chat-only", readonly Destination[]> = {
  tiered: ["slackAuthChannel", "slackSecurityChannel", "emailTo", "deadMansSwitchUrl"],
  "chat-only": ["slackAuthChannel"],
};

export const routingSchema = obj({
  /** tiered: the contract's routing table. chat-only: every alert to slack-auth, nothing pages (dev). */
  mode: z.enum(["tiered", "chat-only"]).default("tiered"),
  slackAuthChannel: z.string().regex(/^#\S+$/, "must be a Slack channel such as #auth-alerts").optional(),
  slackSecurityChannel: z.string().regex(/^#\S+$/, "must be a Slack channel such as #security-alerts").optional(),
  emailTo: z.email().optional(),
  emailFrom: z.email().default("alertmanager@example.com"),
  smtpSmarthost: z.string().regex(/^[^:\s]+:\d+$/, "must be host:port").default("smtp.example.com:587"),
  smtpAuthUsername: z.string().min(1).default("alertmanager"),
  /**
   * The dead man's switch endpoint Watchdog is sent to. Alertmanager 0.25 has
   * no url_file for webhooks, so the URL itself must not hold the secret: the
   * token travels as a bearer credential read from a file.
   */
  deadMansSwitchUrl: url.optional(),
  /** PagerDuty Events API v2 endpoint (the routing key is a secret file). */
  pagerdutyUrl: url.default("https://events.pagerduty.com/v2/enqueue"),
  /**
   * Where the Alertmanager pod sees the receivers' secrets (one file per secret).
   * On a cluster the operator mounts Secret <name> at /etc/alertmanager/secrets/<name>,
   * so the last segment is the name of the Secret the Pulumi program writes.
   */
  secretsDir: z.string().startsWith("/", "must be an absolute path").default("/etc/alertmanager/secrets/alertmanager-receivers"),
  /**
   * Where Alertmanager finds the notification templates (`<dir>/*.tmpl`; a relative
   * path is relative to alertmanager.yaml). Default: on a cluster /etc/alertmanager/config,
   * where the operator mounts the extra keys of the configuration Secret; for the
   * local stack "templates", synth's layout.
   */
  templatesDir: z.string().min(1).optional(),
  maintenanceWindow: obj({
    enabled: z.boolean().default(true),
    weekday: weekday.default("sunday"),
    start: clock.default("02:00"),
    end: clock.default("04:00"),
    location: z
      .string()
      .min(1)
      .refine(isTimeZone, { message: "must be an IANA time zone such as UTC or Europe/Berlin" })
      .default("UTC"),
  }),
});

type ParsedRouting = z.output<typeof routingSchema>;

/** Routing once validated: the destinations of the mode's receivers are present, and templatesDir is resolved. */
export type Routing = Omit<ParsedRouting, Destination | "templatesDir"> &
  Partial<Record<Destination, string>> & { templatesDir: string } & (({ mode: "tiered" } & Record<Destination, string>) | { mode: "chat-only"; slackAuthChannel: string });

/** Each destination the mode routes to must be named by the stack itself. */
export function receiverProblems(r: ParsedRouting, ctx: IssueSink): void {
  for (const key of ROUTED_TO[r.mode]) {
    if (r[key] !== undefined) continue;
    ctx.addIssue({
      code: "custom",
      path: ["routing", key],
      message: `required in routing.mode ${r.mode}: ${DESTINATIONS[key]}; a stack never falls back to another stack's receivers${UNSHARED.includes(key) ? "" : ` ${SHARE}`}`,
    });
  }
}

/** The validated routing (receiverProblems found nothing) with templatesDir resolved. */
export const resolveRouting = (r: ParsedRouting, templatesDir: string): Routing => ({ ...r, templatesDir }) as Routing;
