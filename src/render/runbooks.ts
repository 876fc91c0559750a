/**
 * Runbooks state thresholds by rendering them from the stack settings:
 * `<!--setting:thresholds.errorRate.criticalRatio-->5%<!--/setting-->` gets
 * prod's value, and the other stacks' values in brackets where they differ.
 */
import { readFileSync, readdirSync } from "node:fs";
import * as path from "node:path";
import type { Settings } from "../settings";
import { humanizeDuration, humanizePercentage } from "../gotemplate";

export const RUNBOOKS_DIR = path.resolve(__dirname, "..", "..", "runbooks");
export class RunbookError extends Error {}

const MARKER = /<!--setting:([A-Za-z0-9_.]+)-->(.*?)<!--\/setting-->/g;

/** Runbook slugs present in a directory (README.md is the guide, not a runbook). */
export function runbookSlugs(dir = RUNBOOKS_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".md") && f !== "README.md")
    .map((f) => f.slice(0, -3))
    .sort();
}

function lookup(s: Settings, key: string): unknown {
  return key.split(".").reduce<unknown>((node, part) => (node !== null && typeof node === "object" ? (node as Record<string, unknown>)[part] : undefined), s);
}

/** A setting as a person reads it: ratios as percentages, seconds as durations, factors as multiples. */
export function formatSetting(key: string, value: unknown): string {
  const leaf = key.split(".").pop() ?? key;
  if (typeof value === "string") return value;
  if (typeof value !== "number") throw new Error(`${key} is not a number or duration`);
  if (/Ratio$|^objective$/.test(leaf)) return humanizePercentage(value);
  if (/Seconds$/.test(leaf)) return humanizeDuration(value);
  if (leaf === "factor") return `${value}×`;
  return String(value);
}

/**
 * The primary stack (prod) first; the rest in name order. The local stack is
 * left out: runbooks are read for deployed environments, and its drill clocks
 * (15s instead of 1m) would only clutter them.
 */
function ordered(stacks: readonly Settings[]): Settings[] {
  const rank = (s: Settings) => (s.environment === "prod" ? 0 : 1);
  return stacks.filter((s) => s.environment !== "local").sort((a, b) => rank(a) - rank(b) || (a.stack < b.stack ? -1 : 1));
}

export function renderSettingText(key: string, stacks: readonly Settings[]): string {
  const [primary, ...others] = ordered(stacks);
  if (!primary) throw new Error("no stacks to render runbook values from");
  const value = (s: Settings) => {
    const v = lookup(s, key);
    if (v === undefined) throw new Error(`unknown setting "${key}"`);
    return formatSetting(key, v);
  };
  const main = value(primary);
  const differing = others.filter((s) => value(s) !== main).map((s) => `${s.stack}: ${value(s)}`);
  return differing.length === 0 ? main : `${main} (${differing.join(", ")})`;
}

/** Render every marker of one runbook; errors name the file and the key. */
export function renderRunbook(text: string, file: string, stacks: readonly Settings[]): string {
  // A marker that does not close on its line would freeze whatever number was typed in it.
  const opened = text.split("<!--setting:").length - 1;
  const complete = [...text.matchAll(MARKER)].length;
  if (opened !== complete) throw new RunbookError(`${file}: ${opened - complete} malformed setting marker(s): write <!--setting:KEY-->value<!--/setting--> on one line`);
  return text.replace(MARKER, (_all, key: string) => {
    try {
      return `<!--setting:${key}-->${renderSettingText(key, stacks)}<!--/setting-->`;
    } catch (e) {
      throw new RunbookError(`${file}: marker <!--setting:${key}-->: ${(e as Error).message}`);
    }
  });
}

/** Setting keys a runbook refers to. */
export function runbookSettingKeys(text: string): string[] {
  return [...text.matchAll(MARKER)].map((m) => m[1] as string);
}

/** Documents outside runbooks/ that quote settings the same way (docs/alerts.md's catalog). */
export const SETTING_DOCS = [path.resolve(__dirname, "..", "..", "docs", "alerts.md")];

/**
 * The files whose rendered values are out of date, with their new text.
 * Reads, never writes: the synth CLI writes them after everything rendered,
 * so one bad marker leaves every file as it was.
 */
export function markerUpdates(stacks: readonly Settings[], files: readonly string[]): { file: string; text: string }[] {
  return files
    .map((file) => ({ file, before: readFileSync(file, "utf8") }))
    .map(({ file, before }) => ({ file, before, text: renderRunbook(before, path.relative(process.cwd(), file), stacks) }))
    .filter(({ before, text }) => before !== text)
    .map(({ file, text }) => ({ file, text }));
}

/** markerUpdates of every runbook in a directory. */
export function runbookUpdates(stacks: readonly Settings[], dir = RUNBOOKS_DIR): { file: string; text: string }[] {
  return markerUpdates(stacks, runbookSlugs(dir).map((slug) => path.join(dir, `${slug}.md`)));
}
