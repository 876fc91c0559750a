import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { listStacks, loadStackSettings, type Settings } from "../src/settings";
import { formatSetting, renderRunbook, renderSettingText, runbookSlugs, runbookSettingKeys, runbookUpdates, RUNBOOKS_DIR } from "../src/render/runbooks";
import { fixtureStack } from "./support/fixtures";
import { withOverrides } from "./support/render";

const SECTIONS = ["Meaning", "Impact", "Diagnosis", "Mitigation", "Escalation"];
const stacks = () => listStacks().map((s) => loadStackSettings(s));
const read = (slug: string) => readFileSync(path.join(RUNBOOKS_DIR, `${slug}.md`), "utf8");

/** Fixture stacks stating every value the expectations quote: the text depends on them, not on today's stack files or defaults. */
const PROD_VALUES = {
  errorRate: { warningRatio: 0.01, criticalRatio: 0.05 },
  latency: { warningSeconds: 0.5, criticalSeconds: 1 },
  registrationSpike: { factor: 5 },
  backup: { maxAge: "26h" },
};
const fixture = (stack: string, environment: "dev" | "staging" | "prod" | "local", thresholds: Record<string, unknown>) =>
  fixtureStack(stack, environment, { "authwatch:thresholds": thresholds, "authwatch:slos": { availability: { objective: 0.999 } } });
const FIXTURE = [
  fixture("dev", "dev", { ...PROD_VALUES, errorRate: { warningRatio: 0.05, criticalRatio: 0.2 }, latency: { warningSeconds: 1, criticalSeconds: 2 }, backup: { maxAge: "50h" } }),
  // The local stack is left out of runbooks, whatever its values.
  fixture("local", "local", { ...PROD_VALUES, errorRate: { warningRatio: 0.01, criticalRatio: 0.3 }, backup: { maxAge: "10m" } }),
  fixture("prod", "prod", PROD_VALUES),
  fixture("staging", "staging", PROD_VALUES),
];

describe("runbooks", () => {
  it.each(runbookSlugs())("%s has a title and Meaning, Impact, Diagnosis, Mitigation, Escalation in order", (slug) => {
    const text = read(slug);
    expect(text).toMatch(/^# \S/);
    const headings = [...text.matchAll(/^## (.+)$/gm)].map((m) => m[1]!.trim());
    expect(headings.filter((h) => SECTIONS.includes(h))).toEqual(SECTIONS);
  });

  it("Diagnosis gives exact queries or commands", () => {
    for (const slug of runbookSlugs()) {
      const diagnosis = read(slug).split(/^## Diagnosis$/m)[1]!.split(/^## /m)[0]!;
      expect(diagnosis, slug).toMatch(/```(promql|logql|bash|sql|sh)/);
    }
  });

  it("are up to date with every stack's settings (run npm run synth to refresh)", () => {
    expect(runbookUpdates(stacks(), RUNBOOKS_DIR).map((u) => path.basename(u.file))).toEqual([]);
  });

  it("are brought up to date as new text, without writing a file (synth writes)", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "authwatch-runbooks-"));
    try {
      const key = "thresholds.errorRate.criticalRatio";
      const stale = `fires above <!--setting:${key}-->1%<!--/setting-->\n`;
      writeFileSync(path.join(dir, "stale.md"), stale);
      writeFileSync(path.join(dir, "current.md"), "no markers\n");
      const updates = runbookUpdates(stacks(), dir);
      expect(updates).toEqual([{ file: path.join(dir, "stale.md"), text: `fires above <!--setting:${key}-->${renderSettingText(key, stacks())}<!--/setting-->\n` }]);
      expect(readFileSync(path.join(dir, "stale.md"), "utf8")).toBe(stale);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keep setting markers out of code blocks", () => {
    for (const slug of runbookSlugs()) {
      const blocks = read(slug).match(/```[\s\S]*?```/g) ?? [];
      for (const b of blocks) expect(b, slug).not.toContain("<!--setting:");
    }
  });

  it("state thresholds from the settings: a changed threshold changes the text", () => {
    const text = read("auth-high-error-rate");
    expect(runbookSettingKeys(text)).toContain("thresholds.errorRate.criticalRatio");
    expect(renderRunbook(text, "x", FIXTURE)).toContain("<!--setting:thresholds.errorRate.criticalRatio-->5% (dev: 20%)<!--/setting-->");
    const changed = FIXTURE.map((s) => (s.stack === "prod" ? withOverrides(s, (d) => void (d.thresholds.errorRate.criticalRatio = 0.07)) : s));
    expect(renderRunbook(text, "x", changed)).toContain("<!--setting:thresholds.errorRate.criticalRatio-->7% (dev: 20%, staging: 5%)<!--/setting-->");
  });

  it("state the prod stack's value and every other deployed stack whose value differs (the stacks present)", () => {
    const all = stacks();
    const deployed = all.filter((s) => s.environment !== "local");
    const primary = deployed.find((s) => s.environment === "prod");
    const rest = deployed.filter((s) => s !== primary);
    expect(primary, "a stack with environment prod").toBeDefined();
    for (const key of ["thresholds.errorRate.criticalRatio", "thresholds.loginFailure.warningRatio", "thresholds.latency.warningSeconds", "thresholds.backup.maxAge"]) {
      const [area, leaf] = key.split(".").slice(1) as [keyof Settings["thresholds"], string];
      const shown = (s: Settings) => formatSetting(key, (s.thresholds[area] as Record<string, unknown>)[leaf]);
      const differing = rest.filter((s) => shown(s) !== shown(primary!)).map((s) => `${s.stack}: ${shown(s)}`);
      expect(renderSettingText(key, all), key).toBe(differing.length === 0 ? shown(primary!) : `${shown(primary!)} (${differing.join(", ")})`);
    }
  });

  it("formats settings as people read them", () => {
    const all = FIXTURE;
    expect(renderSettingText("thresholds.latency.warningSeconds", all)).toBe("500ms (dev: 1s)");
    expect(renderSettingText("slos.availability.objective", all)).toBe("99.9%");
    expect(renderSettingText("thresholds.registrationSpike.factor", all)).toBe("5×");
    expect(renderSettingText("thresholds.backup.maxAge", all)).toBe("26h (dev: 50h)");
    expect(() => renderRunbook("<!--setting:thresholds.nope-->x<!--/setting-->", "runbooks/x.md", all)).toThrow(
      'runbooks/x.md: marker <!--setting:thresholds.nope-->: unknown setting "thresholds.nope"',
    );
  });
});
