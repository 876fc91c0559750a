/** The labelled month written as OpenMetrics, one file a day, and backfilled by `promtool tsdb create-blocks-from openmetrics`. */
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import { generateMonth, type Month, type MonthOptions } from "./generate";

const run = promisify(execFile);

/** Generates the month into `tsdb` (created), two promtool processes at a time. */
export async function backfillMonth(o: MonthOptions, dir: string, progress: (line: string) => void = () => {}): Promise<Month & { tsdb: string }> {
  const tsdb = path.join(dir, "tsdb");
  const om = path.join(dir, "openmetrics");
  fs.mkdirSync(om, { recursive: true });
  const files: string[] = [];
  const month = generateMonth(o, (day, text) => {
    const f = path.join(om, `day-${String(day).padStart(2, "0")}.om`);
    fs.writeFileSync(f, text);
    files.push(f);
  });
  progress(`generated ${files.length} days of OpenMetrics (${(files.reduce((s, f) => s + fs.statSync(f).size, 0) / 1e6).toFixed(0)} MB)`);
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const f = files[next++]!;
      await run("promtool", ["tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=24h", f, tsdb], { maxBuffer: 16 * 1024 * 1024 }).catch((e: Error & { stderr?: string }) => {
        throw new Error(`promtool tsdb create-blocks-from openmetrics ${f}: ${e.stderr || e.message}`);
      });
      fs.rmSync(f);
      progress(`backfilled ${path.basename(f)}`);
    }
  };
  await Promise.all([worker(), worker()]);
  fs.rmSync(om, { recursive: true, force: true });
  return { ...month, tsdb };
}
