/**
 * auth-rollback: seed 002's feature flags and rollback. The kill switch now,
 * every flag over time as the service applies it (auth_feature_flag), the
 * rollout percentage, and the age of the monthly rollback drill. Rollbacks
 * themselves are the "Rollbacks" annotation every dashboard carries where
 * the stack has the PostgreSQL data source (src/dashboards/rollbacks.ts).
 */
import * as statetimeline from "@grafana/grafana-foundation-sdk/statetimeline";
import type { Settings } from "../src/settings";
import { re, sel } from "../src/promql";
import { mustParseDuration } from "../src/duration";
import { FLAGS, FLAG_NAMES } from "../src/flags/catalog";
import { killSwitchEngaged, KILL_SWITCH_BRIDGE, sinceLast } from "../alerts/terms";
import { common, dashboard, ENV, promql, statPanel, steps, tiers, timeseriesPanel, upDown } from "../src/dashboards/kit";
import { Board, type BuiltDashboard, type DashboardContext, type PanelSpec } from "../src/dashboards/board";
import { PANELS } from "./panels";

const P = PANELS.rollback;

export function rollbackDashboard(ctx: DashboardContext): BuiltDashboard {
  const q = scope(ctx.settings);
  return new Board(ctx, {
    key: "rollback",
    title: "Auth / Rollback and flags",
    description: "Seed 002's kill switch and feature flags as the service applies them, the rollout percentage, and the monthly rollback drill. Rollbacks are annotations (from rollback_log).",
    source: "dashboards/rollback.ts",
    tags: ["auth", "rollback", "flags"],
  })
    .row(P.rowKillSwitch, "Kill switch and flags")
    .panels(killSwitch(q), flagStates(q), rolloutPercentage(q))
    .row(P.rowDrill, "Rollback drill")
    .panels(drillAge(q))
    .build();
}

/** What the panels read: the settings and the series selections the dashboard's variables narrow. */
function scope(s: Settings) {
  const flags = { job: s.scrapeJobs.auth, ...ENV } as const;
  const drill = { job: s.scrapeJobs.rollbackDrill, ...ENV } as const;
  return { s, t: s.thresholds, flags, drill };
}
type Scope = ReturnType<typeof scope>;

const SWITCHES = FLAG_NAMES.filter((f) => FLAGS[f].kind === "switch");

/** The kill switch stat: how many of its flags are engaged, as words. */
const ENGAGED: dashboard.ValueMapping[] = [
  { type: dashboard.MappingType.ValueToText, options: { "0": { text: "OFF", color: "green", index: 0 } } },
  { type: dashboard.MappingType.RangeToText, options: { from: 1, to: 2, result: { text: "ENGAGED", color: "red", index: 1 } } },
];

function killSwitch({ t, flags }: Scope): PanelSpec {
  return {
    id: P.killSwitch,
    builder: statPanel("Kill switch", "none")
      .withTarget(promql(`count(${killSwitchEngaged(flags, ["job"])}) or vector(0)`, "engaged", { instant: true }))
      .mappings(ENGAGED)
      .thresholds(steps("green", [1, "red"])),
    w: 6,
    h: 8,
    description: `ENGAGED while auth_enabled is off or auth_bypass is on on any instance (in the last ${KILL_SWITCH_BRIDGE}): nobody is authenticated (seed 002's safe mode). 0: authentication as usual. Engaged longer than ${t.killSwitch.rollbackWindow} pages.`,
    linkedFrom: ["AuthKillSwitchEngaged"],
  };
}

function flagStates({ flags }: Scope): PanelSpec {
  return {
    id: P.flagStates,
    builder: new statetimeline.PanelBuilder()
      .title("Switches over time")
      .unit("none")
      .withTarget(promql(`min by (flag) (${sel("auth_feature_flag", { ...flags, flag: re(SWITCHES.join("|")) })})`, "{{flag}}"))
      .mappings(upDown("on", "off"))
      .thresholds(steps("red", [1, "green"]))
      .showValue(common.VisibilityMode.Never)
      .mergeValues(true)
      .rowHeight(0.8),
    w: 18,
    h: 8,
    description: `Each switch flag (${SWITCHES.join(", ")}) as the service applies it, the lowest of its instances: off (red) on any instance shows off. auth_bypass on is the bypass engaged. Rollbacks are the purple annotations.`,
  };
}

function rolloutPercentage({ t, flags }: Scope): PanelSpec {
  return {
    id: P.rolloutPercentage,
    builder: timeseriesPanel("Rollout percentage and groups", "none")
      .withTarget(promql(`max by (flag) (${sel("auth_feature_flag", { ...flags, flag: re("auth_rollout_percentage|auth_groups") })})`, "{{flag}}"))
      .min(0),
    w: 12,
    h: 8,
    description: `auth_rollout_percentage: the share of users (0–100, stable hash of the user id) who get authentication; a change notifies by e-mail for ${t.rolloutChange.window}. auth_groups: the number of user groups authentication is limited to (0: every group).`,
    linkedFrom: ["AuthRolloutChanged"],
  };
}

function drillAge({ t, drill }: Scope): PanelSpec {
  return {
    id: P.drillAge,
    builder: timeseriesPanel("Time since the last successful rollback drill", "s")
      .withTarget(promql(sinceLast(sel("rollback_drill_last_success_timestamp_seconds", drill), ["stack"]), "{{stack}}", { interval: "5m" }))
      .min(0)
      .thresholds(tiers(mustParseDuration(t.rollbackDrill.maxAge))),
    w: 12,
    h: 8,
    description: `Age of the last successful rollback drill (npm run rollback -- --dry-run --drill) per stack; the alert warns above ${t.rollbackDrill.maxAge} (dashed), and where the stack runs the drill also when none ever reported (then this panel is empty).`,
    linkedFrom: ["RollbackDrillMissing"],
  };
}
