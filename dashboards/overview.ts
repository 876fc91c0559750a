/**
 * auth-overview: is authentication working for people right now?
 * Seed 004's eleven panels (overview, login success rate, active sessions,
 * events timeline, latency, security events, OAuth, guests, password resets,
 * method distribution, error heatmap) and seed 003's authentication dashboard
 * (registration and token validation rates, response-time percentiles).
 * One function per panel; the dashboard is the list of rows and panels.
 * About 400 lines because it is the largest dashboard (25 small panel
 * functions); splitting one dashboard's panels over files would scatter it.
 */
import * as heatmap from "@grafana/grafana-foundation-sdk/heatmap";
import * as piechart from "@grafana/grafana-foundation-sdk/piechart";
import type { Settings } from "../src/settings";
import { rec, re, round, sel } from "../src/promql";
import { pct } from "../alerts/common";
import { RECORDS } from "../alerts/recording";
import { errorLines, inactiveSessionShare, spikeTerms } from "../alerts/terms";
import { common, ENV, INSTANCE, logql, promql, stackedPanel, statPanel, steps, tiers, timeseriesPanel, upDown, VAR } from "../src/dashboards/kit";
import { Board, type BuiltDashboard, type DashboardContext, type PanelSpec } from "../src/dashboards/board";
import { DASHBOARD_UIDS } from "./uids";
import { PANELS } from "./panels";

const P = PANELS.overview;

export function overviewDashboard(ctx: DashboardContext): BuiltDashboard {
  const q = scope(ctx.settings);
  return new Board(ctx, {
    key: "overview",
    title: "Auth / Overview",
    description: "Is authentication working for people right now: health, errors, logins, registrations, tokens, sessions and flows.",
    source: "dashboards/overview.ts",
    tags: ["auth", "overview"],
  })
    .row(P.rowHealth, "Service health")
    .panels(serviceHealth(q), requestRate(q), errorRatio(q), loginSuccessRate(q), activeSessions(q))
    .row(P.rowTraffic, "Traffic and latency")
    .panels(errorRatioTimeline(q), responseTimePercentiles(q), eventsTimeline(q))
    .row(P.rowLogins, "Logins")
    .panels(loginFailureRatio(q), loginMethods(q), loginFailureReasons(q))
    .row(P.rowRegistrationsTokens, "Registrations and tokens")
    .panels(registrations(q), registrationFailureRatio(q), registrationSpike(q), tokenValidations(q), tokenValidationFailureRatio(q))
    .row(P.rowSessionsSecurity, "Sessions and security")
    .panels(sessions(q), inactiveSessionRatio(q), securityEvents(q))
    .row(P.rowFlows, "Flows")
    .panels(oauth(q), guests(q), passwordResets(q))
    .row(P.rowErrors, "Errors")
    .panels(errorHeatmap(q), errorLogLines(q))
    .build();
}

/** What the panels read: the settings and the series selections the dashboard's variables narrow. */
function scope(s: Settings) {
  const job = s.scrapeJobs.auth;
  /** Service-wide (the alerts' view): job and environment. */
  const svc = { job, ...ENV } as const;
  /** Raw series of the service, narrowed to the chosen instances. */
  const raw = { job, ...ENV, ...INSTANCE } as const;
  return { s, t: s.thresholds, svc, raw };
}
type Scope = ReturnType<typeof scope>;

const rate = (series: string) => `rate(${series}[$__rate_interval])`;

// ------------------------------------------------------------ service health

function serviceHealth({ s }: Scope): PanelSpec {
  return {
    id: P.serviceHealth,
    builder: statPanel("Health probe", "none")
      .withTarget(promql(`min(${sel("probe_success", { job: s.scrapeJobs.authHealth, ...ENV })})`, "probe"))
      .mappings(upDown("UP", "DOWN"))
      .noValue("NO PROBE DATA")
      .thresholds(steps("red", [1, "green"])),
    w: 4,
    h: 5,
    description: `The blackbox probe of /health (job ${s.scrapeJobs.authHealth}): DOWN when any probed instance fails. No data is as bad as DOWN: the alert fires on a missing probe too.`,
    linkedFrom: ["AuthServiceDown"],
  };
}

function requestRate({ svc }: Scope): PanelSpec {
  return {
    id: P.requestRate,
    builder: statPanel("Requests", "reqps").withTarget(promql(`sum(${rec(RECORDS.requestsRate, svc)})`, "requests/s")).colorMode(common.BigValueColorMode.None),
    w: 5,
    h: 5,
    description: "HTTP requests per second answered by the auth service over the last 5 minutes (recording rule, all instances).",
  };
}

function errorRatio({ t, svc }: Scope): PanelSpec {
  return {
    id: P.errorRatio,
    builder: statPanel("5xx share", "percentunit")
      .withTarget(promql(`max(${rec(RECORDS.requests5xxRatio, svc)})`, "5xx share"))
      .decimals(2)
      .thresholds(tiers(t.errorRate.warningRatio, t.errorRate.criticalRatio)),
    w: 5,
    h: 5,
    description: "Share of requests answered 5xx over the last 5 minutes: exactly what AuthHighErrorRate evaluates. Orange and red are the alert's warning and critical thresholds.",
    alerts: ["AuthHighErrorRate"],
  };
}

function loginSuccessRate({ t, svc }: Scope): PanelSpec {
  return {
    id: P.loginSuccessRate,
    builder: statPanel("Login success rate", "percentunit")
      .withTarget(promql(`1 - max(${rec(RECORDS.loginsFailedRatio, svc)})`, "success rate"))
      .decimals(1)
      // The alert watches the failed share; success below 1 - threshold is the same line seen from the other side.
      .thresholds(steps("red", [round(1 - t.loginFailure.criticalRatio), "orange"], [round(1 - t.loginFailure.warningRatio), "green"])),
    w: 5,
    h: 5,
    description: `Share of login attempts that succeeded over the last 5 minutes. Orange below ${pct(1 - t.loginFailure.warningRatio)}, red below ${pct(1 - t.loginFailure.criticalRatio)}: the login failure alert's tiers seen from the success side.`,
    alerts: ["AuthHighLoginFailureRate"],
  };
}

function activeSessions({ raw }: Scope): PanelSpec {
  return {
    id: P.activeSessions,
    builder: statPanel("Active sessions", "short")
      .withTarget(promql(`sum(${sel("auth_sessions", { ...raw, state: "active" })})`, "active"))
      .colorMode(common.BigValueColorMode.None),
    w: 5,
    h: 5,
    description: "Sessions the service currently counts as active (gauge auth_sessions, summed over the chosen instances).",
  };
}

// ------------------------------------------------------- traffic and latency

function errorRatioTimeline({ t, svc }: Scope): PanelSpec {
  return {
    id: P.errorRatioTimeline,
    builder: timeseriesPanel("5xx share of requests", "percentunit")
      .withTarget(promql(rec(RECORDS.requests5xxRatio, svc), "5xx share ({{job}})"))
      .min(0)
      .thresholds(tiers(t.errorRate.warningRatio, t.errorRate.criticalRatio)),
    w: 12,
    h: 8,
    description: "Share of requests answered 5xx, 5-minute window, the series AuthHighErrorRate evaluates. Dashed lines: its warning and critical thresholds.",
    linkedFrom: ["AuthHighErrorRate"],
  };
}

function responseTimePercentiles({ t, svc }: Scope): PanelSpec {
  // From the recorded per-route bucket rates: the raw buckets of every pod cost seconds over 7 days (bench/rules.ts).
  const quantile = (q: number) => `histogram_quantile(${q}, sum by (le) (${rec(RECORDS.routeBucketRate, svc)}))`;
  return {
    id: P.responseTimePercentiles,
    builder: timeseriesPanel("Response time percentiles", "s")
      .withTarget(promql(quantile(0.5), "p50"))
      .withTarget(promql(rec(RECORDS.requestP95, svc), "p95 (alerted)"))
      .withTarget(promql(quantile(0.99), "p99"))
      .min(0)
      .thresholds(tiers(t.latency.warningSeconds, t.latency.criticalSeconds)),
    w: 12,
    h: 8,
    description: "Request latency percentiles of the whole service. The p95 line is the recording rule AuthLatencyHigh evaluates; dashed lines are its warning and critical thresholds.",
    alerts: ["AuthLatencyHigh"],
  };
}

function eventsTimeline({ raw }: Scope): PanelSpec {
  return {
    id: P.eventsTimeline,
    builder: timeseriesPanel("Authentication events", "ops")
      .withTarget(promql(`sum by (result) (${rate(sel("auth_logins_total", raw))})`, "login {{result}}"))
      .withTarget(promql(`sum by (result) (${rate(sel("auth_registrations_total", raw))})`, "registration {{result}}"))
      .withTarget(promql(`sum by (result) (${rate(sel("auth_refresh_total", raw))})`, "refresh {{result}}"))
      .withTarget(promql(`sum(${rate(sel("auth_operation_duration_seconds_count", { ...raw, operation: "logout" }))})`, "logout"))
      .min(0),
    w: 24,
    h: 8,
    description: "Authentication events per second by kind and result: logins, registrations, refresh-token exchanges and logouts.",
  };
}

// -------------------------------------------------------------------- logins

function loginFailureRatio({ t, svc }: Scope): PanelSpec {
  return {
    id: P.loginFailureRatio,
    builder: timeseriesPanel("Failed share of logins", "percentunit")
      .withTarget(promql(rec(RECORDS.loginsFailedRatio, svc), "failed share ({{job}})"))
      .min(0)
      .max(1)
      .thresholds(tiers(t.loginFailure.warningRatio, t.loginFailure.criticalRatio)),
    w: 8,
    h: 8,
    description: `Share of login attempts that failed, 5-minute window. The alert counts only when there were at least ${t.loginFailure.minAttempts} attempts in those 5 minutes (${t.loginFailure.criticalMinAttempts} for the page); dashed lines are its warning and critical thresholds.`,
    linkedFrom: ["AuthHighLoginFailureRate"],
  };
}

function loginMethods({ raw }: Scope): PanelSpec {
  return {
    id: P.loginMethods,
    builder: new piechart.PanelBuilder()
      .title("Login method distribution")
      .unit("short")
      .withTarget(promql(`sum by (method) (increase(${sel("auth_logins_total", raw)}[$__range]))`, "{{method}}", { instant: true }))
      .pieType(piechart.PieChartType.Donut)
      .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(["lastNotNull"]).values(false))
      .legend(
        new piechart.PieChartLegendOptionsBuilder()
          .showLegend(true)
          .displayMode(common.LegendDisplayMode.Table)
          .placement(common.LegendPlacement.Right)
          .values([piechart.PieChartLegendValues.Value, piechart.PieChartLegendValues.Percent]),
      ),
    w: 8,
    h: 8,
    description: "Login attempts in the dashboard's time range by method (password, OAuth, magic link, guest).",
  };
}

function loginFailureReasons({ raw }: Scope): PanelSpec {
  return {
    id: P.loginFailureReasons,
    builder: stackedPanel("Failed logins by reason", "ops").withTarget(
      promql(`sum by (reason) (${rate(sel("auth_logins_total", { ...raw, result: "failure" }))})`, "{{reason}}"),
    ),
    w: 8,
    h: 8,
    description: "Failed login attempts per second by reason: invalid credentials, locked account, MFA failure, rate limited, other.",
  };
}

// -------------------------------------------------- registrations and tokens

function registrations({ raw }: Scope): PanelSpec {
  return {
    id: P.registrations,
    builder: stackedPanel("Registrations", "ops").withTarget(promql(`sum by (result) (${rate(sel("auth_registrations_total", raw))})`, "{{result}}")),
    w: 8,
    h: 8,
    description: "Registrations per second by result.",
  };
}

function registrationFailureRatio({ t, svc }: Scope): PanelSpec {
  return {
    id: P.registrationFailureRatio,
    builder: timeseriesPanel("Failed share of registrations", "percentunit")
      .withTarget(promql(rec(RECORDS.registrationsFailedRatio, svc), "failed share ({{job}})"))
      .min(0)
      .max(1)
      .thresholds(tiers(t.registrationFailure.warningRatio)),
    w: 8,
    h: 8,
    description: `Share of registrations that failed, 5-minute window; the alert counts only above ${t.registrationFailure.minAttempts} attempts in 5 minutes. Dashed line: its threshold.`,
    linkedFrom: ["AuthHighRegistrationFailureRate"],
  };
}

function registrationSpike({ t, svc }: Scope): PanelSpec {
  const spike = spikeTerms(sel("auth_registrations_total", svc), t.registrationSpike.minRegistrations);
  return {
    id: P.registrationSpike,
    builder: timeseriesPanel("Registrations vs. yesterday", "short")
      .withTarget(promql(spike.current, "registrations, last 10m"))
      .withTarget(promql(`${t.registrationSpike.factor} * ${spike.baseline}`, `alert line: ${t.registrationSpike.factor}x the same 10m yesterday (or the hour before)`))
      .min(0)
      .thresholds(steps("green", [t.registrationSpike.minRegistrations, "orange"])),
    w: 8,
    h: 8,
    description: `Registrations in the last 10 minutes against ${t.registrationSpike.factor} times the same 10 minutes one day earlier (where that day has no data, the busiest 10 minutes of the hour before, at least the alert's floor). The spike alert fires when the first line is above the second and above the floor of ${t.registrationSpike.minRegistrations} (dashed).`,
    linkedFrom: ["AuthRegistrationSpike"],
  };
}

function tokenValidations({ raw }: Scope): PanelSpec {
  return {
    id: P.tokenValidations,
    builder: stackedPanel("Token validations", "ops").withTarget(promql(`sum by (result) (${rate(sel("auth_token_validations_total", raw))})`, "{{result}}")),
    w: 12,
    h: 8,
    description: "Access-token validations per second by result: valid, invalid, expired.",
  };
}

function tokenValidationFailureRatio({ t, svc }: Scope): PanelSpec {
  return {
    id: P.tokenValidationFailureRatio,
    builder: timeseriesPanel("Invalid or expired share of validations", "percentunit")
      .withTarget(promql(rec(RECORDS.tokenValidationsFailedRatio, svc), "invalid + expired ({{job}})"))
      .min(0)
      .thresholds(tiers(t.tokenValidationFailure.warningRatio)),
    w: 12,
    h: 8,
    description: "Share of access-token validations that were invalid or expired, 5-minute window; dashed line: the alert's threshold.",
    linkedFrom: ["AuthTokenValidationFailureRate"],
  };
}

// ----------------------------------------------------- sessions and security

function sessions({ raw }: Scope): PanelSpec {
  return {
    id: P.sessions,
    builder: stackedPanel("Sessions by state", "short").withTarget(promql(`sum by (state) (${sel("auth_sessions", raw)})`, "{{state}}")),
    w: 8,
    h: 8,
    description: "Sessions the service holds, active and inactive.",
  };
}

function inactiveSessionRatio({ t, svc }: Scope): PanelSpec {
  return {
    id: P.inactiveSessionRatio,
    builder: timeseriesPanel("Inactive share of sessions", "percentunit")
      .withTarget(promql(inactiveSessionShare(svc), "inactive share"))
      .min(0)
      .max(1)
      .thresholds(steps("green", [t.sessionAnomaly.inactiveRatio, "orange"])),
    w: 8,
    h: 8,
    description: `Inactive sessions as a share of all sessions. The session anomaly alert (info) fires above the dashed line for ${t.sessionAnomaly.for}.`,
    linkedFrom: ["AuthSessionAnomaly"],
  };
}

function securityEvents({ raw }: Scope): PanelSpec {
  const per5m = (series: string) => `sum(increase(${series}[5m]))`;
  return {
    id: P.securityEvents,
    builder: timeseriesPanel("Security events (per 5 min)", "short")
      .withTarget(promql(per5m(sel("auth_refresh_total", { ...raw, result: "reuse_detected" })), "refresh-token reuse"))
      .withTarget(promql(per5m(sel("auth_csrf_failures_total", raw)), "CSRF failures"))
      .withTarget(promql(per5m(sel("auth_rate_limit_exceeded_total", raw)), "rate-limit rejections"))
      .withTarget(promql(per5m(sel("auth_account_lockouts_total", raw)), "account lockouts"))
      .min(0),
    w: 8,
    h: 8,
    description: `Security-relevant events in 5-minute windows. Their alerts, thresholds and the per-IP view are on the security dashboard (${DASHBOARD_UIDS.security}).`,
  };
}

// --------------------------------------------------------------------- flows

function oauth({ raw }: Scope): PanelSpec {
  return {
    id: P.oauth,
    builder: timeseriesPanel("OAuth flow steps", "ops")
      .withTarget(promql(`sum by (provider, step, result) (${rate(sel("auth_oauth_total", raw))})`, "{{provider}} {{step}} {{result}}"))
      .min(0),
    w: 8,
    h: 8,
    description: "OAuth flow steps per second by provider, step (start, callback, token) and result.",
  };
}

function guests({ raw }: Scope): PanelSpec {
  return {
    id: P.guests,
    builder: timeseriesPanel("Guest users", "ops").withTarget(promql(`sum by (event) (${rate(sel("auth_guest_total", raw))})`, "{{event}}")).min(0),
    w: 8,
    h: 8,
    description: "Guest user events per second: created, converted to a full account, expired.",
  };
}

function passwordResets({ raw }: Scope): PanelSpec {
  return {
    id: P.passwordResets,
    builder: timeseriesPanel("Password resets", "ops").withTarget(promql(`sum by (event) (${rate(sel("auth_password_reset_total", raw))})`, "{{event}}")).min(0),
    w: 8,
    h: 8,
    description: "Password reset events per second: requested, completed, failed.",
  };
}

// -------------------------------------------------------------------- errors

function errorHeatmap({ raw }: Scope): PanelSpec {
  return {
    id: P.errorHeatmap,
    builder: new heatmap.PanelBuilder()
      .title("Errors by type")
      .unit("ops")
      .withTarget(promql(`sum by (error_type) (${rate(sel("auth_errors_total", { ...raw, error_type: re(".+") }))})`, "{{error_type}}"))
      .calculate(false)
      .color(new heatmap.HeatmapColorOptionsBuilder().mode(heatmap.HeatmapColorMode.Scheme).scheme("Reds").exponent(0.5).steps(64).fill("dark-red").reverse(false))
      .yAxis(new heatmap.YAxisConfigBuilder().axisPlacement(common.AxisPlacement.Left))
      .cellValues(new heatmap.CellValuesBuilder().unit("ops"))
      .showValue(common.VisibilityMode.Never),
    w: 24,
    h: 8,
    description: "Auth errors per second, one row per error type: a darker cell is more errors of that type at that time.",
  };
}

function errorLogLines({ t }: Scope): PanelSpec {
  return {
    id: P.errorLogLines,
    builder: timeseriesPanel("Log lines at level error (per 5 min)", "short")
      .withTarget(logql(`sum(count_over_time(${errorLines(`{app="auth", env=~"$${VAR.env}"}`)} [5m]))`, "error lines"))
      .min(0)
      .thresholds(tiers(t.errorLogBurst.lines + 1)),
    w: 24,
    h: 7,
    description: `Auth log lines written at level error, in 5-minute windows; more than ${t.errorLogBurst.lines} warns.`,
    linkedFrom: ["AuthErrorLogBurst"],
  };
}
