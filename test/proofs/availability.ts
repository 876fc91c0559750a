import type { AlertProof } from "../../src/model";
import type { Settings } from "../../src/settings";
import { mustParseDuration } from "../../src/duration";
import { DATABASE_ERRORS_WINDOW } from "../../alerts/terms";
import { above, below, counter, counterFrom, gauge, input, minutes, sparse, stepFor } from "./series";

export function availabilityProofs(s: Settings): AlertProof[] {
  const t = s.thresholds;
  const job = s.scrapeJobs.auth;
  const probe = { job: s.scrapeJobs.authHealth, instance: "http://auth.auth.svc:8080/health" };
  const down = stepFor(t.serviceDown.for);
  const downFor = down.steps;

  /** `perMinute` requests a minute (1000 by default), `ratio` of them answered 500. */
  const traffic = (ratio: number, steps: number, perMinute = 1000) => [
    input("http_requests_total", { job, service: "auth", route: "/v1/login", method: "POST", code: "200" }, counter(perMinute * (1 - ratio), steps)),
    input("http_requests_total", { job, service: "auth", route: "/v1/login", method: "POST", code: "500" }, counter(perMinute * ratio, steps)),
  ];
  /** A quiet night: three requests every 5 minutes, one of them answered 503. */
  const quiet = (steps: number) => [
    input("http_requests_total", { job, service: "auth", route: "/v1/login", method: "POST", code: "200" }, sparse(5, [1, 4], steps)),
    input("http_requests_total", { job, service: "auth", route: "/v1/login", method: "POST", code: "503" }, sparse(5, [2], steps)),
  ];
  const e = t.errorRate;
  const errorAt = Math.max(minutes(e.criticalFor), minutes(e.warningFor)) + 6;
  const critical = above(e.criticalRatio);
  const between = above(e.warningRatio, e.criticalRatio);
  /** Requests a minute at night that just reach the critical floor in 5 minutes. */
  const night = Math.ceil(e.criticalMinRequests / 5);

  return [
    {
      alert: "AuthServiceDown",
      interval: down.interval,
      cases: [
        {
          name: "probe failing longer than `for` fires",
          series: [input("probe_success", probe, `1x10 0x${downFor + 5}`)],
          at: down.at(10 + downFor + 3),
          firing: [{ severity: "critical", labels: probe, value: 0 }],
        },
        {
          name: "one failed probe (shorter than `for`) stays silent while it fails",
          series: [input("probe_success", probe, `1x10 0 1x20`)],
          at: down.at(11),
          firing: [],
        },
        {
          name: "a failing probe stays silent until `for` has passed",
          series: [input("probe_success", probe, `1x10 0x${downFor + 5}`)],
          at: down.at(11 + downFor - 1),
          firing: [],
        },
        { name: "healthy probe stays silent", series: [input("probe_success", probe, gauge(1, 30))], at: down.at(20), firing: [] },
      ],
    },
    {
      alert: "AuthHighErrorRate",
      cases: [
        {
          name: "5xx share above critical fires both tiers",
          series: traffic(critical, errorAt + 5),
          at: `${errorAt}m`,
          firing: [
            { severity: "critical", labels: { job }, value: critical },
            { severity: "warning", labels: { job }, value: critical },
          ],
        },
        {
          name: "5xx share between warning and critical fires warning only",
          series: traffic(between, errorAt + 5),
          at: `${errorAt}m`,
          firing: [{ severity: "warning", labels: { job }, value: between }],
        },
        { name: "5xx share below warning stays silent", series: traffic(below(e.warningRatio), errorAt + 5), at: `${errorAt}m`, firing: [] },
        { name: "no 5xx at all stays silent", series: traffic(0, errorAt + 5).slice(0, 1), at: `${errorAt}m`, firing: [] },
        {
          name: "an outage at night, at the critical traffic floor, pages",
          series: traffic(critical, errorAt + 5, night),
          at: `${errorAt}m`,
          firing: [
            { severity: "critical", labels: { job }, value: critical },
            ...(night * 5 >= e.warningMinRequests ? [{ severity: "warning" as const, labels: { job }, value: critical }] : []),
          ],
        },
        // Regression (issue 11): three requests every 5 minutes at night, one of them a 503, paged critical.
        { name: "one 503 among three requests in 5m at night stays silent", series: quiet(30), at: "30m", firing: [] },
      ],
    },
    databaseErrorsProof(s),
  ];
}

/**
 * AuthDatabaseErrors at a 30s step, the longest scrape interval a stack may have: its 90s window then
 * holds three samples, so `perStep` errors every 30s is 3 × perStep in the window.
 */
function databaseErrorsProof(s: Settings): AlertProof {
  const job = s.scrapeJobs.auth;
  const forSteps = minutes(s.thresholds.databaseErrors.for) * 2;
  const errors = (errorType: string, values: string) => input("auth_errors_total", { job, instance: "auth-7d9f8b6c5-x2x7k:8080", error_type: errorType }, values);
  const at = (step: number) => `${step * 30}s`;
  return {
    alert: "AuthDatabaseErrors",
    interval: "30s",
    cases: [
      {
        name: "database errors in every minute for `for` fire",
        series: [errors("database", counterFrom(10, 3, forSteps + 10))],
        at: at(10 + forSteps + 4),
        firing: [{ severity: "critical", labels: { job }, value: 3 * (mustParseDuration(DATABASE_ERRORS_WINDOW) / 30) }],
      },
      {
        name: "database errors that stop before `for` has passed stay silent",
        // Rising in forSteps − 1 steps: pending for forSteps − 2 steps, shorter than `for`.
        series: [errors("database", `${counterFrom(10, 3, forSteps - 1)} ${gauge(3 * (forSteps - 1), forSteps + 8)}`)],
        at: at(10 + forSteps + 4),
        firing: [],
      },
      {
        // A scrape timeout under load: two scrapes missing while the errors go on must not restart `for`.
        name: "two missed scrapes during an ongoing error storm keep it firing",
        series: [errors("database", Array.from({ length: 10 + forSteps + 10 }, (_, i) => (i === 10 + forSteps || i === 11 + forSteps ? "_" : String(Math.max(0, i - 9) * 3))).join(" "))],
        at: at(12 + forSteps),
        firing: [{ severity: "critical", labels: { job }, value: 3 * (mustParseDuration(DATABASE_ERRORS_WINDOW) / 30) }],
      },
      { name: "other errors stay silent", series: [errors("database", gauge(0, forSteps + 20)), errors("internal", counter(5, forSteps + 20))], at: at(forSteps + 10), firing: [] },
    ],
  };
}
