/**
 * The small vocabulary dashboards are written in, on top of the Grafana
 * Foundation SDK's builders: data source variables, queries, threshold steps
 * taken from settings, and the panel kinds. The grid and the dashboard frame
 * are in board.ts.
 */
import * as dashboard from "@grafana/grafana-foundation-sdk/dashboard";
import * as prometheus from "@grafana/grafana-foundation-sdk/prometheus";
import * as loki from "@grafana/grafana-foundation-sdk/loki";
import * as common from "@grafana/grafana-foundation-sdk/common";
import * as timeseries from "@grafana/grafana-foundation-sdk/timeseries";
import * as stat from "@grafana/grafana-foundation-sdk/stat";
import * as table from "@grafana/grafana-foundation-sdk/table";
import { POSTGRES_DATASOURCE_TYPE } from "../addresses";

export { dashboard, common };

// ------------------------------------------------------------ data sources

/** Template variable names; panels never name a data source uid directly. */
export const VAR = { prometheus: "prometheus", loki: "loki", postgres: "postgres", env: "env", instance: "instance" } as const;

export const PROMETHEUS: common.DataSourceRef = { type: "prometheus", uid: `\${${VAR.prometheus}}` };
export const LOKI: common.DataSourceRef = { type: "loki", uid: `\${${VAR.loki}}` };
/** The rollback log's database (only where the stack has settings grafana.postgres). */
export const POSTGRES: common.DataSourceRef = { type: POSTGRES_DATASOURCE_TYPE, uid: `\${${VAR.postgres}}` };

/**
 * Matcher for the environment variable. `env` comes from scraping (or a
 * Prometheus' external labels behind a global view); where a Prometheus has
 * no such label the variable's "All" (`.*`) matches the empty value too.
 */
export const ENV = { env: { op: "=~", value: `$${VAR.env}` } } as const;
/** Matcher for the instance variable, on series that carry an instance (raw series, not our job-level recording rules). */
export const INSTANCE = { instance: { op: "=~", value: `$${VAR.instance}` } } as const;

// ------------------------------------------------------------------ queries

export interface PromQueryOptions {
  /** One value per series at the end of the range (stat and table panels). */
  readonly instant?: boolean;
  readonly format?: "time_series" | "table" | "heatmap";
  /** Minimum step, e.g. "1m" for slow-moving batch metrics. */
  readonly interval?: string;
}

/** A PromQL query against the dashboard's Prometheus variable. */
export function promql(expr: string, legend: string, opts: PromQueryOptions = {}): prometheus.DataqueryBuilder {
  const q = new prometheus.DataqueryBuilder().datasource(PROMETHEUS).editorMode(prometheus.QueryEditorMode.Code).expr(expr).legendFormat(legend);
  if (opts.instant) q.instant();
  else q.range();
  if (opts.format === "table") q.format(prometheus.PromQueryFormat.Table);
  else if (opts.format === "heatmap") q.format(prometheus.PromQueryFormat.Heatmap);
  else q.format(prometheus.PromQueryFormat.TimeSeries);
  if (opts.interval) q.interval(opts.interval);
  return q;
}

/** A LogQL query against the dashboard's Loki variable: a metric query (legend set) or a log query (legend omitted). */
export function logql(expr: string, legend?: string, opts: { readonly instant?: boolean; readonly maxLines?: number } = {}): loki.DataqueryBuilder {
  const q = new loki.DataqueryBuilder().datasource(LOKI).editorMode(loki.QueryEditorMode.Code).expr(expr);
  if (legend !== undefined) q.legendFormat(legend);
  q.queryType(opts.instant ? loki.LokiQueryType.Instant : loki.LokiQueryType.Range);
  if (opts.maxLines !== undefined) q.maxLines(opts.maxLines);
  return q;
}

// --------------------------------------------------------------- thresholds

export type Color = "green" | "orange" | "red" | "blue" | "text" | "transparent";
/** A threshold step: at `value` and above, `color`. */
export type Step = readonly [value: number, color: Color];

/**
 * Absolute threshold steps. Pass setting values (`s.thresholds.…`), never
 * copied numbers: the alert reads the same setting, so both move together.
 */
export function steps(base: Color, ...levels: Step[]): dashboard.ThresholdsConfigBuilder {
  const sorted = [...levels].sort((a, b) => a[0] - b[0]);
  return new dashboard.ThresholdsConfigBuilder()
    .mode(dashboard.ThresholdsMode.Absolute)
    .steps([{ value: null, color: base }, ...sorted.map(([value, color]) => ({ value, color }))]);
}

/** warning (orange) and critical (red) tiers of an alert, green below. */
export const tiers = (warning: number, critical?: number) =>
  critical === undefined ? steps("green", [warning, "orange"]) : steps("green", [warning, "orange"], [critical, "red"]);

/** Value → text mappings for 0/1 series (up, probe_success, pg_up, the Watchdog). */
export function upDown(up: string, down: string): dashboard.ValueMapping[] {
  return [
    {
      type: dashboard.MappingType.ValueToText,
      options: { "0": { text: down, color: "red", index: 0 }, "1": { text: up, color: "green", index: 1 } },
    },
  ];
}

// -------------------------------------------------------------- panel kinds

const legend = (calcs: string[] = ["lastNotNull", "max"]) =>
  new common.VizLegendOptionsBuilder()
    .showLegend(true)
    .displayMode(common.LegendDisplayMode.Table)
    .placement(common.LegendPlacement.Bottom)
    .calcs(calcs);

const tooltip = () => new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending);

/** A time series with a table legend, a shared tooltip and threshold steps drawn as dashed lines. */
export function timeseriesPanel(title: string, unit: string): timeseries.PanelBuilder {
  return new timeseries.PanelBuilder()
    .title(title)
    .unit(unit)
    .legend(legend())
    .tooltip(tooltip())
    .lineWidth(1)
    .fillOpacity(10)
    .showPoints(common.VisibilityMode.Never)
    .spanNulls(false)
    .colorScheme(new dashboard.FieldColorBuilder().mode(dashboard.FieldColorModeId.PaletteClassic))
    .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed));
}

/** Stacked variant, for parts of a whole (requests by result, connections by state). */
export function stackedPanel(title: string, unit: string): timeseries.PanelBuilder {
  return timeseriesPanel(title, unit).stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal)).fillOpacity(35);
}

/** One big number, coloured by its threshold steps, with a sparkline. */
export function statPanel(title: string, unit: string): stat.PanelBuilder {
  return new stat.PanelBuilder()
    .title(title)
    .unit(unit)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(["lastNotNull"]).values(false))
    .colorMode(common.BigValueColorMode.Background)
    .graphMode(common.BigValueGraphMode.Area)
    .textMode(common.BigValueTextMode.Value);
}

/**
 * A table of instant values, one row per label set: the time column hidden,
 * the value column named `valueName`, coloured by the threshold steps and
 * sorted highest first.
 */
export function tablePanel(title: string, unit: string, valueName: string): table.PanelBuilder {
  return new table.PanelBuilder()
    .title(title)
    .unit(unit)
    .withTransformation({ id: "organize", options: { excludeByName: { Time: true } } })
    .overrideByRegexp("/^Value/", [
      { id: "displayName", value: valueName },
      { id: "custom.cellOptions", value: { type: common.TableCellDisplayMode.ColorBackground } },
    ])
    .sortBy([new common.TableSortByFieldStateBuilder().displayName(valueName).desc(true)])
    .cellHeight(common.TableCellHeight.Sm);
}
