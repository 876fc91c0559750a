/** Backups exist, are recent, and restore to the same rows. */
import type { PromRuleGroup } from "../src/model";
import type { Settings } from "../src/settings";
import { num, sel } from "../src/promql";
import { mustParseDuration } from "../src/duration";
import { alert, dash } from "./common";

/** Pushgateway series vanish for a scrape after a Prometheus restart; don't call that "never backed up". */
const NEVER_REPORTED_FOR = "15m";

export function backupAlerts(s: Settings): PromRuleGroup {
  const t = s.thresholds;
  const lastBackup = sel("backup_last_success_timestamp_seconds", { job: s.scrapeJobs.pgBackup });
  const lastVerify = sel("restore_verify_last_success_timestamp_seconds", { job: s.scrapeJobs.restoreVerify });
  const mismatched = sel("restore_verify_rows_mismatched", { job: s.scrapeJobs.restoreVerify });
  const common = { service: "postgres", category: "backup", dashboard: dash("database") } as const;
  return {
    name: "backups",
    source: "alerts/backups.ts",
    rules: [
      alert({
        ...common,
        alert: "BackupTooOld",
        expr: `time() - max by (job, database) (${lastBackup}) > ${num(mustParseDuration(t.backup.maxAge))}`,
        severity: "warning",
        labels: { reason: "stale" },
        summary: `The last successful backup is older than ${t.backup.maxAge}`,
        description: `The last successful backup of {{ $labels.database }} finished {{ $value | humanizeDuration }} ago (limit ${t.backup.maxAge}).`,
      }),
      alert({
        ...common,
        alert: "BackupTooOld",
        expr: `absent(${lastBackup})`,
        for: NEVER_REPORTED_FOR,
        severity: "warning",
        labels: { reason: "never_reported" },
        summary: "No backup has ever reported success",
        description: `No backup job has pushed backup_last_success_timestamp_seconds for ${NEVER_REPORTED_FOR} (absent = {{ $value | humanize }}).`,
      }),
      alert({
        ...common,
        alert: "BackupRestoreVerificationFailed",
        expr: `time() - max by (job, database) (${lastVerify}) > ${num(mustParseDuration(t.restoreVerify.maxAge))}`,
        severity: "warning",
        labels: { reason: "stale" },
        summary: `No successful restore verification in ${t.restoreVerify.maxAge}`,
        description: `The last verified restore of {{ $labels.database }} was {{ $value | humanizeDuration }} ago (limit ${t.restoreVerify.maxAge}).`,
      }),
      alert({
        ...common,
        alert: "BackupRestoreVerificationFailed",
        expr: `max by (job, database) (${mismatched}) > 0`,
        severity: "warning",
        labels: { reason: "rows_mismatched" },
        summary: "A restored backup does not match its manifest",
        description: "The last restore of {{ $labels.database }} differed from its manifest in {{ $value | humanize }} rows.",
      }),
      alert({
        ...common,
        alert: "BackupRestoreVerificationFailed",
        expr: `absent(${lastVerify})`,
        for: NEVER_REPORTED_FOR,
        severity: "warning",
        labels: { reason: "never_reported" },
        summary: "No restore verification has ever reported success",
        description: `No restore verification has pushed restore_verify_last_success_timestamp_seconds for ${NEVER_REPORTED_FOR} (absent = {{ $value | humanize }}).`,
      }),
    ],
  };
}
