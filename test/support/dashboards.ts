/** The stack's dashboards built as synth builds them, with what dashboardProblems checks them against. */
import { lokiRuleGroups, prometheusRuleGroups } from "../../alerts/index";
import { buildDashboards } from "../../dashboards/index";
import { DASHBOARD_UIDS } from "../../dashboards/uids";
import type { AlertRule } from "../../src/model";
import type { Settings } from "../../src/settings";

export function buildWithCatalog(s: Settings) {
  const prom = prometheusRuleGroups(s);
  const loki = lokiRuleGroups(s);
  const dashboards = buildDashboards(s, prom, loki);
  const alerts = [...prom.flatMap((g) => g.rules), ...loki.flatMap((g) => g.rules)].filter((r): r is AlertRule => r.kind !== "record");
  const records = new Set(prom.flatMap((g) => g.rules.flatMap((r) => (r.kind === "record" ? [r.record] : []))));
  return { dashboards, alerts, records, catalog: { dashboards, alerts, records, uids: Object.values(DASHBOARD_UIDS) } };
}
