/**
 * Recording rules a Prometheus does not hold over the range, materialised by the real engine
 * (`promtool tsdb create-blocks-from rules`) into a scratch Prometheus that reads the source's raw
 * data through remote_read (or runs over a copy of its TSDB). One pass per dependency level, each pass restarting the scratch
 * Prometheus over the blocks so far. Every pass names its group and file alike, so promtool picks
 * the same evaluation offset each time: a second-level rule reads its inputs at its own timestamps
 * instead of lagging them by up to an interval.
 */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { dump, load } from "js-yaml";
import { startPrometheus, type LocalPrometheus } from "./prometheus";
import { queryInstant } from "./query";
import { selector } from "./recorded";
import { levels, type Recording } from "./rules";

const run = promisify(execFile);
const WORKERS = 2;
const RULES = "rules.yaml";

export interface Scratch {
  /** The scratch Prometheus: raw series from the source, the materialised rules from its own blocks. */
  readonly url: string;
  /** Seconds past each multiple of an interval at which the materialised rules were evaluated, per interval. */
  readonly offsets: ReadonlyMap<number, number>;
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

function rulesFile(records: readonly Recording[]): string {
  const byInterval = new Map<number, Recording[]>();
  for (const r of records) byInterval.set(r.interval, [...(byInterval.get(r.interval) ?? []), r]);
  const groups = [...byInterval].sort(([a], [b]) => a - b).map(([interval, rs]) => ({
    name: `backtest-${interval}s`,
    interval: `${interval}s`,
    rules: rs.map((r) => ({ record: r.record, expr: r.expr, ...(Object.keys(r.labels).length ? { labels: r.labels } : {}) })),
  }));
  return dump({ groups }, { lineWidth: -1 });
}

/** Moves every block promtool wrote under `from` into the TSDB directory `to`. */
function moveBlocks(from: string, to: string): number {
  let n = 0;
  for (const e of fs.existsSync(from) ? fs.readdirSync(from) : []) {
    if (!/^[0-9A-Z]{26}$/.test(e)) continue;
    fs.renameSync(path.join(from, e), path.join(to, e));
    n++;
  }
  return n;
}

/**
 * `lookback`: seconds before `start` from which each rule must exist (rules.ts `lookbacks`).
 * `data`: the source's TSDB directory when it is at hand: the scratch Prometheus then runs over a
 * copy of it instead of reading the source through remote_read (much faster over weeks).
 */
export async function materialise(
  source: string,
  records: readonly Recording[],
  start: number,
  end: number,
  progress: (line: string) => void = () => {},
  data?: string,
  lookback: ReadonlyMap<Recording, number> = new Map(),
): Promise<Scratch> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "authwatch-backtest-"));
  const tsdb = path.join(dir, "tsdb");
  if (data) {
    progress(`copying ${data}`);
    fs.cpSync(data, tsdb, { recursive: true, filter: (p) => !/(^|\/)(lock|queries\.active)$/.test(p) });
  }
  let prom: LocalPrometheus | undefined;
  const close = async () => {
    await prom?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const scratchConfig = data ? "global:\n  evaluation_interval: 1m\n" : await config(source);
    prom = await startPrometheus(tsdb, scratchConfig);
    const level = levels(records);
    const max = Math.max(0, ...level.values());
    for (let l = 1; l <= max; l++) {
      const pass = records.filter((r) => level.get(r) === l);
      // From as far back as the rules and alerts reading this level look, so that their windows are full at `start`.
      const from = start - Math.max(0, ...pass.map((r) => lookback.get(r) ?? 0));
      progress(`materialising ${pass.length} recording rule(s) of level ${l}/${max} with promtool${from < start ? ` from ${Math.round((start - from) / 60)} minutes before the start` : ""}`);
      // Two promtool processes, each its share of the rules in a file of the same relative name: the
      // group's offset hashes the name as given, so both (and every level) evaluate at the same offset.
      const shares = Array.from({ length: Math.min(WORKERS, pass.length) }, (_, k) => pass.filter((_r, i) => i % WORKERS === k));
      await Promise.all(
        shares.map(async (share, k) => {
          const cwd = path.join(dir, `pass-${l}-${k}`);
          fs.mkdirSync(cwd);
          fs.writeFileSync(path.join(cwd, RULES), rulesFile(share));
          await run("promtool", ["tsdb", "create-blocks-from", "rules", `--start=${from}`, `--end=${end}`, `--url=${prom!.url}`, "--output-dir=blocks", RULES], {
            maxBuffer: 64 * 1024 * 1024,
            cwd,
          }).catch((e: Error & { stderr?: string }) => {
            throw new Error(`promtool tsdb create-blocks-from rules (level ${l}: ${share.map((r) => r.record).join(", ")}): ${e.stderr || e.message}`);
          });
        }),
      );
      await prom.stop();
      for (let k = 0; k < shares.length; k++) moveBlocks(path.join(dir, `pass-${l}-${k}`, "blocks"), tsdb);
      prom = await startPrometheus(tsdb, scratchConfig);
    }
    const offsets = new Map<number, number>();
    for (const r of records) {
      if (offsets.has(r.interval)) continue;
      const [s] = await queryInstant(prom.url, `timestamp(${selector(r)})`, end);
      if (s) offsets.set(r.interval, Math.round((((s.value % r.interval) + r.interval) % r.interval) * 1000) / 1000);
    }
    const url = prom.url;
    return { url, offsets, close };
  } catch (e) {
    await close();
    throw e;
  }
}
