/** The stack's Prometheus rules as Prometheus loads them: groups, intervals, and what each rule reads. */
import { load } from "js-yaml";
import { parseDuration } from "../duration";
import { loadStackSettings } from "../settings";
import { renderStack } from "../synth";

export interface RuleGroup {
  readonly file: string;
  readonly name: string;
  /** Seconds between evaluations (the group's interval or the global evaluation_interval). */
  readonly interval: number;
  readonly records: readonly Recording[];
  readonly alerts: readonly Alerting[];
}

export interface Recording {
  readonly record: string;
  readonly expr: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly group: string;
  readonly interval: number;
}

export interface Alerting {
  readonly alert: string;
  readonly expr: string;
  readonly forSeconds: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly group: string;
  readonly interval: number;
}

const strings = (o: unknown): Record<string, string> =>
  Object.fromEntries(Object.entries((o ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]));

function seconds(text: string, where: string): number {
  const s = parseDuration(text);
  if (s === undefined) throw new Error(`${where}: ${JSON.stringify(text)} is not a duration`);
  return s;
}

/** Rule groups from rendered files (prometheus/prometheus.yaml and prometheus/rules/*.yaml). */
export function ruleGroups(files: ReadonlyMap<string, string>): RuleGroup[] {
  const config = load(files.get("prometheus/prometheus.yaml") ?? "{}") as { global?: { evaluation_interval?: string } } | null;
  const global = seconds(config?.global?.evaluation_interval ?? "1m", "prometheus/prometheus.yaml: global.evaluation_interval");
  const out: RuleGroup[] = [];
  for (const [file, text] of [...files].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!file.startsWith("prometheus/rules/") || !/\.ya?ml$/.test(file)) continue;
    const doc = load(text) as { groups?: { name: string; interval?: string; rules?: Record<string, unknown>[] }[] } | null;
    for (const g of doc?.groups ?? []) {
      const interval = g.interval ? seconds(g.interval, `${file}: group ${g.name}: interval`) : global;
      const records: Recording[] = [];
      const alerts: Alerting[] = [];
      for (const r of g.rules ?? []) {
        const expr = String(r.expr ?? "").trim();
        if (typeof r.record === "string") records.push({ record: r.record, expr, labels: strings(r.labels), group: g.name, interval });
        if (typeof r.alert === "string") {
          const forSeconds = r.for === undefined ? 0 : seconds(String(r.for), `${file}: alert ${r.alert}: for`);
          alerts.push({ alert: r.alert, expr, forSeconds, labels: strings(r.labels), annotations: strings(r.annotations), group: g.name, interval });
        }
      }
      out.push({ file, name: g.name, interval, records, alerts });
    }
  }
  return out;
}

export function stackRuleGroups(stack: string): RuleGroup[] {
  return ruleGroups(renderStack(loadStackSettings(stack)).files);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Whether `expr` reads the series `name` (a metric name token, not part of a longer name). */
export const reads = (expr: string, name: string): boolean => new RegExp(`(^|[^a-zA-Z0-9_:])${escape(name)}($|[^a-zA-Z0-9_:])`).test(expr);

/** The recording rules `expr` reads, directly or through other recording rules. */
export function recordingsRead(expr: string, records: readonly Recording[]): Recording[] {
  const seen = new Set<string>();
  const visit = (e: string) => {
    for (const r of records) {
      if (seen.has(r.record) || !reads(e, r.record)) continue;
      seen.add(r.record);
      for (const same of records.filter((x) => x.record === r.record)) visit(same.expr);
    }
  };
  visit(expr);
  return records.filter((r) => seen.has(r.record));
}

/** Dependency level of each recording rule: 1 reads only raw series, n reads some rule of level n-1. */
export function levels(records: readonly Recording[]): Map<Recording, number> {
  const level = new Map<Recording, number>();
  const of = (r: Recording, stack: Recording[]): number => {
    const known = level.get(r);
    if (known !== undefined) return known;
    if (stack.includes(r)) throw new Error(`recording rule ${r.record}: reads itself through ${stack.map((s) => s.record).join(" → ")}`);
    const deps = records.filter((d) => d !== r && d.record !== r.record && reads(r.expr, d.record));
    const l = 1 + Math.max(0, ...deps.map((d) => of(d, [...stack, r])));
    level.set(r, l);
    return l;
  };
  for (const r of records) of(r, []);
  return level;
}

/** The longest range (`[1h]`, a subquery's `[1d:5m]`) plus the longest `offset` in `expr`, in seconds: how far back it reads. */
export function lookbackOf(expr: string): number {
  const longest = (re: RegExp) => Math.max(0, ...[...expr.matchAll(re)].map((m) => parseDuration(m[1]!) ?? 0));
  return longest(/\[\s*([0-9a-z]+)\s*(?::[^\]]*)?\]/g) + longest(/\boffset\s+([0-9a-z]+)/g);
}

/**
 * How far before a backtest's start each recording rule must exist so that every rule and alert
 * reading it sees full windows at the start (a 30-day rule over a 5-minute one needs it 30 days back):
 * for each reader (an alert expression, or a recording rule with its own need), its lookback plus its need.
 * Only the rules the alerts read, directly or not, are in the map.
 */
export function lookbacks(all: readonly Recording[], alertExprs: readonly string[]): Map<Recording, number> {
  // A rule no alert reads (a 30-day budget) is not materialised: it asks nothing of the rules it reads.
  const records = [...new Set(alertExprs.flatMap((e) => recordingsRead(e, all)))];
  const need = new Map<Recording, number>();
  const of = (r: Recording, stack: readonly Recording[]): number => {
    const known = need.get(r);
    if (known !== undefined) return known;
    if (stack.includes(r)) throw new Error(`recording rule ${r.record}: reads itself through ${stack.map((x) => x.record).join(" → ")}`);
    const viaAlerts = alertExprs.filter((e) => reads(e, r.record)).map(lookbackOf);
    const viaRecords = records.filter((x) => x !== r && reads(x.expr, r.record)).map((x) => lookbackOf(x.expr) + of(x, [...stack, r]));
    const n = Math.max(0, ...viaAlerts, ...viaRecords);
    need.set(r, n);
    return n;
  };
  for (const r of records) of(r, []);
  return need;
}
