/**
 * auth-performance: is the service fast enough, and why not? (seed 003's
 * performance dashboard): endpoint latency percentiles, operation and token
 * validation time, database query load, and the pods' resource use.
 */
import * as heatmap from "@grafana/grafana-foundation-sdk/heatmap";
import type { Settings } from "../src/settings";
import { rec, re, sel } from "../src/promql";
import { RECORDS } from "../alerts/recording";
import { memoryShare } from "../alerts/terms";
import { common, ENV, INSTANCE, promql, stackedPanel, tiers, timeseriesPanel } from "../src/dashboards/kit";
import { Board, type BuiltDashboard, type DashboardContext, type PanelSpec } from "../src/dashboards/board";
import { PANELS } from "./panels";

const P = PANELS.performance;

export function performanceDashboard(ctx: DashboardContext): BuiltDashboard {
  const q = scope(ctx.settings);
  return new Board(ctx, {
    key: "performance",
    title: "Auth / Performance",
    description: "Is the service fast enough, and why not: endpoint and operation latency, token validation time, database load, memory and restarts.",
    source: "dashboards/performance.ts",
    tags: ["auth", "performance"],
  })
    .row(P.rowRequests, "Requests")
    .panels(requestP95(q), routeP95(q), routePercentiles(q), requestP99(q), probeDuration(q))
    .row(P.rowOperations, "Operations and token validation")
    .panels(loginP95(q), refreshP95(q), operationP95(q), tokenValidationMean(q), tokenValidationHeatmap(q), loginMean(q))
    .row(P.rowDatabase, "Database")
    .panels(databaseQueries(q), databaseLocks(q))
    .row(P.rowResources, "Resources")
    .panels(memoryRatio(q), memoryBytes(q), restarts(q))
    .build();
}

/** What the panels read: the settings and the series selections the dashboard's variables narrow. */
function scope(s: Settings) {
  const t = s.thresholds;
  const job = s.scrapeJobs.auth;
  const svc = { job, ...ENV } as const;
  const raw = { job, ...ENV, ...INSTANCE } as const;
  const pg = { job: s.scrapeJobs.postgres, ...ENV } as const;
  const pod = { namespace: s.authWorkload.namespace, container: s.authWorkload.container } as const;
  const operationP95 = (operation: string) => rec(RECORDS.operationP95, { ...svc, operation });
  return { s, t, job, svc, raw, pg, pod, operationP95 };
}
type Scope = ReturnType<typeof scope>;

function requestP95({ t, svc }: Scope): PanelSpec {
  return {
    id: P.requestP95,
    builder: timeseriesPanel("Request latency p95", "s")
      .withTarget(promql(rec(RECORDS.requestP95, svc), "p95 ({{job}})"))
      .min(0)
      .thresholds(tiers(t.latency.warningSeconds, t.latency.criticalSeconds)),
    w: 8,
    h: 8,
    description: `p95 latency of all requests over 5 minutes, the series the latency alert evaluates: warning above ${t.latency.warningSeconds}s, critical above ${t.latency.criticalSeconds}s, each for ${t.latency.for} (dashed lines), counted from ${t.latency.minRequests} requests in 5 minutes.`,
    linkedFrom: ["AuthLatencyHigh"],
  };
}

function routeP95({ svc }: Scope): PanelSpec {
  return {
    id: P.routeP95,
    builder: timeseriesPanel("Endpoint latency p95", "s").withTarget(promql(rec(RECORDS.routeP95, svc), "{{route}}")).min(0),
    w: 8,
    h: 8,
    description: "p95 latency per route over 5 minutes (recording rule): which endpoint makes the service slow.",
  };
}

function routePercentiles({ svc }: Scope): PanelSpec {
  // The recorded per-route bucket rates, not every pod's raw buckets: those cost seconds over 7 days (bench/rules.ts).
  const buckets = rec(RECORDS.routeBucketRate, svc);
  return {
    id: P.routePercentiles,
    builder: timeseriesPanel("Endpoint latency p50 and p99", "s")
      .withTarget(promql(`histogram_quantile(0.5, ${buckets})`, "p50 {{route}}"))
      .withTarget(promql(`histogram_quantile(0.99, ${buckets})`, "p99 {{route}}"))
      .min(0),
    w: 8,
    h: 8,
    description: "Median and p99 latency per route over 5 minutes, all instances (recording rule): a p99 far above p50 points at a slow dependency or lock waits.",
  };
}

function probeDuration({ s, job }: Scope): PanelSpec {
  return {
    id: P.probeDuration,
    builder: timeseriesPanel("Health probe duration", "s")
      .withTarget(promql(`max by (instance) (${sel("probe_duration_seconds", { job: s.scrapeJobs.authHealth, ...ENV })})`, "{{instance}}"))
      .min(0),
    w: 12,
    h: 8,
    description: "How long the blackbox exporter's /health probe takes: latency as an outside client sees it.",
  };
}

function loginP95({ t, operationP95 }: Scope): PanelSpec {
  return {
    id: P.loginP95,
    builder: timeseriesPanel("Login p95", "s")
      .withTarget(promql(operationP95("login"), "login p95"))
      .min(0)
      .thresholds(tiers(t.loginLatency.warningSeconds)),
    w: 8,
    h: 8,
    description: `p95 of the login operation over 5 minutes; the alert warns above ${t.loginLatency.warningSeconds}s for ${t.loginLatency.for} (dashed).`,
    linkedFrom: ["AuthLoginLatencyHigh"],
  };
}

function refreshP95({ t, operationP95 }: Scope): PanelSpec {
  return {
    id: P.refreshP95,
    builder: timeseriesPanel("Token refresh p95", "s")
      .withTarget(promql(operationP95("refresh"), "refresh p95"))
      .min(0)
      .thresholds(tiers(t.refreshLatency.warningSeconds)),
    w: 8,
    h: 8,
    description: `p95 of the refresh-token exchange over 5 minutes; the alert warns above ${t.refreshLatency.warningSeconds}s for ${t.refreshLatency.for} (dashed).`,
    linkedFrom: ["AuthRefreshLatencyHigh"],
  };
}

function operationP95({ svc }: Scope): PanelSpec {
  return {
    id: P.operationP95,
    builder: timeseriesPanel("Operation latency p95", "s").withTarget(promql(rec(RECORDS.operationP95, svc), "{{operation}}")).min(0),
    w: 8,
    h: 8,
    description: "p95 per auth operation (login, register, refresh, logout, validate, password reset) over 5 minutes.",
  };
}

function tokenValidationMean({ t, svc }: Scope): PanelSpec {
  return {
    id: P.tokenValidationMean,
    builder: timeseriesPanel("Token validation time (mean)", "s")
      .withTarget(promql(rec(RECORDS.tokenValidationMean, svc), "mean ({{job}})"))
      .min(0)
      .thresholds(tiers(t.tokenValidationLatency.warningSeconds, t.tokenValidationLatency.criticalSeconds)),
    w: 12,
    h: 8,
    description: `Mean access-token validation time over 5 minutes, what the alert evaluates: warning above ${t.tokenValidationLatency.warningSeconds}s, critical above ${t.tokenValidationLatency.criticalSeconds}s (dashed).`,
    linkedFrom: ["AuthTokenValidationSlow"],
  };
}

function tokenValidationHeatmap({ raw }: Scope): PanelSpec {
  return {
    id: P.tokenValidationHeatmap,
    builder: new heatmap.PanelBuilder()
      .title("Token validation time distribution")
      .unit("short")
      .withTarget(
        promql(`sum by (le) (increase(${sel("auth_token_validation_duration_seconds_bucket", raw)}[$__rate_interval]))`, "{{le}}", { format: "heatmap" }),
      )
      .calculate(false)
      .yAxis(new heatmap.YAxisConfigBuilder().unit("s").axisPlacement(common.AxisPlacement.Left))
      .cellValues(new heatmap.CellValuesBuilder().unit("short"))
      .color(new heatmap.HeatmapColorOptionsBuilder().mode(heatmap.HeatmapColorMode.Scheme).scheme("Oranges").exponent(0.5).steps(64).fill("dark-orange").reverse(false)),
    w: 12,
    h: 8,
    description: "Validations per histogram bucket over time: a second band appearing higher up is a slow path (key fetch, cache miss).",
  };
}

function databaseQueries({ pg }: Scope): PanelSpec {
  return {
    id: P.databaseQueries,
    builder: stackedPanel("Connections doing work", "short").withTarget(
      promql(`sum by (state) (${sel("pg_stat_activity_count", { ...pg, state: re("active|idle in transaction.*") })})`, "{{state}}"),
    ),
    w: 12,
    h: 8,
    description: "PostgreSQL connections running a query (active) or holding a transaction open (idle in transaction). The exporter of the telemetry contract has no query-latency series: a growing active count while request latency rises is the database being slow.",
  };
}

function databaseLocks({ pg }: Scope): PanelSpec {
  return {
    id: P.databaseLocks,
    builder: stackedPanel("Locks by mode", "short").withTarget(promql(`sum by (mode) (${sel("pg_locks_count", pg)})`, "{{mode}}")),
    w: 12,
    h: 8,
    description: "Locks held, by mode. Exclusive locks piling up while latency rises are lock waits; the deadlocks are on the database dashboard.",
  };
}

function memoryRatio({ t, pod }: Scope): PanelSpec {
  return {
    id: P.memoryRatio,
    builder: timeseriesPanel("Memory used of the limit", "percentunit")
      .withTarget(promql(memoryShare({ ...pod, ...ENV }, ["pod", "container"]), "{{pod}}"))
      .min(0)
      .max(1)
      .thresholds(tiers(t.memory.warningRatio)),
    w: 8,
    h: 8,
    description: `Working set of each auth container as a share of its memory limit; the alert warns above the dashed line for ${t.memory.for} (the kernel kills the container at 100 %).`,
    linkedFrom: ["AuthHighMemoryUsage"],
  };
}

function memoryBytes({ pod }: Scope): PanelSpec {
  return {
    id: P.memoryBytes,
    builder: timeseriesPanel("Memory working set", "bytes")
      .withTarget(promql(`max by (pod) (${sel("container_memory_working_set_bytes", { ...pod, ...ENV })})`, "{{pod}}"))
      .min(0),
    w: 8,
    h: 8,
    description: "Working set bytes of each auth container (what the memory limit is compared with).",
  };
}

function restarts({ pod }: Scope): PanelSpec {
  return {
    id: P.restarts,
    builder: timeseriesPanel("Container restarts (per hour)", "short")
      .withTarget(promql(`sum by (pod) (increase(${sel("kube_pod_container_status_restarts_total", { ...pod, ...ENV })}[1h]))`, "{{pod}}"))
      .min(0),
    w: 8,
    h: 8,
    description: "Restarts of the auth containers in the last hour: out-of-memory kills and failed liveness probes show here.",
  };
}

function requestP99({ t, svc }: Scope): PanelSpec {
  return {
    id: P.requestP99,
    builder: timeseriesPanel("Request latency p99", "s")
      .withTarget(promql(rec(RECORDS.requestP99, svc), "p99 ({{job}})"))
      .min(0)
      .thresholds(tiers(t.latencyP99.warningSeconds)),
    w: 12,
    h: 8,
    description: `p99 latency of all requests over 5 minutes, the series the p99 alert evaluates: it warns above ${t.latencyP99.warningSeconds}s for ${t.latencyP99.for} (dashed), when at least ${t.latencyP99.minRequests} requests came in those 5 minutes.`,
    linkedFrom: ["AuthLatencyP99High"],
  };
}

function loginMean({ t, svc }: Scope): PanelSpec {
  return {
    id: P.loginMean,
    builder: timeseriesPanel("Login time (mean)", "s")
      .withTarget(promql(rec(RECORDS.operationMean, { ...svc, operation: "login" }), "login mean"))
      .min(0)
      .thresholds(tiers(t.slowAuthentication.meanSeconds)),
    w: 24,
    h: 7,
    description: `Mean time of the login operation over 5 minutes (password hashing included); the alert warns above ${t.slowAuthentication.meanSeconds}s for ${t.slowAuthentication.for} (dashed), when at least ${t.slowAuthentication.minLogins} logins came in those 5 minutes.`,
    linkedFrom: ["AuthSlowAuthentication"],
  };
}
