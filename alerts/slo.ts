/** The auth service's SLOs (seed 001): availability 99.9 %, and 95 % of requests under 500 ms, over 30 days. */
import type { PromRuleGroup } from "../src/model";
import type { Settings } from "../src/settings";
import { le, re, sel } from "../src/promql";
import { sloRuleGroups as ruleGroupsOf, type Slo } from "../src/slo";
import { runbookSlug } from "./common";

export function slos(s: Settings): Slo[] {
  const job = s.scrapeJobs.auth;
  const requests = sel("http_requests_total", { job });
  const threshold = s.slos.latency.thresholdSeconds;
  return [
    {
      name: "auth-availability",
      alert: "AuthAvailabilitySLOBurn",
      objective: s.slos.availability.objective,
      good: "requests not answered 5xx",
      // No 5xx series yet means no errors: fall back to 0 so the SLI is 0, not a gap.
      errorRate: (w) => `(sum(rate(${sel("http_requests_total", { job, code: re("5..") })}[${w}])) or vector(0))`,
      totalRate: (w) => `sum(rate(${requests}[${w}]))`,
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
      errorRate: (w) =>
        `(sum(rate(${sel("http_request_duration_seconds_count", { job })}[${w}]))` +
        ` - sum(rate(${sel("http_request_duration_seconds_bucket", { job, le: le(threshold) })}[${w}])))`,
      totalRate: (w) => `sum(rate(${sel("http_request_duration_seconds_count", { job })}[${w}]))`,
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
