/**
 * The labelled month: every series the prod rules read, scraped every `step` seconds, with diurnal
 * and weekly traffic (a few requests a minute at night, hundreds a second at peak), a rolling deploy
 * a day (new instance labels, counters from zero), scrape gaps (one over an hour), Pushgateway
 * restarts, the database jobs on their schedules, and the incidents of incidents.ts.
 * Output: one OpenMetrics document per day (families contiguous, samples in time order).
 */
import { activeAt, scheduleIncidents, type Incident, type IncidentKind } from "./incidents";
import { dither, seeded, type Random } from "./random";

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

const labelText = (l: Record<string, string>) => `{${Object.entries(l).map(([k, v]) => `${k}="${v}"`).join(",")}}`;

/** Samples of one day, grouped by family then series. */
class Day {
  readonly families = new Map<string, Map<string, string[]>>();
  add(name: string, labels: Record<string, string>, t: number, v: number): void {
    const fam = this.families.get(name) ?? new Map<string, string[]>();
    this.families.set(name, fam);
    const key = `${name}${labelText(labels)}`;
    const s = fam.get(key) ?? [];
    fam.set(key, s);
    s.push(`${key} ${Number.isInteger(v) ? v : v.toFixed(6)} ${t}`);
  }
  text(): string {
    const out: string[] = [];
    for (const name of [...this.families.keys()].sort()) {
      out.push(`# TYPE ${name} gauge`);
      for (const lines of this.families.get(name)!.values()) out.push(...lines);
    }
    return `${out.join("\n")}\n# EOF\n`;
  }
}

interface Instance {
  readonly instance: string;
  readonly pod: string;
  readonly c: Map<string, number>;
}

function newInstance(day: number, k: number, rnd: Random): Instance {
  const suffix = Math.floor(rnd() * 0xfffff).toString(36);
  return { instance: `10.1.${day % 250}.${10 + k}:8080`, pod: `auth-${suffix}-${k}`, c: new Map() };
}

/** Generates the month, handing each day's OpenMetrics text to `onDay`; returns the labels of what happened. */
export function generateMonth(o: MonthOptions, onDay: (day: number, text: string, replicaStarts: number) => void): Month {
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
  const replicaStarts = o.start + Math.floor(o.days / 2) * DAY + 12 * 3600;
  const inGap = (t: number, what: Gap["what"]) => gaps.some((g) => g.what === what && t >= g.start && t < g.end);

  let pods: Instance[] = [newInstance(0, 0, rnd), newInstance(0, 1, rnd)];
  let lastBackup = o.start - DAY + 2 * 3600 + 180;
  let lastRestore = o.start - 3 * DAY + 4 * 3600 + 600;
  let mismatched = 0;
  let deadlocks = 0;
  let reuseDone = new Set<string>();
  let pagerdutyFailed = 0;
  let wasDown = false;
  let day = new Day();
  let dayIndex = 0;

  for (let t = o.start; t < end; t += o.step) {
    const d = Math.floor((t - o.start) / DAY);
    if (d !== dayIndex) {
      onDay(dayIndex, day.text(), replicaStarts);
      day = new Day();
      dayIndex = d;
    }
    const active: Set<IncidentKind> = activeAt(incidents, t);
    // Rolling deploy: each pod replaced two minutes apart; a new pod's counters start at zero.
    for (let k = 0; k < pods.length; k++) if (t === deploys[d]! + k * 120) pods[k] = newInstance(d + 1, k, rnd);
    const authDown = active.has("outage");
    if (wasDown && !authDown) pods = pods.map((p) => ({ ...p, c: new Map() })); // the process restarted
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
      const base = { job: "auth", instance: p.instance, namespace: "auth" };
      day.add("up", base, t, authDown ? 0 : 1);
      if (authDown) continue;
      const inc = (name: string, labels: Record<string, string>, by: number) => {
        const key = `${name}${labelText(labels)}`;
        const v = (p.c.get(key) ?? 0) + by;
        p.c.set(key, v);
        day.add(name, { ...base, ...labels }, t, Math.round(v * 1e6) / 1e6);
      };
      const share = (rps * o.step) / pods.length;
      const login = dither(rnd, share * 0.2);
      const refresh = dither(rnd, share * 0.2);
      const validate = dither(rnd, share * 0.6);
      const errors = (n: number) => (errorRatio >= 1 ? n : dither(rnd, n * errorRatio));
      const stuffing = active.has("credential-stuffing") ? dither(rnd, (40 * o.step) / pods.length) : 0;
      const login5xx = errors(login);
      const login401 = Math.min(login - login5xx, dither(rnd, login * 0.04)) + stuffing;
      const svc = { service: "auth" };
      inc("http_requests_total", { ...svc, route: "/v1/login", method: "POST", code: "200" }, login - login5xx - (login401 - stuffing));
      inc("http_requests_total", { ...svc, route: "/v1/login", method: "POST", code: "401" }, login401);
      inc("http_requests_total", { ...svc, route: "/v1/login", method: "POST", code: "500" }, login5xx);
      const refresh5xx = errors(refresh);
      inc("http_requests_total", { ...svc, route: "/v1/token/refresh", method: "POST", code: "200" }, refresh - refresh5xx);
      inc("http_requests_total", { ...svc, route: "/v1/token/refresh", method: "POST", code: "500" }, refresh5xx);
      const validate5xx = errors(validate);
      inc("http_requests_total", { ...svc, route: "/v1/token/validate", method: "GET", code: "200" }, validate - validate5xx);
      inc("http_requests_total", { ...svc, route: "/v1/token/validate", method: "GET", code: "500" }, validate5xx);
      const all = login + refresh + validate + stuffing;
      const hist = (name: string, labels: Record<string, string>, les: string[], fractions: number[], n: number, mean: number) => {
        les.forEach((le, i) => inc(`${name}_bucket`, { ...labels, le }, Math.round(n * fractions[i]!)));
        inc(`${name}_sum`, labels, n * mean);
        inc(`${name}_count`, labels, n);
      };
      hist("http_request_duration_seconds", { ...svc, route: "/v1/login", method: "POST" }, HTTP_BUCKETS, slow ? HTTP_SLOW : HTTP_OK, all, slow ? 1.2 : 0.09);
      hist("auth_operation_duration_seconds", { operation: "login" }, OP_BUCKETS, slow ? OP_SLOW : OP_OK, login + stuffing, slow ? 1.4 : 0.15);
      hist("auth_operation_duration_seconds", { operation: "refresh" }, OP_BUCKETS, slow ? OP_SLOW : OP_OK, refresh, slow ? 1.1 : 0.08);
      inc("auth_logins_total", { result: "success", method: "password", reason: "none" }, login - login5xx - (login401 - stuffing));
      inc("auth_logins_total", { result: "failure", method: "password", reason: "invalid_credentials" }, login401 + login5xx);
      const regs = dither(rnd, share * 0.01 * (active.has("registration-spike") ? 15 : 1));
      const regFail = dither(rnd, regs * 0.03);
      inc("auth_registrations_total", { result: "success" }, regs - regFail);
      inc("auth_registrations_total", { result: "failure" }, regFail);
      const invalid = dither(rnd, validate * 0.003 * (active.has("invalid-token-spike") ? 40 : 1));
      const expired = dither(rnd, validate * 0.01);
      inc("auth_token_validations_total", { result: "valid" }, validate);
      inc("auth_token_validations_total", { result: "invalid" }, invalid);
      inc("auth_token_validations_total", { result: "expired" }, expired);
      hist("auth_token_validation_duration_seconds", {}, [], [], validate + invalid + expired, slow ? 0.02 : 0.004);
      const reuse = active.has("refresh-reuse") && !reuseDone.has(`${d}`) && p === pods[0] ? 1 : 0;
      if (reuse) reuseDone = new Set([...reuseDone, `${d}`]);
      inc("auth_refresh_total", { result: "rotated" }, refresh - refresh5xx);
      inc("auth_refresh_total", { result: "reuse_detected" }, reuse);
      inc("auth_rate_limit_exceeded_total", { endpoint: "/v1/login" }, active.has("rate-limit-burst") ? dither(rnd, (300 / 60) * o.step / pods.length) : 0);
      inc("auth_csrf_failures_total", {}, 0);
      const sessions = 800 + rps * 20;
      day.add("auth_sessions", { ...base, state: "active" }, t, Math.round(sessions));
      day.add("auth_sessions", { ...base, state: "inactive" }, t, Math.round(sessions * 0.25));
      const k8s = { namespace: "auth", pod: p.pod, container: "auth" };
      day.add("container_memory_working_set_bytes", { job: "kubelet", instance: "node-1", ...k8s }, t, Math.round(380e6 + rps * 2e5 + rnd() * 2e7));
      day.add("kube_pod_container_resource_limits", { job: "kube-state-metrics", instance: "ksm:8080", ...k8s, resource: "memory", unit: "byte" }, t, 1073741824);
    }

    day.add("probe_success", { job: "auth-health", instance: "http://auth.auth.svc:8080/health" }, t, authDown ? 0 : 1);
    day.add("up", { job: "auth-health", instance: "http://auth.auth.svc:8080/health" }, t, 1);
    const pg = { job: "postgres", instance: "postgres-exporter:9187" };
    day.add("up", pg, t, 1);
    day.add("pg_up", pg, t, dbDown ? 0 : 1);
    if (!dbDown) {
      const conns = active.has("connections-high") ? 86 + Math.floor(rnd() * 6) : Math.round(8 + rps * 0.08 + rnd() * 4);
      day.add("pg_stat_activity_count", { ...pg, datname: "auth", state: "active" }, t, Math.round(conns * 0.4));
      day.add("pg_stat_activity_count", { ...pg, datname: "auth", state: "idle" }, t, conns - Math.round(conns * 0.4));
      day.add("pg_settings_max_connections", pg, t, 100);
      if (active.has("database-errors") && rnd() < 0.08) deadlocks++;
      day.add("pg_stat_database_deadlocks", { ...pg, datname: "auth" }, t, deadlocks);
    }
    const pgw = { job: "pushgateway", instance: "pushgateway:9091" };
    const restarting = inGap(t, "pushgateway-restart");
    day.add("up", pgw, t, restarting ? 0 : 1);
    if (!restarting) {
      // honor_labels: the pushed job label wins; the instance label is empty.
      day.add("backup_last_success_timestamp_seconds", { job: "pg-backup", instance: "", database: "auth" }, t, lastBackup);
      day.add("restore_verify_last_success_timestamp_seconds", { job: "restore-verify", instance: "", database: "auth" }, t, lastRestore);
      day.add("restore_verify_rows_mismatched", { job: "restore-verify", instance: "", database: "auth" }, t, mismatched);
    }
    // The HA pair's second replica starts empty mid-month: its own series appear then, counters from zero.
    for (const replica of t >= replicaStarts ? ["prometheus-0", "prometheus-1"] : ["prometheus-0"]) {
      const prom = { job: "prometheus", instance: `${replica}:9090` };
      day.add("up", prom, t, 1);
      day.add("prometheus_rule_evaluation_failures_total", { ...prom, rule_group: "auth-recording" }, t, 0);
    }
    // Prod's cluster runs Grafana and Loki too, and the stack watches their scrape jobs.
    day.add("up", { job: "grafana", instance: "grafana:3000" }, t, 1);
    day.add("up", { job: "loki", instance: "loki:3100" }, t, 1);
    const am = { job: "alertmanager", instance: "alertmanager:9093" };
    day.add("up", am, t, 1);
    if (active.has("pagerduty-failing") && rnd() < 0.5) pagerdutyFailed++;
    day.add("alertmanager_notifications_failed_total", { ...am, integration: "pagerduty", receiver: "pagerduty-critical" }, t, pagerdutyFailed);
  }
  onDay(dayIndex, day.text(), replicaStarts);
  return { incidents, replicaStarts, gaps, deploys };
}
