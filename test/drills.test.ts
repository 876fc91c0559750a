/**
 * What a drill expects, from the local stack's settings: the receivers, and
 * the floor it compares the time to page with (the pipeline's worst case,
 * plus the signal's own ramp where the alert reads a ratio over a window).
 */
import { describe, expect, it } from "vitest";
import { mustParseDuration } from "../src/duration";
import { expectation } from "../src/local/drills";
import { scenario } from "../src/local/scenarios";
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
