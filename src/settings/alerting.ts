/**
 * What the alerts compare against: every threshold of docs/alerts.md and
 * the SLOs, each a named setting whose default is the prod value.
 */
import { z } from "zod";
import { parseDuration } from "../duration";
import { HTTP_DURATION_BUCKETS } from "../telemetry";
import { count, duration, factor, obj, ratio, seconds, type IssueSink } from "./fields";

export const thresholdsSchema = obj({
  serviceDown: obj({ for: duration.default("1m") }),
  /*
   * Traffic floors (min*): events in the alert's 5m window below which a ratio or a percentile
   * means nothing. A quiet night serves 1–3 requests a minute (5–15 in 5m): one failure then is
   * 7–33 %, a coin toss, not an outage. A total outage at night is AuthServiceDown's (the probe
   * needs no traffic); a partial one still trips the floors at ~10 requests a minute.
   */
  errorRate: obj({
    warningRatio: ratio.default(0.01),
    warningFor: duration.default("5m"),
    criticalRatio: ratio.default(0.05),
    criticalFor: duration.default("2m"),
    /** 100 requests in 5m (20/min): 1 % is two failed requests, no longer one unlucky one; 3 requests with one 503 stays silent. */
    warningMinRequests: count.default(100),
    /** 50 requests in 5m (10/min): an outage at night failing half of 10 requests a minute pages; 3 requests with one 503 does not. */
    criticalMinRequests: count.default(50),
  }),
  latency: obj({
    warningSeconds: seconds.default(0.5),
    criticalSeconds: seconds.default(1),
    for: duration.default("5m"),
    /** 50 requests in 5m (10/min): p95 is then the 3rd slowest of 50; one slow request a minute at night (5 in 5m) no longer pages. */
    minRequests: count.default(50),
  }),
  loginLatency: obj({
    warningSeconds: seconds.default(2),
    for: duration.default("5m"),
    /** 20 logins in 5m (4/min): p95 is the slowest of 20; a couple of slow night logins stay silent, a slow database at 4 logins/min does not. */
    minLogins: count.default(20),
  }),
  refreshLatency: obj({
    warningSeconds: seconds.default(1),
    for: duration.default("5m"),
    /** 20 refreshes in 5m (4/min), as minLogins: a couple of slow refreshes at night stay silent. */
    minRefreshes: count.default(20),
  }),
  tokenValidationLatency: obj({
    warningSeconds: seconds.default(0.05),
    criticalSeconds: seconds.default(0.1),
    for: duration.default("5m"),
    /** 50 validations in 5m (10/min, every authenticated call validates): two slow validations at night no longer page. */
    minValidations: count.default(50),
  }),
  loginFailure: obj({
    warningRatio: ratio.default(0.1),
    criticalRatio: ratio.default(0.2),
    /**
     * Warning floor, 100 attempts in 5m (20/min): 4 % of logins fail normally (mistyped passwords), and
     * at 30 attempts more than 10 % fail by chance in 3 % of windows (binomial; the labelled month warned
     * 11 times); at 100, in 0.2 %. Above one client's 20 retries too (AuthAccountBruteForce's business).
     * Above the critical floor: a 10 % share sits closer to the normal 4 % than 20 % does, so it needs
     * more attempts to mean something; a failure burst at night still pages from criticalMinAttempts.
     */
    minAttempts: count.default(100),
    /** Critical floor, 50 attempts in 5m (10/min): one client retrying a wrong password 20 times, with the night's other logins, stays below it (the per-account and per-IP monitors' business); 100 attempts with 60 % failing pages. */
    criticalMinAttempts: count.default(50),
  }),
  registrationFailure: obj({
    warningRatio: ratio.default(0.1),
    /** The contract's floor: 20 registrations in 5m. */
    minAttempts: count.default(20),
    /**
     * At 20 registrations more than 10 % fail by chance in 2 % of windows (3 % fail normally: invalid
     * input, a taken address; binomial), and the labelled month warned 45 times without it. Held for
     * 5m the share spans two disjoint windows, so chance needs to strike twice: 0.04 %.
     */
    for: duration.default("5m"),
  }),
  tokenValidationFailure: obj({
    warningRatio: ratio.default(0.05),
    /** 100 validations in 5m (20/min): one expired token among three at night stays silent; a broken signing key at 20 calls a minute warns. */
    minValidations: count.default(100),
  }),
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
  /**
   * AuthKillSwitchEngaged: rollbackWindow, how long the kill switch (auth_enabled off or auth_bypass on)
   * may stay engaged before it pages. 2h: seed 002's rollback tells users to expect authentication
   * back within 2 hours; a kill switch still engaged after that is an outage of its own. At least 10m
   * (a rollback runs in under 5 minutes, seed 002, and the page must not arrive while it is being
   * verified), at most 24h (a day without authentication is not a window).
   */
  killSwitch: obj({
    rollbackWindow: duration
      .refine((d) => (parseDuration(d) ?? 0) >= 600, { message: "must be at least 10m (a rollback and its verification take minutes; shorter pages every rollback)" })
      .refine((d) => (parseDuration(d) ?? 0) <= 86400, { message: "must be at most 24h (a kill switch engaged longer unpaged is an outage nobody owns)" })
      .default("2h"),
  }),
  /** AuthRolloutChanged: how long the info alert stays firing after the rollout percentage moved (one e-mail per change). */
  rolloutChange: obj({ window: duration.default("15m") }),
  /**
   * RollbackDrillMissing: maxAge, the age of the last successful rollback drill. Seed 002 drills
   * monthly; 35d is the longest month plus four days to repeat a failed run. absentFor: as
   * backup.absentFor, on the stacks that run the drill (cluster.rollbackDrill).
   */
  rollbackDrill: obj({ maxAge: duration.default("35d"), absentFor: duration.default("15m") }),
});
type Thresholds = z.output<typeof thresholdsSchema>;

/** Above 1 − 1/14.4: below it, even a 100 % error ratio cannot burn 14.4× the budget and the page could never fire. */
const sloObjective = z.number().gt(0.931, "must be above 0.931 (below it the 14.4x page can never fire)").lt(1, "must be below 1 (0.999 is 99.9 %)");
export const slosSchema = obj({
  /**
   * pageMinEvents: requests in a page tier's short window (5m, 30m) below which it does not page
   * (tickets keep no floor). 50, as errorRate.criticalMinRequests: one 503 among three requests at
   * night (a 33 % ratio, 333× the budget) no longer pages; an outage at 10 requests a minute does.
   */
  availability: obj({ objective: sloObjective.default(0.999), pageMinEvents: count.default(50) }),
  latency: obj({
    objective: sloObjective.default(0.95),
    pageMinEvents: count.default(50),
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
