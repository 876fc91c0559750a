/**
 * Log-based alerts (Loki ruler, LogQL) and log retention per stream.
 * Per-IP and per-user analysis lives here because those are never metric labels.
 */
import type { LogRetention, LogRuleGroup } from "../src/model";
import type { Settings } from "../src/settings";
import { logAlert } from "./common";

/**
 * Auth events with only the fields a rule needs extracted: a bare `| json` would make every
 * field (the timestamp `at` too) a label and one series per line under attack. The stream is
 * {app="auth"}, whatever category the shipper derives, so a mislabelled event still counts.
 */
const authEvents = (evt: string, ...fields: string[]) =>
  `{app="auth"} |= \`"${evt}"\` | json ${["evt", ...fields].map((f) => `${f}="${f}"`).join(", ")} | evt="${evt}"`;

export function logAlerts(s: Settings): LogRuleGroup[] {
  const t = s.thresholds;
  return [
    {
      name: "auth-security-logs",
      source: "alerts/logs.ts",
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
      ],
    },
    {
      name: "postgres-logs",
      source: "alerts/logs.ts",
      rules: [
        logAlert({
          alert: "DatabaseRLSViolation",
          expr: `sum(count_over_time({app="postgres"} |= "row-level security" [5m])) > 0`,
          severity: "warning",
          service: "postgres",
          category: "security",
          summary: "PostgreSQL refused a query under row-level security",
          description: "{{ $value | humanize }} PostgreSQL log lines about row-level security in the last 5m.",
        }),
      ],
    },
  ];
}

/** Security events 1 year, other auth logs 90 days (seed 003). The default period covers the rest. */
export function logRetention(s: Settings): LogRetention {
  return {
    defaultDays: s.loki.appRetentionDays,
    streams: [
      { selector: `{category="security"}`, days: s.loki.securityRetentionDays, why: "security events: compliance, 1 year" },
      { selector: `{app="auth", category="app"}`, days: s.loki.appRetentionDays, why: "other auth logs: 90 days" },
    ],
  };
}
