// npm run rollback on a real PostgreSQL 15, as the operator's role
// authwatch_rollback: seed 002's steps in order, idempotent (twice in a row
// changes nothing the second time, and is logged), a failing status-page
// webhook or flag step stops the run and the flags are reported exactly as
// the steps left them, the undo, the dry run, and a database without the schema.
import { createServer, type Server } from "node:http";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main as rollback } from "../../src/cli/rollback";
import { renderTemplate } from "../../src/comms/render";
import { FLAGS, FLAG_NAMES } from "../../src/flags/catalog";
import { DRILL_METRIC } from "../../src/rollback/drill";
import { startPushgateway } from "../support/postgres";
import { ROLLBACK_ROLE, rollbackSnapshot, useFlagsBed } from "../support/flags-bed";
import { tempDir } from "../support/tmp";

const bed = useFlagsBed("rollback");

/** A status-page webhook on loopback answering `status`; records what it was sent. */
interface Hook {
  url: string;
  status: number;
  posts: { body: unknown; authorization: string | undefined }[];
}
let hook: Hook;
let server: Server;
let stacks: string;

beforeAll(async () => {
  hook = { url: "", status: 201, posts: [] };
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      hook.posts.push({ body: JSON.parse(body), authorization: req.headers.authorization });
      res.writeHead(hook.status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  hook.url = `http://127.0.0.1:${address.port}/api/incidents`;
  stacks = tempDir("rollback-stacks");
  const stack = (webhook: string | undefined) =>
    `config:\n  authwatch:environment: dev\n  authwatch:routing:\n    mode: chat-only\n    slackAuthChannel: "#t"\n  authwatch:rollback:\n    estimatedResolution: 30 minutes\n${webhook ? `    statusPageWebhookUrl: ${webhook}\n` : ""}`;
  writeFileSync(join(stacks, "Pulumi.hooked.yaml"), stack(hook.url));
  writeFileSync(join(stacks, "Pulumi.quiet.yaml"), stack(undefined));
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  lines: Record<string, unknown>[];
}

async function run(url: string | undefined, argv: string[], options: { answer?: boolean; env?: Record<string, string> } = {}): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const questions: string[] = [];
  const code = await rollback([...argv, "--stacks-dir", stacks], {
    env: { ...(url ? { DATABASE_URL: url } : {}), AUTHWATCH_ACTOR: "oncall", ...options.env },
    out: (s) => (stdout += s),
    err: (s) => (stderr += s),
    confirm: async (q) => (questions.push(q), options.answer ?? false),
  });
  const lines = stdout.split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { code, stdout, stderr: stderr + questions.join(""), lines };
}

const snapshot = rollbackSnapshot;

async function flagValues(admin: Client): Promise<Record<string, unknown>> {
  return Object.fromEntries((await admin.query(`SELECT name, value FROM feature_flags`)).rows.map((r) => [r.name, r.value]));
}

const defaults = (): Record<string, unknown> => Object.fromEntries(FLAG_NAMES.map((n) => [n, FLAGS[n].default]));
const statuses = (actions: { step: string; status: string }[]) => actions.map((a) => `${a.step}:${a.status}`);

async function withDatabase(body: (url: string, admin: Client) => Promise<void>, families = 3): Promise<void> {
  const { name, url } = await bed.database();
  const admin = await bed.admin(name);
  try {
    await admin.query(
      `INSERT INTO refresh_token_families (family_id, user_id, device_id, revoked_at)
       SELECT gen_random_uuid(), i, gen_random_uuid(), CASE WHEN i = 1 THEN now() - interval '1 day' END FROM generate_series(1, $1::int + 1) i`,
      [families],
    );
    hook.posts = [];
    hook.status = 201;
    await body(url, admin);
  } finally {
    await admin.end();
  }
}

describe("npm run rollback", () => {
  it("runs seed 002's steps in order; a second run in a row changes nothing and is logged", () =>
    withDatabase(async (url, admin) => {
      const first = await run(url, ["--reason", "login failures after 1.4.2", "--revoke-sessions", "--yes", "--stack", "hooked"], { env: { STATUS_PAGE_TOKEN: "sp-token-1" } });
      expect(first.code, first.stderr).toBe(0);
      expect(await flagValues(admin)).toEqual({ ...defaults(), auth_bypass: true, auth_enabled: false });
      expect((await admin.query(`SELECT count(*)::int AS n FROM refresh_token_families WHERE revoked_at IS NULL`)).rows[0].n).toBe(0);
      expect(hook.posts).toEqual([
        { body: renderTemplate("authDown", "statusPage", { estimated_time: "30 minutes" }), authorization: "Bearer sp-token-1" },
      ]);
      const [row] = (await admin.query(`SELECT kind, outcome, actor, reason, actions, extract(epoch FROM duration) AS s FROM rollback_log`)).rows;
      expect(row).toMatchObject({ kind: "rollback", outcome: "completed", actor: "oncall", reason: "login failures after 1.4.2" });
      expect(statuses(row.actions)).toEqual(["enable_bypass:done", "disable_auth:done", "revoke_sessions:done", "post_status_page:done"]);
      expect(row.actions[2].revoked).toBe(3);
      expect(row.actions[0].flags).toEqual([{ flag: "auth_bypass", before: false, after: true, changed: true }]);
      for (const a of row.actions) expect(a.seconds).toBeGreaterThanOrEqual(0);
      expect(Number(row.s)).toBeGreaterThanOrEqual(row.actions.reduce((t: number, a: { seconds: number }) => t + a.seconds, 0) - 0.01);
      // The log: a flag line per change, a rollback line per step, one for the run.
      expect(first.lines.map((l) => `${l.evt}:${l.flag ?? l.step}`)).toEqual([
        "auth.flag.changed:auth_bypass",
        "auth.rollback:enable_bypass",
        "auth.flag.changed:auth_enabled",
        "auth.rollback:disable_auth",
        "auth.rollback:revoke_sessions",
        "auth.rollback:post_status_page",
        "auth.rollback:run",
      ]);
      expect(first.lines.at(-1)).toMatchObject({ status: "completed", kind: "rollback", reason: "login failures after 1.4.2", actor: "oncall" });
      expect(first.stdout + first.stderr).not.toContain("sp-token-1");

      const before = await snapshot(admin);
      const second = await run(url, ["--reason", "again, to be sure", "--revoke-sessions", "--yes", "--stack", "hooked"]);
      expect(second.code, second.stderr).toBe(0);
      const after = await snapshot(admin);
      expect(after.flags).toEqual(before.flags);
      expect(after.families).toEqual(before.families);
      expect(hook.posts).toHaveLength(1);
      expect(after.log).toHaveLength(2);
      expect(statuses(after.log[1].actions)).toEqual(["enable_bypass:unchanged", "disable_auth:unchanged", "revoke_sessions:unchanged", "post_status_page:unchanged"]);
      expect(second.lines.filter((l) => l.evt === "auth.flag.changed")).toEqual([]);
      expect(second.lines.filter((l) => l.evt === "auth.rollback")).toHaveLength(5);
    }));

  it("a failing status-page webhook stops the run, is logged, and the flags are reported as the steps left them", () =>
    withDatabase(async (url, admin) => {
      hook.status = 500;
      const r = await run(url, ["--reason", "errors", "--stack", "hooked"]);
      expect(r.code).toBe(1);
      const flags: Record<string, unknown> = { ...defaults(), auth_bypass: true, auth_enabled: false };
      expect(await flagValues(admin)).toEqual(flags);
      expect(r.stderr).toContain(`post_status_page (`);
      expect(r.stderr).toMatch(/failed: the status-page webhook at http:\/\/127\.0\.0\.1:\d+ answered HTTP 500/);
      expect(r.stderr).toContain("The rollback failed in");
      expect(r.stderr).toContain("done: enable_bypass, disable_auth\n  not done: post_status_page (failed)\n");
      expect(r.stderr).toContain(`flags now: ${FLAG_NAMES.map((n) => `${n}=${JSON.stringify(flags[n])}`).join(" ")}\n`);
      expect(r.stderr).not.toContain("/api/incidents");
      const [row] = (await admin.query(`SELECT outcome, actions FROM rollback_log`)).rows;
      expect(row.outcome).toBe("failed");
      expect(statuses(row.actions)).toEqual(["enable_bypass:done", "disable_auth:done", "revoke_sessions:skipped", "post_status_page:failed"]);
      expect(r.lines.at(-2)).toMatchObject({ evt: "auth.rollback", level: "error", step: "post_status_page", status: "failed" });
      expect(r.lines.at(-1)).toMatchObject({ step: "run", status: "failed", level: "error" });

      // Once the status page answers, running again posts it and changes nothing else.
      hook.status = 200;
      const retry = await run(url, ["--reason", "errors, status page back", "--stack", "hooked"]);
      expect(retry.code, retry.stderr).toBe(0);
      expect(statuses((await admin.query(`SELECT actions FROM rollback_log ORDER BY id DESC LIMIT 1`)).rows[0].actions)).toEqual([
        "enable_bypass:unchanged",
        "disable_auth:unchanged",
        "revoke_sessions:skipped",
        "post_status_page:done",
      ]);
    }));

  it("a failing flag step stops the run: the later steps are not run, and the report says so", () =>
    withDatabase(async (url, admin) => {
      // Sabotage: the database now refuses to switch auth off.
      await admin.query(`ALTER TABLE feature_flags ADD CONSTRAINT test_keep_auth CHECK (name <> 'auth_enabled' OR value = 'true')`);
      const r = await run(url, ["--reason", "errors", "--revoke-sessions", "--yes", "--stack", "hooked"]);
      expect(r.code).toBe(1);
      expect(await flagValues(admin)).toEqual({ ...defaults(), auth_bypass: true });
      expect((await admin.query(`SELECT count(*)::int AS n FROM refresh_token_families WHERE revoked_at IS NULL`)).rows[0].n).toBe(3);
      expect(hook.posts).toEqual([]);
      expect(r.stderr).toContain("done: enable_bypass\n  not done: disable_auth (failed), revoke_sessions (not run), post_status_page (not run)\n");
      expect(r.stderr).toMatch(/disable_auth \([\d.]+ s\): failed: new row for relation "feature_flags" violates check constraint "test_keep_auth"/);
      const [row] = (await admin.query(`SELECT outcome, actions FROM rollback_log`)).rows;
      expect(row.outcome).toBe("failed");
      expect(statuses(row.actions)).toEqual(["enable_bypass:done", "disable_auth:failed", "revoke_sessions:not run", "post_status_page:not run"]);
    }));

  it("undo restores the flags the rollbacks changed, as they were before; a second undo has nothing to restore", () =>
    withDatabase(async (url, admin) => {
      await admin.query(`UPDATE feature_flags SET value = '40', reason = 'ramp' WHERE name = 'auth_rollout_percentage'`);
      const before = await flagValues(admin);
      expect((await run(url, ["--reason", "errors", "--stack", "quiet"])).code).toBe(0);
      expect((await run(url, ["--reason", "errors again", "--stack", "quiet"])).code).toBe(0);
      // A change by hand after the rollback is not the rollback's to undo.
      await admin.query(`UPDATE feature_flags SET value = '["staff"]', reason = 'by hand' WHERE name = 'auth_groups'`);
      const undo = await run(url, ["--undo", "--reason", "1.4.3 fixes logins"]);
      expect(undo.code, undo.stderr).toBe(0);
      expect(await flagValues(admin)).toEqual({ ...before, auth_groups: ["staff"] });
      expect(undo.lines.filter((l) => l.evt === "auth.flag.changed").map((l) => [l.flag, l.value, l.previous])).toEqual([
        ["auth_bypass", false, true],
        ["auth_enabled", true, false],
      ]);
      const rows = (await admin.query(`SELECT kind, outcome, actions FROM rollback_log ORDER BY id`)).rows;
      expect(rows.map((r) => `${r.kind}:${r.outcome}`)).toEqual(["rollback:completed", "rollback:completed", "undo:completed"]);
      expect(statuses(rows[2].actions)).toEqual(["restore_flags:done"]);

      const again = await run(url, ["--undo", "--reason", "twice"]);
      expect(again.code).toBe(0);
      expect(again.stderr).toContain("nothing to restore");
      expect(await flagValues(admin)).toEqual({ ...before, auth_groups: ["staff"] });
    }));

  it("asks before revoking sessions; a no skips that step and revokes nothing", () =>
    withDatabase(async (url, admin) => {
      const r = await run(url, ["--reason", "errors", "--revoke-sessions", "--stack", "quiet"], { answer: false });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain("Revoke every active refresh-token family?");
      expect(r.stderr).toContain("declined at the confirmation prompt");
      expect((await admin.query(`SELECT count(*)::int AS n FROM refresh_token_families WHERE revoked_at IS NULL`)).rows[0].n).toBe(3);
      expect(r.stderr).toMatch(/post_status_page .*skipped: stack quiet sets no rollback.statusPageWebhookUrl/);
    }));

  it("--dry-run prints the plan and changes nothing", () =>
    withDatabase(async (url, admin) => {
      const before = await snapshot(admin);
      const r = await run(url, ["--reason", "rehearsal", "--revoke-sessions", "--stack", "hooked", "--dry-run", "--field", "estimated_time=1 hour"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain("Plan (dry run: nothing is changed) of the rollback:\n");
      expect(r.stderr).toContain("1. enable_bypass: set auth_bypass: false → true\n");
      expect(r.stderr).toContain("2. disable_auth: set auth_enabled: true → false\n");
      expect(r.stderr).toContain("3. revoke_sessions: revoke 3 active refresh-token families");
      expect(r.stderr).toMatch(/4\. post_status_page: POST the status-page incident .* to http:\/\/127\.0\.0\.1:\d+: .*Estimated resolution: 1 hour\./);
      expect(r.stderr).not.toContain("Revoke every");
      expect(r.lines.map((l) => `${l.step}:${l.status}:${l.dryRun}`)).toEqual([
        "enable_bypass:planned:true",
        "disable_auth:planned:true",
        "revoke_sessions:planned:true",
        "post_status_page:planned:true",
      ]);
      expect(await snapshot(admin)).toEqual(before);
      expect(hook.posts).toEqual([]);
    }));

  it("--dry-run --drill pushes the drill's success for the stack; a failed drill pushes nothing", async () => {
    const gateway = await startPushgateway();
    try {
      await withDatabase(async (url) => {
        const t0 = Date.now() / 1000;
        const r = await run(url, ["--reason", "monthly drill", "--dry-run", "--drill", "--stack", "quiet"], { env: { PUSHGATEWAY_URL: gateway.url } });
        expect(r.code, r.stderr).toBe(0);
        const pushed = await gateway.value(DRILL_METRIC, { stack: "quiet", job: "rollback-drill" });
        expect(pushed).toBeGreaterThanOrEqual(Math.floor(t0));
        expect(pushed).toBeLessThanOrEqual(Date.now() / 1000 + 1);
      });
      const plain = await bed.database({ migrate: false });
      const failed = await run(plain.url, ["--reason", "monthly drill", "--dry-run", "--drill", "--stack", "hooked"], { env: { PUSHGATEWAY_URL: gateway.url } });
      expect(failed.code).toBe(3);
      expect(await gateway.value(DRILL_METRIC, { stack: "hooked" })).toBeUndefined();
      const noGateway = await run(plain.url, ["--reason", "drill", "--dry-run", "--drill", "--stack", "quiet"]);
      expect(noGateway).toMatchObject({ code: 2, stderr: expect.stringContaining("--drill needs PUSHGATEWAY_URL") });
    } finally {
      await gateway.stop();
    }
  });

  it("refuses a database without the schema before any change, naming what is missing, without printing the URL", async () => {
    const plain = await bed.database({ migrate: false });
    const admin = await bed.admin(plain.name);
    try {
      // Only the token tables: the flags are missing.
      await admin.query(`CREATE TABLE refresh_token_families (family_id uuid PRIMARY KEY, revoked_at timestamptz); INSERT INTO refresh_token_families VALUES (gen_random_uuid(), NULL)`);
      const r = await run(plain.url, ["--reason", "errors", "--revoke-sessions", "--yes", "--stack", "hooked"]);
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/^rollback: the database has no table feature_flags, rollback_log: apply the migrations first .*nothing was changed\n$/);
      expect(r.stdout).toBe("");
      expect((await admin.query(`SELECT count(*)::int AS n FROM refresh_token_families WHERE revoked_at IS NULL`)).rows[0].n).toBe(1);
      expect(hook.posts).toEqual([]);
      expect(r.stderr).not.toContain(encodeURIComponent(ROLLBACK_ROLE.password));
    } finally {
      await admin.end();
    }
  });

  it("refuses to run while another rollback holds the database's rollback lock", () =>
    withDatabase(async (url, admin) => {
      await admin.query(`SELECT pg_advisory_lock(hashtext('authwatch.rollback'))`);
      const r = await run(url, ["--reason", "errors", "--stack", "quiet"]);
      expect(r.code).toBe(3);
      expect(r.stderr).toContain("another rollback is running against this database right now; nothing was changed");
      expect(await flagValues(admin)).toEqual(defaults());
      await admin.query(`SELECT pg_advisory_unlock(hashtext('authwatch.rollback'))`);
      expect((await run(url, ["--reason", "errors", "--stack", "quiet"])).code).toBe(0);
    }));

  it("exits 2 on a bad command line or a template field it lacks, before connecting", async () => {
    const cases: [string[], RegExp][] = [
      [[], /--reason "<why>" is required/],
      [["--reason", "x", "--undo", "--revoke-sessions"], /--undo cannot be combined with --revoke-sessions/],
      [["--reason", "x", "--drill"], /--drill runs with --dry-run/],
      [["--reason", "x", "--dry-run", "--drill"], /--drill needs --stack/],
      [["--reason", "x", "--field", "eta=1h"], /authDown has no field "eta"/],
      [["--reason", "x", "--stack", "nope"], /Pulumi\.nope\.yaml: invalid stack settings:\n {2}- no such stack file \(stacks: hooked, quiet\)/],
      [["--reason", "x", "--bogus"], /Unknown option '--bogus'/],
    ];
    for (const [argv, message] of cases) {
      const r = await run(undefined, argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});
