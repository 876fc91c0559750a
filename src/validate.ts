/**
 * Validation of the whole catalog before anything is rendered: expressions
 * parse and only name what the telemetry contract (or our recording rules)
 * provides, no aggregation keeps a personal-data label, names are unique,
 * every runbook link has a file and every runbook is linked.
 */
import { parser as promqlParser } from "@prometheus-io/lezer-promql";
import { parser as logqlParser } from "@grafana/lezer-logql";
import type { SyntaxNode, Tree } from "@lezer/common";
import type { AlertRule, LogRuleGroup, PromRuleGroup } from "./model";
import { CATEGORIES, SERVICES, SEVERITIES } from "./model";
import { LOG_EVENTS, LOG_FIELDS, LOG_STREAM_LABELS, PII_LABELS, SERIES } from "./telemetry";
import { parseDuration } from "./duration";
import { templateProblems } from "./gotemplate";

export class CatalogError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid definitions:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "CatalogError";
  }
}

const PII = new Set<string>(PII_LABELS);
/** Labels our recording rules keep (they aggregate everything else away). */
const RECORD_LABELS = new Set(["job", "instance", "namespace", "env", "slo", "route", "operation"]);

const text = (src: string, n: SyntaxNode) => src.slice(n.from, n.to);
const unquote = (s: string) => {
  try {
    return JSON.parse(s.startsWith("'") ? `"${s.slice(1, -1).replace(/"/g, '\\"')}"` : s) as string;
  } catch {
    return s.slice(1, -1);
  }
};

/** Syntax errors of a parsed PromQL or LogQL expression, with the column and the text around it. */
export function syntaxErrors(tree: Tree, src: string): string[] {
  const out: string[] = [];
  tree.iterate({
    enter(n) {
      if (n.type.isError) out.push(`syntax error at column ${n.from + 1} near "${src.slice(Math.max(0, n.from - 10), n.to + 10)}"`);
    },
  });
  return out;
}

/** Problems with one PromQL expression; `records` are recording-rule names defined anywhere in the catalog. */
export function promqlProblems(expr: string, records: ReadonlySet<string>): string[] {
  const tree = promqlParser.parse(expr);
  const problems = syntaxErrors(tree, expr);
  if (expr.trim() === "") problems.push("empty expression");
  tree.iterate({
    enter(ref) {
      const n = ref.node;
      if (n.name === "GroupingLabels") {
        for (let c = n.firstChild; c; c = c.nextSibling) {
          if (c.name === "LabelName" && PII.has(text(expr, c))) problems.push(`groups by "${text(expr, c)}", a personal-data label that metrics never carry`);
        }
      }
      if (n.name !== "VectorSelector") return;
      const id = n.getChild("Identifier");
      if (!id) {
        problems.push(`selector "${text(expr, n)}" has no metric name`);
        return;
      }
      const metric = text(expr, id);
      const series = SERIES.get(metric);
      if (!series && !records.has(metric)) {
        problems.push(`unknown metric "${metric}" (not in docs/telemetry.md, not a recording rule of ours)`);
        return;
      }
      const allowed = series ? series.labels : RECORD_LABELS;
      const matchers = n.getChild("LabelMatchers");
      for (let m = matchers?.firstChild; m; m = m.nextSibling) {
        if (m.name !== "UnquotedLabelMatcher") continue;
        const label = text(expr, m.getChild("LabelName")!);
        const op = text(expr, m.getChild("MatchOp")!);
        const value = unquote(text(expr, m.getChild("StringLiteral")!));
        if (PII.has(label)) problems.push(`${metric}: selects on "${label}", a personal-data label that metrics never carry`);
        else if (!allowed.has(label)) problems.push(`${metric}: unknown label "${label}" (labels: ${[...allowed].sort().join(", ")})`);
        const known = series?.values[label];
        if (known) {
          // Literal values, and regexes that are plain alternations of literals, must be values of the contract.
          const wanted = op === "=" || op === "!=" ? [value] : /^[A-Za-z0-9_|]+$/.test(value) ? value.split("|") : [];
          for (const v of wanted) if (!known.includes(v)) problems.push(`${metric}: ${label}="${v}" is not a value of the contract (${known.join(", ")})`);
        }
      }
    },
  });
  return problems;
}

/**
 * Problems with one LogQL expression: parses, selects streams by contract
 * labels only, and (for alerts, the default) is a metric query. A dashboard's
 * log panel passes `metricOnly: false` for a plain log query.
 */
export function logqlProblems(expr: string, opts: { readonly metricOnly?: boolean } = {}): string[] {
  const tree = logqlParser.parse(expr);
  const problems = syntaxErrors(tree, expr);
  if (expr.trim() === "") problems.push("empty expression");
  const top = tree.topNode.firstChild?.firstChild;
  if ((opts.metricOnly ?? true) && (!top || top.name !== "MetricExpr")) problems.push("is not a metric query (an alert needs e.g. count_over_time(...) > N)");
  tree.iterate({
    enter(ref) {
      const n = ref.node;
      if (n.name === "JsonExpressionParser") {
        n.cursor().iterate((c) => {
          if (c.name !== "String") return;
          const field = unquote(text(expr, c.node));
          if (!(LOG_FIELDS as readonly string[]).includes(field)) problems.push(`json extracts "${field}", not a log field of the contract (${LOG_FIELDS.join(", ")})`);
        });
      }
      if (n.name === "LabelFilter") {
        const m = n.getChild("Matcher");
        const id = m?.getChild("Identifier");
        const str = m?.getChild("String");
        if (id && str && text(expr, id) === "evt") {
          const op = expr.slice(id.to, str.from).trim();
          const value = unquote(text(expr, str));
          // Literal values, and regexes that are plain alternations of literals, must be events of the contract.
          const events = op === "=" || op === "!=" ? [value] : /^[A-Za-z0-9_.|]+$/.test(value) ? value.split("|") : [];
          for (const e of events) if (!(LOG_EVENTS as readonly string[]).includes(e)) problems.push(`evt="${e}" is not a log event of the contract`);
        }
      }
      if (n.name !== "Selector") return;
      n.node.cursor().iterate((c) => {
        if (c.name !== "Matcher") return;
        const id = c.node.getChild("Identifier");
        const str = c.node.getChild("String");
        if (!id || !str) return;
        const label = text(expr, id);
        const value = unquote(text(expr, str));
        if (!(label in LOG_STREAM_LABELS)) {
          problems.push(`stream selector uses "${label}", not a stream label of the contract (${Object.keys(LOG_STREAM_LABELS).join(", ")})`);
          return;
        }
        const values = LOG_STREAM_LABELS[label as keyof typeof LOG_STREAM_LABELS];
        if (values && !(values as readonly string[]).includes(value)) problems.push(`${label}="${value}" is not a stream of the contract (${values.join(", ")})`);
      });
    },
  });
  return problems;
}

function alertProblems(rule: AlertRule, runbooks: ReadonlySet<string>): [string, string][] {
  const out: [string, string][] = [];
  if (!/^[A-Z][A-Za-z0-9]+$/.test(rule.alert)) out.push(["alert", `"${rule.alert}" is not an UpperCamelCase alert name`]);
  if (!SEVERITIES.includes(rule.severity)) out.push(["severity", `"${rule.severity}" is not one of ${SEVERITIES.join(", ")}`]);
  if (!SERVICES.includes(rule.service)) out.push(["service", `"${rule.service}" is not one of ${SERVICES.join(", ")}`]);
  if (!CATEGORIES.includes(rule.category)) out.push(["category", `"${rule.category}" is not one of ${CATEGORIES.join(", ")}`]);
  if (rule.for !== undefined && parseDuration(rule.for) === undefined) out.push(["for", `"${rule.for}" is not a Prometheus duration`]);
  if (!rule.summary.trim()) out.push(["summary", "is empty"]);
  for (const p of templateProblems(rule.summary)) out.push(["summary", p]);
  for (const p of templateProblems(rule.description)) out.push(["description", p]);
  if (!/\{\{\s*\$value\s*\|/.test(rule.description)) out.push(["description", "must show the measured value ({{ $value | humanize… }})"]);
  if (!runbooks.has(rule.runbook)) out.push(["runbook_url", `runbooks/${rule.runbook}.md does not exist`]);
  for (const key of Object.keys(rule.labels ?? {})) {
    if (["severity", "service", "category", "alertname"].includes(key)) out.push([`labels.${key}`, "is set from the definition's own field"]);
  }
  return out;
}

/** Identity of an alerting rule: rules may share a name only to differ in severity or extra labels (tiers, windows). */
const identity = (r: AlertRule) => `${r.alert}{${[`severity=${r.severity}`, ...Object.entries(r.labels ?? {}).map(([k, v]) => `${k}=${v}`)].sort().join(",")}}`;

export interface Catalog {
  readonly prometheus: readonly PromRuleGroup[];
  readonly loki: readonly LogRuleGroup[];
  /** Runbook slugs that exist as files. */
  readonly runbooks: readonly string[];
  /** Procedure runbooks, linked from other runbooks rather than from an alert. */
  readonly procedures: readonly string[];
}

export function catalogProblems(c: Catalog): string[] {
  const problems: string[] = [];
  const runbooks = new Set(c.runbooks);
  const records = new Set(c.prometheus.flatMap((g) => g.rules.flatMap((r) => (r.kind === "record" ? [r.record] : []))));
  const groupNames = new Set<string>();
  const identities = new Map<string, string>();
  const recordIds = new Set<string>();
  const linked = new Set<string>(c.procedures);

  // An area's Prometheus and Loki groups share its name: they are files in different directories.
  const checkGroup = (name: string, source: string, ruler: "prometheus" | "loki") => {
    if (!/^[a-z0-9-]+$/.test(name)) problems.push(`${source}: group "${name}": name must be lowercase letters, digits and dashes (it names a file)`);
    if (groupNames.has(`${ruler}/${name}`)) problems.push(`${source}: group "${name}": defined twice`);
    groupNames.add(`${ruler}/${name}`);
  };
  const checkAlert = (source: string, rule: AlertRule, exprProblems: string[]) => {
    const where = `${source}: ${rule.alert} (${rule.severity})`;
    for (const p of exprProblems) problems.push(`${where}: expr: ${p}`);
    for (const [field, p] of alertProblems(rule, runbooks)) problems.push(`${where}: ${field}: ${p}`);
    const id = identity(rule);
    if (identities.has(id)) problems.push(`${where}: defined twice (also in ${identities.get(id)}); rules of one name must differ in severity or labels`);
    identities.set(id, source);
    linked.add(rule.runbook);
  };

  for (const g of c.prometheus) {
    checkGroup(g.name, g.source, "prometheus");
    for (const rule of g.rules) {
      if (rule.kind === "record") {
        const where = `${g.source}: recording rule ${rule.record}`;
        if (!/^[a-zA-Z_]+:[a-zA-Z0-9_]+:[a-zA-Z0-9_]+$/.test(rule.record)) problems.push(`${where}: record: name must be level:metric:operations`);
        const id = `${rule.record}${JSON.stringify(rule.labels ?? {})}`;
        if (recordIds.has(id)) problems.push(`${where}: defined twice with the same labels`);
        recordIds.add(id);
        for (const p of promqlProblems(rule.expr, records)) problems.push(`${where}: expr: ${p}`);
      } else {
        checkAlert(g.source, rule, promqlProblems(rule.expr, records));
      }
    }
  }
  for (const g of c.loki) {
    checkGroup(g.name, g.source, "loki");
    for (const rule of g.rules) checkAlert(g.source, rule, logqlProblems(rule.expr));
  }
  for (const p of c.procedures) if (!runbooks.has(p)) problems.push(`alerts/index.ts: procedure runbook "${p}": runbooks/${p}.md does not exist`);
  for (const slug of c.runbooks) if (!linked.has(slug)) problems.push(`runbooks/${slug}.md: linked by no alert and not a procedure runbook (alerts/index.ts)`);
  return [...new Set(problems)];
}

export function validateCatalog(c: Catalog): void {
  const problems = catalogProblems(c);
  if (problems.length > 0) throw new CatalogError(problems);
}

export interface RunbookQuery {
  readonly language: "promql" | "logql";
  readonly query: string;
}

/**
 * The queries of a runbook's Diagnosis: each ```promql / ```logql block holds
 * one query per line; a line indented deeper than the block's first line
 * continues the query above it.
 */
export function diagnosisQueries(text: string): RunbookQuery[] {
  const diagnosis = text.split(/^## Diagnosis\s*$/m)[1]?.split(/^## /m)[0] ?? "";
  const out: RunbookQuery[] = [];
  for (const block of diagnosis.matchAll(/^([ \t]*)```(promql|logql)\n([\s\S]*?)^[ \t]*```/gm)) {
    const language = block[2] as RunbookQuery["language"];
    const lines = block[3]!.split("\n").filter((l) => l.trim() !== "");
    const indent = (l: string) => l.length - l.trimStart().length;
    const base = lines.length > 0 ? indent(lines[0]!) : 0;
    const queries: string[] = [];
    for (const line of lines) {
      if (indent(line) > base && queries.length > 0) queries[queries.length - 1] += ` ${line.trim()}`;
      else queries.push(line.trim());
    }
    out.push(...queries.map((query) => ({ language, query })));
  }
  return out;
}

/** Problems of every runbook's Diagnosis queries, each naming the file and the query. */
export function runbookQueryProblems(runbooks: readonly { file: string; text: string }[], records: ReadonlySet<string>): string[] {
  return runbooks.flatMap(({ file, text }) =>
    diagnosisQueries(text).flatMap(({ language, query }) =>
      (language === "promql" ? promqlProblems(query, records) : logqlProblems(query, { metricOnly: false })).map((p) => `${file}: Diagnosis: ${language} \`${query}\`: ${p}`),
    ),
  );
}
