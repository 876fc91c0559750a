/** The whole `authwatch:` settings document: its parts, and the rules that span them. */
import { z } from "zod";
import { parseDuration } from "../duration";
import { slosSchema, thresholdProblems, thresholdsSchema } from "./alerting";
import { clusterProblems, clusterSchema, type ClusterSecretKey } from "./cluster";
import { count, duration, obj, url } from "./fields";
import { rollbackSchema } from "./rollback";
import { remoteWriteProblems, remoteWriteSchema } from "./remote-write";
import { ALERTMANAGER_CONFIG_DIR, receiverProblems, resolveRouting, routingSchema, type SecretKey } from "./routing";

/**
 * What each environment implies. The stack's name is free: a stack file
 * Pulumi.qa.yaml can be a staging environment with its own receivers.
 */
const ENVIRONMENTS = {
  dev: "a development stack that chats to one Slack channel and never pages",
  staging: "a pre-production stack that routes like prod (pages, chat, e-mail) to its own channels",
  prod: "production (pages its on-call)",
  local: "the one-machine stack of npm run local",
} as const;
const ENVIRONMENT_NAMES = Object.keys(ENVIRONMENTS) as [keyof typeof ENVIRONMENTS, ...(keyof typeof ENVIRONMENTS)[]];
const environmentChoice =
  `pick ${Object.entries(ENVIRONMENTS)
    .map(([name, what]) => `${name} for ${what}`)
    .join(", ")}` + " (the stack's name is free: Pulumi.qa.yaml can say environment: staging)";
const environment = z.enum(ENVIRONMENT_NAMES, {
  error: (iss) =>
    iss.input === undefined
      ? `required: one of ${ENVIRONMENT_NAMES.join(", ")}: ${environmentChoice}`
      : `${JSON.stringify(iss.input)} is not one of ${ENVIRONMENT_NAMES.join(", ")}: ${environmentChoice}`,
});

const scrapeJobsSchema = obj({
  auth: z.string().min(1).default("auth"),
  authHealth: z.string().min(1).default("auth-health"),
  postgres: z.string().min(1).default("postgres"),
  pgBackup: z.string().min(1).default("pg-backup"),
  restoreVerify: z.string().min(1).default("restore-verify"),
  tokenCleanup: z.string().min(1).default("token-cleanup"),
  rollbackDrill: z.string().min(1).default("rollback-drill"),
  prometheus: z.string().min(1).default("prometheus"),
  alertmanager: z.string().min(1).default("alertmanager"),
  grafana: z.string().min(1).default("grafana"),
  loki: z.string().min(1).default("loki"),
  pushgateway: z.string().min(1).default("pushgateway"),
  blackbox: z.string().min(1).default("blackbox"),
});

const lokiSchema = obj({
  securityRetentionDays: count.default(365),
  appRetentionDays: count.default(90),
  /**
   * Loki's one tenant (auth is on): the X-Scope-OrgID the shipper pushes with,
   * Grafana's data source and the ruler use. Changing it hides the data
   * written under the old one.
   */
  tenant: z
    .string()
    .regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, "must be 1-63 lower-case letters, digits, - or _ (a Loki tenant id)")
    .refine((t) => t !== "fake", { message: 'must not be "fake" (Loki\'s tenant when auth is off)' })
    .default("authwatch"),
});

/** A Grafana uid: letters, digits, "-" and "_", at most 40 characters (Grafana's own limit). */
const grafanaUid = z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, "must be 1-40 letters, digits, - or _ (a Grafana uid)");

/**
 * How dashboards reach Grafana (docs/dashboards.md). The data sources' uids are
 * what every panel's datasource variable defaults to, so they are fixed per stack.
 */
const grafanaSchema = obj({
  /** api: the Grafana provider (needs grafana:url and the secret grafana:auth); sidecar: ConfigMaps for kube-prometheus-stack's Grafana sidecar. */
  delivery: z.enum(["api", "sidecar"]).default("api"),
  prometheusUid: grafanaUid.default("authwatch-prometheus"),
  lokiUid: grafanaUid.default("authwatch-loki"),
  alertmanagerUid: grafanaUid.default("authwatch-alertmanager"),
  postgresUid: grafanaUid.default("authwatch-postgres"),
  /**
   * The PostgreSQL data source the dashboards' "Rollbacks" annotations read rollback_log through
   * (docs/dashboards.md). Unset: no such data source and no annotation. The user is a read-only role
   * with SELECT on rollback_log only (authwatch_grafana, postgres/roles.sql); its password is the
   * secret authwatch:grafanaPostgresPassword, never a setting.
   */
  postgres: z
    .object({
      /** host:port of the auth database, as Grafana reaches it. */
      host: z.string().regex(/^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?:\d{1,5}$/, "must be host:port, e.g. auth-db.example.internal:5432"),
      database: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a PostgreSQL database name: lower-case letters, digits and _"),
      user: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a PostgreSQL role name: lower-case letters, digits and _").default("authwatch_grafana"),
      /** libpq's sslmode; disable is refused (the password would cross the network in the clear). */
      sslMode: z.enum(["require", "verify-ca", "verify-full"]).default("require"),
    })
    .strict()
    .optional(),
  /** Where Grafana reaches the data sources. Unset: the stack's own in-cluster services (cluster block), else kube-prometheus-stack's in namespace monitoring. */
  prometheusUrl: url.optional(),
  lokiUrl: url.optional(),
  alertmanagerUrl: url.optional(),
  folder: obj({ uid: grafanaUid.default("authwatch"), title: z.string().min(1).default("Authentication") }),
  /** sidecar delivery: the namespace the Grafana sidecar watches for labelled ConfigMaps. Unset: cluster.namespace, else monitoring. */
  sidecarNamespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a Kubernetes namespace name").optional(),
});

export const settingsSchema = z
  .object({
    environment,
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
    rollback: rollbackSchema,
    cluster: clusterSchema.optional(),
    remoteWrite: remoteWriteSchema.optional(),
  })
  .strict()
  .superRefine((s, ctx) => {
    thresholdProblems(s.thresholds, ctx);
    const g = s.grafana;
    if (new Set([g.prometheusUid, g.lokiUid, g.alertmanagerUid, g.postgresUid]).size < 4) {
      ctx.addIssue({ code: "custom", path: ["grafana", "lokiUid"], message: "the Prometheus, Loki, Alertmanager and PostgreSQL data sources need four different uids" });
    }
    if (s.environment === "dev" && s.routing.mode !== "chat-only") {
      ctx.addIssue({ code: "custom", path: ["routing", "mode"], message: "must be chat-only in dev: dev never pages" });
    }
    if (s.loki.securityRetentionDays < s.loki.appRetentionDays) {
      ctx.addIssue({ code: "custom", path: ["loki", "securityRetentionDays"], message: `must be at least appRetentionDays (${s.loki.appRetentionDays}): security events are kept longest` });
    }
    receiverProblems(s.routing, ctx);
    const w = s.routing.maintenanceWindow;
    if (w.start >= w.end) ctx.addIssue({ code: "custom", path: ["routing", "maintenanceWindow", "start"], message: `must be before end (${w.end})` });
    clusterProblems(s, ctx);
    remoteWriteProblems(s.remoteWrite, ctx);
  })
  .transform((s) => ({
    ...s,
    routing: resolveRouting(s.routing, s.routing.templatesDir ?? (s.environment === "local" ? "templates" : ALERTMANAGER_CONFIG_DIR)),
  }));

export type Settings = z.infer<typeof settingsSchema> & {
  readonly stack: string;
  /** Which secrets the stack provides (values never enter Settings). */
  readonly secrets: Readonly<Record<SecretKey, boolean>>;
  /** Which secrets of the cluster delivery the stack provides. */
  readonly clusterSecrets: Readonly<Record<ClusterSecretKey, boolean>>;
};
export type Thresholds = Settings["thresholds"];
