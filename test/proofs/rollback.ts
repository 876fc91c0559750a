/**
 * The kill switch, the rollout and the rollback drill (alerts/rollback.ts),
 * with the messy input a real service gives: a flag switched back on for a
 * moment, a pod restarting, a series that is missing.
 */
import type { AlertProof, InputSeries } from "../../src/model";
import type { Settings } from "../../src/settings";
import { rollbackDrillRuns } from "../../src/settings";
import { mustParseDuration } from "../../src/duration";
import { KILL_SWITCH_BRIDGE } from "../../alerts/terms";
import { gauge, input, minutes } from "./series";

/** promtool values from runs of [value, samples]; "_" is a missing sample. */
const runs = (...parts: readonly (readonly [number | "_", number])[]) =>
  parts.map(([v, n]) => (v === "_" ? `_x${n}` : n === 1 ? String(v) : `${v}x${n - 1}`)).join(" ");

export function rollbackProofs(s: Settings): AlertProof[] {
  const t = s.thresholds;
  const job = s.scrapeJobs.auth;
  const pod = (n: number) => ({ job, instance: `auth-${n}:8080` });
  const flag = (name: string, n: number, values: string): InputSeries => input("auth_feature_flag", { ...pod(n), flag: name }, values);

  // The kill switch is engaged at minute `on`; the window is the rollback window in minutes.
  const on = 10;
  const window = minutes(t.killSwitch.rollbackWindow);
  const bridge = minutes(KILL_SWITCH_BRIDGE);
  const total = on + window + 30;
  const enabledOff = (n = 0) => flag("auth_enabled", n, runs([1, on], [0, total - on]));
  const engaged = (name: "auth_enabled" | "auth_bypass", value: number, severity: "warning" | "critical") => ({ severity, labels: { job, flag: name }, value });

  // The rollout moves at minute `move`; the notification window in minutes.
  const move = 30;
  const notify = minutes(t.rolloutChange.window);
  const rolloutEnd = move + notify + 20;
  const rollout = (n: number, values: string) => flag("auth_rollout_percentage", n, values);

  // Drills are monthly: feed and evaluate hourly. The last success at hour `pushedAt`.
  const drill = { job: s.scrapeJobs.rollbackDrill, stack: s.stack };
  const maxAgeHours = Math.ceil(mustParseDuration(t.rollbackDrill.maxAge) / 3600);
  const pushedAt = 1;
  const drillEnd = pushedAt + maxAgeHours + 10;
  const pushed = (stack: string) => input("rollback_drill_last_success_timestamp_seconds", { ...drill, stack }, runs(["_", pushedAt], [pushedAt * 3600, drillEnd - pushedAt]));
  const gatewayUp = (value: number) => input("up", { job: s.scrapeJobs.pushgateway, instance: "pushgateway:9091" }, gauge(value, 10));
  // absent() holds from the first evaluation; with hourly steps it fires at the first step past absentFor.
  const absentAt = Math.ceil(mustParseDuration(t.rollbackDrill.absentFor) / 3600) + 1;
  const runsDrill = rollbackDrillRuns(s);

  return [
    {
      alert: "AuthKillSwitchEngaged",
      cases: [
        { name: "auth_enabled off warns on the first evaluation that sees it", series: [enabledOff()], at: `${on}m`, firing: [engaged("auth_enabled", 0, "warning")] },
        { name: "still engaged just inside the rollback window does not page", series: [enabledOff()], at: `${on + window - 1}m`, firing: [engaged("auth_enabled", 0, "warning")] },
        {
          name: "engaged longer than the rollback window pages",
          series: [enabledOff()],
          at: `${on + window + 1}m`,
          firing: [engaged("auth_enabled", 0, "warning"), engaged("auth_enabled", 0, "critical")],
        },
        {
          name: "the bypass on warns, with its flag",
          series: [flag("auth_enabled", 0, gauge(1, total)), flag("auth_bypass", 0, runs([0, on], [1, total - on]))],
          at: `${on + 1}m`,
          firing: [engaged("auth_bypass", 1, "warning")],
        },
        {
          name: "a rollback (the bypass on, then authentication off) is one alert per flag",
          series: [enabledOff(), flag("auth_bypass", 0, runs([0, on - 1], [1, total - on + 1]))],
          at: `${on + 1}m`,
          firing: [engaged("auth_enabled", 0, "warning"), engaged("auth_bypass", 1, "warning")],
        },
        {
          name: "one instance of two off is engaged",
          series: [enabledOff(0), flag("auth_enabled", 1, gauge(1, total))],
          at: `${on + 1}m`,
          firing: [engaged("auth_enabled", 0, "warning")],
        },
        {
          name: "flapping: switched on for a moment and off again does not restart the window",
          series: [flag("auth_enabled", 0, runs([1, on], [0, 30], [1, bridge - 2], [0, total - on - 30 - (bridge - 2)]))],
          at: `${on + window + 1}m`,
          firing: [engaged("auth_enabled", 0, "warning"), engaged("auth_enabled", 0, "critical")],
        },
        {
          name: "a pod restart (its series ends, the new pod reports off again) does not restart the window",
          series: [
            flag("auth_enabled", 0, runs([1, on], [0, 30], ["_", total - on - 30])),
            flag("auth_enabled", 1, runs(["_", on + 32], [0, total - on - 32])),
          ],
          at: `${on + window + 1}m`,
          firing: [engaged("auth_enabled", 0, "warning"), engaged("auth_enabled", 0, "critical")],
        },
        {
          name: "undone: silent once the bridge has passed",
          series: [flag("auth_enabled", 0, runs([1, on], [0, 30], [1, total - on - 30]))],
          at: `${on + 30 + bridge + 1}m`,
          firing: [],
        },
        { name: "authentication on and no bypass stays silent", series: [flag("auth_enabled", 0, gauge(1, total)), flag("auth_bypass", 0, gauge(0, total))], at: `${on + 1}m`, firing: [] },
        { name: "a platform switched off is not the kill switch", series: [flag("auth_enabled", 0, gauge(1, total)), flag("auth_enabled_web", 0, gauge(0, total))], at: `${on + 1}m`, firing: [] },
        { name: "a service that exports no flags stays silent", series: [input("up", pod(0), gauge(1, total))], at: `${on + window + 1}m`, firing: [] },
      ],
    },
    {
      alert: "AuthRolloutChanged",
      cases: [
        {
          name: "a change notifies with the new percentage",
          series: [rollout(0, runs([100, move], [50, rolloutEnd - move]))],
          at: `${move + 1}m`,
          firing: [{ severity: "info", labels: { job }, value: 50 }],
        },
        { name: "silent once the window has passed", series: [rollout(0, runs([100, move], [50, rolloutEnd - move]))], at: `${move + notify + 2}m`, firing: [] },
        { name: "no change stays silent", series: [rollout(0, gauge(100, rolloutEnd))], at: `${move + 1}m`, firing: [] },
        {
          name: "a pod restart with the same percentage is no change",
          series: [rollout(0, runs([100, move], ["_", rolloutEnd - move])), rollout(1, runs(["_", move + 2], [100, rolloutEnd - move - 2]))],
          at: `${move + 8}m`,
          firing: [],
        },
        {
          // The old pod's last sample counts for 5 minutes (Prometheus' lookback), then the new value shows.
          name: "a change a pod picked up while restarting still notifies",
          series: [rollout(0, runs([100, move], ["_", rolloutEnd - move])), rollout(1, runs(["_", move + 2], [50, rolloutEnd - move - 2]))],
          at: `${move + 8}m`,
          firing: [{ severity: "info", labels: { job }, value: 50 }],
        },
        { name: "a service that exports no flags stays silent", series: [input("up", pod(0), gauge(1, rolloutEnd))], at: `${move + 1}m`, firing: [] },
      ],
    },
    {
      alert: "RollbackDrillMissing",
      interval: "1h",
      cases: [
        {
          name: "a last drill older than the limit fires",
          series: [pushed(s.stack)],
          at: `${pushedAt + maxAgeHours + 5}h`,
          firing: [{ severity: "warning", labels: drill, ruleLabels: { reason: "stale" }, value: (maxAgeHours + 5) * 3600 }],
        },
        { name: "a drill younger than the limit stays silent", series: [pushed(s.stack)], at: `${pushedAt + maxAgeHours - 5}h`, firing: [] },
        { name: "an old drill of another stack is not this stack's", series: [pushed(`${s.stack}-other`)], at: `${pushedAt + maxAgeHours + 5}h`, firing: [] },
        runsDrill
          ? {
              name: "no drill ever reported fires where the stack runs the drill",
              series: [gatewayUp(1), pushed(`${s.stack}-other`)],
              at: `${absentAt}h`,
              firing: [{ severity: "warning", labels: drill, ruleLabels: { reason: "never_reported" }, value: 1 }],
            }
          : { name: "no drill ever reported stays silent where the stack does not run the drill", series: [gatewayUp(1)], at: `${absentAt}h`, firing: [] },
        { name: "a Pushgateway target that is down stays silent (PrometheusTargetDown's business)", series: [gatewayUp(0)], at: `${absentAt}h`, firing: [] },
      ],
    },
  ];
}
