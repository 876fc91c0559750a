/**
 * The labelled month: every series the prod rules read, scraped every `step` seconds, with diurnal
 * and weekly traffic (a few requests a minute at night, hundreds a second at peak), a rolling deploy
 * a day (new instance labels, counters from zero), scrape gaps (one over an hour), Pushgateway
 * restarts, the database jobs on their schedules, and the incidents of incidents.ts.
 * Output: one OpenMetrics document per day (families contiguous, samples in time order).
 */
import { activeAt, scheduleIncidents, type Incident, type IncidentKind } from "./incidents";
import { dither, seeded, type Random } from "./random";
import { Samples, Scope, type Labels } from "./series";

export interface MonthOptions {
  readonly seed: number;
  /** Midnight UTC, seconds since the epoch. */
  readonly start: number;
  readonly days: number;
  /** The scrape interval, seconds. */
  readonly step: number;
}

export interface Gap {
  readonly start: number;
  readonly end: number;
  readonly what: "scrape-gap" | "pushgateway-restart";
}

export interface Month {
  readonly incidents: readonly Incident[];
  /**
   * When the second Prometheus replica started with an empty TSDB: from then on it records the same
   * series (backfill.ts gives it its own TSDB) and evaluates the same rules over its short history.
   */
  readonly replicaStarts: number;
  readonly gaps: readonly Gap[];
  readonly deploys: readonly number[];
}

const DAY = 86400;
const HTTP_BUCKETS = ["0.05", "0.1", "0.25", "0.5", "1", "2", "5", "+Inf"];
const HTTP_OK = [0.3, 0.7, 0.93, 0.985, 0.997, 0.9995, 1, 1];
const HTTP_SLOW = [0.02, 0.05, 0.12, 0.25, 0.55, 0.8, 0.97, 1];
const OP_BUCKETS = ["0.5", "1", "2", "+Inf"];
const OP_OK = [0.95, 0.99, 0.998, 1];
const OP_SLOW = [0.2, 0.45, 0.7, 1];
const PEAK_RPS = 350;
const NIGHT_RPS = 0.05;

/** Requests per second at `t`: a daytime hump peaking mid-afternoon, weekends at a third. */
export function trafficAt(t: number, start: number): number {
  const hour = ((t - start) % DAY) / 3600;
  const weekday = new Date(t * 1000).getUTCDay();
  const weekend = weekday === 0 || weekday === 6 ? 0.35 : 1;
  const hump = hour >= 6 && hour <= 23 ? Math.sin((Math.PI * (hour - 6)) / 17) ** 1.5 : 0;
  return NIGHT_RPS + PEAK_RPS * weekend * Math.max(0, hump);
}

const SVC = { service: "auth" };
const LOGIN = { ...SVC, route: "/v1/login", method: "POST" };
const REFRESH = { ...SVC, route: "/v1/token/refresh", method: "POST" };
const VALIDATE = { ...SVC, route: "/v1/token/validate", method: "GET" };
const code = (l: Labels, c: string) => ({ ...l, code: c });
const HTTP = {
  login200: code(LOGIN, "200"), login401: code(LOGIN, "401"), login500: code(LOGIN, "500"),
  refresh200: code(REFRESH, "200"), refresh500: code(REFRESH, "500"),
  validate200: code(VALIDATE, "200"), validate500: code(VALIDATE, "500"),
};
const L = {
  none: {},
  loginOp: { operation: "login" }, refreshOp: { operation: "refresh" },
  loginSuccess: { result: "success", method: "password", reason: "none" }, loginFailure: { result: "failure", method: "password", reason: "invalid_credentials" },
  success: { result: "success" }, failure: { result: "failure" },
  valid: { result: "valid" }, invalid: { result: "invalid" }, expired: { result: "expired" },
  rotated: { result: "rotated" }, reuse: { result: "reuse_detected" },
  loginEndpoint: { endpoint: "/v1/login" },
  active: { state: "active" }, inactive: { state: "inactive" },
};
const HEALTH = { job: "auth-health", instance: "http://auth.auth.svc:8080/health" };
const PG = { job: "postgres", instance: "postgres-exporter:9187" };
const PG_ACTIVE = { ...PG, datname: "auth", state: "active" };
const PG_IDLE = { ...PG, datname: "auth", state: "idle" };
const PG_DB = { ...PG, datname: "auth" };
const PGW = { job: "pushgateway", instance: "pushgateway:9091" };
// honor_labels: the pushed job label wins; the instance label is empty.
const BACKUP = { job: "pg-backup", instance: "", database: "auth" };
const RESTORE = { job: "restore-verify", instance: "", database: "auth" };
const PROMETHEUS = ["prometheus-0", "prometheus-1"].map((replica) => ({ job: "prometheus", instance: `${replica}:9090` }));
const RULE_FAILURES = PROMETHEUS.map((prom) => ({ ...prom, rule_group: "auth-recording" }));
const GRAFANA = { job: "grafana", instance: "grafana:3000" };
const LOKI = { job: "loki", instance: "loki:3100" };
const AM = { job: "alertmanager", instance: "alertmanager:9093" };
const AM_PAGERDUTY = { ...AM, integration: "pagerduty", receiver: "pagerduty-critical" };

/** The bucket labels of a histogram's labels, made once per labels object (each used with one bucket list). */
const bucketLabels = new WeakMap<Labels, Labels[]>();
function buckets(labels: Labels, les: readonly string[]): Labels[] {
  let b = bucketLabels.get(labels);
  if (!b) bucketLabels.set(labels, (b = les.map((le) => ({ ...labels, le }))));
  return b;
}

interface Instance {
  readonly instance: string;
  readonly pod: string;
  /** Its own series: job, instance and namespace labels. */
  readonly scope: Scope;
  readonly kubelet: Labels;
  readonly limits: Labels;
}

function newInstance(samples: Samples, day: number, k: number, rnd: Random): Instance {
  const suffix = Math.floor(rnd() * 0xfffff).toString(36);
  const instance = `10.1.${day % 250}.${10 + k}:8080`;
  const pod = `auth-${suffix}-${k}`;
  const k8s = { namespace: "auth", pod, container: "auth" };
  return {
    instance,
    pod,
    scope: new Scope(samples, { job: "auth", instance, namespace: "auth" }),
    kubelet: { job: "kubelet", instance: "node-1", ...k8s },
    limits: { job: "kube-state-metrics", instance: "ksm:8080", ...k8s, resource: "memory", unit: "byte" },
  };
}

/** When the second Prometheus replica starts with an empty TSDB: noon of the month's middle day. */
export const replicaStartsOf = (o: MonthOptions): number => o.start + Math.floor(o.days / 2) * DAY + 12 * 3600;

/**
 * Generates the month, handing each day to `onDay` (awaited) as a function giving its OpenMetrics
 * text, optionally only the samples in [from, to), valid until `onDay` settles (the next day's
 * samples replace it); returns the labels of what happened.
 */
export async function generateMonth(
  o: MonthOptions,
  onDay: (day: number, text: (from?: number, to?: number) => string) => void | Promise<void>,
): Promise<Month> {
  const rnd = seeded(o.seed);
  const incidents = scheduleIncidents(o.start, o.days, rnd);
  const end = o.start + o.days * DAY;
  const gapDays = [5, 12, Math.min(o.days - 2, 17)];
  const gaps: Gap[] = gapDays.map((d, i) => {
    const s = o.start + d * DAY + (3 + 4 * i) * 3600 + Math.floor((rnd() * 3600) / o.step) * o.step;
    return { start: s, end: s + [10, 25, 75][i]! * 60, what: "scrape-gap" as const };
  });
  for (const d of [7, 21]) {
    const s = o.start + d * DAY + 11 * 3600 + Math.floor((rnd() * 3600) / o.step) * o.step;
    gaps.push({ start: s, end: s + 2 * o.step, what: "pushgateway-restart" });
  }
  const deploys = Array.from({ length: o.days }, (_, d) => o.start + d * DAY + 10 * 3600 + Math.floor(rnd() * 120) * 30);
  const replicaStarts = replicaStartsOf(o);
  const inGap = (t: number, what: Gap["what"]) => gaps.some((g) => g.what === what && t >= g.start && t < g.end);

  const samples = new Samples();
  const global = new Scope(samples);
  const pods: Instance[] = [newInstance(samples, 0, 0, rnd), newInstance(samples, 0, 1, rnd)];
  let lastBackup = o.start - DAY + 2 * 3600 + 180;
  let lastRestore = o.start - 3 * DAY + 4 * 3600 + 600;
  let mismatched = 0;
  let deadlocks = 0;
  const reuseDone = new Set<number>();
  let pagerdutyFailed = 0;
  let wasDown = false;
  let dayIndex = 0;
  const endDay = async () => {
    await onDay(dayIndex, (from, to) => samples.text(from, to));
    samples.clearDay();
  };

  for (let t = o.start; t < end; t += o.step) {
    const d = Math.floor((t - o.start) / DAY);
    if (d !== dayIndex) {
      await endDay();
      dayIndex = d;
    }
    const active: Set<IncidentKind> = activeAt(incidents, t);
    // Rolling deploy: each pod replaced two minutes apart; a new pod's counters start at zero.
    for (let k = 0; k < pods.length; k++) if (t === deploys[d]! + k * 120) pods[k] = newInstance(samples, d + 1, k, rnd);
    const authDown = active.has("outage");
    if (wasDown && !authDown) for (const p of pods) p.scope.reset(); // the process restarted
    wasDown = authDown;
    // The database jobs: backup daily at 02:00 unless stopped, verification Sundays at 04:00.
    const secOfDay = (t - o.start) % DAY;
    if (secOfDay === 2 * 3600 + 180 && !active.has("backups-stopped")) lastBackup = t;
    if (secOfDay === 4 * 3600 + 600 && new Date(t * 1000).getUTCDay() === 0) {
      mismatched = active.has("restore-failing") ? 3 + Math.floor(rnd() * 10) : 0;
      if (!mismatched) lastRestore = t;
    }
    if (inGap(t, "scrape-gap")) continue;

    const rps = trafficAt(t, o.start) * (0.9 + 0.2 * rnd());
    const slow = active.has("latency");
    const dbDown = active.has("database-down");
    let errorRatio = 0.0002;
    if (active.has("slow-burn")) errorRatio = 0.003;
    if (active.has("database-errors")) errorRatio = 0.03;
    if (active.has("error-burst")) errorRatio = 0.15;
    if (dbDown) errorRatio = 1;

    for (const p of pods) {
      const pod = p.scope;
      pod.set("up", L.none, t, authDown ? 0 : 1);
      if (authDown) continue;
      const inc = (name: string, labels: Labels, by: number) => pod.inc(name, labels, t, by);
      const share = (rps * o.step) / pods.length;
      const login = dither(rnd, share * 0.2);
      const refresh = dither(rnd, share * 0.2);
      const validate = dither(rnd, share * 0.6);
      const errors = (n: number) => (errorRatio >= 1 ? n : dither(rnd, n * errorRatio));
      const stuffing = active.has("credential-stuffing") ? dither(rnd, (40 * o.step) / pods.length) : 0;
      const login5xx = errors(login);
      const login401 = Math.min(login - login5xx, dither(rnd, login * 0.04)) + stuffing;
      inc("http_requests_total", HTTP.login200, login - login5xx - (login401 - stuffing));
      inc("http_requests_total", HTTP.login401, login401);
      inc("http_requests_total", HTTP.login500, login5xx);
      const refresh5xx = errors(refresh);
      inc("http_requests_total", HTTP.refresh200, refresh - refresh5xx);
      inc("http_requests_total", HTTP.refresh500, refresh5xx);
      const validate5xx = errors(validate);
      inc("http_requests_total", HTTP.validate200, validate - validate5xx);
      inc("http_requests_total", HTTP.validate500, validate5xx);
      const all = login + refresh + validate + stuffing;
      const hist = (name: string, labels: Labels, les: readonly string[], fractions: readonly number[], n: number, mean: number) => {
        buckets(labels, les).forEach((b, i) => inc(`${name}_bucket`, b, Math.round(n * fractions[i]!)));
        inc(`${name}_sum`, labels, n * mean);
        inc(`${name}_count`, labels, n);
      };
      hist("http_request_duration_seconds", LOGIN, HTTP_BUCKETS, slow ? HTTP_SLOW : HTTP_OK, all, slow ? 1.2 : 0.09);
      hist("auth_operation_duration_seconds", L.loginOp, OP_BUCKETS, slow ? OP_SLOW : OP_OK, login + stuffing, slow ? 1.4 : 0.15);
      hist("auth_operation_duration_seconds", L.refreshOp, OP_BUCKETS, slow ? OP_SLOW : OP_OK, refresh, slow ? 1.1 : 0.08);
      inc("auth_logins_total", L.loginSuccess, login - login5xx - (login401 - stuffing));
      inc("auth_logins_total", L.loginFailure, login401 + login5xx);
      const regs = dither(rnd, share * 0.01 * (active.has("registration-spike") ? 15 : 1));
      const regFail = dither(rnd, regs * 0.03);
      inc("auth_registrations_total", L.success, regs - regFail);
      inc("auth_registrations_total", L.failure, regFail);
      const invalid = dither(rnd, validate * 0.003 * (active.has("invalid-token-spike") ? 40 : 1));
      const expired = dither(rnd, validate * 0.01);
      inc("auth_token_validations_total", L.valid, validate);
      inc("auth_token_validations_total", L.invalid, invalid);
      inc("auth_token_validations_total", L.expired, expired);
      hist("auth_token_validation_duration_seconds", L.none, [], [], validate + invalid + expired, slow ? 0.02 : 0.004);
      const reuse = active.has("refresh-reuse") && !reuseDone.has(d) && p === pods[0] ? 1 : 0;
      if (reuse) reuseDone.add(d);
      inc("auth_refresh_total", L.rotated, refresh - refresh5xx);
      inc("auth_refresh_total", L.reuse, reuse);
      inc("auth_rate_limit_exceeded_total", L.loginEndpoint, active.has("rate-limit-burst") ? dither(rnd, ((300 / 60) * o.step) / pods.length) : 0);
      inc("auth_csrf_failures_total", L.none, 0);
      const sessions = 800 + rps * 20;
      pod.set("auth_sessions", L.active, t, Math.round(sessions));
      pod.set("auth_sessions", L.inactive, t, Math.round(sessions * 0.25));
      global.set("container_memory_working_set_bytes", p.kubelet, t, Math.round(380e6 + rps * 2e5 + rnd() * 2e7));
      global.set("kube_pod_container_resource_limits", p.limits, t, 1073741824);
    }

    global.set("probe_success", HEALTH, t, authDown ? 0 : 1);
    global.set("up", HEALTH, t, 1);
    global.set("up", PG, t, 1);
    global.set("pg_up", PG, t, dbDown ? 0 : 1);
    if (!dbDown) {
      const conns = active.has("connections-high") ? 86 + Math.floor(rnd() * 6) : Math.round(8 + rps * 0.08 + rnd() * 4);
      global.set("pg_stat_activity_count", PG_ACTIVE, t, Math.round(conns * 0.4));
      global.set("pg_stat_activity_count", PG_IDLE, t, conns - Math.round(conns * 0.4));
      global.set("pg_settings_max_connections", PG, t, 100);
      if (active.has("database-errors") && rnd() < 0.08) deadlocks++;
      global.set("pg_stat_database_deadlocks", PG_DB, t, deadlocks);
    }
    const restarting = inGap(t, "pushgateway-restart");
    global.set("up", PGW, t, restarting ? 0 : 1);
    if (!restarting) {
      global.set("backup_last_success_timestamp_seconds", BACKUP, t, lastBackup);
      global.set("restore_verify_last_success_timestamp_seconds", RESTORE, t, lastRestore);
      global.set("restore_verify_rows_mismatched", RESTORE, t, mismatched);
    }
    // The HA pair's second replica starts empty mid-month: its own series appear then, counters from zero.
    for (let r = 0; r < (t >= replicaStarts ? 2 : 1); r++) {
      global.set("up", PROMETHEUS[r]!, t, 1);
      global.set("prometheus_rule_evaluation_failures_total", RULE_FAILURES[r]!, t, 0);
    }
    // Prod's cluster runs Grafana and Loki too, and the stack watches their scrape jobs.
    global.set("up", GRAFANA, t, 1);
    global.set("up", LOKI, t, 1);
    global.set("up", AM, t, 1);
    if (active.has("pagerduty-failing") && rnd() < 0.5) pagerdutyFailed++;
    global.set("alertmanager_notifications_failed_total", AM_PAGERDUTY, t, pagerdutyFailed);
  }
  await endDay();
  return { incidents, replicaStarts, gaps, deploys };
}
