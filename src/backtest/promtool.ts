/** promtool's OpenMetrics importer, as every backfill here runs it. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/**
 * Backfills the OpenMetrics file `file` into the TSDB directory `tsdb` (created when missing), in
 * blocks of at most `maxBlockDuration` (promtool reads the file once per block); the error names the
 * file and says what promtool said.
 */
export async function importOpenMetrics(file: string, tsdb: string, maxBlockDuration: string): Promise<void> {
  await run("promtool", ["tsdb", "create-blocks-from", "openmetrics", `--max-block-duration=${maxBlockDuration}`, file, tsdb], { maxBuffer: 64 * 1024 * 1024 }).catch((e: Error & { stderr?: string }) => {
    throw new Error(`promtool tsdb create-blocks-from openmetrics ${file}: ${e.stderr || e.message}`);
  });
}
