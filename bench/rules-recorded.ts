/**
 * The recording rules' own series, as a Prometheus that has run for a month holds them: the 30-day
 * SLO windows and the dashboards' 7-day panels read them. Their labels follow each rule: its `by (…)`
 * labels (job = auth, a route or an operation each) and its static labels (slo = …).
 */
import { load } from "js-yaml";

export interface Recorded {
  readonly prefix: string;
  value(t: number): number;
}

interface RuleFile {
  groups: { name: string; rules: { record?: string; expr: string; labels?: Record<string, string> }[] }[];
}

const OPERATIONS = ["login", "register", "refresh", "logout", "validate", "password_reset"];

export function recordedSeries(files: ReadonlyMap<string, string>, o: { routes: number }): Recorded[] {
  const out: Recorded[] = [];
  const seen = new Set<string>();
  for (const [file, text] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    if (!file.startsWith("prometheus/rules/")) continue;
    for (const g of (load(text) as RuleFile).groups) {
      for (const r of g.rules) {
        if (!r.record) continue;
        const by = /by \(([^)]*)\)/.exec(r.expr)?.[1]?.split(",").map((l) => l.trim()).filter((l) => l && l !== "le") ?? [];
        let sets: Record<string, string>[] = [{ ...(r.labels ?? {}) }];
        const values: Record<string, string[]> = {
          job: ["auth"],
          route: Array.from({ length: o.routes }, (_, i) => `/v1/route-${i}`),
          operation: OPERATIONS,
        };
        for (const l of by) sets = sets.flatMap((s) => (values[l] ?? ["x"]).map((v) => ({ ...s, [l]: v })));
        for (const labels of sets) {
          const prefix = `${r.record}{${Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}="${v}"`).join(",")}} `;
          if (seen.has(prefix)) continue;
          seen.add(prefix);
          const level = r.record.includes("ratio") ? 0.001 : r.record.includes("seconds") ? 0.2 : r.record.startsWith("slo:objective") ? 0.999 : 1000;
          const phase = seen.size;
          out.push({ prefix, value: (t) => Number((level * (1 + 0.3 * Math.sin(t / 5000 + phase))).toPrecision(6)) });
        }
      }
    }
  }
  return out;
}
