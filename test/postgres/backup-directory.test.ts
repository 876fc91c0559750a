// backup.sh with BACKUP_FORMAT=directory (pg_dump -Fd --jobs) and
// restore-verify.sh reading it (pg_restore --jobs), against a real PostgreSQL
// 15 and a real Pushgateway: the round trip with 2 jobs, the version 2
// manifest, a damaged directory detected file by file, old custom-format
// backups still verified beside new ones, retention of directories, and the
// settings refused. s3:// directories: backup-s3.test.ts.
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runJob } from "../support/postgres";
import { useJobBed } from "../support/job-bed";

const db = "auth";
const bed = useJobBed(db, "backup-dir-test");
const FAMILIES = 300;
const TOKENS = 1200;

beforeAll(async () => {
  await bed.pg.sql(
    `INSERT INTO refresh_token_families (family_id, user_id, device_id)
     SELECT md5('family' || i)::uuid, i, md5('device' || i)::uuid FROM generate_series(1, ${FAMILIES}) i;
     INSERT INTO refresh_tokens (jti, family_id, user_id, device_id, token_hash, status, expires_at)
     SELECT md5('token' || f || '-' || g)::uuid, md5('family' || f)::uuid, f, md5('device' || f)::uuid,
            md5('secret' || f || '-' || g), CASE WHEN g < 4 THEN 'rotated' ELSE 'active' END, now() + interval '30 days'
       FROM generate_series(1, ${FAMILIES}) f, generate_series(1, 4) g;`,
    db,
  );
  // Every table the migrations create and its rows (the test's tokens, the ledger, the seeded flags): stated by the database.
  TABLES = (
    await bed.pg.sql(
      `SELECT string_agg(format('public.%s %s', tablename, (xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I', tablename), false, true, '')))[1]::text), ',' ORDER BY tablename)
         FROM pg_tables WHERE schemaname = 'public'`,
      db,
    )
  ).trim().split(",");
  ROWS = TABLES.reduce((n, t) => n + Number(t.split(" ")[1]), 0);
});

let TABLES: string[] = [];
let ROWS = 0;
const newDir = (prefix: string) => mkdtempSync(join(bed.scratch, `${prefix}-`));
const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
const env = (dest: string) => ({ DATABASE_URL: bed.pg.url(db), BACKUP_DESTINATION: `file://${dest}`, PUSHGATEWAY_URL: bed.gateway.url });
const DIRECTORY = { BACKUP_FORMAT: "directory", BACKUP_JOBS: "2", RESTORE_VERIFY_JOBS: "2" };
const backup = (dest: string, extra: Record<string, string> = {}) => runJob("backup.sh", { ...env(dest), ...DIRECTORY, ...extra });
const verify = (dest: string, extra: Record<string, string> = {}) =>
  runJob("restore-verify.sh", { ...env(dest), ...DIRECTORY, RESTORE_VERIFY_TARGET_URL: bed.pg.url("postgres"), ...extra });
const verifyMetric = (name: string) => bed.gateway.value(name, { job: "restore-verify", database: db });
const manifests = (dest: string) => readdirSync(dest).filter((f) => f.endsWith(".manifest")).map((f) => f.slice(0, -".manifest".length)).sort();
const manifestLines = (dest: string, name: string) => readFileSync(join(dest, `${name}.manifest`), "utf8").trimEnd().split("\n").map((l) => l.split("\t"));

async function oneDirectoryBackup(prefix: string): Promise<[string, string]> {
  const dest = newDir(prefix);
  const result = await backup(dest);
  expect(result.code, result.stderr).toBe(0);
  expect(result.stderr).toContain("(--format=directory --jobs=2)");
  const [name] = manifests(dest);
  return [dest, name!];
}

describe("directory-format backups (pg_dump -Fd --jobs)", () => {
  it("round trip with 2 jobs: one manifest line per file, counts from the snapshot, verified with 0 mismatched rows", async () => {
    const [dest, name] = await oneDirectoryBackup("roundtrip");
    expect(readdirSync(dest).sort()).toEqual([`${name}.dir`, `${name}.manifest`]);
    const dir = join(dest, `${name}.dir`);
    const lines = manifestLines(dest, name);
    const value = (key: string) => lines.find(([k]) => k === key)?.[1];
    expect(value("authwatch-backup-manifest")).toBe("2");
    expect(value("format")).toBe("directory");
    expect(value("dump")).toBe(`${name}.dir/`);
    expect(value("dump_sha256")).toBeUndefined();
    // Every file of the directory, with its own sha256 and size; nothing else.
    const files = lines.filter(([k]) => k === "file").map(([, f, sha, size]) => [f, sha, size]);
    expect(files.map(([f]) => f).sort()).toEqual(readdirSync(dir).sort());
    expect(files.map(([f]) => f)).toContain("toc.dat");
    expect(files.filter(([f]) => f!.endsWith(".dat.gz")).length).toBeGreaterThanOrEqual(3);
    for (const [f, sha, size] of files) {
      expect(sha, f).toBe(sha256(join(dir, f!)));
      expect(Number(size), f).toBe(statSync(join(dir, f!)).size);
    }
    const total = files.reduce((n, [, , size]) => n + Number(size), 0);
    expect(value("dump_size_bytes")).toBe(String(total));
    expect(TABLES).toEqual(expect.arrayContaining([`public.refresh_token_families ${FAMILIES}`, `public.refresh_tokens ${TOKENS}`]));
    expect(lines.filter(([k]) => k === "table").map(([, t, n]) => `${t} ${n}`)).toEqual(TABLES);
    expect(await bed.gateway.value("backup_size_bytes", { job: "pg-backup", database: db })).toBe(total);

    const verified = await verify(dest);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stderr).toMatch(new RegExp(`restored ${name}\\.dir/ in [0-9.]+s \\(pg_restore --jobs=2\\)`));
    expect(verified.stderr).toContain(`verified ${name}: ${TABLES.length} tables, ${ROWS} rows, 0 mismatched`);
    expect(await verifyMetric("restore_verify_rows_mismatched")).toBe(0);
    expect(await verifyMetric("restore_verify_duration_seconds")).toBeGreaterThan(0);
  });

  it("a truncated, missing or added file fails the verification before the restore, every row reported", async () => {
    const [dest, name] = await oneDirectoryBackup("damaged");
    const dir = join(dest, `${name}.dir`);
    const data = readdirSync(dir).filter((f) => f.endsWith(".dat.gz")).sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size);
    const largest = data[0]!;

    truncateSync(join(dir, largest), Math.floor(statSync(join(dir, largest)).size / 2));
    const truncated = await verify(dest);
    expect(truncated.code).toBe(1);
    expect(truncated.stderr).toMatch(new RegExp(`corrupt: ${largest.replace(".", "\\.")}: \\d+ bytes, sha256 [0-9a-f]{64}; the manifest says`));
    expect(truncated.stderr).toContain(`${name}.dir/ is corrupt`);
    expect(truncated.stderr).not.toContain("pg_restore");
    expect(await verifyMetric("restore_verify_rows_mismatched")).toBe(ROWS);

    rmSync(join(dir, largest));
    const missing = await verify(dest);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`corrupt: ${largest}: missing`);

    const [dest2, name2] = await oneDirectoryBackup("added");
    writeFileSync(join(dest2, `${name2}.dir`, "9999.dat.gz"), "");
    const added = await verify(dest2);
    expect(added.code).toBe(1);
    expect(added.stderr).toContain("corrupt: 9999.dat.gz: not in the manifest");
  });

  it("verifies an old custom-format backup beside new directory ones, and picks the newest of either", async () => {
    const dest = newDir("mixed");
    const old = await runJob("backup.sh", env(dest));
    expect(old.code, old.stderr).toBe(0);
    const [custom] = manifests(dest);
    expect(readdirSync(dest)).toContain(`${custom}.dump`);
    // The custom format's manifest is version 1, as it always was.
    expect(manifestLines(dest, custom!)[0]).toEqual(["authwatch-backup-manifest", "1"]);
    expect((await backup(dest)).code).toBe(0);
    const directory = manifests(dest).find((n) => n !== custom)!;

    const newest = await verify(dest);
    expect(newest.code, newest.stderr).toBe(0);
    expect(newest.stderr).toContain(`verified ${directory}: ${TABLES.length} tables, ${ROWS} rows, 0 mismatched`);
    const older = await verify(dest, { RESTORE_VERIFY_BACKUP: custom! });
    expect(older.code, older.stderr).toBe(0);
    expect(older.stderr).toContain(`verified ${custom}: ${TABLES.length} tables, ${ROWS} rows, 0 mismatched`);
  });

  it("retention removes expired directories and their manifests, never the newest", async () => {
    const dest = newDir("retention");
    const expired = `${db}-20200101T000000Z`;
    mkdirSync(join(dest, `${expired}.dir`));
    writeFileSync(join(dest, `${expired}.dir`, "toc.dat"), "old");
    writeFileSync(join(dest, `${expired}.manifest`), "old");
    mkdirSync(join(dest, `other-20200101T000000Z.dir`));
    const result = await backup(dest, { BACKUP_RETENTION_DAYS: "7" });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`removed ${expired}.dir/`);
    const [name] = manifests(dest);
    expect(readdirSync(dest).sort()).toEqual([`${name}.dir`, `${name}.manifest`, "other-20200101T000000Z.dir"]);
  });

  it("a run killed mid-dump leaves a hidden directory that the next run removes", async () => {
    const dest = newDir("stale");
    mkdirSync(join(dest, `.${db}-20200101T000000Z.dir.partial`));
    writeFileSync(join(dest, `.${db}-20200101T000000Z.dir.partial`, "toc.dat"), "half");
    const result = await backup(dest);
    expect(result.code, result.stderr).toBe(0);
    expect(readdirSync(dest).filter((f) => f.startsWith("."))).toEqual([]);
  });

  it.each([
    [{ BACKUP_FORMAT: "tar" }, "BACKUP_FORMAT must be custom or directory, got 'tar'"],
    [{ BACKUP_JOBS: "0" }, "BACKUP_JOBS must be at least 1, got 0"],
    [{ BACKUP_JOBS: "two" }, "BACKUP_JOBS must be a whole number, got 'two'"],
    [{ BACKUP_COMPRESSION: "10" }, "BACKUP_COMPRESSION must be a gzip level 0-9"],
  ])("backup.sh refuses %o (exit 2, nothing written)", async (setting, message) => {
    const dest = newDir("refused");
    const result = await backup(dest, setting);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(message);
    expect(readdirSync(dest)).toEqual([]);
  });

  it("restore-verify.sh refuses RESTORE_VERIFY_JOBS below 1 (exit 2)", async () => {
    const result = await verify(newDir("refused-verify"), { RESTORE_VERIFY_JOBS: "0" });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("RESTORE_VERIFY_JOBS must be at least 1, got 0");
  });

  it("BACKUP_COMPRESSION=0 writes uncompressed data files that still verify", async () => {
    const dest = newDir("uncompressed");
    const stored = await backup(dest, { BACKUP_COMPRESSION: "0" });
    expect(stored.code, stored.stderr).toBe(0);
    const [name] = manifests(dest);
    const files = readdirSync(join(dest, `${name}.dir`));
    expect(files.filter((f) => f.endsWith(".dat")).length).toBeGreaterThanOrEqual(3);
    expect(files.filter((f) => f.endsWith(".gz"))).toEqual([]);
    expect((await verify(dest)).code).toBe(0);
  });
});
