/**
 * Query terms an alert and the panel that shows it both evaluate: written
 * once here, so the panel draws exactly what the alert compares. Alerts
 * aggregate by the labels they route on (job, instance); panels by what they
 * plot, over the dashboard's matchers. Imports nothing from dashboards/.
 */
import { re, sel, type Matcher, type Matchers } from "../src/promql";

/** `sum(x)`, or `sum by (a, b) (x)`. */
export function agg(op: "sum" | "max" | "min" | "count", by: readonly string[], inner: string): string {
  return by.length === 0 ? `${op}(${inner})` : `${op} by (${by.join(", ")}) (${inner})`;
}

/**
 * The spike comparison of AuthRegistrationSpike and AuthInvalidTokenSpike: events in the last
 * 10 minutes, against the same 10 minutes one day earlier or, where that window has no data
 * (first day, new Prometheus replica, scrape gap), the preceding hour: never blind. From the hour,
 * its busiest 10 minutes (a subquery every 5m, ending before the last 10), and no fewer than `floor`:
 * a morning ramp doubles every 10 minutes, less than a spike factor, but is many times an hour's
 * mean; and from a near-empty hour, anything at the floor is a multiple. Each baseline counts only
 * where the Prometheus has data at its window's start and end: a replica that started 15 minutes
 * ago, or a scrape gap, cuts a window, and a cut window reads low.
 * `seasonal`: the same 10 minutes one week earlier or, without a week of history, three days
 * earlier: a rise that is no rise against it is the weekly cycle (a Monday after a Sunday at a third
 * of the traffic), not a spike. Three days reach back over a weekend to a weekday.
 */
export function spikeTerms(series: string, floor: number, by: readonly string[] = []): { current: string; baseline: string; seasonal: string } {
  const current = agg("sum", by, `increase(${series}[10m])`);
  const earlier = (offset: string) => agg("sum", by, `increase(${series}[10m] offset ${offset})`);
  /** Only where the Prometheus has data at the window's start and end (`from` and `to` ago): a window cut by a start or a scrape gap reads low. */
  const recorded = (from: string, to: string) =>
    [from, to].map((o) => ` and on (${by.join(", ")}) ${agg("count", by, `${series} offset ${o}`)}`).join("");
  const hourBefore = `clamp_min(max_over_time(${current}[50m:5m] offset 10m), ${floor})${recorded("70m", "10m")}`;
  return {
    current,
    baseline: `(${earlier("1d")}${recorded("1450m", "1d")} or ${hourBefore})`,
    seasonal: `(${earlier("1w")} or ${earlier("3d")})`,
  };
}

/** Results that AuthInvalidTokenSpike counts as invalid tokens (seed 003: invalid and expired). */
export const INVALID_TOKEN_RESULTS = re("invalid|expired");

/** AuthSessionAnomaly: inactive sessions as a share of all sessions. */
export function inactiveSessionShare(m: Matchers<"auth_sessions">, by: readonly string[] = []): string {
  return `${agg("sum", by, sel("auth_sessions", { ...m, state: "inactive" }))} / ${agg("sum", by, sel("auth_sessions", m))}`;
}

/** DatabaseConnectionsHigh: connections in use as a share of max_connections. */
export function connectionShare(m: Matchers<"pg_stat_activity_count"> & Matchers<"pg_settings_max_connections">, by: readonly string[]): string {
  return `${agg("sum", by, sel("pg_stat_activity_count", m))} / ${agg("max", by, sel("pg_settings_max_connections", m))}`;
}

/** How much a counter grew over a window, summed: events per window (deadlocks, CSRF failures, rule evaluation failures). */
export function sumIncrease(series: string, window: string, by: readonly string[] = []): string {
  return agg("sum", by, `increase(${series}[${window}])`);
}

/**
 * A traffic floor for a ratio or percentile alert: ` and on (job) sum by (job) (increase(x[5m])) >= min`,
 * so the alert says nothing about a window with too few events to mean anything.
 */
export function trafficFloor(series: string, min: number, by: readonly string[], window = "5m"): string {
  return ` and on (${by.join(", ")}) ${sumIncrease(series, window, by)} >= ${min}`;
}

/** AuthRateLimitSpike: events per minute, from the rate over 2 minutes. */
export function perMinute(series: string, by: readonly string[] = []): string {
  return `${agg("sum", by, `rate(${series}[2m])`)} * 60`;
}

/**
 * AuthRateLimitSpike critical: events counted in the last minute, between the newest sample and
 * the one a minute before it. increase()/rate() over [2m] spread a one-minute burst over two minutes
 * (150 in one minute read 75), and over [1m] they extrapolate from two samples at a 30s scrape.
 * A counter reset reads as 0, not as a negative count.
 */
export function inLastMinute(series: string, by: readonly string[] = []): string {
  return agg("sum", by, `clamp_min(${series} - ${series} offset 1m, 0)`);
}

/** BackupTooOld, BackupRestoreVerificationFailed: seconds since the newest success timestamp. */
export function sinceLast(series: string, by: readonly string[]): string {
  return `time() - ${agg("max", by, series)}`;
}

/** AuthHighMemoryUsage: working set as a share of the memory limit. */
export function memoryShare(m: Matchers<"container_memory_working_set_bytes"> & Matchers<"kube_pod_container_resource_limits">, by: readonly string[]): string {
  return `${agg("max", by, sel("container_memory_working_set_bytes", m))} / ${agg("max", by, sel("kube_pod_container_resource_limits", { ...m, resource: "memory" }))}`;
}

/**
 * Auth events with only the fields a rule needs extracted: a bare `| json` would make every
 * field (the timestamp `at` too) a label and one series per line under attack. The stream is
 * {app="auth"}, whatever category the shipper derives, so a mislabelled event still counts.
 */
export const authEvents = (evt: string, ...fields: string[]) =>
  `{app="auth"} |= \`"${evt}"\` | json ${["evt", ...fields].map((f) => `${f}="${f}"`).join(", ")} | evt="${evt}"`;

/** AuthErrorLogBurst: the auth service's log lines at level error, whatever their event or category (`stream` narrows it, e.g. by env). */
export const errorLines = (stream = `{app="auth"}`) => `${stream} |= "error" | json level="level" | level="error"`;

/** DatabaseLongTransactions: seconds since the oldest open transaction began, active or idle in transaction (aborted too). */
export function oldestTransaction(m: Matchers<"pg_stat_activity_max_tx_duration">, by: readonly string[]): string {
  return agg("max", by, sel("pg_stat_activity_max_tx_duration", { ...m, state: re("active|idle in transaction.*") }));
}

/**
 * DatabaseJobFailing: per job (and database), seconds since its newest run failed, where that run is
 * newer than its last success or no success was ever pushed (a failure push never erases the success
 * timestamp). `m` narrows every series (a dashboard's env).
 */
export function databaseJobFailures(jobs: { backup: string; verify: string; cleanup: string }, m: { readonly env?: Matcher } = {}): string {
  const failedSince = (failure: string, success: string, by: readonly string[]) => {
    const f = agg("max", by, failure);
    const ok = agg("max", by, success);
    return `(time() - ${f} and (${f} > ${ok} or ${f} unless ${ok}))`;
  };
  return [
    failedSince(
      sel("backup_last_failure_timestamp_seconds", { ...m, job: jobs.backup }),
      sel("backup_last_success_timestamp_seconds", { ...m, job: jobs.backup }),
      ["job", "database"],
    ),
    failedSince(
      sel("restore_verify_last_failure_timestamp_seconds", { ...m, job: jobs.verify }),
      sel("restore_verify_last_success_timestamp_seconds", { ...m, job: jobs.verify }),
      ["job", "database"],
    ),
    failedSince(
      sel("refresh_token_cleanup_last_failure_timestamp_seconds", { ...m, job: jobs.cleanup }),
      sel("refresh_token_cleanup_last_success_timestamp_seconds", { ...m, job: jobs.cleanup }),
      ["job"],
    ),
  ].join(" or ");
}

/** AuthDatabaseErrors and its panel: the window the service's database errors are counted over (see the rule's comment). */
export const DATABASE_ERRORS_WINDOW = "90s";

/**
 * How far back AuthKillSwitchEngaged and its panel look for an engaged kill switch: a pod restart or a
 * missed scrape shorter than this does not reset how long it has been engaged, and switching it off
 * and on again within it is not an undo (the alert resolves this long after the undo).
 */
export const KILL_SWITCH_BRIDGE = "5m";

/**
 * AuthKillSwitchEngaged: per flag, auth_enabled at 0 on any instance (min) or auth_bypass at 1 on any
 * instance (max) at any sample of the last KILL_SWITCH_BRIDGE. The value is the flag's (0 or 1).
 */
export function killSwitchEngaged(m: Matchers<"auth_feature_flag">, by: readonly string[]): string {
  const enabled = sel("auth_feature_flag", { ...m, flag: "auth_enabled" });
  const bypass = sel("auth_feature_flag", { ...m, flag: "auth_bypass" });
  const keep = [...by, "flag"];
  return `(${agg("min", keep, `min_over_time(${enabled}[${KILL_SWITCH_BRIDGE}])`)} == 0) or (${agg("max", keep, `max_over_time(${bypass}[${KILL_SWITCH_BRIDGE}])`)} == 1)`;
}

/**
 * AuthRolloutChanged: the rollout percentage now (highest of the instances), where it moved within `window`.
 * The change is counted on the service-wide value (a subquery at the evaluation interval), so a pod that
 * restarts or a scrape gap is no change, and a change a pod picked up while restarting still is.
 */
export function rolloutChanged(m: Matchers<"auth_feature_flag">, by: readonly string[], window: string): string {
  const rollout = agg("max", by, sel("auth_feature_flag", { ...m, flag: "auth_rollout_percentage" }));
  return `${rollout} and on (${by.join(", ")}) (changes((${rollout})[${window}:]) > 0)`;
}
