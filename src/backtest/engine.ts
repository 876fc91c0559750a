/**
 * `npm run backtest`: the stack's alerting rules evaluated over a Prometheus' stored history as
 * Prometheus would have (each rule at its group's interval, the `for` state machine per label set,
 * labels and annotations templated), after making sure the recording rules they read exist.
 */
import { renderTemplate } from "../gotemplate";
import { materialise, pointsPerQuery, type Scratch } from "./materialise";
import { MAX_POINTS, queryRange } from "./query";
import { coverage, liveSchedule } from "./recorded";
import { lookbacks, recordingsRead, type Alerting, type Recording, type RuleGroup } from "./rules";
import { episodesAround, evaluationSteps, type Span } from "./state";

export interface EpisodeOut {
  /** RFC3339. */
  readonly start: string;
  /** RFC3339, or null while still firing at the end of the range. */
  readonly end: string | null;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface AlertOut {
  readonly alert: string;
  readonly severity: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly group: string;
  readonly interval: number;
  readonly for: number;
  readonly episodes: readonly EpisodeOut[];
  /** Why this rule could not be backtested (then `episodes` is empty). */
  readonly skipped?: string;
}

export interface BacktestReport {
  readonly prometheus: string;
  readonly start: string;
  readonly end: string;
  /** Recording rules read from the Prometheus, and those materialised with promtool. */
  readonly recordings: { readonly stored: readonly string[]; readonly materialised: readonly string[] };
  readonly alerts: readonly AlertOut[];
  /** Spans the Prometheus recorded nothing at all (it was not running): no evaluation there. */
  readonly notRunning: readonly { readonly start: string; readonly end: string }[];
  /** What makes part of the result less than certain, one sentence each. */
  readonly warnings: readonly string[];
}

export interface BacktestOptions {
  readonly prometheus: string;
  /** Seconds since the epoch. */
  readonly start: number;
  readonly end: number;
  readonly groups: readonly RuleGroup[];
  /** Only these alerts (by name); every alerting rule when empty. */
  readonly only?: readonly string[];
  readonly progress?: (line: string) => void;
  /** The Prometheus' TSDB directory, when at hand: recording rules are then materialised over a copy of it. */
  readonly data?: string;
}

export const rfc3339 = (t: number): string => new Date(t * 1000).toISOString().replace(".000Z", "Z");

function templated(a: Alerting, labels: Readonly<Record<string, string>>, value: number): { labels: Record<string, string>; annotations: Record<string, string> } {
  const render = (tpl: string) => {
    try {
      return renderTemplate(tpl, value, labels);
    } catch {
      return tpl;
    }
  };
  const { __name__: _n, ...series } = labels;
  const ruleLabels = Object.fromEntries(Object.entries(a.labels).map(([k, v]) => [k, render(v)]));
  return {
    labels: { ...series, ...ruleLabels, alertname: a.alert },
    annotations: Object.fromEntries(Object.entries(a.annotations).map(([k, v]) => [k, render(v)])),
  };
}

/**
 * When the Prometheus recorded nothing at all (not even `up` of one target), it was not running and
 * evaluated nothing: spans [start, end) of at least two intervals without any `up` sample.
 */
export async function notRunning(url: string, start: number, end: number, step: number): Promise<Span[]> {
  const steps = evaluationSteps(start, end, step);
  const alive = new Set<number>();
  for (const s of (await queryRange(url, `count(count_over_time(up[${step}s]))`, steps, step)).values()) for (const t of s.values.keys()) alive.add(t);
  const out: Span[] = [];
  if (alive.size === 0) return out; // no `up` at all (data backfilled without it): nothing to tell
  let from: number | undefined;
  for (const t of steps) {
    if (!alive.has(t)) from ??= t;
    else if (from !== undefined) {
      if (t - from >= 2 * step) out.push({ start: from, end: t });
      from = undefined;
    }
  }
  return out;
}

/** One alerting rule over [start, end] against `url`, evaluations at `offset` past each interval. */
export async function backtestAlert(url: string, a: Alerting, start: number, end: number, offset = 0, onChunk?: (done: number, total: number) => void, down: readonly Span[] = [], maxPoints = MAX_POINTS): Promise<EpisodeOut[]> {
  const steps = evaluationSteps(start, end, a.interval, offset);
  if (steps.length === 0) return [];
  const series = await queryRange(url, a.expr, steps, a.interval, onChunk, maxPoints);
  const out: (EpisodeOut & { at: number })[] = [];
  for (const s of series.values()) {
    for (const e of episodesAround(steps, new Set(s.values.keys()), a.forSeconds, a.interval, down)) {
      const { labels, annotations } = templated(a, s.labels, s.values.get(e.start) ?? NaN);
      out.push({ at: e.start, start: rfc3339(e.start), end: e.open ? null : rfc3339(e.end), labels, annotations });
    }
  }
  return out.sort((x, y) => x.at - y.at || (JSON.stringify(x.labels) < JSON.stringify(y.labels) ? -1 : 1)).map(({ at: _a, ...e }) => e);
}

export async function runBacktest(o: BacktestOptions): Promise<BacktestReport> {
  const progress = o.progress ?? (() => {});
  const records: Recording[] = o.groups.flatMap((g) => g.records);
  const all = o.groups.flatMap((g) => g.alerts);
  const unknown = (o.only ?? []).filter((n) => !all.some((a) => a.alert === n));
  if (unknown.length) throw new Error(`--alert ${unknown.join(", ")}: no such alerting rule in the stack (alerts: ${[...new Set(all.map((a) => a.alert))].join(", ")})`);
  const alerts = o.only?.length ? all.filter((a) => o.only!.includes(a.alert)) : all;
  const needed = [...new Set(alerts.flatMap((a) => recordingsRead(a.expr, records)))];

  progress(`checking ${needed.length} recording rule(s) the alerts read`);
  const cov = await coverage(o.prometheus, needed, o.start, o.end);
  const missing = [...cov.missing.keys()];
  const schedule = await liveSchedule(o.prometheus);
  const down = await notRunning(o.prometheus, o.start, o.end, Math.min(...o.groups.map((g) => g.interval), 60));
  let scratch: Scratch | undefined;
  let failure: string | undefined;
  if (missing.length) {
    try {
      scratch = await materialise(o.prometheus, missing, o.start, o.end, { progress, data: o.data, lookback: lookbacks(records, alerts.map((a) => a.expr)) });
    } catch (e) {
      failure = (e as Error).message.split("\n")[0]!;
    }
  }
  // Remote read brings the Prometheus' own samples of a name along with the materialised ones: an
  // instant read at an evaluation sees the materialised sample (the latest), a window sees both.
  const warnings = scratch?.remoteRead
    ? [...new Set([...cov.changed].map((r) => r.record))].map((name) => `${name}: the Prometheus records another expression under this name; its samples mix with the materialised ones, so windows over it (rate, *_over_time) read both`)
    : [];
  for (const w of warnings) progress(`warning: ${w}`);
  try {
    const out: AlertOut[] = [];
    for (const [i, a] of alerts.entries()) {
      const lacking = recordingsRead(a.expr, missing);
      const base = { alert: a.alert, severity: a.labels.severity ?? "", labels: a.labels, group: a.group, interval: a.interval, for: a.forSeconds };
      if (lacking.length && !scratch) {
        const why = lacking.map((r) => `${r.record} (${cov.missing.get(r)})`).join(", ");
        out.push({ ...base, episodes: [], skipped: `recording rules missing over the range: ${why}; materialising them failed: ${failure}` });
        continue;
      }
      // Rules reading materialised recordings evaluate on their schedule; others on the Prometheus' own, when it runs the group.
      const url = lacking.length ? scratch!.url : o.prometheus;
      const live = schedule.get(a.group);
      const offset = lacking.length ? scratch!.offset : live?.interval === a.interval ? live.offset : 0;
      progress(`[${i + 1}/${alerts.length}] ${a.alert} ${base.severity}`);
      const episodes = await backtestAlert(url, a, o.start, o.end, offset, (done, total) => {
        if (total > done) progress(`  ${a.alert}: ${done}/${total} evaluations`);
      }, down, lacking.length ? pointsPerQuery(a.interval, scratch!.remoteRead) : MAX_POINTS);
      out.push({ ...base, episodes });
    }
    return {
      prometheus: o.prometheus,
      start: rfc3339(o.start),
      end: rfc3339(o.end),
      recordings: { stored: [...new Set([...cov.stored].map((r) => r.record))], materialised: scratch ? [...new Set(missing.map((r) => r.record))] : [] },
      alerts: out,
      notRunning: down.map((d) => ({ start: rfc3339(d.start), end: rfc3339(d.end) })),
      warnings,
    };
  } finally {
    await scratch?.close();
  }
}
