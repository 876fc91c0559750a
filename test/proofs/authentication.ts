import type { AlertCase, AlertProof } from "../../src/model";
import type { Settings } from "../../src/settings";
import { above, below, counter, gauge, input, minutes, num, sparse } from "./series";

const DAY = 1440;
/** Minutes between samples of the spike alerts' seasonal cases (a week of history). */
const SEASONAL_STEP = 5;
/** Minutes between evaluations of the spike cases over a day or two of 1m samples (no `for`: see AlertProof). */
const DAYS_EVALUATION_STEP = 5;
/** Minutes between evaluations of the seasonal cases (a week of history): the spike alerts have no `for`. */
const SEASONAL_EVALUATION_STEP = 30;

export function authenticationProofs(s: Settings): AlertProof[] {
  const t = s.thresholds;
  const job = s.scrapeJobs.auth;

  /** `perMinute` login attempts, `ratio` of them failing. */
  const logins = (ratio: number, perMinute: number) => [
    input("auth_logins_total", { job, result: "failure", method: "password", reason: "invalid_credentials" }, counter(perMinute * ratio, 20)),
    input("auth_logins_total", { job, result: "success", method: "password", reason: "none" }, counter(perMinute * (1 - ratio), 20)),
  ];
  /**
   * Whole attempts at the floor's edge: `failed` of `total` attempts every 5 minutes, so that
   * increase(...[5m]) counts exactly `total`, with no floating-point rounding either side of the floor.
   */
  const every5m = (n: number, length = 21) => Array.from({ length }, (_, m) => n * Math.floor(m / 5)).join(" ");
  const loginsAt = (failed: number, total: number) => [
    input("auth_logins_total", { job, result: "failure", method: "password", reason: "invalid_credentials" }, every5m(failed)),
    input("auth_logins_total", { job, result: "success", method: "password", reason: "none" }, every5m(total - failed)),
  ];
  const rf = t.registrationFailure;
  const regFor = minutes(rf.for);
  const registrationsAt = (failed: number, total: number) => [
    input("auth_registrations_total", { job, result: "failure" }, every5m(failed, regFor + 16)),
    input("auth_registrations_total", { job, result: "success" }, every5m(total - failed, regFor + 16)),
  ];
  const lf = t.loginFailure;
  /** Failed attempts out of `total` that make a share above `ratio`. */
  const failing = (ratio: number, total: number) => Math.min(total, Math.floor(total * ratio) + 1);
  const loginTraffic = Math.max(100, lf.minAttempts, lf.criticalMinAttempts); // ≥ 5× the floors over 5m
  /** `total` attempts in 5 minutes, failing above the critical share: each tier fires from its own floor. */
  const atFloor = (name: string, total: number): AlertCase => {
    const failed = failing(lf.criticalRatio, total);
    const tiers = [
      { severity: "critical" as const, floor: lf.criticalMinAttempts },
      { severity: "warning" as const, floor: lf.minAttempts },
    ];
    return {
      name,
      series: loginsAt(failed, total),
      at: "10m",
      firing: tiers.filter((tier) => total >= tier.floor).map((tier) => ({ severity: tier.severity, labels: { job }, value: failed / total })),
    };
  };
  const loginCritical = above(lf.criticalRatio);
  const loginBetween = above(lf.warningRatio, lf.criticalRatio);

  const registrations = (ratio: number, perMinute: number, length = 20) => [
    input("auth_registrations_total", { job, result: "failure" }, counter(perMinute * ratio, length)),
    input("auth_registrations_total", { job, result: "success" }, counter(perMinute * (1 - ratio), length)),
  ];
  const regTraffic = Math.max(100, rf.minAttempts);
  const regHigh = above(rf.warningRatio);

  const validationsPerMinute = (ratio: number, perMinute: number) => [
    input("auth_token_validations_total", { job, result: "invalid" }, counter((perMinute * ratio) / 2, 20)),
    input("auth_token_validations_total", { job, result: "expired" }, counter((perMinute * ratio) / 2, 20)),
    input("auth_token_validations_total", { job, result: "valid" }, counter(perMinute * (1 - ratio), 20)),
  ];
  const validations = (ratio: number) => validationsPerMinute(ratio, 1000);
  const tvHigh = above(t.tokenValidationFailure.warningRatio);

  /**
   * Most of a day at `yesterday` events per minute, then two hours at `today` per minute:
   * the last 10m and the same 10m one day earlier each see one rate.
   */
  const spikeProof = (alert: string, metric: string, labels: Record<string, string>, factor: number, floor: number, alsoCounted?: Record<string, string>): AlertProof[] => {
    // The rate changes two hours before the evaluation, so only a comparison with the same
    // window one day earlier (not one hour earlier) sees the difference.
    const change = DAY - 100;
    const series = { job, ...labels };
    const spike = (name: string, yesterday: number, today: number, fires: boolean): AlertCase => ({
      name,
      series: [input(metric, series, `0+${num(yesterday)}x${change} ${num(yesterday * change + today)}+${num(today)}x150`)],
      at: `${change + 120}m`,
      firing: fires ? [{ severity: "warning", labels: { job }, value: today * 10 }] : [],
    });
    const quiet = floor / 10; // per minute: `floor` events in 10 minutes
    /**
     * No data one day earlier (first day, new replica, gap): 90 minutes at `before` per minute, then
     * `today` per minute for the last 10 minutes, compared with the preceding hour.
     */
    const fresh = (name: string, before: number, today: number, fires: boolean, seriesLabels = series): AlertCase => ({
      name,
      series: [input(metric, seriesLabels, `0+${num(before)}x80 ${num(before * 80 + today)}+${num(today)}x20`)],
      at: "90m",
      firing: fires ? [{ severity: "warning", labels: { job }, value: today * 10 }] : [],
    });
    /**
     * A counter sampled every minute up to minute `until`, growing by `rateAt(m)` into minute m;
     * no sample in minutes `gap[0]`..`gap[1]` (a scrape gap: the counter still counts).
     */
    const minuteCounter = (rateAt: (m: number) => number, until: number, gap: readonly [number, number] = [-1, -1]): string => {
      let n = 0;
      return Array.from({ length: until + 1 }, (_, m) => {
        if (m > 0) n += rateAt(m);
        return m >= gap[0] && m <= gap[1] ? "_" : num(n);
      }).join(" ");
    };
    /** A morning ramp on a fresh Prometheus: the rate doubles every 10 minutes, to 2× the floor in the last 10 minutes at 90m. */
    const ramp = minuteCounter((m) => (2 * quiet) / 2 ** Math.floor((90 - m) / 10), 90);
    /**
     * One day and two hours of history with a scrape gap from 8 minutes before the end of the same
     * 10m one day earlier until 10 minutes after it; the rate rises to factor/2 × its level (no spike) a
     * day before the evaluation and stays there. The cut day-old window reads a quarter of its 10m.
     */
    const cutDayOld = minuteCounter((m) => (m >= DAY - 60 ? (quiet * factor) / 2 : quiet), DAY + 120, [113, 130]);
    /**
     * A busy rate everywhere but around the same time one day earlier (a Sunday before a Monday),
     * over `days` days of history: the comparison with `days` days earlier sees the same busy rate.
     * Days of series at 5m steps (SEASONAL_STEP), so that promtool evaluates a week in seconds.
     */
    const seasonal = (name: string, days: number): AlertCase => {
      const perStep = (perMinute: number) => perMinute * SEASONAL_STEP;
      const busy = quiet * factor * 2;
      const steps = (minutes: number) => minutes / SEASONAL_STEP;
      const at = steps(days * DAY + 120);
      const lowFrom = steps((days - 1) * DAY + 60);
      const low = steps(120);
      const values = [
        `0+${num(perStep(busy))}x${lowFrom}`,
        `${num(perStep(busy) * lowFrom + perStep(quiet))}+${num(perStep(quiet))}x${low - 1}`,
        `${num(perStep(busy) * lowFrom + perStep(quiet) * low + perStep(busy))}+${num(perStep(busy))}x${at - lowFrom - low + 2}`,
      ];
      return { name, series: [input(metric, series, values.join(" "))], at: `${at * SEASONAL_STEP}m`, firing: [] };
    };
    return [{
      alert,
      evaluationInterval: `${DAYS_EVALUATION_STEP}m`,
      cases: [
        spike(`${factor * 2}x yesterday's rate fires`, quiet, quiet * factor * 2, true),
        // Regression (quality bench): a Prometheus that started empty 15 minutes ago compared 10 minutes with the 5 it had.
        // Regression (quality bench): a replica that started a day and 30 seconds ago read the day-old window's 30 seconds as its baseline.
        {
          name: "a Prometheus that started one day and a minute ago compares with the hour before, not with the minute it has of the day before",
          series: [input(metric, series, `_x${DAY - 1} 0+${num(quiet * 2)}x${DAY + 11}`)],
          at: `${2 * DAY}m`,
          firing: [],
        },
        {
          name: "a Prometheus that recorded only the last 15 minutes has no baseline yet and stays silent",
          series: [input(metric, series, `_x75 0+${num(quiet * 2)}x15`)],
          at: "90m",
          firing: [],
        },
        spike(`${factor / 2}x yesterday's rate stays silent`, quiet * 2, quiet * factor, false),
        spike("a spike below the floor stays silent", floor / 20 / (factor * 2), floor / 20, false),
        // Regression (issue 11): with no day-old data the comparison returned nothing.
        fresh(`with no data a day earlier, ${factor * 2}x the preceding hour's rate fires`, quiet, quiet * factor * 2, true),
        fresh("with no data a day earlier, a steady rate stays silent", quiet * 2, quiet * 2, false),
        // Regression (quality bench): the morning ramp on the month's first morning and on a new replica's warned.
        { name: "with no data a day earlier, a morning ramp (the rate doubling every 10m) stays silent", series: [input(metric, series, ramp)], at: "90m", firing: [] },
        fresh(`with no data a day earlier, a rise from a near-empty hour to above the floor, under ${factor}x the floor, stays silent`, quiet / 20, (quiet * (1 + factor)) / 2, false),
        fresh(`with no data a day earlier, a step from a near-empty hour to ${factor * 2}x the floor fires`, quiet / 20, quiet * factor * 2, true),
        // Regression (quality bench): a new replica's Sunday compared with a Saturday window cut by a scrape gap.
        {
          name: "a day-old window cut by a scrape gap is no baseline: the preceding hour is",
          series: [input(metric, series, cutDayOld)],
          at: `${DAY + 120}m`,
          firing: [],
        },
        ...(alsoCounted
          ? [fresh(`a spike of ${JSON.stringify(alsoCounted)} counts too`, quiet, quiet * factor * 2, true, { job, ...alsoCounted })]
          : []),
      ],
    }, {
      alert,
      interval: `${SEASONAL_STEP}m`,
      evaluationInterval: `${SEASONAL_EVALUATION_STEP}m`,
      cases: [
        // Regression (quality bench): a Monday against a Sunday (a third of the traffic) warned every week.
        seasonal("a rise against one day earlier only, as busy as the same 10m one week earlier, stays silent", 7),
        seasonal("with no week of history, a rise as busy as the same 10m three days earlier stays silent", 3),
      ],
    }];
  };

  const sa = t.sessionAnomaly;
  const sessions = (inactiveRatio: number) => [
    input("auth_sessions", { job, state: "inactive" }, gauge(1000 * inactiveRatio, minutes(sa.for) + 10)),
    input("auth_sessions", { job, state: "active" }, gauge(1000 * (1 - inactiveRatio), minutes(sa.for) + 10)),
  ];
  const idle = above(sa.inactiveRatio);

  return [
    {
      alert: "AuthHighLoginFailureRate",
      cases: [
        {
          name: "failure share above critical fires both tiers",
          series: logins(loginCritical, loginTraffic),
          at: "10m",
          firing: [
            { severity: "critical", labels: { job }, value: loginCritical },
            { severity: "warning", labels: { job }, value: loginCritical },
          ],
        },
        {
          name: "failure share between tiers fires warning only",
          series: logins(loginBetween, loginTraffic),
          at: "10m",
          firing: [{ severity: "warning", labels: { job }, value: loginBetween }],
        },
        { name: "failure share below warning stays silent", series: logins(below(lf.warningRatio), loginTraffic), at: "10m", firing: [] },
        // One attempt short of each floor in 5 minutes: however many fail, that tier stays silent; at its floor, it fires.
        ...[lf.minAttempts, lf.criticalMinAttempts].flatMap((floor) => [atFloor(`one attempt under the ${floor}-attempt floor`, floor - 1), atFloor(`exactly at the ${floor}-attempt floor`, floor)]),
        // Regression (issue 11): one client retrying a wrong password 20 times in 5 minutes paged critical.
        { name: "one client retrying a wrong password 20 times in 5m stays silent", series: loginsAt(20, 20), at: "10m", firing: [] },
        // The contract's own numbers: 100 attempts in 5 minutes, 60 % failing, must page.
        {
          name: "100 attempts with 60% failing in 5m pages",
          series: loginsAt(60, 100),
          at: "10m",
          firing: [
            { severity: "critical", labels: { job }, value: 0.6 },
            ...(0.6 > lf.warningRatio && 100 >= lf.minAttempts ? [{ severity: "warning" as const, labels: { job }, value: 0.6 }] : []),
          ],
        },
      ],
    },
    {
      alert: "AuthHighRegistrationFailureRate",
      cases: [
        {
          name: "failure share above the threshold for longer than `for` fires",
          series: registrations(regHigh, regTraffic, regFor + 15),
          at: `${regFor + 6}m`,
          firing: [{ severity: "warning", labels: { job }, value: regHigh }],
        },
        // At the floor a 10 % share also happens by chance (3 % fail normally): one window of it is noise.
        { name: "failure share above the threshold for less than `for` stays silent", series: registrations(regHigh, regTraffic, regFor + 15), at: `${regFor}m`, firing: [] },
        { name: "failure share below the threshold stays silent", series: registrations(below(rf.warningRatio), regTraffic, regFor + 15), at: `${regFor + 6}m`, firing: [] },
        {
          name: "one attempt under the traffic floor stays silent",
          series: registrationsAt(failing(rf.warningRatio, rf.minAttempts - 1), rf.minAttempts - 1),
          at: `${regFor + 10}m`,
          firing: [],
        },
        {
          name: "exactly at the traffic floor fires",
          series: registrationsAt(failing(rf.warningRatio, rf.minAttempts), rf.minAttempts),
          at: `${regFor + 10}m`,
          firing: [{ severity: "warning", labels: { job }, value: failing(rf.warningRatio, rf.minAttempts) / rf.minAttempts }],
        },
      ],
    },
    {
      alert: "AuthTokenValidationFailureRate",
      cases: [
        { name: "invalid+expired share above the threshold fires", series: validations(tvHigh), at: "10m", firing: [{ severity: "warning", labels: { job }, value: tvHigh }] },
        { name: "invalid+expired share below the threshold stays silent", series: validations(below(t.tokenValidationFailure.warningRatio)), at: "10m", firing: [] },
        {
          name: "a broken signing key at night, at the traffic floor, fires",
          series: validationsPerMinute(tvHigh, Math.ceil(t.tokenValidationFailure.minValidations / 5)),
          at: "10m",
          firing: [{ severity: "warning", labels: { job }, value: tvHigh }],
        },
        // Regression (issue 11): one expired token among three validations in 5 minutes warned.
        {
          name: "one expired token among three validations in 5m stays silent",
          series: [
            input("auth_token_validations_total", { job, result: "valid" }, sparse(5, [1, 4], 30)),
            input("auth_token_validations_total", { job, result: "expired" }, sparse(5, [2], 30)),
          ],
          at: "30m",
          firing: [],
        },
      ],
    },
    ...spikeProof("AuthRegistrationSpike", "auth_registrations_total", { result: "success" }, t.registrationSpike.factor, t.registrationSpike.minRegistrations),
    ...spikeProof("AuthInvalidTokenSpike", "auth_token_validations_total", { result: "invalid" }, t.invalidTokenSpike.factor, t.invalidTokenSpike.minInvalid, { result: "expired" }),
    {
      alert: "AuthSessionAnomaly",
      cases: [
        { name: "inactive share above the threshold for `for` fires", series: sessions(idle), at: `${minutes(sa.for) + 2}m`, firing: [{ severity: "info", labels: { job }, value: idle }] },
        { name: "inactive share below the threshold stays silent", series: sessions(below(sa.inactiveRatio)), at: `${minutes(sa.for) + 2}m`, firing: [] },
      ],
    },
  ];
}
