// npm run flags on a real PostgreSQL 15, as the operator's role: list, get,
// set (idempotent, logged as auth.flag.changed), errors that name what is
// wrong, and the NOTIFY a listener receives within a second of the real CLI's
// `flags set`.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { Client } from "pg";
import { describe, expect, it } from "vitest";
import { main as flags } from "../../src/cli/flags";
import { FLAG_CHANNEL, FLAGS, FLAG_NAMES } from "../../src/flags/catalog";
import { REPO_ROOT } from "../support/postgres";
import { ROLLBACK_ROLE, useFlagsBed } from "../support/flags-bed";

const bed = useFlagsBed("flags_cli");

async function cli(url: string | undefined, ...argv: string[]) {
  let stdout = "";
  let stderr = "";
  const env = url === undefined ? {} : { DATABASE_URL: url };
  const code = await flags(argv, { env: { ...env, AUTHWATCH_ACTOR: "alice" }, out: (s) => (stdout += s), err: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

const jsonLines = (text: string) => text.split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

describe("npm run flags", () => {
  it("lists every flag with its default, and gets one as JSON", async () => {
    const { url } = await bed.database();
    const list = await cli(url, "list");
    expect(list.code, list.stderr).toBe(0);
    const lines = list.stdout.trimEnd().split("\n");
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual(FLAG_NAMES);
    for (const name of FLAG_NAMES) {
      const got = await cli(url, "get", name);
      expect(got.code).toBe(0);
      expect(JSON.parse(got.stdout)).toEqual(FLAGS[name].default);
    }
  });

  it("sets a flag once: the change is written with who and why and logged; the same value again changes nothing", async () => {
    const { name, url } = await bed.database();
    const set = await cli(url, "set", "auth_groups", "staff,beta", "--reason", "pilot for staff");
    expect(set.code, set.stderr).toBe(0);
    expect(set.stderr).toBe("auth_groups: [] → staff,beta\n");
    const [line, ...more] = jsonLines(set.stdout);
    expect(more).toEqual([]);
    expect(line).toMatchObject({ evt: "auth.flag.changed", level: "info", flag: "auth_groups", value: ["staff", "beta"], previous: [], actor: "alice", reason: "pilot for staff" });
    expect(Date.parse(String(line!.at))).toBeGreaterThan(Date.now() - 60_000);
    const admin = await bed.admin(name);
    try {
      const row = async () => (await admin.query(`SELECT value, updated_by, reason, updated_at FROM feature_flags WHERE name = 'auth_groups'`)).rows[0];
      const first = await row();
      expect(first).toMatchObject({ value: ["staff", "beta"], updated_by: "alice", reason: "pilot for staff" });
      const again = await cli(url, "set", "auth_groups", '["staff","beta"]', "--reason", "again");
      expect(again).toMatchObject({ code: 0, stdout: "", stderr: "auth_groups is already staff,beta: nothing changed\n" });
      expect(await row()).toEqual(first);
    } finally {
      await admin.end();
    }
    expect((await cli(url, "set", "auth_rollout_percentage", "25%", "--reason", "ramp")).code).toBe(0);
    expect((await cli(url, "get", "auth_rollout_percentage")).stdout).toBe("25\n");
  });

  it("refuses, before connecting, an unknown flag, a value its kind does not allow, and a change without a reason", async () => {
    // No DATABASE_URL at all: these must fail on the command line alone, with exit 2.
    const cases: [string[], RegExp][] = [
      [["get", "auth_nope"], /unknown flag "auth_nope": the flags are auth_enabled, /],
      [["set", "auth_bypass", "yes", "--reason", "x"], /auth_bypass is a switch flag: its value must be true or false, got "yes"/],
      [["set", "auth_rollout_percentage", "150", "--reason", "x"], /auth_rollout_percentage is a percentage flag: .* 0 to 100, got 150/],
      [["set", "auth_groups", '[1, "a"]', "--reason", "x"], /auth_groups is a groups flag/],
      [["set", "auth_bypass", "true"], /set needs --reason/],
      [["set", "auth_bypass", "true", "--reason", "   "], /set needs --reason/],
      [["frobnicate"], /cannot understand "frobnicate"/],
      [[], /a command is required/],
    ];
    for (const [argv, message] of cases) {
      const r = await cli(undefined, ...argv);
      expect(r.code, argv.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe("");
    }
  });

  it("exits 3 naming what is wrong with the database, never printing the URL or its password", async () => {
    const plain = await bed.database({ migrate: false });
    const noSchema = await cli(plain.url, "set", "auth_bypass", "true", "--reason", "x");
    expect(noSchema.code).toBe(3);
    expect(noSchema.stderr).toMatch(/the database has no table feature_flags: apply the migrations first .*nothing was changed/);
    const unset = await cli(undefined, "list");
    expect(unset).toMatchObject({ code: 3, stderr: expect.stringContaining("DATABASE_URL is not set") });
    const wrongPassword = await cli(plain.url.replace(encodeURIComponent(ROLLBACK_ROLE.password), "Wrong-pw-9"), "list");
    expect(wrongPassword.code).toBe(3);
    expect(wrongPassword.stderr).toMatch(/cannot connect to the database of DATABASE_URL \(127\.0\.0\.1:\d+\): password authentication failed/);
    const noServer = await cli(`postgresql://authwatch_rollback:${encodeURIComponent(ROLLBACK_ROLE.password)}@127.0.0.1:1/x`, "list");
    expect(noServer.code).toBe(3);
    for (const r of [noSchema, wrongPassword, noServer]) {
      expect(r.stderr).not.toContain(ROLLBACK_ROLE.password);
      expect(r.stderr).not.toContain(encodeURIComponent(ROLLBACK_ROLE.password));
      expect(r.stderr).not.toContain("Wrong-pw-9");
    }
    expect((await cli("mysql://x@y/z", "list")).stderr).toMatch(/DATABASE_URL must be a postgresql:\/\/ URL, not mysql:/);
  });

  it("the real CLI's `flags set` reaches a LISTENer within a second", async () => {
    const { name, url } = await bed.database();
    const listener = new Client({ connectionString: bed.pg.url(name) });
    await listener.connect();
    try {
      const arrived = new Promise<{ at: number; payload: unknown }>((resolve) =>
        listener.on("notification", (n) => resolve({ at: Date.now(), payload: JSON.parse(n.payload ?? "null") })),
      );
      await listener.query(`LISTEN ${FLAG_CHANNEL}`);
      const child = spawn(process.execPath, [join(REPO_ROOT, "node_modules", "tsx", "dist", "cli.mjs"), join(REPO_ROOT, "src", "cli", "flags.ts"), "set", "auth_enabled", "false", "--reason", "kill switch test"], {
        env: { PATH: process.env.PATH, DATABASE_URL: url, AUTHWATCH_ACTOR: "bob" },
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (d) => (stdout += d));
      child.stderr.on("data", (d) => (stderr += d));
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
      expect(code, stderr).toBe(0);
      expect(jsonLines(stdout)[0]).toMatchObject({ evt: "auth.flag.changed", flag: "auth_enabled", value: false, previous: true, actor: "bob" });
      const { at, payload } = await arrived;
      expect(payload).toEqual({ name: "auth_enabled", value: false, active: true });
      // updated_at is the changing transaction's start: the listener heard of it within a second.
      const changedAt = (await listener.query(`SELECT updated_at FROM feature_flags WHERE name = 'auth_enabled'`)).rows[0].updated_at as Date;
      expect(at - changedAt.getTime()).toBeGreaterThanOrEqual(0);
      expect(at - changedAt.getTime()).toBeLessThan(1000);
    } finally {
      await listener.end();
    }
  });
});
