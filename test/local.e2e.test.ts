/**
 * `npm run local` end to end, with the real programs: the stack comes up in a
 * scratch data directory, four drills make the demo service misbehave, each
 * page reaches the receiver docs/alerts.md routes it to with a
 * runbook_url whose file exists, the rollback drill puts the service in safe
 * mode through the real `npm run rollback` and undoes it, a repeated drill
 * pages again, and `down` leaves no process behind.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { DrillResult } from "../src/local/drills";
import { getJson, LOOPBACK } from "../src/local/net";
import { psql, REPO_ROOT } from "../src/local/postgres";
import { ROLLBACK_TARGET_MS } from "../src/local/rollback-drill";
import { localDatabaseUrl, roleName } from "../src/local/roles";
import type { Notification } from "../src/local/sink";
import type { StatusPageUpdate } from "../src/local/statuspage";
import { commandLine, layout, pidAlive, readState, type StackState } from "../src/local/state";
import { localCli as cli, startLocalStack, stopLocalStack, type CliRun } from "./support/local-stack";

/** docs/alerts.md: critical → pagerduty-critical, and slack-security too when category="security". */
const EXPECTED = {
  "refresh-reuse": { alert: "AuthRefreshTokenReuse", severity: "critical", receivers: ["pagerduty-critical", "slack-security"] },
  "error-burst": { alert: "AuthHighErrorRate", severity: "critical", receivers: ["pagerduty-critical"] },
  rollback: { alert: "AuthHighLoginFailureRate", severity: "critical", receivers: ["pagerduty-critical"] },
  "service-down": { alert: "AuthServiceDown", severity: "critical", receivers: ["pagerduty-critical"] },
} as const;


/** Processes whose command line names the data directory (the children's configuration lives there). */
function processesUsing(dir: string): string[] {
  return readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
    .map((p) => `${p}: ${commandLine(Number(p))}`)
    .filter((line) => line.includes(dir));
}

describe("npm run local: up, drills, down", () => {
  const dir = mkdtempSync(join(tmpdir(), "authwatch-local-"));
  const l = layout(dir);
  let upRun: CliRun;
  let screen = "";
  let state: StackState;
  let results: DrillResult[];
  let drillOutput = "";

  beforeAll(async () => {
    ({ up: upRun, state } = await startLocalStack(dir, { timeoutMs: 150_000, onScreen: (s) => (screen += s) }));
  }, 180_000);

  afterAll(async () => {
    await stopLocalStack(upRun, dir);
    rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it("prints one screen with what runs, the URLs and where notifications appear", () => {
    expect(screen).toContain("authwatch local stack is up");
    expect(screen).toContain(`Prometheus          http://${LOOPBACK}:${state.ports.prometheus}`);
    expect(screen).toContain(`Alertmanager        http://${LOOPBACK}:${state.ports.alertmanager}`);
    expect(screen).toMatch(/Notifications appear below/);
    for (const name of ["postgres", "pushgateway", "postgres-exporter", "auth", "blackbox", "alertmanager", "prometheus"] as const) {
      expect(pidAlive(state.pids[name]!), name).toBe(true);
    }
  });

  it("scrapes every target, and the demo service exposes the telemetry contract's metrics", async () => {
    const targets = await getJson<{ data: { activeTargets: { labels: { job: string }; health: string }[] } }>(`http://${LOOPBACK}:${state.ports.prometheus}/api/v1/targets`);
    const jobs = targets.data.activeTargets.map((t) => `${t.labels.job}:${t.health}`).sort();
    expect(jobs).toEqual(["alertmanager:up", "auth-health:up", "auth:up", "postgres:up", "prometheus:up", "pushgateway:up"]);
    const metrics = await (await fetch(`http://${LOOPBACK}:${state.ports.auth}/metrics`)).text();
    expect(metrics).toMatch(/^auth_refresh_total\{result="reuse_detected"\} 0$/m);
    expect(metrics).toMatch(/^http_requests_total\{service="auth",route="\/v1\/login",method="POST",code="500"\} 0$/m);
    expect(metrics).toMatch(/^auth_feature_flag\{flag="auth_enabled"\} 1$/m);
    // It loaded the flags from the local database, as roles.sql's read-only service role.
    expect(readFileSync(l.log("auth"), "utf8")).toMatch(/flags: loaded 7 rows \(start\)/);
    const who = await psql(localDatabaseUrl(state.ports.postgres), "SELECT usename FROM pg_stat_activity WHERE application_name = 'authwatch-demo-flags'");
    expect(who.stdout.trim()).toBe(roleName("service"));
    const logLine = JSON.parse(readFileSync(l.authLog, "utf8").split("\n")[0]!) as Record<string, unknown>;
    expect(logLine.evt).toMatch(/^auth\./);
    expect(typeof logLine.at).toBe("string");
  });

  it("drills refresh-reuse, error-burst, rollback and service-down: each page reaches its receivers in time", async () => {
    const json = join(dir, "drills.json");
    const run = await cli(["drill", ...Object.keys(EXPECTED), "--dir", dir, "--json", json], (s) => (drillOutput += s)).done;
    results = JSON.parse(readFileSync(json, "utf8")) as DrillResult[];
    expect(run.code, run.output).toBe(0);
    expect(results.map((r) => r.scenario)).toEqual(Object.keys(EXPECTED));
    for (const r of results) {
      expect(r.ok, `${r.scenario}: ${r.error}`).toBe(true);
      expect(r.timeToPageMs!).toBeLessThanOrEqual(r.budgetMs);
    }
    expect(drillOutput).toMatch(/scenario\s+alert\s+severity\s+receiver\(s\)\s+time to page\s+floor\s+ratio\s+result/);
    expect(drillOutput).toMatch(/↳ page → safe mode\s+\d+\.\ds\s+300\.0s target\s+0\.\d\d\s+ok/);
  }, 480_000);

  it("the rollback drill: safe mode within seed 002's 5 minutes of the page, the status page told, both runs logged, the flags back", async () => {
    const r = results?.find((x) => x.scenario === "rollback");
    expect(r?.step, "the rollback drill ran").toBeDefined();
    expect(r!.step!.ok, r!.step!.error).toBe(true);
    expect(r!.step!.ms!).toBeLessThan(ROLLBACK_TARGET_MS);
    const posted = await getJson<StatusPageUpdate[]>(`http://${LOOPBACK}:${state.ports.sink}/api/statuspage?since=0`);
    expect(posted.map((u) => u.title)).toEqual(["Authentication Service Interruption"]);
    const log = await psql(localDatabaseUrl(state.ports.postgres), "SELECT kind || ':' || outcome FROM rollback_log ORDER BY id");
    expect(log.stdout.trim().split("\n")).toEqual(["rollback:completed", "undo:completed"]);
    // The demo followed both changes through NOTIFY, and answers authenticated again.
    const demoLog = readFileSync(l.log("auth"), "utf8");
    expect(demoLog).toMatch(/flags: auth_bypass = true \(NOTIFY\)[\s\S]*flags: auth_bypass = false \(NOTIFY\)/);
    const health = await getJson<{ auth: string; flags: string }>(`http://${LOOPBACK}:${state.ports.auth}/health`);
    expect(health).toMatchObject({ auth: "enabled", flags: "database" });
  });

  it("each notification arrived at the receiver the routing contract names, with a runbook that exists", async () => {
    expect(results, "the drills ran").toBeDefined();
    const received = await getJson<Notification[]>(`http://${LOOPBACK}:${state.ports.sink}/api/notifications?since=0`);
    for (const [scenario, want] of Object.entries(EXPECTED)) {
      const pages = received.filter((n) => n.alertname === want.alert && n.severity === want.severity && n.status === "firing");
      expect(pages.map((n) => n.receiver).sort(), scenario).toEqual([...want.receivers].sort());
      for (const n of pages) {
        const slug = /\/runbooks\/([a-z0-9-]+)\.md$/.exec(n.runbookUrl)?.[1];
        expect(slug, `${scenario}: runbook_url ${n.runbookUrl}`).toBeDefined();
        expect(existsSync(join(REPO_ROOT, "runbooks", `${slug}.md`)), n.runbookUrl).toBe(true);
        expect(n.summary, scenario).not.toBe("");
      }
    }
    // Nothing reached a receiver the contract does not name for these alerts.
    const names = Object.values(EXPECTED).map((w) => w.alert as string);
    expect(received.filter((n) => names.includes(n.alertname) && n.receiver === "slack-auth" && n.severity === "critical")).toEqual([]);
  });

  it("drills refresh-reuse again right after: the repeat waits for the first incident's resolution and pages again", async () => {
    expect(results, "the drills ran").toBeDefined();
    const json = join(dir, "repeat.json");
    const started = Date.now();
    const run = await cli(["drill", "refresh-reuse", "--dir", dir, "--json", json]).done;
    const [repeat] = JSON.parse(readFileSync(json, "utf8")) as DrillResult[];
    expect(run.code, run.output).toBe(0);
    expect(repeat!.ok, repeat!.error).toBe(true);
    const received = await getJson<Notification[]>(`http://${LOOPBACK}:${state.ports.sink}/api/notifications?since=0`);
    const want = EXPECTED["refresh-reuse"];
    for (const receiver of want.receivers) {
      const of = (status: string) => received.filter((n) => n.alertname === want.alert && n.receiver === receiver && n.status === status);
      const pages = of("firing");
      expect(pages.length, receiver).toBe(2);
      expect(pages[1]!.at, receiver).toBeGreaterThan(started);
      // Measured only after the receiver was told the first incident resolved (else the repeat is deduplicated).
      expect(of("resolved").some((n) => n.at > pages[0]!.at && n.at < pages[1]!.at), receiver).toBe(true);
    }
  }, 15 * 60_000);

  it("refuses the HA drills on this single-node stack, naming the HA stack", async () => {
    const run = await cli(["drill", "alertmanager-failover", "--dir", dir]).done;
    expect(run.code).toBe(1);
    expect(run.output).toMatch(/needs the HA stack.*npm run local -- --ha/);
  });

  it("down stops every process and keeps the data", async () => {
    const pids = [state.supervisorPid, ...Object.values(readState(l)!.pids)];
    const stopped = await cli(["down", "--dir", dir]).done;
    expect(stopped.code, stopped.output).toBe(0);
    const up = await upRun.done;
    expect(up.code, up.output.slice(-2000)).toBe(0);
    expect(pids.filter((pid) => pidAlive(pid))).toEqual([]);
    expect(processesUsing(dir)).toEqual([]);
    expect(readdirSync(l.run).filter((f) => f.endsWith(".pid"))).toEqual([]);
    expect(existsSync(join(l.pgData, "PG_VERSION"))).toBe(true);
    expect(readdirSync(l.backups).some((f) => f.endsWith(".manifest"))).toBe(true);
    const status = await cli(["status", "--dir", dir]).done;
    expect(status.code).toBe(3);
    expect(status.output).toMatch(/not running/);
  }, 120_000);
});
