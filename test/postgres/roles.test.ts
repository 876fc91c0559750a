// postgres/roles.sql on a real PostgreSQL 15: one role per job, each with the
// privileges its job uses and no more (issue 13 item 3). Every role logs in
// with a password (scram-sha-256), as in production.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { jobEnv, PG_BIN, REPO_ROOT, run, runJob, startPostgres, type PgCluster } from "../support/postgres";

let pg: PgCluster;
let scratch: string;
const db = "auth";
const ROLES_SQL = join(REPO_ROOT, "postgres", "roles.sql");
// Role names as roles.sql defaults them; passwords as the administrator's environment gives them.
const ROLES = {
  migrate: { name: "authwatch_migrate", env: "AUTHWATCH_MIGRATE_PASSWORD", password: "mig-pw-1" },
  backup: { name: "authwatch_backup", env: "AUTHWATCH_BACKUP_PASSWORD", password: "bak-pw-2" },
  restoreVerify: { name: "authwatch_restore_verify", env: "AUTHWATCH_RESTORE_VERIFY_PASSWORD", password: "rv-pw-3" },
  cleanup: { name: "authwatch_token_cleanup", env: "AUTHWATCH_TOKEN_CLEANUP_PASSWORD", password: "tc-pw-4" },
  service: { name: "authwatch_service", env: "AUTHWATCH_SERVICE_PASSWORD", password: "svc-pw-5" },
  rollback: { name: "authwatch_rollback", env: "AUTHWATCH_ROLLBACK_PASSWORD", password: "rb-pw-6" },
  grafana: { name: "authwatch_grafana", env: "AUTHWATCH_GRAFANA_PASSWORD", password: "gf-pw-7" },
  rollbackDrill: { name: "authwatch_rollback_drill", env: "AUTHWATCH_ROLLBACK_DRILL_PASSWORD", password: "rd-pw-8" },
} as const;
type Job = keyof typeof ROLES;
const url = (job: Job, database = db) => pg.urlAs(ROLES[job].name, ROLES[job].password, database);

/** roles.sql as the administrator runs it: connected to the database, passwords from the environment. */
async function applyRoles(): Promise<void> {
  const env: Record<string, string> = {};
  for (const r of Object.values(ROLES)) env[r.env] = r.password;
  const result = await run(join(PG_BIN, "psql"), ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", pg.url(db), "-f", ROLES_SQL], {
    env: jobEnv(env),
  });
  expect(result.code, result.stderr).toBe(0);
}

/** One statement as a job's role; resolves to psql's result. */
const as = (job: Job, sql: string, database = db) =>
  run(join(PG_BIN, "psql"), ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", url(job, database), "-c", sql]);

/** `sql` as `job`'s role fails for want of a privilege (`reasons`: what PostgreSQL may say). */
async function expectRefused(job: Job, sql: string, reasons = /permission denied|must be owner/): Promise<void> {
  const result = await as(job, sql);
  expect(result.code).not.toBe(0);
  expect(result.stderr).toMatch(reasons);
}

beforeAll(async () => {
  pg = await startPostgres();
  scratch = mkdtempSync(join(tmpdir(), "authwatch-roles-test-"));
  await pg.createDatabase(db);
  await pg.requirePassword(...Object.values(ROLES).map((r) => r.name));
  // Before the first migration (the schema owner) and again after it (grants on the tables it created).
  await applyRoles();
  const migrated = await runJob("migrate.sh", { DATABASE_URL: url("migrate") });
  expect(migrated.code, migrated.stderr).toBe(0);
  await applyRoles();
  await pg.sql(
    `INSERT INTO refresh_token_families (family_id, user_id, device_id, created_at, revoked_at)
     SELECT gen_random_uuid(), i, gen_random_uuid(), now() - interval '30 days', now() - interval '20 days' FROM generate_series(1, 10) i;
     INSERT INTO refresh_tokens (jti, family_id, user_id, device_id, token_hash, status, expires_at, created_at)
     SELECT gen_random_uuid(), family_id, user_id, device_id, md5(family_id::text), 'revoked', now() - interval '20 days', now() - interval '30 days'
       FROM refresh_token_families;`,
    db,
  );
});

afterAll(async () => {
  await pg?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe("roles.sql", () => {
  it("holds no secret: passwords come from the environment", () => {
    const sql = readFileSync(ROLES_SQL, "utf8");
    for (const r of Object.values(ROLES)) {
      expect(sql).not.toContain(r.password);
      expect(sql).toContain(r.env);
    }
  });

  it("is idempotent, and the migrate role owns the schema objects", async () => {
    await applyRoles();
    expect(await pg.sql(`SELECT string_agg(DISTINCT tableowner, ',') FROM pg_tables WHERE schemaname = 'public'`, db)).toBe(ROLES.migrate.name);
  });

  it("every job runs green under its own role", async () => {
    const dest = mkdtempSync(join(scratch, "backups-"));
    const common = { BACKUP_DESTINATION: `file://${dest}` };
    const migrate = await runJob("migrate.sh", { ...common, DATABASE_URL: url("migrate") });
    expect(migrate.code, migrate.stderr).toBe(0);
    // Both formats; the directory's 2 pg_dump and pg_restore workers connect as the same roles.
    for (const format of [{ BACKUP_FORMAT: "custom" }, { BACKUP_FORMAT: "directory", BACKUP_JOBS: "2", RESTORE_VERIFY_JOBS: "2" }]) {
      const backup = await runJob("backup.sh", { ...common, ...format, DATABASE_URL: url("backup") });
      expect(backup.code, backup.stderr).toBe(0);
      const verify = await runJob("restore-verify.sh", {
        ...common,
        ...format,
        DATABASE_URL: url("restoreVerify"),
        RESTORE_VERIFY_TARGET_URL: url("restoreVerify", "postgres"),
      });
      expect(verify.code, verify.stderr).toBe(0);
      expect(verify.stderr).toContain("0 mismatched");
      if (format.BACKUP_FORMAT === "directory") expect(verify.stderr).toMatch(/restored \S+\.dir\/ in [0-9.]+s \(pg_restore --jobs=2\)/);
    }
    const cleanup = await runJob("token-cleanup.sh", { DATABASE_URL: url("cleanup") });
    expect(cleanup.code, cleanup.stderr).toBe(0);
    expect(cleanup.stderr).toContain("deleted 10 tokens and 10 families");
  });

  const writes = [
    `INSERT INTO refresh_token_families (family_id, user_id, device_id) VALUES (gen_random_uuid(), 1, gen_random_uuid())`,
    `UPDATE refresh_tokens SET status = 'revoked'`,
    `UPDATE refresh_token_families SET revoked_at = now()`,
    `DELETE FROM refresh_tokens`,
    `DELETE FROM schema_migrations`,
    `TRUNCATE refresh_tokens CASCADE`,
    `CREATE TABLE intruder (id int)`,
    `DROP TABLE refresh_tokens CASCADE`,
  ];

  it.each(writes)("the backup role cannot write: %s", (sql) =>
    expectRefused("backup", sql, /permission denied|read-only transaction|must be owner/),
  );

  it("the backup role reads every table", async () => {
    for (const table of ["refresh_tokens", "refresh_token_families", "schema_migrations"]) {
      expect((await as("backup", `SELECT count(*) >= 0 FROM ${table}`)).stdout.trim()).toBe("t");
    }
  });

  it.each(writes.filter((sql) => !sql.startsWith("DELETE FROM refresh_tokens")))("the token-cleanup role cannot: %s", (sql) =>
    expectRefused("cleanup", sql),
  );

  it("the token-cleanup role can delete from the tables it cleans, and read nothing else", async () => {
    const deleted = await as("cleanup", `BEGIN; DELETE FROM refresh_tokens WHERE false; DELETE FROM refresh_token_families WHERE false; ROLLBACK;`);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect((await as("cleanup", `SELECT count(*) FROM schema_migrations`)).stderr).toMatch(/permission denied/);
  });

  it.each([...writes, `SELECT count(*) FROM refresh_tokens`])("the restore-verify role cannot touch the production database: %s", (sql) =>
    expectRefused("restoreVerify", sql),
  );

  it("only restore-verify may create databases; only migrate may change the schema; nobody may create roles", async () => {
    for (const job of ["migrate", "backup", "cleanup"] as Job[]) {
      expect((await as(job, `CREATE DATABASE nope_${job}`, "postgres")).stderr, job).toMatch(/permission denied|read-only transaction/);
    }
    for (const job of Object.keys(ROLES) as Job[]) {
      expect((await as(job, `CREATE ROLE nope_${job}`, "postgres")).stderr, job).toMatch(/permission denied|read-only transaction/);
    }
    const ddl = await as("migrate", `BEGIN; CREATE TABLE allowed (id int); ROLLBACK;`);
    expect(ddl.code, ddl.stderr).toBe(0);
  });

  it("the service role reads the flags, and nothing else", async () => {
    expect((await as("service", `SELECT count(*) FROM feature_flags`)).stdout.trim()).toMatch(/^[1-9]\d*$/);
    const listen = await as("service", `LISTEN feature_flags`);
    expect(listen.code, listen.stderr).toBe(0);
    for (const sql of [
      ...writes,
      `UPDATE feature_flags SET value = 'false' WHERE name = 'auth_enabled'`,
      `INSERT INTO rollback_log (reason, actor, kind, outcome, actions, duration) VALUES ('r', 'a', 'rollback', 'completed', '[]', '0')`,
      `SELECT count(*) FROM rollback_log`,
      `SELECT count(*) FROM refresh_tokens`,
      `SELECT count(*) FROM refresh_token_families`,
    ]) {
      await expectRefused("service", sql);
    }
  });

  it("the rollback role changes flags, appends to rollback_log and revokes token families", async () => {
    const allowed = await as(
      "rollback",
      `BEGIN;
       UPDATE feature_flags SET value = 'true', updated_by = 'op', reason = 'test' WHERE name = 'auth_bypass';
       INSERT INTO feature_flags (name, value, reason) VALUES ('auth_enabled', 'false', 'test')
         ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value, reason = EXCLUDED.reason;
       SELECT name FROM feature_flags WHERE name = 'auth_bypass' FOR UPDATE;
       INSERT INTO rollback_log (reason, actor, kind, outcome, actions, duration) VALUES ('r', 'a', 'rollback', 'completed', '[]', '0');
       SELECT count(*) FROM rollback_log;
       UPDATE refresh_token_families SET revoked_at = now() WHERE revoked_at IS NULL;
       SELECT count(*) FROM refresh_token_families WHERE revoked_at IS NULL;
       ROLLBACK;`,
    );
    expect(allowed.code, allowed.stderr).toBe(0);
  });

  it.each([
    ...writes.filter((sql) => !sql.startsWith("UPDATE refresh_token_families SET revoked_at")),
    `DELETE FROM feature_flags`,
    `TRUNCATE feature_flags`,
    `UPDATE rollback_log SET reason = 'rewritten'`,
    `DELETE FROM rollback_log`,
    `SELECT user_id FROM refresh_token_families`,
    `UPDATE refresh_token_families SET revoked_at = NULL WHERE user_id = 1`,
    `DELETE FROM refresh_token_families`,
    `SELECT count(*) FROM refresh_tokens`,
    `SELECT count(*) FROM schema_migrations`,
    `ALTER TABLE feature_flags DISABLE TRIGGER feature_flags_notify`,
  ])("the rollback role cannot: %s", (sql) => expectRefused("rollback", sql));

  it("the grafana role reads rollback_log (the dashboards' rollback annotations), and nothing else", async () => {
    const read = await as("grafana", `SELECT count(*) FROM rollback_log`);
    expect(read.code, read.stderr).toBe(0);
    for (const sql of [
      ...writes,
      `INSERT INTO rollback_log (reason, actor, kind, outcome, actions, duration) VALUES ('r', 'a', 'rollback', 'completed', '[]', '0')`,
      `UPDATE rollback_log SET reason = 'rewritten'`,
      `SELECT count(*) FROM feature_flags`,
      `SELECT count(*) FROM refresh_tokens`,
      `SELECT count(*) FROM refresh_token_families`,
      `SELECT count(*) FROM schema_migrations`,
    ]) {
      await expectRefused("grafana", sql);
    }
  });

  it("the rollback-drill role reads the flags and rollback_log, and may ask which grants the rollback role holds", async () => {
    const read = await as(
      "rollbackDrill",
      `SELECT count(*) FROM feature_flags; SELECT count(*) FROM rollback_log;
       SELECT has_table_privilege('${ROLES.rollback.name}', 'public.feature_flags', 'UPDATE');`,
    );
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout.trim().split("\n").at(-1)).toBe("t");
  });

  it.each([
    ...writes,
    `UPDATE feature_flags SET value = 'false' WHERE name = 'auth_enabled'`,
    `INSERT INTO feature_flags (name, value, reason) VALUES ('auth_bypass', 'true', 'drill')`,
    `DELETE FROM feature_flags`,
    `INSERT INTO rollback_log (reason, actor, kind, outcome, actions, duration) VALUES ('r', 'a', 'rollback', 'completed', '[]', '0')`,
    `UPDATE rollback_log SET reason = 'rewritten'`,
    `SELECT revoked_at FROM refresh_token_families`,
    `SELECT count(*) FROM refresh_tokens`,
    `SELECT count(*) FROM schema_migrations`,
  ])("the rollback-drill role cannot, even in a read-write session: %s", async (sql) => {
    // Its sessions default to read-only (below); the privileges must refuse on their own.
    const readWrite = `${url("rollbackDrill")}?options=${encodeURIComponent("-c default_transaction_read_only=off")}`;
    const result = await run(join(PG_BIN, "psql"), ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-d", readWrite, "-c", sql]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/permission denied|must be owner/);
  });

  it("the rollback-drill role's transactions are read-only by default", async () => {
    expect((await as("rollbackDrill", `SHOW default_transaction_read_only`)).stdout.trim()).toBe("on");
  });
});
