/**
 * Which panel an alert's dashboard_url opens, derived from the dashboards:
 * panels declare the alerts that link to them (`linkedFrom`), the alert
 * definitions never name a panel. Pure: rule groups and built dashboards in,
 * rule groups with `dashboard` set out.
 */
import type { AlertRule, DashboardRef, LogRuleGroup, PromRuleGroup } from "../model";
import type { AlertLink, BuiltDashboard } from "./board";

export interface LinkTarget {
  readonly dashboard: BuiltDashboard;
  readonly link: AlertLink;
}

export const linkMatches = (link: AlertLink, rule: AlertRule): boolean =>
  link.alert === rule.alert && Object.entries(link.labels ?? {}).every(([k, v]) => rule.labels?.[k] === v);

/** Every panel that declares it links this rule (valid catalogs have exactly one; src/dashboards/validate.ts checks). */
export function linkTargets(dashboards: readonly BuiltDashboard[], rule: AlertRule): LinkTarget[] {
  return dashboards.flatMap((dashboard) => dashboard.links.filter((link) => linkMatches(link, rule)).map((link) => ({ dashboard, link })));
}

function linked<R extends AlertRule>(dashboards: readonly BuiltDashboard[], rule: R): R {
  const [target] = linkTargets(dashboards, rule);
  if (!target) return rule;
  const dashboard: DashboardRef = { uid: target.dashboard.uid, panel: target.link.panel };
  return { ...rule, dashboard };
}

export interface LinkedRules {
  readonly prometheus: readonly PromRuleGroup[];
  readonly loki: readonly LogRuleGroup[];
}

/** The rule groups with each alerting rule's `dashboard` set to the panel that links it. */
export function linkAlerts(rules: LinkedRules, dashboards: readonly BuiltDashboard[]): LinkedRules {
  return {
    prometheus: rules.prometheus.map((g) => ({ ...g, rules: g.rules.map((r) => (r.kind === "record" ? r : linked(dashboards, r))) })),
    loki: rules.loki.map((g) => ({ ...g, rules: g.rules.map((r) => linked(dashboards, r)) })),
  };
}
