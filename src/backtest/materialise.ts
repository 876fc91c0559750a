/**
 * Recording rules a Prometheus does not hold over the range, materialised by the real engine into a
 * scratch Prometheus that reads the source's raw data through remote_read (or runs over a copy of its
 * TSDB), one dependency level at a time: the scratch Prometheus evaluates each rule with range queries
 * at the rule's interval (2 hours at a time through remote_read, as `promtool tsdb create-blocks-from
 * rules` sends them), the results are written as OpenMetrics and backfilled with promtool, and the
 * scratch Prometheus restarts over the new blocks before the next level. Every level evaluates at the
 * same timestamps (multiples of the interval), so a second-level rule reads its inputs at its own
 * timestamps instead of lagging them by up to an interval (the trap that makes a ratio briefly read +Inf).
 *
 * Why not `promtool tsdb create-blocks-from rules` itself: Prometheus 2.42's importer writes one block
 * per rule per 2 hours and keeps every block writer alive until the rule is done: 3.2-5.0 GB resident
 * for one rule over 30 days, growing with the range, and 6.5 of the quality bench's 11.7 minutes.
 * test/backtest.materialise.test.ts proves both give the same samples.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { dump, load } from "js-yaml";
import { startPrometheus, type LocalPrometheus } from "./prometheus";
import { importOpenMetrics } from "./promtool";
import { MAX_POINTS, queryRangeChunks } from "./query";
import { levels, type Recording } from "./rules";

/** Range queries at once: the scratch Prometheus evaluates each on its own core. */
const QUERIES = 2;

export interface Scratch {
  /** The scratch Prometheus: raw series from the source, the materialised rules from its own blocks. */
  readonly url: string;
  /** Seconds past each multiple of a rule's interval at which the materialised rules were evaluated. */
  readonly offset: number;
  /** Whether it reads the source's raw data through remote_read (then queries go 2 hours at a time: pointsPerQuery). */
  readonly remoteRead: boolean;
  close(): Promise<void>;
}

/**
 * The scratch Prometheus shares the source's external labels: remote read then matches and strips
 * them, so series read through it carry the labels rules see on the source.
 */
async function config(source: string): Promise<string> {
  const res = await fetch(`${source.replace(/\/$/, "")}/api/v1/status/config`).catch(() => undefined);
  const yaml = res?.ok ? ((await res.json()) as { data?: { yaml?: string } }).data?.yaml : undefined;
  const external = ((yaml ? load(yaml) : undefined) as { global?: { external_labels?: Record<string, string> } } | undefined)?.global?.external_labels;
  return dump({
    global: { evaluation_interval: "1m", ...(external && Object.keys(external).length ? { external_labels: external } : {}) },
    remote_read: [{ url: `${source.replace(/\/$/, "")}/api/v1/read`, read_recent: true }],
  });
}

const escape = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const number = (v: number) => (Number.isNaN(v) ? "NaN" : v === Infinity ? "+Inf" : v === -Infinity ? "-Inf" : String(v));

/**
 * Through remote_read, a range query of promtool's block length (2 hours of steps): the source refuses
 * a read of more than `--storage.remote.read-sample-limit` samples (5e7 by default, ~200,000 series
 * over 2 hours at 30 s). Over a copy of the TSDB, as many points as one query may have.
 */
const REMOTE_READ_SECONDS = 2 * 3600;

/** Points per range query against a scratch Prometheus, for a rule evaluated every `interval` seconds. */
export const pointsPerQuery = (interval: number, remoteRead: boolean): number => (remoteRead ? Math.max(1, Math.floor(REMOTE_READ_SECONDS / interval)) : MAX_POINTS);

/**
 * `r` evaluated at every multiple of its interval (plus `offset`) from `from` to `end`, appended to
 * `file` as OpenMetrics sample lines chunk by chunk (a series' samples in time order): the result's
 * labels, then the rule's labels, then its name, as Prometheus records them. Returns the sample count.
 */
async function evaluate(url: string, r: Recording, from: number, end: number, offset: number, maxPoints: number, file: string): Promise<number> {
  const first = Math.ceil((from - offset) / r.interval) * r.interval + offset;
  const steps: number[] = [];
  for (let t = first; t <= end; t += r.interval) steps.push(t);
  const fd = fs.openSync(file, "w");
  let samples = 0;
  try {
    await queryRangeChunks(url, r.expr, steps, r.interval, maxPoints, (series) => {
      const lines: string[] = [];
      for (const s of series) {
        const { __name__: _, ...labels } = { ...s.labels, ...r.labels };
        const head = `${r.record}{${Object.keys(labels).sort().map((k) => `${k}="${escape(labels[k]!)}"`).join(",")}}`;
        for (const [t, v] of s.values) lines.push(`${head} ${number(v)} ${t}`);
      }
      if (lines.length) fs.writeSync(fd, `${lines.join("\n")}\n`);
      samples += lines.length;
    });
  } catch (e) {
    throw new Error(`evaluating recording rule ${r.record} (group ${r.group}): ${(e as Error).message}`);
  } finally {
    fs.closeSync(fd);
  }
  return samples;
}

/** Appends the file `from` to the open file `fd`, a buffer at a time (a rule's samples can outgrow a string). */
function append(fd: number, from: string): void {
  const buffer = Buffer.alloc(4 * 1024 * 1024);
  const src = fs.openSync(from, "r");
  try {
    for (let n; (n = fs.readSync(src, buffer, 0, buffer.length, null)) > 0; ) fs.writeSync(fd, buffer, 0, n);
  } finally {
    fs.closeSync(src);
  }
}

/** Evaluates `pass` (rules of one level, each into its own file) and writes them as one OpenMetrics file, each family contiguous. */
async function writeLevel(file: string, url: string, pass: readonly Recording[], from: (r: Recording) => number, end: number, offset: number, maxPoints: (r: Recording) => number): Promise<number> {
  const part = (i: number) => `${file}.${i}`;
  let samples = 0;
  let next = 0;
  const worker = async () => {
    while (next < pass.length) {
      const i = next++;
      const n = await evaluate(url, pass[i]!, from(pass[i]!), end, offset, maxPoints(pass[i]!), part(i));
      samples += n; // not `samples += await …`: that reads `samples` before the other worker adds to it
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(QUERIES, pass.length) }, worker));
    const fd = fs.openSync(file, "w");
    try {
      for (const name of [...new Set(pass.map((r) => r.record))].sort()) {
        fs.writeSync(fd, `# TYPE ${name} gauge\n`);
        pass.forEach((r, i) => r.record === name && append(fd, part(i)));
      }
      fs.writeSync(fd, "# EOF\n");
    } finally {
      fs.closeSync(fd);
    }
  } finally {
    pass.forEach((_r, i) => fs.rmSync(part(i), { force: true }));
  }
  return samples;
}

export interface MaterialiseOptions {
  readonly progress?: (line: string) => void;
  /**
   * The source's TSDB directory when it is at hand: the scratch Prometheus then runs over a copy of
   * it instead of reading the source through remote_read (much faster over weeks).
   */
  readonly data?: string;
  /** Seconds before `start` from which each rule must exist (rules.ts `lookbacks`); 0 when absent. */
  readonly lookback?: ReadonlyMap<Recording, number>;
  /** Seconds past each multiple of a rule's interval at which it is evaluated; 0 by default. */
  readonly offset?: number;
}

export async function materialise(source: string, records: readonly Recording[], start: number, end: number, o: MaterialiseOptions = {}): Promise<Scratch> {
  const progress = o.progress ?? (() => {});
  const offset = o.offset ?? 0;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "authwatch-backtest-"));
  const tsdb = path.join(dir, "tsdb");
  let prom: LocalPrometheus | undefined;
  const close = async () => {
    await prom?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    if (o.data) {
      progress(`copying ${o.data}`);
      fs.cpSync(o.data, tsdb, { recursive: true, filter: (p) => !/(^|\/)(lock|queries\.active)$/.test(p) });
    }
    const scratchConfig = o.data ? "global:\n  evaluation_interval: 1m\n" : await config(source);
    prom = await startPrometheus(tsdb, scratchConfig);
    const level = levels(records);
    const max = Math.max(0, ...level.values());
    // From as far back as the rules and alerts reading each rule look, so that their windows are full at `start`.
    const from = (r: Recording) => start - (o.lookback?.get(r) ?? 0);
    for (let l = 1; l <= max; l++) {
      const pass = records.filter((r) => level.get(r) === l);
      const earliest = Math.min(...pass.map(from));
      progress(`materialising ${pass.length} recording rule(s) of level ${l}/${max}${earliest < start ? `, from up to ${Math.round((start - earliest) / 60)} minutes before the start` : ""}`);
      const file = path.join(dir, `level-${l}.om`);
      const samples = await writeLevel(file, prom.url, pass, from, end, offset, (r) => pointsPerQuery(r.interval, !o.data));
      await prom.stop();
      if (samples) {
        // One block per 486 hours at most (promtool's largest range under the flag): promtool reads the file once per block.
        await importOpenMetrics(file, tsdb, "1000h").catch((e: Error) => {
          throw new Error(`level ${l} (${pass.map((r) => r.record).join(", ")}): ${e.message}`);
        });
      }
      fs.rmSync(file);
      progress(`  level ${l}: ${samples} samples`);
      prom = await startPrometheus(tsdb, scratchConfig);
    }
    return { url: prom.url, offset, remoteRead: !o.data, close };
  } catch (e) {
    await close();
    throw e;
  }
}
