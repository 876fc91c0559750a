/** The backtest's pure parts: the `for` state machine on hand-made sequences, rule dependencies, the text table. */
import { describe, expect, it } from "vitest";
import type { BacktestReport } from "../src/backtest/engine";
import { formatText } from "../src/backtest/format";
import { levels, lookbacks, reads, recordingsRead, stackRuleGroups, type Recording } from "../src/backtest/rules";
import { episodesAround, evaluationSteps, forStateMachine } from "../src/backtest/state";

describe("for state machine", () => {
  const step = 30;
  const steps = evaluationSteps(0, 300, step); // 0, 30, ..., 300
  const at = (...ts: number[]) => new Set(ts);
  const closed = (start: number, end: number) => ({ start, end, open: false });

  it("goes pending, fires once the condition held for `for`, and resolves at the first empty evaluation", () => {
    expect(forStateMachine(steps, at(30, 60, 90, 120, 150), 60, step)).toEqual([closed(90, 180)]);
  });
  it("resets: a gap of one evaluation before `for` elapsed restarts pending from scratch", () => {
    expect(forStateMachine(steps, at(30, 60, 120, 150), 60, step)).toEqual([]);
    expect(forStateMachine(steps, at(30, 60, 120, 150, 180), 60, step)).toEqual([closed(180, 210)]);
  });
  it("a gap while firing ends the episode; the next one must wait `for` again", () => {
    expect(forStateMachine(steps, at(0, 30, 60, 90, 150, 180, 210, 240), 60, step)).toEqual([closed(60, 120), closed(210, 270)]);
  });
  it("flapping at the boundary: held for exactly `for` fires, one evaluation short never does", () => {
    expect(forStateMachine(steps, at(60, 90, 120), 60, step)).toEqual([closed(120, 150)]);
    expect(forStateMachine(steps, at(60, 90, 150, 180, 240, 270), 60, step)).toEqual([]);
    // Alternating every evaluation without `for`: every present evaluation is its own episode.
    expect(forStateMachine(steps, at(0, 60, 120), 0, step)).toEqual([closed(0, 30), closed(60, 90), closed(120, 150)]);
  });
  it("keeps an episode open at the window's end, one interval past the last evaluation", () => {
    expect(forStateMachine(steps, at(0, 270, 300), 0, step)).toEqual([closed(0, 30), { start: 270, end: 330, open: true }]);
    expect(forStateMachine([], at(0), 0, step)).toEqual([]);
  });
  it("evaluates nothing while Prometheus was not running: pending restarts, a firing episode ends at the outage", () => {
    const always = new Set(steps);
    // Down over [90, 180): evaluations 90, 120, 150 never ran.
    expect(episodesAround(steps, always, 60, step, [{ start: 90, end: 180 }])).toEqual([closed(60, 90), { start: 240, end: 330, open: true }]);
    // Pending at 60 when it went down: never fired before, fires `for` after the restart.
    expect(episodesAround(steps, at(60, 180, 210, 240), 60, step, [{ start: 90, end: 180 }])).toEqual([closed(240, 270)]);
    expect(episodesAround(steps, always, 0, step, [])).toEqual(forStateMachine(steps, always, 0, step));
  });
  it("evaluates at the interval, at an offset past each multiple", () => {
    expect(evaluationSteps(50, 130, 30)).toEqual([60, 90, 120]);
    expect(evaluationSteps(50, 130, 30, 7)).toEqual([67, 97, 127]);
    expect(evaluationSteps(67, 67, 30, 7)).toEqual([67]);
  });
});

describe("rule dependencies", () => {
  const groups = stackRuleGroups("prod");
  const records = groups.flatMap((g) => g.records);
  const alerts = groups.flatMap((g) => g.alerts);

  it("matches whole metric names only", () => {
    expect(reads("job:x:rate5m > 1", "job:x:rate5m")).toBe(true);
    expect(reads("job:x:rate5m_total > 1", "job:x:rate5m")).toBe(false);
    expect(reads("sum(rate(x[5m]))", "x")).toBe(true);
  });

  it("every recording rule reads only rules of lower levels", () => {
    const level = levels(records);
    for (const r of records) {
      for (const d of records) if (d.record !== r.record && reads(r.expr, d.record)) expect(level.get(d)!, `${r.record} reads ${d.record}`).toBeLessThan(level.get(r)!);
    }
    expect(Math.max(...level.values())).toBeGreaterThan(1);
  });

  it("an alert needs what it reads and what those read, transitively", () => {
    for (const a of alerts) {
      const needed = recordingsRead(a.expr, records);
      for (const r of needed) for (const d of records) if (reads(r.expr, d.record)) expect(needed, `${a.alert} via ${r.record}`).toContain(d);
      for (const r of records) if (reads(a.expr, r.record)) expect(needed).toContain(r);
    }
  });

  // Regression (quality bench): the 5m SLO event rates were materialised 30 days before --start because the
  // 30-day budget rule reads them, though no alert reads that rule (and it is not materialised).
  it("a rule is needed back only as far as the alerts, and the rules they read, look", () => {
    const rule = (record: string, expr: string): Recording => ({ record, expr, labels: {}, group: "g", interval: 60 });
    const rate = rule("job:x:rate5m", "sum(rate(x[5m]))");
    const day = rule("job:x:avg1d", "avg_over_time(job:x:rate5m[1d])");
    const month = rule("job:x:avg30d", "avg_over_time(job:x:rate5m[30d])");
    const need = lookbacks([rate, day, month], ["job:x:avg1d > 1"]);
    expect(Object.fromEntries([...need].map(([r, n]) => [r.record, n]))).toEqual({ "job:x:rate5m": 86400, "job:x:avg1d": 0 });
  });
});

describe("text report", () => {
  it("one row per alert tier: episodes, firing time, first and last, and why a rule was not backtested", () => {
    const report: BacktestReport = {
      prometheus: "http://p", start: "2026-11-01T00:00:00Z", end: "2026-11-02T00:00:00Z", recordings: { stored: [], materialised: ["job:a:rate5m"] },
      notRunning: [{ start: "2026-11-01T05:00:00Z", end: "2026-11-01T06:15:00Z" }], warnings: [],
      alerts: [
        { alert: "A", severity: "critical", labels: {}, group: "g", interval: 30, for: 60, episodes: [
          { start: "2026-11-01T01:00:00Z", end: "2026-11-01T01:30:00Z", labels: {}, annotations: {} },
          { start: "2026-11-01T23:00:00Z", end: null, labels: {}, annotations: {} },
        ] },
        { alert: "B", severity: "warning", labels: {}, group: "g", interval: 30, for: 0, episodes: [], skipped: "no data" },
      ],
    };
    const text = formatText(report);
    expect(text).toMatch(/^A\s+critical\s+2\s+1h30m\s+2026-11-01T01:00:00Z\s+2026-11-01T23:00:00Z → still firing$/m);
    expect(text).toMatch(/^B\s+warning\s+-\s+-\s+not backtested$/m);
    expect(text).toContain("B warning: not backtested: no data");
    expect(text).toContain("materialised from raw data: job:a:rate5m");
    expect(text).toContain("recorded nothing from 2026-11-01T05:00:00Z to 2026-11-01T06:15:00Z (not running): no evaluation there");
  });
});
