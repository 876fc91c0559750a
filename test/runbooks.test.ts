import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { listStacks, loadStackSettings } from "../src/settings";
import { renderRunbook, renderSettingText, runbookSlugs, runbookSettingKeys, runbookUpdates, RUNBOOKS_DIR } from "../src/render/runbooks";

const SECTIONS = ["Meaning", "Impact", "Diagnosis", "Mitigation", "Escalation"];
const stacks = () => listStacks().map((s) => loadStackSettings(s));
const read = (slug: string) => readFileSync(path.join(RUNBOOKS_DIR, `${slug}.md`), "utf8");

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
    const all = stacks();
    const text = read("auth-high-error-rate");
    expect(runbookSettingKeys(text)).toContain("thresholds.errorRate.criticalRatio");
    expect(renderRunbook(text, "x", all)).toContain("<!--setting:thresholds.errorRate.criticalRatio-->5% (dev: 20%)<!--/setting-->");
    const changed = all.map((s) => (s.stack === "prod" ? { ...s, thresholds: { ...s.thresholds, errorRate: { ...s.thresholds.errorRate, criticalRatio: 0.07 } } } : s));
    expect(renderRunbook(text, "x", changed)).toContain("<!--setting:thresholds.errorRate.criticalRatio-->7% (dev: 20%, staging: 5%)<!--/setting-->");
  });

  it("formats settings as people read them", () => {
    const all = stacks();
    expect(renderSettingText("thresholds.latency.warningSeconds", all)).toBe("500ms (dev: 1s)");
    expect(renderSettingText("slos.availability.objective", all)).toBe("99.9%");
    expect(renderSettingText("thresholds.registrationSpike.factor", all)).toBe("5×");
    expect(renderSettingText("thresholds.backup.maxAge", all)).toBe("26h (dev: 50h)");
    expect(() => renderRunbook("<!--setting:thresholds.nope-->x<!--/setting-->", "runbooks/x.md", all)).toThrow(
      'runbooks/x.md: marker <!--setting:thresholds.nope-->: unknown setting "thresholds.nope"',
    );
  });
});
