import type { AlertProof } from "../../src/model";
import type { Settings } from "../../src/settings";
import { above, below, gauge, input, minutes, stepFor } from "./series";
import { mustParseDuration } from "../../src/duration";

export function databaseProofs(s: Settings): AlertProof[] {
  const t = s.thresholds;
  const job = s.scrapeJobs.postgres;
  const exporter = { job, instance: "postgres-exporter:9187" };
  const down = stepFor(t.databaseDown.for);
  const downFor = down.steps;
  const dc = t.databaseConnections;
  const connections = (ratio: number) => [
    input("pg_stat_activity_count", { ...exporter, datname: "auth", state: "active" }, gauge(100 * ratio * 0.25, minutes(dc.for) + 10)),
    input("pg_stat_activity_count", { ...exporter, datname: "auth", state: "idle" }, gauge(100 * ratio * 0.75, minutes(dc.for) + 10)),
    input("pg_settings_max_connections", exporter, gauge(100, minutes(dc.for) + 10)),
  ];
  const busy = above(dc.warningRatio);
  return [
    {
      alert: "DatabaseDown",
      interval: down.interval,
      cases: [
        { name: "pg_up 0 longer than `for` fires", series: [input("pg_up", exporter, `1x5 0x${downFor + 10}`)], at: down.at(5 + downFor + 3), firing: [{ severity: "critical", labels: exporter, value: 0 }] },
        { name: "pg_up 0 for one scrape (shorter than `for`) stays silent", series: [input("pg_up", exporter, `1x5 0 1x20`)], at: down.at(7), firing: [] },
        { name: "pg_up 0 stays silent until `for` has passed", series: [input("pg_up", exporter, `1x5 0x${downFor + 10}`)], at: down.at(6 + downFor - 1), firing: [] },
        { name: "pg_up 1 stays silent", series: [input("pg_up", exporter, gauge(1, 30))], at: down.at(20), firing: [] },
      ],
    },
    {
      alert: "DatabaseConnectionsHigh",
      cases: [
        { name: "connections above the share fire", series: connections(busy), at: `${minutes(dc.for) + 2}m`, firing: [{ severity: "warning", labels: exporter, value: busy }] },
        { name: "connections below the share stay silent", series: connections(below(dc.warningRatio)), at: `${minutes(dc.for) + 2}m`, firing: [] },
      ],
    },
    {
      alert: "DatabaseDeadlocks",
      cases: [
        { name: "one deadlock fires", series: [input("pg_stat_database_deadlocks", { ...exporter, datname: "auth" }, "0x10 1x10")], at: "12m", firing: [{ severity: "warning", labels: exporter, value: 1 }] },
        { name: "an unchanged deadlock count stays silent", series: [input("pg_stat_database_deadlocks", { ...exporter, datname: "auth" }, gauge(3, 30))], at: "20m", firing: [] },
      ],
    },
  ];
}

/**
 * Pushed timestamps are Unix seconds; promtool's clock starts at 0, so a
 * backup pushed at minute m carries timestamp 60·m and its age at minute e is
 * 60·(e − m).
 */
export function backupProofs(s: Settings): AlertProof[] {
  const t = s.thresholds;
  const backup = { job: s.scrapeJobs.pgBackup, database: "auth" };
  const verify = { job: s.scrapeJobs.restoreVerify, database: "auth" };
  const pushedAt = 60; // minute of the last successful run
  const pushed = (stepMinutes: number, until: number) => `_x${pushedAt / stepMinutes} ${pushedAt * 60}x${Math.ceil((until - pushedAt) / stepMinutes)}`;

  const backupMax = mustParseDuration(t.backup.maxAge) / 60;
  const verifyMax = mustParseDuration(t.restoreVerify.maxAge) / 60;
  // Restore verification is weekly: feed and evaluate it at a 10m step.
  const step = 10;
  // "Never reported" fires once absent() has held for absentFor (15m in prod: evaluated at 20m and 30m).
  const backupAbsentAt = minutes(t.backup.absentFor) + 5;
  const verifyAbsentAt = (Math.ceil(minutes(t.restoreVerify.absentFor) / step) + 1) * step;
  // A moment when the last verification is still recent: an hour after it in prod, sooner when the limit is shorter.
  const recentAt = pushedAt + step * Math.max(1, Math.floor(Math.min(60, verifyMax / 2) / step));
  return [
    {
      alert: "BackupTooOld",
      cases: [
        {
          name: "a backup older than the limit fires",
          series: [input("backup_last_success_timestamp_seconds", backup, pushed(1, pushedAt + backupMax + 40))],
          at: `${pushedAt + backupMax + 30}m`,
          firing: [{ severity: "warning", labels: backup, ruleLabels: { reason: "stale" }, value: (backupMax + 30) * 60 }],
        },
        {
          name: "a backup younger than the limit stays silent",
          series: [input("backup_last_success_timestamp_seconds", backup, pushed(1, pushedAt + backupMax + 40))],
          at: `${pushedAt + backupMax - Math.min(30, backupMax / 2)}m`,
          firing: [],
        },
        {
          name: "no backup ever reported fires",
          series: [input("up", { job: "prometheus", instance: "localhost:9090" }, gauge(1, backupAbsentAt + 10))],
          at: `${backupAbsentAt}m`,
          firing: [{ severity: "warning", labels: { job: backup.job }, ruleLabels: { reason: "never_reported" }, value: 1 }],
        },
      ],
    },
    {
      alert: "BackupRestoreVerificationFailed",
      interval: `${step}m`,
      cases: [
        {
          name: "no verified restore within the limit fires",
          series: [
            input("restore_verify_last_success_timestamp_seconds", verify, pushed(step, pushedAt + verifyMax + 120)),
            input("restore_verify_rows_mismatched", verify, gauge(0, (pushedAt + verifyMax + 120) / step)),
          ],
          at: `${pushedAt + verifyMax + 60}m`,
          firing: [{ severity: "warning", labels: verify, ruleLabels: { reason: "stale" }, value: (verifyMax + 60) * 60 }],
        },
        {
          name: "a restore with mismatched rows fires",
          series: [
            input("restore_verify_last_success_timestamp_seconds", verify, pushed(step, 300)),
            input("restore_verify_rows_mismatched", verify, gauge(3, 30)),
          ],
          at: `${recentAt}m`,
          firing: [{ severity: "warning", labels: verify, ruleLabels: { reason: "rows_mismatched" }, value: 3 }],
        },
        {
          name: "a recent restore with no mismatch stays silent",
          series: [
            input("restore_verify_last_success_timestamp_seconds", verify, pushed(step, 300)),
            input("restore_verify_rows_mismatched", verify, gauge(0, 30)),
          ],
          at: `${recentAt}m`,
          firing: [],
        },
        {
          name: "no verification ever reported fires",
          series: [input("up", { job: "prometheus", instance: "localhost:9090" }, gauge(1, verifyAbsentAt / step + 5))],
          at: `${verifyAbsentAt}m`,
          firing: [{ severity: "warning", labels: { job: verify.job }, ruleLabels: { reason: "never_reported" }, value: 1 }],
        },
      ],
    },
  ];
}
