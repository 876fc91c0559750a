/** The labelled month written as OpenMetrics, one file a day, and backfilled by `promtool tsdb create-blocks-from openmetrics`. */
import * as fs from "node:fs";
import * as path from "node:path";
import { importOpenMetrics } from "../promtool";
import { generateMonth, replicaStartsOf, type Month, type MonthOptions } from "./generate";

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
  const pool = promtoolPool(2, progress);
  let bytes = 0;
  const replicaStarts = replicaStartsOf(o);
  const replicaUntil = Math.min(o.start + o.days * 86400, replicaStarts + replicaDays * 86400);
  const write = async (file: string, into: string, text: string) => {
    fs.writeFileSync(file, text);
    bytes += text.length;
    pool.add(file, into);
    // Let finished promtool processes hand over to the next file while generation goes on.
    await new Promise((resolve) => setImmediate(resolve));
  };
  let month: Month;
  try {
    month = await generateMonth(o, async (day, text) => {
      await write(path.join(om, `day-${String(day).padStart(2, "0")}.om`), tsdb, text());
      const dayStart = o.start + day * 86400;
      if (replicaDays > 0 && dayStart + 86400 > replicaStarts && dayStart < replicaUntil) {
        await write(path.join(om, `replica-${String(day).padStart(2, "0")}.om`), replicaTsdb, text(replicaStarts, replicaUntil));
      }
    });
  } catch (e) {
    // Nothing may run in `dir` once we return: the caller removes it.
    await pool.abandon();
    throw e;
  }
  progress(`generated ${(bytes / 1e6).toFixed(0)} MB of OpenMetrics`);
  await pool.done();
  fs.rmSync(om, { recursive: true, force: true });
  return { ...month, tsdb, ...(replicaDays > 0 ? { replicaTsdb, replicaUntil } : {}) };
}

/** Runs `promtool tsdb create-blocks-from openmetrics` on the files added, `size` at a time, as they come. */
function promtoolPool(size: number, progress: (line: string) => void) {
  const queue: { file: string; into: string }[] = [];
  let running = 0;
  let failed: Error | undefined;
  let idle: (() => void) | undefined;
  const one = async (file: string, into: string) => {
    try {
      await importOpenMetrics(file, into, "24h");
      fs.rmSync(file, { force: true });
      progress(`backfilled ${path.basename(file)}`);
    } catch (e) {
      failed ??= e as Error;
    } finally {
      running--;
      next();
    }
  };
  const next = () => {
    while (running < size && queue.length && !failed) {
      const { file, into } = queue.shift()!;
      running++;
      void one(file, into);
    }
    if (!running && (!queue.length || failed)) idle?.();
  };
  /** Until nothing runs and, unless one failed, nothing waits. */
  const settled = () => (running || (queue.length && !failed) ? new Promise<void>((resolve) => (idle = resolve)) : Promise.resolve());
  return {
    add(file: string, into: string) {
      if (failed) throw failed;
      queue.push({ file, into });
      next();
    },
    async done() {
      await settled();
      if (failed) throw failed;
    },
    /** Starts nothing more and waits for what runs. */
    async abandon() {
      queue.length = 0;
      await settled();
    },
  };
}
