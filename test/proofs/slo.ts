import type { AlertCase, AlertProof } from "../../src/model";
import type { Settings } from "../../src/settings";
import { slos } from "../../alerts/slo";
import { BURN_RATE_ALERTS, ticketMinEvents, windowLabel, windowSeconds, type BurnRateAlert } from "../../src/slo";
import { counter, input, num, sparse, sparseAt } from "./series";

const PER_MINUTE = 1000;
/** Burn rates of the sustained cases: between the 3× ticket and the 6× page; between 6× and 14.4×. */
const SLOW = 4.5;
const STEADY = 10;
/** Minutes of quiet night traffic: over an hour, so the page's long window is full. */
const QUIET = 70;
/** Minutes between rule evaluations: the burn alerts have no `for`, and every case ends on a multiple of it. */
const EVALUATION_STEP = 5;

/** Counter values (promtool notation) of bad, good and all events. */
interface Feed {
  readonly bad: string;
  readonly good: string;
  readonly total: string;
}

/** The series one SLO's SLI reads: 5xx and 2xx requests, or the threshold's bucket and the request count. */
function events(sloName: string, job: string, le: number, feed: Feed) {
  const request = { job, service: "auth", route: "/v1/token", method: "POST" };
  return sloName === "auth-availability"
    ? [input("http_requests_total", { ...request, code: "503" }, feed.bad), input("http_requests_total", { ...request, code: "200" }, feed.good)]
    : [
        input("http_request_duration_seconds_bucket", { ...request, le: num(le) }, feed.good),
        input("http_request_duration_seconds_count", request, feed.total),
      ];
}

export function sloProofs(s: Settings): AlertProof[] {
  const job = s.scrapeJobs.auth;
  return slos(s).map((slo) => {
    const budget = 1 - slo.objective;
    /** A constant error ratio from the start, at `perMinute` events a minute. */
    const constant = (ratio: number, minutes: number, perMinute = PER_MINUTE) =>
      events(slo.name, job, s.slos.latency.thresholdSeconds, {
        bad: counter(perMinute * ratio, minutes),
        good: counter(perMinute * (1 - ratio), minutes),
        total: counter(perMinute, minutes),
      });
    /** An outage at night: just enough events a minute for the page floor in 5 minutes, burning above 14.4×. */
    const night = Math.ceil(slo.pageMinEvents / 5);
    const outage = (1 + BURN_RATE_ALERTS[0]!.factor * (1 - slo.objective)) / 2;

    /**
     * A healthy history, then a burst spending `spent` budget-minutes
     * (ratio × minutes): over 1h it burns above 14.4×, over 6h below 6×, over 1d below 3×.
     */
    const history = 1500;
    const spent = 1440 * budget;
    const burst = Math.max(10, Math.ceil(spent / 0.9 / 5) * 5);
    const burstRatio = spent / burst;
    const burstSeries = () => {
      const bad = PER_MINUTE * burstRatio;
      return events(slo.name, job, s.slos.latency.thresholdSeconds, {
        bad: `0x${history} ${num(bad)}+${num(bad)}x${burst - 1}`,
        good: `0+${PER_MINUTE}x${history} ${num(PER_MINUTE * history + PER_MINUTE - bad)}+${num(PER_MINUTE - bad)}x${burst - 1}`,
        total: `0+${PER_MINUTE}x${history + burst}`,
      });
    };
    /**
     * The 1h ratio sums the 5m rates recorded at every step in [t-1h, t] (Prometheus 2's ranges hold both ends):
     * 13 rates of 5m each at a 5m step, the burst's own rates among the last of them.
     */
    const samples1h = 60 / EVALUATION_STEP + 1;
    const fastBurn1h = (burstRatio * Math.min(burst / EVALUATION_STEP, samples1h)) / samples1h;
    const page = BURN_RATE_ALERTS[0]!;
    const slow = SLOW * budget;
    const steady = STEADY * budget;
    const ticket = BURN_RATE_ALERTS.filter((b) => b.severity === "warning");
    const window = (b: (typeof BURN_RATE_ALERTS)[number]) => ({ window: windowLabel(b) });
    const quietRatio = sparseAt(5, [2], QUIET) / sparseAt(5, [1, 2, 4], QUIET);
    /**
     * Whether a ticket tier has its floor of events in its short window at `perMinute` events a minute: the rule counts
     * the mean rate over the window times the window, over as much of it as the Prometheus recorded.
     */
    const ticketFloorMet = (b: BurnRateAlert, perMinute: number) =>
      b.severity === "critical" || perMinute * (windowSeconds(b.short) / 60) >= ticketMinEvents(b, slo.objective);
    /** A fresh Prometheus's six hours of a quiet night (3 requests a minute), twice the budget failing. */
    const night6h = { perMinute: 3, minutes: 360 };

    const cases: AlertCase[] = [
      {
        name: `a short burst above ${page.factor}x pages on the ${windowLabel(page)} windows only`,
        series: burstSeries(),
        at: `${history + burst}m`,
        firing: [{ severity: "critical", labels: { slo: slo.name }, ruleLabels: window(page), value: fastBurn1h }],
      },
      {
        name: `a sustained ${STEADY}x burn pages on the 6h_30m windows (and opens tickets), not on 1h_5m`,
        series: constant(steady, 200),
        at: "180m",
        firing: BURN_RATE_ALERTS.filter((b) => b.factor < STEADY).map((b) => ({
          severity: b.severity,
          labels: { slo: slo.name },
          ruleLabels: window(b),
          value: steady,
        })),
      },
      {
        name: `a sustained ${SLOW}x burn opens tickets and pages nobody`,
        series: constant(slow, 200),
        at: "180m",
        firing: ticket.map((b) => ({ severity: "warning" as const, labels: { slo: slo.name }, ruleLabels: window(b), value: slow })),
      },
      { name: "errors within the budget stay silent", series: constant(budget / 2, 200), at: "180m", firing: [] },
      {
        name: "an outage at night, at the page floor, pages on every window",
        series: constant(outage, QUIET + 10, night),
        at: `${QUIET}m`,
        firing: BURN_RATE_ALERTS.filter((b) => ticketFloorMet(b, night)).map((b) => ({ severity: b.severity, labels: { slo: slo.name }, ruleLabels: window(b), value: outage })),
      },
      // Regression (quality bench): a Prometheus with six hours of history, a night of 3 requests a minute with two
      // failing, opened the 3d ticket: its "3 days" were those six hours, and one or two errors were the burn.
      {
        name: "a fresh Prometheus's quiet night at twice the budget opens no ticket below the ticket floor",
        series: constant(2 * budget, night6h.minutes + 10, night6h.perMinute),
        at: `${night6h.minutes}m`,
        firing: ticket
          .filter((b) => 2 > b.factor && ticketFloorMet(b, night6h.perMinute))
          .map((b) => ({ severity: "warning" as const, labels: { slo: slo.name }, ruleLabels: window(b), value: 2 * budget })),
      },
      // Regression (issue 11): one bad request among three every 5 minutes at night paged. It still opens tickets.
      {
        name: "one bad request among three in 5m at night pages nobody",
        series: events(slo.name, job, s.slos.latency.thresholdSeconds, { bad: sparse(5, [2], QUIET), good: sparse(5, [1, 4], QUIET), total: sparse(5, [1, 2, 4], QUIET) }),
        at: `${QUIET}m`,
        firing: ticket.filter((b) => quietRatio > b.factor * budget && ticketFloorMet(b, 3 / 5)).map((b) => ({ severity: "warning" as const, labels: { slo: slo.name }, ruleLabels: window(b), value: quietRatio })),
      },
    ];
    if (!(fastBurn1h > page.factor * budget && spent / windowSeconds("6h") * 60 < 6 * budget)) {
      throw new Error(`${slo.name}: cannot build a fast-burn case for objective ${slo.objective}`);
    }
    return { alert: slo.alert, evaluationInterval: `${EVALUATION_STEP}m`, cases };
  });
}
