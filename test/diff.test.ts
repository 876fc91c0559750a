/**
 * npm run diff on a scratch git repository (a copy of this one, node_modules linked): one commit
 * with a prod threshold, a moved route, an added tier, a removed tier, a migration and a shorter
 * security-log retention. Each is named with old and new values and the right summary line; the
 * receivers before and after agree with the real amtool on both revisions.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pct } from "../alerts/common";
import { loadStackSettings } from "../src/settings";
import { alertLabels } from "../src/diff/alerts";
import { stackFacts } from "../src/diff/artifacts";
import { routeAlert } from "../src/diff/routing";
import { compareStack, type StackDiff } from "../src/diff/compare";
import { withRendered } from "../src/diff";
import { amtoolReceivers } from "./support/amtool";
import { editStackConfig, setIn } from "./support/scratch";

const ROOT = path.resolve(__dirname, "..");
const CLI = path.join(ROOT, "src", "cli", "diff.ts");
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");

const prod = loadStackSettings("prod");
const oldRatio = prod.thresholds.errorRate.criticalRatio;
const newRatio = Number((oldRatio + 0.02).toFixed(4));
const oldSecurityDays = prod.loki.securityRetentionDays;
const newSecurityDays = Math.floor((oldSecurityDays + prod.loki.appRetentionDays) / 2);

function edit(dir: string, file: string, from: string | RegExp, to: (match: string) => string): void {
  const p = path.join(dir, file);
  const text = fs.readFileSync(p, "utf8");
  const m = typeof from === "string" ? (text.includes(from) ? from : undefined) : from.exec(text)?.[0];
  if (m === undefined) throw new Error(`test setup: ${file} no longer contains ${String(from)}: update this test`);
  fs.writeFileSync(p, text.replace(m, to(m)));
}

const git = (dir: string, ...args: string[]) =>
  execFileSync("git", ["-C", dir, "-c", "user.name=diff-test", "-c", "user.email=diff@test", ...args], { encoding: "utf8" }).trim();

/** The project's files (tracked and untracked, not ignored) in a fresh repository, committed. */
function scratchRepo(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "authwatch-diff-test-"));
  const files = execFileSync("git", ["-C", ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard"], { encoding: "utf8" }).split("\0");
  for (const f of files.filter((f) => f && f !== "node_modules" && fs.existsSync(path.join(ROOT, f)) && fs.statSync(path.join(ROOT, f)).isFile())) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.copyFileSync(path.join(ROOT, f), path.join(dir, f));
  }
  fs.symlinkSync(fs.realpathSync(path.join(ROOT, "node_modules")), path.join(dir, "node_modules"));
  git(dir, "init", "-q");
  fs.appendFileSync(path.join(dir, ".git", "info", "exclude"), "node_modules\n");
  git(dir, "add", "-A");
  git(dir, "commit", "-qm", "base");
  return dir;
}

function applyChanges(dir: string): void {
  editStackConfig(path.join(dir, "stacks/Pulumi.prod.yaml"), (c) => {
    setIn(c, ["authwatch:thresholds", "errorRate", "criticalRatio"], newRatio);
    setIn(c, ["authwatch:loki", "securityRetentionDays"], newSecurityDays);
  });
  // Security warnings go to the auth channel; AuthLatencyHigh's critical stops paging.
  edit(dir, "alerts/routing.ts", `{ receiver: "slack-security", matchers: ['severity="warning"', 'category="security"']`, (m) => m.replace("slack-security", "slack-auth"));
  edit(dir, "alerts/routing.ts", `{ receiver: "pagerduty-critical", matchers: ['severity="critical"'] }`.slice(0, -2), (m) =>
    `{ receiver: "slack-auth", matchers: ['alertname="AuthLatencyHigh"', 'severity="critical"'], ...CRITICAL },\n      ${m}`,
  );
  // A critical tier for AuthCSRFFailures (ten times the warning count); AuthHighErrorRate loses its warning tier.
  edit(dir, "alerts/security.ts", /( *)alert\(\{\n\s*alert: "AuthCSRFFailures",[\s\S]*?\n\1\}\),\n/, (m) =>
    m + m.replace('severity: "warning"', 'severity: "critical"').replaceAll("t.csrf.warningCount", "(t.csrf.warningCount * 10)"),
  );
  // A new alert, critical, sharing AuthCSRFFailures' runbook and panel.
  edit(dir, "alerts/security.ts", /( *)alert\(\{\n\s*alert: "AuthCSRFFailures",[\s\S]*?\n\1\}\),\n/, (m) =>
    m + m.replace('alert: "AuthCSRFFailures"', 'alert: "AuthCSRFFailureBurst",\n        runbook: "auth-csrf-failures"').replace('severity: "warning"', 'severity: "critical"'),
  );
  edit(dir, "dashboards/security.ts", 'linkedFrom: ["AuthCSRFFailures"]', () => 'linkedFrom: ["AuthCSRFFailures", "AuthCSRFFailureBurst"]');
  edit(dir, "alerts/availability.ts", /\n\s*errorTier\("warning",[^\n]*/, () => "");
  fs.writeFileSync(path.join(dir, "postgres/migrations/0099_audit_log.up.sql"), "CREATE TABLE audit_log (id bigint PRIMARY KEY);\n");
  fs.writeFileSync(path.join(dir, "postgres/migrations/0099_audit_log.down.sql"), "DROP TABLE audit_log;\n");
}

function cli(dir: string, ...args: string[]) {
  const r = spawnSync(TSX, [CLI, ...args], { cwd: dir, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("npm run diff", () => {
  let repo: string;
  let base: string;
  let head: string;
  let diff: StackDiff;
  const tmpDirsBefore = () => fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith("authwatch-diff-run-")).length;
  let tmpCount: number;

  /** Every tier of both revisions: what routing.ts says, and the config file amtool reads. */
  const routed: { side: "base" | "head"; tier: string; labels: Record<string, string>; file: string; ours: string[] }[] = [];
  let amDir: string;

  beforeAll(async () => {
    tmpCount = tmpDirsBefore();
    repo = scratchRepo();
    amDir = fs.mkdtempSync(path.join(os.tmpdir(), "authwatch-diff-test-am-"));
    base = git(repo, "rev-parse", "HEAD");
    applyChanges(repo);
    git(repo, "add", "-A");
    git(repo, "commit", "-qm", "change");
    head = git(repo, "rev-parse", "HEAD");
    // Both revisions rendered once: the semantic diff, and every tier's receivers for amtool.
    diff = await withRendered({ cwd: repo, base, head, stack: "prod", all: false }, (r) => {
      for (const [side, rendered] of [["base", r.before.get("prod")!], ["head", r.after.get("prod")!]] as const) {
        const facts = stackFacts(rendered);
        const file = path.join(amDir, `${side}.yaml`);
        fs.writeFileSync(file, rendered.files.get("alertmanager/alertmanager.yaml")!);
        for (const a of facts.alerts) {
          const labels = alertLabels(a, facts.externalLabels);
          routed.push({ side, tier: `${a.alert} ${a.labels.severity}`, labels, file, ours: routeAlert(facts.alertmanager, labels).map((d) => d.receiver) });
        }
      }
      return compareStack("prod", r.before.get("prod"), r.after.get("prod"));
    });
  });

  afterAll(() => {
    for (const d of [repo, amDir]) if (d) fs.rmSync(d, { recursive: true, force: true });
  });

  const tier = (name: string) => {
    const t = diff.alerts.find((a) => a.tier === name);
    if (!t) throw new Error(`no tier ${name} in ${diff.alerts.map((a) => a.tier).join(", ")}`);
    return t;
  };

  it("names the threshold with old and new values as the summary shows them", () => {
    const t = tier("AuthHighErrorRate critical");
    expect(t.changes).toContainEqual({ field: "threshold", old: `> ${pct(oldRatio)}`, new: `> ${pct(newRatio)}` });
    expect(t.pagesBefore && t.pagesAfter).toBe(true);
  });

  it("names the moved routes, the added alert and tier that now page, and the removed tier", () => {
    const latency = tier("AuthLatencyHigh critical");
    expect([latency.receiversBefore, latency.receiversAfter, latency.pagesBefore, latency.pagesAfter]).toEqual([["pagerduty-critical"], ["slack-auth"], true, false]);
    const csrf = tier("AuthCSRFFailures warning");
    expect(csrf.changes).toContainEqual({ field: "receivers", old: "slack-security", new: "slack-auth" });
    const added = tier("AuthCSRFFailures critical");
    expect([added.status, added.pagesAfter, added.receiversAfter]).toEqual(["added", true, ["slack-security", "pagerduty-critical"]]);
    const burst = tier("AuthCSRFFailureBurst critical");
    expect([burst.status, burst.pagesBefore, burst.pagesAfter]).toEqual(["added", false, true]);
    const removed = tier("AuthHighErrorRate warning");
    expect([removed.status, removed.receiversAfter]).toEqual(["removed", undefined]);
  });

  it("names the migration and the shorter security-log retention", () => {
    expect(diff.migrations.added).toEqual(["0099_audit_log.down.sql", "0099_audit_log.up.sql"]);
    expect(diff.securityRetentionShortened).toEqual({ old: `${oldSecurityDays} days`, new: `${newSecurityDays} days` });
  });

  it("agrees with amtool on every tier's receivers in both revisions, and reports what it computed", () => {
    expect(routed.length).toBeGreaterThan(80);
    for (const r of routed) expect(r.ours, `${r.side}: ${r.tier}`).toEqual(amtoolReceivers(r.file, r.labels));
    let reported = 0;
    for (const t of diff.alerts) {
      for (const [side, receivers] of [["base", t.receiversBefore], ["head", t.receiversAfter]] as const) {
        const r = routed.find((x) => x.side === side && x.tier === t.tier);
        if (r && receivers) {
          expect(receivers, `${side}: ${t.tier}`).toEqual(r.ours);
          reported++;
        }
      }
    }
    expect(reported).toBeGreaterThanOrEqual(12);
  });

  it("prints every change in the summary, exits 0, and removes its worktrees and temporary directories", () => {
    const r = cli(repo, "--base", base, "--head", head, "--stack", "prod");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const summary = r.stdout.slice(r.stdout.indexOf("Summary"), r.stdout.indexOf("\nprod:"));
    expect(summary).toContain("Pages less:\n    - prod: AuthLatencyHigh critical no longer pages (now slack-auth)");
    expect(summary).toContain("Pages more:\n    - prod: AuthCSRFFailureBurst critical added: now pages (slack-security, pagerduty-critical)\n    - prod: AuthCSRFFailures critical added: now pages (slack-security, pagerduty-critical)");
    expect(summary).toContain(`Pages differently:\n    - prod: AuthHighErrorRate critical: threshold > ${pct(oldRatio)} → > ${pct(newRatio)}`);
    expect(summary).toContain(`Security-log retention shortened:\n    - prod: security logs kept ${oldSecurityDays} days → ${newSecurityDays} days`);
    expect(summary).toContain("Migration to run:\n    - prod: 0099_audit_log.up.sql");
    expect(summary).toContain("prod: AuthHighErrorRate warning removed (was → slack-auth)");
    expect(git(repo, "worktree", "list").split("\n")).toHaveLength(1);
    expect(tmpDirsBefore()).toBe(tmpCount);
  });

  it("writes one deterministic Markdown comment with a collapsible section per stack", () => {
    const a = cli(repo, "--base", base, "--head", head, "--stack", "prod", "--format", "markdown");
    const b = cli(repo, "--base", base, "--head", head, "--stack", "prod", "--format", "markdown");
    expect(a.code).toBe(0);
    expect(b.stdout).toBe(a.stdout);
    expect(a.stdout).toMatch(/^### authwatch diff/);
    expect(a.stdout.indexOf("**Pages less**")).toBeLessThan(a.stdout.indexOf("<details>"));
    expect(a.stdout).toContain("<details><summary><b>prod</b>");
    expect(a.stdout.length).toBeLessThan(65_000);
  });

  it("prints no change and exits 0 when nothing changed (head: the working tree)", () => {
    const r = cli(repo, "--base", "HEAD", "--stack", "prod", "--format", "json");
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as { changed: boolean; head: string };
    expect([json.changed, json.head]).toEqual([false, "working tree"]);
    expect(cli(repo, "--base", "HEAD", "--stack", "dev").stdout).toMatch(/\nno change\n$/);
  });

  it("reports a stack that exists in one revision only", () => {
    fs.rmSync(path.join(repo, "stacks", "Pulumi.local.yaml"));
    try {
      const r = cli(repo, "--base", "HEAD", "--stack", "local", "--format", "json");
      expect(r.code).toBe(0);
      expect((JSON.parse(r.stdout) as { stacks: { presence: string }[] }).stacks[0]!.presence).toBe("removed");
    } finally {
      git(repo, "checkout", "--", "stacks/Pulumi.local.yaml");
    }
  });

  it("fails with synth's message when a revision does not render, and exits 2 on a usage error", () => {
    edit(repo, "stacks/Pulumi.prod.yaml", `criticalRatio: ${newRatio}`, () => "criticalRatio: 1.5");
    try {
      const r = cli(repo, "--base", "HEAD", "--stack", "prod");
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("working tree does not render stack prod");
      expect(r.stderr).toContain("errorRate.criticalRatio");
    } finally {
      git(repo, "checkout", "--", "stacks/Pulumi.prod.yaml");
    }
    for (const args of [["--stack", "prod"], ["--base", "HEAD", "--since", "7d"], ["--base", "HEAD", "--format", "xml"], ["--base", "HEAD", "--stack", "prod", "--all"], ["--base", "HEAD", "--bogus"]]) {
      const r = cli(repo, ...args);
      expect(r.code, args.join(" ")).toBe(2);
      expect(r.stderr).toContain("usage: npm run diff -- --base <git-ref>");
    }
    expect(git(repo, "worktree", "list").split("\n")).toHaveLength(1);
  });
});
