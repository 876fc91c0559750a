/** Are people able to log in, register and use their tokens, and is anything unusual going on? */
import type { PromRuleGroup } from "../src/model";
import type { Settings } from "../src/settings";
import { num, rec, sel } from "../src/promql";
import { alert, pct } from "./common";
import { RECORDS } from "./recording";
import { INVALID_TOKEN_RESULTS, inactiveSessionShare, spikeTerms, trafficFloor } from "./terms";

export function authenticationAlerts(s: Settings): PromRuleGroup {
  const t = s.thresholds;
  const job = s.scrapeJobs.auth;
  const logins = sel("auth_logins_total", { job });
  const registrations = sel("auth_registrations_total", { job });
  const invalidTokens = sel("auth_token_validations_total", { job, result: INVALID_TOKEN_RESULTS });
  const spikeExpr = (series: string, factor: number, floor: number) => {
    const { current, baseline, seasonal } = spikeTerms(series, floor, ["job"]);
    return `${current} > ${num(factor)} * ${baseline} and ${current} >= ${floor} unless on (job) ${current} <= ${num(factor)} * ${seasonal}`;
  };

  const loginFailureTier = (severity: "warning" | "critical", ratio: number, minAttempts: number) =>
    alert({
      alert: "AuthHighLoginFailureRate",
      // The traffic floor keeps three failed logins out of five at 4 a.m. from paging anyone.
      expr:
        `${rec(RECORDS.loginsFailedRatio, { job })} > ${num(ratio)}` +
        ` and on (job) sum by (job) (increase(${logins}[5m])) >= ${minAttempts}`,
      severity,
      service: "auth",
      category: "authentication",
      summary: `More than ${pct(ratio)} of logins fail`,
      description: `{{ $value | humanizePercentage }} of login attempts failed over the last 5m (threshold ${pct(ratio)}, counted from ${minAttempts} attempts in 5m).`,
    });

  return {
    name: "auth-authentication",
    source: "alerts/authentication.ts",
    rules: [
      loginFailureTier("critical", t.loginFailure.criticalRatio, t.loginFailure.criticalMinAttempts),
      loginFailureTier("warning", t.loginFailure.warningRatio, t.loginFailure.minAttempts),
      alert({
        alert: "AuthHighRegistrationFailureRate",
        expr:
          `${rec(RECORDS.registrationsFailedRatio, { job })} > ${num(t.registrationFailure.warningRatio)}` +
          ` and on (job) sum by (job) (increase(${registrations}[5m])) >= ${t.registrationFailure.minAttempts}`,
        for: t.registrationFailure.for,
        severity: "warning",
        service: "auth",
        category: "authentication",
        summary: `More than ${pct(t.registrationFailure.warningRatio)} of registrations fail`,
        description: `{{ $value | humanizePercentage }} of registrations failed over the last 5m (threshold ${pct(t.registrationFailure.warningRatio)}, counted from ${t.registrationFailure.minAttempts} attempts in 5m), for ${t.registrationFailure.for}.`,
      }),
      alert({
        alert: "AuthTokenValidationFailureRate",
        expr:
          `${rec(RECORDS.tokenValidationsFailedRatio, { job })} > ${num(t.tokenValidationFailure.warningRatio)}` +
          trafficFloor(sel("auth_token_validations_total", { job }), t.tokenValidationFailure.minValidations, ["job"]),
        severity: "warning",
        service: "auth",
        category: "authentication",
        summary: `More than ${pct(t.tokenValidationFailure.warningRatio)} of token validations fail`,
        description: `{{ $value | humanizePercentage }} of access-token validations were invalid or expired over the last 5m (threshold ${pct(t.tokenValidationFailure.warningRatio)}, counted from ${t.tokenValidationFailure.minValidations} validations in 5m).`,
      }),
      alert({
        alert: "AuthRegistrationSpike",
        // Compared with the same 10 minutes one day earlier, or with the busiest 10 minutes of the hour before where that day has no data;
        // no spike where it is no rise against one week (or three days) earlier: the weekly cycle.
        expr: spikeExpr(registrations, t.registrationSpike.factor, t.registrationSpike.minRegistrations),
        severity: "warning",
        service: "auth",
        category: "authentication",
        summary: `Registrations are more than ${t.registrationSpike.factor}x their usual rate`,
        description: `{{ $value | humanize }} registrations in the last 10m, more than ${t.registrationSpike.factor}x the same 10m one day earlier (or, without data then, the busiest 10m of the hour before, at least the floor) and than one week (or three days) earlier (floor ${t.registrationSpike.minRegistrations}).`,
      }),
      alert({
        alert: "AuthInvalidTokenSpike",
        expr: spikeExpr(invalidTokens, t.invalidTokenSpike.factor, t.invalidTokenSpike.minInvalid),
        severity: "warning",
        service: "auth",
        category: "authentication",
        summary: `Invalid and expired tokens are more than ${t.invalidTokenSpike.factor}x their usual rate`,
        description: `{{ $value | humanize }} invalid or expired tokens in the last 10m, more than ${t.invalidTokenSpike.factor}x the same 10m one day earlier (or, without data then, the busiest 10m of the hour before, at least the floor) and than one week (or three days) earlier (floor ${t.invalidTokenSpike.minInvalid}).`,
      }),
      alert({
        alert: "AuthSessionAnomaly",
        expr: `${inactiveSessionShare({ job }, ["job"])} > ${num(t.sessionAnomaly.inactiveRatio)}`,
        for: t.sessionAnomaly.for,
        severity: "info",
        service: "auth",
        category: "authentication",
        summary: `More than ${pct(t.sessionAnomaly.inactiveRatio)} of sessions are inactive`,
        description: `{{ $value | humanizePercentage }} of sessions are inactive (threshold ${pct(t.sessionAnomaly.inactiveRatio)} for ${t.sessionAnomaly.for}).`,
      }),
    ],
  };
}
