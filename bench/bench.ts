/**
 * npm run bench [-- --only synth|database|local|diff|quality]
 * Prints the numbers behind the speed targets; never asserts on them.
 *   synth: time to render every stack (goal: all stacks in under a second), rules rendered.
 *   database: recovery time (backup + restore-verify, bare pg_dump/pg_restore against the jobs) on 1 M and
 *     10 M refresh tokens, written into docs/database.md; cleanup on 1 M (bench/database.ts).
 *   local: every drill on a fresh local stack, time to page / floor (bench/local.ts).
 *   diff: npm run diff -- --all between two commits, median of 5 (bench/diff.ts).
 *   quality: the prod rules backtested over a labelled month: recall, false pages (bench/quality.ts).
 *   rules: the prod rules and dashboards over a backfilled fleet of ~1 M series (bench/rules.ts;
 *     --pods N and --series N for a smaller run).
 */
import { parseArgs } from "node:util";
import { listStacks, loadStackSettings } from "../src/settings";
import { renderStack } from "../src/synth";
import { main as databaseBench } from "./database";
import { main as diffBench } from "./diff";
import { main as localBench } from "./local";
import { main as qualityBench } from "./quality";
import { main as rulesBench } from "./rules";

function benchSynth(): void {
  const stacks = listStacks();
  // Warm up module loading and the parsers once, then time whole renders.
  for (const stack of stacks) renderStack(loadStackSettings(stack));
  const rounds = 20;
  const perStack = new Map<string, number[]>();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) {
    for (const stack of stacks) {
      const s0 = process.hrtime.bigint();
      renderStack(loadStackSettings(stack));
      const ms = Number(process.hrtime.bigint() - s0) / 1e6;
      perStack.set(stack, [...(perStack.get(stack) ?? []), ms]);
    }
  }
  const allMs = Number(process.hrtime.bigint() - t0) / 1e6 / rounds;
  console.log(`synth bench: ${rounds} rounds, settings parsed and validated, catalog validated, every file rendered`);
  for (const stack of stacks) {
    const times = [...perStack.get(stack)!].sort((a, b) => a - b);
    const { summary, files } = renderStack(loadStackSettings(stack));
    console.log(
      `  ${stack.padEnd(8)} median ${times[Math.floor(times.length / 2)]!.toFixed(1)} ms  max ${times.at(-1)!.toFixed(1)} ms  ` +
        `${summary.alerts.rules} alerting rules (${summary.alerts.names.length} alerts), ${summary.recordingRules} recording rules, ${files.size} files`,
    );
  }
  console.log(`  all ${stacks.length} stacks: ${allMs.toFixed(1)} ms per round (goal < 1000 ms)`);
}

async function run(): Promise<void> {
  const { values } = parseArgs({ options: { only: { type: "string" }, pods: { type: "string" }, series: { type: "string" } } });
  if (!values.only || values.only === "synth") benchSynth();
  if (!values.only || values.only === "database") await databaseBench();
  if (!values.only || values.only === "local") await localBench();
  if (!values.only || values.only === "diff") await diffBench();
  if (!values.only || values.only === "quality") await qualityBench();
  if (!values.only || values.only === "rules")
    await rulesBench({ ...(values.pods ? { pods: Number(values.pods) } : {}), ...(values.series ? { series: Number(values.series) } : {}) });
}

run().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
