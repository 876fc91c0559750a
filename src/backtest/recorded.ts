/** Which recording rules a Prometheus already records, as the catalog defines them, over a range. */
import { queryInstant } from "./query";
import type { Recording } from "./rules";

interface RulesApi {
  status: string;
  data?: { groups: { name: string; interval: number; lastEvaluation?: string; rules: { type: string; name: string; query: string }[] }[] };
}

async function rulesApi(url: string): Promise<RulesApi["data"]> {
  const res = await fetch(`${url.replace(/\/$/, "")}/api/v1/rules`).catch(() => undefined);
  if (!res?.ok) return undefined;
  return ((await res.json()) as RulesApi).data;
}

/**
 * Where the Prometheus evaluates each rule group it loads: group name → seconds past each multiple
 * of its interval (from the group's last evaluation), so a backtest evaluates on the same schedule.
 */
export async function liveSchedule(url: string): Promise<Map<string, { interval: number; offset: number }>> {
  const out = new Map<string, { interval: number; offset: number }>();
  for (const g of (await rulesApi(url))?.groups ?? []) {
    const last = g.lastEvaluation ? Date.parse(g.lastEvaluation) / 1000 : NaN;
    if (!Number.isFinite(last) || last <= 0 || !(g.interval > 0)) continue;
    out.set(g.name, { interval: g.interval, offset: Math.round((last % g.interval) * 1000) / 1000 });
  }
  return out;
}

/** The series one recording rule writes: its name and its static labels. */
export const selector = (r: Recording): string =>
  `${r.record}{${Object.entries(r.labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")}}`;

const squash = (s: string) => s.replace(/\s+/g, "");

/** Recording rule name → the expressions the Prometheus evaluates for it (empty when it has no rules API answer). */
async function loadedRules(url: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const g of (await rulesApi(url))?.groups ?? []) for (const r of g.rules) if (r.type === "recording") out.set(r.name, [...(out.get(r.name) ?? []), squash(r.query)]);
  return out;
}

export interface Coverage {
  /** Recorded over the whole range with the catalog's expression. */
  readonly stored: ReadonlySet<Recording>;
  /** Why each of the others cannot be read from the Prometheus. */
  readonly missing: ReadonlyMap<Recording, string>;
  /** Those of `missing` the Prometheus records under the same name with another expression. */
  readonly changed: ReadonlySet<Recording>;
}

/**
 * A rule counts as stored when the Prometheus has its series both at the start and at the end of
 * the range (within ten evaluations), and does not evaluate a different expression under its name.
 */
export async function coverage(url: string, records: readonly Recording[], start: number, end: number): Promise<Coverage> {
  const loaded = await loadedRules(url);
  const stored = new Set<Recording>();
  const missing = new Map<Recording, string>();
  const changed = new Set<Recording>();
  for (const r of records) {
    const exprs = loaded.get(r.record);
    if (exprs && !exprs.includes(squash(r.expr))) {
      missing.set(r, "the Prometheus records a different expression under this name");
      changed.add(r);
      continue;
    }
    const window = Math.max(10 * r.interval, 300);
    const sel = `count(last_over_time(${selector(r)}[${window}s]))`;
    const [atStart] = await queryInstant(url, sel, Math.min(end, start + window));
    const [atEnd] = await queryInstant(url, sel, end);
    if (atStart && atEnd) stored.add(r);
    else missing.set(r, atEnd ? "not recorded at the start of the range" : "not recorded over the range");
  }
  return { stored, missing, changed };
}
