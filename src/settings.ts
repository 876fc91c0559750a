/**
 * Stack settings: the one typed, validated view of `stacks/Pulumi.<stack>.yaml`.
 *
 * The same parser serves synth (which reads the YAML file) and the Pulumi
 * program (which reads the engine's config): both hand it the `config:` map.
 * Every threshold in contracts/alerts.md is a named setting whose default is
 * the prod value; a stack overrides only what differs.
 */
import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { z } from "zod";
import { HTTP_DURATION_BUCKETS } from "./telemetry";
import { parseDuration } from "./duration";

export const PROJECT = "authwatch";
export const STACKS_DIR = path.resolve(__dirname, "..", "stacks");

/** Config namespaces that belong to providers, not to us: passed through untouched. */
const PROVIDER_NAMESPACES = new Set(["kubernetes", "grafana", "aws", "pulumi"]);

export class SettingsError extends Error {
  constructor(
    readonly file: string,
    readonly problems: readonly string[],
  ) {
    super(`${file}: invalid stack settings:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "SettingsError";
  }
}

// ---------------------------------------------------------------- field types

const duration = z
  .string()
  .refine((s) => parseDuration(s) !== undefined, { message: "must be a Prometheus duration such as 30s, 5m, 26h or 8d" })
  .refine((s) => (parseDuration(s) ?? 0) > 0, { message: "must be longer than 0s" });
/** A share of something: above 0, at most 1 (0.05 is 5 %). */
const ratio = z.number().gt(0, "must be above 0 (a ratio: 0.05 is 5 %)").lte(1, "must be at most 1 (a ratio: 0.05 is 5 %)");
const seconds = z.number().gt(0, "must be above 0 seconds");
const count = z.number().int("must be a whole number").min(1, "must be at least 1");
const factor = z.number().gt(1, "must be above 1 (a multiple of the earlier rate)");
const url = z.url({ message: "must be an absolute URL" });

// Every field of these objects has a default, so an absent object means "all defaults".
const obj = <T extends z.ZodRawShape>(shape: T) => z.object(shape).strict().prefault({} as z.input<z.ZodObject<T, z.core.$strict>>);

// ------------------------------------------------------------------ the schema

const thresholdsSchema = obj({
  serviceDown: obj({ for: duration.default("1m") }),
  errorRate: obj({
    warningRatio: ratio.default(0.01),
    warningFor: duration.default("5m"),
    criticalRatio: ratio.default(0.05),
    criticalFor: duration.default("2m"),
  }),
  latency: obj({ warningSeconds: seconds.default(0.5), criticalSeconds: seconds.default(1), for: duration.default("5m") }),
  loginLatency: obj({ warningSeconds: seconds.default(2), for: duration.default("5m") }),
  refreshLatency: obj({ warningSeconds: seconds.default(1), for: duration.default("5m") }),
  tokenValidationLatency: obj({
    warningSeconds: seconds.default(0.05),
    criticalSeconds: seconds.default(0.1),
    for: duration.default("5m"),
  }),
  loginFailure: obj({ warningRatio: ratio.default(0.1), criticalRatio: ratio.default(0.2), minAttempts: count.default(20) }),
  registrationFailure: obj({ warningRatio: ratio.default(0.1), minAttempts: count.default(20) }),
  tokenValidationFailure: obj({ warningRatio: ratio.default(0.05) }),
  registrationSpike: obj({ factor: factor.default(5), minRegistrations: count.default(20) }),
  invalidTokenSpike: obj({ factor: factor.default(3), minInvalid: count.default(20) }),
  sessionAnomaly: obj({ inactiveRatio: ratio.default(0.5), for: duration.default("30m") }),
  rateLimit: obj({ warningPerMinute: count.default(10), warningFor: duration.default("5m"), criticalPerMinute: count.default(100) }),
  csrf: obj({ warningCount: count.default(10) }),
  bruteForce: obj({ failuresPerIp: count.default(50) }),
  geoAnomaly: obj({ maxCountries: count.default(1) }),
  memory: obj({ warningRatio: ratio.default(0.8), for: duration.default("10m") }),
  databaseDown: obj({ for: duration.default("1m") }),
  databaseConnections: obj({ warningRatio: ratio.default(0.8), for: duration.default("5m") }),
  backup: obj({ maxAge: duration.default("26h") }),
  restoreVerify: obj({ maxAge: duration.default("8d") }),
  targetDown: obj({ for: duration.default("5m") }),
  notificationsFailing: obj({ for: duration.default("5m") }),
});

const sloObjective = z.number().gt(0.5, "must be above 0.5").lt(1, "must be below 1 (0.999 is 99.9 %)");
const slosSchema = obj({
  availability: obj({ objective: sloObjective.default(0.999) }),
  latency: obj({
    objective: sloObjective.default(0.95),
    thresholdSeconds: z
      .number()
      .refine((v) => (HTTP_DURATION_BUCKETS as readonly number[]).includes(v), {
        message: `must be one of the service's histogram buckets (${HTTP_DURATION_BUCKETS.join(", ")})`,
      })
      .default(0.5),
  }),
});

const scrapeJobsSchema = obj({
  auth: z.string().min(1).default("auth"),
  authHealth: z.string().min(1).default("auth-health"),
  postgres: z.string().min(1).default("postgres"),
  pgBackup: z.string().min(1).default("pg-backup"),
  restoreVerify: z.string().min(1).default("restore-verify"),
  tokenCleanup: z.string().min(1).default("token-cleanup"),
  prometheus: z.string().min(1).default("prometheus"),
  alertmanager: z.string().min(1).default("alertmanager"),
  grafana: z.string().min(1).default("grafana"),
  loki: z.string().min(1).default("loki"),
  pushgateway: z.string().min(1).default("pushgateway"),
  blackbox: z.string().min(1).default("blackbox"),
});

const weekday = z.enum(["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]);
const clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, "must be HH:MM");

const routingSchema = obj({
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
  /** Where the Alertmanager pod sees the receivers' secrets (one file per secret). */
  secretsDir: z.string().startsWith("/", "must be an absolute path").default("/etc/alertmanager/secrets"),
  maintenanceWindow: obj({
    enabled: z.boolean().default(true),
    weekday: weekday.default("sunday"),
    start: clock.default("02:00"),
    end: clock.default("04:00"),
    location: z.string().min(1).default("UTC"),
  }),
});

const lokiSchema = obj({
  securityRetentionDays: count.default(365),
  appRetentionDays: count.default(90),
});

/** Secrets: set with `pulumi config set --secret`; only their presence is a setting. */
export const SECRET_KEYS = [
  "slackAuthWebhookUrl",
  "slackSecurityWebhookUrl",
  "pagerdutyRoutingKey",
  "smtpPassword",
  "deadMansSwitchToken",
] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];

const settingsSchema = z
  .object({
    environment: z.enum(["dev", "staging", "prod", "local"]),
    runbookBaseUrl: url.default("https://github.com/authwatch/authwatch/blob/main/runbooks"),
    dashboardBaseUrl: url.default("https://grafana.example.com"),
    evaluationInterval: duration.default("30s"),
    scrapeInterval: duration.default("30s"),
    scrapeJobs: scrapeJobsSchema,
    /** Where the auth service's pods run (cAdvisor and kube-state-metrics select it by these). */
    authWorkload: obj({ namespace: z.string().min(1).default("auth"), container: z.string().min(1).default("auth") }),
    thresholds: thresholdsSchema,
    slos: slosSchema,
    routing: routingSchema,
    loki: lokiSchema,
  })
  .strict()
  .superRefine((s, ctx) => {
    const below = (lo: number, hi: number, at: (string | number)[], what: string) => {
      if (!(lo < hi)) ctx.addIssue({ code: "custom", path: at, message: `must be below ${what} (${hi}), got ${lo}` });
    };
    const t = s.thresholds;
    below(t.errorRate.warningRatio, t.errorRate.criticalRatio, ["thresholds", "errorRate", "warningRatio"], "errorRate.criticalRatio");
    below(t.latency.warningSeconds, t.latency.criticalSeconds, ["thresholds", "latency", "warningSeconds"], "latency.criticalSeconds");
    below(
      t.tokenValidationLatency.warningSeconds,
      t.tokenValidationLatency.criticalSeconds,
      ["thresholds", "tokenValidationLatency", "warningSeconds"],
      "tokenValidationLatency.criticalSeconds",
    );
    below(t.loginFailure.warningRatio, t.loginFailure.criticalRatio, ["thresholds", "loginFailure", "warningRatio"], "loginFailure.criticalRatio");
    below(t.rateLimit.warningPerMinute, t.rateLimit.criticalPerMinute, ["thresholds", "rateLimit", "warningPerMinute"], "rateLimit.criticalPerMinute");
    const w = s.routing.maintenanceWindow;
    if (w.start >= w.end) ctx.addIssue({ code: "custom", path: ["routing", "maintenanceWindow", "start"], message: `must be before end (${w.end})` });
  });

export type Settings = z.infer<typeof settingsSchema> & {
  readonly stack: string;
  /** Which secrets the stack provides (values never enter Settings). */
  readonly secrets: Readonly<Record<SecretKey, boolean>>;
};
export type Thresholds = Settings["thresholds"];

// ------------------------------------------------------------------- parsing

/** A config value as found in a stack file: plain data, or `{ secure: <ciphertext> }`. */
export type RawConfig = Readonly<Record<string, unknown>>;

const isSecure = (v: unknown): boolean => typeof v === "object" && v !== null && !Array.isArray(v) && "secure" in v;

/**
 * Validate a stack's `config:` map (keys `authwatch:<name>`). Throws a
 * SettingsError naming the file and every offending key; never returns a
 * partially valid result.
 */
export function parseSettings(stack: string, config: RawConfig, file: string): Settings {
  const problems: string[] = [];
  const ours: Record<string, unknown> = {};
  const secrets = Object.fromEntries(SECRET_KEYS.map((k) => [k, false])) as Record<SecretKey, boolean>;

  for (const [fullKey, value] of Object.entries(config)) {
    const [ns, key, ...rest] = fullKey.split(":");
    if (key === undefined || rest.length > 0 || !ns) {
      problems.push(`${fullKey}: a config key is <namespace>:<name>, e.g. ${PROJECT}:thresholds`);
    } else if (ns !== PROJECT) {
      if (!PROVIDER_NAMESPACES.has(ns)) problems.push(`${fullKey}: unknown config namespace "${ns}" (known: ${PROJECT}, ${[...PROVIDER_NAMESPACES].join(", ")})`);
    } else if ((SECRET_KEYS as readonly string[]).includes(key)) {
      if (isSecure(value)) secrets[key as SecretKey] = true;
      else problems.push(`${fullKey}: is a secret; set it with \`pulumi config set --secret ${fullKey} <value>\`, never as plain text`);
    } else if (isSecure(value)) {
      problems.push(`${fullKey}: is not a secret setting; set it as plain config`);
    } else {
      ours[key] = value;
    }
  }

  const result = settingsSchema.safeParse(ours);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const at = [`${PROJECT}:${String(issue.path[0] ?? "")}`, ...issue.path.slice(1).map(String)].join(".");
      const keys = issue.code === "unrecognized_keys" ? ` (${issue.keys.map((k) => `"${k}"`).join(", ")})` : "";
      const label = issue.path.length === 0 && issue.code === "unrecognized_keys" ? `${PROJECT}` : at;
      problems.push(`${label}: ${issue.message}${keys}`);
    }
  }
  if (problems.length > 0 || !result.success) throw new SettingsError(file, problems);
  return { ...result.data, stack, secrets };
}

export function stackFile(stack: string, dir = STACKS_DIR): string {
  return path.join(dir, `Pulumi.${stack}.yaml`);
}

/** Read and validate `stacks/Pulumi.<stack>.yaml`. */
export function loadStackSettings(stack: string, dir = STACKS_DIR): Settings {
  const file = stackFile(stack, dir);
  const shown = path.relative(process.cwd(), file) || file;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    throw new SettingsError(shown, [`no such stack file (stacks: ${listStacks(dir).join(", ") || "none"})`]);
  }
  let doc: unknown;
  try {
    doc = yaml.load(text, { schema: yaml.CORE_SCHEMA });
  } catch (e) {
    throw new SettingsError(shown, [`not valid YAML: ${(e as Error).message.split("\n")[0]}`]);
  }
  const top = (doc ?? {}) as Record<string, unknown>;
  const allowedTop = new Set(["config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment"]);
  const unknownTop = Object.keys(top).filter((k) => !allowedTop.has(k));
  if (unknownTop.length > 0) throw new SettingsError(shown, unknownTop.map((k) => `${k}: unknown top-level key (settings go under config:)`));
  return parseSettings(stack, (top.config ?? {}) as RawConfig, shown);
}

export function listStacks(dir = STACKS_DIR): string[] {
  return readdirSync(dir)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}
