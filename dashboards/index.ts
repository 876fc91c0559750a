/** Every dashboard a stack deploys, in a stable order (the order of dashboards/uids.ts). */
import type { LogRuleGroup, PromRuleGroup } from "../src/model";
import type { Settings } from "../src/settings";
import type { AlertRule, BuiltDashboard, DashboardContext } from "../src/dashboards/board";
import { databaseDashboard } from "./database";
import { monitoringDashboard } from "./monitoring";
import { overviewDashboard } from "./overview";
import { performanceDashboard } from "./performance";
import { rollbackDashboard } from "./rollback";
import { securityDashboard } from "./security";
import { sloDashboard } from "./slo";

export const DASHBOARDS = [overviewDashboard, securityDashboard, performanceDashboard, databaseDashboard, sloDashboard, monitoringDashboard, rollbackDashboard] as const;

/** The alerting rules of a catalog by name (every tier of a name under one key). */
export function alertsByName(prometheus: readonly PromRuleGroup[], loki: readonly LogRuleGroup[]): Map<string, AlertRule[]> {
  const out = new Map<string, AlertRule[]>();
  for (const rule of [...prometheus.flatMap((g) => g.rules), ...loki.flatMap((g) => g.rules)]) {
    if (rule.kind === "record") continue;
    out.set(rule.alert, [...(out.get(rule.alert) ?? []), rule]);
  }
  return out;
}

export function buildDashboards(settings: Settings, prometheus: readonly PromRuleGroup[], loki: readonly LogRuleGroup[]): BuiltDashboard[] {
  const ctx: DashboardContext = { settings, alerts: alertsByName(prometheus, loki) };
  return DASHBOARDS.map((build) => build(ctx));
}
