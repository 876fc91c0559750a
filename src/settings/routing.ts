/** Where alerts go: the Alertmanager receivers' destinations and secrets, and the maintenance window. */
import { z } from "zod";
import { obj, url } from "./fields";

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

export const routingSchema = obj({
  /** tiered: the contract's routing table. chat-only: every alert to slack-auth, nothing pages (dev). */
  mode: z.enum(["tiered", "chat-only"]).default("tiered"),
  slackAuthChannel: z.string().regex(/^#\S+$/, "must be a Slack channel such as #auth-alerts").default("#auth-alerts"),
  slackSecurityChannel: z.string().regex(/^#\S+$/, "must be a Slack channel such as #security-alerts").default("#security-alerts"),
  emailTo: z.email().default("oncall@example.com"),
  emailFrom: z.email().default("alertmanager@example.com"),
  smtpSmarthost: z.string().regex(/^[^:\s]+:\d+$/, "must be host:port").default("smtp.example.com:587"),
  smtpAuthUsername: z.string().min(1).default("alertmanager"),
  /**
   * The dead man's switch endpoint Watchdog is sent to. Alertmanager 0.25 has
   * no url_file for webhooks, so the URL itself must not hold the secret: the
   * token travels as a bearer credential read from a file.
   */
  deadMansSwitchUrl: url.default("https://deadmansswitch.example.com/ping/authwatch"),
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
