/**
 * The dashboards' PromQL as Grafana sends it: variables at "All" (their allValue), and the macros
 * for a time range the way Grafana computes them (step = range / max data points, rounded, at least
 * the data source's timeInterval = the scrape interval; $__rate_interval = max(step + scrape, 4 × scrape)).
 */
import { parseDuration } from "../src/duration";

export interface DashboardQuery {
  readonly dashboard: string;
  readonly panel: string;
  readonly expr: string;
  readonly instant: boolean;
}

interface PanelJson {
  title?: string;
  type?: string;
  targets?: { expr?: string; instant?: boolean; datasource?: { type?: string } }[];
  panels?: PanelJson[];
}

/** Every Prometheus query of the rendered dashboards (grafana/dashboards/<uid>.json → text). */
export function dashboardQueries(files: ReadonlyMap<string, string>): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  for (const [file, text] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    if (!file.startsWith("grafana/dashboards/") || !file.endsWith(".json")) continue;
    const board = JSON.parse(text) as { uid: string; panels?: PanelJson[]; templating?: { list?: { name: string; allValue?: string }[] } };
    const all = new Map((board.templating?.list ?? []).map((v) => [v.name, v.allValue ?? ".*"]));
    const walk = (panels: PanelJson[] | undefined) => {
      for (const p of panels ?? []) {
        for (const t of p.targets ?? []) {
          if (t.datasource?.type !== "prometheus" || !t.expr) continue;
          const expr = t.expr.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (whole, name: string) => (name.startsWith("__") ? whole : (all.get(name) ?? whole)));
          out.push({ dashboard: board.uid, panel: p.title ?? "?", expr, instant: t.instant === true });
        }
        walk(p.panels);
      }
    };
    walk(board.panels);
  }
  return out;
}

/** Grafana's interval rounding (kbn.roundInterval), in seconds. */
function roundInterval(s: number): number {
  const steps: [number, number][] = [
    [15, 10], [35, 20], [75, 30], [150, 60], [450, 300], [750, 600], [1050, 900], [1500, 1200], [2700, 1800], [5400, 3600], [9000, 7200], [16200, 10800], [32400, 21600], [86400, 43200],
  ];
  for (const [below, to] of steps) if (s < below) return to;
  return 86400;
}

export interface RangeMacros {
  readonly rangeSeconds: number;
  readonly stepSeconds: number;
  /** Substitutes $__rate_interval, $__interval, $__range. */
  substitute(expr: string): string;
}

export function macrosFor(range: string, scrapeInterval: string, maxDataPoints = 1000): RangeMacros {
  const rangeSeconds = parseDuration(range);
  const scrape = parseDuration(scrapeInterval);
  if (rangeSeconds === undefined || scrape === undefined) throw new Error(`bad range ${range} or scrape interval ${scrapeInterval}`);
  const step = Math.max(scrape, roundInterval(rangeSeconds / maxDataPoints));
  const rate = Math.max(step + scrape, 4 * scrape);
  const values: Record<string, string> = { __rate_interval: `${rate}s`, __interval: `${step}s`, __range: `${rangeSeconds}s` };
  return {
    rangeSeconds,
    stepSeconds: step,
    substitute: (expr) => expr.replace(/\$\{?(__[a-z_]+)\}?/g, (whole, name: string) => values[name] ?? whole),
  };
}
