// backup.sh and restore-verify.sh through the real `aws` CLI against a real S3
// API on loopback (moto_server), with the production design: a bucket with
// Object Lock whose default retention (COMPLIANCE) locks every backup object;
// the backup job never deletes (the bucket's lifecycle expires old backups).
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PG_BIN, runJob, startPostgres, type JobScript, type PgCluster } from "../support/postgres";
import { startS3, type S3Server } from "../support/s3";

let pg: PgCluster;
let s3: S3Server;
let scratch: string;
const db = "auth";
const LOCK_DAYS = 3;
const awsBinary = execFileSync("sh", ["-c", "command -v aws"], { encoding: "utf8" }).trim();

beforeAll(async () => {
  [pg, s3] = await Promise.all([startPostgres(), startS3()]);
  scratch = mkdtempSync(join(tmpdir(), "authwatch-s3-test-"));
  for (const name of [db, "auth space"]) {
    await pg.createDatabase(name);
    expect((await runJob("migrate.sh", { DATABASE_URL: pg.url(encodeURIComponent(name)) })).code).toBe(0);
    await pg.sql(`INSERT INTO refresh_token_families (family_id, user_id, device_id) SELECT gen_random_uuid(), i, gen_random_uuid() FROM generate_series(1, 30) i`, name);
  }
});

afterAll(async () => {
  await s3?.stop();
  await pg?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

async function aws(...args: string[]): Promise<string> {
  const result = await s3.aws(...args);
  if (result.code !== 0) throw new Error(`aws ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

async function lockedBucket(name: string): Promise<void> {
  await aws("s3api", "create-bucket", "--bucket", name, "--object-lock-enabled-for-bucket");
  await aws(
    "s3api", "put-object-lock-configuration", "--bucket", name, "--object-lock-configuration",
    JSON.stringify({ ObjectLockEnabled: "Enabled", Rule: { DefaultRetention: { Mode: "COMPLIANCE", Days: LOCK_DAYS } } }),
  );
}

async function versions(bucket: string, prefix: string): Promise<{ Key: string; VersionId: string }[]> {
  const out = JSON.parse(await aws("s3api", "list-object-versions", "--bucket", bucket, "--prefix", prefix, "--output", "json"));
  return out.Versions ?? [];
}

function job(script: JobScript, env: Record<string, string>) {
  return runJob(script, {
    ...s3.env,
    HOME: process.env.HOME ?? "/root",
    RESTORE_VERIFY_TARGET_URL: pg.url("postgres"),
    ...env,
  });
}

describe("backups in S3 under Object Lock", () => {
  it("stores locked objects, leaves expiry to the bucket, cannot delete them, and restores from them", async () => {
    const bucket = "authwatch-backups";
    await lockedBucket(bucket);
    // An expired backup from long ago: the bucket's lifecycle, not the job, expires it.
    const old = `pg/${db}-20200101T000000Z`;
    writeFileSync(join(scratch, "old"), "old");
    for (const ext of ["dump", "manifest"]) await aws("s3", "cp", "--only-show-errors", join(scratch, "old"), `s3://${bucket}/${old}.${ext}`);

    const env = { DATABASE_URL: pg.url(db), BACKUP_DESTINATION: `s3://${bucket}/pg` };
    const before = Date.now();
    const stored = await job("backup.sh", env);
    expect(stored.code, stored.stderr).toBe(0);
    const objects = (await versions(bucket, "pg/")).map((v) => v.Key).sort();
    expect(objects).toHaveLength(4);
    expect(objects).toContain(`${old}.dump`);
    const dump = objects.find((k) => k !== `${old}.dump` && k.endsWith(".dump"))!;
    expect(dump).toMatch(new RegExp(`^pg/${db}-\\d{8}T\\d{6}Z\\.dump$`));
    expect(objects).toContain(dump.replace(/\.dump$/, ".manifest"));
    // Nothing was deleted: no delete marker hides the old backup.
    expect(await aws("s3", "ls", `s3://${bucket}/pg/`)).toContain(`${db}-20200101T000000Z.dump`);

    for (const key of [dump, dump.replace(/\.dump$/, ".manifest")]) {
      const head = JSON.parse(await aws("s3api", "head-object", "--bucket", bucket, "--key", key, "--output", "json"));
      expect(head.ObjectLockMode).toBe("COMPLIANCE");
      const until = Date.parse(head.ObjectLockRetainUntilDate);
      expect(until).toBeGreaterThanOrEqual(before + (LOCK_DAYS * 86_400_000) - 60_000);
    }
    const version = (await versions(bucket, dump)).find((v) => v.Key === dump)!;
    const deletion = await s3.aws("s3api", "delete-object", "--bucket", bucket, "--key", dump, "--version-id", version.VersionId);
    expect(deletion.code).not.toBe(0);
    expect(deletion.stderr).toContain("AccessDenied");

    const verified = await job("restore-verify.sh", env);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stderr).toContain(`verified ${dump.slice(3, -5)}`);
    expect(verified.stderr).toContain("0 mismatched");
  });

  it("finds backups whose object names contain spaces", async () => {
    const bucket = "authwatch-spaces";
    await lockedBucket(bucket);
    const env = {
      DATABASE_URL: pg.url(encodeURIComponent("auth space")),
      BACKUP_DESTINATION: `s3://${bucket}/pg backups`,
      RESTORE_VERIFY_DATABASE: "auth_space_verify",
    };
    const stored = await job("backup.sh", env);
    expect(stored.code, stored.stderr).toBe(0);
    expect((await versions(bucket, "pg backups/")).map((v) => v.Key)).toContainEqual(expect.stringMatching(/^pg backups\/auth space-\d{8}T\d{6}Z\.manifest$/));
    const verified = await job("restore-verify.sh", env);
    expect(verified.code, verified.stderr).toBe(0);
    const tables = await pg.sql(`SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`, "auth space");
    expect(verified.stderr).toMatch(new RegExp(`verified auth space-\\d{8}T\\d{6}Z: ${tables} tables, \\d+ rows, 0 mismatched`));
  });
});

describe("directory-format backups in S3 (one object per file under <name>.dir/)", () => {
  const DIRECTORY = { BACKUP_FORMAT: "directory", BACKUP_JOBS: "2", RESTORE_VERIFY_JOBS: "2" };

  it("locks every file's object, restores from them with 2 jobs, and still verifies the older custom-format backup", async () => {
    const bucket = "authwatch-directory";
    await lockedBucket(bucket);
    const env = { DATABASE_URL: pg.url(db), BACKUP_DESTINATION: `s3://${bucket}/pg` };
    const custom = await job("backup.sh", { ...env, BACKUP_FORMAT: "custom" });
    expect(custom.code, custom.stderr).toBe(0);
    const before = Date.now();
    const stored = await job("backup.sh", { ...env, ...DIRECTORY });
    expect(stored.code, stored.stderr).toBe(0);

    const keys = (await versions(bucket, "pg/")).map((v) => v.Key).sort();
    const manifests = keys.filter((k) => k.endsWith(".manifest"));
    expect(manifests).toHaveLength(2);
    const [customName, dirName] = manifests.map((k) => k.slice("pg/".length, -".manifest".length));
    expect(keys).toContain(`pg/${customName}.dump`);
    const files = keys.filter((k) => k.startsWith(`pg/${dirName}.dir/`));
    const manifestText = await aws("s3", "cp", `s3://${bucket}/pg/${dirName}.manifest`, "-");
    const listed = manifestText.split("\n").filter((l) => l.startsWith("file\t")).map((l) => `pg/${dirName}.dir/${l.split("\t")[1]}`);
    expect(files).toEqual(listed.sort());
    expect(files).toContain(`pg/${dirName}.dir/toc.dat`);
    for (const key of files) {
      const head = JSON.parse(await aws("s3api", "head-object", "--bucket", bucket, "--key", key, "--output", "json"));
      expect(head.ObjectLockMode, key).toBe("COMPLIANCE");
      expect(Date.parse(head.ObjectLockRetainUntilDate)).toBeGreaterThanOrEqual(before + LOCK_DAYS * 86_400_000 - 60_000);
    }

    // Every table the migrations create and every row, as the database states them.
    const [tables, rows] = (
      await pg.sql(
        `SELECT count(*), sum((xpath('/row/n/text()', query_to_xml(format('SELECT count(*) AS n FROM %I', tablename), false, true, '')))[1]::text::int)
           FROM pg_tables WHERE schemaname = 'public'`,
        db,
      )
    ).trim().split("|");
    const newest = await job("restore-verify.sh", { ...env, ...DIRECTORY });
    expect(newest.code, newest.stderr).toBe(0);
    expect(newest.stderr).toContain(`verified ${dirName}: ${tables} tables, ${rows} rows, 0 mismatched`);
    const older = await job("restore-verify.sh", { ...env, ...DIRECTORY, RESTORE_VERIFY_BACKUP: customName! });
    expect(older.code, older.stderr).toBe(0);
    expect(older.stderr).toContain(`verified ${customName}: ${tables} tables, ${rows} rows, 0 mismatched`);
  });

  it("a file missing from the bucket fails the verification; BACKUP_S3_DELETE_EXPIRED removes an expired directory whole", async () => {
    const bucket = "authwatch-directory-plain";
    await aws("s3api", "create-bucket", "--bucket", bucket);
    const env = { DATABASE_URL: pg.url(db), BACKUP_DESTINATION: `s3://${bucket}/pg`, ...DIRECTORY };
    const expired = `pg/${db}-20200101T000000Z`;
    writeFileSync(join(scratch, "old"), "old");
    for (const key of [`${expired}.dir/toc.dat`, `${expired}.dir/3000.dat.gz`, `${expired}.manifest`]) {
      await aws("s3", "cp", "--only-show-errors", join(scratch, "old"), `s3://${bucket}/${key}`);
    }
    const stored = await job("backup.sh", { ...env, BACKUP_S3_DELETE_EXPIRED: "true" });
    expect(stored.code, stored.stderr).toBe(0);
    expect(stored.stderr).toContain(`removed ${db}-20200101T000000Z.dir/`);
    const keys = (await versions(bucket, "pg/")).map((v) => v.Key);
    expect(keys.filter((k) => k.startsWith(expired))).toEqual([]);

    const name = keys.find((k) => k.endsWith(".manifest"))!.slice("pg/".length, -".manifest".length);
    const data = keys.filter((k) => k.startsWith(`pg/${name}.dir/`) && k.endsWith(".dat.gz")).sort()[0]!;
    await aws("s3", "rm", "--only-show-errors", `s3://${bucket}/${data}`);
    const verified = await job("restore-verify.sh", env);
    expect(verified.code).toBe(1);
    expect(verified.stderr).toContain(`corrupt: ${data.split("/").pop()}: missing`);
  });
});

describe("S3 retention by the job (BACKUP_S3_DELETE_EXPIRED, for buckets without lifecycle)", () => {
  it("exits 4 when listing the objects for retention fails", async () => {
    const bucket = "authwatch-plain";
    await aws("s3api", "create-bucket", "--bucket", bucket);
    // The real CLI, except that every listing after the first fails.
    const bin = mkdtempSync(join(scratch, "bin-"));
    writeFileSync(
      join(bin, "aws"),
      `#!/bin/sh
case "$*" in
  *"s3 ls"* | *list-objects*)
    n=$(cat '${bin}/count' 2>/dev/null || echo 0); n=$((n + 1)); echo $n >'${bin}/count'
    [ "$n" -lt 2 ] || { echo "An error occurred (AccessDenied) when calling the ListObjectsV2 operation" >&2; exit 255; } ;;
esac
exec '${awsBinary}' "$@"
`,
    );
    chmodSync(join(bin, "aws"), 0o755);
    const result = await job("backup.sh", {
      DATABASE_URL: pg.url(db),
      BACKUP_DESTINATION: `s3://${bucket}/pg`,
      BACKUP_S3_DELETE_EXPIRED: "true",
      PATH: `${bin}:${PG_BIN}:${process.env.PATH}`,
    });
    expect(result.code, result.stderr).toBe(4);
    expect(result.stderr).toMatch(/retention.*cannot list/);
    // The backup itself is stored.
    expect((await versions(bucket, "pg/")).filter((v) => v.Key.endsWith(".manifest"))).toHaveLength(1);
  });
});
