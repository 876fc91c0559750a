import type { AlertProof } from "../../src/model";
import type { Settings } from "../../src/settings";
import { above, below, counter, gauge, histogram, input, minutes } from "./series";

export function performanceProofs(s: Settings): AlertProof[] {
  const t = s.thresholds;
  const job = s.scrapeJobs.auth;
  const http = { job, service: "auth", route: "/v1/login", method: "POST" };
  const steps = (forDuration: string) => minutes(forDuration) + 15;
  const at = (forDuration: string) => `${minutes(forDuration) + 8}m`;

  const lat = t.latency;
  const latencyCase = (name: string, lo: number, hi: number, severities: ("critical" | "warning")[], perMinute = 600) => {
    const h = histogram("http_request_duration_seconds", http, lo, hi, perMinute, steps(lat.for));
    return { name, series: h.series, at: at(lat.for), firing: severities.map((severity) => ({ severity, labels: { job }, value: h.p95 })) };
  };

  const operationProof = (alert: string, operation: "login" | "refresh", limit: number, forDuration: string): AlertProof => {
    const labels = { job, operation };
    const make = (name: string, lo: number, hi: number, fires: boolean) => {
      const h = histogram("auth_operation_duration_seconds", labels, lo, hi, 300, steps(forDuration));
      return { name, series: h.series, at: at(forDuration), firing: fires ? [{ severity: "warning" as const, labels, value: h.p95 }] : [] };
    };
    return {
      alert,
      cases: [
        make(`p95 ${operation} above the threshold fires`, limit, limit * 2, true),
        make(`p95 ${operation} below the threshold stays silent`, limit / 2, limit, false),
      ],
    };
  };

  const v = t.tokenValidationLatency;
  /** 600 validations a minute with the given mean duration. */
  const validations = (mean: number) => [
    input("auth_token_validation_duration_seconds_count", { job }, counter(600, steps(v.for))),
    input("auth_token_validation_duration_seconds_sum", { job }, counter(600 * mean, steps(v.for))),
  ];
  const slow = v.criticalSeconds * 1.5;
  const between = above(v.warningSeconds, v.criticalSeconds);

  const mem = t.memory;
  const pod = { namespace: s.authWorkload.namespace, pod: "auth-7d9f8b6c5-x2x7k", container: s.authWorkload.container };
  const limitBytes = 512 * 1024 * 1024;
  const memory = (ratio: number) => [
    input("container_memory_working_set_bytes", pod, gauge(limitBytes * ratio, steps(mem.for))),
    input("kube_pod_container_resource_limits", { ...pod, resource: "memory", unit: "byte" }, gauge(limitBytes, steps(mem.for))),
  ];
  const hot = above(mem.warningRatio);

  return [
    {
      alert: "AuthLatencyHigh",
      cases: [
        latencyCase("p95 above critical fires both tiers", lat.criticalSeconds, lat.criticalSeconds * 2, ["critical", "warning"]),
        latencyCase("p95 between warning and critical fires warning only", lat.warningSeconds, lat.criticalSeconds, ["warning"]),
        latencyCase("p95 below warning stays silent", lat.warningSeconds / 2, lat.warningSeconds, []),
        latencyCase("slow requests at night, at the traffic floor, page", lat.criticalSeconds, lat.criticalSeconds * 2, ["critical", "warning"], Math.ceil(lat.minRequests / 5)),
        // Regression (issue 11): one slow request a minute at night paged critical.
        latencyCase("one slow request a minute at night stays silent", lat.criticalSeconds, lat.criticalSeconds * 2, [], 1),
      ],
    },
    operationProof("AuthLoginLatencyHigh", "login", t.loginLatency.warningSeconds, t.loginLatency.for),
    operationProof("AuthRefreshLatencyHigh", "refresh", t.refreshLatency.warningSeconds, t.refreshLatency.for),
    {
      alert: "AuthTokenValidationSlow",
      cases: [
        {
          name: "mean above critical fires both tiers",
          series: validations(slow),
          at: at(v.for),
          firing: [
            { severity: "critical", labels: { job }, value: slow },
            { severity: "warning", labels: { job }, value: slow },
          ],
        },
        { name: "mean between tiers fires warning only", series: validations(between), at: at(v.for), firing: [{ severity: "warning", labels: { job }, value: between }] },
        { name: "mean below warning stays silent", series: validations(below(v.warningSeconds)), at: at(v.for), firing: [] },
      ],
    },
    {
      alert: "AuthHighMemoryUsage",
      cases: [
        { name: "working set above the limit share fires", series: memory(hot), at: at(mem.for), firing: [{ severity: "warning", labels: pod, value: hot }] },
        { name: "working set below the limit share stays silent", series: memory(below(mem.warningRatio)), at: at(mem.for), firing: [] },
      ],
    },
    p99Proof(s),
    slowAuthenticationProof(s),
  ];
}

/** AuthLatencyP99High: a histogram whose every request falls into (lo, hi] has its p99 at lo + 0.99 (hi − lo). */
function p99Proof(s: Settings): AlertProof {
  const p = s.thresholds.latencyP99;
  const job = s.scrapeJobs.auth;
  const http = { job, service: "auth", route: "/v1/login", method: "POST" };
  const steps = minutes(p.for) + 15;
  const at = `${minutes(p.for) + 8}m`;
  /** `perMinute` requests a minute, all between lo and hi; http_requests_total counts them (the floor). */
  const make = (name: string, lo: number, hi: number, perMinute: number, fires: boolean) => {
    const h = histogram("http_request_duration_seconds", http, lo, hi, perMinute, steps);
    const requests = input("http_requests_total", { ...http, code: "200" }, counter(perMinute, steps));
    return { name, series: [...h.series, requests], at, firing: fires ? [{ severity: "warning" as const, labels: { job }, value: lo + 0.99 * (hi - lo) }] : [] };
  };
  const busy = Math.max(600, p.minRequests);
  // Requests in 5 minutes: five times the per-minute count; half the floor stays under it.
  const quiet = p.minRequests / 10;
  return {
    alert: "AuthLatencyP99High",
    cases: [
      make("p99 above the threshold with enough requests fires", p.warningSeconds, p.warningSeconds * 2, busy, true),
      make("p99 below the threshold stays silent", p.warningSeconds / 2, p.warningSeconds * 0.9, busy, false),
      make("slow requests below the traffic floor stay silent", p.warningSeconds, p.warningSeconds * 2, quiet, false),
    ],
  };
}

/** AuthSlowAuthentication: logins with a given mean duration, `perMinute` of them. */
function slowAuthenticationProof(s: Settings): AlertProof {
  const a = s.thresholds.slowAuthentication;
  const job = s.scrapeJobs.auth;
  const labels = { job, operation: "login" };
  const steps = minutes(a.for) + 15;
  const at = `${minutes(a.for) + 8}m`;
  const logins = (mean: number, perMinute: number) => [
    input("auth_operation_duration_seconds_count", labels, counter(perMinute, steps)),
    input("auth_operation_duration_seconds_sum", labels, counter(perMinute * mean, steps)),
  ];
  const slow = a.meanSeconds * 1.5;
  const busy = Math.max(60, a.minLogins);
  const quiet = a.minLogins / 10;
  return {
    alert: "AuthSlowAuthentication",
    cases: [
      { name: "mean login time above the threshold fires", series: logins(slow, busy), at, firing: [{ severity: "warning", labels, value: slow }] },
      { name: "mean login time below the threshold stays silent", series: logins(below(a.meanSeconds), busy), at, firing: [] },
      { name: "slow logins below the traffic floor stay silent", series: logins(slow, quiet), at, firing: [] },
    ],
  };
}
