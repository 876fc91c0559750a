// backup.sh and restore-verify.sh against a real PostgreSQL 15 and a real
// Pushgateway: round trip, consistency under concurrent writes, corruption
// and count mismatches detected, retention, and what is (not) pushed.
// s3:// destinations: backup-s3.test.ts (a real S3 API).
import { createHash } from "node:crypto";
import {
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../support/servers";
import { MIGRATIONS_DIR, PG_BIN, run, runJob } from "../support/postgres";
import { useJobBed } from "../support/job-bed";

const db = "auth";
const bed = useJobBed(db, "backup-test");

// Realistic data: families in use, revoked and expired; tokens in every status.
const FIXTURE = `
INSERT INTO refresh_token_families (family_id, user_id, device_id, created_at, revoked_at)
SELECT md5('family' || i)::uuid, 1000 + i % 37, md5('device' || i)::uuid,
       now() - (i % 40) * interval '1 day',
       CASE WHEN i % 5 = 0 THEN now() - (i % 9) * interval '1 day' END
  FROM generate_series(1, 200) i;
-- per family: 3 rotated tokens, then one active (in-use families) or revoked (revoked families)
INSERT INTO refresh_tokens (jti, family_id, user_id, device_id, token_hash, status, expires_at, created_at)
SELECT md5('token' || f || '-' || g)::uuid, md5('family' || f)::uuid, 1000 + f % 37, md5('device' || f)::uuid,
       encode(sha256(('secret' || f || '-' || g)::bytea), 'hex'),
       CASE WHEN g < 4 THEN 'rotated' WHEN f % 5 = 0 THEN 'revoked' ELSE 'active' END,
       now() - (f % 40) * interval '1 day' + (g * 7) * interval '1 day',
       now() - (f % 40) * interval '1 day' + g * interval '1 hour'
  FROM generate_series(1, 200) f, generate_series(1, 4) g;
`;
const FAMILIES = 200;
const TOKENS = 800;

beforeAll(async () => {
  await bed.pg.sql(FIXTURE, db);
});

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
const nowSeconds = () => Date.now() / 1000;
const newDir = (prefix: string) => mkdtempSync(join(bed.scratch, `${prefix}-`));

function backupSets(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".manifest"))
    .map((f) => f.slice(0, -".manifest".length))
    .sort();
}

function manifestOf(dir: string, name: string): Map<string, string> {
  const entries = new Map<string, string>();
  for (const line of readFileSync(join(dir, `${name}.manifest`), "utf8").trim().split("\n")) {
    const [key, ...rest] = line.split("\t");
    entries.set(key === "table" ? `table ${rest[0]}` : key!, key === "table" ? rest[1]! : rest.join("\t"));
  }
  return entries;
}

function rewriteManifest(dir: string, name: string, changes: Record<string, string>): void {
  const path = join(dir, `${name}.manifest`);
  const lines = readFileSync(path, "utf8")
    .trimEnd()
    .split("\n")
    .map((line) => {
      const [key] = line.split("\t");
      return key !== undefined && key in changes ? `${key}\t${changes[key]}` : line;
    });
  writeFileSync(path, `${lines.join("\n")}\n`);
}

/** What both jobs need: the database, a file:// destination, the Pushgateway. */
const jobEnvFor = (dest: string) => ({
  DATABASE_URL: bed.pg.url(db),
  BACKUP_DESTINATION: `file://${dest}`,
  PUSHGATEWAY_URL: bed.gateway.url,
});
const backup = (dest: string, extra: Record<string, string> = {}) => runJob("backup.sh", { ...jobEnvFor(dest), ...extra });
const verify = (dest: string, extra: Record<string, string> = {}) =>
  runJob("restore-verify.sh", { ...jobEnvFor(dest), RESTORE_VERIFY_TARGET_URL: bed.pg.url("postgres"), ...extra });

const backupMetric = (name: string, database = db) => bed.gateway.value(name, { job: "pg-backup", database });
const verifyMetric = (name: string, database = db) => bed.gateway.value(name, { job: "restore-verify", database });

async function scratchDatabases(): Promise<string> {
  return bed.pg.sql(`SELECT coalesce(string_agg(datname, ','), '') FROM pg_database WHERE datname LIKE '%restore_verify%'`);
}

describe("backup and restore verification", () => {
  it("round trip: backup, manifest, pushed metrics, restore with 0 mismatched rows", async () => {
    const dest = newDir("roundtrip");
    const before = nowSeconds();
    const result = await backup(dest);
    const after = nowSeconds();
    expect(result.code, result.stderr).toBe(0);

    const [name] = backupSets(dest);
    expect(backupSets(dest)).toHaveLength(1);
    expect(readdirSync(dest).sort()).toEqual([`${name}.dump`, `${name}.manifest`]);
    const manifest = manifestOf(dest, name!);
    expect(manifest.get("authwatch-backup-manifest")).toBe("1");
    expect(manifest.get("database")).toBe(db);
    expect(manifest.get("dump")).toBe(`${name}.dump`);
    expect(manifest.get("dump_sha256")).toBe(sha256(join(dest, `${name}.dump`)));
    const size = statSync(join(dest, `${name}.dump`)).size;
    expect(manifest.get("dump_size_bytes")).toBe(String(size));
    expect(manifest.get("table public.refresh_token_families")).toBe(String(FAMILIES));
    expect(manifest.get("table public.refresh_tokens")).toBe(String(TOKENS));
    expect(manifest.get("table public.schema_migrations")).toBe(String(readdirSync(MIGRATIONS_DIR).filter((f) => f.endsWith(".up.sql")).length));
    // The dump is pg_dump's custom (compressed) format.
    expect(readFileSync(join(dest, `${name}.dump`)).subarray(0, 5).toString()).toBe("PGDMP");

    const ts = await backupMetric("backup_last_success_timestamp_seconds");
    expect(ts).toBeGreaterThanOrEqual(Math.floor(before));
    expect(ts).toBeLessThanOrEqual(after);
    expect(await backupMetric("backup_size_bytes")).toBe(size);
    const duration = await backupMetric("backup_duration_seconds");
    expect(duration).toBeGreaterThan(0);
    expect(duration).toBeLessThanOrEqual(after - before);

    const verifyStart = nowSeconds();
    const verified = await verify(dest);
    const verifyEnd = nowSeconds();
    expect(verified.code, verified.stderr).toBe(0);
    // Every table the migrations create, and every row: the test's tokens, the ledger, the seeded flags.
    const [tables, rows] = (
      await bed.pg.sql(
        `SELECT count(*), sum((xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I', tablename), false, true, '')))[1]::text::int)
           FROM pg_tables WHERE schemaname = 'public'`,
        db,
      )
    ).split("|");
    expect(Number(rows)).toBeGreaterThan(FAMILIES + TOKENS);
    expect(verified.stderr).toContain(`verified ${name}: ${tables} tables, ${rows} rows, 0 mismatched`);
    expect(await verifyMetric("restore_verify_rows_mismatched")).toBe(0);
    const verifiedAt = await verifyMetric("restore_verify_last_success_timestamp_seconds");
    expect(verifiedAt).toBeGreaterThanOrEqual(Math.floor(verifyStart));
    expect(verifiedAt).toBeLessThanOrEqual(verifyEnd);
    const rto = await verifyMetric("restore_verify_duration_seconds");
    expect(rto).toBeGreaterThan(0);
    expect(rto).toBeLessThan(verifyEnd - verifyStart);
    expect(await scratchDatabases()).toBe("");
  });

  it("restores the newest complete backup; a dump without its manifest is ignored", async () => {
    const dest = newDir("newest");
    expect((await backup(dest)).code).toBe(0);
    const [name] = backupSets(dest);
    // A newer dump with no manifest (an interrupted upload) must not be picked.
    writeFileSync(join(dest, `${db}-29991231T235959Z.dump`), "half an upload");
    const verified = await verify(dest);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stderr).toContain(`verifying ${name} from`);
  });

  it("counts rows in the dump's own snapshot while the database is being written", async () => {
    const dest = newDir("concurrent");
    const familiesBefore = Number(await bed.pg.sql("SELECT count(*) FROM refresh_token_families", db));
    // ~3 s of single-row inserts, each its own transaction, around the backup.
    const writer = run(join(PG_BIN, "psql"), ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", bed.pg.url(db)], {
      input: Array.from(
        { length: 300 },
        () =>
          `INSERT INTO refresh_token_families (family_id, user_id, device_id) VALUES (gen_random_uuid(), 1, gen_random_uuid());\nSELECT pg_sleep(0.01);\n`,
      ).join(""),
    });
    await new Promise((r) => setTimeout(r, 500));
    const result = await backup(dest);
    const written = await writer;
    expect(written.code, written.stderr).toBe(0);
    expect(result.code, result.stderr).toBe(0);
    const familiesAfter = Number(await bed.pg.sql("SELECT count(*) FROM refresh_token_families", db));
    expect(familiesAfter).toBe(familiesBefore + 300);

    const [name] = backupSets(dest);
    const inManifest = Number(manifestOf(dest, name!).get("table public.refresh_token_families"));
    // The backup really ran while rows were being added ...
    expect(inManifest).toBeGreaterThan(familiesBefore);
    expect(inManifest).toBeLessThan(familiesAfter);
    // ... and the dump holds exactly the rows the manifest counted.
    const verified = await verify(dest);
    expect(verified.code, verified.stderr).toBe(0);
    expect(await verifyMetric("restore_verify_rows_mismatched")).toBe(0);
  });

  it("detects a truncated dump by its checksum: fails, pushes every row as mismatched, no success", async () => {
    const dest = newDir("truncated");
    expect((await backup(dest)).code).toBe(0);
    const [name] = backupSets(dest);
    const dump = join(dest, `${name}.dump`);
    truncateSync(dump, Math.floor(statSync(dump).size / 2));
    const lastSuccess = await verifyMetric("restore_verify_last_success_timestamp_seconds");
    expect(lastSuccess).toBeGreaterThan(0);

    const failedAt = nowSeconds();
    const result = await verify(dest);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`${name}\\.dump is corrupt: \\d+ bytes, sha256 [0-9a-f]{64}; the manifest says`));
    const rows = [...manifestOf(dest, name!).entries()]
      .filter(([k]) => k.startsWith("table "))
      .reduce((sum, [, v]) => sum + Number(v), 0);
    expect(await verifyMetric("restore_verify_rows_mismatched")).toBe(rows);
    expect(await verifyMetric("restore_verify_last_success_timestamp_seconds")).toBe(lastSuccess);
    expect(await verifyMetric("restore_verify_last_failure_timestamp_seconds")).toBeGreaterThanOrEqual(Math.floor(failedAt));
    expect(await scratchDatabases()).toBe("");
  });

  it("detects a truncated dump even when its manifest checksum matches: pg_restore fails", async () => {
    const dest = newDir("truncated-resummed");
    expect((await backup(dest)).code).toBe(0);
    const [name] = backupSets(dest);
    const dump = join(dest, `${name}.dump`);
    truncateSync(dump, Math.floor(statSync(dump).size * 0.6));
    rewriteManifest(dest, name!, { dump_sha256: sha256(dump), dump_size_bytes: String(statSync(dump).size) });

    const result = await verify(dest);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`pg_restore of ${name}.dump failed`);
    expect(await verifyMetric("restore_verify_rows_mismatched")).toBeGreaterThan(0);
    expect(await scratchDatabases()).toBe("");
  });

  it("detects a dump that lacks a row its manifest counted (row deleted after the manifest was written)", async () => {
    // Backup A's manifest counts the token; it is then deleted and backup B
    // dumped without it. B's dump beside A's manifest (checksum and size
    // fixed up, as a dump that silently lost a row would look) must fail.
    const destA = newDir("mismatch-a");
    const destB = newDir("mismatch-b");
    expect((await backup(destA)).code).toBe(0);
    const [nameA] = backupSets(destA);
    await bed.pg.sql(`DELETE FROM refresh_tokens WHERE jti = md5('token7-1')::uuid`, db);
    expect((await backup(destB)).code).toBe(0);
    const [nameB] = backupSets(destB);

    const forged = newDir("mismatch");
    copyFileSync(join(destB, `${nameB}.dump`), join(forged, `${nameA}.dump`));
    copyFileSync(join(destA, `${nameA}.manifest`), join(forged, `${nameA}.manifest`));
    rewriteManifest(forged, nameA!, {
      dump_sha256: sha256(join(forged, `${nameA}.dump`)),
      dump_size_bytes: String(statSync(join(forged, `${nameA}.dump`)).size),
    });
    const tokensInA = Number(manifestOf(forged, nameA!).get("table public.refresh_tokens"));

    const lastSuccess = await verifyMetric("restore_verify_last_success_timestamp_seconds");
    const result = await verify(forged);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `mismatch: public.refresh_tokens: ${tokensInA} rows in the manifest, ${tokensInA - 1} restored`,
    );
    expect(result.stderr).toContain("1 rows differ between");
    expect(await verifyMetric("restore_verify_rows_mismatched")).toBe(1);
    expect(await verifyMetric("restore_verify_last_success_timestamp_seconds")).toBe(lastSuccess);
    expect(await scratchDatabases()).toBe("");

    // The untouched backup B itself verifies.
    expect((await verify(destB)).code).toBe(0);
    expect(await verifyMetric("restore_verify_rows_mismatched")).toBe(0);
  });

  it("never drops a database it did not create as its scratch database", async () => {
    const dest = newDir("guard");
    expect((await backup(dest)).code).toBe(0);
    await bed.pg.createDatabase("precious");
    const result = await verify(dest, { RESTORE_VERIFY_DATABASE: "precious" });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("database 'precious' exists and is not a restore-verify scratch database");
    expect(await bed.pg.sql(`SELECT count(*) FROM pg_database WHERE datname = 'precious'`)).toBe("1");
    const self = await verify(dest, { RESTORE_VERIFY_DATABASE: db });
    expect(self.code).toBe(2);
  });
});

describe("backup retention", () => {
  const stamp = (daysAgo: number) =>
    new Date(Date.now() - daysAgo * 86_400_000).toISOString().replace(/[-:]/g, "").replace(/\.\d+Z$/, "Z");

  it("removes only this database's backups older than BACKUP_RETENTION_DAYS", async () => {
    const dest = newDir("retention");
    const old10 = `${db}-${stamp(10)}`;
    const old8 = `${db}-${stamp(8)}`;
    const young6 = `${db}-${stamp(6)}`;
    const otherDb = `other-${stamp(30)}`;
    for (const f of [`${old10}.dump`, `${old10}.manifest`, `${old8}.dump`, `${young6}.dump`, `${young6}.manifest`]) {
      writeFileSync(join(dest, f), "old");
    }
    for (const f of [`${otherDb}.dump`, "notes.txt", `${db}-latest.dump`]) writeFileSync(join(dest, f), "keep");

    const result = await backup(dest, { BACKUP_RETENTION_DAYS: "7" });
    expect(result.code, result.stderr).toBe(0);
    const [newest] = backupSets(dest).filter((n) => n !== young6);
    expect(readdirSync(dest).sort()).toEqual(
      [
        `${db}-latest.dump`,
        `${newest}.dump`,
        `${newest}.manifest`,
        `${young6}.dump`,
        `${young6}.manifest`,
        `${otherDb}.dump`,
        "notes.txt",
      ].sort(),
    );
    expect(result.stderr).toContain(`removed ${old10}.dump`);
    expect(result.stderr).toContain(`removed ${old8}.dump`);
  });

  it("rejects a retention below one day", async () => {
    const dest = newDir("retention-zero");
    const result = await backup(dest, { BACKUP_RETENTION_DAYS: "0" });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("BACKUP_RETENTION_DAYS must be at least 1");
    expect(readdirSync(dest)).toEqual([]);
  });
});

describe("backup failures push nothing that looks like success", () => {
  it("a database that was never backed up: failure timestamp only", async () => {
    const dest = newDir("never");
    const result = await runJob("backup.sh", {
      DATABASE_URL: bed.pg.url("no_such_db"),
      BACKUP_DESTINATION: `file://${dest}`,
      PUSHGATEWAY_URL: bed.gateway.url,
    });
    expect(result.code).toBe(1);
    expect(await backupMetric("backup_last_failure_timestamp_seconds", "no_such_db")).toBeGreaterThan(0);
    for (const name of ["backup_last_success_timestamp_seconds", "backup_size_bytes", "backup_duration_seconds"]) {
      expect(await backupMetric(name, "no_such_db"), name).toBeUndefined();
    }
    expect(readdirSync(dest)).toEqual([]);
  });

  it("after a success: a failing run keeps the last success timestamp and leaves no partial file", async () => {
    const dest = newDir("fail-after-success");
    expect((await backup(dest)).code).toBe(0);
    const success = await backupMetric("backup_last_success_timestamp_seconds");
    const size = await backupMetric("backup_size_bytes");
    expect(success).toBeGreaterThan(0);

    // pg_dump cannot read a table: a role without SELECT on refresh_tokens.
    await bed.pg.sql(`CREATE ROLE limited LOGIN; GRANT SELECT ON refresh_token_families, schema_migrations, feature_flags, rollback_log TO limited;`, db);
    const failedAt = nowSeconds();
    const result = await runJob("backup.sh", {
      DATABASE_URL: `postgresql://limited@${bed.pg.host}:${bed.pg.port}/${db}`,
      BACKUP_DESTINATION: `file://${dest}`,
      PUSHGATEWAY_URL: bed.gateway.url,
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/permission denied for table refresh_tokens/);
    expect(await backupMetric("backup_last_success_timestamp_seconds")).toBe(success);
    expect(await backupMetric("backup_size_bytes")).toBe(size);
    expect(await backupMetric("backup_last_failure_timestamp_seconds")).toBeGreaterThanOrEqual(Math.floor(failedAt));
    expect(readdirSync(dest).filter((f) => !backupSets(dest).some((n) => f.startsWith(n)))).toEqual([]);

    // An unwritable destination fails the same way.
    const blocker = join(bed.scratch, "a-file");
    writeFileSync(blocker, "");
    const unwritable = await backup(`${blocker}/backups`);
    expect(unwritable.code).toBe(1);
    expect(await backupMetric("backup_last_success_timestamp_seconds")).toBe(success);
  });

  it("exits 3 when the backup is stored but the push fails", async () => {
    const dest = newDir("push-down");
    const result = await backup(dest, { PUSHGATEWAY_URL: `http://127.0.0.1:${await freePort()}` });
    expect(result.code).toBe(3);
    expect(backupSets(dest)).toHaveLength(1);
  });
});
