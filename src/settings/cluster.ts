/**
 * `authwatch:cluster`: how the Pulumi program deploys the stack on Kubernetes
 * (and optionally AWS). `pulumi up` requires it (synth does not); chart versions
 * and the database jobs' image have no default on purpose: each stack pins them,
 * so an upgrade is a per-stack change (staging first). Everything else defaults
 * to a small, safe single-replica setup.
 */
import { z } from "zod";
import { cronProblems } from "./cron";
import { count, duration, obj, required, url, type IssueSink } from "./fields";
import { PROM_SIZE, promSizeBytes, quantityBytes } from "./quantities";
import { ALERTMANAGER_CONFIG_DIR, ALERTMANAGER_SECRETS_DIR } from "./routing";

const k8sName = z
  .string()
  .max(63, "must be at most 63 characters (a Kubernetes name)")
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a Kubernetes name: lower-case letters, digits and -");
const labelKey = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const labelValue = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const selector = z
  .record(z.string().regex(labelKey, "must be a Kubernetes label key"), z.string().regex(labelValue, "must be a Kubernetes label value"))
  .refine((r) => Object.keys(r).length > 0, { message: "must select by at least one label" });
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
const promSize = z.string().regex(PROM_SIZE, "must be a size such as 45GB (MB, GB or TB)");
const cron = z.string().superRefine((v, ctx) => {
  for (const message of cronProblems(v)) ctx.addIssue({ code: "custom", message });
});
/** pg_dump / pg_restore --jobs: each is a database connection and a process. */
const parallelJobs = count.max(32, "must be at most 32");
const pgIdentifier = z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a PostgreSQL identifier: lower-case letters, digits and _");
const bucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be an S3 bucket name: 3-63 lower-case letters, digits, . and -")
  .refine((b) => !b.includes(".."), { message: "must not contain .." });

/**
 * Loki's replication factor in simple-scalable mode. A push needs a quorum of
 * floor(RF/2)+1 of a stream's RF ingesters, so RF 3 keeps accepting pushes
 * while one write pod restarts (RF 2 needs both replicas; RF 1 loses its
 * streams' only ingester), and RF 3 needs at least 3 write pods.
 */
export const LOKI_REPLICATION_FACTOR = 3;

export const clusterSchema = z
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
    /**
     * The deployer's statement that cert-manager runs in the cluster (docs/deploy.md
     * "cert-manager"): `pulumi up` requires it when the webhooks or the ingress use cert-manager.
     */
    certManager: z.literal("installed", { message: 'must be "installed" (or left unset)' }).optional(),
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
      /** Where the ingress controller's pods run: the only namespace whose pods may reach Grafana. */
      controllerNamespace: k8sName.default("ingress-nginx"),
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
        backup: obj({
          schedule: cron.default("15 2 * * *"),
          retentionDays: count.default(7),
          /** directory: pg_dump -Fd --jobs (one object per file); custom: one pg_dump -Fc file. restore-verify reads both. */
          format: z.enum(["directory", "custom"]).default("directory"),
          /** pg_dump --jobs (directory format). Unset: the job's CPU request, rounded up (the downward API). */
          parallelJobs: parallelJobs.optional(),
          /** pg_dump --compress, gzip level 0-9 (0: none). 1: gzip is pg_dump's CPU cost, and level 6 saves only a few % here (docs/database.md). */
          compression: z.number().int("must be a whole number").min(0, "must be a gzip level 0-9").max(9, "must be a gzip level 0-9").default(1),
        }),
        restoreVerify: obj({
          schedule: cron.default("30 4 * * 0"),
          /** The scratch database the backup is restored into (dropped after each run). */
          scratchDatabase: pgIdentifier.default("auth_restore_verify"),
          /** pg_restore --jobs. Unset: the job's CPU request, rounded up (the downward API). */
          parallelJobs: parallelJobs.optional(),
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
    /**
     * The monthly rollback drill (seed 002 "run rollback drill monthly", "test rollback in staging"):
     * a CronJob running `npm run rollback -- --dry-run --drill --stack <stack>` against the stack's database, which
     * pushes rollback_drill_last_success_timestamp_seconds{stack} (docs/deploy.md "Rollback drill").
     * enabled unset: on where environment is staging (prod's rollback is proven there), off elsewhere.
     */
    rollbackDrill: obj({
      enabled: z.boolean().optional(),
      /** The authwatch image (Node.js, this repository at its WORKDIR, `npm run rollback`); required where the drill runs. */
      image: image.optional(),
      /** 07:00 on the 1st of each month (jobs.timeZone): a working day's morning most months, within RollbackDrillMissing's 35d. */
      schedule: cron.default("0 7 1 * *"),
      /** The pod's user; never root. */
      runAsUser: z.number().int().min(1, "must not be 0 (root)").default(1000),
      /** A dry run takes seconds; one that hangs is killed (and pushes nothing, so RollbackDrillMissing tells). */
      activeDeadline: duration.default("15m"),
      resources: resources("50m", "128Mi", "512Mi"),
    }),
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
  /**
   * One libpq URI of the auth database per database job, each with that job's
   * own role (postgres/roles.sql, docs/database.md "Roles"): the migration
   * (the schema owner; its pre-migration backup too), the backup (read-only),
   * restore-verify (names the backed-up database; no privilege in it) and
   * token cleanup (SELECT, DELETE on the token tables).
   */
  "migrateDatabaseUrl",
  "backupDatabaseUrl",
  "restoreVerifyDatabaseUrl",
  "tokenCleanupDatabaseUrl",
  /** postgres_exporter's DATA_SOURCE_NAME (a role with pg_monitor). */
  "postgresExporterDsn",
  /** The server restore-verify restores into (RESTORE_VERIFY_TARGET_URL); never the production database (the job refuses it). */
  "restoreVerifyTargetUrl",
  /**
   * The rollback drill's DATABASE_URL (where cluster.rollbackDrill runs): the stack's database as a
   * read-only role (SELECT on feature_flags and rollback_log: the dry run changes nothing).
   */
  "rollbackDrillDatabaseUrl",
  /** The password of grafana.postgres.user (authwatch_grafana: SELECT on rollback_log only), where grafana.postgres is set. */
  "grafanaPostgresPassword",
  /** remote_write's basic-auth password or bearer token (settings remoteWrite, src/settings/remote-write.ts). */
  "remoteWriteCredential",
] as const;
export type ClusterSecretKey = (typeof CLUSTER_SECRET_KEYS)[number];

/** Whether the stack runs the monthly rollback drill: cluster.rollbackDrill.enabled, by default where environment is staging. */
export function rollbackDrillRuns(s: { environment: string; cluster?: ClusterSettings | undefined }): boolean {
  return s.cluster !== undefined && (s.cluster.rollbackDrill.enabled ?? s.environment === "staging");
}

/** Cross-field rules of the cluster block, and what a cluster stack needs of the rest. */
export function clusterProblems(
  s: { environment: string; dashboardBaseUrl: string; routing: { secretsDir: string; templatesDir?: string | undefined }; grafana: { delivery: string; sidecarNamespace?: string | undefined }; cluster?: ClusterSettings | undefined },
  ctx: IssueSink,
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
  if (c.loki.mode === "simple-scalable" && c.loki.replicas < LOKI_REPLICATION_FACTOR) {
    add(["cluster", "loki", "replicas"], `must be at least ${LOKI_REPLICATION_FACTOR} in simple-scalable mode (replication factor ${LOKI_REPLICATION_FACTOR}: with fewer write pods one restart stops every push)`);
  }
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
  if (rollbackDrillRuns(s) && !c.rollbackDrill.image) {
    add(["cluster", "rollbackDrill", "image"], `required where the rollback drill runs (${c.rollbackDrill.enabled ? "rollbackDrill.enabled" : "on by default for environment staging"}): the authwatch image that runs npm run rollback, or set rollbackDrill.enabled: false`);
  }
  for (const [part, r] of Object.entries({ prometheus: c.prometheus.resources, alertmanager: c.alertmanager.resources, grafana: c.grafana.resources, loki: c.loki.resources, logShipper: c.logShipper.resources, exporters: c.exporters.resources, jobs: c.jobs.resources, rollbackDrill: c.rollbackDrill.resources })) {
    if ((quantityBytes(r.limits.memory) ?? 0) < (quantityBytes(r.requests.memory) ?? 0)) add(["cluster", part, "resources", "limits", "memory"], `must be at least requests.memory (${r.requests.memory})`);
  }
  if (s.grafana.delivery === "sidecar" && !c.grafana.enabled) add(["grafana", "delivery"], "sidecar needs the chart's Grafana (cluster.grafana.enabled), or use api with an external Grafana");
  if (c.ingress.enabled && !c.grafana.enabled) add(["cluster", "ingress", "enabled"], "the ingress exposes the chart's Grafana: enable cluster.grafana or disable the ingress");
  // A public Grafana: TLS always (the certificate in tlsSecretName, e.g. from cert-manager).
  if (c.ingress.enabled && !c.ingress.tlsSecretName) add(["cluster", "ingress", "tlsSecretName"], "required when the ingress is enabled (Grafana is public: serve it over TLS)");
  if (c.ingress.enabled && !s.dashboardBaseUrl.startsWith("https://")) add(["dashboardBaseUrl"], "must be https:// when the ingress is enabled");
  // The chart's Grafana may read ConfigMaps of its own namespace only.
  if (c.grafana.enabled && s.grafana.sidecarNamespace !== undefined && s.grafana.sidecarNamespace !== c.namespace) {
    add(["grafana", "sidecarNamespace"], `must be the stack's namespace (${c.namespace}) or unset: the chart's Grafana reads dashboards from its own namespace only`);
  }
}
