/**
 * npm run synth -- --stack <name> [--out <dir>] | --all [--out <dir>]
 * Renders one stack's artifacts into out/<stack>/ (docs/artifacts.md).
 */
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "node:util";
import { listStacks, loadStackSettings, SettingsError } from "../settings";
import { markerUpdates, RunbookError, runbookUpdates, SETTING_DOCS } from "../render/runbooks";
import { OutDirError, renderStack, writeRendered, type Summary } from "../synth";
import { CatalogError } from "../validate";

function usage(): string {
  return `usage: npm run synth -- --stack <${listStacks().join("|")}> [--out <dir>]\n       npm run synth -- --all [--out <dir>]     every stack, each into <dir>/<stack> (default out/)`;
}

function main(argv: string[]): number {
  let args;
  try {
    args = parseArgs({ args: argv, options: { stack: { type: "string" }, all: { type: "boolean" }, out: { type: "string" }, help: { type: "boolean" } }, strict: true });
  } catch (e) {
    console.error(`synth: ${(e as Error).message}\n${usage()}`);
    return 2;
  }
  if (args.values.help) {
    console.log(usage());
    return 0;
  }
  const { stack, all: everyStack, out } = args.values;
  if (!stack === !everyStack) {
    console.error(`synth: one of --stack or --all is required\n${usage()}`);
    return 2;
  }
  try {
    // Every stack is validated: runbooks quote all of their values.
    const all = listStacks().map((name) => loadStackSettings(name));
    const chosen = everyStack ? all : [all.find((s) => s.stack === stack) ?? loadStackSettings(stack!)];
    // Validate and render first: nothing is written, not even a runbook, on bad input.
    const renders = chosen.map((settings) => ({
      stack: settings.stack,
      ...renderStack(settings),
      out: path.resolve(everyStack ? path.join(out ?? "out", settings.stack) : (out ?? path.join("out", settings.stack))),
    }));
    const updates = [...runbookUpdates(all), ...markerUpdates(all, SETTING_DOCS)];
    for (const r of renders) writeRendered(r.files, r.out);
    // Only once the render is in place: a failed write leaves the runbooks as they were too.
    for (const { file, text } of updates) {
      writeFileSync(file, text);
      console.log(`updated ${path.relative(process.cwd(), file)} (thresholds changed)`);
    }
    for (const r of renders) console.log(describe(r.stack, r.summary, r.out, r.files.size));
    return 0;
  } catch (e) {
    if (e instanceof SettingsError || e instanceof CatalogError || e instanceof OutDirError || e instanceof RunbookError) {
      console.error(`synth: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

function describe(stack: string, summary: Summary, out: string, files: number): string {
  const a = summary.alerts;
  // summary.migrations lists files: each migration is an .up.sql and its .down.sql.
  const migrations = new Set(summary.migrations.map((f) => f.replace(/\.(up|down)\.sql$/, ""))).size;
  return (
    `synth ${stack}: ${a.names.length} alerts (${a.rules} rules: ${Object.entries(a.bySeverity).map(([k, v]) => `${v} ${k}`).join(", ")}), ` +
    `${summary.recordingRules} recording rules, ${summary.receivers.length} receivers, ${summary.runbooks.length} runbooks, ` +
    `${summary.dashboards.length} dashboards, ${migrations} migrations → ${path.relative(process.cwd(), out) || out} (${files} files)`
  );
}

process.exitCode = main(process.argv.slice(2));
