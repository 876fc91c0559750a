/**
 * SLOs as definitions: one typed SLO generates its SLI recording rules for
 * every window, the multi-window multi-burn-rate alerts (Google SRE workbook,
 * Sloth's google-30d windows) and the error-budget rules dashboards read.
 */
import type { AlertingRule, Category, PromRule, PromRuleGroup, Service } from "./model";
import { num } from "./promql";
import { mustParseDuration } from "./duration";
import { humanizeDuration, humanizePercentage } from "./gotemplate";

export interface Slo {
  /** Label value of `slo` on every rule it generates, e.g. "auth-availability". */
  readonly name: string;
  readonly alert: string;
  readonly objective: number;
  /** What "good" means, for people: "requests not answered 5xx". */
  readonly good: string;
  /**
   * PromQL of bad events per second over the last 5 minutes (every longer window sums it). Where the
   * bad series may not exist while all is well (no 5xx yet), it must fall back to 0 itself;
   * where bad is derived (count − good bucket), it must not, or a missing series reads as perfect.
   */
  readonly errorRate5m: string;
  readonly totalRate5m: string;
  /** Events in a page tier's short window below which it does not page (too few to mean anything). */
  readonly pageMinEvents: number;
  readonly service: Service;
  readonly category: Category;
  readonly runbook: string;
}

export const SLO_PERIOD = "30d";
export const SLI_WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"] as const;
export type SliWindow = (typeof SLI_WINDOWS)[number];

export interface BurnRateAlert {
  readonly severity: "critical" | "warning";
  readonly long: SliWindow;
  readonly short: SliWindow;
  readonly factor: number;
}

/** Page at 14.4x (1h, 5m) or 6x (6h, 30m); ticket at 3x (1d, 2h) or 1x (3d, 6h). */
export const BURN_RATE_ALERTS: readonly BurnRateAlert[] = [
  { severity: "critical", long: "1h", short: "5m", factor: 14.4 },
  { severity: "critical", long: "6h", short: "30m", factor: 6 },
  { severity: "warning", long: "1d", short: "2h", factor: 3 },
  { severity: "warning", long: "3d", short: "6h", factor: 1 },
];

export const SLO_RECORDS = {
  errorRatio: (window: string) => `slo:sli_error:ratio_rate${window}`,
  errorEvents: "slo:sli_error_events:rate5m",
  totalEvents: "slo:sli_total_events:rate5m",
  objective: "slo:objective:ratio",
  errorBudget: "slo:error_budget:ratio",
  budgetRemaining: "slo:error_budget_remaining:ratio",
} as const;

export const windowLabel = (b: BurnRateAlert) => `${b.long}_${b.short}`;

/**
 * A ticket's floor: events in its short window below which it stays silent, so that at its threshold
 * at least TICKET_MIN_BAD_EVENTS events failed. Below it one or two failed requests are the "burn": a
 * Prometheus with a few hours of history reads a quiet night as its 3 days (99.9 %: one 5xx among 900
 * requests is 1.1× the budget). 99.9 %: 10,000 events in 6 h for the 1× tier (28 a minute), 3,334 in 2 h
 * for the 3× tier; 95 %: 200 and 67. Pages keep their own floor (pageMinEvents).
 */
export const TICKET_MIN_BAD_EVENTS = 10;
export const ticketMinEvents = (b: BurnRateAlert, objective: number): number => Math.ceil(TICKET_MIN_BAD_EVENTS / (b.factor * (1 - objective)) - 1e-9);

/**
 * Windows of a day and more, and the 30-day budget, are recorded in a group of their own every
 * LONG_WINDOW_INTERVAL: a 3-day sum over a rate recorded every 30 s reads 8,640 samples, and a ticket
 * over days loses nothing to a value up to 2.5 minutes old (well inside the 5-minute lookback).
 */
export const LONG_WINDOWS: readonly string[] = ["1d", "3d", SLO_PERIOD];
export const LONG_WINDOW_INTERVAL = "2m30s";

export function sloRuleGroups(slo: Slo, source: string): PromRuleGroup[] {
  const ofSlo = (record: string) => `${record}{slo="${slo.name}"}`;
  const budget = 1 - slo.objective;
  const labels = { slo: slo.name };
  // Weighted by traffic: a quiet night counts for what it served, not as much as the peak.
  const eventsRatio = (w: string) => `sum_over_time(${ofSlo(SLO_RECORDS.errorEvents)}[${w}]) / on (slo) sum_over_time(${ofSlo(SLO_RECORDS.totalEvents)}[${w}])`;
  const events = [
    { kind: "record" as const, record: SLO_RECORDS.errorEvents, expr: slo.errorRate5m, labels },
    { kind: "record" as const, record: SLO_RECORDS.totalEvents, expr: slo.totalRate5m, labels },
  ];
  // Every window reads the two 5m rates recorded just above in the same evaluation, never the raw
  // series: a day over a thousand pods' buckets is hundreds of millions of samples at every step.
  const sli = SLI_WINDOWS.map((w) => ({
    kind: "record" as const,
    record: SLO_RECORDS.errorRatio(w),
    expr: w === "5m" ? `${ofSlo(SLO_RECORDS.errorEvents)} / on (slo) ${ofSlo(SLO_RECORDS.totalEvents)}` : eventsRatio(w),
    labels,
  }));
  const meta = [
    { kind: "record" as const, record: SLO_RECORDS.objective, expr: `vector(${num(slo.objective)})`, labels },
    { kind: "record" as const, record: SLO_RECORDS.errorBudget, expr: `vector(${num(budget)})`, labels },
    {
      kind: "record" as const,
      record: SLO_RECORDS.errorRatio(SLO_PERIOD),
      expr: eventsRatio(SLO_PERIOD),
      labels,
    },
    {
      kind: "record" as const,
      record: SLO_RECORDS.budgetRemaining,
      expr: `1 - ${ofSlo(SLO_RECORDS.errorRatio(SLO_PERIOD))} / on (slo) ${ofSlo(SLO_RECORDS.errorBudget)}`,
      labels,
    },
  ];
  const alerts = BURN_RATE_ALERTS.map((b): AlertingRule => {
    const limit = num(b.factor * budget);
    const exhaustion = humanizeDuration(mustParseDuration(SLO_PERIOD) / b.factor);
    // Only over enough traffic in the short window: pages from pageMinEvents, tickets from ticketMinEvents.
    const min = b.severity === "critical" ? slo.pageMinEvents : ticketMinEvents(b, slo.objective);
    const floor = ` and on () avg_over_time(${ofSlo(SLO_RECORDS.totalEvents)}[${b.short}]) * ${mustParseDuration(b.short)} >= ${min}`;
    return {
      kind: "alert",
      alert: slo.alert,
      expr: `${ofSlo(SLO_RECORDS.errorRatio(b.long))} > ${limit} and ${ofSlo(SLO_RECORDS.errorRatio(b.short))} > ${limit}${floor}`,
      severity: b.severity,
      service: slo.service,
      category: slo.category,
      labels: { window: windowLabel(b) },
      summary: `${slo.name} burns its ${SLO_PERIOD} error budget ${b.factor}x too fast`,
      description:
        `The error ratio (${slo.good} failing) is {{ $value | humanizePercentage }} over ${b.long} and still above over ${b.short}: ` +
        `${b.factor}x the ${humanizePercentage(budget)} budget of the ${humanizePercentage(slo.objective)} objective; ` +
        `at this rate the ${SLO_PERIOD} budget is gone in ${exhaustion}.`,
      runbook: slo.runbook,
    };
  });
  const long = (r: PromRule) => r.kind === "record" && (LONG_WINDOWS.some((w) => r.record === SLO_RECORDS.errorRatio(w)) || r.record === SLO_RECORDS.budgetRemaining);
  const rules = [...events, ...sli, ...meta, ...alerts];
  return [
    { name: `slo-${slo.name}`, source, rules: rules.filter((r) => !long(r)) },
    { name: `slo-${slo.name}-long`, source, interval: LONG_WINDOW_INTERVAL, rules: rules.filter(long) },
  ];
}

/** Seconds a window spans, for tests and dashboards. */
export const windowSeconds = (w: string) => mustParseDuration(w);
