/**
 * `npm run diff -- --prometheus <url> [--since 7d]`: replays each changed alert tier's old and
 * new expression over a Prometheus' history (/api/v1/query_range at the rule group's interval)
 * and applies the `for` state machine per label set, to tell how often each version would have fired.
 */
import type { AlertRule } from "./artifacts";
import type { StackDiff } from "./compare";
import { parseDuration, secondsText } from "./values";

export interface Episode {
  readonly start: number;
  readonly end: number;
}

export interface Firing {
  readonly episodes: number;
  readonly firingSeconds: number;
}

export interface BacktestResult {
  readonly stack: string;
  readonly tier: string;
  readonly before?: Firing;
  readonly after?: Firing;
  readonly text: string;
}

/**
 * Prometheus' alert states for one label set over evaluation timestamps `steps` (seconds):
 * present → pending, pending for `forSeconds` → firing, absent → inactive (ends a firing episode).
 * An episode still firing at the end of the window ends at the last step plus one interval.
 */
export function forStateMachine(steps: readonly number[], present: ReadonlySet<number>, forSeconds: number, interval: number): Episode[] {
  const episodes: Episode[] = [];
  let activeAt: number | undefined;
  let firingSince: number | undefined;
  for (const t of steps) {
    if (!present.has(t)) {
      if (firingSince !== undefined) episodes.push({ start: firingSince, end: t });
      activeAt = undefined;
      firingSince = undefined;
      continue;
    }
    activeAt ??= t;
    if (firingSince === undefined && t - activeAt >= forSeconds) firingSince = t;
  }
  if (firingSince !== undefined && steps.length) episodes.push({ start: firingSince, end: steps[steps.length - 1]! + interval });
  return episodes;
}

/** Evaluation timestamps from start to end (inclusive) every `step` seconds, aligned to the step. */
export function evaluationSteps(start: number, end: number, step: number): number[] {
  const out: number[] = [];
  for (let t = Math.ceil(start / step) * step; t <= end; t += step) out.push(t);
  return out;
}

interface Matrix {
  metric: Record<string, string>;
  values: [number, string][];
}

/** Prometheus refuses more than 11,000 points per series: ask in chunks. */
const MAX_POINTS = 10_000;

async function queryRange(url: string, expr: string, start: number, end: number, step: number): Promise<Map<string, Set<number>>> {
  const series = new Map<string, Set<number>>();
  for (let from = start; from <= end; from += MAX_POINTS * step) {
    const to = Math.min(end, from + (MAX_POINTS - 1) * step);
    const q = new URLSearchParams({ query: expr, start: String(from), end: String(to), step: `${step}s` });
    const res = await fetch(`${url.replace(/\/$/, "")}/api/v1/query_range?${q}`).catch((e: Error) => {
      throw new Error(`${url}: ${e.message}${e.cause ? ` (${String((e.cause as Error).message ?? e.cause)})` : ""}`);
    });
    const body = (await res.json()) as { status: string; error?: string; data?: { resultType: string; result: Matrix[] } };
    if (body.status !== "success") throw new Error(`${url}: query_range ${JSON.stringify(expr)}: ${body.error ?? res.statusText}`);
    for (const m of body.data?.result ?? []) {
      const key = JSON.stringify(Object.entries(m.metric).sort());
      const set = series.get(key) ?? new Set<number>();
      for (const [t] of m.values) set.add(Math.round(t));
      series.set(key, set);
    }
  }
  return series;
}

/** Firing episodes of one rule over [start, end], every label set of its result. */
export async function backtest(prometheusUrl: string, rule: AlertRule, start: number, end: number): Promise<Firing> {
  const step = parseDuration(rule.interval) ?? 60;
  const steps = evaluationSteps(start, end, step);
  const series = await queryRange(prometheusUrl, rule.expr, steps[0] ?? start, end, step);
  let episodes = 0;
  let firingSeconds = 0;
  for (const present of series.values()) {
    for (const e of forStateMachine(steps, present, parseDuration(rule.for) ?? 0, step)) {
      episodes++;
      firingSeconds += e.end - e.start;
    }
  }
  return { episodes, firingSeconds };
}

const firingText = (f: Firing | undefined): string =>
  f === undefined ? "absent" : `${f.episodes} episode${f.episodes === 1 ? "" : "s"}, ${f.firingSeconds ? secondsText(f.firingSeconds) : "0s"} firing`;

/** Backtests every Prometheus alert tier whose condition changed (or that was added or removed). */
export async function backtestChanges(prometheusUrl: string, diffs: readonly StackDiff[], since: string, now: number): Promise<BacktestResult[]> {
  const window = parseDuration(since);
  if (!window) throw new Error(`--since ${since}: not a duration (e.g. 7d, 12h)`);
  const out: BacktestResult[] = [];
  for (const d of diffs) {
    for (const t of d.alerts) {
      const conditionChanged = t.status !== "changed" || t.changes.some((c) => ["threshold", "expression", "for", "severity"].includes(c.field));
      if (!conditionChanged) continue;
      if (t.source === "loki") {
        out.push({ stack: d.stack, tier: t.tier, text: "a Loki rule: not backtested against Prometheus" });
        continue;
      }
      const run = (r: AlertRule | undefined) => (r ? backtest(prometheusUrl, r, now - window, now) : Promise.resolve(undefined));
      const before = await run(t.before);
      const after = await run(t.after);
      out.push({ stack: d.stack, tier: t.tier, ...(before && { before }), ...(after && { after }), text: `${since}: before ${firingText(before)} → after ${firingText(after)}` });
    }
  }
  return out;
}
