// Database jobs benchmark on a throwaway PostgreSQL 15 cluster:
//
//   npx tsx bench/database.ts            (BENCH_DB_TOKENS=1000000 by default)
//
// 1. backup.sh and restore-verify.sh on N refresh tokens, against a bare
//    `pg_dump -Fc` and `pg_restore` of the same database in the same process:
//    the price of the manifest, checksums, counts and scratch database;
// 2. token-cleanup.sh throughput (rows/s) while a concurrent session keeps
//    doing the application's single-row writes (logins, rotations), with that
//    session's worst latency against a baseline without cleanup, and the
//    largest number of ungranted locks sampled from pg_locks meanwhile.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PG_BIN, jobEnv, run, runJob, startPostgres, type PgCluster } from "../test/support/postgres";

export interface DatabaseBenchResult {
  tokens: number;
  families: number;
  generateSeconds: number;
  dumpBytes: number;
  backupJobSeconds: number;
  rawDumpSeconds: number;
  backupOverhead: number;
  restoreVerifyJobSeconds: number;
  restoreVerifyRtoSeconds: number;
  rawRestoreSeconds: number;
  restoreVerifyOverhead: number;
  cleanup: {
    deletedTokens: number;
    deletedFamilies: number;
    seconds: number;
    rowsPerSecond: number;
    batchSize: number;
    probeOps: number;
    probeMaxMs: number;
    probeP99Ms: number;
    baselineProbeMaxMs: number;
    baselineProbeP99Ms: number;
    maxUngrantedLocks: number;
  };
}

const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;
const round = (n: number, digits = 2) => Number(n.toFixed(digits));

/**
 * 1/4 of the families are revoked (half of those more than 7 days ago); every
 * family has 3 rotated tokens and 1 active (or revoked) one; a third of the
 * rotated tokens expired more than 7 days ago.
 */
function generateSql(families: number): string {
  return `
INSERT INTO refresh_token_families (family_id, user_id, device_id, created_at, revoked_at)
SELECT md5('f' || i)::uuid, i % 100000, md5('d' || i)::uuid, now() - interval '60 days',
       CASE i % 8 WHEN 0 THEN now() - interval '20 days' WHEN 1 THEN now() - interval '2 days' END
  FROM generate_series(1, ${families}) i;
INSERT INTO refresh_tokens (jti, family_id, user_id, device_id, token_hash, status, expires_at, created_at)
SELECT md5('t' || i || '-' || g)::uuid, md5('f' || i)::uuid, i % 100000, md5('d' || i)::uuid,
       encode(sha256(('secret-' || i || '-' || g)::bytea), 'hex'),
       CASE WHEN g < 4 THEN 'rotated' WHEN i % 8 IN (0, 1) THEN 'revoked' ELSE 'active' END,
       CASE WHEN g < 4 AND (i + g) % 3 = 0 THEN now() - interval '10 days' ELSE now() + interval '20 days' END,
       now() - interval '60 days'
  FROM generate_series(1, ${families}) i, generate_series(1, 4) g;
VACUUM (ANALYZE) refresh_token_families;
VACUUM (ANALYZE) refresh_tokens;`;
}

/**
 * A session doing the application's single-row writes back to back until
 * stopped: a rotation-like update of a live token, or a login (new family and
 * token). Returns each operation's latency in milliseconds.
 */
let probes = 0;
function startProbe(pg: PgCluster, db: string, families: number) {
  const probe = ++probes;
  const child = spawn(join(PG_BIN, "psql"), ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", pg.url(db)], {
    stdio: ["pipe", "pipe", "inherit"],
    env: jobEnv({}),
  });
  const latencies: number[] = [];
  let stopping = false;
  let buffer = "";
  let sentAt = 0n;
  let n = 0;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const send = () => {
    if (stopping) {
      child.stdin.end();
      return;
    }
    n++;
    // Families i % 8 in 2..7 are live; their token 4 is the active one.
    const live = 8 * (n % Math.floor(families / 8)) + 2 + (n % 6);
    const sql =
      n % 2 === 0
        ? `UPDATE refresh_tokens SET expires_at = expires_at + interval '1 second' WHERE jti = md5('t${live}-4')::uuid RETURNING 'ok';\n`
        : `WITH fam AS (INSERT INTO refresh_token_families (family_id, user_id, device_id) VALUES (gen_random_uuid(), ${n}, gen_random_uuid()) RETURNING family_id, device_id)
           INSERT INTO refresh_tokens (jti, family_id, user_id, device_id, token_hash, status, expires_at)
           SELECT gen_random_uuid(), family_id, ${n}, device_id, 'probe-${probe}-${n}', 'active', now() + interval '30 days' FROM fam RETURNING 'ok';\n`;
    sentAt = process.hrtime.bigint();
    child.stdin.write(sql);
  };
  child.stdout.setEncoding("utf8").on("data", (data: string) => {
    buffer += data;
    let i: number;
    while ((i = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      if (line !== "ok") continue;
      // The first operation also waits for the connection: not counted.
      if (n > 1) latencies.push(Number(process.hrtime.bigint() - sentAt) / 1e6);
      setTimeout(send, 2);
    }
  });
  let exitCode: number | null = null;
  child.on("close", (code) => {
    exitCode = code;
    finish();
  });
  send();
  return {
    async stop(): Promise<number[]> {
      stopping = true;
      await finished;
      if (exitCode !== 0) throw new Error(`the concurrent session failed (psql exit ${exitCode})`);
      return latencies;
    },
  };
}

function summarize(latencies: number[]): { max: number; p99: number } {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    max: round(sorted[sorted.length - 1] ?? 0),
    p99: round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.99))] ?? 0),
  };
}

async function timed<T>(action: () => Promise<T>): Promise<[T, number]> {
  const start = process.hrtime.bigint();
  const result = await action();
  const took = seconds(start);
  return [result, took];
}

async function must(what: string, result: Promise<{ code: number; stderr: string }>): Promise<string> {
  const r = await result;
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr}`);
  return r.stderr;
}

export async function benchDatabase(
  options: { tokens?: number; log?: (line: string) => void } = {},
): Promise<DatabaseBenchResult> {
  const log = options.log ?? ((line: string) => console.error(line));
  const families = Math.max(8, Math.round((options.tokens ?? Number(process.env.BENCH_DB_TOKENS ?? 1_000_000)) / 4));
  const tokens = families * 4;
  const pg = await startPostgres({ shared_buffers: "512MB", maintenance_work_mem: "256MB", max_wal_size: "4GB" });
  const work = mkdtempSync(join(tmpdir(), "authwatch-bench-db-"));
  const db = "bench";
  try {
    await pg.createDatabase(db);
    await must("migrate", runJob("migrate.sh", { DATABASE_URL: pg.url(db) }));
    log(`generating ${tokens} tokens in ${families} families ...`);
    const [, generateSeconds] = await timed(() => pg.sql(generateSql(families), db));

    // --- bare pg_dump / pg_restore, then the jobs on the same database ------------
    // A CHECKPOINT before each timed step, so that no step pays for the
    // previous one's dirty buffers.
    const checkpoint = () => pg.sql("CHECKPOINT");
    const env = jobEnv({});
    log("pg_dump -Fc / pg_restore ...");
    const rawDump = join(work, "raw.dump");
    await checkpoint();
    const [, rawDumpSeconds] = await timed(() =>
      must("pg_dump", run(join(PG_BIN, "pg_dump"), ["--format=custom", `--file=${rawDump}`, `--dbname=${pg.url(db)}`], { env })),
    );
    await pg.createDatabase("raw_restore");
    await checkpoint();
    const [, rawRestoreSeconds] = await timed(() =>
      must(
        "pg_restore",
        run(join(PG_BIN, "pg_restore"), ["--exit-on-error", "--no-owner", "--no-privileges", `--dbname=${pg.url("raw_restore")}`, rawDump], { env }),
      ),
    );
    await pg.sql("DROP DATABASE raw_restore");

    const dest = join(work, "backups");
    log("backup.sh ...");
    await checkpoint();
    const [, backupJobSeconds] = await timed(() =>
      must("backup.sh", runJob("backup.sh", { DATABASE_URL: pg.url(db), BACKUP_DESTINATION: `file://${dest}` })),
    );
    log("restore-verify.sh ...");
    await checkpoint();
    const [verifyLog, restoreVerifyJobSeconds] = await timed(() =>
      must("restore-verify.sh", runJob("restore-verify.sh", { DATABASE_URL: pg.url(db), RESTORE_VERIFY_TARGET_URL: pg.url("postgres"), BACKUP_DESTINATION: `file://${dest}` })),
    );
    const rto = /restored \S+ in ([0-9.]+)s/.exec(verifyLog);
    if (!rto) throw new Error(`no RTO in restore-verify output: ${verifyLog}`);

    // --- cleanup under a concurrent application-like session ------------------------
    await checkpoint();
    log("probe baseline ...");
    const baseline = startProbe(pg, db, families);
    await new Promise((r) => setTimeout(r, 3000));
    const baselineLatencies = summarize(await baseline.stop());

    log("token-cleanup.sh with a concurrent session ...");
    const batchSize = 1000;
    const probe = startProbe(pg, db, families);
    let maxUngranted = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const waiting = Number(await pg.sql(`SELECT count(*) FROM pg_locks WHERE NOT granted`, db));
        maxUngranted = Math.max(maxUngranted, waiting);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const [cleanupLog, cleanupSeconds] = await timed(() =>
      must(
        "token-cleanup.sh",
        runJob("token-cleanup.sh", { DATABASE_URL: pg.url(db), TOKEN_CLEANUP_BATCH_SIZE: String(batchSize) }),
      ),
    );
    sampling = false;
    await sampler;
    const probeLatencies = await probe.stop();
    const during = summarize(probeLatencies);
    const deleted = /deleted (\d+) tokens and (\d+) families/.exec(cleanupLog);
    if (!deleted) throw new Error(`no counts in token-cleanup output: ${cleanupLog}`);
    const deletedTokens = Number(deleted[1]);

    return {
      tokens,
      families,
      generateSeconds: round(generateSeconds),
      dumpBytes: statSync(rawDump).size,
      backupJobSeconds: round(backupJobSeconds),
      rawDumpSeconds: round(rawDumpSeconds),
      backupOverhead: round(backupJobSeconds / rawDumpSeconds),
      restoreVerifyJobSeconds: round(restoreVerifyJobSeconds),
      restoreVerifyRtoSeconds: round(Number(rto[1])),
      rawRestoreSeconds: round(rawRestoreSeconds),
      restoreVerifyOverhead: round(restoreVerifyJobSeconds / rawRestoreSeconds),
      cleanup: {
        deletedTokens,
        deletedFamilies: Number(deleted[2]),
        seconds: round(cleanupSeconds),
        rowsPerSecond: Math.round(deletedTokens / cleanupSeconds),
        batchSize,
        probeOps: probeLatencies.length,
        probeMaxMs: during.max,
        probeP99Ms: during.p99,
        baselineProbeMaxMs: baselineLatencies.max,
        baselineProbeP99Ms: baselineLatencies.p99,
        maxUngrantedLocks: maxUngranted,
      },
    };
  } finally {
    await pg.stop();
    rmSync(work, { recursive: true, force: true });
  }
}

/** Prints the numbers; `bench/bench.ts` may call this. */
export async function main(): Promise<DatabaseBenchResult> {
  const r = await benchDatabase();
  const c = r.cleanup;
  console.log(`database bench: ${r.tokens} tokens in ${r.families} families (generated in ${r.generateSeconds}s)`);
  console.log(`  backup.sh            ${r.backupJobSeconds}s   bare pg_dump -Fc ${r.rawDumpSeconds}s   ratio ${r.backupOverhead}   dump ${(r.dumpBytes / 1048576).toFixed(1)} MiB`);
  console.log(`  restore-verify.sh    ${r.restoreVerifyJobSeconds}s   (measured RTO ${r.restoreVerifyRtoSeconds}s)   bare pg_restore ${r.rawRestoreSeconds}s   ratio ${r.restoreVerifyOverhead}`);
  console.log(`  token-cleanup.sh     ${c.deletedTokens} tokens + ${c.deletedFamilies} families in ${c.seconds}s = ${c.rowsPerSecond} tokens/s (batch ${c.batchSize})`);
  console.log(`  concurrent writes    ${c.probeOps} ops, max ${c.probeMaxMs} ms, p99 ${c.probeP99Ms} ms (baseline without cleanup: max ${c.baselineProbeMaxMs} ms, p99 ${c.baselineProbeP99Ms} ms); ungranted locks seen: ${c.maxUngrantedLocks}`);
  console.log(JSON.stringify(r));
  return r;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
