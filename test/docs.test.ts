/**
 * The project's own contract documents (docs/) list names that code defines:
 * metrics, alert tiers, receivers. These tests keep the two in step, for every
 * stack in stacks/, whatever its thresholds.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { load } from "js-yaml";
import { describe, expect, it } from "vitest";
import { listStacks, loadStackSettings } from "../src/settings";
import { markerUpdates, SETTING_DOCS } from "../src/render/runbooks";
import { renderStack } from "../src/synth";
import { METRICS } from "../src/telemetry";

const DOCS = path.resolve(__dirname, "..", "docs");
const doc = (name: string) => readFileSync(path.join(DOCS, name), "utf8");

/** Rows of every markdown table under a `## heading`, as arrays of trimmed cells (header and rule rows dropped). */
function tableRows(text: string, heading: string): string[][] {
  const section = text.split(new RegExp(`^## ${heading}$`, "m"))[1]?.split(/^## /m)[0];
  if (section === undefined) throw new Error(`no section "## ${heading}"`);
  const lines = section.split("\n").filter((l) => l.startsWith("|"));
  return lines
    .map((l) => l.slice(1, l.trimEnd().length - 1).split("|").map((c) => c.trim()))
    .filter((cells, i, all) => !/^-+$/.test(cells[0] ?? "") && !(all[i + 1] && /^-+$/.test(all[i + 1]![0] ?? "")));
}

const code = (cell: string) => cell.replace(/`/g, "");

interface RuleFile {
  groups: { name: string; rules: { alert?: string; labels?: Record<string, string> }[] }[];
}

/** "AlertName severity" → the rule group that renders it, "(Loki)" marking a Loki ruler group. */
function renderedTiers(stack: string): Map<string, string> {
  const { files } = renderStack(loadStackSettings(stack));
  const tiers = new Map<string, string>();
  for (const [file, text] of files) {
    const ruler = /^(prometheus|loki)\/rules\/.+\.yaml$/.exec(file)?.[1];
    if (!ruler) continue;
    for (const g of (load(text) as RuleFile).groups)
      for (const r of g.rules) if (r.alert) tiers.set(`${r.alert} ${r.labels?.severity ?? "?"}`, ruler === "loki" ? `${g.name} (Loki)` : g.name);
  }
  return tiers;
}

describe("docs/telemetry.md", () => {
  it("lists exactly the metrics of src/telemetry.ts", () => {
    const text = doc("telemetry.md");
    const listed = [
      ...tableRows(text, "Metrics of the auth service"),
      ...tableRows(text, "Metrics of the exporters and the stack"),
    ].map((r) => code(r[0]!));
    expect([...listed].sort()).toEqual(Object.keys(METRICS).sort());
  });

  it("gives each metric the type the code declares", () => {
    const text = doc("telemetry.md");
    const rows = [...tableRows(text, "Metrics of the auth service"), ...tableRows(text, "Metrics of the exporters and the stack")];
    for (const [name, type] of rows) expect(type, name).toBe(METRICS[code(name!) as keyof typeof METRICS].type);
  });
});

describe("docs/alerts.md", () => {
  const rows = tableRows(doc("alerts.md"), "Catalog");
  const documented = new Map(rows.map((r) => [`${r[0]} ${r[1]}`, r[4]!]));

  it.each(listStacks())("has a catalog row for every alert tier stack %s renders, and no other, with its rule group", (stack) => {
    const rendered = renderedTiers(stack);
    expect([...documented.keys()].sort()).toEqual([...rendered.keys()].sort());
    for (const [tier, group] of rendered) expect(documented.get(tier), tier).toBe(group);
  });

  it("quotes every stack's current settings (npm run synth refreshes it)", () => {
    const stacks = listStacks().map((s) => loadStackSettings(s));
    expect(markerUpdates(stacks, SETTING_DOCS).map((u) => path.relative(DOCS, u.file))).toEqual([]);
  });

  it.each(listStacks())("names every receiver stack %s renders", (stack) => {
    const text = doc("alerts.md").split(/^## Routing$/m)[1]!;
    for (const receiver of renderStack(loadStackSettings(stack)).summary.receivers) expect(text).toContain(`\`${receiver}\``);
  });
});
