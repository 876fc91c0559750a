/**
 * The queries in a runbook's Diagnosis are what the on-call engineer pastes
 * at 3 a.m.: synth validates them like the rules (they parse, and name only
 * series of the telemetry contract or our recording rules), so a runbook
 * cannot cite a series that does not exist.
 */
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { loadStackSettings, listStacks } from "../src/settings";
import { RUNBOOKS_DIR } from "../src/render/runbooks";
import { renderStack } from "../src/synth";
import { diagnosisQueries } from "../src/validate";
import { tempDir } from "./support/tmp";

const settings = () => loadStackSettings(listStacks().find((s) => s === "prod") ?? listStacks()[0]!);

/** A copy of runbooks/ with one runbook's text edited. */
function runbooksWith(slug: string, edit: (text: string) => string): string {
  const dir = path.join(tempDir("authwatch-runbook-queries-"), "runbooks");
  cpSync(RUNBOOKS_DIR, dir, { recursive: true });
  const file = path.join(dir, `${slug}.md`);
  writeFileSync(file, edit(readFileSync(file, "utf8")));
  return dir;
}

describe("runbook queries", () => {
  it("finds the queries of a Diagnosis, one per line, continuation lines joined", () => {
    const text = [
      "## Diagnosis",
      "1. Look:",
      "   ```promql",
      "   up{job=\"auth\"}",
      "   max by (pod) (container_memory_working_set_bytes)",
      "     / on (pod) max by (pod) (kube_pod_container_resource_limits)",
      "   ```",
      "   ```logql",
      '   sum(count_over_time({app="auth"} [5m]))',
      "   ```",
      "## Mitigation",
      "   ```promql",
      "   not_in_diagnosis",
      "   ```",
    ].join("\n");
    expect(diagnosisQueries(text)).toEqual([
      { language: "promql", query: 'up{job="auth"}' },
      { language: "promql", query: "max by (pod) (container_memory_working_set_bytes) / on (pod) max by (pod) (kube_pod_container_resource_limits)" },
      { language: "logql", query: 'sum(count_over_time({app="auth"} [5m]))' },
    ]);
  });

  it("every runbook's Diagnosis queries pass: synth renders", () => {
    expect(() => renderStack(settings())).not.toThrow();
  });

  it("a misspelt metric in a Diagnosis stops synth, naming the runbook and the query", () => {
    const dir = runbooksWith("database-connections-high", (t) => t.replaceAll("pg_stat_activity_count{", "pg_stat_activity_counts{"));
    expect(() => renderStack(settings(), { runbooksDir: dir })).toThrow(/runbooks\/database-connections-high\.md: Diagnosis: promql .*pg_stat_activity_counts.*unknown metric "pg_stat_activity_counts"/);
  });

  it("an unparsable LogQL query or a stream outside the contract stops synth", () => {
    const dir = runbooksWith("auth-brute-force-suspected", (t) => t.replaceAll(`{app="auth", category="security"}`, `{application="auth"}`));
    expect(() => renderStack(settings(), { runbooksDir: dir })).toThrow(/runbooks\/auth-brute-force-suspected\.md: Diagnosis: logql .*"application", not a stream label of the contract/);
  });
});
