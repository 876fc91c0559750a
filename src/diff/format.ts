/** The diff report as terminal text, one Markdown PR comment, or JSON. Deterministic: no times, stable order. */
import type { TierDiff } from "./alerts";
import type { BacktestResult } from "./backtest";
import { hasChanges, type StackDiff, type Summary, type ValueChange } from "./compare";

export interface Report {
  readonly base: string;
  readonly head: string;
  readonly stacks: readonly StackDiff[];
  readonly summary: Summary;
  readonly backtest?: { readonly prometheus: string; readonly since: string; readonly results: readonly BacktestResult[] };
}

/** GitHub refuses comments over 65,536 characters. */
export const MARKDOWN_LIMIT = 65_000;

const SUMMARY_TITLES: [keyof Summary, string][] = [
  ["pagesLess", "Pages less"],
  ["pagesMore", "Pages more"],
  ["pagesDifferently", "Pages differently"],
  ["otherAlertChanges", "Other alert changes (no page either way)"],
  ["securityRetentionShortened", "Security-log retention shortened"],
  ["migrationsToRun", "Migration to run"],
  ["stacksAddedOrRemoved", "Stacks added or removed"],
];

export const changed = (r: Report): StackDiff[] => r.stacks.filter(hasChanges);

interface Section {
  readonly title: string;
  readonly lines: string[];
}

const value = (c: ValueChange): string =>
  c.old !== undefined && c.new !== undefined ? `${c.path}: ${c.old} → ${c.new}` : c.old !== undefined ? `${c.path}: ${c.old === "removed" ? "removed" : `removed (${c.old})`}` : `${c.path}: ${c.new === "added" ? "added" : c.new}`;

function tierLines(t: TierDiff, results: readonly BacktestResult[] | undefined): string[] {
  const recv = (r: readonly string[] | undefined) => (r && r.length ? r.join(", ") : "nothing");
  const page = t.pagesBefore && !t.pagesAfter ? "  [no longer pages]" : !t.pagesBefore && t.pagesAfter ? "  [now pages]" : "";
  const head =
    t.status === "added" ? `+ ${t.tier} → ${recv(t.receiversAfter)}${page}` : t.status === "removed" ? `- ${t.tier} (was → ${recv(t.receiversBefore)})${page}` : `~ ${t.tier}${page}`;
  const out = [head];
  for (const c of t.changes) out.push(`    ${c.field}: ${c.old} → ${c.new}`);
  if (t.status === "changed" && !t.changes.some((c) => c.field === "receivers")) out.push(`    receivers: ${recv(t.receiversAfter)} (unchanged)`);
  for (const b of results ?? []) if (b.tier === t.tier) out.push(`    backtest: ${b.text}`);
  return out;
}

function sections(d: StackDiff, r: Report): Section[] {
  if (d.presence !== "both") return [{ title: "Stack", lines: [d.presence === "added" ? "stack added (not in the base)" : "stack removed (not in the head)"] }];
  const mig = d.migrations;
  const results = r.backtest?.results.filter((b) => b.stack === d.stack);
  const all: Section[] = [
    { title: "Alert tiers", lines: d.alerts.flatMap((t) => tierLines(t, results)) },
    { title: "Routing (Alertmanager)", lines: d.routing.map(value) },
    { title: "SLO objectives", lines: d.slos.map(value) },
    { title: "Recording rules", lines: d.recordingRules.map(value) },
    { title: "Rule groups", lines: d.ruleGroups.map(value) },
    { title: "Loki retention", lines: d.lokiRetention.map(value) },
    { title: "Dashboards", lines: d.dashboards.map(value) },
    {
      title: "Migrations",
      lines: [...mig.added.map((m) => `+ ${m}`), ...mig.removed.map((m) => `- ${m}`), ...mig.edited.map((m) => `~ ${m} (edited)`)],
    },
    { title: "Prometheus", lines: d.prometheus.map(value) },
    { title: "Cluster (stacks/Pulumi." + d.stack + ".yaml)", lines: d.cluster.map(value) },
    { title: "Other files", lines: d.otherFiles.map(value) },
  ];
  return all.filter((s) => s.lines.length > 0);
}

function stackHeadline(d: StackDiff): string {
  if (d.presence !== "both") return `stack ${d.presence}`;
  const parts: string[] = [];
  const n = (k: string, c: number) => c && parts.push(`${c} ${k}`);
  n("alert tier changes", d.alerts.length);
  n("routing", d.routing.length);
  n("SLO", d.slos.length);
  n("recording rules", d.recordingRules.length);
  n("retention", d.lokiRetention.length);
  n("dashboard changes", d.dashboards.length);
  n("migrations", d.migrations.added.length + d.migrations.removed.length + d.migrations.edited.length);
  n("cluster settings", d.cluster.length);
  n("other", d.ruleGroups.length + d.prometheus.length + d.otherFiles.length);
  return parts.join(", ");
}

function summaryLines(r: Report): { title: string; items: readonly string[] }[] {
  const lines = SUMMARY_TITLES.map(([k, title]) => ({ title, items: r.summary[k] }));
  if (r.backtest) lines.push({ title: `Backtest (${r.backtest.since} of ${r.backtest.prometheus})`, items: r.backtest.results.map((b) => `${b.stack}: ${b.tier}: ${b.text}`) });
  return lines.filter((s) => s.items.length > 0);
}

export function formatText(r: Report): string {
  const stacks = changed(r);
  const out = [`authwatch diff: ${r.base} → ${r.head} (${r.stacks.map((s) => s.stack).join(", ")})`];
  if (stacks.length === 0) return `${out[0]}\nno change\n`;
  const summary = summaryLines(r);
  out.push("", "Summary");
  if (summary.length === 0) out.push("  nothing pages differently; other changes below");
  for (const s of summary) out.push(`  ${s.title}:`, ...s.items.map((i) => `    - ${i}`));
  for (const d of stacks) {
    out.push("", `${d.stack}: ${stackHeadline(d)}`);
    for (const s of sections(d, r)) out.push(`  ${s.title}`, ...s.lines.map((l) => `    ${l}`));
  }
  return `${out.join("\n")}\n`;
}

const md = (s: string): string => s.replace(/</g, "&lt;");

export function formatMarkdown(r: Report, limit = MARKDOWN_LIMIT): string {
  const stacks = changed(r);
  const head = [`### authwatch diff: \`${r.base}\` → \`${r.head}\``, ""];
  if (stacks.length === 0) return `${head.join("\n")}no change\n`;
  const summary = summaryLines(r);
  if (summary.length === 0) head.push("Nothing pages differently. Changes per stack below.");
  for (const s of summary) head.push(`**${s.title}**`, "", ...s.items.map((i) => `- ${md(i)}`), "");
  const note = "\n_… truncated: the comment would exceed GitHub's limit; run `npm run diff` locally for the rest._\n";
  let text = `${head.join("\n")}\n`;
  for (const d of stacks) {
    const body = sections(d, r).flatMap((s) => [`**${s.title}**`, "", "```diff", ...s.lines, "```", ""]);
    const open = `<details><summary><b>${d.stack}</b>: ${md(stackHeadline(d))}</summary>\n\n`;
    const close = "</details>\n\n";
    const block = open + body.join("\n") + "\n" + close;
    if (text.length + block.length + note.length <= limit) {
      text += block;
      continue;
    }
    // Fit what we can of this stack, keeping the markup balanced, then stop.
    let partial = open;
    for (const line of body) {
      if (text.length + partial.length + line.length + 1 + "```\n".length + close.length + note.length > limit) break;
      partial += `${line}\n`;
    }
    if ((partial.match(/^```/gm)?.length ?? 0) % 2 === 1) partial += "```\n";
    return text + partial + "\n" + close + note;
  }
  return text;
}

export function formatJson(r: Report): string {
  const strip = (t: TierDiff) => {
    const { before: _b, after: _a, ...rest } = t;
    return rest;
  };
  return `${JSON.stringify({ ...r, changed: changed(r).length > 0, stacks: r.stacks.map((s) => ({ ...s, changed: hasChanges(s), alerts: s.alerts.map(strip) })) }, null, 2)}\n`;
}
