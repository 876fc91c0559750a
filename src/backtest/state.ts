/**
 * Prometheus' alert state machine for one label set, replayed over evaluation timestamps:
 * inactive → pending when the expression returns the label set, pending → firing once it held
 * for `for`, back to inactive (ending a firing episode) at the first evaluation that returns nothing.
 */

export interface Episode {
  /** Seconds since the epoch: the evaluation at which the alert turned firing. */
  readonly start: number;
  /** The first evaluation that no longer returned the label set, or the window's end plus one interval. */
  readonly end: number;
  /** Still firing at the window's last evaluation. */
  readonly open: boolean;
}

/** Evaluation timestamps (seconds, to the millisecond) in [start, end] every `step` seconds, at `offset` past each multiple of the step. */
export function evaluationSteps(start: number, end: number, step: number, offset = 0): number[] {
  const out: number[] = [];
  // Milliseconds are Prometheus' precision; rounding keeps a fractional offset's timestamps exact.
  const first = Math.ceil((start - offset) / step) * step + offset;
  for (let i = 0; ; i++) {
    const t = Math.round((first + i * step) * 1000) / 1000;
    if (t > end) break;
    out.push(t);
  }
  return out;
}

export function forStateMachine(steps: readonly number[], present: ReadonlySet<number>, forSeconds: number, interval: number): Episode[] {
  const episodes: Episode[] = [];
  let activeAt: number | undefined;
  let firingSince: number | undefined;
  for (const t of steps) {
    if (!present.has(t)) {
      if (firingSince !== undefined) episodes.push({ start: firingSince, end: t, open: false });
      activeAt = undefined;
      firingSince = undefined;
      continue;
    }
    activeAt ??= t;
    if (firingSince === undefined && t - activeAt >= forSeconds) firingSince = t;
  }
  if (firingSince !== undefined && steps.length) episodes.push({ start: firingSince, end: steps[steps.length - 1]! + interval, open: true });
  return episodes;
}

export interface Span {
  readonly start: number;
  readonly end: number;
}

/**
 * The state machine over evaluations Prometheus actually ran: none inside `down` (it was not
 * running). Each restart begins inactive; an episode cut by an outage ends when the outage starts.
 */
export function episodesAround(steps: readonly number[], present: ReadonlySet<number>, forSeconds: number, interval: number, down: readonly Span[]): Episode[] {
  if (down.length === 0) return forStateMachine(steps, present, forSeconds, interval);
  const out: Episode[] = [];
  let segment: number[] = [];
  const flush = (cut: Span | undefined) => {
    for (const e of forStateMachine(segment, present, forSeconds, interval)) out.push(e.open && cut ? { start: e.start, end: cut.start, open: false } : e);
    segment = [];
  };
  let d = 0;
  for (const t of steps) {
    while (d < down.length && down[d]!.end <= t) {
      if (segment.length) flush(down[d]);
      d++;
    }
    if (d < down.length && t >= down[d]!.start) continue;
    segment.push(t);
  }
  flush(undefined);
  return out;
}
