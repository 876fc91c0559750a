/**
 * The labelled month's incidents: what the generator injects and, for each, which alert tier should
 * fire and by when. The expectations are written here from the fault's nature, never read from the rules.
 */
import type { Random } from "./random";

export const INCIDENT_KINDS = [
  "outage", "error-burst", "latency", "credential-stuffing", "refresh-reuse", "rate-limit-burst", "registration-spike",
  "invalid-token-spike", "database-down", "connections-high", "database-errors", "backups-stopped", "restore-failing",
  "pagerduty-failing", "slow-burn",
] as const;
export type IncidentKind = (typeof INCIDENT_KINDS)[number];

export interface Expectation {
  readonly alert: string;
  readonly severity: "critical" | "warning";
  /** Seconds after the incident's start by which the tier must be firing. */
  readonly within: number;
}

export interface Incident {
  readonly id: string;
  readonly kind: IncidentKind;
  /** Seconds since the epoch. */
  readonly start: number;
  readonly end: number;
  readonly expect: Expectation;
  /** Tiers ("Alert severity") that rightly fire for this fault: the expected one and its side effects. */
  readonly mayFire: readonly string[];
  /** Until when the fault's own alerts may still fire (their 5m to 1h windows decay after it). */
  readonly settlesAt: number;
  /** Until when the SLO burn alerts may still fire: the fault spent error budget their windows of days still see. */
  readonly budgetUntil: number;
}

/** The alerts that watch error budget over days: any fault that spends budget may fire them long after it ended. */
export const BUDGET_ALERTS: readonly string[] = ["AuthAvailabilitySLOBurn", "AuthLatencySLOBurn"];

const MIN = 60;
const HOUR = 3600;
const DAY = 86400;

/**
 * The fault's length, the tier meant for it and how soon it must fire, the other tiers ("Alert severity")
 * the fault rightly fires too (logins answered 5xx count as failed logins), and how long its effects linger.
 */
const SPEC: Readonly<Record<IncidentKind, { length: number; expect: Expectation; also: readonly string[]; settle: number; budget?: true; hour: readonly [number, number] }>> = {
  outage: { length: 12 * MIN, expect: { alert: "AuthServiceDown", severity: "critical", within: 5 * MIN }, also: ["PrometheusTargetDown warning"], settle: HOUR, budget: true, hour: [0, 24] },
  "error-burst": { length: 25 * MIN, expect: { alert: "AuthHighErrorRate", severity: "critical", within: 10 * MIN }, also: ["AuthHighErrorRate warning", "AuthHighLoginFailureRate critical", "AuthHighLoginFailureRate warning", "AuthFailedLoginsHigh info"], settle: HOUR, budget: true, hour: [9, 20] },
  latency: { length: 30 * MIN, expect: { alert: "AuthLatencyHigh", severity: "critical", within: 15 * MIN }, also: ["AuthLatencyHigh warning", "AuthLoginLatencyHigh warning", "AuthRefreshLatencyHigh warning", "AuthLatencyP99High warning", "AuthSlowAuthentication warning"], settle: HOUR, budget: true, hour: [9, 20] },
  "credential-stuffing": { length: 40 * MIN, expect: { alert: "AuthHighLoginFailureRate", severity: "critical", within: 10 * MIN }, also: ["AuthHighLoginFailureRate warning", "AuthFailedLoginsHigh info"], settle: HOUR, hour: [0, 24] },
  "refresh-reuse": { length: 1 * MIN, expect: { alert: "AuthRefreshTokenReuse", severity: "critical", within: 5 * MIN }, also: [], settle: 2 * HOUR, hour: [0, 24] },
  "rate-limit-burst": { length: 20 * MIN, expect: { alert: "AuthRateLimitSpike", severity: "critical", within: 10 * MIN }, also: ["AuthRateLimitSpike warning"], settle: HOUR, hour: [0, 24] },
  "registration-spike": { length: 40 * MIN, expect: { alert: "AuthRegistrationSpike", severity: "warning", within: 15 * MIN }, also: [], settle: HOUR, hour: [10, 18] },
  "invalid-token-spike": { length: 30 * MIN, expect: { alert: "AuthInvalidTokenSpike", severity: "warning", within: 15 * MIN }, also: ["AuthTokenValidationFailureRate warning"], settle: HOUR, hour: [10, 18] },
  "database-down": { length: 8 * MIN, expect: { alert: "DatabaseDown", severity: "critical", within: 5 * MIN }, also: ["AuthHighErrorRate critical", "AuthHighErrorRate warning", "AuthHighLoginFailureRate critical", "AuthHighLoginFailureRate warning", "AuthFailedLoginsHigh info"], settle: HOUR, budget: true, hour: [0, 24] },
  "connections-high": { length: 30 * MIN, expect: { alert: "DatabaseConnectionsHigh", severity: "warning", within: 15 * MIN }, also: [], settle: HOUR, hour: [9, 20] },
  "database-errors": { length: 20 * MIN, expect: { alert: "DatabaseDeadlocks", severity: "warning", within: 15 * MIN }, also: ["AuthHighErrorRate warning"], settle: HOUR, budget: true, hour: [9, 20] },
  // The day's backup (02:00) does not run, nor the next: the last success ages past a day.
  "backups-stopped": { length: 2 * DAY, expect: { alert: "BackupTooOld", severity: "warning", within: 27 * HOUR }, also: [], settle: HOUR, hour: [2, 2] },
  // The weekly verification (Sunday 04:00) finds mismatched rows; it stays failed until the next run.
  "restore-failing": { length: 7 * DAY, expect: { alert: "BackupRestoreVerificationFailed", severity: "warning", within: 15 * MIN }, also: [], settle: HOUR, hour: [4, 4] },
  "pagerduty-failing": { length: 20 * MIN, expect: { alert: "AlertmanagerNotificationsFailing", severity: "critical", within: 15 * MIN }, also: [], settle: HOUR, hour: [0, 24] },
  // 0.3 % errors for three days: the SLO's slow-burn tier, never the fast ones.
  "slow-burn": { length: 3 * DAY, expect: { alert: "AuthAvailabilitySLOBurn", severity: "warning", within: 2 * DAY }, also: [], settle: HOUR, budget: true, hour: [0, 0] },
};

/** Two of every kind over `days` days from `start` (midnight UTC), on distinct days, deterministic from `rnd`. */
export function scheduleIncidents(start: number, days: number, rnd: Random): Incident[] {
  const out: Incident[] = [];
  const sundays = Array.from({ length: days }, (_, d) => d).filter((d) => new Date((start + d * DAY) * 1000).getUTCDay() === 0);
  const used = new Set<number>();
  const pick = (from: number, to: number): number => {
    for (let tries = 0; tries < 200; tries++) {
      const d = from + Math.floor(rnd() * (to - from));
      if (!used.has(d)) {
        used.add(d);
        return d;
      }
    }
    return from + Math.floor(rnd() * (to - from));
  };
  for (const kind of INCIDENT_KINDS) {
    const s = SPEC[kind];
    for (let n = 0; n < 2; n++) {
      let day: number;
      if (kind === "restore-failing") day = sundays[n * 2] ?? sundays[0] ?? 0;
      else if (kind === "slow-burn") day = n === 0 ? 3 : Math.min(days - 5, 19);
      else if (kind === "backups-stopped") day = n === 0 ? 8 : Math.min(days - 3, 23);
      else day = pick(2, days - 1);
      const [h0, h1] = s.hour;
      const hour = h0 === h1 ? h0 * HOUR : h0 * HOUR + Math.floor(rnd() * (h1 - h0) * 4) * 15 * MIN;
      const begin = start + day * DAY + hour;
      out.push({
        id: `${kind}-${n + 1}`, kind, start: begin, end: begin + s.length, expect: s.expect, mayFire: [`${s.expect.alert} ${s.expect.severity}`, ...s.also],
        settlesAt: begin + s.length + s.settle, budgetUntil: begin + s.length + (s.budget ? 3 * DAY : s.settle),
      });
    }
  }
  return out.sort((a, b) => a.start - b.start);
}

/** The incidents active at `t`, by kind. */
export function activeAt(incidents: readonly Incident[], t: number): Set<IncidentKind> {
  const out = new Set<IncidentKind>();
  for (const i of incidents) if (t >= i.start && t < i.end) out.add(i.kind);
  return out;
}
