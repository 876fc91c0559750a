/**
 * Signs of attack or credential theft: from metrics (Prometheus), and per IP,
 * per user or per log line from logs (Loki ruler, LogQL), since an IP or a
 * user is never a metric label.
 */
import type { LogRuleGroup, PromRuleGroup } from "../src/model";
import type { Settings } from "../src/settings";
import { num, sel } from "../src/promql";
import { alert, logAlert } from "./common";
import { authEvents, inLastMinute, perMinute, sumIncrease } from "./terms";

export const SECURITY_GROUP = "auth-security";

export function securityAlerts(s: Settings): PromRuleGroup {
  const t = s.thresholds;
  const job = s.scrapeJobs.auth;
  const reuse = sel("auth_refresh_total", { job, result: "reuse_detected" });
  const rateLimited = sel("auth_rate_limit_exceeded_total", { job });
  return {
    name: SECURITY_GROUP,
    source: "alerts/security.ts",
    rules: [
      alert({
        alert: "AuthRefreshTokenReuse",
        // Only a rise seen between two samples of one series: a new pod's counter starts at 0 (the
        // service initialises it), so its 0 → 1 counts. A series first seen above 0 does not: after
        // a scrape gap or on a Prometheus that starts empty, an old count would read as a new reuse.
        // Trade-off: a reuse on a pod that was never scraped at 0 goes unpaged here; the
        // auth.refresh.reuse log event still records it (runbooks/auth-refresh-token-reuse.md).
        expr: `${sumIncrease(reuse, "5m", ["job"])} > 0`,
        severity: "critical",
        service: "auth",
        category: "security",
        summary: "A refresh token was used twice: a token family may be stolen",
        description: "{{ $value | humanize }} refresh-token reuse detected in the last 5m on {{ $labels.job }}; the family was revoked by the service, find the user in the auth.refresh.reuse log events.",
      }),
      alert({
        alert: "AuthRateLimitSpike",
        expr: `${perMinute(rateLimited, ["job"])} > ${num(t.rateLimit.warningPerMinute)}`,
        for: t.rateLimit.warningFor,
        severity: "warning",
        service: "auth",
        category: "security",
        summary: `More than ${t.rateLimit.warningPerMinute} rate-limit rejections per minute`,
        description: `{{ $value | humanize }} requests per minute are rejected by the rate limiter (threshold ${t.rateLimit.warningPerMinute}/min for ${t.rateLimit.warningFor}).`,
      }),
      alert({
        alert: "AuthRateLimitSpike",
        // Counted over exactly the last minute, so a one-minute burst pages on the next evaluation.
        expr: `${inLastMinute(rateLimited, ["job"])} > ${num(t.rateLimit.criticalPerMinute)}`,
        severity: "critical",
        service: "auth",
        category: "security",
        summary: `More than ${t.rateLimit.criticalPerMinute} rate-limit rejections in one minute`,
        description: `{{ $value | humanize }} requests were rejected by the rate limiter in the last minute (threshold ${t.rateLimit.criticalPerMinute}).`,
      }),
      alert({
        alert: "AuthCSRFFailures",
        expr: `${sumIncrease(sel("auth_csrf_failures_total", { job }), "5m", ["job"])} > ${num(t.csrf.warningCount)}`,
        severity: "warning",
        service: "auth",
        category: "security",
        summary: `More than ${t.csrf.warningCount} CSRF failures in 5 minutes`,
        description: `{{ $value | humanize }} CSRF validation failures in the last 5m (threshold ${t.csrf.warningCount}).`,
      }),
      alert({
        alert: "AuthFailedLoginsHigh",
        expr: `${sumIncrease(sel("auth_logins_total", { job, result: "failure" }), "1h", ["job"])} > ${num(t.failedLogins.perHour)}`,
        severity: "info",
        service: "auth",
        category: "security",
        summary: `More than ${t.failedLogins.perHour} failed logins in an hour across the service`,
        description: `{{ $value | humanize }} failed logins on {{ $labels.job }} in the last 1h (threshold ${t.failedLogins.perHour}, set above this stack's normal hourly failures).`,
      }),
    ],
  };
}

export function securityLogAlerts(s: Settings): LogRuleGroup {
  const t = s.thresholds;
  return {
    name: SECURITY_GROUP,
    source: "alerts/security.ts",
    rules: [
      logAlert({
        alert: "AuthBruteForceSuspected",
        expr: `sum by (ip) (count_over_time(${authEvents("auth.login.failure", "ip")} [10m])) > ${t.bruteForce.failuresPerIp}`,
        severity: "warning",
        service: "auth",
        category: "security",
        summary: `More than ${t.bruteForce.failuresPerIp} failed logins from one IP in 10 minutes`,
        description: `{{ $value | humanize }} failed logins from {{ $labels.ip }} in the last 10m (threshold ${t.bruteForce.failuresPerIp}).`,
      }),
      logAlert({
        alert: "AuthLoginGeoAnomaly",
        expr:
          `count by (userId) (sum by (userId, country) (count_over_time(${authEvents("auth.login.success", "userId", "country")} [1h])))` +
          ` > ${t.geoAnomaly.maxCountries}`,
        severity: "info",
        service: "auth",
        category: "security",
        summary: `A user logged in from more than ${t.geoAnomaly.maxCountries} countr${t.geoAnomaly.maxCountries === 1 ? "y" : "ies"} within an hour`,
        description: `User {{ $labels.userId }} logged in successfully from {{ $value | humanize }} countries in the last 1h.`,
      }),
      logAlert({
        alert: "DatabaseRLSViolation",
        expr: `sum(count_over_time({app="postgres"} |= "row-level security" [5m])) > 0`,
        severity: "warning",
        service: "postgres",
        category: "security",
        summary: "PostgreSQL refused a query under row-level security",
        description: "{{ $value | humanize }} PostgreSQL log lines about row-level security in the last 5m.",
      }),
      logAlert({
        alert: "AuthBruteForceSuspected",
        expr: `sum by (ip) (count_over_time(${authEvents("auth.login.failure", "ip")} [1h])) > ${t.bruteForceHourly.failuresPerIp}`,
        severity: "info",
        service: "auth",
        category: "security",
        summary: `More than ${t.bruteForceHourly.failuresPerIp} failed logins from one IP in an hour`,
        description: `{{ $value | humanize }} failed logins from {{ $labels.ip }} in the last 1h (threshold ${t.bruteForceHourly.failuresPerIp}): a slow attempt that stays under the 10m tier.`,
      }),
      logAlert({
        alert: "AuthAccountBruteForce",
        // Counts the accounts over the threshold, so that the notification carries no e-mail address
        // (personal data in chat and e-mail); the runbook's query names them. Lines without an e-mail
        // (OAuth failures) belong to no account.
        expr:
          `count(sum by (email) (count_over_time(${authEvents("auth.login.failure", "email")} | email!="" [1h]))` +
          ` > ${t.accountBruteForce.failuresPerAccount})`,
        severity: "warning",
        service: "auth",
        category: "security",
        summary: `An account had more than ${t.accountBruteForce.failuresPerAccount} failed logins in an hour`,
        description: `{{ $value | humanize }} account(s) had more than ${t.accountBruteForce.failuresPerAccount} failed logins each in the last 1h; the runbook's LogQL names them.`,
      }),
      logAlert({
        alert: "AuthRegistrationsFromOneIP",
        expr: `sum by (ip) (count_over_time(${authEvents("auth.register.success", "ip")} [1h])) > ${t.registrationsPerIp.perHour}`,
        severity: "warning",
        service: "auth",
        category: "security",
        summary: `More than ${t.registrationsPerIp.perHour} accounts registered from one IP in an hour`,
        description: `{{ $value | humanize }} successful registrations from {{ $labels.ip }} in the last 1h (threshold ${t.registrationsPerIp.perHour}).`,
      }),
    ],
  };
}
