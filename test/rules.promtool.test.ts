/**
 * Every alert is proven with the real promtool: it fires on inputs above its
 * threshold and stays silent below, for every stack's thresholds.
 */
import { readdirSync } from "node:fs";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { prometheusRuleGroups } from "../alerts/index";
import { allProofs } from "./proofs/index";
import { promtoolTest, tool, writePromtoolTests, type ToolResult } from "./support/promtool";
import { renderToTemp, withOverrides, type RenderedStack } from "./support/render";
import { testedStacks } from "./support/stacks";

describe.each(testedStacks())("stack %s", (stack) => {
  let r: RenderedStack;
  let results: Map<string, ToolResult>;
  let files: string[];

  beforeAll(async () => {
    r = renderToTemp(stack);
    files = writePromtoolTests(r.settings, r.rules.prometheus, allProofs(r.settings), r.dir);
    results = await promtoolTest(files);
    // Every proof file of the stack runs here: the spike and SLO cases replay days of history, minutes on a busy 2-core runner.
  }, 900_000);

  it("promtool check rules accepts every rendered rule file", async () => {
    const dir = path.join(r.dir, "prometheus", "rules");
    const ruleFiles = readdirSync(dir).map((f) => path.join(dir, f));
    expect(ruleFiles.length).toBeGreaterThanOrEqual(8);
    const res = await tool("promtool", ["check", "rules", ...ruleFiles]);
    expect(res.output).not.toMatch(/FAILED/);
    expect(res.ok, res.output).toBe(true);
  });

  it("promtool check config accepts the plain Prometheus configuration", async () => {
    const res = await tool("promtool", ["check", "config", path.join(r.dir, "prometheus", "prometheus.yaml")]);
    expect(res.ok, res.output).toBe(true);
  });

  it("every Prometheus alert has a firing and a silent case (Watchdog: firing only, by design)", () => {
    const proofs = allProofs(r.settings);
    const alertNames = [...new Set(prometheusRuleGroups(r.settings).flatMap((g) => g.rules.flatMap((x) => (x.kind === "alert" ? [x.alert] : []))))];
    for (const name of alertNames) {
      const cases = proofs.filter((p) => p.alert === name).flatMap((p) => p.cases);
      expect(cases.some((c) => c.firing.length > 0), `${name}: no firing case`).toBe(true);
      if (name !== "Watchdog") expect(cases.some((c) => c.firing.length === 0), `${name}: no silent case`).toBe(true);
    }
    expect([...new Set(proofs.map((p) => p.alert))].sort()).toEqual([...alertNames].sort());
  });

  it("every severity tier of every alert fires in some case", () => {
    const proofs = allProofs(r.settings);
    for (const group of prometheusRuleGroups(r.settings)) {
      for (const rule of group.rules) {
        if (rule.kind !== "alert") continue;
        const fired = proofs
          .filter((p) => p.alert === rule.alert)
          .some((p) => p.cases.some((c) => c.firing.some((e) => e.severity === rule.severity && Object.entries(e.ruleLabels ?? {}).every(([k, v]) => rule.labels?.[k] === v))));
        expect(fired, `${rule.alert} ${rule.severity} ${JSON.stringify(rule.labels ?? {})}`).toBe(true);
      }
    }
  });

  it("promtool test rules passes every proof", () => {
    const failed = [...results].filter(([, res]) => !res.ok);
    expect(failed.map(([file, res]) => `${path.basename(file)}:\n${res.output}`).join("\n")).toBe("");
    expect(results.size).toBe(files.length);
  });
});

describe("the proofs can fail", () => {
  it("a rendered threshold that drifts from the settings the proof was computed with fails promtool", async () => {
    const prod = renderToTemp("prod");
    // Render rules with a looser critical error threshold, but prove them with prod's numbers.
    const drifted = withOverrides(prod.settings, (d) => {
      d.thresholds.errorRate.criticalRatio = 0.9;
    });
    const driftedRender = renderToTemp(drifted);
    const proof = allProofs(prod.settings).filter((p) => p.alert === "AuthHighErrorRate");
    const [file] = writePromtoolTests(prod.settings, prod.rules.prometheus, proof, driftedRender.dir);
    const res = await tool("promtool", ["test", "rules", file!]);
    expect(res.ok).toBe(false);
    expect(res.output).toMatch(/AuthHighErrorRate: 5xx share above critical fires both tiers/);
  });

  it("a coarser evaluation step is refused for an alert with for, and for a case off the step", () => {
    const prod = renderToTemp("prod");
    const proofs = allProofs(prod.settings);
    const delayed = proofs.find((p) => p.alert === "AuthHighRegistrationFailureRate")!;
    expect(() => writePromtoolTests(prod.settings, prod.rules.prometheus, [{ ...delayed, evaluationInterval: "5m" }], prod.dir)).toThrow(/evaluationInterval 5m on an alert with for/);
    const instant = proofs.find((p) => p.alert === "AuthInvalidTokenSpike")!;
    expect(() => writePromtoolTests(prod.settings, prod.rules.prometheus, [{ ...instant, evaluationInterval: "7m" }], prod.dir)).toThrow(/not on a 7m evaluation step/);
  });
});
