/**
 * The synthetic fleet of `npm run bench -- --only rules`: every series the prod rules and dashboards
 * read, at prod's cardinality (pods × 30 routes × 4 methods × 6 codes, latency histograms with the
 * contract's buckets, the auth metrics, the exporters), plus the rest of a cluster's series
 * (cAdvisor-like containers of other namespaces) up to the target count: they are what the index of
 * a shared Prometheus holds besides ours, and what every selector of ours is intersected with.
 *
 * Every value is a function of (series, time), so the backfilled history and the live exporter that
 * continues it agree: counters never reset, histograms stay cumulative.
 */
import { HTTP_DURATION_BUCKETS } from "../src/telemetry";

export interface FleetOptions {
  readonly pods: number;
  /** Total series wanted; the cluster background fills what the auth fleet does not. */
  readonly series: number;
}

/** One series: its exposition prefix (`name{labels} `) and how its value moves. */
interface Series {
  readonly prefix: string;
  /** counter: rate per second; gauge: level. */
  readonly kind: "counter" | "gauge";
  readonly level: number;
  /** Cumulative-bucket share of the owning count series (histograms), else 1. */
  readonly share: number;
  /** Phase of the wiggle, 0..1. */
  readonly phase: number;
}

export interface Fleet {
  /** Series the rules and dashboards read (job auth, exporters), then the background. */
  readonly series: readonly Series[];
  readonly auth: number;
  readonly background: number;
  /** Scrape shards: [from, to) indices into series, served as one target each. */
  readonly shards: readonly (readonly [number, number])[];
}

export const ROUTES = 30;
export const METHODS = ["GET", "POST", "PUT", "DELETE"] as const;
export const CODES = ["200", "201", "400", "401", "500", "503"] as const;
const CODE_SHARE: Record<string, number> = { "200": 0.9, "201": 0.05, "400": 0.02, "401": 0.028, "500": 0.0015, "503": 0.0005 };
const LES = [...HTTP_DURATION_BUCKETS.map(String), "+Inf"];
/** Cumulative share of requests at or under each bucket (a healthy service). */
const LE_SHARE = [0.3, 0.7, 0.93, 0.985, 0.997, 0.9995, 1, 1];
const OP_LES = ["0.5", "1", "2", "+Inf"];
const OP_SHARE = [0.95, 0.99, 0.998, 1];
const TV_LES = ["0.001", "0.005", "0.01", "0.05", "+Inf"];
const TV_SHARE = [0.4, 0.9, 0.98, 0.999, 1];
const OPERATIONS = ["login", "register", "refresh", "logout", "validate", "password_reset"];
/** Requests per second per pod at the mean of the daily wave. */
const POD_RPS = 40;

const routeName = (r: number) => ["/v1/login", "/v1/token/refresh", "/v1/token/validate", "/v1/register", "/v1/logout"][r] ?? `/v1/resource-${String(r).padStart(2, "0")}`;
const text = (l: Record<string, string>) => `{${Object.entries(l).map(([k, v]) => `${k}="${v}"`).join(",")}}`;

/** A small deterministic hash to 0..1 (phases, levels). */
function unit(i: number): number {
  let h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

export function buildFleet(o: FleetOptions): Fleet {
  const series: Series[] = [];
  const shards: [number, number][] = [];
  const add = (name: string, labels: Record<string, string>, kind: Series["kind"], level: number, share = 1, phase = unit(series.length)) =>
    series.push({ prefix: `${name}${text(labels)} `, kind, level, share, phase });
  // A histogram's series move together (one phase), so its buckets stay cumulative.
  const hist = (name: string, labels: Record<string, string>, les: readonly string[], shares: readonly number[], rps: number, mean: number) => {
    const phase = unit(series.length);
    les.forEach((le, i) => add(`${name}_bucket`, { ...labels, le }, "counter", rps, shares[i]!, phase));
    add(`${name}_sum`, labels, "counter", rps * mean, 1, phase);
    add(`${name}_count`, labels, "counter", rps, 1, phase);
  };
  for (let p = 0; p < o.pods; p++) {
    const from = series.length;
    const instance = `10.1.${Math.floor(p / 250)}.${p % 250}:8080`;
    const base = { job: "auth", instance, namespace: "auth" };
    const svc = { ...base, service: "auth" };
    add("up", base, "gauge", 1);
    for (let r = 0; r < ROUTES; r++) {
      const route = routeName(r);
      const routeRps = (POD_RPS * (r < 3 ? 0.2 : 0.4 / (ROUTES - 3))) / METHODS.length;
      for (const method of METHODS) {
        for (const code of CODES) add("http_requests_total", { ...svc, route, method, code }, "counter", routeRps * CODE_SHARE[code]!);
        hist("http_request_duration_seconds", { ...svc, route, method }, LES, LE_SHARE, routeRps, 0.09);
      }
    }
    for (const [result, method, reason, share] of [
      ["success", "password", "none", 0.8],
      ["failure", "password", "invalid_credentials", 0.1],
      ["success", "oauth", "none", 0.08],
      ["failure", "password", "locked", 0.02],
    ] as const)
      add("auth_logins_total", { ...base, result, method, reason }, "counter", POD_RPS * 0.2 * share);
    for (const [result, share] of [["success", 0.97], ["failure", 0.03]] as const) add("auth_registrations_total", { ...base, result }, "counter", POD_RPS * 0.002 * share);
    for (const [result, share] of [["valid", 0.987], ["invalid", 0.003], ["expired", 0.01]] as const) add("auth_token_validations_total", { ...base, result }, "counter", POD_RPS * 0.6 * share);
    hist("auth_token_validation_duration_seconds", base, TV_LES, TV_SHARE, POD_RPS * 0.6, 0.004);
    for (const [result, share] of [["rotated", 0.99], ["reuse_detected", 0], ["invalid", 0.005], ["expired", 0.005]] as const) add("auth_refresh_total", { ...base, result }, "counter", POD_RPS * 0.2 * share);
    for (const operation of OPERATIONS) hist("auth_operation_duration_seconds", { ...base, operation }, OP_LES, OP_SHARE, POD_RPS * 0.05, 0.1);
    for (const endpoint of ["/v1/login", "/v1/register", "/v1/token/refresh"]) add("auth_rate_limit_exceeded_total", { ...base, endpoint }, "counter", 0.001);
    add("auth_csrf_failures_total", base, "counter", 0);
    add("auth_account_lockouts_total", base, "counter", 0.0005);
    for (const error_type of ["database", "upstream", "internal", "validation"]) add("auth_errors_total", { ...base, error_type }, "counter", error_type === "validation" ? 0.05 : 0);
    for (const provider of ["google", "github"])
      for (const step of ["start", "callback", "token"]) for (const result of ["success", "failure"]) add("auth_oauth_total", { ...base, provider, step, result }, "counter", result === "success" ? 0.3 : 0.003);
    for (const event of ["created", "converted", "expired"]) add("auth_guest_total", { ...base, event }, "counter", 0.05);
    for (const event of ["requested", "completed", "failed"]) add("auth_password_reset_total", { ...base, event }, "counter", 0.01);
    add("auth_sessions", { ...base, state: "active" }, "gauge", 2000);
    add("auth_sessions", { ...base, state: "inactive" }, "gauge", 500);
    const k8s = { namespace: "auth", pod: `auth-7f9c8d-${p}`, container: "auth" };
    add("container_memory_working_set_bytes", { job: "kubelet", instance: `node-${p % 20}`, ...k8s }, "gauge", 4e8);
    add("kube_pod_container_resource_limits", { job: "kube-state-metrics", instance: "ksm:8080", ...k8s, resource: "memory", unit: "byte" }, "gauge", 1073741824);
    add("kube_pod_container_status_restarts_total", { job: "kube-state-metrics", instance: "ksm:8080", ...k8s }, "counter", 0);
    shards.push([from, series.length]);
  }
  // The exporters and the stack's own targets: few series, one shard.
  const from = series.length;
  const health = { job: "auth-health", instance: "http://auth.auth.svc:8080/health" };
  add("up", health, "gauge", 1);
  add("probe_success", health, "gauge", 1);
  add("probe_duration_seconds", health, "gauge", 0.01);
  add("probe_http_status_code", health, "gauge", 200);
  const pg = { job: "postgres", instance: "postgres-exporter:9187" };
  add("up", pg, "gauge", 1);
  add("pg_up", pg, "gauge", 1);
  add("pg_settings_max_connections", pg, "gauge", 400);
  for (const datname of ["auth", "postgres"]) {
    for (const state of ["active", "idle", "idle in transaction"]) {
      add("pg_stat_activity_count", { ...pg, datname, state }, "gauge", 30);
      add("pg_stat_activity_max_tx_duration", { ...pg, datname, state }, "gauge", 2);
    }
    for (const mode of ["accesssharelock", "rowexclusivelock", "exclusivelock"]) add("pg_locks_count", { ...pg, datname, mode }, "gauge", 20);
    add("pg_stat_database_deadlocks", { ...pg, datname }, "counter", 0);
  }
  const pgw = { job: "pushgateway", instance: "pushgateway:9091" };
  add("up", pgw, "gauge", 1);
  for (const [job, metrics] of [
    ["pg-backup", ["backup_last_success_timestamp_seconds", "backup_size_bytes", "backup_duration_seconds"]],
    ["restore-verify", ["restore_verify_last_success_timestamp_seconds", "restore_verify_rows_mismatched", "restore_verify_duration_seconds"]],
  ] as const)
    for (const m of metrics) add(m, { job, instance: "", database: "auth" }, "gauge", m.includes("timestamp") ? -1 : 100);
  add("refresh_token_cleanup_deleted_total", { job: "token-cleanup", instance: "" }, "counter", 1);
  add("refresh_token_cleanup_last_success_timestamp_seconds", { job: "token-cleanup", instance: "" }, "gauge", -1);
  for (const replica of ["prometheus-0", "prometheus-1"]) {
    const prom = { job: "prometheus", instance: `${replica}:9090` };
    add("up", prom, "gauge", 1);
    for (const rule_group of ["auth-recording", "auth-availability", "slo-auth-availability"]) add("prometheus_rule_evaluation_failures_total", { ...prom, rule_group }, "counter", 0);
    add("prometheus_notifications_dropped_total", prom, "counter", 0);
    add("prometheus_notifications_errors_total", { ...prom, alertmanager: "http://alertmanager:9093/api/v2/alerts" }, "counter", 0);
  }
  for (let a = 0; a < 3; a++) {
    const am = { job: "alertmanager", instance: `alertmanager-${a}:9093` };
    add("up", am, "gauge", 1);
    for (const integration of ["pagerduty", "slack", "email"]) {
      add("alertmanager_notifications_total", { ...am, integration, receiver: integration }, "counter", 0.001);
      add("alertmanager_notifications_failed_total", { ...am, integration, receiver: integration }, "counter", 0);
    }
  }
  for (const job of ["grafana", "loki"]) add("up", { job, instance: `${job}:3000` }, "gauge", 1);
  add("loki_prometheus_rule_evaluation_failures_total", { job: "loki", instance: "loki:3100", rule_group: "auth-security", user: "authwatch" }, "counter", 0);
  shards.push([from, series.length]);
  const auth = series.length;

  // The rest of the cluster: other namespaces' containers, 10 series each, 2,000 containers a shard.
  const families: [string, Series["kind"], number][] = [
    ["container_cpu_usage_seconds_total", "counter", 0.2],
    ["container_memory_working_set_bytes", "gauge", 2e8],
    ["container_memory_rss", "gauge", 1.5e8],
    ["container_network_receive_bytes_total", "counter", 5e4],
    ["container_network_transmit_bytes_total", "counter", 5e4],
    ["container_fs_reads_bytes_total", "counter", 1e3],
    ["container_fs_writes_bytes_total", "counter", 2e3],
    ["kube_pod_container_resource_limits", "gauge", 5e8],
    ["kube_pod_container_resource_requests", "gauge", 2.5e8],
    ["kube_pod_container_status_restarts_total", "counter", 0],
  ];
  const containers = Math.max(0, Math.ceil((o.series - auth) / families.length));
  for (let c = 0; c < containers; c++) {
    if (c % 2000 === 0) shards.push([series.length, series.length]);
    const labels = { job: "kubelet", instance: `node-${c % 200}`, namespace: `team-${c % 60}`, pod: `svc-${Math.floor(c / 3)}-${c % 7}`, container: `c${c % 3}` };
    for (const [name, kind, level] of families) add(name, labels, kind, level);
    shards[shards.length - 1]![1] = series.length;
  }
  return { series, shards, auth, background: series.length - auth };
}

/** The daily wave of traffic (0.4..1.6 of the mean) and its integral, so counters are closed-form. */
const DAY = 86400;
const WAVE = 0.6;
const wave = (t: number, phase: number) => 1 + WAVE * Math.sin((2 * Math.PI * t) / DAY + phase);
const waveIntegral = (t: number, phase: number) => t - ((WAVE * DAY) / (2 * Math.PI)) * (Math.cos((2 * Math.PI * t) / DAY + phase) - Math.cos(phase));

/** The value of series `s` at `t` (seconds since the epoch); `t0` = when its counters were zero. */
export function valueAt(s: Series, t: number, t0: number): number {
  if (s.kind === "gauge") return s.level < 0 ? Math.floor((t - 7200) / DAY) * DAY + 7200 : Math.round(s.level * wave(t, s.phase * 6) * (0.98 + 0.04 * unit(Math.floor(t / 30) + s.prefix.length)));
  // Counters count whole events (sums: milliseconds precision); a bucket is a share of its count.
  const v = s.level * s.share * waveIntegral(t - t0, s.phase * 0.5);
  return s.share === 1 && !s.prefix.includes("_sum") ? Math.floor(v) : Math.round(v * 1000) / 1000;
}

/** Exposition lines of series [from, to) at `t`, with (`withTime`) or without timestamps. */
export function linesAt(fleet: Fleet, from: number, to: number, t: number, t0: number, withTime: boolean): string {
  const parts: string[] = [];
  const suffix = withTime ? ` ${t}\n` : "\n";
  for (let i = from; i < to; i++) {
    const s = fleet.series[i]!;
    parts.push(s.prefix + valueAt(s, t, t0) + suffix);
  }
  return parts.join("");
}
