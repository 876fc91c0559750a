/** Is the auth service up, answering without errors, and fast enough? */
import type { PromRuleGroup } from "../src/model";
import type { Settings } from "../src/settings";
import { num, rec, sel } from "../src/promql";
import { alert, pct, secs } from "./common";
import { RECORDS } from "./recording";
import { memoryShare } from "./terms";

export function availabilityAlerts(s: Settings): PromRuleGroup {
  const t = s.thresholds;
  const health = sel("probe_success", { job: s.scrapeJobs.authHealth });
  const errorRatio = rec(RECORDS.requests5xxRatio, { job: s.scrapeJobs.auth });
  const errorTier = (severity: "warning" | "critical", ratio: number, forDuration: string) =>
    alert({
      alert: "AuthHighErrorRate",
      expr: `${errorRatio} > ${num(ratio)}`,
      for: forDuration,
      severity,
      service: "auth",
      category: "availability",
      summary: `More than ${pct(ratio)} of auth requests fail with 5xx`,
      description: `{{ $value | humanizePercentage }} of requests to {{ $labels.job }} were answered 5xx over the last 5m (threshold ${pct(ratio)} for ${forDuration}).`,
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
      errorTier("critical", t.errorRate.criticalRatio, t.errorRate.criticalFor),
      errorTier("warning", t.errorRate.warningRatio, t.errorRate.warningFor),
    ],
  };
}

export function performanceAlerts(s: Settings): PromRuleGroup {
  const t = s.thresholds;
  const job = s.scrapeJobs.auth;
  const p95 = rec(RECORDS.requestP95, { job });
  const latencyTier = (severity: "warning" | "critical", limit: number) =>
    alert({
      alert: "AuthLatencyHigh",
      expr: `${p95} > ${num(limit)}`,
      for: t.latency.for,
      severity,
      service: "auth",
      category: "performance",
      summary: `p95 latency of auth requests is above ${secs(limit)}`,
      description: `p95 request latency of {{ $labels.job }} is {{ $value | humanizeDuration }} over the last 5m (threshold ${secs(limit)} for ${t.latency.for}).`,
    });
  const operationP95 = (operation: "login" | "refresh") => rec(RECORDS.operationP95, { job, operation });
  const validationTier = (severity: "warning" | "critical", limit: number) =>
    alert({
      alert: "AuthTokenValidationSlow",
      expr: `${rec(RECORDS.tokenValidationMean, { job })} > ${num(limit)}`,
      for: t.tokenValidationLatency.for,
      severity,
      service: "auth",
      category: "performance",
      summary: `Access-token validation takes longer than ${secs(limit)} on average`,
      description: `Mean token validation time of {{ $labels.job }} is {{ $value | humanizeDuration }} over the last 5m (threshold ${secs(limit)} for ${t.tokenValidationLatency.for}).`,
    });
  const memory = s.authWorkload;
  return {
    name: "auth-performance",
    source: "alerts/availability.ts",
    rules: [
      latencyTier("critical", t.latency.criticalSeconds),
      latencyTier("warning", t.latency.warningSeconds),
      alert({
        alert: "AuthLoginLatencyHigh",
        expr: `${operationP95("login")} > ${num(t.loginLatency.warningSeconds)}`,
        for: t.loginLatency.for,
        severity: "warning",
        service: "auth",
        category: "performance",
        summary: `p95 login time is above ${secs(t.loginLatency.warningSeconds)}`,
        description: `p95 of the login operation is {{ $value | humanizeDuration }} over the last 5m (threshold ${secs(t.loginLatency.warningSeconds)} for ${t.loginLatency.for}).`,
      }),
      alert({
        alert: "AuthRefreshLatencyHigh",
        expr: `${operationP95("refresh")} > ${num(t.refreshLatency.warningSeconds)}`,
        for: t.refreshLatency.for,
        severity: "warning",
        service: "auth",
        category: "performance",
        summary: `p95 token refresh time is above ${secs(t.refreshLatency.warningSeconds)}`,
        description: `p95 of the refresh operation is {{ $value | humanizeDuration }} over the last 5m (threshold ${secs(t.refreshLatency.warningSeconds)} for ${t.refreshLatency.for}).`,
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
    ],
  };
}
