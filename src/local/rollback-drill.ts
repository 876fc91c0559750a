/**
 * The rollback drill (seed 002: "run rollback drill monthly", "rollback
 * execution time under 5 minutes"): a bad release makes every login fail while
 * users retry, AuthHighLoginFailureRate pages (seed 002's "high auth failure
 * rate: consider rollback"), and the on-call runs the real rollback,
 * `npm run rollback -- --reason … --yes`, against the local database as
 * roles.sql's rollback role. Timed from the page to the first login the demo
 * service answers in safe mode (anonymous mode, through the kill switch's
 * NOTIFY), against the 5-minute target. Restoring stops the users, fixes the
 * release and runs `npm run rollback -- --undo`, so the stack is left healthy
 * and the drill can run again.
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import yaml from "js-yaml";
import { stackFile } from "../settings/load";
import { AUTH_MODE_HEADER } from "./demo/access";
import { DEMO_PASSWORD } from "./demo/service";
import type { DrillContext, DrillStep } from "./drills";
import { getJson, localUrl, postJson, requestLoop, sleep } from "./net";
import { REPO_ROOT } from "./postgres";
import { identityUrl } from "./roles";
import type { Scenario } from "./scenarios";
import { STATUS_PAGE_PATH, type StatusPageUpdate } from "./statuspage";

/** Seed 002: "Monitor rollback execution time (target < 5 minutes)". */
export const ROLLBACK_TARGET_MS = 5 * 60_000;
/** Users who cannot log in try again: the retries that make the failure ratio climb within seconds. */
const RETRIES_PER_SECOND = 10;
/** How long the service may take to show the flags' state once the command has finished. */
const SETTLE_MS = 10_000;

/** A login as the users make it: correct password, from the clients' addresses. */
async function login(ctx: DrillContext, n: number): Promise<{ status: number; mode: string | null }> {
  const res = await fetch(`${ctx.url.auth}/v1/login`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": `198.51.100.${10 + (n % 64)}`, "x-platform": "web" },
    body: JSON.stringify({ email: `user${1 + (n % 500)}@example.com`, password: DEMO_PASSWORD }),
    signal: AbortSignal.timeout(5000),
  });
  await res.arrayBuffer();
  return { status: res.status, mode: res.headers.get(AUTH_MODE_HEADER) };
}

/** Poll with a login every 100 ms until the service answers in `mode`; the time it did, or undefined by the deadline. */
async function answersIn(ctx: DrillContext, mode: "anonymous" | "authenticated", until: () => boolean): Promise<number | undefined> {
  for (let n = 0; !until(); n++) {
    const r = await login(ctx, n).catch(() => undefined);
    if (r?.status === 200 && r.mode === mode) return Date.now();
    await sleep(100);
  }
  return undefined;
}

/**
 * The stack file the rollback reads its settings from: the running stack's, with the status-page
 * webhook on the sink's actual port (as the runner points Alertmanager's receivers at it).
 * Returns the directory to pass as --stacks-dir.
 */
function operatorStacksDir(ctx: DrillContext): string {
  const dir = join(ctx.l.dir, "stacks");
  const doc = yaml.load(readFileSync(stackFile(ctx.state.stack), "utf8"), { schema: yaml.CORE_SCHEMA }) as { config: Record<string, unknown> };
  const key = "authwatch:rollback";
  doc.config[key] = { ...(doc.config[key] as object | undefined), statusPageWebhookUrl: `${localUrl(ctx.state.ports.sink)}${STATUS_PAGE_PATH}` };
  mkdirSync(dir, { recursive: true });
  writeFileSync(stackFile(ctx.state.stack, dir), `# Written by the rollback drill: ${stackFile(ctx.state.stack)} with the sink's port.\n${yaml.dump(doc)}`);
  return dir;
}

/** `npm run rollback -- <args>` as the on-call types it, as the rollback role; its output goes to the drill's log. */
async function rollbackCli(ctx: DrillContext, rollbackArgs: string[]): Promise<{ code: number; output: string; ms: number }> {
  const args = [...rollbackArgs, "--stack", ctx.state.stack, "--stacks-dir", operatorStacksDir(ctx)];
  const db = await identityUrl("rollback", ctx.state.ports.postgres);
  if (db.note) ctx.log(`  note: the rollback runs as ${db.role}: ${db.note}`);
  ctx.log(`  $ DATABASE_URL=<${db.role}@local> npm run rollback -- ${args.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(" ")}`);
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn("npm", ["run", "--silent", "rollback", "--", ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, DATABASE_URL: db.url },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    const take = (c: Buffer) => (output += c.toString());
    child.stdout.on("data", take);
    child.stderr.on("data", take);
    const killer = setTimeout(() => child.kill("SIGTERM"), ROLLBACK_TARGET_MS);
    child.on("close", (code) => {
      clearTimeout(killer);
      // What the on-call reads; the JSON log lines (auth.rollback, auth.flag.changed) are counted, not shown.
      const lines = output.trimEnd().split("\n").filter((line) => line !== "");
      const json = lines.filter((line) => line.startsWith('{"evt":'));
      for (const line of lines) if (!json.includes(line)) ctx.log(`    ${line}`);
      if (json.length > 0) ctx.log(`    (and ${json.length} JSON log lines: auth.rollback, auth.flag.changed)`);
      resolve({ code: code ?? 1, output, ms: Date.now() - t0 });
    });
  });
}

/** The users retrying their logins, until stopped. */
const startUsers = (ctx: DrillContext) => requestLoop(RETRIES_PER_SECOND, (n) => login(ctx, n));

const demoFaults = (ctx: DrillContext, faults: { badRelease: boolean }) => postJson(`${ctx.url.auth}/_control`, faults);

let users: { stop: () => Promise<number> } | undefined;
/** Set once this run has started the rollback: only then does restoring undo it. */
let rolledBack = false;

export const ROLLBACK_SCENARIO: Scenario = {
  name: "rollback",
  fault: `a bad release: every login fails, and users retry (${RETRIES_PER_SECOND} logins a second); the on-call rolls back`,
  alert: "AuthHighLoginFailureRate",
  severity: "critical",
  async inject(ctx) {
    // The bad release can only fail logins the service authenticates: a kill switch left on would hide it.
    const health = await getJson<{ auth?: string }>(`${ctx.url.auth}/health`);
    if (health.auth !== "enabled") throw new Error(`the service already serves ${health.auth ?? "an unknown mode"}: a kill switch is on (npm run flags -- list; npm run rollback -- --undo)`);
    rolledBack = false;
    await demoFaults(ctx, { badRelease: true });
    users = startUsers(ctx);
  },
  async afterPage(ctx, pageAt): Promise<DrillStep> {
    const name = "page → safe mode";
    ctx.log(`  ${new Date().toTimeString().slice(0, 8)} the on-call rolls back`);
    rolledBack = true;
    let exited: { code: number; output: string; ms: number } | undefined;
    let exitedAt = Infinity;
    const cli = rollbackCli(ctx, ["--reason", `drill: bad release, ${ROLLBACK_SCENARIO.alert} paged`, "--yes"]).then((r) => {
      exited = r;
      exitedAt = Date.now();
    });
    const safeAt = await answersIn(ctx, "anonymous", () => (exited !== undefined && exited.code !== 0) || Date.now() > exitedAt + SETTLE_MS);
    await cli;
    if (exited!.code !== 0) return { name, targetMs: ROLLBACK_TARGET_MS, ok: false, error: `npm run rollback exited ${exited!.code}` };
    if (safeAt === undefined) return { name, targetMs: ROLLBACK_TARGET_MS, ok: false, error: `the service did not answer in anonymous mode within ${SETTLE_MS / 1000}s of the rollback` };
    const posted = await getJson<StatusPageUpdate[]>(`${ctx.url.sink}/api/statuspage?since=${pageAt}`);
    if (posted.length === 0) return { name, targetMs: ROLLBACK_TARGET_MS, ok: false, error: "no status-page incident reached the sink" };
    ctx.log(`  status page: [${posted[0]!.status}] ${posted[0]!.title}`);
    const ms = safeAt - pageAt;
    const ok = ms <= ROLLBACK_TARGET_MS;
    ctx.log(`  ${ok ? "✓" : "✗"} safe mode ${(ms / 1000).toFixed(1)}s after the page (the command took ${(exited!.ms / 1000).toFixed(1)}s; target ${ROLLBACK_TARGET_MS / 60_000} min, ratio ${(ms / ROLLBACK_TARGET_MS).toFixed(2)})`);
    return { name, ms, targetMs: ROLLBACK_TARGET_MS, ok, ...(ok ? {} : { error: `safe mode after ${(ms / 1000).toFixed(1)}s, over the 5-minute target` }) };
  },
  async restore(ctx) {
    const sent = (await users?.stop()) ?? 0;
    users = undefined;
    // The fixed release is out, then the kill switch goes back to where it was.
    await demoFaults(ctx, { badRelease: false });
    if (!rolledBack) return `users stopped (${sent} logins); the release is fixed; no rollback to undo`;
    rolledBack = false;
    const undo = await rollbackCli(ctx, ["--undo", "--reason", "drill: the fixed release is out", "--yes"]);
    if (undo.code !== 0) throw new Error(`npm run rollback -- --undo exited ${undo.code}: the flags stay in safe mode (npm run flags -- list)`);
    const deadline = Date.now() + SETTLE_MS;
    const back = await answersIn(ctx, "authenticated", () => Date.now() > deadline);
    if (back === undefined) throw new Error(`the service still answers anonymously ${SETTLE_MS / 1000}s after the undo`);
    return `users stopped (${sent} logins); the release is fixed; undo took ${(undo.ms / 1000).toFixed(1)}s and logins authenticate again`;
  },
};
