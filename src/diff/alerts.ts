/**
 * Alert tiers of two revisions of one stack, paired and compared: thresholds, `for`,
 * severity, labels, summary, expression, and the receivers each tier reaches.
 */
import type { AlertRule, StackFacts } from "./artifacts";
import { pagingReceivers, routeAlert, type Delivery } from "./routing";
import { comparisons, forText, thresholdChange } from "./values";

export interface FieldChange {
  readonly field: string;
  readonly old: string;
  readonly new: string;
}

export interface TierDiff {
  /** `AuthHighErrorRate critical`, with distinguishing labels: `BackupTooOld warning reason=stale`. */
  readonly tier: string;
  readonly alert: string;
  readonly source: "prometheus" | "loki";
  readonly status: "added" | "removed" | "changed";
  readonly changes: readonly FieldChange[];
  /** Receivers in Alertmanager's order; undefined where the tier does not exist. */
  readonly receiversBefore: readonly string[] | undefined;
  readonly receiversAfter: readonly string[] | undefined;
  readonly pagesBefore: boolean;
  readonly pagesAfter: boolean;
  /** Old and new rule, for the backtest. */
  readonly before: AlertRule | undefined;
  readonly after: AlertRule | undefined;
}

const severityOf = (r: AlertRule): string => r.labels.severity ?? "none";

/** Label names (besides severity) whose values differ between the rules of one alert: they tell its tiers apart. */
function distinguishing(rules: readonly AlertRule[]): string[] {
  const keys = new Set<string>();
  for (const r of rules) for (const k of Object.keys(r.labels)) if (k !== "severity") keys.add(k);
  return [...keys].filter((k) => new Set(rules.map((r) => r.labels[k])).size > 1).sort();
}

function tierName(r: AlertRule, keys: readonly string[]): string {
  const extra = keys.filter((k) => r.labels[k] !== undefined).map((k) => `${k}=${r.labels[k]}`);
  return [r.alert, severityOf(r), ...extra].join(" ");
}

/** Labels the alert carries into Alertmanager: the rule's, alertname, and Prometheus' external labels. */
export function alertLabels(r: AlertRule, external: Readonly<Record<string, string>>): Record<string, string> {
  return { ...external, ...r.labels, alertname: r.alert };
}

function deliveries(facts: StackFacts, r: AlertRule): Delivery[] | undefined {
  return facts.alertmanager ? routeAlert(facts.alertmanager, alertLabels(r, facts.externalLabels)) : undefined;
}

const deliveryText = (d: Delivery): string => {
  const opts = [`wait ${d.groupWait}`, `repeat ${d.repeatInterval}`];
  if (d.muteTimeIntervals.length) opts.push(`muted ${d.muteTimeIntervals.join(", ")}`);
  if (d.activeTimeIntervals.length) opts.push(`active ${d.activeTimeIntervals.join(", ")}`);
  return `${d.receiver} (${opts.join(", ")})`;
};

function ruleChanges(a: AlertRule, b: AlertRule): FieldChange[] {
  const out: FieldChange[] = [];
  if (severityOf(a) !== severityOf(b)) out.push({ field: "severity", old: severityOf(a), new: severityOf(b) });
  if (a.expr !== b.expr) {
    const ca = comparisons(a.expr);
    const cb = comparisons(b.expr);
    if (ca.masked === cb.masked && ca.constants.length === cb.constants.length) {
      const textA = `${a.annotations.summary ?? ""}\n${a.annotations.description ?? ""}`;
      const textB = `${b.annotations.summary ?? ""}\n${b.annotations.description ?? ""}`;
      const seen = new Set<string>();
      ca.constants.forEach((c, i) => {
        const d = cb.constants[i]!;
        if (c.value === d.value) return;
        // A ratio or percentile alert's traffic floor: `<condition> and on (...) <events> >= N` (alerts/terms.ts trafficFloor).
        if (i > 0 && c.op === ">=") {
          out.push({ field: "traffic floor", old: `${c.op} ${c.text}`, new: `${d.op} ${d.text}` });
          return;
        }
        const [o, n] = thresholdChange(c.value, d.value, textA, textB);
        const line = `${c.op} ${o}|${n}`;
        if (seen.has(line)) return; // `x > 0.0144 and y > 0.0144`: one threshold, written twice
        seen.add(line);
        out.push({ field: "threshold", old: `${c.op} ${o}`, new: `${d.op} ${n}` });
      });
    } else out.push({ field: "expression", old: a.expr, new: b.expr });
  }
  if (forText(a.for) !== forText(b.for)) out.push({ field: "for", old: forText(a.for), new: forText(b.for) });
  const keys = [...new Set([...Object.keys(a.labels), ...Object.keys(b.labels)])].filter((k) => k !== "severity").sort();
  for (const k of keys) {
    if (a.labels[k] !== b.labels[k]) out.push({ field: `label ${k}`, old: a.labels[k] ?? "(none)", new: b.labels[k] ?? "(none)" });
  }
  if ((a.annotations.summary ?? "") !== (b.annotations.summary ?? "")) out.push({ field: "summary", old: a.annotations.summary ?? "", new: b.annotations.summary ?? "" });
  for (const k of ["runbook_url", "dashboard_url"]) {
    if (a.annotations[k] !== b.annotations[k]) out.push({ field: k, old: a.annotations[k] ?? "(none)", new: b.annotations[k] ?? "(none)" });
  }
  // The description repeats the threshold and `for`; only an otherwise unexplained edit is news.
  if (out.length === 0 && a.annotations.description !== b.annotations.description) {
    out.push({ field: "description", old: a.annotations.description ?? "", new: b.annotations.description ?? "" });
  }
  if (a.group !== b.group) out.push({ field: "rule group", old: a.group, new: b.group });
  return out;
}

/** Pairs the tiers of both revisions: by alert, severity and distinguishing labels; a lone leftover pair is one tier that changed. */
function pairTiers(before: readonly AlertRule[], after: readonly AlertRule[]): { name: string; a?: AlertRule; b?: AlertRule }[] {
  const byAlert = new Map<string, { a: AlertRule[]; b: AlertRule[] }>();
  const slot = (r: AlertRule) => {
    const key = `${r.source}\u0000${r.alert}`;
    if (!byAlert.has(key)) byAlert.set(key, { a: [], b: [] });
    return byAlert.get(key)!;
  };
  for (const r of before) slot(r).a.push(r);
  for (const r of after) slot(r).b.push(r);
  const out: { name: string; a?: AlertRule; b?: AlertRule }[] = [];
  for (const { a, b } of byAlert.values()) {
    const keys = [...new Set([...distinguishing(a), ...distinguishing(b)])].sort();
    const named = (rs: AlertRule[]) => {
      const m = new Map<string, AlertRule>();
      for (const r of rs) {
        let name = tierName(r, keys);
        for (let n = 2; m.has(name); n++) name = `${tierName(r, keys)} #${n}`;
        m.set(name, r);
      }
      return m;
    };
    const na = named(a);
    const nb = named(b);
    const onlyA = [...na.keys()].filter((k) => !nb.has(k));
    const onlyB = [...nb.keys()].filter((k) => !na.has(k));
    for (const [name, r] of na) if (nb.has(name)) out.push({ name, a: r, b: nb.get(name)! });
    if (onlyA.length === 1 && onlyB.length === 1) {
      out.push({ name: `${onlyA[0]} → ${onlyB[0]!.slice(a[0]!.alert.length + 1)}`, a: na.get(onlyA[0]!)!, b: nb.get(onlyB[0]!)! });
    } else {
      for (const k of onlyA) out.push({ name: k, a: na.get(k)! });
      for (const k of onlyB) out.push({ name: k, b: nb.get(k)! });
    }
  }
  return out.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
}

/** Every alert tier that was added, removed, or changed in its rule or in where it is delivered. */
export function compareAlerts(before: StackFacts, after: StackFacts): TierDiff[] {
  const pagingA = pagingReceivers(before.alertmanager);
  const pagingB = pagingReceivers(after.alertmanager);
  const out: TierDiff[] = [];
  for (const { name, a, b } of pairTiers(before.alerts, after.alerts)) {
    const da = a && deliveries(before, a);
    const db = b && deliveries(after, b);
    const ra = da?.map((d) => d.receiver);
    const rb = db?.map((d) => d.receiver);
    const changes = a && b ? ruleChanges(a, b) : [];
    if (a && b && ra && rb) {
      if (ra.join(",") !== rb.join(",")) changes.push({ field: "receivers", old: ra.join(", ") || "(none)", new: rb.join(", ") || "(none)" });
      else if (da!.map(deliveryText).join("; ") !== db!.map(deliveryText).join("; ")) {
        changes.push({ field: "delivery", old: da!.map(deliveryText).join("; "), new: db!.map(deliveryText).join("; ") });
      }
    }
    if (a && b && changes.length === 0) continue;
    const r = (b ?? a)!;
    out.push({
      tier: name,
      alert: r.alert,
      source: r.source,
      status: a && b ? "changed" : a ? "removed" : "added",
      changes,
      receiversBefore: ra,
      receiversAfter: rb,
      pagesBefore: (ra ?? []).some((x) => pagingA.has(x)),
      pagesAfter: (rb ?? []).some((x) => pagingB.has(x)),
      before: a,
      after: b,
    });
  }
  return out;
}
