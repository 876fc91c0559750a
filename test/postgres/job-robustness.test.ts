// The jobs under the failures a Kubernetes Job meets (issue 13 item 7), on a
// real PostgreSQL 15 and Pushgateway: SIGTERM at the deadline, a dump left
// behind by SIGKILL, and a migration with its own transaction control.
import { spawn } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { JOBS_DIR, jobEnv, MIGRATIONS_DIR, PG_BIN, runJob, type JobScript } from "../support/postgres";
import { useJobBed } from "../support/job-bed";

const db = "auth";
const bed = useJobBed(db, "robust-test");

beforeAll(async () => {
  await bed.pg.sql(`INSERT INTO refresh_token_families (family_id, user_id, device_id) SELECT gen_random_uuid(), i, gen_random_uuid() FROM generate_series(1, 50) i`, db);
});

const dirFor = (prefix: string) => mkdtempSync(join(bed.scratch, `${prefix}-`));
/** Whether `pid` is still running (a zombie waiting to be reaped is not). */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
};
async function stops(pid: number, withinMs: number): Promise<boolean> {
  for (const end = Date.now() + withinMs; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) {
    if (!alive(pid)) return true;
  }
  return !alive(pid);
}

/**
 * A stand-in for `tool` that records its pid and then hangs (exec sleep, so
 * the pid is the sleeping process), as a pg_dump stuck on a slow network would.
 */
function hangingTool(tool: string): { path: string; pidFile: string } {
  const dir = dirFor("hang");
  const pidFile = join(dir, `${tool}.pid`);
  writeFileSync(join(dir, tool), `#!/bin/sh\necho $$ >'${pidFile}'\nexec sleep 60\n`);
  chmodSync(join(dir, tool), 0o755);
  return { path: `${dir}:${PG_BIN}:${process.env.PATH}`, pidFile };
}

describe("SIGTERM (a Job's deadline) stops the job promptly and reports the failure", () => {
  it.each([
    ["backup.sh", "pg_dump", "backup_last_failure_timestamp_seconds", { job: "pg-backup", database: db }],
    ["restore-verify.sh", "pg_restore", "restore_verify_last_failure_timestamp_seconds", { job: "restore-verify", database: db }],
    ["token-cleanup.sh", "psql", "refresh_token_cleanup_last_failure_timestamp_seconds", { job: "token-cleanup" }],
  ] as [JobScript, string, string, Record<string, string>][])("%s, while %s runs", async (script, tool, failureMetric, labels) => {
    const dest = dirFor("term");
    if (script === "restore-verify.sh") {
      const stored = await runJob("backup.sh", { DATABASE_URL: bed.pg.url(db), BACKUP_DESTINATION: `file://${dest}` });
      expect(stored.code, stored.stderr).toBe(0);
    }
    const hang = hangingTool(tool);
    const env = jobEnv({
      DATABASE_URL: bed.pg.url(db),
      BACKUP_DESTINATION: `file://${dest}`,
      RESTORE_VERIFY_TARGET_URL: bed.pg.url("postgres"),
      PUSHGATEWAY_URL: bed.gateway.url,
      PATH: hang.path,
    });
    const child = spawn("sh", [join(JOBS_DIR, script)], { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr!.on("data", (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
    for (let i = 0; !existsSync(hang.pidFile) || readFileSync(hang.pidFile, "utf8").trim() === ""; i++) {
      expect(i, stderr).toBeLessThan(100);
      await new Promise((r) => setTimeout(r, 100));
    }
    const toolPid = Number(readFileSync(hang.pidFile, "utf8").trim());
    const termAt = Date.now() / 1000;
    child.kill("SIGTERM");
    const code = await Promise.race([exited, new Promise<"hung">((r) => setTimeout(() => r("hung"), 5000))]);
    const stillRunning = !(await stops(toolPid, 1000));
    if (stillRunning) process.kill(toolPid, "SIGKILL");
    if (code === "hung") {
      child.kill("SIGKILL");
      await exited;
    }
    expect(code, stderr).toBe(143);
    expect(stillRunning).toBe(false);
    expect(await bed.gateway.value(failureMetric, labels)).toBeGreaterThanOrEqual(Math.floor(termAt));
    expect(readdirSync(dest).filter((f) => f.endsWith(".partial"))).toEqual([]);
    expect(await bed.pg.sql(`SELECT count(*) FROM pg_database WHERE datname LIKE '%restore_verify%'`)).toBe("0");
  });
});

describe("backup.sh after a SIGKILL", () => {
  it("removes this database's stale .partial files from a file:// destination", async () => {
    const dest = dirFor("partial");
    const stale = [`.${db}-20200101T000000Z.dump.partial`, `.${db}-20200101T000000Z.manifest.partial`];
    const other = `.other-20200101T000000Z.dump.partial`;
    for (const f of [...stale, other]) writeFileSync(join(dest, f), "half a dump");
    const result = await runJob("backup.sh", { DATABASE_URL: bed.pg.url(db), BACKUP_DESTINATION: `file://${dest}` });
    expect(result.code, result.stderr).toBe(0);
    const left = readdirSync(dest);
    for (const f of stale) expect(left).not.toContain(f);
    expect(left).toContain(other);
    expect(result.stderr).toContain(`removed stale ${stale[0]}`);
  });
});

describe("migrate.sh and transaction control in a migration", () => {
  let n = 0;
  async function attempt(sql: string) {
    const dir = mkdtempSync(join(bed.scratch, "migrations-"));
    cpSync(MIGRATIONS_DIR, dir, { recursive: true });
    writeFileSync(join(dir, "0099_extra.up.sql"), sql);
    writeFileSync(join(dir, "0099_extra.down.sql"), "DROP TABLE IF EXISTS half;\n");
    const name = `txn_${++n}`;
    await bed.pg.createDatabase(name);
    const result = await runJob("migrate.sh", { DATABASE_URL: bed.pg.url(name), MIGRATIONS_DIR: dir });
    const tables = await bed.pg.sql(`SELECT coalesce(string_agg(tablename, ',' ORDER BY tablename), '') FROM pg_tables WHERE schemaname = 'public'`, name);
    return { result, tables };
  }

  it.each([
    ["COMMIT", "CREATE TABLE half (id int);\nCOMMIT;\nCREATE TABLE broken (;\n"],
    ["BEGIN", "begin;\nCREATE TABLE half (id int);\n"],
    ["ROLLBACK", "CREATE TABLE half (id int);\n  RollBack ;\n"],
    ["START TRANSACTION", "START TRANSACTION ISOLATION LEVEL SERIALIZABLE;\nCREATE TABLE half (id int);\n"],
    ["END", "CREATE TABLE half (id int);\nEND;\n"],
  ])("refuses a migration containing %s before applying anything, naming the file", async (word, sql) => {
    const { result, tables } = await attempt(sql);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("0099_extra.up.sql");
    expect(result.stderr).toContain(`transaction control (${word}`);
    expect(tables).toBe("");
  });

  it("accepts BEGIN/COMMIT inside strings, comments and function bodies", async () => {
    const { result, tables } = await attempt(
      [
        "-- COMMIT; is only a comment",
        "/* ROLLBACK; neither */",
        "CREATE TABLE half (note text DEFAULT 'COMMIT; BEGIN;');",
        "CREATE FUNCTION half_f() RETURNS int LANGUAGE plpgsql AS $fn$ BEGIN RETURN 1; END; $fn$;",
        "DO $$ BEGIN PERFORM 1; END $$;",
        "",
      ].join("\n"),
    );
    expect(result.code, result.stderr).toBe(0);
    expect(tables).toContain("half");
  });
});
