/**
 * The semantic diff of one stack's rendered artifacts between two revisions, and the
 * summary over all stacks (what pages less, more or differently; retention; migrations).
 */
import * as yaml from "js-yaml";
import { canonical, stackFacts, type RenderedStack, type StackFacts } from "./artifacts";
import { compareAlerts, type TierDiff } from "./alerts";
import { describeInhibitRule } from "./routing";
import { comparisons, parseDuration, retentionText } from "./values";

/** A setting or field that was added (old undefined), removed (new undefined) or changed. */
export interface ValueChange {
  readonly path: string;
  readonly old?: string;
  readonly new?: string;
}

export interface StackDiff {
  readonly stack: string;
  readonly presence: "both" | "added" | "removed";
  readonly alerts: readonly TierDiff[];
  readonly routing: readonly ValueChange[];
  readonly recordingRules: readonly ValueChange[];
  readonly slos: readonly ValueChange[];
  readonly ruleGroups: readonly ValueChange[];
  readonly lokiRetention: readonly ValueChange[];
  readonly dashboards: readonly ValueChange[];
  readonly migrations: { readonly added: readonly string[]; readonly removed: readonly string[]; readonly edited: readonly string[] };
  readonly prometheus: readonly ValueChange[];
  readonly cluster: readonly ValueChange[];
  readonly otherFiles: readonly ValueChange[];
  /** Set when the security stream's retention got shorter. */
  readonly securityRetentionShortened?: { readonly old: string; readonly new: string };
}

export interface Summary {
  readonly pagesLess: readonly string[];
  readonly pagesMore: readonly string[];
  readonly pagesDifferently: readonly string[];
  readonly otherAlertChanges: readonly string[];
  readonly securityRetentionShortened: readonly string[];
  readonly migrationsToRun: readonly string[];
  readonly stacksAddedOrRemoved: readonly string[];
}

const show = (v: unknown): string => (typeof v === "string" ? v : canonical(v));

/** Leaf-by-leaf differences of two plain values (YAML/JSON), as `a.b[0].c: old → new`. */
export function deepDiff(a: unknown, b: unknown, at = ""): ValueChange[] {
  if (canonical(a) === canonical(b)) return [];
  const isObj = (x: unknown) => x !== null && typeof x === "object";
  if (isObj(a) && isObj(b) && Array.isArray(a) === Array.isArray(b)) {
    const out: ValueChange[] = [];
    const ka = Object.keys(a as object);
    const kb = Object.keys(b as object);
    const keys = Array.isArray(a) ? [...Array(Math.max(ka.length, kb.length)).keys()].map(String) : [...new Set([...ka, ...kb])].sort();
    for (const k of keys) {
      const p = Array.isArray(a) ? `${at}[${k}]` : at ? `${at}.${k}` : k;
      out.push(...deepDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], p));
    }
    return out;
  }
  return [{ path: at || "(value)", ...(a === undefined ? {} : { old: show(a) }), ...(b === undefined ? {} : { new: show(b) }) }];
}

/** Entries of two keyed maps: added, removed, or changed (then `changed(old, new)` tells how). */
function keyed<T>(a: ReadonlyMap<string, T>, b: ReadonlyMap<string, T>, changed: (k: string, x: T, y: T) => ValueChange[], label = (k: string) => k): ValueChange[] {
  const out: ValueChange[] = [];
  for (const k of [...new Set([...a.keys(), ...b.keys()])].sort()) {
    const x = a.get(k);
    const y = b.get(k);
    if (x === undefined) out.push({ path: label(k), new: "added" });
    else if (y === undefined) out.push({ path: label(k), old: "removed" });
    else out.push(...changed(k, x, y));
  }
  return out;
}

const SLO_RECORDS = new Set(["slo:objective:ratio", "slo:error_budget:ratio"]);

function compareRouting(a: StackFacts, b: StackFacts): ValueChange[] {
  const am = (f: StackFacts) => (f.alertmanager ?? {}) as Record<string, unknown>;
  const inhibit = (f: StackFacts) => new Set(((am(f).inhibit_rules as Record<string, unknown>[]) ?? []).map(describeInhibitRule));
  const ia = inhibit(a);
  const ib = inhibit(b);
  const out: ValueChange[] = [
    ...[...ia].filter((r) => !ib.has(r)).map((r) => ({ path: "inhibition rule", old: r })),
    ...[...ib].filter((r) => !ia.has(r)).map((r) => ({ path: "inhibition rule", new: r })),
  ];
  const intervals = (f: StackFacts) =>
    new Map(
      [...((am(f).time_intervals as { name: string }[]) ?? []), ...((am(f).mute_time_intervals as { name: string }[]) ?? [])].map((t) => [t.name, t] as const),
    );
  out.push(...keyed(intervals(a), intervals(b), (k, x, y) => deepDiff(x, y, `time interval ${k}`), (k) => `time interval ${k}`));
  const receivers = (f: StackFacts) => new Map(((am(f).receivers as { name: string }[]) ?? []).map((r) => [r.name, r] as const));
  out.push(...keyed(receivers(a), receivers(b), (k, x, y) => deepDiff(x, y, `receiver ${k}`), (k) => `receiver ${k}`));
  const { routes: _ra, ...rootA } = (am(a).route ?? {}) as Record<string, unknown>;
  const { routes: _rb, ...rootB } = (am(b).route ?? {}) as Record<string, unknown>;
  out.push(...deepDiff(rootA, rootB, "root route"), ...deepDiff(am(a).global, am(b).global, "global"));
  return out;
}

function compareRecords(a: StackFacts, b: StackFacts): { records: ValueChange[]; slos: ValueChange[] } {
  const map = (f: StackFacts) =>
    new Map(f.records.filter((r) => !SLO_RECORDS.has(r.record)).map((r) => [`${r.record}${Object.keys(r.labels).length ? canonical(r.labels) : ""}${r.source === "loki" ? " (Loki)" : ""}`, r.expr] as const));
  const records = keyed(map(a), map(b), (k, x, y) => (x === y ? [] : [{ path: k, old: x, new: y }]));
  const objective = (f: StackFacts) =>
    new Map(
      f.records
        .filter((r) => r.record === "slo:objective:ratio")
        .map((r) => {
          const n = comparisons(`>${/vector\(([^)]*)\)/.exec(r.expr)?.[1] ?? ""}`).constants[0]?.value;
          return [`SLO ${r.labels.slo ?? "?"} objective`, n === undefined ? r.expr : `${Number((n * 100).toPrecision(6))}%`] as const;
        }),
    );
  return { records, slos: keyed(objective(a), objective(b), (k, x, y) => (x === y ? [] : [{ path: k, old: x, new: y }])) };
}

function compareRetention(a: StackFacts, b: StackFacts): ValueChange[] {
  const out: ValueChange[] = [];
  if (a.retentionDefault !== b.retentionDefault) out.push({ path: "default retention", old: retentionText(a.retentionDefault), new: retentionText(b.retentionDefault) });
  const map = (f: StackFacts) => new Map(f.retention.map((s) => [s.selector, retentionText(s.period)] as const));
  out.push(...keyed(map(a), map(b), (k, x, y) => (x === y ? [] : [{ path: `retention ${k}`, old: x, new: y }]), (k) => `retention ${k}`));
  return out;
}

/** Retention of the security stream(s) ({category="security"}), in seconds; the default where no stream rule. */
function securityRetention(f: StackFacts): number | undefined {
  const s = f.retention.find((r) => /category\s*=\s*"security"/.test(r.selector));
  return parseDuration(s?.period ?? f.retentionDefault);
}

function stepsText(thresholds: string | undefined, unit: string | undefined): string {
  if (thresholds === undefined) return "none";
  const steps = ((JSON.parse(thresholds) as { steps?: { color: string; value: number | null }[] }).steps ?? []);
  const v = (n: number) => (unit === "percentunit" ? `${Number((n * 100).toPrecision(4))}%` : unit === "s" ? `${n}s` : String(n));
  return steps.map((s) => (s.value === null ? s.color : `${s.color} ${v(s.value)}`)).join(", ");
}

function compareDashboards(a: StackFacts, b: StackFacts): ValueChange[] {
  return keyed(a.dashboards, b.dashboards, (uid, x, y) => {
    const out: ValueChange[] = keyed(x.panels, y.panels, (title, p, q) => {
      const changes: ValueChange[] = [];
      if (p.thresholds !== q.thresholds) changes.push({ path: `${uid}: panel "${title}" threshold steps`, old: stepsText(p.thresholds, p.unit), new: stepsText(q.thresholds, q.unit) });
      const fields = [...new Set([...Object.keys(p.rest), ...Object.keys(q.rest)])].filter((k) => p.rest[k] !== q.rest[k]).sort();
      if (fields.length) changes.push({ path: `${uid}: panel "${title}"`, new: `${fields.join(", ")} changed` });
      return changes;
    }, (title) => `${uid}: panel "${title}"`);
    if (x.rest !== y.rest) out.push({ path: `${uid}`, new: "dashboard settings changed (title, variables, links, ...)" });
    return out;
  }, (uid) => `dashboard ${uid}`);
}

function comparePrometheus(a: StackFacts, b: StackFacts): ValueChange[] {
  const p = (f: StackFacts) => (f.prometheus ?? {}) as { global?: unknown; scrape_configs?: { job_name: string }[] };
  const jobs = (f: StackFacts) => new Map((p(f).scrape_configs ?? []).map((j) => [j.job_name, j] as const));
  return [...deepDiff(p(a).global, p(b).global, "global"), ...keyed(jobs(a), jobs(b), (k, x, y) => deepDiff(x, y, `scrape job ${k}`), (k) => `scrape job ${k}`)];
}

/** Most changes listed for one file of no known kind (e.g. kubernetes/*.yaml), before "… N more". */
const FILE_CHANGES = 20;

function yamlDocs(text: string): unknown[] | undefined {
  try {
    return yaml.loadAll(text);
  } catch {
    return undefined;
  }
}

/** `+3 −1 lines`: lines only in the new text against lines only in the old (counted as multisets, not an exact diff). */
function lineCounts(a: string, b: string): string {
  const count = new Map<string, number>();
  for (const l of a.split("\n")) count.set(l, (count.get(l) ?? 0) + 1);
  let added = 0;
  for (const l of b.split("\n")) {
    const n = count.get(l) ?? 0;
    if (n > 0) count.set(l, n - 1);
    else added++;
  }
  const removed = [...count.values()].reduce((x, y) => x + y, 0);
  return `+${added} −${removed} lines`;
}

/** Files no section reads: YAML and JSON leaf by leaf (replicas, retention, sizes of manifests), the rest as changed. */
function compareFiles(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): ValueChange[] {
  return keyed(a, b, (k, x, y) => {
    if (x === y) return [];
    const [da, db] = /\.(ya?ml|json)$/.test(k) ? [yamlDocs(x), yamlDocs(y)] : [undefined, undefined];
    const changes = da && db ? deepDiff(da.length === 1 ? da[0] : da, db.length === 1 ? db[0] : db, k) : [];
    if (changes.length === 0) return [{ path: k, new: `changed (${lineCounts(x, y)})` }];
    return changes.length > FILE_CHANGES ? [...changes.slice(0, FILE_CHANGES), { path: k, new: `… ${changes.length - FILE_CHANGES} more changes` }] : changes;
  });
}

const EMPTY: RenderedStack = { stack: "", files: new Map(), stackFile: undefined };

export function compareStack(stack: string, before: RenderedStack | undefined, after: RenderedStack | undefined): StackDiff {
  const a = stackFacts(before ?? EMPTY);
  const b = stackFacts(after ?? EMPTY);
  const presence = before && after ? "both" : before ? "removed" : "added";
  if (presence !== "both") {
    const none = { added: [], removed: [], edited: [] };
    return { stack, presence, alerts: [], routing: [], recordingRules: [], slos: [], ruleGroups: [], lokiRetention: [], dashboards: [], migrations: none, prometheus: [], cluster: [], otherFiles: [] };
  }
  const { records, slos } = compareRecords(a, b);
  const up = (m: ReadonlyMap<string, string>) => [...m.keys()];
  return {
    stack,
    presence,
    alerts: compareAlerts(a, b),
    routing: compareRouting(a, b),
    recordingRules: records,
    slos,
    ruleGroups: keyed(a.ruleGroups, b.ruleGroups, (k, x, y) => (x === y ? [] : [{ path: `${k} interval`, old: x, new: y }]), (k) => `group ${k}`),
    lokiRetention: compareRetention(a, b),
    dashboards: compareDashboards(a, b),
    migrations: {
      added: up(b.migrations).filter((m) => !a.migrations.has(m)),
      removed: up(a.migrations).filter((m) => !b.migrations.has(m)),
      edited: up(a.migrations).filter((m) => b.migrations.has(m) && a.migrations.get(m) !== b.migrations.get(m)),
    },
    prometheus: comparePrometheus(a, b),
    cluster: deepDiff(a.cluster, b.cluster, "cluster"),
    otherFiles: compareFiles(a.otherFiles, b.otherFiles),
    ...securityShortened(a, b),
  };
}

function securityShortened(a: StackFacts, b: StackFacts): Pick<StackDiff, "securityRetentionShortened"> {
  const sa = securityRetention(a);
  const sb = securityRetention(b);
  if (sa === undefined || (sb !== undefined && sb >= sa)) return {};
  return { securityRetentionShortened: { old: retentionText(`${sa}s`), new: sb === undefined ? "no retention rule" : retentionText(`${sb}s`) } };
}

export function hasChanges(d: StackDiff): boolean {
  return (
    d.presence !== "both" ||
    [d.alerts, d.routing, d.recordingRules, d.slos, d.ruleGroups, d.lokiRetention, d.dashboards, d.prometheus, d.cluster, d.otherFiles].some((x) => x.length > 0) ||
    d.migrations.added.length + d.migrations.removed.length + d.migrations.edited.length > 0
  );
}

const recv = (r: readonly string[] | undefined) => (r && r.length ? r.join(", ") : "nothing");

/** What changed in when or where a tier pages, for the summary: `threshold > 5% → > 7%; for 2m → 5m` (wording edits stay below). */
export function conditionText(t: TierDiff): string {
  const wording = new Set(["summary", "description", "runbook_url", "dashboard_url", "rule group"]);
  return t.changes
    .filter((c) => !wording.has(c.field))
    .map((c) => (c.field === "expression" ? "expression changed" : `${c.field} ${c.old} → ${c.new}`))
    .join("; ");
}

/** The headlines over all stacks; the same line for several stacks is written once, naming them. */
export function summarize(diffs: readonly StackDiff[]): Summary {
  const keys = ["pagesLess", "pagesMore", "pagesDifferently", "otherAlertChanges", "securityRetentionShortened", "migrationsToRun", "stacksAddedOrRemoved"] as const;
  const lines = Object.fromEntries(keys.map((k) => [k, new Map<string, string[]>()])) as Record<keyof Summary, Map<string, string[]>>;
  const add = (k: keyof Summary, text: string, stack: string) => lines[k].set(text, [...(lines[k].get(text) ?? []), stack]);
  for (const d of diffs) {
    if (d.presence !== "both") add("stacksAddedOrRemoved", `stack ${d.presence}`, d.stack);
    for (const t of d.alerts) {
      const condition = conditionText(t);
      if (t.pagesBefore && !t.pagesAfter) {
        add("pagesLess", t.status === "removed" ? `${t.tier} removed: no longer pages` : `${t.tier} no longer pages (now ${recv(t.receiversAfter)})`, d.stack);
      } else if (!t.pagesBefore && t.pagesAfter) {
        add("pagesMore", t.status === "added" ? `${t.tier} added: now pages (${recv(t.receiversAfter)})` : `${t.tier} now pages (was ${recv(t.receiversBefore)})`, d.stack);
      } else if (t.pagesBefore && t.pagesAfter) {
        if (condition) add("pagesDifferently", `${t.tier}: ${condition}`, d.stack);
      } else if (t.status === "added") add("otherAlertChanges", `${t.tier} added → ${recv(t.receiversAfter)}`, d.stack);
      else if (t.status === "removed") add("otherAlertChanges", `${t.tier} removed (was → ${recv(t.receiversBefore)})`, d.stack);
      else if (condition) add("otherAlertChanges", `${t.tier}: ${condition}`, d.stack);
    }
    const s = d.securityRetentionShortened;
    if (s) add("securityRetentionShortened", `security logs kept ${s.old} → ${s.new}`, d.stack);
    for (const m of d.migrations.added.filter((x) => !x.endsWith(".down.sql"))) add("migrationsToRun", m, d.stack);
    for (const m of d.migrations.edited) add("migrationsToRun", `${m} edited: a migration that may already have run changed`, d.stack);
  }
  return Object.fromEntries(keys.map((k) => [k, [...lines[k]].map(([text, stacks]) => `${stacks.join(", ")}: ${text}`)])) as unknown as Summary;
}
