import type { AlertProof } from "../../src/model";
import type { Settings } from "../../src/settings";
import { above, counter, gauge, input, minutes, num } from "./series";

export function securityProofs(s: Settings): AlertProof[] {
  const t = s.thresholds;
  const job = s.scrapeJobs.auth;
  const reuse = { job, result: "reuse_detected" };
  const rotated = input("auth_refresh_total", { job, result: "rotated" }, counter(50, 30));

  const rl = t.rateLimit;
  // Steps of 30s, the slowest scrape a stack may set: a per-minute count then spans two samples.
  const rejected = (perMinute: number) => [input("auth_rate_limit_exceeded_total", { job, endpoint: "/v1/login" }, counter(perMinute / 2, 2 * (minutes(rl.warningFor) + 15)))];
  const rlAt = `${minutes(rl.warningFor) + 5}m`;
  const rlBetween = above(rl.warningPerMinute, rl.criticalPerMinute);
  const rlFlood = rl.criticalPerMinute * 2;
  // One minute of rejections, 1.5× the critical count, spread evenly over two scrapes after 10 quiet minutes.
  const burst = rl.criticalPerMinute * 1.5;
  const burstSeries = [input("auth_rate_limit_exceeded_total", { job, endpoint: "/v1/login" }, `0x20 ${num(burst / 2)} ${num(burst)}x20`)];
  // The critical count spread evenly over two minutes: half of it in any one minute.
  const spread = [input("auth_rate_limit_exceeded_total", { job, endpoint: "/v1/login" }, `0x20 ${num(rl.criticalPerMinute / 4)}+${num(rl.criticalPerMinute / 4)}x3 ${num(rl.criticalPerMinute)}x20`)];

  const csrf = (perMinute: number) => [input("auth_csrf_failures_total", { job }, counter(perMinute, 20))];

  return [
    {
      alert: "AuthRefreshTokenReuse",
      cases: [
        {
          name: "the first reuse fires at once",
          series: [rotated, input("auth_refresh_total", reuse, "0x10 1x10")],
          at: "12m",
          firing: [{ severity: "critical", labels: { job }, value: 1 }],
        },
        {
          name: "the first evaluation that sees the counter rise fires",
          series: [rotated, input("auth_refresh_total", reuse, "0x10 1x10")],
          at: "11m",
          firing: [{ severity: "critical", labels: { job }, value: 1 }],
        },
        // A new pod is a new series: the service initialises the counter at 0, so 0 → 1 is a rise.
        {
          name: "a new pod's counter going 0 → 1 fires",
          series: [rotated, input("auth_refresh_total", reuse, "_x10 0 1x10")],
          at: "11m",
          firing: [{ severity: "critical", labels: { job }, value: 1 }],
        },
        // Ambiguous by design: a series first seen above 0 reads as an old count replayed, not a new reuse.
        { name: "a series first seen at 1 stays silent", series: [rotated, input("auth_refresh_total", reuse, "_x10 1x10")], at: "12m", firing: [] },
        // Regression (issue 11): the `unless max_over_time(…[1h] offset 5m)` branch read these as new reuses.
        { name: "a counter back unchanged from a scrape gap over 1h stays silent", series: [rotated, input("auth_refresh_total", reuse, "2x10 _x70 2x20")], at: "82m", firing: [] },
        { name: "an old count first scraped by an empty Prometheus stays silent", series: [rotated, input("auth_refresh_total", reuse, "2x20")], at: "1m", firing: [] },
        {
          name: "a counter that rises after a scrape gap fires",
          series: [rotated, input("auth_refresh_total", reuse, "2x10 _x70 2x5 3x10")],
          at: "87m",
          firing: [{ severity: "critical", labels: { job }, value: 1 }],
        },
        { name: "rotations without reuse stay silent", series: [rotated, input("auth_refresh_total", reuse, gauge(0, 30))], at: "20m", firing: [] },
        { name: "an old reuse no longer fires", series: [rotated, input("auth_refresh_total", reuse, "1x30")], at: "20m", firing: [] },
        // A new pod initialises the counter at 0: that is not a reuse.
        { name: "a counter born at 0 stays silent", series: [rotated, input("auth_refresh_total", reuse, "_x10 0x10")], at: "12m", firing: [] },
        // A scrape gap longer than the staleness window must not replay the pod's old count as new.
        { name: "a counter back from a scrape gap stays silent", series: [rotated, input("auth_refresh_total", reuse, "2x10 _x6 2x10")], at: "19m", firing: [] },
      ],
    },
    {
      alert: "AuthRateLimitSpike",
      interval: "30s",
      cases: [
        {
          name: "a flood above the critical per-minute count fires both tiers",
          series: rejected(rlFlood),
          at: rlAt,
          firing: [
            { severity: "critical", labels: { job }, value: rlFlood },
            { severity: "warning", labels: { job }, value: rlFlood },
          ],
        },
        { name: "a sustained rate between tiers fires warning only", series: rejected(rlBetween), at: rlAt, firing: [{ severity: "warning", labels: { job }, value: rlBetween }] },
        { name: "a rate below warning stays silent", series: rejected(rl.warningPerMinute / 2), at: rlAt, firing: [] },
        // Regression (issue 11): rate over 2m peaked at half the burst. Evaluated one interval after the burst's last sample.
        { name: "a one-minute burst above the critical count pages", series: burstSeries, at: "11m", firing: [{ severity: "critical", labels: { job }, value: burst }] },
        // Every one-minute window of the spread holds half the critical count; at 11m the warning has been pending only 30s.
        { name: "the critical count spread over two minutes stays silent", series: spread, at: "11m", firing: [] },
      ],
    },
    {
      alert: "AuthCSRFFailures",
      cases: [
        // 2× the threshold in 5 minutes.
        { name: "failures above the count fire", series: csrf((t.csrf.warningCount * 2) / 5), at: "10m", firing: [{ severity: "warning", labels: { job }, value: t.csrf.warningCount * 2 }] },
        { name: "failures below the count stay silent", series: csrf(t.csrf.warningCount / 10), at: "10m", firing: [] },
      ],
    },
    failedLoginsProof(s),
  ];
}

/** AuthFailedLoginsHigh: failed logins at a steady rate, counted over the last hour at minute 70. */
function failedLoginsProof(s: Settings): AlertProof {
  const perHour = s.thresholds.failedLogins.perHour;
  const job = s.scrapeJobs.auth;
  const failures = (hourly: number) => [
    input("auth_logins_total", { job, result: "success", method: "password", reason: "none" }, counter(100, 80)),
    input("auth_logins_total", { job, result: "failure", method: "password", reason: "invalid_credentials" }, counter(hourly / 60, 80)),
  ];
  return {
    alert: "AuthFailedLoginsHigh",
    cases: [
      { name: "failed logins above the hourly count fire", series: failures(perHour * 2), at: "70m", firing: [{ severity: "info", labels: { job }, value: perHour * 2 }] },
      { name: "failed logins below the hourly count stay silent", series: failures(perHour / 2), at: "70m", firing: [] },
    ],
  };
}
