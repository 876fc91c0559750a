/**
 * auth-database: the refresh-token PostgreSQL and its jobs. Connections by
 * state against max_connections, locks and deadlocks, backup age and size,
 * restore verification, and the expired-token cleanup (docs/database.md).
 */
import type { Settings } from "../src/settings";
import { sel } from "../src/promql";
import { mustParseDuration } from "../src/duration";
import { pct } from "../alerts/common";
import { agg, connectionShare, DATABASE_ERRORS_WINDOW, databaseJobFailures, oldestTransaction, sinceLast, sumIncrease } from "../alerts/terms";
import { ENV, promql, stackedPanel, statPanel, steps, tiers, timeseriesPanel, upDown } from "../src/dashboards/kit";
import { Board, type BuiltDashboard, type DashboardContext, type PanelSpec } from "../src/dashboards/board";
import { PANELS } from "./panels";

const P = PANELS.database;

export function databaseDashboard(ctx: DashboardContext): BuiltDashboard {
  const q = scope(ctx.settings);
  return new Board(ctx, {
    key: "database",
    title: "Auth / Database",
    description: "The refresh-token PostgreSQL: reachability, connections, locks and deadlocks, backups, restore verification and the token cleanup job.",
    source: "dashboards/database.ts",
    tags: ["auth", "database", "postgres"],
  })
    .row(P.rowConnections, "Availability and connections")
    .panels(pgUp(q), connectionsByState(q), connectionUsage(q), serviceDatabaseErrors(q))
    .row(P.rowLocks, "Locks and deadlocks")
    .panels(locks(q), deadlocks(q), longTransactions(q))
    .row(P.rowBackups, "Backups")
    .panels(backupAge(q), backupSize(q), backupDuration(q))
    .row(P.rowRestore, "Restore verification")
    .panels(restoreAge(q), rowsMismatched(q), restoreDuration(q))
    .row(P.rowMaintenance, "Token cleanup")
    .panels(cleanupThroughput(q), cleanupTotal(q))
    .row(P.rowJobs, "Job runs")
    .panels(jobFailures(q))
    .build();
}

/** What the panels read: the settings and the series selections the dashboard's variables narrow. */
function scope(s: Settings) {
  const t = s.thresholds;
  const j = s.scrapeJobs;
  const pg = { job: j.postgres, ...ENV } as const;
  const backup = { job: j.pgBackup, ...ENV } as const;
  const verify = { job: j.restoreVerify, ...ENV } as const;
  const cleanup = { job: j.tokenCleanup, ...ENV } as const;
  const maxAge = mustParseDuration(t.backup.maxAge);
  const verifyMaxAge = mustParseDuration(t.restoreVerify.maxAge);
  const auth = { job: j.auth, ...ENV } as const;
  return { t, j, pg, backup, verify, cleanup, maxAge, verifyMaxAge, auth };
}
type Scope = ReturnType<typeof scope>;

/** A limit drawn as a dashed line over a stacked panel, outside the stack. */
const limitLine = [
  { id: "custom.stacking", value: { mode: "none", group: "limits" } },
  { id: "custom.fillOpacity", value: 0 },
  { id: "custom.lineStyle", value: { fill: "dash", dash: [10, 10] } },
];

function pgUp({ j, pg }: Scope): PanelSpec {
  return {
    id: P.pgUp,
    builder: statPanel("PostgreSQL", "none")
      .withTarget(promql(`min(${sel("pg_up", pg)})`, "pg_up"))
      .mappings(upDown("UP", "DOWN"))
      .noValue("NO EXPORTER DATA")
      .thresholds(steps("red", [1, "green"])),
    w: 4,
    h: 8,
    description: `Whether postgres_exporter (job ${j.postgres}) reaches the database. No data is as bad as DOWN: the alert fires when the exporter reports nothing too.`,
    linkedFrom: ["DatabaseDown"],
  };
}

function connectionsByState({ t, pg }: Scope): PanelSpec {
  return {
    id: P.connectionsByState,
    builder: stackedPanel("Connections by state", "short")
      .withTarget(promql(`sum by (state) (${sel("pg_stat_activity_count", pg)})`, "{{state}}"))
      .withTarget(promql(`max(${sel("pg_settings_max_connections", pg)})`, "max_connections"))
      .withTarget(promql(`${t.databaseConnections.warningRatio} * max(${sel("pg_settings_max_connections", pg)})`, "alert line"))
      .overrideByName("max_connections", [...limitLine, { id: "color", value: { mode: "fixed", fixedColor: "red" } }])
      .overrideByName("alert line", [
        ...limitLine,
        { id: "color", value: { mode: "fixed", fixedColor: "orange" } },
        { id: "displayName", value: `alert line: ${pct(t.databaseConnections.warningRatio)} of max_connections` },
      ]),
    w: 10,
    h: 8,
    description: `Connections by state, stacked, against max_connections (red) and the connection alert's line at ${pct(t.databaseConnections.warningRatio)} of it (orange).`,
    alerts: ["DatabaseConnectionsHigh"],
  };
}

function connectionUsage({ t, pg }: Scope): PanelSpec {
  return {
    id: P.connectionUsage,
    builder: timeseriesPanel("Connections used of max_connections", "percentunit")
      .withTarget(promql(connectionShare(pg, ["instance"]), "{{instance}}"))
      .min(0)
      .max(1)
      .thresholds(tiers(t.databaseConnections.warningRatio)),
    w: 10,
    h: 8,
    description: `Share of max_connections in use, what the alert evaluates; it warns above the dashed line for ${t.databaseConnections.for}.`,
    linkedFrom: ["DatabaseConnectionsHigh"],
  };
}

function locks({ pg }: Scope): PanelSpec {
  return {
    id: P.locks,
    builder: stackedPanel("Locks by mode", "short").withTarget(promql(`sum by (mode) (${sel("pg_locks_count", pg)})`, "{{mode}}")),
    w: 12,
    h: 8,
    description: "Locks held, by mode, across the auth databases.",
  };
}

function deadlocks({ pg }: Scope): PanelSpec {
  return {
    id: P.deadlocks,
    builder: timeseriesPanel("Deadlocks (per 10 min)", "short")
      .withTarget(promql(sumIncrease(sel("pg_stat_database_deadlocks", pg), "10m", ["instance"]), "{{instance}}"))
      .min(0)
      .thresholds(steps("green", [1, "orange"])),
    w: 12,
    h: 8,
    description: "Deadlocks PostgreSQL detected and broke, in 10-minute windows. Any deadlock warns.",
    linkedFrom: ["DatabaseDeadlocks"],
  };
}

function backupAge({ t, backup, maxAge }: Scope): PanelSpec {
  return {
    id: P.backupAge,
    builder: timeseriesPanel("Time since the last successful backup", "s")
      .withTarget(promql(sinceLast(sel("backup_last_success_timestamp_seconds", backup), ["database"]), "{{database}}"))
      .min(0)
      .thresholds(tiers(maxAge)),
    w: 8,
    h: 8,
    description: `Age of the newest successful backup per database; the alert warns above ${t.backup.maxAge} (dashed), and also when no backup ever reported (then this panel is empty).`,
    linkedFrom: ["BackupTooOld"],
  };
}

function backupSize({ backup }: Scope): PanelSpec {
  return {
    id: P.backupSize,
    builder: timeseriesPanel("Backup size", "bytes")
      .withTarget(promql(`max by (database) (${sel("backup_size_bytes", backup)})`, "{{database}}"))
      .min(0),
    w: 8,
    h: 8,
    description: "Size of the last successful backup per database. A sudden drop is a backup that misses data.",
  };
}

function backupDuration({ backup }: Scope): PanelSpec {
  return {
    id: P.backupDuration,
    builder: timeseriesPanel("Backup duration", "s")
      .withTarget(promql(`max by (database) (${sel("backup_duration_seconds", backup)})`, "{{database}}"))
      .min(0),
    w: 8,
    h: 8,
    description: "How long the last successful backup took per database.",
  };
}

function restoreAge({ t, verify, verifyMaxAge }: Scope): PanelSpec {
  return {
    id: P.restoreAge,
    builder: timeseriesPanel("Time since the last verified restore", "s")
      .withTarget(promql(sinceLast(sel("restore_verify_last_success_timestamp_seconds", verify), ["database"]), "{{database}}"))
      .min(0)
      .thresholds(tiers(verifyMaxAge)),
    w: 8,
    h: 8,
    description: `Age of the newest backup restored and checked against its manifest; the alert warns above ${t.restoreVerify.maxAge} (dashed) or when no verification ever reported.`,
    linkedFrom: [
      { alert: "BackupRestoreVerificationFailed", labels: { reason: "stale" } },
      { alert: "BackupRestoreVerificationFailed", labels: { reason: "never_reported" } },
    ],
  };
}

function rowsMismatched({ verify }: Scope): PanelSpec {
  return {
    id: P.rowsMismatched,
    builder: timeseriesPanel("Rows mismatched in the last restore", "short")
      .withTarget(promql(agg("max", ["database"], sel("restore_verify_rows_mismatched", verify)), "{{database}}"))
      .min(0)
      .thresholds(steps("green", [1, "orange"])),
    w: 8,
    h: 8,
    description: "Rows that differ between the last restore and its backup's manifest. Anything above 0 warns: the backup does not restore what it should.",
    linkedFrom: [{ alert: "BackupRestoreVerificationFailed", labels: { reason: "rows_mismatched" } }],
  };
}

function restoreDuration({ verify }: Scope): PanelSpec {
  return {
    id: P.restoreDuration,
    builder: timeseriesPanel("Restore duration (measured RTO)", "s")
      .withTarget(promql(`max by (database) (${sel("restore_verify_duration_seconds", verify)})`, "{{database}}"))
      .min(0),
    w: 8,
    h: 8,
    description: "Fetch, checksum and pg_restore time of the last verified restore: the recovery time a real restore would take.",
  };
}

function cleanupThroughput({ cleanup }: Scope): PanelSpec {
  return {
    id: P.cleanupThroughput,
    builder: timeseriesPanel("Expired refresh tokens deleted (per hour)", "short")
      .withTarget(promql(`sum(increase(${sel("refresh_token_cleanup_deleted_total", cleanup)}[1h]))`, "deleted per hour", { interval: "5m" }))
      .min(0),
    w: 16,
    h: 7,
    description: "Expired refresh tokens the cleanup job deleted per hour. Flat at zero for days while tokens expire means the job stopped running.",
  };
}

function cleanupTotal({ cleanup }: Scope): PanelSpec {
  return {
    id: P.cleanupTotal,
    builder: statPanel("Deleted in the time range", "short")
      .withTarget(promql(`sum(increase(${sel("refresh_token_cleanup_deleted_total", cleanup)}[$__range]))`, "deleted", { instant: true }))
      .thresholds(steps("blue")),
    w: 8,
    h: 7,
    description: "Expired refresh tokens the cleanup job deleted in the dashboard's time range.",
  };
}

function serviceDatabaseErrors({ t, auth }: Scope): PanelSpec {
  return {
    id: P.serviceDatabaseErrors,
    builder: timeseriesPanel(`Database errors seen by the auth service (per ${DATABASE_ERRORS_WINDOW})`, "short")
      .withTarget(promql(sumIncrease(sel("auth_errors_total", { ...auth, error_type: "database" }), DATABASE_ERRORS_WINDOW), "database errors"))
      .min(0)
      .thresholds(steps("green", [1, "red"])),
    w: 24,
    h: 7,
    description: `The auth service's own database errors per minute (auth_errors_total, error_type database). Errors in every minute for ${t.databaseErrors.for} page, even while pg_up is 1: the service cannot use the database (pool exhausted, credentials, network).`,
    linkedFrom: ["AuthDatabaseErrors"],
  };
}

function longTransactions({ t, pg }: Scope): PanelSpec {
  return {
    id: P.longTransactions,
    builder: timeseriesPanel("Oldest open transaction", "s")
      .withTarget(promql(oldestTransaction(pg, ["datname"]), "{{datname}}"))
      .min(0)
      .thresholds(tiers(mustParseDuration(t.longTransactions.maxAge))),
    w: 24,
    h: 7,
    description: `Age of the oldest transaction per database, active or idle in transaction; older than ${t.longTransactions.maxAge} (dashed) for ${t.longTransactions.for} warns: it holds its locks and keeps vacuum from removing dead rows.`,
    linkedFrom: ["DatabaseLongTransactions"],
  };
}

function jobFailures({ t, j }: Scope): PanelSpec {
  return {
    id: P.jobFailures,
    builder: timeseriesPanel("Jobs whose newest run failed: time since the failure", "s")
      .withTarget(promql(databaseJobFailures({ backup: j.pgBackup, verify: j.restoreVerify, cleanup: j.tokenCleanup }, ENV), "{{job}} {{database}}"))
      .min(0),
    w: 24,
    h: 7,
    description: `One line per backup, restore-verify or token-cleanup job whose newest run failed (its failure is newer than its last success); a line that lasts ${t.databaseJobFailing.for} warns. Empty is good.`,
    linkedFrom: ["DatabaseJobFailing"],
  };
}
