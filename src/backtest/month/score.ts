/**
 * Alert quality of a backtest over the labelled month: per alert tier, incidents detected / expected,
 * detection delay, false episodes (any not starting during an incident that rightly fires its tier,
 * or the hour after; three days for the SLO burn alerts when it spent error budget) with the likely cause,
 * pages per week; and the catalog totals the bench reports.
 */
import type { AlertOut, EpisodeOut } from "../engine";
import { trafficAt, type Month } from "./generate";
import { BUDGET_ALERTS } from "./incidents";

export interface TierQuality {
  readonly tier: string;
  readonly severity: string;
  readonly expected: number;
  readonly detected: number;
  readonly delays: readonly number[];
  readonly missed: readonly string[];
  readonly falseEpisodes: number;
  /** Causes of the false episodes, e.g. "night traffic ×3". */
  readonly why: readonly string[];
  readonly episodes: number;
  readonly pagesPerWeek: number;
  readonly skipped?: string;
}

export interface Quality {
  readonly tiers: readonly TierQuality[];
  readonly recall: number;
  readonly falseCritical: number;
  readonly falseWarningsPerWeek: number;
  /** Info episodes (e-mail, within hours) are not warnings: counted apart, outside the goal. */
  readonly falseInfoPerWeek: number;
}

const seconds = (iso: string) => Date.parse(iso) / 1000;

/** The likely reason an episode started outside every incident. */
function cause(t: number, month: Month, monthStart: number): string {
  if (month.gaps.some((g) => g.what === "scrape-gap" && t >= g.start && t < g.end + 600)) return "scrape gap";
  if (month.gaps.some((g) => g.what === "pushgateway-restart" && t >= g.start && t < g.end + 600)) return "pushgateway restart";
  if (month.deploys.some((d) => t >= d && t < d + 900)) return "deploy";
  if (trafficAt(t, monthStart) < 2) return "night traffic";
  if (t < monthStart + 86400) return "history shorter than the rule's window";
  return "noise";
}

/** One entry per alert tier (alert and severity): the episodes of every rule of the tier together. */
function byTier(alerts: readonly AlertOut[]): AlertOut[] {
  const tiers = new Map<string, AlertOut>();
  for (const a of alerts) {
    const key = `${a.alert} ${a.severity}`;
    const known = tiers.get(key);
    const skipped = [known?.skipped, a.skipped].filter(Boolean).join("; ");
    tiers.set(key, { ...(known ?? a), episodes: [...(known?.episodes ?? []), ...a.episodes], ...(skipped ? { skipped } : {}) });
  }
  return [...tiers.values()];
}

/**
 * The alerts of an HA pair as Alertmanager receives them: each rule's episodes from both replicas,
 * an alert (label set) firing while either replica fires it. `a` and `b` list the same rules in the same order.
 */
export function mergeReplicas(a: readonly AlertOut[], b: readonly AlertOut[]): AlertOut[] {
  return a.map((rule, i) => {
    const other = b[i];
    if (!other || other.alert !== rule.alert || other.severity !== rule.severity) throw new Error(`mergeReplicas: rule ${i} is ${rule.alert} on one replica, ${other?.alert} on the other`);
    const bySet = new Map<string, EpisodeOut[]>();
    for (const e of [...rule.episodes, ...other.episodes]) {
      const key = JSON.stringify(e.labels);
      bySet.set(key, [...(bySet.get(key) ?? []), e]);
    }
    const episodes: EpisodeOut[] = [];
    for (const list of bySet.values()) {
      const end = (e: EpisodeOut) => (e.end === null ? Infinity : seconds(e.end));
      let open: EpisodeOut | undefined;
      for (const e of list.sort((x, y) => seconds(x.start) - seconds(y.start))) {
        if (open && seconds(e.start) <= end(open)) {
          if (end(e) > end(open)) open = { ...open, end: e.end };
          continue;
        }
        if (open) episodes.push(open);
        open = e;
      }
      if (open) episodes.push(open);
    }
    const skipped = [rule.skipped, other.skipped].filter(Boolean).join("; ");
    return { ...rule, episodes: episodes.sort((x, y) => seconds(x.start) - seconds(y.start)), ...(skipped ? { skipped } : {}) };
  });
}

export function score(rules: readonly AlertOut[], month: Month, monthStart: number, end: number): Quality {
  const alerts = byTier(rules);
  const weeks = (end - monthStart) / (7 * 86400);
  const tiers: TierQuality[] = [];
  let expectedAll = 0;
  let detectedAll = 0;
  let falseCritical = 0;
  let falseWarnings = 0;
  let falseInfo = 0;
  for (const a of alerts) {
    const episodes = a.episodes.map((e) => ({ start: seconds(e.start), end: e.end === null ? end : seconds(e.end) }));
    const meant = month.incidents.filter((i) => i.expect.alert === a.alert && i.expect.severity === a.severity);
    const delays: number[] = [];
    const missed: string[] = [];
    for (const i of meant) {
      const hit = episodes.find((e) => e.start <= i.start + i.expect.within && e.end > i.start);
      if (hit) delays.push(Math.max(0, hit.start - i.start));
      else missed.push(i.id);
    }
    const causes = new Map<string, number>();
    let falseEpisodes = 0;
    for (const e of episodes) {
      const excused = (i: Month["incidents"][number]) =>
        e.start >= i.start &&
        ((BUDGET_ALERTS.includes(a.alert) && e.start < i.budgetUntil) || (i.mayFire.includes(`${a.alert} ${a.severity}`) && e.start < i.settlesAt));
      if (month.incidents.some(excused)) continue;
      falseEpisodes++;
      const c = cause(e.start, month, monthStart);
      causes.set(c, (causes.get(c) ?? 0) + 1);
    }
    if (a.severity === "critical") falseCritical += falseEpisodes;
    if (a.severity === "warning") falseWarnings += falseEpisodes;
    if (a.severity === "info") falseInfo += falseEpisodes;
    expectedAll += meant.length;
    detectedAll += delays.length;
    tiers.push({
      tier: a.alert, severity: a.severity, expected: meant.length, detected: delays.length, delays: delays.sort((x, y) => x - y), missed,
      falseEpisodes, why: [...causes].sort((x, y) => y[1] - x[1]).map(([c, n]) => `${c} ×${n}`),
      episodes: episodes.length, pagesPerWeek: a.severity === "critical" ? episodes.length / weeks : 0, ...(a.skipped ? { skipped: a.skipped } : {}),
    });
  }
  return { tiers, recall: expectedAll ? detectedAll / expectedAll : 1, falseCritical, falseWarningsPerWeek: falseWarnings / weeks, falseInfoPerWeek: falseInfo / weeks };
}
