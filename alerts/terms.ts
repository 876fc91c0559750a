/**
 * Query terms an alert and the panel that shows it both evaluate: written
 * once here, so the panel draws exactly what the alert compares. Alerts
 * aggregate by the labels they route on (job, instance); panels by what they
 * plot, over the dashboard's matchers. Imports nothing from dashboards/.
 */
import { sel, type Matchers } from "../src/promql";

/** `sum(x)`, or `sum by (a, b) (x)`. */
export function agg(op: "sum" | "max" | "min" | "count", by: readonly string[], inner: string): string {
  return by.length === 0 ? `${op}(${inner})` : `${op} by (${by.join(", ")}) (${inner})`;
}

/**
 * The spike comparison of AuthRegistrationSpike and AuthInvalidTokenSpike:
 * events in the last 10 minutes, and the same 10 minutes one day earlier.
 */
export function spikeTerms(series: string, by: readonly string[] = []): { current: string; dayBefore: string } {
  return { current: agg("sum", by, `increase(${series}[10m])`), dayBefore: agg("sum", by, `increase(${series}[10m] offset 1d)`) };
}

/** AuthSessionAnomaly: inactive sessions as a share of all sessions. */
export function inactiveSessionShare(m: Matchers<"auth_sessions">, by: readonly string[] = []): string {
  return `${agg("sum", by, sel("auth_sessions", { ...m, state: "inactive" }))} / ${agg("sum", by, sel("auth_sessions", m))}`;
}

/** DatabaseConnectionsHigh: connections in use as a share of max_connections. */
export function connectionUsage(m: Matchers<"pg_stat_activity_count"> & Matchers<"pg_settings_max_connections">, by: readonly string[]): string {
  return `${agg("sum", by, sel("pg_stat_activity_count", m))} / ${agg("max", by, sel("pg_settings_max_connections", m))}`;
}

/** DatabaseDeadlocks: deadlocks PostgreSQL detected in the last 10 minutes. */
export function recentDeadlocks(m: Matchers<"pg_stat_database_deadlocks">, by: readonly string[]): string {
  return agg("sum", by, `increase(${sel("pg_stat_database_deadlocks", m)}[10m])`);
}
