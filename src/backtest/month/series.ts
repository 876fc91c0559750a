/**
 * The month's series and their OpenMetrics text. A series is created once (its name and labels
 * rendered once) and then sampled by handle: the month has ~10 million samples, and building label
 * strings per sample made generation GC-bound.
 */

export type Labels = Readonly<Record<string, string>>;

const NONE: Labels = {};

/** One series: its counter value (carried across days) and the samples of the current day. */
export class Series {
  value = 0;
  private readonly times: number[] = [];
  private readonly values: number[] = [];
  constructor(readonly head: string) {}
  sample(t: number, v: number): void {
    this.times.push(t);
    this.values.push(v);
  }
  /** Adds `by` to the counter and samples it. */
  inc(t: number, by: number): void {
    this.value += by;
    this.sample(t, Math.round(this.value * 1e6) / 1e6);
  }
  /** This day's sample lines at or after `from` and before `to`. */
  lines(out: string[], from: number, to: number): void {
    for (let i = 0; i < this.times.length; i++) {
      const t = this.times[i]!;
      const v = this.values[i]!;
      if (t >= from && t < to) out.push(`${this.head} ${Number.isInteger(v) ? v : v.toFixed(6)} ${t}`);
    }
  }
  get sampled(): boolean {
    return this.times.length > 0;
  }
  clear(): void {
    this.times.length = 0;
    this.values.length = 0;
  }
}

const labelText = (l: Labels) => `{${Object.entries(l).map(([k, v]) => `${k}="${v}"`).join(",")}}`;

/** Every series of the month, by family; one day of samples at a time. */
export class Samples {
  private readonly families = new Map<string, Map<string, Series>>();

  series(name: string, labels: Labels): Series {
    let family = this.families.get(name);
    if (!family) this.families.set(name, (family = new Map()));
    const head = `${name}${labelText(labels)}`;
    let s = family.get(head);
    if (!s) family.set(head, (s = new Series(head)));
    return s;
  }

  /** The day so far as one OpenMetrics document (families contiguous, each series' samples in time order), only samples in [from, to). */
  text(from = -Infinity, to = Infinity): string {
    const out: string[] = [];
    for (const name of [...this.families.keys()].sort()) {
      const series = [...this.families.get(name)!.values()].filter((s) => s.sampled);
      if (!series.length) continue;
      out.push(`# TYPE ${name} gauge`);
      for (const s of series) s.lines(out, from, to);
    }
    return `${out.join("\n")}\n# EOF\n`;
  }

  /** Starts the next day: samples go, counter values stay. */
  clearDay(): void {
    for (const family of this.families.values()) for (const s of family.values()) s.clear();
  }
}

/**
 * Series sharing base labels (one pod's, or none), looked up by name and by the identity of their
 * extra labels: callers pass constant label objects, so a sample costs two map lookups.
 */
export class Scope {
  private readonly cache = new Map<string, Map<Labels, Series>>();
  constructor(
    private readonly samples: Samples,
    readonly base: Labels = NONE,
  ) {}

  series(name: string, labels: Labels = NONE): Series {
    let byLabels = this.cache.get(name);
    if (!byLabels) this.cache.set(name, (byLabels = new Map()));
    let s = byLabels.get(labels);
    if (!s) byLabels.set(labels, (s = this.samples.series(name, { ...this.base, ...labels })));
    return s;
  }

  set(name: string, labels: Labels, t: number, v: number): void {
    this.series(name, labels).sample(t, v);
  }

  inc(name: string, labels: Labels, t: number, by: number): void {
    this.series(name, labels).inc(t, by);
  }

  /** The process restarted: every counter of this scope starts from zero again. */
  reset(): void {
    for (const byLabels of this.cache.values()) for (const s of byLabels.values()) s.value = 0;
  }
}
