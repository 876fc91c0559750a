/**
 * Building blocks for promtool input series. Every expected value in a proof
 * is computed here from the numbers fed in, never from a rule's expression.
 */
import type { InputSeries } from "../../src/model";
import { mustParseDuration } from "../../src/duration";

/** Minutes in a Prometheus duration. */
export const minutes = (d: string) => Math.ceil(mustParseDuration(d) / 60);

/**
 * A proof's step in seconds for an alert with this `for`: 1m, or a third of
 * `for` when `for` is shorter than a minute (the local stack's 15s), so that
 * "one failed check" really is shorter than `for`. `steps` counts whole steps in `for`.
 */
export function stepFor(forDuration: string): { seconds: number; interval: string; steps: number; at: (steps: number) => string } {
  const f = mustParseDuration(forDuration);
  const seconds = f >= 60 ? 60 : Math.max(1, Math.floor(f / 3));
  return { seconds, interval: `${seconds}s`, steps: Math.ceil(f / seconds), at: (n: number) => `${n * seconds}s` };
}

export const num = (v: number) => String(Number(v.toPrecision(12)));

/** `name{a="b",...}` for promtool's series field. */
export function series(name: string, labels: Readonly<Record<string, string>> = {}): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return parts.length === 0 ? name : `${name}{${parts.join(",")}}`;
}

/** A counter growing by `perStep` each step for `steps` steps, from 0. */
export const counter = (perStep: number, steps: number) => `0+${num(perStep)}x${steps}`;

/** A gauge holding `value` for `steps` steps. */
export const gauge = (value: number, steps: number) => `${num(value)}x${steps}`;

/** A counter that holds still for `quiet` steps, then grows by `perStep` for `steps` steps. */
export function counterFrom(quiet: number, perStep: number, steps: number, start = 0): string {
  return `${num(start)}x${quiet} ${num(start + perStep)}+${num(perStep)}x${steps - 1}`;
}

export const input = (name: string, labels: Readonly<Record<string, string>>, values: string): InputSeries => ({
  series: series(name, labels),
  values,
});

/** A value strictly between `lo` and `hi`; without `hi`, half as much again as `lo` (kept below 1 for ratios). */
export const above = (lo: number, hi?: number) => (hi === undefined ? Math.min(lo * 1.5, (lo + 1) / 2) : (lo + hi) / 2);
export const below = (x: number) => x / 2;

/**
 * A histogram whose every observation falls into (lo, hi]: its p95 is
 * lo + 0.95 (hi − lo) by linear interpolation, as histogram_quantile computes.
 */
export function histogram(
  name: string,
  labels: Readonly<Record<string, string>>,
  lo: number,
  hi: number,
  perStep: number,
  steps: number,
): { series: InputSeries[]; p95: number } {
  const bounds = [lo / 2, lo, hi, hi * 2];
  const buckets = bounds.map((b) => input(`${name}_bucket`, { ...labels, le: num(b) }, counter(b >= hi ? perStep : 0, steps)));
  return {
    series: [
      ...buckets,
      input(`${name}_bucket`, { ...labels, le: "+Inf" }, counter(perStep, steps)),
      input(`${name}_count`, labels, counter(perStep, steps)),
      input(`${name}_sum`, labels, counter(perStep * ((lo + hi) / 2), steps)),
    ],
    p95: lo + 0.95 * (hi - lo),
  };
}

/**
 * Quiet traffic: a counter over `steps` steps that grows by one at each step whose index modulo
 * `every` is in `offsets` (e.g. every 5 steps at offsets 1 and 4: two events per 5 minutes).
 */
export function sparse(every: number, offsets: readonly number[], steps: number): string {
  let n = 0;
  const values: number[] = [];
  for (let i = 0; i <= steps; i++) {
    if (i > 0 && offsets.includes(i % every)) n++;
    values.push(n);
  }
  return values.join(" ");
}

/** The value of a `sparse` counter at step `at`. */
export const sparseAt = (every: number, offsets: readonly number[], at: number) =>
  Array.from({ length: at }, (_, i) => i + 1).filter((i) => offsets.includes(i % every)).length;
