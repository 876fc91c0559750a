/**
 * Turns alert proofs into `promtool test rules` files and runs them. The
 * expected labels and annotations come from the definitions; the expected
 * value comes from the proof's own arithmetic on its inputs.
 */
import { execFile } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { promisify } from "node:util";
import type { AlertingRule, AlertProof, ExpectedAlert, PromRuleGroup } from "../../src/model";
import type { Settings } from "../../src/settings";
import { alertAnnotations, alertLabels } from "../../src/render/prometheus";
import { renderTemplate } from "../../src/gotemplate";
import { toYaml } from "../../src/render/yaml";
import { mustParseDuration } from "../../src/duration";

const run = promisify(execFile);

function ruleFor(groups: readonly PromRuleGroup[], alert: string, e: ExpectedAlert): AlertingRule {
  const candidates = groups
    .flatMap((g) => g.rules)
    .filter((r): r is AlertingRule => r.kind === "alert" && r.alert === alert && r.severity === e.severity)
    .filter((r) => Object.entries(e.ruleLabels ?? {}).every(([k, v]) => r.labels?.[k] === v));
  if (candidates.length !== 1) {
    throw new Error(`${alert} (${e.severity}, ${JSON.stringify(e.ruleLabels ?? {})}): ${candidates.length} rules match; name the rule with ruleLabels`);
  }
  return candidates[0]!;
}

export function expectedAlert(s: Settings, groups: readonly PromRuleGroup[], alert: string, e: ExpectedAlert) {
  const rule = ruleFor(groups, alert, e);
  const labels = { ...alertLabels(rule), ...e.labels };
  const annotations = Object.fromEntries(
    Object.entries(alertAnnotations(s, rule)).map(([k, v]) => [k, renderTemplate(v, e.value, { ...labels, alertname: alert })]),
  );
  return { exp_labels: labels, exp_annotations: annotations };
}

/**
 * `needed`: the groups the alert needs, in the order they run at each evaluation (groupsFor's:
 * recorders first). promtool would otherwise run groups of one timestamp in no fixed order, and an
 * alert reading another group's record would sometimes read the value of the step before.
 */
export function promtoolTestFile(s: Settings, groups: readonly PromRuleGroup[], proof: AlertProof, needed: readonly PromRuleGroup[]): string {
  const interval = proof.interval ?? "1m";
  return toYaml({
    rule_files: needed.map((g) => `../rules/${g.name}.yaml`),
    group_eval_order: needed.map((g) => g.name),
    evaluation_interval: proof.evaluationInterval ?? interval,
    tests: proof.cases.map((c) => ({
      name: `${proof.alert}: ${c.name}`,
      interval,
      input_series: c.series.map((x) => ({ series: x.series, values: x.values })),
      alert_rule_test: [{ eval_time: c.at, alertname: proof.alert, exp_alerts: c.firing.map((e) => expectedAlert(s, groups, proof.alert, e)) }],
    })),
  });
}

/** The groups an alert needs: its own, and those recording the series its group reads. */
export function groupsFor(groups: readonly PromRuleGroup[], alert: string): PromRuleGroup[] {
  const own = groups.filter((g) => g.rules.some((r) => r.kind === "alert" && r.alert === alert));
  const reads = (g: PromRuleGroup, record: string) => g.rules.some((r) => new RegExp(`\\b${record}\\b`).test(r.expr));
  const recorders = groups.filter(
    (g) => !own.includes(g) && g.rules.some((r) => r.kind === "record" && own.some((o) => reads(o, r.record))),
  );
  return [...recorders, ...own];
}

/** A coarser evaluation step proves the same thing only for an alert without `for`, checked where every case ends. */
function checkEvaluationInterval(groups: readonly PromRuleGroup[], p: AlertProof): void {
  const step = mustParseDuration(p.evaluationInterval!);
  const delayed = groups.flatMap((g) => g.rules).filter((r) => r.kind === "alert" && r.alert === p.alert && r.for);
  if (delayed.length > 0) throw new Error(`proof for ${p.alert}: evaluationInterval ${p.evaluationInterval} on an alert with for: its pending state needs every step`);
  const off = p.cases.filter((c) => mustParseDuration(c.at) % step !== 0);
  if (off.length > 0) throw new Error(`proof for ${p.alert}: ${off.map((c) => `"${c.name}" at ${c.at}`).join(", ")} not on a ${p.evaluationInterval} evaluation step`);
}

/** Write one test file per proof under `<outDir>/prometheus/tests/`, next to the rendered rules. */
export function writePromtoolTests(s: Settings, groups: readonly PromRuleGroup[], proofs: readonly AlertProof[], outDir: string): string[] {
  const dir = path.join(outDir, "prometheus", "tests");
  mkdirSync(dir, { recursive: true });
  const seen = new Map<string, number>();
  return proofs.map((p) => {
    const needed = groupsFor(groups, p.alert);
    if (needed.length === 0) throw new Error(`proof for ${p.alert}: no rule group defines that alert`);
    // An alert may have several proofs (each its own step): one file each.
    const n = (seen.get(p.alert) ?? 0) + 1;
    seen.set(p.alert, n);
    const file = path.join(dir, `${p.alert}${n > 1 ? `.${n}` : ""}.test.yaml`);
    if (p.evaluationInterval) checkEvaluationInterval(groups, p);
    writeFileSync(file, promtoolTestFile(s, groups, p, needed));
    return file;
  });
}

export interface ToolResult {
  readonly ok: boolean;
  readonly output: string;
}

/** Run a command; `env` adds to (or overrides) this process's environment. */
export async function tool(cmd: string, args: readonly string[], cwd?: string, env?: Readonly<Record<string, string>>): Promise<ToolResult> {
  try {
    const { stdout, stderr } = await run(cmd, [...args], { cwd, env: env && { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
    return { ok: true, output: stdout + stderr };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${err.stdout ?? ""}${err.stderr ?? ""}` || err.message };
  }
}

/** Run files through `promtool test rules`, two at a time (the machine has two cores). */
export async function promtoolTest(files: readonly string[]): Promise<Map<string, ToolResult>> {
  const results = new Map<string, ToolResult>();
  const queue = [...files];
  const worker = async () => {
    for (let f = queue.shift(); f; f = queue.shift()) results.set(f, await tool("promtool", ["test", "rules", f]));
  };
  await Promise.all([worker(), worker()]);
  return results;
}
