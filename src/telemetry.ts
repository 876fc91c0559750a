/**
 * The telemetry contract (docs/telemetry.md) as types and data.
 *
 * Every series an expression may select is declared here with the labels it
 * carries, so an expression builder cannot name a metric or label that does
 * not exist, and the validator can reject hand-written PromQL that does.
 */
import { FLAG_NAMES } from "./flags/catalog";

/** Labels attached by scraping, present on every scraped series. */
export const SCRAPE_LABELS = ["job", "instance", "namespace", "env"] as const;

/** Labels that would put personal data into metrics: never allowed (seed 004). */
export const PII_LABELS = ["email", "user_id", "userId", "ip", "device_id", "deviceId", "token", "family_id", "familyId"] as const;

type MetricType = "counter" | "gauge" | "histogram";

interface MetricSpec {
  readonly type: MetricType;
  readonly labels: readonly string[];
  /** Bounded label values the contract names; selectors using other values are errors. */
  readonly values?: Readonly<Record<string, readonly string[]>>;
  readonly help: string;
}

const m = <const S extends MetricSpec>(spec: S): S => spec;

/** Histogram buckets the service exposes (the latency SLO threshold must be one of them). */
export const HTTP_DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2, 5] as const;

export const METRICS = {
  // The auth service (job "auth").
  http_requests_total: m({ type: "counter", labels: ["service", "route", "method", "code"], help: "HTTP requests answered" }),
  http_request_duration_seconds: m({ type: "histogram", labels: ["service", "route", "method"], help: "HTTP request latency" }),
  auth_logins_total: m({
    type: "counter",
    labels: ["result", "method", "reason"],
    values: {
      result: ["success", "failure"],
      method: ["password", "oauth", "magic_link", "guest"],
      reason: ["none", "invalid_credentials", "locked", "mfa_failed", "rate_limited", "other"],
    },
    help: "Login attempts",
  }),
  auth_registrations_total: m({ type: "counter", labels: ["result"], values: { result: ["success", "failure"] }, help: "Registrations" }),
  auth_token_validations_total: m({ type: "counter", labels: ["result"], values: { result: ["valid", "invalid", "expired"] }, help: "Access-token validations" }),
  auth_token_validation_duration_seconds: m({ type: "histogram", labels: [], help: "Access-token validation time" }),
  auth_refresh_total: m({
    type: "counter",
    labels: ["result"],
    values: { result: ["rotated", "reuse_detected", "invalid", "expired"] },
    help: "Refresh-token exchanges",
  }),
  auth_operation_duration_seconds: m({
    type: "histogram",
    labels: ["operation"],
    values: { operation: ["login", "register", "refresh", "logout", "validate", "password_reset"] },
    help: "Auth operation latency",
  }),
  auth_rate_limit_exceeded_total: m({ type: "counter", labels: ["endpoint"], help: "Requests rejected by the rate limiter" }),
  auth_csrf_failures_total: m({ type: "counter", labels: [], help: "CSRF validation failures" }),
  auth_account_lockouts_total: m({ type: "counter", labels: [], help: "Accounts locked" }),
  auth_oauth_total: m({
    type: "counter",
    labels: ["provider", "step", "result"],
    values: { step: ["start", "callback", "token"], result: ["success", "failure"] },
    help: "OAuth flow steps",
  }),
  auth_guest_total: m({ type: "counter", labels: ["event"], values: { event: ["created", "converted", "expired"] }, help: "Guest user events" }),
  auth_password_reset_total: m({
    type: "counter",
    labels: ["event"],
    values: { event: ["requested", "completed", "failed"] },
    help: "Password reset events",
  }),
  auth_sessions: m({ type: "gauge", labels: ["state"], values: { state: ["active", "inactive"] }, help: "Sessions by state" }),
  auth_errors_total: m({
    type: "counter",
    labels: ["error_type"],
    values: { error_type: ["database", "upstream", "internal", "validation"] },
    help: "Auth errors by type",
  }),
  auth_feature_flag: m({
    type: "gauge",
    labels: ["flag"],
    values: { flag: FLAG_NAMES },
    help: "A feature flag as the service applies it (src/flags/catalog.ts flagGaugeValue: 1/0 for a switch, 0-100 for the rollout percentage, the number of groups)",
  }),

  // Blackbox exporter probing /health (job "auth-health").
  probe_success: m({ type: "gauge", labels: [], help: "1 when the probe succeeded" }),
  probe_duration_seconds: m({ type: "gauge", labels: [], help: "Probe duration" }),
  probe_http_status_code: m({ type: "gauge", labels: [], help: "HTTP status of the probe" }),

  // postgres_exporter (job "postgres").
  pg_up: m({ type: "gauge", labels: [], help: "1 when the exporter can reach PostgreSQL" }),
  pg_stat_activity_count: m({ type: "gauge", labels: ["datname", "state"], help: "Connections by database and state" }),
  pg_settings_max_connections: m({ type: "gauge", labels: [], help: "max_connections" }),
  pg_stat_database_deadlocks: m({ type: "counter", labels: ["datname"], help: "Deadlocks detected" }),
  pg_locks_count: m({ type: "gauge", labels: ["datname", "mode"], help: "Locks by database and mode" }),
  pg_stat_activity_max_tx_duration: m({ type: "gauge", labels: ["datname", "state"], help: "Age in seconds of the oldest transaction by database and state" }),

  // Batch jobs through the Pushgateway (jobs "pg-backup", "restore-verify", "token-cleanup", "rollback-drill").
  backup_last_success_timestamp_seconds: m({ type: "gauge", labels: ["database"], help: "Unix time of the last successful backup" }),
  backup_size_bytes: m({ type: "gauge", labels: ["database"], help: "Size of the last backup" }),
  backup_duration_seconds: m({ type: "gauge", labels: ["database"], help: "Duration of the last backup" }),
  restore_verify_last_success_timestamp_seconds: m({ type: "gauge", labels: ["database"], help: "Unix time of the last verified restore" }),
  restore_verify_rows_mismatched: m({ type: "gauge", labels: ["database"], help: "Rows that differ between a restore and its manifest" }),
  restore_verify_duration_seconds: m({ type: "gauge", labels: ["database"], help: "Duration of the last restore (measured RTO)" }),
  refresh_token_cleanup_deleted_total: m({ type: "counter", labels: [], help: "Expired refresh tokens deleted" }),
  backup_last_failure_timestamp_seconds: m({ type: "gauge", labels: ["database"], help: "Unix time of the last failed backup run" }),
  restore_verify_last_failure_timestamp_seconds: m({ type: "gauge", labels: ["database"], help: "Unix time of the last failed restore verification" }),
  refresh_token_cleanup_last_success_timestamp_seconds: m({ type: "gauge", labels: [], help: "Unix time of the last successful token-cleanup run" }),
  refresh_token_cleanup_last_failure_timestamp_seconds: m({ type: "gauge", labels: [], help: "Unix time of the last failed token-cleanup run" }),
  // The monthly rollback drill (job "rollback-drill"): `npm run rollback -- --dry-run --drill` pushes it on success.
  rollback_drill_last_success_timestamp_seconds: m({ type: "gauge", labels: ["stack"], help: "Unix time of the last successful rollback drill against the stack's database" }),

  // Kubernetes (cAdvisor, kube-state-metrics).
  container_memory_working_set_bytes: m({ type: "gauge", labels: ["pod", "container"], help: "Container working set" }),
  kube_pod_container_resource_limits: m({ type: "gauge", labels: ["pod", "container", "resource", "unit"], help: "Container limits" }),
  kube_pod_container_status_restarts_total: m({ type: "counter", labels: ["pod", "container"], help: "Container restarts" }),

  // The monitoring stack itself.
  up: m({ type: "gauge", labels: [], help: "1 when the last scrape succeeded" }),
  ALERTS: m({ type: "gauge", labels: ["alertname", "alertstate", "severity", "service", "category"], help: "Alerts pending or firing" }),
  prometheus_rule_evaluation_failures_total: m({ type: "counter", labels: ["rule_group"], help: "Rule evaluation failures" }),
  prometheus_notifications_dropped_total: m({ type: "counter", labels: [], help: "Notifications dropped" }),
  prometheus_notifications_errors_total: m({ type: "counter", labels: ["alertmanager"], help: "Errors sending alert notifications to an Alertmanager" }),
  loki_prometheus_rule_evaluation_failures_total: m({ type: "counter", labels: ["rule_group", "user"], help: "Loki ruler rule evaluation failures" }),
  alertmanager_notifications_failed_total: m({ type: "counter", labels: ["integration", "receiver"], help: "Failed notifications" }),
  alertmanager_notifications_total: m({ type: "counter", labels: ["integration", "receiver"], help: "Notifications sent" }),
} as const;

export type MetricName = keyof typeof METRICS;
type Spec<M extends MetricName> = (typeof METRICS)[M];

/** Series names a metric exposes (histograms expose _bucket, _sum, _count). */
type SeriesOf<M extends MetricName> = Spec<M>["type"] extends "histogram" ? `${M}_bucket` | `${M}_sum` | `${M}_count` : M;
export type SeriesName = { [M in MetricName]: SeriesOf<M> }[MetricName];
type MetricOfSeries<S extends SeriesName> = { [M in MetricName]: S extends SeriesOf<M> ? M : never }[MetricName];

export type LabelOf<S extends SeriesName> =
  | (typeof SCRAPE_LABELS)[number]
  | Spec<MetricOfSeries<S>>["labels"][number]
  | (S extends `${string}_bucket` ? "le" : never);

export interface SeriesInfo {
  readonly metric: MetricName;
  readonly labels: ReadonlySet<string>;
  readonly values: Readonly<Record<string, readonly string[]>>;
}

/** Every selectable series name with its allowed labels, derived from METRICS. */
export const SERIES: ReadonlyMap<string, SeriesInfo> = (() => {
  const out = new Map<string, SeriesInfo>();
  for (const [name, spec] of Object.entries(METRICS) as [MetricName, MetricSpec][]) {
    const base = [...SCRAPE_LABELS, ...spec.labels];
    const info = (extra: string[]): SeriesInfo => ({ metric: name, labels: new Set([...base, ...extra]), values: spec.values ?? {} });
    if (spec.type === "histogram") {
      out.set(`${name}_bucket`, info(["le"]));
      out.set(`${name}_sum`, info([]));
      out.set(`${name}_count`, info([]));
    } else {
      out.set(name, info([]));
    }
  }
  return out;
})();

/**
 * The auth service's log events (docs/telemetry.md "Logs"). The log shipper
 * labels exactly these `category="security"` (kept 1 year), every other line
 * `category="app"`. The kill switch's events are among them: who turned
 * authentication off or bypassed it, when and why, is what a security
 * investigation of that window asks first, a year later too.
 */
export const SECURITY_LOG_EVENTS = [
  "auth.login.success",
  "auth.login.failure",
  "auth.refresh.rotate",
  "auth.refresh.reuse",
  "auth.logout",
  "auth.register.success",
  "auth.register.failure",
  "auth.ratelimit.exceeded",
  "auth.csrf.failure",
  "auth.account.lockout",
  "auth.flag.changed",
  "auth.rollback",
] as const;

/** Every event of the contract (today every one is a security event; a new event says which it is here). */
export const LOG_EVENTS = [...SECURITY_LOG_EVENTS] as const;

/**
 * Fields of the auth service's JSON log lines (docs/telemetry.md "Logs"). The
 * flag and rollback events (src/rollback/log.ts writes them) carry `flag`,
 * `value` and `previous` (as JSON), `actor` (who ran the command), `reason`,
 * and per rollback step `kind` (rollback, undo), `step`, `status` (done,
 * unchanged, skipped, failed, not run, planned), `seconds`, `detail`, `dryRun`
 * and, on the run's last line, `logId` (the rollback_log row).
 */
export const LOG_FIELDS = [
  ...["evt", "at", "level", "userId", "email", "deviceId", "familyId", "ip", "country", "reason"],
  ...["flag", "value", "previous", "actor", "kind", "step", "status", "seconds", "detail", "dryRun", "logId"],
] as const;

/** Stream labels of the logs and their bounded values (null: any value), docs/telemetry.md "Logs". */
export const LOG_STREAM_LABELS = {
  app: ["auth", "postgres"],
  category: ["security", "app"],
  env: null,
  namespace: null,
} as const satisfies Record<string, readonly string[] | null>;

export type LogApp = (typeof LOG_STREAM_LABELS.app)[number];
export type LogCategory = (typeof LOG_STREAM_LABELS.category)[number];
