/**
 * auth-security: is someone attacking the service or its users? (seed 003's
 * security dashboard). Rates come from Prometheus; anything per IP, per
 * country or per user comes from the security event log in Loki, because
 * those are never metric labels (docs/telemetry.md).
 */
import * as bargauge from "@grafana/grafana-foundation-sdk/bargauge";
import * as logs from "@grafana/grafana-foundation-sdk/logs";
import type { Settings } from "../src/settings";
import { sel } from "../src/promql";
import { INVALID_TOKEN_RESULTS, perMinute, spikeTerms, sumIncrease } from "../alerts/terms";
import { common, ENV, logql, promql, steps, tablePanel, tiers, timeseriesPanel, VAR } from "../src/dashboards/kit";
import { Board, type BuiltDashboard, type DashboardContext, type PanelSpec } from "../src/dashboards/board";
import { PANELS } from "./panels";

const P = PANELS.security;

export function securityDashboard(ctx: DashboardContext): BuiltDashboard {
  const q = scope(ctx.settings);
  return new Board(ctx, {
    key: "security",
    title: "Auth / Security",
    description: "Signs of attack or credential theft: failed logins by IP and country, rate limiting, invalid and reused tokens, CSRF, lockouts, and the security event log.",
    source: "dashboards/security.ts",
    tags: ["auth", "security"],
  })
    .row(P.rowFailedLogins, "Failed logins")
    .panels(bruteForceByIp(q), failedLoginsByIpTimeline(q), failedLoginsByCountry(q), failedLoginsByIpHour(q), accountFailures(q), failedLoginsPerHour(q))
    .row(P.rowSignIns, "Where people sign in from")
    .panels(geoAnomaly(q), loginsByCountry(q), registrationsByIp(q))
    .row(P.rowAbuse, "Rate limits, tokens, lockouts")
    .panels(rateLimit(q), invalidTokens(q), lockouts(q), refreshReuse(q), csrf(q))
    .row(P.rowLogs, "Logs")
    .panels(rlsViolations(), securityLog(q))
    .build();
}

/** What the panels read: the settings and the series selections the dashboard's variables narrow. */
function scope(s: Settings) {
  const t = s.thresholds;
  const svc = { job: s.scrapeJobs.auth, ...ENV } as const;
  /** The security event stream (docs/telemetry.md "Logs"), fields parsed from its JSON lines. */
  const events = `{app="auth", category="security", env=~"$${VAR.env}"} | json`;
  const failures = `${events} | evt="auth.login.failure"`;
  return { t, svc, events, failures };
}
type Scope = ReturnType<typeof scope>;

function bruteForceByIp({ t, failures }: Scope): PanelSpec {
  return {
    id: P.bruteForceByIp,
    builder: tablePanel("Failed logins by IP, last 10 min", "short", "failed logins (10m)")
      .withTarget(logql(`topk(20, sum by (ip) (count_over_time(${failures} [10m])))`, "{{ip}}", { instant: true }))
      .thresholds(tiers(t.bruteForce.failuresPerIp)),
    w: 8,
    h: 9,
    description: `The 20 IP addresses with the most failed logins in the last 10 minutes, from the security event log. Orange from the brute-force alert's threshold, ${t.bruteForce.failuresPerIp} per 10 minutes.`,
    linkedFrom: ["AuthBruteForceSuspected"],
  };
}

function failedLoginsByIpTimeline({ t, failures }: Scope): PanelSpec {
  return {
    id: P.failedLoginsByIpTimeline,
    builder: timeseriesPanel("Failed logins per 10 min, top 10 IPs", "short")
      .withTarget(logql(`topk(10, sum by (ip) (count_over_time(${failures} [10m])))`, "{{ip}}"))
      .min(0)
      .thresholds(tiers(t.bruteForce.failuresPerIp)),
    w: 8,
    h: 9,
    description: "Failed logins per IP over sliding 10-minute windows, the count the brute-force alert evaluates; the dashed line is its threshold.",
    alerts: ["AuthBruteForceSuspected"],
  };
}

function failedLoginsByCountry({ failures }: Scope): PanelSpec {
  return {
    id: P.failedLoginsByCountry,
    builder: tablePanel("Failed logins by country", "short", "failed logins")
      .withTarget(logql(`sum by (country) (count_over_time(${failures} [$__range]))`, "{{country}}", { instant: true }))
      .thresholds(steps("text")),
    w: 8,
    h: 9,
    description: "Failed logins in the dashboard's time range by the country the service resolved for the client address.",
  };
}

function geoAnomaly({ t, events }: Scope): PanelSpec {
  return {
    id: P.geoAnomaly,
    builder: tablePanel("Users signing in from several countries within 1 h", "short", "countries (1h)")
      .withTarget(
        logql(
          `count by (userId) (sum by (userId, country) (count_over_time(${events} | evt="auth.login.success" [1h]))) > ${t.geoAnomaly.maxCountries}`,
          "{{userId}}",
          { instant: true },
        ),
      )
      .thresholds(steps("green", [t.geoAnomaly.maxCountries + 1, "orange"])),
    w: 12,
    h: 8,
    description: `Users whose successful logins in the last hour came from more than ${t.geoAnomaly.maxCountries} countr${t.geoAnomaly.maxCountries === 1 ? "y" : "ies"}: the geo anomaly alert's condition. Empty is good.`,
    linkedFrom: ["AuthLoginGeoAnomaly"],
  };
}

function loginsByCountry({ events, failures }: Scope): PanelSpec {
  return {
    id: P.loginsByCountry,
    builder: new bargauge.PanelBuilder()
      .title("Login attempts by country")
      .unit("short")
      .withTarget(logql(`sum by (country) (count_over_time(${events} | evt="auth.login.success" [$__range]))`, "{{country}} succeeded", { instant: true }))
      .withTarget(logql(`sum by (country) (count_over_time(${failures} [$__range]))`, "{{country}} failed", { instant: true }))
      .displayMode(common.BarGaugeDisplayMode.Basic)
      .orientation(common.VizOrientation.Horizontal)
      .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(["lastNotNull"]).values(false))
      .thresholds(steps("blue")),
    w: 12,
    h: 8,
    description: "Geographic distribution of login attempts (successful and failed) in the dashboard's time range.",
  };
}

function rateLimit({ t, svc }: Scope): PanelSpec {
  return {
    id: P.rateLimit,
    builder: timeseriesPanel("Rate-limit rejections per minute", "short")
      .withTarget(promql(perMinute(sel("auth_rate_limit_exceeded_total", svc), ["endpoint"]), "{{endpoint}}"))
      .withTarget(promql(perMinute(sel("auth_rate_limit_exceeded_total", svc)), "all endpoints"))
      .axisLabel("rejections / min")
      .min(0)
      .thresholds(tiers(t.rateLimit.warningPerMinute, t.rateLimit.criticalPerMinute)),
    w: 12,
    h: 8,
    description: `Requests rejected by the rate limiter, per minute, by endpoint and in total. Warning above ${t.rateLimit.warningPerMinute}/min for ${t.rateLimit.warningFor}, critical above ${t.rateLimit.criticalPerMinute} in one minute (dashed lines).`,
    linkedFrom: ["AuthRateLimitSpike"],
  };
}

function invalidTokens({ t, svc }: Scope): PanelSpec {
  const invalidSpike = spikeTerms(sel("auth_token_validations_total", { ...svc, result: INVALID_TOKEN_RESULTS }), t.invalidTokenSpike.minInvalid);
  return {
    id: P.invalidTokens,
    builder: timeseriesPanel("Invalid tokens vs. yesterday", "short")
      .withTarget(promql(invalidSpike.current, "invalid or expired tokens, last 10m"))
      .withTarget(
        promql(
          `${t.invalidTokenSpike.factor} * ${invalidSpike.baseline}`,
          `alert line: ${t.invalidTokenSpike.factor}x the same 10m yesterday (or the hour before)`,
        ),
      )
      .min(0)
      .thresholds(steps("green", [t.invalidTokenSpike.minInvalid, "orange"])),
    w: 12,
    h: 8,
    description: `Invalid or expired access tokens presented in the last 10 minutes against ${t.invalidTokenSpike.factor} times the same 10 minutes one day earlier (where that day has no data, the busiest 10 minutes of the hour before, at least the alert's floor). The spike alert fires when the first line is above the second and above the floor of ${t.invalidTokenSpike.minInvalid} (dashed).`,
    linkedFrom: ["AuthInvalidTokenSpike"],
  };
}

function lockouts({ svc }: Scope): PanelSpec {
  return {
    id: P.lockouts,
    builder: timeseriesPanel("Account lockouts (per 5 min)", "short")
      .withTarget(promql(`sum(increase(${sel("auth_account_lockouts_total", svc)}[5m]))`, "lockouts, last 5m"))
      .min(0),
    w: 8,
    h: 8,
    description: "Accounts locked after repeated failures, in 5-minute windows. A rise with many failed logins per IP is a brute-force attempt.",
  };
}

function refreshReuse({ svc }: Scope): PanelSpec {
  return {
    id: P.refreshReuse,
    builder: timeseriesPanel("Refresh-token reuse (per 5 min)", "short")
      .withTarget(promql(sumIncrease(sel("auth_refresh_total", { ...svc, result: "reuse_detected" }), "5m"), "reuse detected"))
      .min(0)
      .thresholds(steps("green", [1, "red"])),
    w: 8,
    h: 8,
    description: "Refresh tokens presented a second time, in 5-minute windows. Any reuse pages (the family was revoked; find the user in the auth.refresh.reuse events below).",
    linkedFrom: ["AuthRefreshTokenReuse"],
  };
}

function csrf({ t, svc }: Scope): PanelSpec {
  return {
    id: P.csrf,
    builder: timeseriesPanel("CSRF failures (per 5 min)", "short")
      .withTarget(promql(sumIncrease(sel("auth_csrf_failures_total", svc), "5m"), "CSRF failures, last 5m"))
      .min(0)
      .thresholds(tiers(t.csrf.warningCount)),
    w: 8,
    h: 8,
    description: `CSRF validation failures in 5-minute windows; the alert warns above ${t.csrf.warningCount} (dashed).`,
    linkedFrom: ["AuthCSRFFailures"],
  };
}

function rlsViolations(): PanelSpec {
  return {
    id: P.rlsViolations,
    builder: timeseriesPanel("PostgreSQL row-level security refusals (per 5 min)", "short")
      .withTarget(logql(`sum(count_over_time({app="postgres", env=~"$${VAR.env}"} |= "row-level security" [5m]))`, "RLS log lines"))
      .min(0)
      .thresholds(steps("green", [1, "orange"])),
    w: 24,
    h: 6,
    description: "PostgreSQL log lines about row-level security in 5-minute windows: a query touched rows its role may not see. Any line warns.",
    linkedFrom: ["DatabaseRLSViolation"],
  };
}

function securityLog({ events }: Scope): PanelSpec {
  return {
    id: P.securityLog,
    builder: new logs.PanelBuilder()
      .title("Security events")
      .withTarget(logql(events, undefined, { maxLines: 500 }))
      .showTime(true)
      .wrapLogMessage(true)
      .prettifyLogMessage(false)
      .enableLogDetails(true)
      .sortOrder(common.LogsSortOrder.Descending),
    w: 24,
    h: 12,
    description: "The raw security event log (logins, refresh rotation and reuse, rate limiting, CSRF, lockouts), newest first. Retained for a year. It holds personal data (e-mail and IP addresses): keep the folder's permissions narrow.",
  };
}

function failedLoginsByIpHour({ t, failures }: Scope): PanelSpec {
  return {
    id: P.failedLoginsByIpHour,
    builder: tablePanel("Failed logins by IP, last hour", "short", "failed logins (1h)")
      .withTarget(logql(`topk(20, sum by (ip) (count_over_time(${failures} [1h])))`, "{{ip}}", { instant: true }))
      .thresholds(tiers(t.bruteForceHourly.failuresPerIp)),
    w: 8,
    h: 9,
    description: `The 20 IP addresses with the most failed logins in the last hour: the brute-force alert's info tier, above ${t.bruteForceHourly.failuresPerIp} per hour (orange), catches an attempt too slow for the 10-minute tier.`,
    alerts: ["AuthBruteForceSuspected"],
  };
}

function accountFailures({ t, failures }: Scope): PanelSpec {
  return {
    id: P.accountFailures,
    builder: tablePanel("Failed logins by account, last hour", "short", "failed logins (1h)")
      .withTarget(logql(`topk(20, sum by (email) (count_over_time(${failures} | email!="" [1h])))`, "{{email}}", { instant: true }))
      .thresholds(tiers(t.accountBruteForce.failuresPerAccount + 1)),
    w: 8,
    h: 9,
    description: `The 20 accounts (e-mail addresses) with the most failed logins in the last hour. More than ${t.accountBruteForce.failuresPerAccount} warns; the alert itself names no account (no e-mail address in chat), this table does: keep the folder's permissions narrow.`,
    linkedFrom: ["AuthAccountBruteForce"],
  };
}

function failedLoginsPerHour({ t, svc }: Scope): PanelSpec {
  return {
    id: P.failedLoginsPerHour,
    builder: timeseriesPanel("Failed logins per hour, whole service", "short")
      .withTarget(promql(sumIncrease(sel("auth_logins_total", { ...svc, result: "failure" }), "1h"), "failed logins, last 1h"))
      .min(0)
      .thresholds(tiers(t.failedLogins.perHour)),
    w: 8,
    h: 9,
    description: `Failed logins across the service in the last hour; above ${t.failedLogins.perHour} (dashed, set above this stack's normal hourly failures) an e-mail goes to on-call.`,
    linkedFrom: ["AuthFailedLoginsHigh"],
  };
}

function registrationsByIp({ t, events }: Scope): PanelSpec {
  return {
    id: P.registrationsByIp,
    builder: tablePanel("Registrations by IP, last hour", "short", "registrations (1h)")
      .withTarget(logql(`topk(20, sum by (ip) (count_over_time(${events} | evt="auth.register.success" [1h])))`, "{{ip}}", { instant: true }))
      .thresholds(tiers(t.registrationsPerIp.perHour + 1)),
    w: 24,
    h: 8,
    description: `The 20 IP addresses with the most successful registrations in the last hour; more than ${t.registrationsPerIp.perHour} from one IP warns (fake accounts made in bulk).`,
    linkedFrom: ["AuthRegistrationsFromOneIP"],
  };
}
