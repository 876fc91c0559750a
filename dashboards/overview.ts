/**
 * auth-overview: is authentication working for people right now?
 * Seed 004's eleven panels (overview, login success rate, active sessions,
 * events timeline, latency, security events, OAuth, guests, password resets,
 * method distribution, error heatmap) and seed 003's authentication dashboard
 * (registration and token validation rates, response-time percentiles).
 */
import * as heatmap from "@grafana/grafana-foundation-sdk/heatmap";
import * as piechart from "@grafana/grafana-foundation-sdk/piechart";
import { sel, re } from "../src/promql";
import { pct } from "../alerts/common";
import { RECORDS } from "../alerts/recording";
import { spikeTerms } from "../alerts/authentication";
import {
  Board,
  common,
  ENV,
  INSTANCE,
  promql,
  record,
  round,
  stackedPanel,
  statPanel,
  steps,
  tiers,
  timeseriesPanel,
  upDown,
  type BuiltDashboard,
  type DashboardContext,
} from "../src/dashboards/kit";
import { DASHBOARD_UIDS } from "./uids";
import { PANELS } from "./panels";

const P = PANELS.overview;

export function overviewDashboard(ctx: DashboardContext): BuiltDashboard {
  const s = ctx.settings;
  const t = s.thresholds;
  const job = s.scrapeJobs.auth;
  const svc = { job, ...ENV } as const;
  /** Raw series of the service, narrowed to the chosen instances. */
  const raw = { job, ...ENV, ...INSTANCE } as const;
  const rate = (series: string) => `rate(${series}[$__rate_interval])`;
  const registrationSpike = spikeTerms(sel("auth_registrations_total", svc));
  const board = new Board(ctx, {
    key: "overview",
    title: "Auth / Overview",
    description: "Is authentication working for people right now: health, errors, logins, registrations, tokens, sessions and flows.",
    source: "dashboards/overview.ts",
    tags: ["auth", "overview"],
  });

  board
    .row(P.rowHealth, "Service health")
    .panel(
      P.serviceHealth,
      statPanel("Health probe", "none")
        .withTarget(promql(`min(${sel("probe_success", { job: s.scrapeJobs.authHealth, ...ENV })})`, "probe"))
        .mappings(upDown("UP", "DOWN"))
        .noValue("NO PROBE DATA")
        .thresholds(steps("red", [1, "green"])),
      {
        w: 4,
        h: 5,
        description: `The blackbox probe of /health (job ${s.scrapeJobs.authHealth}): DOWN when any probed instance fails. No data is as bad as DOWN: the alert fires on a missing probe too.`,
        alerts: ["AuthServiceDown"],
      },
    )
    .panel(
      P.requestRate,
      statPanel("Requests", "reqps")
        .withTarget(promql(`sum(${record(RECORDS.requestsRate, svc)})`, "requests/s"))
        .colorMode(common.BigValueColorMode.None),
      { w: 5, h: 5, description: "HTTP requests per second answered by the auth service over the last 5 minutes (recording rule, all instances)." },
    )
    .panel(
      P.errorRatio,
      statPanel("5xx share", "percentunit")
        .withTarget(promql(`max(${record(RECORDS.requests5xxRatio, svc)})`, "5xx share"))
        .decimals(2)
        .thresholds(tiers(t.errorRate.warningRatio, t.errorRate.criticalRatio)),
      {
        w: 5,
        h: 5,
        description: "Share of requests answered 5xx over the last 5 minutes: exactly what AuthHighErrorRate evaluates. Orange and red are the alert's warning and critical thresholds.",
        alerts: ["AuthHighErrorRate"],
      },
    )
    .panel(
      P.loginSuccessRate,
      statPanel("Login success rate", "percentunit")
        .withTarget(promql(`1 - max(${record(RECORDS.loginsFailedRatio, svc)})`, "success rate"))
        .decimals(1)
        // The alert watches the failed share; success below 1 - threshold is the same line seen from the other side.
        .thresholds(steps("red", [round(1 - t.loginFailure.criticalRatio), "orange"], [round(1 - t.loginFailure.warningRatio), "green"])),
      {
        w: 5,
        h: 5,
        description: `Share of login attempts that succeeded over the last 5 minutes. Orange below ${pct(1 - t.loginFailure.warningRatio)}, red below ${pct(1 - t.loginFailure.criticalRatio)}: the login failure alert's tiers seen from the success side.`,
        alerts: ["AuthHighLoginFailureRate"],
      },
    )
    .panel(
      P.activeSessions,
      statPanel("Active sessions", "short")
        .withTarget(promql(`sum(${sel("auth_sessions", { ...raw, state: "active" })})`, "active"))
        .colorMode(common.BigValueColorMode.None),
      { w: 5, h: 5, description: "Sessions the service currently counts as active (gauge auth_sessions, summed over the chosen instances)." },
    )

    .row(P.rowTraffic, "Traffic and latency")
    .panel(
      P.errorRatioTimeline,
      timeseriesPanel("5xx share of requests", "percentunit")
        .withTarget(promql(record(RECORDS.requests5xxRatio, svc), "5xx share ({{job}})"))
        .min(0)
        .thresholds(tiers(t.errorRate.warningRatio, t.errorRate.criticalRatio)),
      {
        w: 12,
        h: 8,
        description: "Share of requests answered 5xx, 5-minute window, the series AuthHighErrorRate evaluates. Dashed lines: its warning and critical thresholds.",
        alerts: ["AuthHighErrorRate"],
      },
    )
    .panel(
      P.responseTimePercentiles,
      timeseriesPanel("Response time percentiles", "s")
        .withTarget(promql(`histogram_quantile(0.5, sum by (le) (${rate(sel("http_request_duration_seconds_bucket", svc))}))`, "p50"))
        .withTarget(promql(record(RECORDS.requestP95, svc), "p95 (alerted)"))
        .withTarget(promql(`histogram_quantile(0.99, sum by (le) (${rate(sel("http_request_duration_seconds_bucket", svc))}))`, "p99"))
        .min(0)
        .thresholds(tiers(t.latency.warningSeconds, t.latency.criticalSeconds)),
      {
        w: 12,
        h: 8,
        description: "Request latency percentiles of the whole service. The p95 line is the recording rule AuthLatencyHigh evaluates; dashed lines are its warning and critical thresholds.",
        alerts: ["AuthLatencyHigh"],
      },
    )
    .panel(
      P.eventsTimeline,
      timeseriesPanel("Authentication events", "ops")
        .withTarget(promql(`sum by (result) (${rate(sel("auth_logins_total", raw))})`, "login {{result}}"))
        .withTarget(promql(`sum by (result) (${rate(sel("auth_registrations_total", raw))})`, "registration {{result}}"))
        .withTarget(promql(`sum by (result) (${rate(sel("auth_refresh_total", raw))})`, "refresh {{result}}"))
        .withTarget(promql(`sum(${rate(sel("auth_operation_duration_seconds_count", { ...raw, operation: "logout" }))})`, "logout"))
        .min(0),
      { w: 24, h: 8, description: "Authentication events per second by kind and result: logins, registrations, refresh-token exchanges and logouts." },
    )

    .row(P.rowLogins, "Logins")
    .panel(
      P.loginFailureRatio,
      timeseriesPanel("Failed share of logins", "percentunit")
        .withTarget(promql(record(RECORDS.loginsFailedRatio, svc), "failed share ({{job}})"))
        .min(0)
        .max(1)
        .thresholds(tiers(t.loginFailure.warningRatio, t.loginFailure.criticalRatio)),
      {
        w: 8,
        h: 8,
        description: `Share of login attempts that failed, 5-minute window. The alert counts only when there were at least ${t.loginFailure.minAttempts} attempts in those 5 minutes; dashed lines are its warning and critical thresholds.`,
        alerts: ["AuthHighLoginFailureRate"],
      },
    )
    .panel(
      P.loginMethods,
      new piechart.PanelBuilder()
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
      { w: 8, h: 8, description: "Login attempts in the dashboard's time range by method (password, OAuth, magic link, guest)." },
    )
    .panel(
      P.loginFailureReasons,
      stackedPanel("Failed logins by reason", "ops").withTarget(
        promql(`sum by (reason) (${rate(sel("auth_logins_total", { ...raw, result: "failure" }))})`, "{{reason}}"),
      ),
      { w: 8, h: 8, description: "Failed login attempts per second by reason: invalid credentials, locked account, MFA failure, rate limited, other." },
    )

    .row(P.rowRegistrationsTokens, "Registrations and tokens")
    .panel(
      P.registrations,
      stackedPanel("Registrations", "ops").withTarget(promql(`sum by (result) (${rate(sel("auth_registrations_total", raw))})`, "{{result}}")),
      { w: 8, h: 8, description: "Registrations per second by result." },
    )
    .panel(
      P.registrationFailureRatio,
      timeseriesPanel("Failed share of registrations", "percentunit")
        .withTarget(promql(record(RECORDS.registrationsFailedRatio, svc), "failed share ({{job}})"))
        .min(0)
        .max(1)
        .thresholds(tiers(t.registrationFailure.warningRatio)),
      {
        w: 8,
        h: 8,
        description: `Share of registrations that failed, 5-minute window; the alert counts only above ${t.registrationFailure.minAttempts} attempts in 5 minutes. Dashed line: its threshold.`,
        alerts: ["AuthHighRegistrationFailureRate"],
      },
    )
    .panel(
      P.registrationSpike,
      timeseriesPanel("Registrations vs. yesterday", "short")
        .withTarget(promql(registrationSpike.current, "registrations, last 10m"))
        .withTarget(
          promql(
            `${t.registrationSpike.factor} * ${registrationSpike.dayBefore}`,
            `alert line: ${t.registrationSpike.factor}x the same 10m yesterday`,
          ),
        )
        .min(0)
        .thresholds(steps("green", [t.registrationSpike.minRegistrations, "orange"])),
      {
        w: 8,
        h: 8,
        description: `Registrations in the last 10 minutes against ${t.registrationSpike.factor} times the same 10 minutes one day earlier. The spike alert fires when the first line is above the second and above the floor of ${t.registrationSpike.minRegistrations} (dashed).`,
        alerts: ["AuthRegistrationSpike"],
      },
    )
    .panel(
      P.tokenValidations,
      stackedPanel("Token validations", "ops").withTarget(promql(`sum by (result) (${rate(sel("auth_token_validations_total", raw))})`, "{{result}}")),
      { w: 12, h: 8, description: "Access-token validations per second by result: valid, invalid, expired." },
    )
    .panel(
      P.tokenValidationFailureRatio,
      timeseriesPanel("Invalid or expired share of validations", "percentunit")
        .withTarget(promql(record(RECORDS.tokenValidationsFailedRatio, svc), "invalid + expired ({{job}})"))
        .min(0)
        .thresholds(tiers(t.tokenValidationFailure.warningRatio)),
      {
        w: 12,
        h: 8,
        description: "Share of access-token validations that were invalid or expired, 5-minute window; dashed line: the alert's threshold.",
        alerts: ["AuthTokenValidationFailureRate"],
      },
    )

    .row(P.rowSessionsSecurity, "Sessions and security")
    .panel(
      P.sessions,
      stackedPanel("Sessions by state", "short").withTarget(promql(`sum by (state) (${sel("auth_sessions", raw)})`, "{{state}}")),
      { w: 8, h: 8, description: "Sessions the service holds, active and inactive." },
    )
    .panel(
      P.inactiveSessionRatio,
      timeseriesPanel("Inactive share of sessions", "percentunit")
        .withTarget(promql(`sum(${sel("auth_sessions", { ...svc, state: "inactive" })}) / sum(${sel("auth_sessions", svc)})`, "inactive share"))
        .min(0)
        .max(1)
        .thresholds(steps("green", [t.sessionAnomaly.inactiveRatio, "orange"])),
      {
        w: 8,
        h: 8,
        description: `Inactive sessions as a share of all sessions. The session anomaly alert (info) fires above the dashed line for ${t.sessionAnomaly.for}.`,
        alerts: ["AuthSessionAnomaly"],
      },
    )
    .panel(
      P.securityEvents,
      timeseriesPanel("Security events (per 5 min)", "short")
        .withTarget(promql(`sum(increase(${sel("auth_refresh_total", { ...raw, result: "reuse_detected" })}[5m]))`, "refresh-token reuse"))
        .withTarget(promql(`sum(increase(${sel("auth_csrf_failures_total", raw)}[5m]))`, "CSRF failures"))
        .withTarget(promql(`sum(increase(${sel("auth_rate_limit_exceeded_total", raw)}[5m]))`, "rate-limit rejections"))
        .withTarget(promql(`sum(increase(${sel("auth_account_lockouts_total", raw)}[5m]))`, "account lockouts"))
        .min(0),
      {
        w: 8,
        h: 8,
        description: `Security-relevant events in 5-minute windows. Their alerts, thresholds and the per-IP view are on the security dashboard (${DASHBOARD_UIDS.security}).`,
      },
    )

    .row(P.rowFlows, "Flows")
    .panel(
      P.oauth,
      timeseriesPanel("OAuth flow steps", "ops")
        .withTarget(promql(`sum by (provider, step, result) (${rate(sel("auth_oauth_total", raw))})`, "{{provider}} {{step}} {{result}}"))
        .min(0),
      { w: 8, h: 8, description: "OAuth flow steps per second by provider, step (start, callback, token) and result." },
    )
    .panel(
      P.guests,
      timeseriesPanel("Guest users", "ops").withTarget(promql(`sum by (event) (${rate(sel("auth_guest_total", raw))})`, "{{event}}")).min(0),
      { w: 8, h: 8, description: "Guest user events per second: created, converted to a full account, expired." },
    )
    .panel(
      P.passwordResets,
      timeseriesPanel("Password resets", "ops")
        .withTarget(promql(`sum by (event) (${rate(sel("auth_password_reset_total", raw))})`, "{{event}}"))
        .min(0),
      { w: 8, h: 8, description: "Password reset events per second: requested, completed, failed." },
    )

    .row(P.rowErrors, "Errors")
    .panel(
      P.errorHeatmap,
      new heatmap.PanelBuilder()
        .title("Errors by type")
        .unit("ops")
        .withTarget(promql(`sum by (error_type) (${rate(sel("auth_errors_total", { ...raw, error_type: re(".+") }))})`, "{{error_type}}"))
        .calculate(false)
        .color(new heatmap.HeatmapColorOptionsBuilder().mode(heatmap.HeatmapColorMode.Scheme).scheme("Reds").exponent(0.5).steps(64).fill("dark-red").reverse(false))
        .yAxis(new heatmap.YAxisConfigBuilder().axisPlacement(common.AxisPlacement.Left))
        .cellValues(new heatmap.CellValuesBuilder().unit("ops"))
        .showValue(common.VisibilityMode.Never),
      { w: 24, h: 8, description: "Auth errors per second, one row per error type: a darker cell is more errors of that type at that time." },
    );

  return board.build();
}
