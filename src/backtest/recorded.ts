/** Which recording rules a Prometheus already records, as the catalog defines them, over a range. */
import { queryInstant } from "./query";
import type { Recording } from "./rules";

interface RulesApi {
  status: string;
  data?: { groups: { rules: { type: string; name: string; query: string }[] }[] };
}

/** The series one recording rule writes: its name and its static labels. */
export const selector = (r: Recording): string =>
  `${r.record}{${Object.entries(r.labels).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")}}`;

const squash = (s: string) => s.replace(/\s+/g, "");

/** Recording rule name → the expressions the Prometheus evaluates for it (empty when it has no rules API answer). */
async function loadedRules(url: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const res = await fetch(`${url.replace(/\/$/, "")}/api/v1/rules?type=record`).catch(() => undefined);
  if (!res?.ok) return out;
  const body = (await res.json()) as RulesApi;
  for (const g of body.data?.groups ?? []) for (const r of g.rules) if (r.type === "recording") out.set(r.name, [...(out.get(r.name) ?? []), squash(r.query)]);
  return out;
}

export interface Coverage {
  /** Recorded over the whole range with the catalog's expression. */
  readonly stored: ReadonlySet<Recording>;
  /** Why each of the others cannot be read from the Prometheus. */
  readonly missing: ReadonlyMap<Recording, string>;
}

/**
 * A rule counts as stored when the Prometheus has its series both at the start and at the end of
 * the range (within ten evaluations), and does not evaluate a different expression under its name.
 */
export async function coverage(url: string, records: readonly Recording[], start: number, end: number): Promise<Coverage> {
  const loaded = await loadedRules(url);
  const stored = new Set<Recording>();
  const missing = new Map<Recording, string>();
  for (const r of records) {
    const exprs = loaded.get(r.record);
    if (exprs && !exprs.includes(squash(r.expr))) {
      missing.set(r, "the Prometheus records a different expression under this name");
      continue;
    }
    const window = Math.max(10 * r.interval, 300);
    const sel = `count(last_over_time(${selector(r)}[${window}s]))`;
    const [atStart] = await queryInstant(url, sel, Math.min(end, start + window));
    const [atEnd] = await queryInstant(url, sel, end);
    if (atStart && atEnd) stored.add(r);
    else missing.set(r, atEnd ? "not recorded at the start of the range" : "not recorded over the range");
  }
  return { stored, missing };
}
