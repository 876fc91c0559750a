/**
 * Reads one stack's rendered artifacts (docs/artifacts.md: out/<stack>/) into the facts
 * `npm run diff` compares. Depends only on the file layout and formats of the synth contract.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";

/** Relative POSIX path → file content. */
export type FileTree = ReadonlyMap<string, string>;

export interface RenderedStack {
  readonly stack: string;
  readonly files: FileTree;
  /** stacks/Pulumi.<stack>.yaml of that revision, parsed (settings that only live there, e.g. authwatch:cluster). */
  readonly stackFile: Record<string, unknown> | undefined;
}

export interface AlertRule {
  readonly source: "prometheus" | "loki";
  readonly file: string;
  readonly group: string;
  /** The group's evaluation interval, or the stack's global one. */
  readonly interval: string;
  readonly alert: string;
  readonly expr: string;
  readonly for: string | undefined;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface RecordRule {
  readonly source: "prometheus" | "loki";
  readonly record: string;
  readonly expr: string;
  readonly labels: Readonly<Record<string, string>>;
}

export interface RetentionStream {
  readonly selector: string;
  readonly period: string;
  readonly priority: number | undefined;
}

export interface Panel {
  readonly title: string;
  readonly thresholds: string | undefined;
  readonly unit: string | undefined;
  /** The panel's other top-level fields (canonical JSON) without id, position and thresholds, to tell any other change. */
  readonly rest: Readonly<Record<string, string>>;
}

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly panels: ReadonlyMap<string, Panel>;
  readonly rest: string;
}

export interface StackFacts {
  readonly alerts: readonly AlertRule[];
  readonly records: readonly RecordRule[];
  readonly ruleGroups: ReadonlyMap<string, string>;
  readonly alertmanager: Record<string, unknown> | undefined;
  readonly prometheus: Record<string, unknown> | undefined;
  readonly externalLabels: Readonly<Record<string, string>>;
  readonly retentionDefault: string | undefined;
  readonly retention: readonly RetentionStream[];
  readonly dashboards: ReadonlyMap<string, Dashboard>;
  readonly migrations: ReadonlyMap<string, string>;
  readonly cluster: unknown;
  /** Files no section above reads, for a plain "changed" line. */
  readonly otherFiles: ReadonlyMap<string, string>;
}

/** Reads a rendered directory into a FileTree (sorted, POSIX paths). */
export function readTree(dir: string): FileTree {
  const files = new Map<string, string>();
  const visit = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) visit(p);
      else if (e.isFile()) files.set(p, fs.readFileSync(path.join(dir, p), "utf8"));
    }
  };
  visit("");
  return files;
}

const load = (file: string, text: string): unknown => {
  try {
    return yaml.load(text);
  } catch (e) {
    throw new Error(`${file}: not YAML: ${(e as Error).message}`);
  }
};

const strings = (o: unknown): Record<string, string> =>
  Object.fromEntries(Object.entries((o as Record<string, unknown>) ?? {}).map(([k, v]) => [k, String(v)]));

/** A canonical JSON with sorted keys, so that equal values compare equal. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x,
  );
}

interface RawPanel {
  title?: string;
  type?: string;
  panels?: RawPanel[];
  fieldConfig?: { defaults?: { thresholds?: unknown; unit?: string }; overrides?: unknown };
  [k: string]: unknown;
}

function dashboard(uid: string, json: string): Dashboard {
  const d = JSON.parse(json) as { title?: string; panels?: RawPanel[] } & Record<string, unknown>;
  const panels = new Map<string, Panel>();
  const add = (p: RawPanel) => {
    const { id: _id, gridPos: _g, panels: children, ...rest } = p;
    const thresholds = p.fieldConfig?.defaults?.thresholds;
    const restNoThresholds = { ...rest, fieldConfig: { ...p.fieldConfig, defaults: { ...p.fieldConfig?.defaults, thresholds: undefined } } };
    const base = `${p.type === "row" ? "row " : ""}${p.title ?? "(untitled)"}`;
    let title = base;
    for (let n = 2; panels.has(title); n++) title = `${base} #${n}`;
    panels.set(title, {
      title,
      thresholds: thresholds === undefined ? undefined : canonical(thresholds),
      unit: p.fieldConfig?.defaults?.unit,
      rest: Object.fromEntries(Object.entries(restNoThresholds).map(([k, v]) => [k, canonical(v)])),
    });
    for (const c of children ?? []) add(c);
  };
  for (const p of d.panels ?? []) add(p);
  const { panels: _p, ...rest } = d;
  return { uid, title: d.title ?? uid, panels, rest: canonical(rest) };
}

/** Everything `npm run diff` compares, from one stack's rendered files. */
export function stackFacts(r: RenderedStack): StackFacts {
  const files = r.files;
  const used = new Set<string>(["summary.json"]);
  const read = (p: string): string | undefined => {
    const t = files.get(p);
    if (t !== undefined) used.add(p);
    return t;
  };
  const promText = read("prometheus/prometheus.yaml");
  const prometheus = promText === undefined ? undefined : (load("prometheus/prometheus.yaml", promText) as Record<string, unknown>);
  const global = (prometheus?.global ?? {}) as Record<string, unknown>;
  const defaultInterval = String(global.evaluation_interval ?? "1m");

  const alerts: AlertRule[] = [];
  const records: RecordRule[] = [];
  const ruleGroups = new Map<string, string>();
  for (const [p, text] of files) {
    const source = p.startsWith("prometheus/rules/") ? "prometheus" : p.startsWith("loki/rules/") ? "loki" : undefined;
    if (!source || !/\.ya?ml$/.test(p)) continue;
    used.add(p);
    const doc = load(p, text) as { groups?: { name: string; interval?: string; rules?: Record<string, unknown>[] }[] } | null;
    for (const g of doc?.groups ?? []) {
      const interval = g.interval ?? defaultInterval;
      ruleGroups.set(`${source} ${g.name}`, interval);
      for (const rule of g.rules ?? []) {
        if (typeof rule.alert === "string") {
          alerts.push({
            source, file: p, group: g.name, interval, alert: rule.alert, expr: String(rule.expr ?? "").trim(),
            for: rule.for === undefined ? undefined : String(rule.for), labels: strings(rule.labels), annotations: strings(rule.annotations),
          });
        } else if (typeof rule.record === "string") {
          records.push({ source, record: rule.record, expr: String(rule.expr ?? "").trim(), labels: strings(rule.labels) });
        }
      }
    }
  }

  const amText = read("alertmanager/alertmanager.yaml");
  const limitsText = read("loki/limits.yaml");
  const limits = ((limitsText === undefined ? undefined : (load("loki/limits.yaml", limitsText) as Record<string, unknown>))?.limits_config ?? {}) as {
    retention_period?: string;
    retention_stream?: { selector: string; period: string; priority?: number }[];
  };

  const dashboards = new Map<string, Dashboard>();
  const migrations = new Map<string, string>();
  for (const [p, text] of files) {
    const d = /^grafana\/dashboards\/(.+)\.json$/.exec(p);
    if (d) {
      used.add(p);
      dashboards.set(d[1]!, dashboard(d[1]!, text));
    }
    const m = /^postgres\/migrations\/(.+)$/.exec(p);
    if (m) {
      used.add(p);
      migrations.set(m[1]!, text);
    }
  }
  const config = (r.stackFile?.config ?? {}) as Record<string, unknown>;
  return {
    alerts,
    records,
    ruleGroups,
    alertmanager: amText === undefined ? undefined : (load("alertmanager/alertmanager.yaml", amText) as Record<string, unknown>),
    prometheus,
    externalLabels: strings(global.external_labels),
    retentionDefault: limits.retention_period,
    retention: (limits.retention_stream ?? []).map((s) => ({ selector: s.selector, period: String(s.period), priority: s.priority })),
    dashboards,
    migrations,
    cluster: config["authwatch:cluster"],
    otherFiles: new Map([...files].filter(([p]) => !used.has(p))),
  };
}
