/** Is the auth service fast enough, and within its memory? */
import type { PromRuleGroup } from "../src/model";
import type { Settings } from "../src/settings";
import { num, rec, sel } from "../src/promql";
import { alert, pct, secs } from "./common";
import { RECORDS } from "./recording";
import { memoryShare, trafficFloor } from "./terms";

export function performanceAlerts(s: Settings): PromRuleGroup {
  const t = s.thresholds;
  const job = s.scrapeJobs.auth;
  const p95 = rec(RECORDS.requestP95, { job });
  const latencyTier = (severity: "warning" | "critical", limit: number) =>
    alert({
      alert: "AuthLatencyHigh",
      expr: `${p95} > ${num(limit)}${trafficFloor(sel("http_request_duration_seconds_count", { job }), t.latency.minRequests, ["job"])}`,
      for: t.latency.for,
      severity,
      service: "auth",
      category: "performance",
      summary: `p95 latency of auth requests is above ${secs(limit)}`,
      description: `p95 request latency of {{ $labels.job }} is {{ $value | humanizeDuration }} over the last 5m (threshold ${secs(limit)} for ${t.latency.for}, counted from ${t.latency.minRequests} requests in 5m).`,
    });
  /** p95 of one operation above `limit`, counted from `minOperations` operations in 5m. */
  const operationSlow = (operation: "login" | "refresh", limit: number, minOperations: number) =>
    `${rec(RECORDS.operationP95, { job, operation })} > ${num(limit)}` +
    trafficFloor(sel("auth_operation_duration_seconds_count", { job, operation }), minOperations, ["job", "operation"]);
  const validationTier = (severity: "warning" | "critical", limit: number) =>
    alert({
      alert: "AuthTokenValidationSlow",
      expr: `${rec(RECORDS.tokenValidationMean, { job })} > ${num(limit)}${trafficFloor(sel("auth_token_validation_duration_seconds_count", { job }), t.tokenValidationLatency.minValidations, ["job"])}`,
      for: t.tokenValidationLatency.for,
      severity,
      service: "auth",
      category: "performance",
      summary: `Access-token validation takes longer than ${secs(limit)} on average`,
      description: `Mean token validation time of {{ $labels.job }} is {{ $value | humanizeDuration }} over the last 5m (threshold ${secs(limit)} for ${t.tokenValidationLatency.for}, counted from ${t.tokenValidationLatency.minValidations} validations in 5m).`,
    });
  const memory = s.authWorkload;
  return {
    name: "auth-performance",
    source: "alerts/performance.ts",
    rules: [
      latencyTier("critical", t.latency.criticalSeconds),
      latencyTier("warning", t.latency.warningSeconds),
      alert({
        alert: "AuthLoginLatencyHigh",
        expr: operationSlow("login", t.loginLatency.warningSeconds, t.loginLatency.minLogins),
        for: t.loginLatency.for,
        severity: "warning",
        service: "auth",
        category: "performance",
        summary: `p95 login time is above ${secs(t.loginLatency.warningSeconds)}`,
        description: `p95 of the login operation is {{ $value | humanizeDuration }} over the last 5m (threshold ${secs(t.loginLatency.warningSeconds)} for ${t.loginLatency.for}, counted from ${t.loginLatency.minLogins} logins in 5m).`,
      }),
      alert({
        alert: "AuthRefreshLatencyHigh",
        expr: operationSlow("refresh", t.refreshLatency.warningSeconds, t.refreshLatency.minRefreshes),
        for: t.refreshLatency.for,
        severity: "warning",
        service: "auth",
        category: "performance",
        summary: `p95 token refresh time is above ${secs(t.refreshLatency.warningSeconds)}`,
        description: `p95 of the refresh operation is {{ $value | humanizeDuration }} over the last 5m (threshold ${secs(t.refreshLatency.warningSeconds)} for ${t.refreshLatency.for}, counted from ${t.refreshLatency.minRefreshes} refreshes in 5m).`,
      }),
      validationTier("critical", t.tokenValidationLatency.criticalSeconds),
      validationTier("warning", t.tokenValidationLatency.warningSeconds),
      alert({
        alert: "AuthHighMemoryUsage",
        expr: `${memoryShare({ namespace: memory.namespace, container: memory.container }, ["namespace", "pod", "container"])} > ${num(t.memory.warningRatio)}`,
        for: t.memory.for,
        severity: "warning",
        service: "auth",
        category: "performance",
        summary: `An auth container uses more than ${pct(t.memory.warningRatio)} of its memory limit`,
        description: `{{ $labels.namespace }}/{{ $labels.pod }} container {{ $labels.container }} uses {{ $value | humanizePercentage }} of its memory limit (threshold ${pct(t.memory.warningRatio)} for ${t.memory.for}).`,
      }),
      alert({
        alert: "AuthLatencyP99High",
        // The floor: a p99 of fewer than minRequests requests is the slowest request, not a percentile.
        expr:
          `${rec(RECORDS.requestP99, { job })} > ${num(t.latencyP99.warningSeconds)}` +
          ` and on (job) ${rec(RECORDS.requestsRate, { job })} * 300 >= ${num(t.latencyP99.minRequests)}`,
        for: t.latencyP99.for,
        severity: "warning",
        service: "auth",
        category: "performance",
        summary: `p99 latency of auth requests is above ${secs(t.latencyP99.warningSeconds)}`,
        description: `p99 request latency of {{ $labels.job }} is {{ $value | humanizeDuration }} over the last 5m (threshold ${secs(t.latencyP99.warningSeconds)} for ${t.latencyP99.for}, with at least ${t.latencyP99.minRequests} requests in 5m).`,
      }),
      alert({
        alert: "AuthSlowAuthentication",
        expr:
          `${rec(RECORDS.operationMean, { job, operation: "login" })} > ${num(t.slowAuthentication.meanSeconds)}` +
          ` and on (job) sum by (job) (increase(${sel("auth_operation_duration_seconds_count", { job, operation: "login" })}[5m])) >= ${num(t.slowAuthentication.minLogins)}`,
        for: t.slowAuthentication.for,
        severity: "warning",
        service: "auth",
        category: "performance",
        summary: `Logins take longer than ${secs(t.slowAuthentication.meanSeconds)} on average`,
        description: `Mean login operation time of {{ $labels.job }} is {{ $value | humanizeDuration }} over the last 5m (threshold ${secs(t.slowAuthentication.meanSeconds)} for ${t.slowAuthentication.for}, with at least ${t.slowAuthentication.minLogins} logins in 5m).`,
      }),
    ],
  };
}
