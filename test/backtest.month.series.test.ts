/** The month's series: one OpenMetrics family per name whatever the order samples come in, counters that carry across days and reset on restart. */
import { describe, expect, it } from "vitest";
import { Samples, Scope } from "../src/backtest/month/series";

const NONE = {};
const A = { code: "200" };
const B = { code: "500" };

describe("month series", () => {
  it("writes each family once, each series' samples together in time order, only those in the range asked", () => {
    const samples = new Samples();
    const pod = new Scope(samples, { job: "auth", instance: "a" });
    const other = new Scope(samples, { job: "auth", instance: "b" });
    for (const t of [0, 30, 60]) {
      pod.inc("req_total", A, t, 2);
      other.set("up", NONE, t, 1);
      pod.inc("req_total", B, t, 0.5);
      pod.set("up", NONE, t, 1);
    }
    expect(samples.text().split("\n")).toEqual([
      "# TYPE req_total gauge",
      'req_total{job="auth",instance="a",code="200"} 2 0',
      'req_total{job="auth",instance="a",code="200"} 4 30',
      'req_total{job="auth",instance="a",code="200"} 6 60',
      'req_total{job="auth",instance="a",code="500"} 0.500000 0',
      'req_total{job="auth",instance="a",code="500"} 1 30',
      'req_total{job="auth",instance="a",code="500"} 1.500000 60',
      "# TYPE up gauge",
      'up{job="auth",instance="b"} 1 0',
      'up{job="auth",instance="b"} 1 30',
      'up{job="auth",instance="b"} 1 60',
      'up{job="auth",instance="a"} 1 0',
      'up{job="auth",instance="a"} 1 30',
      'up{job="auth",instance="a"} 1 60',
      "# EOF",
      "",
    ]);
    expect(samples.text(30, 60)).toBe(
      ["# TYPE req_total gauge", 'req_total{job="auth",instance="a",code="200"} 4 30', 'req_total{job="auth",instance="a",code="500"} 1 30', "# TYPE up gauge", 'up{job="auth",instance="b"} 1 30', 'up{job="auth",instance="a"} 1 30', "# EOF", ""].join("\n"),
    );
  });

  it("carries counters into the next day, leaves out series without samples that day, and resets a scope's counters on restart", () => {
    const samples = new Samples();
    const pod = new Scope(samples, { instance: "a" });
    const gone = new Scope(samples, { instance: "old" });
    pod.inc("req_total", A, 0, 5);
    gone.set("up", NONE, 0, 1);
    samples.clearDay();
    pod.inc("req_total", A, 86400, 5);
    expect(samples.text()).toBe('# TYPE req_total gauge\nreq_total{instance="a",code="200"} 10 86400\n# EOF\n');
    pod.reset();
    pod.inc("req_total", A, 86430, 1);
    expect(samples.text().split("\n").slice(1, 3)).toEqual(['req_total{instance="a",code="200"} 10 86400', 'req_total{instance="a",code="200"} 1 86430']);
  });
});
