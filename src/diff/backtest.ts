/**
 * `npm run diff -- --prometheus <url> [--since 7d]`: replays each changed alert tier's old and
 * new expression over a Prometheus' history (/api/v1/query_range at the rule group's interval)
 * and applies the `for` state machine per label set (src/backtest), to tell how often each version would have fired.
 */
import type { AlertRule } from "./artifacts";
import type { StackDiff } from "./compare";
import { queryRange } from "../backtest/query";
import { evaluationSteps, forStateMachine } from "../backtest/state";
import { parseDuration, secondsText } from "./values";

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

/** Firing episodes of one rule over [start, end], every label set of its result. */
export async function backtest(prometheusUrl: string, rule: AlertRule, start: number, end: number): Promise<Firing> {
  const step = parseDuration(rule.interval) ?? 60;
  const steps = evaluationSteps(start, end, step);
  const series = await queryRange(prometheusUrl, rule.expr, steps, step);
  let episodes = 0;
  let firingSeconds = 0;
  for (const s of series.values()) {
    for (const e of forStateMachine(steps, new Set(s.values.keys()), parseDuration(rule.for) ?? 0, step)) {
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
