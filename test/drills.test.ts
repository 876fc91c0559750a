/**
 * What a drill expects, from the local stack's settings: the receivers, and
 * the floor it compares the time to page with (the pipeline's worst case,
 * plus the signal's own ramp where the alert reads a ratio over a window).
 */
import { describe, expect, it } from "vitest";
import { mustParseDuration } from "../src/duration";
import { drillTable, expectation, type DrillResult } from "../src/local/drills";
import { ROLLBACK_TARGET_MS } from "../src/local/rollback-drill";
import { scenario, SCENARIO_NAMES } from "../src/local/scenarios";
import { loadStackSettings } from "../src/settings";
import { withOverrides } from "./support/render";

const local = () => loadStackSettings("local");

describe("drill floors", () => {
  it("error-burst: the floor includes the 5m ratio's ramp, window × threshold ÷ the fault's share", () => {
    const s = local();
    const e = expectation(s, scenario("error-burst"));
    const ramp = Math.ceil((300 * s.thresholds.errorRate.criticalRatio) / 0.8);
    const pipeline = mustParseDuration(s.scrapeInterval) + mustParseDuration(s.evaluationInterval) + mustParseDuration(s.thresholds.errorRate.criticalFor);
    expect(e.floorText).toContain(`ramp ${ramp}s`);
    expect(e.floorMs).toBeGreaterThan((pipeline + ramp) * 1000 - 1);
  });

  it("the ramp follows the threshold: a higher critical ratio takes longer to reach", () => {
    const s = local();
    const higher = withOverrides(s, (d) => void (d.thresholds.errorRate.criticalRatio = s.thresholds.errorRate.criticalRatio * 2));
    expect(expectation(higher, scenario("error-burst")).floorMs).toBeGreaterThan(expectation(s, scenario("error-burst")).floorMs);
  });

  it("a drill whose signal is not a ratio has no ramp", () => {
    expect(expectation(local(), scenario("service-down")).floorText).not.toContain("ramp");
  });
});

describe("the rollback drill", () => {
  it("pages as a bad release would: AuthHighLoginFailureRate critical at pagerduty-critical, and runs in drill all before the drills that silence others", () => {
    const e = expectation(local(), scenario("rollback"));
    expect(e.labels.alertname).toBe("AuthHighLoginFailureRate");
    expect(e.labels.severity).toBe("critical");
    expect(e.receivers).toEqual(["pagerduty-critical"]);
    expect(SCENARIO_NAMES.indexOf("rollback")).toBeLessThan(SCENARIO_NAMES.indexOf("database-down"));
  });

  it("the table shows the rollback under its page, against the 5-minute target, as a ratio", () => {
    const page: DrillResult = {
      scenario: "rollback",
      alert: "AuthHighLoginFailureRate",
      severity: "critical",
      receivers: ["pagerduty-critical"],
      arrivedMs: { "pagerduty-critical": 15_000 },
      timeToPageMs: 15_000,
      floorMs: 20_000,
      budgetMs: 70_000,
      ratio: 0.75,
      ok: true,
      notifications: [],
      step: { name: "page → safe mode", ms: 6_000, targetMs: ROLLBACK_TARGET_MS, ok: true },
    };
    const lines = drillTable([page]).split("\n");
    expect(lines[2]).toMatch(/^rollback\s+AuthHighLoginFailureRate\s+critical\s+pagerduty-critical\s+15\.0s\s+20\.0s\s+0\.75\s+ok$/);
    expect(lines[3]).toMatch(/^ {2}↳ page → safe mode\s+6\.0s\s+300\.0s target\s+0\.02\s+ok$/);
  });
});
