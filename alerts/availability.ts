/** Is the auth service up and answering without errors? */
import type { LogRuleGroup, PromRuleGroup } from "../src/model";
import type { Settings } from "../src/settings";
import { num, rec, sel } from "../src/promql";
import { alert, logAlert, pct } from "./common";
import { RECORDS } from "./recording";
import { DATABASE_ERRORS_WINDOW, errorLines, sumIncrease } from "./terms";

export function availabilityAlerts(s: Settings): PromRuleGroup {
  const t = s.thresholds;
  const health = sel("probe_success", { job: s.scrapeJobs.authHealth });
  const errorRatio = rec(RECORDS.requests5xxRatio, { job: s.scrapeJobs.auth });
  // The floor reads the recorded request rate (per job) rather than every pod's, route's and code's counter again.
  const requestsIn5m = `${rec(RECORDS.requestsRate, { job: s.scrapeJobs.auth })} * 300`;
  const errorTier = (severity: "warning" | "critical", ratio: number, forDuration: string, minRequests: number) =>
    alert({
      alert: "AuthHighErrorRate",
      expr: `${errorRatio} > ${num(ratio)} and on (job) ${requestsIn5m} >= ${minRequests}`,
      for: forDuration,
      severity,
      service: "auth",
      category: "availability",
      summary: `More than ${pct(ratio)} of auth requests fail with 5xx`,
      description: `{{ $value | humanizePercentage }} of requests to {{ $labels.job }} were answered 5xx over the last 5m (threshold ${pct(ratio)} for ${forDuration}, counted from ${minRequests} requests in 5m).`,
    });
  return {
    name: "auth-availability",
    source: "alerts/availability.ts",
    rules: [
      alert({
        alert: "AuthServiceDown",
        // A probe that stopped reporting is PrometheusTargetDown (reason missing), not an outage:
        // AuthServiceDown inhibits every auth alert, so it must mean the service itself fails.
        expr: `${health} == 0`,
        for: t.serviceDown.for,
        severity: "critical",
        service: "auth",
        category: "availability",
        summary: "The auth service fails its health probe",
        description: `The /health probe of {{ $labels.instance }} (job {{ $labels.job }}) has failed on every check for ${t.serviceDown.for}; probe_success is {{ $value | humanize }}.`,
      }),
      errorTier("critical", t.errorRate.criticalRatio, t.errorRate.criticalFor, t.errorRate.criticalMinRequests),
      errorTier("warning", t.errorRate.warningRatio, t.errorRate.warningFor, t.errorRate.warningMinRequests),
      alert({
        alert: "AuthDatabaseErrors",
        // "In each minute", held for `for`; pg_up may well be 1. A 90s window: at a 30s scrape a 1m window holds two
        // samples, and one missed scrape would empty it and restart `for`; 90s keeps one error from lasting as long as `for`.
        expr: `${sumIncrease(sel("auth_errors_total", { job: s.scrapeJobs.auth, error_type: "database" }), DATABASE_ERRORS_WINDOW, ["job"])} > 0`,
        for: t.databaseErrors.for,
        severity: "critical",
        service: "auth",
        category: "availability",
        summary: "The auth service cannot use its database",
        description: `{{ $labels.job }} has reported database errors in every minute for ${t.databaseErrors.for} ({{ $value | humanize }} in the last ${DATABASE_ERRORS_WINDOW}).`,
      }),
    ],
  };
}

/** Log alerts of the same area (Loki ruler): the service writes errors faster than it should. */
export function availabilityLogAlerts(s: Settings): LogRuleGroup {
  const t = s.thresholds;
  return {
    name: "auth-availability",
    source: "alerts/availability.ts",
    rules: [
      logAlert({
        alert: "AuthErrorLogBurst",
        expr: `sum(count_over_time(${errorLines()} [5m])) > ${t.errorLogBurst.lines}`,
        severity: "warning",
        service: "auth",
        category: "availability",
        summary: `More than ${t.errorLogBurst.lines} auth log lines at level error in 5 minutes`,
        description: `The auth service wrote {{ $value | humanize }} log lines at level error in the last 5m (threshold ${t.errorLogBurst.lines}).`,
      }),
    ],
  };
}
