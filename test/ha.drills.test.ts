/**
 * How the HA failover drills judge an incident's notifications, on the two
 * faults the drills met on the local HA stack (README "High availability"):
 * a resolution sent 0.2 s after the page while the service was still down,
 * and a resolution sent twice 30 ms apart; and the clean case.
 */
import { describe, expect, it } from "vitest";
import { incidentVerdict } from "../src/local/ha/failover";
import type { Notification } from "../src/local/sink";

const PD = "pagerduty-critical";
const note = (at: number, status: "firing" | "resolved", alertname = "AuthServiceDown"): Notification => ({ at, receiver: PD, status, alertname, severity: "critical", summary: "", runbookUrl: "", alerts: status === "firing" ? 1 : 0 });

describe("incidentVerdict", () => {
  it("one page, then one resolution after the fault was taken away: ok", () => {
    const v = incidentVerdict("AuthServiceDown", [PD], [note(30_000, "firing"), note(80_000, "resolved")], 60_000);
    expect(v).toEqual({ pages: { [PD]: 1 }, resolved: { [PD]: 1 } });
  });

  it("a resolution before the fault was taken away is a false all-clear, even when the counts are right", () => {
    const v = incidentVerdict("AuthServiceDown", [PD], [note(30_940, "firing"), note(31_144, "resolved")], 32_000);
    expect(v.pages[PD]).toBe(1);
    expect(v.resolved[PD]).toBe(1);
    expect(v.error).toMatch(/false all-clear: a resolved notification at pagerduty-critical 0\.9s before the fault was taken away/);
  });

  it("a resolution twice is a duplicate", () => {
    const v = incidentVerdict("AuthServiceDown", [PD], [note(30_000, "firing"), note(95_915, "resolved"), note(95_945, "resolved")], 60_000);
    expect(v.error).toBe(`not exactly one page and one resolution at ${PD} (1 firing, 2 resolved)`);
  });

  it("other alerts' notifications do not count", () => {
    const v = incidentVerdict("AuthServiceDown", [PD], [note(30_000, "firing"), note(31_000, "resolved", "PrometheusTargetDown"), note(80_000, "resolved")], 60_000);
    expect(v.error).toBeUndefined();
  });
});
