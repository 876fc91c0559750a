import { cpSync, readFileSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { lokiRuleGroups, prometheusRuleGroups, PROCEDURE_RUNBOOKS } from "../alerts/index";
import { loadStackSettings } from "../src/settings";
import { catalogProblems, logqlProblems, promqlProblems } from "../src/validate";
import { runbookSlugs } from "../src/render/runbooks";
import type { PromRuleGroup } from "../src/model";
import { tool } from "./support/promtool";
import { editStackConfig, setIn } from "./support/scratch";
import { tempDir } from "./support/tmp";

const s = loadStackSettings("prod");
const records = new Set(prometheusRuleGroups(s).flatMap((g) => g.rules.flatMap((r) => (r.kind === "record" ? [r.record] : []))));
const catalog = () => ({ prometheus: prometheusRuleGroups(s), loki: lokiRuleGroups(s), runbooks: runbookSlugs(), procedures: PROCEDURE_RUNBOOKS });

describe("PromQL validation", () => {
  it("accepts the whole catalog", () => {
    expect(catalogProblems(catalog())).toEqual([]);
  });
  it("rejects a misspelt metric", () => {
    expect(promqlProblems('rate(http_request_total{job="auth"}[5m])', records)).toEqual([
      'unknown metric "http_request_total" (not in docs/telemetry.md, not a recording rule of ours)',
    ]);
  });
  it("rejects an unparsable expression", () => {
    expect(promqlProblems('sum(rate(http_requests_total{job="auth"}[5m])', records)[0]).toMatch(/^syntax error at column/);
  });
  it("rejects an unknown label and a value outside the contract", () => {
    expect(promqlProblems('auth_logins_total{outcome="failure"}', records)[0]).toMatch(/auth_logins_total: unknown label "outcome"/);
    expect(promqlProblems('auth_logins_total{result="failed"}', records)[0]).toMatch(/result="failed" is not a value of the contract \(success, failure\)/);
  });
  it("checks negative matchers against the contract's values too", () => {
    expect(promqlProblems('auth_logins_total{result!="failur"}', records)[0]).toMatch(/result="failur" is not a value of the contract/);
  });
  it("rejects grouping or selecting by a personal-data label", () => {
    expect(promqlProblems("sum by (email) (rate(auth_logins_total[5m]))", records)).toEqual(['groups by "email", a personal-data label that metrics never carry']);
    expect(promqlProblems('auth_logins_total{ip="1.2.3.4"}', records)[0]).toMatch(/personal-data label/);
  });
  it("knows histogram series and our recording rules", () => {
    expect(promqlProblems('rate(http_request_duration_seconds_bucket{le="0.5"}[5m])', records)).toEqual([]);
    expect(promqlProblems('job:http_requests_5xx:ratio_rate5m{job="auth"}', records)).toEqual([]);
    expect(promqlProblems("job:http_requests_5xx:ratio_rate1h", records)[0]).toMatch(/unknown metric/);
  });
});

describe("LogQL validation", () => {
  it("accepts the Loki rules", () => {
    for (const r of lokiRuleGroups(s).flatMap((g) => g.rules)) expect(logqlProblems(r.expr), r.alert).toEqual([]);
  });
  it("rejects a log query that is not a metric query", () => {
    expect(logqlProblems('{app="auth"} | json')).toContain("is not a metric query (an alert needs e.g. count_over_time(...) > N)");
  });
  it("rejects a log event or field the service does not write", () => {
    expect(logqlProblems('sum(count_over_time({app="auth"} | json evt="evt" | evt="auth.login.failur" [5m])) > 1')).toEqual([
      'evt="auth.login.failur" is not a log event of the contract',
    ]);
    expect(logqlProblems('sum by (ip) (count_over_time({app="auth"} | json evt="evt", ip="client_ip" [5m])) > 1')[0]).toMatch(/json extracts "client_ip", not a log field/);
  });
  it("accepts the kill switch's events and fields", () => {
    expect(logqlProblems('{app="auth", category="security"} | json evt="evt", flag="flag", actor="actor" | evt="auth.flag.changed"', { metricOnly: false })).toEqual([]);
    expect(logqlProblems('sum by (step, status) (count_over_time({app="auth"} | json evt="evt", step="step", status="status" | evt=~"auth.rollback" [1h]))')).toEqual([]);
  });
  it("rejects unparsable LogQL and streams outside the contract", () => {
    expect(logqlProblems('sum(count_over_time({app="auth"} | json [10m]) > 5')[0]).toMatch(/syntax error/);
    expect(logqlProblems('sum(count_over_time({service="auth"}[5m])) > 1')[0]).toMatch(/"service", not a stream label/);
    expect(logqlProblems('sum(count_over_time({app="nginx"}[5m])) > 1')[0]).toMatch(/app="nginx" is not a stream of the contract/);
  });
});

describe("catalog validation", () => {
  const withGroup = (edit: (g: PromRuleGroup) => PromRuleGroup) => {
    const c = catalog();
    return { ...c, prometheus: c.prometheus.map((g) => (g.name === "auth-availability" ? edit(g) : g)) };
  };
  it("names the file, the alert and the field", () => {
    const c = withGroup((g) => ({ ...g, rules: g.rules.map((r) => (r.kind === "alert" && r.alert === "AuthServiceDown" ? { ...r, runbook: "no-such-runbook" } : r)) }));
    expect(catalogProblems(c)).toEqual([
      "alerts/availability.ts: AuthServiceDown (critical): runbook_url: runbooks/no-such-runbook.md does not exist",
      "runbooks/auth-service-down.md: linked by no alert and not a procedure runbook (alerts/index.ts)",
    ]);
  });
  it("rejects two rules with the same name, severity and labels", () => {
    const c = withGroup((g) => ({ ...g, rules: [...g.rules, g.rules[1]!] }));
    expect(catalogProblems(c)[0]).toMatch(/AuthHighErrorRate \(critical\): defined twice/);
  });
  it("rejects a runbook no alert links", () => {
    const c = { ...catalog(), runbooks: [...runbookSlugs(), "orphan"] };
    expect(catalogProblems(c)).toContain("runbooks/orphan.md: linked by no alert and not a procedure runbook (alerts/index.ts)");
  });
  it("rejects a description without the measured value, or with an unsupported template", () => {
    const c = withGroup((g) => ({
      ...g,
      rules: g.rules.map((r) => (r.kind === "alert" && r.alert === "AuthServiceDown" ? { ...r, description: "down {{ .Value }}" } : r)),
    }));
    const p = catalogProblems(c);
    expect(p).toContain("alerts/availability.ts: AuthServiceDown (critical): description: unsupported template action {{ .Value }} (use $value | humanize/humanizePercentage/humanizeDuration, or $labels.<name>)");
    expect(p).toContain("alerts/availability.ts: AuthServiceDown (critical): description: must show the measured value ({{ $value | humanize… }})");
  });
});

/** `npm run synth` in a scratch copy of the repository, after `edit` changed a file there. */
async function synthInCopy(edit: (root: string) => void) {
  const root = tempDir("copy");
  const repo = path.resolve(__dirname, "..");
  for (const dir of ["alerts", "src", "stacks", "runbooks", "dashboards", "postgres", "docs"]) cpSync(path.join(repo, dir), path.join(root, dir), { recursive: true });
  cpSync(path.join(repo, "package.json"), path.join(root, "package.json"));
  cpSync(path.join(repo, "tsconfig.json"), path.join(root, "tsconfig.json"));
  symlinkSync(path.join(repo, "node_modules"), path.join(root, "node_modules"));
  edit(root);
  return { root, res: await tool(path.join(repo, "node_modules", ".bin", "tsx"), ["src/cli/synth.ts", "--stack", "prod"], root) };
}

const replaceIn = (file: string, from: string, to: string) => {
  const text = readFileSync(file, "utf8");
  expect(text).toContain(from);
  writeFileSync(file, text.replace(from, to));
};

describe("npm run synth stops on bad input", () => {
  it("refuses to replace a directory that is not an earlier render", async () => {
    const { root, res } = await synthInCopy((r) => writeFileSync(path.join(r, "keep.txt"), "precious"));
    const again = await tool(path.join(root, "node_modules", ".bin", "tsx"), ["src/cli/synth.ts", "--stack", "prod", "--out", "."], root);
    expect(res.ok, res.output).toBe(true);
    expect(again.ok).toBe(false);
    expect(again.output).toMatch(/is neither empty nor an earlier render \(no summary\.json\): refusing to replace it/);
    expect(readFileSync(path.join(root, "keep.txt"), "utf8")).toBe("precious");
  });
  it("a malformed runbook marker, before writing anything", async () => {
    const { res, root } = await synthInCopy((r) => {
      const f = path.join(r, "runbooks/auth-high-error-rate.md");
      writeFileSync(f, readFileSync(f, "utf8").replace("<!--/setting-->", "<!-- /setting-->"));
    });
    expect(res.ok).toBe(false);
    expect(res.output).toMatch(/runbooks\/auth-high-error-rate\.md: 1 malformed setting marker/);
    expect(() => readFileSync(path.join(root, "out/prod/summary.json"))).toThrow();
  });
  it("exits 0 and renders on the repository as it is", async () => {
    const { res } = await synthInCopy(() => {});
    expect(res.ok, res.output).toBe(true);
    expect(res.output).toMatch(/synth prod: \d+ alerts/);
  });
  it("a typo in a metric name", async () => {
    const { res } = await synthInCopy((root) => replaceIn(path.join(root, "alerts/database.ts"), 'sel("pg_up"', 'sel("pg_upp" as "pg_up"'));
    expect(res.ok).toBe(false);
    expect(res.output).toContain('alerts/database.ts: DatabaseDown (critical): expr: unknown metric "pg_upp"');
  });
  it("an unparsable expression", async () => {
    const { res } = await synthInCopy((root) => replaceIn(path.join(root, "alerts/monitoring.ts"), 'expr: "vector(1)"', 'expr: "vector(1"'));
    expect(res.ok).toBe(false);
    expect(res.output).toMatch(/alerts\/monitoring\.ts: Watchdog \(none\): expr: syntax error/);
  });
  it("a runbook_url without a file", async () => {
    const { res } = await synthInCopy((root) => unlinkSync(path.join(root, "runbooks/auth-csrf-failures.md")));
    expect(res.ok).toBe(false);
    expect(res.output).toContain("alerts/security.ts: AuthCSRFFailures (warning): runbook_url: runbooks/auth-csrf-failures.md does not exist");
  });
  it("a threshold out of range in the stack file", async () => {
    const { res } = await synthInCopy((root) =>
      editStackConfig(path.join(root, "stacks/Pulumi.prod.yaml"), (config) => setIn(config, ["authwatch:thresholds", "memory", "warningRatio"], 1.5)),
    );
    expect(res.ok).toBe(false);
    expect(res.output).toContain("stacks/Pulumi.prod.yaml: invalid stack settings:");
    expect(res.output).toContain("authwatch:thresholds.memory.warningRatio: must be at most 1");
  });
  it("a typo in a dashboard's metric, naming the dashboard and the panel", async () => {
    const { res } = await synthInCopy((root) => replaceIn(path.join(root, "dashboards/overview.ts"), 'sel("auth_guest_total"', 'sel("auth_guests_total" as "auth_guest_total"'));
    expect(res.ok).toBe(false);
    expect(res.output).toContain('dashboards/overview.ts: auth-overview: panel 21 "Guest users": query A: unknown metric "auth_guests_total"');
  });
  it("an alert that no dashboard shows", async () => {
    const { res } = await synthInCopy((root) =>
      replaceIn(path.join(root, "dashboards/database.ts"), 'linkedFrom: ["DatabaseDeadlocks"],', ""),
    );
    expect(res.ok).toBe(false);
    expect(res.output).toContain("alert DatabaseDeadlocks is shown on no dashboard");
    expect(res.output).toContain("alert DatabaseDeadlocks (warning): dashboard_url: no panel links it");
  });
});
