// Local stack benchmark: bring a fresh local stack up in a scratch directory,
// run every drill (`drill all`), and print each one's time to page against its
// floor (scrape interval + evaluation interval + `for` + group_wait).
//
//   npx tsx bench/local.ts        (or npm run bench -- --only local)
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, drillTable, runDrill, type DrillResult } from "../src/local/drills";
import { SCENARIOS } from "../src/local/scenarios";
import { up } from "../src/local/stack";

export interface LocalBenchResult {
  readonly startSeconds: number;
  readonly drills: DrillResult[];
}

export async function main(): Promise<LocalBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), "authwatch-bench-local-"));
  const t0 = Date.now();
  // Only the drills' own lines: the supervisor's screen and notifications stay quiet.
  const stack = await up({ dir, randomPorts: true, print: () => undefined });
  const startSeconds = (Date.now() - t0) / 1000;
  console.log(`local bench: a fresh local stack up in ${startSeconds.toFixed(1)}s (scrape ${stack.settings.scrapeInterval}, evaluate ${stack.settings.evaluationInterval}); drill all:`);
  const drills: DrillResult[] = [];
  try {
    const ctx = connect(dir, (line) => console.log(`  ${line}`));
    for (const sc of SCENARIOS) drills.push(await runDrill(ctx, sc));
  } finally {
    await stack.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log("");
  console.log(drillTable(drills).replace(/^/gm, "  "));
  const ratios = drills.flatMap((d) => (d.ratio === undefined ? [] : [d.ratio])).sort((a, b) => a - b);
  if (ratios.length > 0) {
    console.log(
      `  time to page / floor: min ${ratios[0]!.toFixed(2)}, median ${ratios[Math.floor(ratios.length / 2)]!.toFixed(2)}, max ${ratios.at(-1)!.toFixed(2)}` +
        ` (${drills.filter((d) => d.ok).length}/${drills.length} paged within budget = 2 × floor + 30s)`,
    );
  }
  return { startSeconds, drills };
}

if (require.main === module) {
  main().then(
    (r) => process.exit(r.drills.every((d) => d.ok) ? 0 : 1),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
