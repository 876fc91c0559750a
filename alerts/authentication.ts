/** Are people able to log in, register and use their tokens, and is anything unusual going on? */
import type { PromRuleGroup } from "../src/model";
import type { Settings } from "../src/settings";
import { num, rec, sel } from "../src/promql";
import { PANELS } from "../dashboards/panels";
import { alert, dash, pct } from "./common";
import { RECORDS } from "./recording";

/**
 * The spike comparison of AuthRegistrationSpike and AuthInvalidTokenSpike, shared with
 * their dashboard panels: events in the last 10 minutes, and the same 10 minutes one day earlier.
 */
export function spikeTerms(series: string, by: readonly string[] = []): { current: string; dayBefore: string } {
  const sum = by.length === 0 ? "sum(" : `sum by (${by.join(", ")}) (`;
  return { current: `${sum}increase(${series}[10m]))`, dayBefore: `${sum}increase(${series}[10m] offset 1d))` };
}

export function authenticationAlerts(s: Settings): PromRuleGroup {
  const t = s.thresholds;
  const job = s.scrapeJobs.auth;
  const logins = sel("auth_logins_total", { job });
  const registrations = sel("auth_registrations_total", { job });
  const invalidTokens = sel("auth_token_validations_total", { job, result: "invalid" });
  const spikeExpr = (series: string, factor: number, floor: number) => {
    const { current, dayBefore } = spikeTerms(series, ["job"]);
    return `${current} > ${num(factor)} * ${dayBefore} and ${current} >= ${floor}`;
  };

  const loginFailureTier = (severity: "warning" | "critical", ratio: number) =>
    alert({
      alert: "AuthHighLoginFailureRate",
      // The traffic floor keeps three failed logins out of five at 4 a.m. from paging anyone.
      expr:
        `${rec(RECORDS.loginsFailedRatio, { job })} > ${num(ratio)}` +
        ` and on (job) sum by (job) (increase(${logins}[5m])) >= ${t.loginFailure.minAttempts}`,
      severity,
      service: "auth",
      category: "authentication",
      summary: `More than ${pct(ratio)} of logins fail`,
      description: `{{ $value | humanizePercentage }} of login attempts failed over the last 5m (threshold ${pct(ratio)}, counted from ${t.loginFailure.minAttempts} attempts in 5m).`,
      dashboard: dash("overview", PANELS.overview.loginFailureRatio),
    });

  return {
    name: "auth-authentication",
    source: "alerts/authentication.ts",
    rules: [
      loginFailureTier("critical", t.loginFailure.criticalRatio),
      loginFailureTier("warning", t.loginFailure.warningRatio),
      alert({
        alert: "AuthHighRegistrationFailureRate",
        expr:
          `${rec(RECORDS.registrationsFailedRatio, { job })} > ${num(t.registrationFailure.warningRatio)}` +
          ` and on (job) sum by (job) (increase(${registrations}[5m])) >= ${t.registrationFailure.minAttempts}`,
        severity: "warning",
        service: "auth",
        category: "authentication",
        summary: `More than ${pct(t.registrationFailure.warningRatio)} of registrations fail`,
        description: `{{ $value | humanizePercentage }} of registrations failed over the last 5m (threshold ${pct(t.registrationFailure.warningRatio)}, counted from ${t.registrationFailure.minAttempts} attempts in 5m).`,
        dashboard: dash("overview", PANELS.overview.registrationFailureRatio),
      }),
      alert({
        alert: "AuthTokenValidationFailureRate",
        expr: `${rec(RECORDS.tokenValidationsFailedRatio, { job })} > ${num(t.tokenValidationFailure.warningRatio)}`,
        severity: "warning",
        service: "auth",
        category: "authentication",
        summary: `More than ${pct(t.tokenValidationFailure.warningRatio)} of token validations fail`,
        description: `{{ $value | humanizePercentage }} of access-token validations were invalid or expired over the last 5m (threshold ${pct(t.tokenValidationFailure.warningRatio)}).`,
        dashboard: dash("overview", PANELS.overview.tokenValidationFailureRatio),
      }),
      alert({
        alert: "AuthRegistrationSpike",
        // Compared with the same 10 minutes one day earlier; a day without data yields no alert.
        expr: spikeExpr(registrations, t.registrationSpike.factor, t.registrationSpike.minRegistrations),
        severity: "warning",
        service: "auth",
        category: "authentication",
        summary: `Registrations are more than ${t.registrationSpike.factor}x the same time yesterday`,
        description: `{{ $value | humanize }} registrations in the last 10m, more than ${t.registrationSpike.factor}x the same 10m one day earlier (floor ${t.registrationSpike.minRegistrations}).`,
        dashboard: dash("overview", PANELS.overview.registrationSpike),
      }),
      alert({
        alert: "AuthInvalidTokenSpike",
        expr: spikeExpr(invalidTokens, t.invalidTokenSpike.factor, t.invalidTokenSpike.minInvalid),
        severity: "warning",
        service: "auth",
        category: "authentication",
        summary: `Invalid tokens are more than ${t.invalidTokenSpike.factor}x the same time yesterday`,
        description: `{{ $value | humanize }} invalid tokens in the last 10m, more than ${t.invalidTokenSpike.factor}x the same 10m one day earlier (floor ${t.invalidTokenSpike.minInvalid}).`,
        dashboard: dash("security", PANELS.security.invalidTokens),
      }),
      alert({
        alert: "AuthSessionAnomaly",
        expr:
          `sum by (job) (${sel("auth_sessions", { job, state: "inactive" })}) / sum by (job) (${sel("auth_sessions", { job })})` +
          ` > ${num(t.sessionAnomaly.inactiveRatio)}`,
        for: t.sessionAnomaly.for,
        severity: "info",
        service: "auth",
        category: "authentication",
        summary: `More than ${pct(t.sessionAnomaly.inactiveRatio)} of sessions are inactive`,
        description: `{{ $value | humanizePercentage }} of sessions are inactive (threshold ${pct(t.sessionAnomaly.inactiveRatio)} for ${t.sessionAnomaly.for}).`,
        dashboard: dash("overview", PANELS.overview.inactiveSessionRatio),
      }),
    ],
  };
}
