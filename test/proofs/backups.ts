import type { AlertProof } from "../../src/model";
import type { Settings } from "../../src/settings";
import { gauge, input, minutes } from "./series";
import { mustParseDuration } from "../../src/duration";

export function backupProofs(s: Settings): AlertProof[] {
  const t = s.thresholds;
  const backup = { job: s.scrapeJobs.pgBackup, database: "auth" };
  const verify = { job: s.scrapeJobs.restoreVerify, database: "auth" };
  const gatewayUp = (value: number, steps: number) => input("up", { job: s.scrapeJobs.pushgateway, instance: "pushgateway:9091" }, gauge(value, steps));
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
          series: [input("up", { job: "prometheus", instance: "localhost:9090" }, gauge(1, backupAbsentAt + 10)), gatewayUp(1, backupAbsentAt + 10)],
          at: `${backupAbsentAt}m`,
          firing: [{ severity: "warning", labels: { job: backup.job }, ruleLabels: { reason: "never_reported" }, value: 1 }],
        },
        // Regression (issue 11): a dead Pushgateway scrape is PrometheusTargetDown's business, not "no backup ever".
        { name: "a Pushgateway target that is down stays silent", series: [gatewayUp(0, backupAbsentAt + 10)], at: `${backupAbsentAt}m`, firing: [] },
        {
          name: "a Pushgateway with no target stays silent",
          series: [input("up", { job: "prometheus", instance: "localhost:9090" }, gauge(1, backupAbsentAt + 10))],
          at: `${backupAbsentAt}m`,
          firing: [],
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
          series: [input("up", { job: "prometheus", instance: "localhost:9090" }, gauge(1, verifyAbsentAt / step + 5)), gatewayUp(1, verifyAbsentAt / step + 5)],
          at: `${verifyAbsentAt}m`,
          firing: [{ severity: "warning", labels: { job: verify.job }, ruleLabels: { reason: "never_reported" }, value: 1 }],
        },
        { name: "a Pushgateway target that is down stays silent", series: [gatewayUp(0, verifyAbsentAt / step + 5)], at: `${verifyAbsentAt}m`, firing: [] },
      ],
    },
    databaseJobFailingProof(s),
  ];
}

/** DatabaseJobFailing: each job pushes Unix-second timestamps of its runs (a run at minute m pushes 60·m). */
function databaseJobFailingProof(s: Settings): AlertProof {
  const forMinutes = minutes(s.thresholds.databaseJobFailing.for);
  const end = forMinutes + 40;
  const backup = { job: s.scrapeJobs.pgBackup, database: "auth" };
  const verify = { job: s.scrapeJobs.restoreVerify, database: "auth" };
  const cleanup = { job: s.scrapeJobs.tokenCleanup };
  /** A timestamp first pushed at minute `m` and held. */
  const ranAt = (m: number) => `_x${m - 1} ${m * 60}x${end - m}`;
  const failedAt = 20;
  const at = failedAt + forMinutes + 5;
  const age = (at - failedAt) * 60;
  return {
    alert: "DatabaseJobFailing",
    cases: [
      {
        name: "a backup whose newest run failed fires",
        series: [input("backup_last_success_timestamp_seconds", backup, ranAt(5)), input("backup_last_failure_timestamp_seconds", backup, ranAt(failedAt))],
        at: `${at}m`,
        firing: [{ severity: "warning", labels: backup, value: age }],
      },
      {
        name: "a restore verification that never succeeded and failed fires",
        series: [input("restore_verify_last_failure_timestamp_seconds", verify, ranAt(failedAt))],
        at: `${at}m`,
        firing: [{ severity: "warning", labels: verify, value: age }],
      },
      {
        name: "a token cleanup whose newest run failed fires",
        series: [
          input("refresh_token_cleanup_last_success_timestamp_seconds", cleanup, ranAt(5)),
          input("refresh_token_cleanup_last_failure_timestamp_seconds", cleanup, ranAt(failedAt)),
        ],
        at: `${at}m`,
        firing: [{ severity: "warning", labels: cleanup, value: age }],
      },
      {
        name: "a failure followed by a successful run stays silent",
        series: [input("backup_last_success_timestamp_seconds", backup, ranAt(failedAt + 2)), input("backup_last_failure_timestamp_seconds", backup, ranAt(failedAt))],
        at: `${at}m`,
        firing: [],
      },
      {
        name: "a failure retried successfully within `for` stays silent",
        series: [
          input("backup_last_success_timestamp_seconds", backup, `${ranAt(5).split(" ")[0]} ${300}x${failedAt + forMinutes - 6} ${(failedAt + forMinutes - 1) * 60}x${end - failedAt - forMinutes + 1}`),
          input("backup_last_failure_timestamp_seconds", backup, ranAt(failedAt)),
        ],
        at: `${at}m`,
        firing: [],
      },
      { name: "successful runs only stay silent", series: [input("backup_last_success_timestamp_seconds", backup, ranAt(5))], at: `${at}m`, firing: [] },
    ],
  };
}
