/**
 * Seed 002's rollback plan, watched: the kill switch (auth_enabled off or the
 * bypass on) engaged, and forgotten; the rollout percentage moved; the monthly
 * rollback drill not run. The procedure itself is runbooks/auth-rollback.md.
 */
import type { PromRuleGroup } from "../src/model";
import type { Settings } from "../src/settings";
import { rollbackDrillRuns } from "../src/settings";
import { num, sel } from "../src/promql";
import { mustParseDuration } from "../src/duration";
import { alert } from "./common";
import { killSwitchEngaged, rolloutChanged, sinceLast } from "./terms";

/** The rollback runbook: the decision, the command, the undo; both flag alerts link it. */
export const ROLLBACK_RUNBOOK = "auth-rollback";

export function rollbackAlerts(s: Settings): PromRuleGroup {
  const t = s.thresholds;
  const window = t.killSwitch.rollbackWindow;
  const flags = { job: s.scrapeJobs.auth };
  const engaged = killSwitchEngaged(flags, ["job"]);
  const killSwitch = { alert: "AuthKillSwitchEngaged", service: "auth", category: "security", runbook: ROLLBACK_RUNBOOK, expr: engaged } as const;
  // This stack's own drill; Pushgateway series vanish for a scrape after a Prometheus restart, hence absentFor.
  const lastDrill = sel("rollback_drill_last_success_timestamp_seconds", { job: s.scrapeJobs.rollbackDrill, stack: s.stack });
  const gatewayScraped = `on () (max(${sel("up", { job: s.scrapeJobs.pushgateway })}) == 1)`;
  const drill = { alert: "RollbackDrillMissing", service: "auth", category: "backup", severity: "warning" } as const;
  return {
    name: "auth-rollback",
    source: "alerts/rollback.ts",
    rules: [
      alert({
        ...killSwitch,
        severity: "warning",
        summary: "The auth kill switch is engaged (authentication off or bypassed)",
        description:
          "{{ $labels.flag }} is {{ $value | humanize }} on job {{ $labels.job }}: requests are served without authentication (seed 002's safe mode). Expected during a rollback; otherwise find who changed it (npm run flags -- list).",
      }),
      alert({
        ...killSwitch,
        for: window,
        severity: "critical",
        summary: `The auth kill switch has been engaged for more than ${window}`,
        description: `{{ $labels.flag }} has been {{ $value | humanize }} on job {{ $labels.job }} for more than ${window} (the rollback window): a kill switch left on is an outage of its own. Fix forward and undo the rollback, or decide to extend it.`,
      }),
      alert({
        alert: "AuthRolloutChanged",
        service: "auth",
        category: "authentication",
        runbook: ROLLBACK_RUNBOOK,
        expr: rolloutChanged(flags, ["job"], t.rolloutChange.window),
        severity: "info",
        summary: `The auth rollout percentage changed in the last ${t.rolloutChange.window}`,
        description: `The share of users who get authentication on job {{ $labels.job }} changed within ${t.rolloutChange.window}; it is now {{ $value | humanize }} %.`,
      }),
      alert({
        ...drill,
        expr: `${sinceLast(lastDrill, ["job", "stack"])} > ${num(mustParseDuration(t.rollbackDrill.maxAge))}`,
        labels: { reason: "stale" },
        summary: `No successful rollback drill of this stack in ${t.rollbackDrill.maxAge}`,
        description: `The last successful rollback drill against stack {{ $labels.stack }} finished {{ $value | humanizeDuration }} ago (limit ${t.rollbackDrill.maxAge}; seed 002 drills monthly).`,
      }),
      // Only where the stack runs the drill (cluster.rollbackDrill): elsewhere no drill ever reports, by design.
      ...(rollbackDrillRuns(s)
        ? [
            alert({
              ...drill,
              expr: `absent(${lastDrill}) and ${gatewayScraped}`,
              for: t.rollbackDrill.absentFor,
              labels: { reason: "never_reported" },
              summary: "The Pushgateway holds no successful rollback drill",
              description: `The Pushgateway is scraped but has held no rollback_drill_last_success_timestamp_seconds for stack ${s.stack} for ${t.rollbackDrill.absentFor}: no rollback drill has reported success since it started (absent = {{ $value | humanize }}).`,
            }),
          ]
        : []),
    ],
  };
}

