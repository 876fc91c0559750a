/** The auth service's SLOs (seed 001): availability 99.9 %, and 95 % of requests under 500 ms, over 30 days. */
import type { PromRuleGroup } from "../src/model";
import type { Settings } from "../src/settings";
import { le, rec, sel } from "../src/promql";
import { RECORDS } from "./recording";
import { sloRuleGroups as ruleGroupsOf, type Slo } from "../src/slo";
import { runbookSlug } from "./common";

export function slos(s: Settings): Slo[] {
  const job = s.scrapeJobs.auth;
  const threshold = s.slos.latency.thresholdSeconds;
  return [
    {
      name: "auth-availability",
      alert: "AuthAvailabilitySLOBurn",
      objective: s.slos.availability.objective,
      good: "requests not answered 5xx",
      // The request rates auth-recording already records: the raw counters (every pod, route, method and
      // code) are read once per evaluation, there. No 5xx yet means no errors: 0, not a gap.
      errorRate5m: `(sum(${rec(RECORDS.requests5xxRate, { job })}) or vector(0))`,
      totalRate5m: `sum(${rec(RECORDS.requestsRate, { job })})`,
      pageMinEvents: s.slos.availability.pageMinEvents,
      service: "auth",
      category: "slo",
      runbook: runbookSlug("AuthAvailabilitySLOBurn"),
    },
    {
      name: "auth-latency",
      alert: "AuthLatencySLOBurn",
      objective: s.slos.latency.objective,
      good: `requests answered within ${threshold}s`,
      errorRate5m:
        `(sum(rate(${sel("http_request_duration_seconds_count", { job })}[5m]))` +
        ` - sum(rate(${sel("http_request_duration_seconds_bucket", { job, le: le(threshold) })}[5m])))`,
      totalRate5m: `sum(rate(${sel("http_request_duration_seconds_count", { job })}[5m]))`,
      pageMinEvents: s.slos.latency.pageMinEvents,
      service: "auth",
      category: "slo",
      runbook: runbookSlug("AuthLatencySLOBurn"),
    },
  ];
}

export function sloRuleGroups(s: Settings): PromRuleGroup[] {
  return slos(s).flatMap((slo) => ruleGroupsOf(slo, "alerts/slo.ts"));
}
