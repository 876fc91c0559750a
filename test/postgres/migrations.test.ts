// postgres/jobs/migrate.sh against a real PostgreSQL 15: up, down, drift refusal,
// idempotence, atomicity, and the backup taken before migrating data.
import { createHash } from "node:crypto";
import { appendFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MIGRATIONS_DIR, runJob, startPostgres, type PgCluster } from "../support/postgres";

let pg: PgCluster;
let scratch: string;
const migrationsDir = MIGRATIONS_DIR;
/** The repository's migrations ("0001_refresh_token_families", ...), in version order, and the tables they create. */
const MIGRATIONS = readdirSync(migrationsDir)
  .filter((f) => f.endsWith(".up.sql"))
  .map((f) => f.replace(/\.up\.sql$/, ""))
  .sort();
const ALL = MIGRATIONS.join(",");
const TABLES = "feature_flags,refresh_token_families,refresh_tokens,rollback_log,schema_migrations";
/** A test's own migration, newer than every repository one. */
const EXTRA = "0100";

beforeAll(async () => {
  pg = await startPostgres();
  scratch = mkdtempSync(join(tmpdir(), "authwatch-migrate-test-"));
});

afterAll(async () => {
  await pg?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

let databases = 0;
async function freshDatabase(): Promise<string> {
  const name = `migrate_${++databases}`;
  await pg.createDatabase(name);
  return name;
}

/** A private copy of the repository's migrations that a test may edit. */
function migrationsCopy(): string {
  const dir = mkdtempSync(join(scratch, "migrations-"));
  cpSync(migrationsDir, dir, { recursive: true });
  return dir;
}

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

async function appTables(db: string): Promise<string> {
  return pg.sql(
    `SELECT coalesce(string_agg(tablename, ',' ORDER BY tablename), '') FROM pg_tables WHERE schemaname = 'public'`,
    db,
  );
}

async function ledger(db: string): Promise<string> {
  return pg.sql(`SELECT coalesce(string_agg(version || '_' || name, ',' ORDER BY version), '') FROM schema_migrations`, db);
}

describe("migrate.sh", () => {
  it("applies every migration, goes down to zero, and up again", async () => {
    const db = await freshDatabase();
    // 0003 seeds the feature flags: from then on the database holds data (the backup is tested below).
    const env = { DATABASE_URL: pg.url(db), MIGRATE_SKIP_BACKUP: "true" };

    const up = await runJob("migrate.sh", env);
    expect(up.code).toBe(0);
    for (const m of MIGRATIONS) expect(up.stderr).toContain(`up: ${m}.up.sql`);
    expect(await appTables(db)).toBe(TABLES);
    expect(await ledger(db)).toBe(ALL);
    expect(await pg.sql(`SELECT checksum FROM schema_migrations WHERE version = '0002'`, db)).toBe(
      sha256(join(migrationsDir, "0002_refresh_tokens.up.sql")),
    );

    const down1 = await runJob("migrate.sh", env, ["down", "1"]);
    expect(down1.code).toBe(0);
    expect(await appTables(db)).toBe("feature_flags,refresh_token_families,refresh_tokens,schema_migrations");
    expect(await ledger(db)).toBe(MIGRATIONS.slice(0, -1).join(","));

    const status = await runJob("migrate.sh", env, ["status"]);
    expect(status.code).toBe(0);
    expect(status.stdout).toBe(MIGRATIONS.map((m, i) => `${m}\t${i < MIGRATIONS.length - 1 ? "applied" : "pending"}\n`).join(""));

    const down = await runJob("migrate.sh", env, ["down", "all"]);
    expect(down.code).toBe(0);
    expect(await appTables(db)).toBe("schema_migrations");
    expect(await ledger(db)).toBe("");

    const tooFar = await runJob("migrate.sh", env, ["down", "1"]);
    expect(tooFar.code).toBe(1);
    expect(tooFar.stderr).toContain("only 0 migrations are applied");

    const again = await runJob("migrate.sh", env);
    expect(again.code).toBe(0);
    expect(await appTables(db)).toBe(TABLES);
    expect(await ledger(db)).toBe(ALL);
  });

  it("is a no-op when nothing is pending", async () => {
    const db = await freshDatabase();
    const env = { DATABASE_URL: pg.url(db) };
    expect((await runJob("migrate.sh", env)).code).toBe(0);
    const before = await pg.sql(`SELECT string_agg(version || applied_at, ',' ORDER BY version) FROM schema_migrations`, db);
    const second = await runJob("migrate.sh", env);
    expect(second.code).toBe(0);
    expect(second.stderr).toContain(`nothing to do: all ${MIGRATIONS.length} migrations are applied`);
    expect(await pg.sql(`SELECT string_agg(version || applied_at, ',' ORDER BY version) FROM schema_migrations`, db)).toBe(before);
  });

  it("refuses to run when an applied migration's file changed, and changes nothing", async () => {
    const db = await freshDatabase();
    const dir = migrationsCopy();
    const env = { DATABASE_URL: pg.url(db), MIGRATIONS_DIR: dir };
    expect((await runJob("migrate.sh", env)).code).toBe(0);

    appendFileSync(join(dir, "0001_refresh_token_families.up.sql"), "\n-- an innocent-looking edit\n");
    writeFileSync(join(dir, `${EXTRA}_extra.up.sql`), "CREATE TABLE extra (id int);\n");
    writeFileSync(join(dir, `${EXTRA}_extra.down.sql`), "DROP TABLE extra;\n");
    for (const args of [[], ["down", "1"], ["status"]]) {
      const refused = await runJob("migrate.sh", env, args);
      expect(refused.code, args.join(" ")).toBe(1);
      expect(refused.stderr).toMatch(/refusing to run: 0001_refresh_token_families\.up\.sql changed since it was applied/);
    }
    expect(await appTables(db)).toBe(TABLES);
    expect(await ledger(db)).toBe(ALL);
  });

  it("refuses an applied migration whose file is gone, and a pending one older than the applied ones", async () => {
    const db = await freshDatabase();
    const dir = migrationsCopy();
    const env = { DATABASE_URL: pg.url(db), MIGRATIONS_DIR: dir, MIGRATE_SKIP_BACKUP: "true" };
    const last = MIGRATIONS.at(-1)!;
    rmSync(join(dir, `${last}.up.sql`));
    rmSync(join(dir, `${last}.down.sql`));
    writeFileSync(join(dir, `${EXTRA}_extra.up.sql`), "CREATE TABLE extra (id int);\n");
    writeFileSync(join(dir, `${EXTRA}_extra.down.sql`), "DROP TABLE extra;\n");
    expect((await runJob("migrate.sh", env)).code).toBe(0);
    expect(await ledger(db)).toBe([...MIGRATIONS.slice(0, -1), `${EXTRA}_extra`].join(","));

    cpSync(join(migrationsDir, `${last}.up.sql`), join(dir, `${last}.up.sql`));
    cpSync(join(migrationsDir, `${last}.down.sql`), join(dir, `${last}.down.sql`));
    const stale = await runJob("migrate.sh", env);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toContain(`pending migration ${last} is older than applied ${EXTRA}`);

    rmSync(join(dir, `${EXTRA}_extra.up.sql`));
    const gone = await runJob("migrate.sh", env);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain(`${EXTRA}_extra.down.sql has no ${EXTRA}_extra.up.sql`);
    rmSync(join(dir, `${EXTRA}_extra.down.sql`));
    const missing = await runJob("migrate.sh", env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`applied migration ${EXTRA}_extra has no file any more`);
    expect(await appTables(db)).toBe("extra,feature_flags,refresh_token_families,refresh_tokens,schema_migrations");
  });

  it("runs each migration in its own transaction: a failing one leaves no trace, earlier ones stay", async () => {
    const db = await freshDatabase();
    const dir = migrationsCopy();
    writeFileSync(join(dir, `${EXTRA}_half.up.sql`), "CREATE TABLE half_done (id int);\nSELECT no_such_function();\n");
    writeFileSync(join(dir, `${EXTRA}_half.down.sql`), "DROP TABLE half_done;\n");
    const result = await runJob("migrate.sh", { DATABASE_URL: pg.url(db), MIGRATIONS_DIR: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`${EXTRA}_half.up.sql failed and was rolled back`);
    expect(await appTables(db)).toBe(TABLES);
    expect(await ledger(db)).toBe(ALL);
  });
});

describe("migrate.sh backup before migration", () => {
  /** A migrated database holding 3 families and 5 tokens, plus a pending migration of its own. */
  async function databaseWithData(): Promise<{ db: string; dir: string; dest: string }> {
    const db = await freshDatabase();
    const dir = migrationsCopy();
    expect((await runJob("migrate.sh", { DATABASE_URL: pg.url(db), MIGRATIONS_DIR: dir })).code).toBe(0);
    await pg.sql(
      `INSERT INTO refresh_token_families (family_id, user_id, device_id)
       SELECT md5('f' || i)::uuid, i, gen_random_uuid() FROM generate_series(1, 3) i;
       INSERT INTO refresh_tokens (jti, family_id, user_id, device_id, token_hash, status, expires_at)
       SELECT gen_random_uuid(), md5('f' || (i % 3 + 1))::uuid, i, gen_random_uuid(), 'h' || i,
              CASE WHEN i <= 3 THEN 'active' ELSE 'rotated' END, now() + interval '1 day'
         FROM generate_series(1, 5) i;`,
      db,
    );
    writeFileSync(join(dir, `${EXTRA}_last_used.up.sql`), "ALTER TABLE refresh_tokens ADD COLUMN last_used_at timestamptz;\n");
    writeFileSync(join(dir, `${EXTRA}_last_used.down.sql`), "ALTER TABLE refresh_tokens DROP COLUMN last_used_at;\n");
    return { db, dir, dest: mkdtempSync(join(scratch, "backups-")) };
  }

  const manifestOf = (dest: string) => {
    const manifests = readdirSync(dest).filter((f) => f.endsWith(".manifest"));
    expect(manifests).toHaveLength(1);
    return readFileSync(join(dest, manifests[0]!), "utf8");
  };

  it("takes a backup first when the database holds data", async () => {
    const { db, dir, dest } = await databaseWithData();
    const result = await runJob("migrate.sh", {
      DATABASE_URL: pg.url(db),
      MIGRATIONS_DIR: dir,
      BACKUP_DESTINATION: `file://${dest}`,
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("the database holds data: backing up before migrating");
    const files = readdirSync(dest).sort();
    expect(files).toHaveLength(2);
    expect(files[0]).toMatch(new RegExp(`^${db}-\\d{8}T\\d{6}Z\\.dump$`));
    // The backup is of the database before the new migration: its ledger has the repository's rows.
    const manifest = manifestOf(dest);
    expect(manifest).toContain("table\tpublic.refresh_tokens\t5\n");
    expect(manifest).toContain("table\tpublic.refresh_token_families\t3\n");
    expect(manifest).toContain(`table\tpublic.schema_migrations\t${MIGRATIONS.length}\n`);
    expect(await ledger(db)).toBe(`${ALL},${EXTRA}_last_used`);

    // Going down with data backs up too.
    const down = await runJob("migrate.sh", { DATABASE_URL: pg.url(db), MIGRATIONS_DIR: dir, BACKUP_DESTINATION: `file://${dest}` }, [
      "down",
      "1",
    ]);
    expect(down.code).toBe(0);
    expect(readdirSync(dest).filter((f) => f.endsWith(".dump"))).toHaveLength(2);
  });

  it("refuses to migrate data without BACKUP_DESTINATION, unless MIGRATE_SKIP_BACKUP=true", async () => {
    const { db, dir } = await databaseWithData();
    const refused = await runJob("migrate.sh", { DATABASE_URL: pg.url(db), MIGRATIONS_DIR: dir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("set BACKUP_DESTINATION");
    expect(await ledger(db)).toBe(ALL);

    const skipped = await runJob("migrate.sh", { DATABASE_URL: pg.url(db), MIGRATIONS_DIR: dir, MIGRATE_SKIP_BACKUP: "true" });
    expect(skipped.code).toBe(0);
    expect(skipped.stderr).toContain("migrating WITHOUT a backup");
    expect(await ledger(db)).toBe(`${ALL},${EXTRA}_last_used`);
  });

  it("does not migrate when the backup fails", async () => {
    const { db, dir } = await databaseWithData();
    const blocker = join(scratch, `not-a-directory-${db}`);
    writeFileSync(blocker, "");
    const result = await runJob("migrate.sh", {
      DATABASE_URL: pg.url(db),
      MIGRATIONS_DIR: dir,
      BACKUP_DESTINATION: `file://${blocker}/backups`,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("the backup before migrating failed");
    expect(await ledger(db)).toBe(ALL);
  });

  it("takes no backup of a database without data", async () => {
    const db = await freshDatabase();
    const dest = mkdtempSync(join(scratch, "backups-"));
    const result = await runJob("migrate.sh", { DATABASE_URL: pg.url(db), BACKUP_DESTINATION: `file://${dest}` });
    expect(result.code).toBe(0);
    expect(result.stderr).not.toContain("backing up");
    expect(readdirSync(dest)).toEqual([]);
  });
});
