/**
 * npm run synth -- --stack <name> [--out <dir>]
 * Renders one stack's artifacts into out/<stack>/ (docs/artifacts.md).
 */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { listStacks, loadStackSettings, SettingsError } from "../settings";
import { markerUpdates, RunbookError, runbookUpdates, SETTING_DOCS } from "../render/runbooks";
import { OutDirError, renderStack, writeRendered } from "../synth";
import { CatalogError } from "../validate";

function usage(): string {
  return `usage: npm run synth -- --stack <${listStacks().join("|")}> [--out <dir>]`;
}

function main(argv: string[]): number {
  let args;
  try {
    args = parseArgs({ args: argv, options: { stack: { type: "string" }, out: { type: "string" }, help: { type: "boolean" } }, strict: true });
  } catch (e) {
    console.error(`synth: ${(e as Error).message}\n${usage()}`);
    return 2;
  }
  if (args.values.help) {
    console.log(usage());
    return 0;
  }
  const stack = args.values.stack;
  if (!stack) {
    console.error(`synth: --stack is required\n${usage()}`);
    return 2;
  }
  try {
    // Every stack is validated: runbooks quote all of their values.
    const all = listStacks().map((name) => loadStackSettings(name));
    const settings = all.find((s) => s.stack === stack) ?? loadStackSettings(stack);
    // Validate and render first: nothing is written, not even a runbook, on bad input.
    const { files, summary } = renderStack(settings);
    const updates = [...runbookUpdates(all), ...markerUpdates(all, SETTING_DOCS)];
    const out = path.resolve(args.values.out ?? path.join("out", stack));
    writeRendered(files, out);
    // Only once the render is in place: a failed write leaves the runbooks as they were too.
    for (const { file, text } of updates) {
      writeFileSync(file, text);
      console.log(`updated ${path.relative(process.cwd(), file)} (thresholds changed)`);
    }
    const a = summary.alerts;
    // summary.migrations lists files: each migration is an .up.sql and its .down.sql.
    const migrations = new Set(summary.migrations.map((f) => f.replace(/\.(up|down)\.sql$/, ""))).size;
    console.log(
      `synth ${stack}: ${a.names.length} alerts (${a.rules} rules: ${Object.entries(a.bySeverity).map(([k, v]) => `${v} ${k}`).join(", ")}), ` +
        `${summary.recordingRules} recording rules, ${summary.receivers.length} receivers, ${summary.runbooks.length} runbooks, ` +
        `${summary.dashboards.length} dashboards, ${migrations} migrations → ${path.relative(process.cwd(), out) || out} (${files.size} files)`,
    );
    return 0;
  } catch (e) {
    if (e instanceof SettingsError || e instanceof CatalogError || e instanceof OutDirError || e instanceof RunbookError) {
      console.error(`synth: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

process.exitCode = main(process.argv.slice(2));
