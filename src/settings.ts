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

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

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
  /**
   * absentFor: how long the pushed success timestamp may be missing before "never reported" fires
   * (a Prometheus restart loses Pushgateway series for a scrape; the local stack shortens it for drills).
   */
  backup: obj({ maxAge: duration.default("26h"), absentFor: duration.default("15m") }),
  restoreVerify: obj({ maxAge: duration.default("8d"), absentFor: duration.default("15m") }),
  targetDown: obj({ for: duration.default("5m") }),
  notificationsFailing: obj({ for: duration.default("5m") }),
});

/** Above 1 − 1/14.4: below it, even a 100 % error ratio cannot burn 14.4× the budget and the page could never fire. */
const sloObjective = z.number().gt(0.931, "must be above 0.931 (below it the 14.4x page can never fire)").lt(1, "must be below 1 (0.999 is 99.9 %)");
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

const lokiSchema = obj({
  securityRetentionDays: count.default(365),
  appRetentionDays: count.default(90),
});

/** A Grafana uid: letters, digits, "-" and "_", at most 40 characters (Grafana's own limit). */
const grafanaUid = z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, "must be 1-40 letters, digits, - or _ (a Grafana uid)");

/**
 * How dashboards reach Grafana (README "Dashboards"). The data sources' uids are
 * what every panel's datasource variable defaults to, so they are fixed per stack.
 */
const grafanaSchema = obj({
  /** api: the Grafana provider (needs grafana:url and the secret grafana:auth); sidecar: ConfigMaps for kube-prometheus-stack's Grafana sidecar. */
  delivery: z.enum(["api", "sidecar"]).default("api"),
  prometheusUid: grafanaUid.default("authwatch-prometheus"),
  lokiUid: grafanaUid.default("authwatch-loki"),
  alertmanagerUid: grafanaUid.default("authwatch-alertmanager"),
  /** Where Grafana reaches the data sources. Unset: the stack's own in-cluster services (cluster block), else kube-prometheus-stack's in namespace monitoring. */
  prometheusUrl: url.optional(),
  lokiUrl: url.optional(),
  alertmanagerUrl: url.optional(),
  folder: obj({ uid: grafanaUid.default("authwatch"), title: z.string().min(1).default("Authentication") }),
  /** sidecar delivery: the namespace the Grafana sidecar watches for labelled ConfigMaps. Unset: cluster.namespace, else monitoring. */
  sidecarNamespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a Kubernetes namespace name").optional(),
});

// ------------------------------------------------- cluster delivery (index.ts)
//
// `authwatch:cluster`: how the Pulumi program deploys the stack on Kubernetes
// (and optionally AWS). `pulumi up` requires it (synth does not); chart versions
// and the database jobs' image have no default on purpose: each stack pins them,
// so an upgrade is a per-stack change (staging first). Everything else defaults
// to a small, safe single-replica setup.

const required = (what: string) => ({ error: (iss: { input?: unknown }) => (iss.input === undefined ? `required: ${what}` : undefined) });
const k8sName = z
  .string()
  .max(63, "must be at most 63 characters (a Kubernetes name)")
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a Kubernetes name: lower-case letters, digits and -");
const labelKey = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const labelValue = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const selector = z
  .record(z.string().regex(labelKey, "must be a Kubernetes label key"), z.string().regex(labelValue, "must be a Kubernetes label value"))
  .refine((r) => Object.keys(r).length > 0, { message: "must select by at least one label" });
const KUBE_UNITS: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };
/** Bytes of a Kubernetes memory/storage quantity (512Mi, 50Gi, 1G), or undefined. */
export function quantityBytes(q: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(q);
  return m ? Number(m[1]) * (KUBE_UNITS[m[2] ?? ""] ?? NaN) : undefined;
}
const cpu = z.string().regex(/^(\d+m|\d+(\.\d+)?)$/, "must be a CPU quantity such as 250m or 1");
const memory = z.string().refine((q) => quantityBytes(q) !== undefined, { message: "must be a quantity such as 512Mi or 2Gi" });
const storageSize = z.string().regex(/^\d+(Mi|Gi|Ti)$/, "must be a volume size such as 10Gi");
/** Requests (CPU and memory) and a memory limit; no CPU limit (throttling a monitoring pod hides incidents). */
const resources = (c: string, mem: string, limit: string) =>
  obj({ requests: obj({ cpu: cpu.default(c), memory: memory.default(mem) }), limits: obj({ memory: memory.default(limit) }) });
const volume = (size: string) => obj({ size: storageSize.default(size), /** Unset: the cluster's default StorageClass. */ className: k8sName.optional() });
const replicas = z.number().int("must be a whole number").min(1, "must be at least 1").max(9, "must be at most 9");
const chartVersion = z.string(required("an exact chart version, pinned per stack")).regex(/^\d+\.\d+\.\d+$/, "must be an exact chart version such as 67.8.0 (no range, no latest)");
const image = z
  .string(required("an image with a tag or digest"))
  .regex(/^[a-z0-9][\w.\-/:]*(:[\w][\w.-]{0,127}|@sha256:[a-f0-9]{64})$/, "must be an image with a tag or digest, e.g. registry/name:1.2.3")
  .refine((i) => !/:latest$/.test(i), { message: "must not be :latest (pin a version)" });
/** Prometheus' retention size, base-2 units as Prometheus reads them. */
const PROM_UNITS: Record<string, number> = { MB: 2 ** 20, GB: 2 ** 30, TB: 2 ** 40 };
const promSize = z.string().regex(/^\d+(MB|GB|TB)$/, "must be a size such as 45GB (MB, GB or TB)");
const promSizeBytes = (v: string) => Number(v.slice(0, -2)) * (PROM_UNITS[v.slice(-2)] ?? NaN);
const CRON_FIELDS = [
  ["minute", 0, 59],
  ["hour", 0, 23],
  ["day of month", 1, 31],
  ["month", 1, 12],
  ["day of week", 0, 7],
] as const;
/** Problems with a five-field cron schedule (numbers, *, ranges, steps, lists). */
export function cronProblems(expr: string): string[] {
  const fields = expr.trim().split(/\s+/);
  if (fields.length !== 5) return ["must be a cron schedule of five fields (minute hour day-of-month month day-of-week), e.g. 15 2 * * *"];
  return fields.flatMap((f, i) => {
    const [name, lo, hi] = CRON_FIELDS[i]!;
    const ok = f.split(",").every((part) => {
      const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
      if (!m) return false;
      const nums = [m[2], m[3]].filter((n): n is string => n !== undefined).map(Number);
      return nums.every((n) => n >= lo && n <= hi) && (m[4] === undefined || Number(m[4]) > 0);
    });
    return ok ? [] : [`${name} "${f}" must be *, a number ${lo}-${hi}, a range, a list or a step`];
  });
}
const cron = z.string().superRefine((v, ctx) => {
  for (const message of cronProblems(v)) ctx.addIssue({ code: "custom", message });
});
const pgIdentifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a PostgreSQL identifier: lower-case letters, digits and _");
const bucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name: 3-63 lower-case letters, digits, . and -")
  .refine((b) => !b.includes(".."), { message: "must not contain .." });

const clusterSchema = z
  .object({
    /** The namespace of everything the stack runs: Prometheus, Alertmanager, Grafana, Loki, exporters, database jobs. */
    namespace: k8sName.default("monitoring"),
    /** Helm chart versions, pinned per stack. */
    charts: z
      .object({
        /** prometheus-community/kube-prometheus-stack */
        kubePrometheusStack: chartVersion,
        /** grafana/loki */
        loki: chartVersion,
        /** grafana/alloy (the log shipper) */
        alloy: chartVersion,
      }, required("charts.kubePrometheusStack, charts.loki and charts.alloy"))
      .strict(),
    /**
     * Chart v4 renders no Helm hooks, so the operator's admission-webhook certificate
     * jobs never run. disabled: no webhook (PrometheusRules are proven by promtool in
     * CI instead); cert-manager: certificates from cert-manager (must be installed).
     */
    admissionWebhooks: z.enum(["disabled", "cert-manager"]).default("disabled"),
    prometheus: obj({
      replicas: replicas.default(1),
      retention: duration.default("15d"),
      /** Below the volume size: Prometheus deletes the oldest blocks beyond it (WAL included). */
      retentionSize: promSize.default("45GB"),
      storage: volume("50Gi"),
      resources: resources("500m", "2Gi", "4Gi"),
    }),
    alertmanager: obj({
      replicas: replicas.default(1),
      storage: volume("2Gi"),
      resources: resources("50m", "128Mi", "256Mi"),
    }),
    /** The Grafana of kube-prometheus-stack (admin password: the secret authwatch:grafanaAdminPassword). */
    grafana: obj({ enabled: z.boolean().default(true), resources: resources("100m", "256Mi", "512Mi") }),
    /** HA components spread over nodes: soft prefers, hard requires as many nodes as replicas. */
    antiAffinity: z.enum(["soft", "hard"]).default("soft"),
    loki: obj({
      /** single-binary: one pod, filesystem storage; simple-scalable: read/write/backend on S3 (needs aws.enabled). */
      mode: z.enum(["single-binary", "simple-scalable"]).default("single-binary"),
      /** Pods per target (read, write, backend); single-binary runs exactly 1. */
      replicas: replicas.default(1),
      storage: volume("10Gi"),
      resources: resources("200m", "512Mi", "1Gi"),
    }),
    /** Grafana Alloy, shipping the auth service's and PostgreSQL's pod logs to Loki. */
    logShipper: obj({ replicas: replicas.default(1), resources: resources("50m", "128Mi", "256Mi") }),
    /** The Pushgateway, blackbox exporter and postgres_exporter. */
    exporters: obj({
      pushgatewayImage: image.default("quay.io/prometheus/pushgateway:v1.11.0"),
      blackboxExporterImage: image.default("quay.io/prometheus/blackbox-exporter:v0.25.0"),
      postgresExporterImage: image.default("quay.io/prometheuscommunity/postgres-exporter:v0.16.0"),
      resources: resources("20m", "32Mi", "128Mi"),
    }),
    /** Grafana only, at the host of dashboardBaseUrl; Prometheus and Alertmanager are never exposed. */
    ingress: obj({
      enabled: z.boolean().default(false),
      className: k8sName.default("nginx"),
      /** A Secret holding the certificate of the host (e.g. from cert-manager); unset: no TLS section. */
      tlsSecretName: k8sName.optional(),
      annotations: z.record(z.string(), z.string()).default({}),
    }),
    /** The auth service as a scrape and log target (its namespace is authWorkload.namespace). */
    auth: obj({
      /** Labels of the auth Service (ServiceMonitor) and of its pods (log shipper). */
      serviceSelector: selector.default({ "app.kubernetes.io/name": "auth" }),
      podSelector: selector.default({ "app.kubernetes.io/name": "auth" }),
      metricsPort: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a Service port name").max(15).default("http"),
      metricsPath: z.string().startsWith("/", "must be a path such as /metrics").default("/metrics"),
      /** What the blackbox exporter probes (job auth-health). */
      healthUrl: url.default("http://auth.auth.svc:8080/health"),
    }),
    /** PostgreSQL's own log, shipped as the stream {app="postgres"} when it runs in the cluster. */
    postgresLogs: obj({
      enabled: z.boolean().default(true),
      namespace: k8sName.default("postgres"),
      podSelector: selector.default({ "app.kubernetes.io/name": "postgresql" }),
    }),
    /** The database jobs of docs/database.md: scripts from a ConfigMap, run by this image. */
    jobs: z
      .object({
        /** Needs sh, psql, pg_dump, pg_restore (>= the server's major), curl, aws (docs/database.md). */
        image,
        timeZone: z.string().min(1).default("Etc/UTC"),
        backup: obj({ schedule: cron.default("15 2 * * *"), retentionDays: count.default(7) }),
        restoreVerify: obj({
          schedule: cron.default("30 4 * * 0"),
          /** The scratch database the backup is restored into (dropped after each run). */
          scratchDatabase: pgIdentifier.default("auth_restore_verify"),
          parallelJobs: count.default(1),
        }),
        tokenCleanup: obj({ schedule: cron.default("30 2 * * 0"), afterDays: count.default(7), batchSize: count.default(1000) }),
        backoffLimit: z.number().int().min(0).max(10).default(1),
        successfulJobsHistoryLimit: z.number().int().min(0).max(20).default(3),
        failedJobsHistoryLimit: z.number().int().min(1).max(20).default(3),
        /** A run that takes longer is killed (and counts as failed). */
        activeDeadline: duration.default("2h"),
        /** The pods' user (the postgres image's uid 999 by default); never root. */
        runAsUser: z.number().int().min(1, "must not be 0 (root)").default(999),
        resources: resources("100m", "256Mi", "1Gi"),
        /** The emptyDir under TMPDIR; s3:// backups are staged there (at least one dump). */
        scratchSize: storageSize.default("10Gi"),
        /** Without AWS: backups go to this volume (file://); restore-verify reads it. */
        backupVolume: volume("20Gi"),
      }, required("jobs.image at least"))
      .strict(),
    aws: obj({
      enabled: z.boolean().default(false),
      region: z.string().regex(/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/, "must be an AWS region such as eu-west-1").default("eu-west-1"),
      /** The cluster's IAM OIDC provider (IRSA), arn:aws:iam::<account>:oidc-provider/<issuer host/path>. */
      oidcProviderArn: z.string().regex(/^arn:aws[\w-]*:iam::\d{12}:oidc-provider\/\S+$/, "must be an IAM OIDC provider ARN").optional(),
      buckets: obj({ backups: bucketName.optional(), loki: bucketName.optional() }),
      /** The backups' key prefix in the backup bucket; the backup role can touch nothing else. */
      backupPrefix: z
        .string()
        .regex(/^[a-z0-9][a-z0-9._-]*(\/[a-z0-9][a-z0-9._-]*)*$/, "must be a key prefix such as postgres (no leading or trailing /)")
        .default("postgres"),
      /** Deleted or overwritten backups stay recoverable this long (versioning). */
      noncurrentVersionDays: count.default(7),
    }),
  }, required("chart versions and the database jobs' image for a stack deployed to a cluster"))
  .strict();
export type ClusterSettings = z.infer<typeof clusterSchema>;

/** Secrets of the cluster delivery (set with `pulumi config set --secret`). */
export const CLUSTER_SECRET_KEYS = [
  /** Grafana's admin password (when cluster.grafana.enabled). */
  "grafanaAdminPassword",
  /** The libpq URI of the auth database for the database jobs (DATABASE_URL). */
  "databaseUrl",
  /** postgres_exporter's DATA_SOURCE_NAME (a role with pg_monitor). */
  "postgresExporterDsn",
  /** Optional: the server restore-verify restores into (RESTORE_VERIFY_TARGET_URL); unset, the source server. */
  "restoreVerifyTargetUrl",
] as const;
export type ClusterSecretKey = (typeof CLUSTER_SECRET_KEYS)[number];

/** Secrets: set with `pulumi config set --secret`; only their presence is a setting. */
export const SECRET_KEYS = [
  "slackAuthWebhookUrl",
  "slackSecurityWebhookUrl",
  "pagerdutyRoutingKey",
  "smtpPassword",
  "deadMansSwitchToken",
] as const;
export type SecretKey = (typeof SECRET_KEYS)[number];
/** Provider settings that are credentials: refused as plain text like ours. */
export const PROVIDER_SECRET_KEYS = ["grafana:auth"] as const;

const settingsSchema = z
  .object({
    environment: z.enum(["dev", "staging", "prod", "local"]),
    runbookBaseUrl: url.default("https://github.com/authwatch/authwatch/blob/main/runbooks"),
    dashboardBaseUrl: url.default("https://grafana.example.com"),
    evaluationInterval: duration.default("30s"),
    // Rules use rate windows of 2m and more: at most 30s keeps at least four samples in each.
    scrapeInterval: duration.refine((d) => (parseDuration(d) ?? 0) <= 30, { message: "must be at most 30s (rules use 2m rate windows)" }).default("30s"),
    scrapeJobs: scrapeJobsSchema,
    /** Where the auth service's pods run (cAdvisor and kube-state-metrics select it by these). */
    authWorkload: obj({ namespace: z.string().min(1).default("auth"), container: z.string().min(1).default("auth") }),
    thresholds: thresholdsSchema,
    slos: slosSchema,
    routing: routingSchema,
    loki: lokiSchema,
    grafana: grafanaSchema,
    cluster: clusterSchema.optional(),
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
    const g = s.grafana;
    if (new Set([g.prometheusUid, g.lokiUid, g.alertmanagerUid]).size < 3) {
      ctx.addIssue({ code: "custom", path: ["grafana", "lokiUid"], message: "the Prometheus, Loki and Alertmanager data sources need three different uids" });
    }
    if (s.environment === "dev" && s.routing.mode !== "chat-only") {
      ctx.addIssue({ code: "custom", path: ["routing", "mode"], message: "must be chat-only in dev: dev never pages" });
    }
    if (s.loki.securityRetentionDays < s.loki.appRetentionDays) {
      ctx.addIssue({ code: "custom", path: ["loki", "securityRetentionDays"], message: `must be at least appRetentionDays (${s.loki.appRetentionDays}): security events are kept longest` });
    }
    const w = s.routing.maintenanceWindow;
    if (w.start >= w.end) ctx.addIssue({ code: "custom", path: ["routing", "maintenanceWindow", "start"], message: `must be before end (${w.end})` });
    clusterProblems(s, ctx);
  })
  .transform((s) => ({
    ...s,
    routing: { ...s.routing, templatesDir: s.routing.templatesDir ?? (s.environment === "local" ? "templates" : ALERTMANAGER_CONFIG_DIR) },
  }));

/** Where the Prometheus operator mounts the configuration Secret's keys (and thus the templates) in the Alertmanager pod. */
export const ALERTMANAGER_CONFIG_DIR = "/etc/alertmanager/config";
/** Where it mounts each Secret listed in alertmanagerSpec.secrets: <dir>/<secret name>. */
export const ALERTMANAGER_SECRETS_DIR = "/etc/alertmanager/secrets";

type Issue = { code: "custom"; path: (string | number)[]; message: string };
/** Cross-field rules of the cluster block, and what a cluster stack needs of the rest. */
function clusterProblems(
  s: { environment: string; dashboardBaseUrl: string; routing: { secretsDir: string; templatesDir?: string | undefined }; grafana: { delivery: string }; cluster?: ClusterSettings | undefined },
  ctx: { addIssue: (i: Issue) => void },
): void {
  const add = (path: (string | number)[], message: string) => ctx.addIssue({ code: "custom", path, message });
  const c = s.cluster;
  // Without it the stack renders (synth) but is not deployed; `pulumi up` says so (src/pulumi/preflight.ts).
  if (!c) return;
  const secrets = s.routing.secretsDir.replace(/\/+$/, "");
  const name = secrets.slice(ALERTMANAGER_SECRETS_DIR.length + 1);
  if (!secrets.startsWith(`${ALERTMANAGER_SECRETS_DIR}/`) || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) {
    add(["routing", "secretsDir"], `must be ${ALERTMANAGER_SECRETS_DIR}/<secret name> on a cluster (where the operator mounts the receivers' Secret), e.g. ${ALERTMANAGER_SECRETS_DIR}/alertmanager-receivers`);
  }
  if (s.routing.templatesDir !== undefined && s.routing.templatesDir.replace(/\/+$/, "") !== ALERTMANAGER_CONFIG_DIR) {
    add(["routing", "templatesDir"], `must be ${ALERTMANAGER_CONFIG_DIR} on a cluster (where the operator mounts the templates), or left unset`);
  }
  if (c.loki.mode === "single-binary" && c.loki.replicas !== 1) add(["cluster", "loki", "replicas"], "must be 1 in single-binary mode (use mode: simple-scalable to scale)");
  if (c.loki.mode === "simple-scalable" && !c.aws.enabled) add(["cluster", "loki", "mode"], "simple-scalable needs object storage: set cluster.aws.enabled and cluster.aws.buckets.loki");
  if (c.aws.enabled) {
    if (!c.aws.oidcProviderArn) add(["cluster", "aws", "oidcProviderArn"], "required when aws.enabled (the cluster's IAM OIDC provider, for the service accounts' roles)");
    if (!c.aws.buckets.backups) add(["cluster", "aws", "buckets", "backups"], "required when aws.enabled");
    if (c.loki.mode === "simple-scalable" && !c.aws.buckets.loki) add(["cluster", "aws", "buckets", "loki"], "required for Loki in simple-scalable mode");
    if (c.aws.buckets.backups && c.aws.buckets.backups === c.aws.buckets.loki) add(["cluster", "aws", "buckets", "loki"], "must differ from buckets.backups (different retention and access)");
  } else if (c.aws.buckets.backups || c.aws.buckets.loki) {
    add(["cluster", "aws", "enabled"], "buckets are set but aws.enabled is false: enable AWS or remove the buckets");
  }
  const volume = quantityBytes(c.prometheus.storage.size) ?? 0;
  if (promSizeBytes(c.prometheus.retentionSize) > 0.9 * volume) {
    add(["cluster", "prometheus", "retentionSize"], `must leave headroom on the volume: at most 90 % of prometheus.storage.size (${c.prometheus.storage.size})`);
  }
  for (const [part, r] of Object.entries({ prometheus: c.prometheus.resources, alertmanager: c.alertmanager.resources, grafana: c.grafana.resources, loki: c.loki.resources, logShipper: c.logShipper.resources, exporters: c.exporters.resources, jobs: c.jobs.resources })) {
    if ((quantityBytes(r.limits.memory) ?? 0) < (quantityBytes(r.requests.memory) ?? 0)) add(["cluster", part, "resources", "limits", "memory"], `must be at least requests.memory (${r.requests.memory})`);
  }
  if (s.grafana.delivery === "sidecar" && !c.grafana.enabled) add(["grafana", "delivery"], "sidecar needs the chart's Grafana (cluster.grafana.enabled), or use api with an external Grafana");
  if (c.ingress.enabled && !c.grafana.enabled) add(["cluster", "ingress", "enabled"], "the ingress exposes the chart's Grafana: enable cluster.grafana or disable the ingress");
  if (c.ingress.enabled && !s.dashboardBaseUrl.startsWith("https://") && c.ingress.tlsSecretName) add(["dashboardBaseUrl"], "must be https:// when the ingress has TLS");
}

export type Settings = z.infer<typeof settingsSchema> & {
  readonly stack: string;
  /** Which secrets the stack provides (values never enter Settings). */
  readonly secrets: Readonly<Record<SecretKey, boolean>>;
  /** Which secrets of the cluster delivery the stack provides. */
  readonly clusterSecrets: Readonly<Record<ClusterSecretKey, boolean>>;
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
  const clusterSecrets = Object.fromEntries(CLUSTER_SECRET_KEYS.map((k) => [k, false])) as Record<ClusterSecretKey, boolean>;

  for (const [fullKey, value] of Object.entries(config)) {
    const [ns, key, ...rest] = fullKey.split(":");
    if (key === undefined || rest.length > 0 || !ns) {
      problems.push(`${fullKey}: a config key is <namespace>:<name>, e.g. ${PROJECT}:thresholds`);
    } else if (ns !== PROJECT) {
      if (!PROVIDER_NAMESPACES.has(ns)) problems.push(`${fullKey}: unknown config namespace "${ns}" (known: ${PROJECT}, ${[...PROVIDER_NAMESPACES].join(", ")})`);
      else if ((PROVIDER_SECRET_KEYS as readonly string[]).includes(fullKey) && !isSecure(value)) {
        problems.push(`${fullKey}: is a secret; set it with \`pulumi config set --secret ${fullKey} <value>\`, never as plain text`);
      }
    } else if ((SECRET_KEYS as readonly string[]).includes(key) || (CLUSTER_SECRET_KEYS as readonly string[]).includes(key)) {
      if (!isSecure(value)) problems.push(`${fullKey}: is a secret; set it with \`pulumi config set --secret ${fullKey} <value>\`, never as plain text`);
      else if ((SECRET_KEYS as readonly string[]).includes(key)) secrets[key as SecretKey] = true;
      else clusterSecrets[key as ClusterSecretKey] = true;
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
  return { ...result.data, stack, secrets, clusterSecrets };
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
