/** The refresh-token PostgreSQL: reachable, not saturated, not deadlocking. */
import type { PromRuleGroup } from "../src/model";
import type { Settings } from "../src/settings";
import { num, sel } from "../src/promql";
import { mustParseDuration } from "../src/duration";
import { alert, pct } from "./common";
import { connectionShare, oldestTransaction, sumIncrease } from "./terms";

export function databaseAlerts(s: Settings): PromRuleGroup {
  const t = s.thresholds;
  const job = s.scrapeJobs.postgres;
  const pgUp = sel("pg_up", { job });
  return {
    name: "auth-database",
    source: "alerts/database.ts",
    rules: [
      alert({
        alert: "DatabaseDown",
        // A missing exporter is PrometheusTargetDown (reason missing): DatabaseDown inhibits every postgres alert.
        expr: `${pgUp} == 0`,
        for: t.databaseDown.for,
        severity: "critical",
        service: "postgres",
        category: "database",
        summary: "PostgreSQL is unreachable",
        description: `postgres_exporter {{ $labels.instance }} cannot reach PostgreSQL for ${t.databaseDown.for} (pg_up {{ $value | humanize }}).`,
        runbook: "database-connection-failure",
      }),
      alert({
        alert: "DatabaseConnectionsHigh",
        expr: `${connectionShare({ job }, ["job", "instance"])} > ${num(t.databaseConnections.warningRatio)}`,
        for: t.databaseConnections.for,
        severity: "warning",
        service: "postgres",
        category: "database",
        summary: `PostgreSQL uses more than ${pct(t.databaseConnections.warningRatio)} of max_connections`,
        description: `{{ $labels.instance }} has {{ $value | humanizePercentage }} of max_connections in use (threshold ${pct(t.databaseConnections.warningRatio)} for ${t.databaseConnections.for}).`,
      }),
      alert({
        alert: "DatabaseDeadlocks",
        expr: `${sumIncrease(sel("pg_stat_database_deadlocks", { job }), "10m", ["job", "instance"])} > 0`,
        severity: "warning",
        service: "postgres",
        category: "database",
        summary: "PostgreSQL detected deadlocks",
        description: "{{ $value | humanize }} deadlocks on {{ $labels.instance }} in the last 10m.",
      }),
      alert({
        alert: "DatabaseLongTransactions",
        expr: `${oldestTransaction({ job }, ["job", "instance", "datname"])} > ${num(mustParseDuration(t.longTransactions.maxAge))}`,
        for: t.longTransactions.for,
        severity: "warning",
        service: "postgres",
        category: "database",
        summary: `A PostgreSQL transaction has been open longer than ${t.longTransactions.maxAge}`,
        description: `The oldest open transaction (active or idle in transaction) on {{ $labels.instance }} database {{ $labels.datname }} is {{ $value | humanizeDuration }} old (limit ${t.longTransactions.maxAge} for ${t.longTransactions.for}): it holds locks and keeps vacuum from cleaning up.`,
      }),
    ],
  };
}
