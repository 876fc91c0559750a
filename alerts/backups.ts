/** Backups exist, are recent, and restore to the same rows. */
import type { PromRuleGroup } from "../src/model";
import type { Settings } from "../src/settings";
import { num, sel } from "../src/promql";
import { mustParseDuration } from "../src/duration";
import { alert } from "./common";
import { agg, databaseJobFailures, sinceLast } from "./terms";

export function backupAlerts(s: Settings): PromRuleGroup {
  const t = s.thresholds;
  // Pushgateway series vanish for a scrape after a Prometheus restart: "never reported" waits absentFor (15m in prod).
  const backupAbsentFor = t.backup.absentFor;
  const verifyAbsentFor = t.restoreVerify.absentFor;
  const lastBackup = sel("backup_last_success_timestamp_seconds", { job: s.scrapeJobs.pgBackup });
  const lastVerify = sel("restore_verify_last_success_timestamp_seconds", { job: s.scrapeJobs.restoreVerify });
  const mismatched = sel("restore_verify_rows_mismatched", { job: s.scrapeJobs.restoreVerify });
  // Absent only means "never reported" while the Pushgateway is scraped: a down or missing
  // Pushgateway target hides every pushed series, and that is PrometheusTargetDown's alert.
  const gatewayScraped = `on () (max(${sel("up", { job: s.scrapeJobs.pushgateway })}) == 1)`;
  const common = { service: "postgres", category: "backup" } as const;
  return {
    name: "auth-backups",
    source: "alerts/backups.ts",
    rules: [
      alert({
        ...common,
        alert: "BackupTooOld",
        expr: `${sinceLast(lastBackup, ["job", "database"])} > ${num(mustParseDuration(t.backup.maxAge))}`,
        severity: "warning",
        labels: { reason: "stale" },
        summary: `The last successful backup is older than ${t.backup.maxAge}`,
        description: `The last successful backup of {{ $labels.database }} finished {{ $value | humanizeDuration }} ago (limit ${t.backup.maxAge}).`,
      }),
      alert({
        ...common,
        alert: "BackupTooOld",
        expr: `absent(${lastBackup}) and ${gatewayScraped}`,
        for: backupAbsentFor,
        severity: "warning",
        labels: { reason: "never_reported" },
        summary: "The Pushgateway holds no successful backup",
        description: `The Pushgateway is scraped but has held no backup_last_success_timestamp_seconds for ${backupAbsentFor}: no backup has reported success since it started (absent = {{ $value | humanize }}).`,
      }),
      alert({
        ...common,
        alert: "BackupRestoreVerificationFailed",
        expr: `${sinceLast(lastVerify, ["job", "database"])} > ${num(mustParseDuration(t.restoreVerify.maxAge))}`,
        severity: "warning",
        labels: { reason: "stale" },
        summary: `No successful restore verification in ${t.restoreVerify.maxAge}`,
        description: `The last verified restore of {{ $labels.database }} was {{ $value | humanizeDuration }} ago (limit ${t.restoreVerify.maxAge}).`,
      }),
      alert({
        ...common,
        alert: "BackupRestoreVerificationFailed",
        expr: `${agg("max", ["job", "database"], mismatched)} > 0`,
        severity: "warning",
        labels: { reason: "rows_mismatched" },
        summary: "A restored backup does not match its manifest",
        description: "The last restore of {{ $labels.database }} differed from its manifest in {{ $value | humanize }} rows.",
      }),
      alert({
        ...common,
        alert: "BackupRestoreVerificationFailed",
        expr: `absent(${lastVerify}) and ${gatewayScraped}`,
        for: verifyAbsentFor,
        severity: "warning",
        labels: { reason: "never_reported" },
        summary: "The Pushgateway holds no successful restore verification",
        description: `The Pushgateway is scraped but has held no restore_verify_last_success_timestamp_seconds for ${verifyAbsentFor}: no restore verification has reported success since it started (absent = {{ $value | humanize }}).`,
      }),
      alert({
        ...common,
        alert: "DatabaseJobFailing",
        expr: databaseJobFailures({ backup: s.scrapeJobs.pgBackup, verify: s.scrapeJobs.restoreVerify, cleanup: s.scrapeJobs.tokenCleanup }),
        for: t.databaseJobFailing.for,
        severity: "warning",
        summary: "The newest run of a database job failed",
        description: `The newest run of job {{ $labels.job }} {{ $labels.database }} failed {{ $value | humanizeDuration }} ago and no run has succeeded since (for ${t.databaseJobFailing.for}).`,
      }),
    ],
  };
}
