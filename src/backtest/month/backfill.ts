/** The labelled month written as OpenMetrics, one file a day, and backfilled by `promtool tsdb create-blocks-from openmetrics`. */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { generateMonth, type Month, type MonthOptions } from "./generate";

const run = promisify(execFile);

/** Only the samples at or after `from` and before `to` of an OpenMetrics document (one sample a line, its timestamp last). */
function between(text: string, from: number, to: number): string {
  return text
    .split("\n")
    .filter((line) => {
      if (line === "" || line.startsWith("#")) return true;
      const t = Number(line.slice(line.lastIndexOf(" ") + 1));
      return t >= from && t < to;
    })
    .join("\n");
}

/**
 * Generates the month into `tsdb` (created), two promtool processes at a time; and, when `replicaDays`
 * is given, the second Prometheus replica's own TSDB (`replicaTsdb`): empty until `replicaStarts`, then
 * the same series for `replicaDays` days (long enough for every rule window to fill again).
 */
export async function backfillMonth(
  o: MonthOptions,
  dir: string,
  progress: (line: string) => void = () => {},
  replicaDays = 0,
): Promise<Month & { tsdb: string; replicaTsdb?: string; replicaUntil?: number }> {
  const tsdb = path.join(dir, "tsdb");
  const replicaTsdb = path.join(dir, "tsdb-replica");
  const om = path.join(dir, "openmetrics");
  fs.mkdirSync(om, { recursive: true });
  const files: { file: string; tsdb: string }[] = [];
  let replicaFrom = Infinity;
  let replicaUntil = Infinity;
  const month = generateMonth(o, (day, text, replicaStarts) => {
    const f = path.join(om, `day-${String(day).padStart(2, "0")}.om`);
    fs.writeFileSync(f, text);
    files.push({ file: f, tsdb });
    replicaFrom = replicaStarts;
    replicaUntil = Math.min(o.start + o.days * 86400, replicaStarts + replicaDays * 86400);
    const dayStart = o.start + day * 86400;
    if (replicaDays > 0 && dayStart + 86400 > replicaFrom && dayStart < replicaUntil) {
      const r = path.join(om, `replica-${String(day).padStart(2, "0")}.om`);
      fs.writeFileSync(r, between(text, replicaFrom, replicaUntil));
      files.push({ file: r, tsdb: replicaTsdb });
    }
  });
  progress(`generated ${files.length} days of OpenMetrics (${(files.reduce((s, f) => s + fs.statSync(f.file).size, 0) / 1e6).toFixed(0)} MB)`);
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const { file: f, tsdb: into } = files[next++]!;
      await run("promtool", ["tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=24h", f, into], { maxBuffer: 16 * 1024 * 1024 }).catch((e: Error & { stderr?: string }) => {
        throw new Error(`promtool tsdb create-blocks-from openmetrics ${f}: ${e.stderr || e.message}`);
      });
      fs.rmSync(f);
      progress(`backfilled ${path.basename(f)}`);
    }
  };
  await Promise.all([worker(), worker()]);
  fs.rmSync(om, { recursive: true, force: true });
  return { ...month, tsdb, ...(replicaDays > 0 ? { replicaTsdb, replicaUntil } : {}) };
}
