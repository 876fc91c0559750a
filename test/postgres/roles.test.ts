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
});
