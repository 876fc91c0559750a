/**
 * Dashboards are checked like the alerts before anything is rendered: every
 * query parses (after Grafana's macros and the dashboard's variables are
 * substituted) and names only what the telemetry contract or our recording
 * rules provide; every alert of the catalog is shown somewhere, and every
 * alerting rule is linked (dashboard_url) from exactly one panel, which
 * shows it; ids are unique and
 * panels sit on the grid without overlapping. Messages name the module, the
 * dashboard, the panel and the query.
 */
import type * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import { logqlProblems, promqlProblems } from "../validate";
import { SERIES } from "../telemetry";
import type { AlertRule } from "../model";
import { GRID_WIDTH, type BuiltDashboard } from "./board";
import { VAR } from "./kit";
import { POSTGRES_DATASOURCE_TYPE } from "../addresses";
import { linkMatches, linkTargets } from "./links";

/**
 * What Grafana puts in place of its macros, for parsing only. A range needs a
 * duration; `$__interval_ms`-style numbers are not used by our panels.
 */
export const MACRO_SAMPLES: Readonly<Record<string, string>> = {
  __rate_interval: "2m",
  __interval: "1m",
  __range: "6h",
  __auto: "1m",
};

/** A value every variable of ours can take (they are matched with =~): "All". */
const VARIABLE_SAMPLE = ".*";

/** Replace `$__macro`, `${var}`, `${var:format}` and `$var`; report what is unknown. */
export function substituteVariables(expr: string, variables: ReadonlySet<string>): { expr: string; unknown: string[] } {
  const unknown: string[] = [];
  const out = expr.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[A-Za-z]+)?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced: string | undefined, bare: string | undefined) => {
    const name = (braced ?? bare)!;
    if (name in MACRO_SAMPLES) return MACRO_SAMPLES[name]!;
    if (variables.has(name)) return VARIABLE_SAMPLE;
    unknown.push(whole);
    return whole;
  });
  return { expr: out, unknown };
}

type AnyPanel = dashboard.Panel | dashboard.RowPanel;
type Target = { refId?: string; expr?: string; datasource?: { type?: string; uid?: string }; legendFormat?: string; format?: string };

/** Panel types that plot numbers and so need a unit. */
const NUMERIC_PANELS = new Set(["timeseries", "stat", "gauge", "bargauge", "heatmap", "piechart", "table", "state-timeline"]);
/** Panel types whose series are told apart by their legend. */
const LEGEND_PANELS = new Set(["timeseries", "heatmap", "piechart", "bargauge", "state-timeline"]);

export interface DashboardCatalog {
  readonly dashboards: readonly BuiltDashboard[];
  /** Every alerting rule of the catalog (Prometheus and Loki). */
  readonly alerts: readonly AlertRule[];
  /** Recording rules defined anywhere in the catalog. */
  readonly records: ReadonlySet<string>;
  /** The reserved uids (dashboards/uids.ts). */
  readonly uids: readonly string[];
}

const overlaps = (a: dashboard.GridPos, b: dashboard.GridPos) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

function panelProblems(d: BuiltDashboard, p: AnyPanel, variables: ReadonlySet<string>, records: ReadonlySet<string>): string[] {
  const out: string[] = [];
  if (p.type === "row") return out;
  const panel = p as dashboard.Panel;
  if (!panel.title?.trim()) out.push("has no title");
  if (!panel.description?.trim()) out.push("has no description (say what it shows and how to read it)");
  const unit = panel.fieldConfig?.defaults?.unit;
  if (NUMERIC_PANELS.has(panel.type) && !unit) out.push("has no unit");
  const targets = (panel.targets ?? []) as Target[];
  if (targets.length === 0) out.push("has no query");
  const types = new Set(targets.map((t) => t.datasource?.type));
  if (types.size > 1) out.push(`mixes data sources (${[...types].join(", ")}); one per panel`);
  const refIds = new Set<string>();
  for (const target of targets) {
    const ref = target.refId ?? "?";
    const at = `query ${ref}`;
    if (refIds.has(ref)) out.push(`${at}: refId used twice`);
    refIds.add(ref);
    const ds = target.datasource ?? {};
    const expected = ds.type === "prometheus" ? VAR.prometheus : ds.type === "loki" ? VAR.loki : undefined;
    if (!expected) {
      out.push(`${at}: data source type "${ds.type ?? "none"}" (only prometheus and loki)`);
      continue;
    }
    if (ds.uid !== `\${${expected}}`) out.push(`${at}: data source uid "${ds.uid ?? ""}" must be the variable \${${expected}}, never a fixed uid`);
    if (!target.expr?.trim()) {
      out.push(`${at}: empty expression`);
      continue;
    }
    if (LEGEND_PANELS.has(panel.type) && ds.type === "prometheus" && target.format !== "table" && !target.legendFormat?.trim()) {
      out.push(`${at}: no legend (legendFormat)`);
    }
    const { expr, unknown } = substituteVariables(target.expr, variables);
    for (const u of unknown) out.push(`${at}: unknown variable or macro "${u}"`);
    const problems = ds.type === "prometheus" ? promqlProblems(expr, records) : logqlProblems(expr, { metricOnly: panel.type !== "logs" });
    for (const problem of problems) out.push(`${at}: ${problem}`);
  }
  const pos = panel.gridPos;
  if (!pos) out.push("has no gridPos");
  return out;
}

/** `label_values(<selector>, <label>)` variables: the selector is PromQL and the label is one the series carries. */
function variableProblems(v: dashboard.VariableModel, variables: ReadonlySet<string>, records: ReadonlySet<string>): string[] {
  if (v.type !== "query") return [];
  const query = typeof v.query === "string" ? v.query : "";
  const m = /^label_values\((.+),\s*([A-Za-z_][A-Za-z0-9_]*)\)$/.exec(query);
  if (!m) return [`query "${query}" is not label_values(<selector>, <label>)`];
  const { expr, unknown } = substituteVariables(m[1]!, variables);
  const out = [...unknown.map((u) => `unknown variable "${u}"`), ...promqlProblems(expr, records)];
  const metric = /^[A-Za-z_:][A-Za-z0-9_:]*/.exec(expr)?.[0];
  const series = metric ? SERIES.get(metric) : undefined;
  if (series && !series.labels.has(m[2]!)) out.push(`${metric} has no label "${m[2]}"`);
  return out;
}

/**
 * A PostgreSQL annotation: on the dashboard's data source variable, reading
 * rollback_log only (its role, authwatch_grafana, may read nothing else) and
 * only the dashboard's time range.
 */
export function sqlAnnotationProblems(a: dashboard.AnnotationQuery, variables: ReadonlySet<string>): string[] {
  const out: string[] = [];
  if (a.datasource?.uid !== `\${${VAR.postgres}}` || !variables.has(VAR.postgres)) out.push(`data source uid "${a.datasource?.uid ?? ""}" must be the variable \${${VAR.postgres}}, never a fixed uid`);
  const sql = (a.target as { rawSql?: string } | undefined)?.rawSql ?? "";
  const tables = [...sql.matchAll(/\b(?:FROM|JOIN)\s+([A-Za-z_][A-Za-z0-9_.]*)/gi)].map((t) => t[1]!);
  if (tables.length === 0 || tables.some((t) => t !== "rollback_log")) out.push(`reads ${tables.join(", ") || "no table"}; only rollback_log (the Grafana role may read nothing else)`);
  if (!sql.includes("$__timeFilter(")) out.push("has no $__timeFilter(...): it would read the whole log on every refresh");
  return out;
}

export function dashboardProblems(c: DashboardCatalog): string[] {
  const problems: string[] = [];
  const byUid = new Map<string, BuiltDashboard>();
  const titles = new Set<string>();
  const alertNames = new Set(c.alerts.map((a) => a.alert));
  const shown = new Set<string>();

  for (const d of c.dashboards) {
    const where = `${d.source}: ${d.uid}`;
    const m = d.model;
    if (m.uid !== d.uid) problems.push(`${where}: model uid "${m.uid}" differs`);
    if (!c.uids.includes(d.uid)) problems.push(`${where}: uid is not reserved in dashboards/uids.ts`);
    if (byUid.has(d.uid)) problems.push(`${where}: uid used by two dashboards`);
    byUid.set(d.uid, d);
    if (titles.has(d.title)) problems.push(`${where}: title "${d.title}" used twice`);
    titles.add(d.title);

    const variableList = m.templating.list ?? [];
    const variables = new Set(variableList.map((v) => v.name));
    for (const v of variableList) for (const p of variableProblems(v, variables, c.records)) problems.push(`${where}: variable $${v.name}: ${p}`);
    for (const a of m.annotations.list ?? []) {
      if (a.datasource?.type === POSTGRES_DATASOURCE_TYPE) {
        for (const p of sqlAnnotationProblems(a, variables)) problems.push(`${where}: annotation "${a.name}": ${p}`);
        continue;
      }
      if (!a.expr) continue;
      const { expr, unknown } = substituteVariables(a.expr, variables);
      for (const p of [...unknown.map((u) => `unknown variable "${u}"`), ...promqlProblems(expr, c.records)]) problems.push(`${where}: annotation "${a.name}": ${p}`);
    }

    const panels = m.panels ?? [];
    const ids = new Map<number, AnyPanel>();
    const placed: { id: number; pos: dashboard.GridPos; title: string }[] = [];
    for (const p of panels) {
      const label = `panel ${p.id ?? "?"} "${p.title ?? ""}"`;
      if (p.type === "row" && (p as dashboard.RowPanel).panels.length > 0) problems.push(`${where}: ${label}: rows stay expanded; put panels after the row, not in it`);
      if (typeof p.id !== "number" || !Number.isInteger(p.id) || p.id < 1) problems.push(`${where}: ${label}: needs a fixed positive id (dashboards/panels.ts)`);
      else if (ids.has(p.id)) problems.push(`${where}: ${label}: id ${p.id} is also "${ids.get(p.id)!.title ?? ""}"`);
      else ids.set(p.id, p);
      for (const problem of panelProblems(d, p, variables, c.records)) problems.push(`${where}: ${label}: ${problem}`);
      const pos = p.gridPos;
      if (!pos) continue;
      if (![pos.x, pos.y, pos.w, pos.h].every((n) => Number.isInteger(n)) || pos.w < 1 || pos.h < 1 || pos.x < 0 || pos.y < 0 || pos.x + pos.w > GRID_WIDTH) {
        problems.push(`${where}: ${label}: gridPos ${JSON.stringify(pos)} is off the ${GRID_WIDTH}-column grid`);
      }
      for (const other of placed) if (overlaps(pos, other.pos)) problems.push(`${where}: ${label}: overlaps panel ${other.id} "${other.title}"`);
      placed.push({ id: p.id ?? 0, pos, title: p.title ?? "" });
    }

    for (const [id, alerts] of d.shows) {
      if (!ids.has(id)) problems.push(`${where}: panel ${id}: declares alerts but is not on the dashboard`);
      for (const a of alerts) {
        if (!alertNames.has(a)) problems.push(`${where}: panel ${id}: shows alert "${a}", which is not in the catalog`);
        shown.add(a);
      }
    }
    for (const link of d.links) {
      const at = `${where}: panel ${link.panel}: linkedFrom ${link.alert}${link.labels ? ` ${JSON.stringify(link.labels)}` : ""}`;
      if (!ids.has(link.panel)) problems.push(`${at}: the panel is not on the dashboard`);
      if (!(d.shows.get(link.panel) ?? []).includes(link.alert)) problems.push(`${at}: the panel does not show ${link.alert}`);
      if (!c.alerts.some((rule) => linkMatches(link, rule))) problems.push(`${at}: matches no alerting rule of the catalog`);
    }
  }

  for (const name of [...alertNames].sort()) {
    if (!shown.has(name)) problems.push(`dashboards/: alert ${name} is shown on no dashboard (declare it in a panel's alerts or linkedFrom)`);
  }
  for (const rule of c.alerts) {
    const where = `alert ${rule.alert} (${rule.severity}${rule.labels ? `, ${JSON.stringify(rule.labels)}` : ""}): dashboard_url`;
    const targets = linkTargets(c.dashboards, rule);
    if (targets.length === 0) problems.push(`${where}: no panel links it (declare it in one panel's linkedFrom)`);
    if (targets.length > 1) {
      problems.push(`${where}: ${targets.length} panels link it (${targets.map((t) => `${t.dashboard.source}: ${t.dashboard.uid} panel ${t.link.panel}`).join(", ")}); name one`);
    }
  }
  return [...new Set(problems)];
}
