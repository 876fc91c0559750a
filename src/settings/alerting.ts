/**
 * What the alerts compare against: every threshold of contracts/alerts.md and
 * the SLOs, each a named setting whose default is the prod value.
 */
import { z } from "zod";
import { HTTP_DURATION_BUCKETS } from "../telemetry";
import { count, duration, factor, obj, ratio, seconds, type IssueSink } from "./fields";

export const thresholdsSchema = obj({
  serviceDown: obj({ for: duration.default("1m") }),
  errorRate: obj({
    warningRatio: ratio.default(0.01),
    warningFor: duration.default("5m"),
    criticalRatio: ratio.default(0.05),
    criticalFor: duration.default("2m"),
  }),
  latency: obj({ warningSeconds: seconds.default(0.5), criticalSeconds: seconds.default(1), for: duration.default("5m") }),
  loginLatency: obj({ warningSeconds: seconds.default(2), for: duration.default("5m") }),
  refreshLatency: obj({ warningSeconds: seconds.default(1), for: duration.default("5m") }),
  tokenValidationLatency: obj({
    warningSeconds: seconds.default(0.05),
    criticalSeconds: seconds.default(0.1),
    for: duration.default("5m"),
  }),
  loginFailure: obj({ warningRatio: ratio.default(0.1), criticalRatio: ratio.default(0.2), minAttempts: count.default(20) }),
  registrationFailure: obj({ warningRatio: ratio.default(0.1), minAttempts: count.default(20) }),
  tokenValidationFailure: obj({ warningRatio: ratio.default(0.05) }),
  registrationSpike: obj({ factor: factor.default(5), minRegistrations: count.default(20) }),
  invalidTokenSpike: obj({ factor: factor.default(3), minInvalid: count.default(20) }),
  sessionAnomaly: obj({ inactiveRatio: ratio.default(0.5), for: duration.default("30m") }),
  rateLimit: obj({ warningPerMinute: count.default(10), warningFor: duration.default("5m"), criticalPerMinute: count.default(100) }),
  csrf: obj({ warningCount: count.default(10) }),
  bruteForce: obj({ failuresPerIp: count.default(50) }),
  geoAnomaly: obj({ maxCountries: count.default(1) }),
  memory: obj({ warningRatio: ratio.default(0.8), for: duration.default("10m") }),
  databaseDown: obj({ for: duration.default("1m") }),
  databaseConnections: obj({ warningRatio: ratio.default(0.8), for: duration.default("5m") }),
  /**
   * absentFor: how long the pushed success timestamp may be missing before "never reported" fires
   * (a Prometheus restart loses Pushgateway series for a scrape; the local stack shortens it for drills).
   */
  backup: obj({ maxAge: duration.default("26h"), absentFor: duration.default("15m") }),
  restoreVerify: obj({ maxAge: duration.default("8d"), absentFor: duration.default("15m") }),
  targetDown: obj({ for: duration.default("5m") }),
  notificationsFailing: obj({ for: duration.default("5m") }),
  /**
   * AuthLatencyP99High. minRequests: requests in the 5 m window below which the p99 stays silent.
   * The p99 of fewer than 100 requests is the slowest request itself (two slow requests at one a
   * minute at night would warn); 100 in 5 m is 20 a minute, which a real slowdown under any
   * daytime load passes (the demo service alone does about 3300).
   */
  latencyP99: obj({ warningSeconds: seconds.default(1), for: duration.default("5m"), minRequests: count.default(100) }),
  /**
   * AuthSlowAuthentication: mean login operation time. minLogins: logins in the 5 m window below
   * which it stays silent: with 3 logins one slow one is the mean; with 20, one 1 s outlier among
   * 100 ms logins lifts the mean to 145 ms, below 200 ms, while all logins slowing to 300 ms still warns.
   */
  slowAuthentication: obj({ meanSeconds: seconds.default(0.2), for: duration.default("10m"), minLogins: count.default(20) }),
  /**
   * AuthFailedLoginsHigh: failed logins per hour across the service. Seed 001's 100 is for a
   * service of its size; a stack sets it above its normal hourly failures (its busiest normal
   * hour of a month), so that a normal month never fires it.
   */
  failedLogins: obj({ perHour: count.default(100) }),
  /** AuthBruteForceSuspected info tier: failed logins from one IP in 1 h (the warning tier is bruteForce, per 10 m). */
  bruteForceHourly: obj({ failuresPerIp: count.default(50) }),
  /** AuthAccountBruteForce: failed logins for one account in 1 h. */
  accountBruteForce: obj({ failuresPerAccount: count.default(5) }),
  /** AuthRegistrationsFromOneIP: successful registrations from one IP in 1 h. */
  registrationsPerIp: obj({ perHour: count.default(5) }),
  /** AuthErrorLogBurst: auth log lines at level error in 5 m. */
  errorLogBurst: obj({ lines: count.default(10) }),
  /** AuthDatabaseErrors: how long the service's database errors must rise in every minute. */
  databaseErrors: obj({ for: duration.default("2m") }),
  /** DatabaseLongTransactions: age of the oldest open transaction (active or idle in transaction). */
  longTransactions: obj({ maxAge: duration.default("5m"), for: duration.default("5m") }),
  /** DatabaseJobFailing: how long the newest run of a database job may stay failed. */
  databaseJobFailing: obj({ for: duration.default("10m") }),
  /** PrometheusNotificationsFailing: how long Prometheus may fail to deliver to Alertmanager. */
  prometheusNotifications: obj({ for: duration.default("5m") }),
});
type Thresholds = z.output<typeof thresholdsSchema>;

/** Above 1 − 1/14.4: below it, even a 100 % error ratio cannot burn 14.4× the budget and the page could never fire. */
const sloObjective = z.number().gt(0.931, "must be above 0.931 (below it the 14.4x page can never fire)").lt(1, "must be below 1 (0.999 is 99.9 %)");
export const slosSchema = obj({
  availability: obj({ objective: sloObjective.default(0.999) }),
  latency: obj({
    objective: sloObjective.default(0.95),
    thresholdSeconds: z
      .number()
      .refine((v) => (HTTP_DURATION_BUCKETS as readonly number[]).includes(v), {
        message: `must be one of the service's histogram buckets (${HTTP_DURATION_BUCKETS.join(", ")})`,
      })
      .default(0.5),
  }),
});

/** Each warning tier below its critical tier. */
export function thresholdProblems(t: Thresholds, ctx: IssueSink): void {
  const below = (lo: number, hi: number, at: (string | number)[], what: string) => {
    if (!(lo < hi)) ctx.addIssue({ code: "custom", path: at, message: `must be below ${what} (${hi}), got ${lo}` });
  };
  below(t.errorRate.warningRatio, t.errorRate.criticalRatio, ["thresholds", "errorRate", "warningRatio"], "errorRate.criticalRatio");
  below(t.latency.warningSeconds, t.latency.criticalSeconds, ["thresholds", "latency", "warningSeconds"], "latency.criticalSeconds");
  below(
    t.tokenValidationLatency.warningSeconds,
    t.tokenValidationLatency.criticalSeconds,
    ["thresholds", "tokenValidationLatency", "warningSeconds"],
    "tokenValidationLatency.criticalSeconds",
  );
  below(t.loginFailure.warningRatio, t.loginFailure.criticalRatio, ["thresholds", "loginFailure", "warningRatio"], "loginFailure.criticalRatio");
  below(t.rateLimit.warningPerMinute, t.rateLimit.criticalPerMinute, ["thresholds", "rateLimit", "warningPerMinute"], "rateLimit.criticalPerMinute");
}
