/**
 * The recording rules' own series, as a Prometheus that has run for a month holds them: the 30-day
 * SLO windows and the dashboards' 7-day panels read them. Their labels follow each rule: its `by (…)`
 * labels (job = auth, a route or an operation each) and its static labels (slo = …).
 */
import { load } from "js-yaml";
import { HTTP_DURATION_BUCKETS } from "../src/telemetry";

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
        const by = /by \(([^)]*)\)/.exec(r.expr)?.[1]?.split(",").map((l) => l.trim()).filter(Boolean) ?? [];
        let sets: Record<string, string>[] = [{ ...(r.labels ?? {}) }];
        const values: Record<string, string[]> = {
          job: ["auth"],
          route: Array.from({ length: o.routes }, (_, i) => `/v1/route-${i}`),
          operation: OPERATIONS,
          le: [...HTTP_DURATION_BUCKETS.map(String), "+Inf"],
        };
        for (const l of by) sets = sets.flatMap((s) => (values[l] ?? ["x"]).map((v) => ({ ...s, [l]: v })));
        for (const labels of sets) {
          const prefix = `${r.record}{${Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}="${v}"`).join(",")}} `;
          if (seen.has(prefix)) continue;
          seen.add(prefix);
          const level = r.record.includes("ratio") ? 0.001 : r.record.includes("seconds") ? 0.2 : r.record.startsWith("slo:objective") ? 0.999 : 1000;
          // Cumulative buckets: a share of the rate that grows with le (one phase for all of a route's buckets).
          const le = labels.le === undefined ? 1 : labels.le === "+Inf" ? 1 : Math.min(1, 0.3 + Number(labels.le));
          const phase = labels.route ? labels.route.length : seen.size;
          out.push({ prefix, value: (t) => Number((le * level * (1 + 0.3 * Math.sin(t / 5000 + phase))).toPrecision(6)) });
        }
      }
    }
  }
  return out;
}
