// Database jobs benchmark on throwaway PostgreSQL 15 clusters:
//
//   npm run bench -- --only database     (1 M and 10 M tokens; BENCH_DB_TOKENS=100000,1000000 for others)
//
// 1. recovery time (bench/database-recovery.ts): backup + restore end to end,
//    the bare single-threaded `pg_dump -Fc` + `pg_restore` against the jobs
//    (custom format as before; directory format with --jobs), interleaved
//    rounds, medians; the RTO per million rows. At the default sizes the table
//    is written into docs/database.md (bench/database-doc.ts);
// 2. token-cleanup.sh throughput (rows/s) at the first size while a
//    concurrent session keeps doing the application's single-row writes
//    (logins, rotations), with that session's worst latency against a baseline
//    without cleanup, and the largest number of ungranted locks sampled from
//    pg_locks meanwhile.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { loadStackSettings } from "../src/settings";
import { PG_BIN, REPO_ROOT, jobEnv, runJob, startPostgres, type PgCluster } from "../test/support/postgres";
import { GOAL_SPEEDUP, replaceSection, rtoTable, speedup, type Machine, type SizeResult } from "./database-doc";
import { benchRecovery, VARIANTS, type VariantName } from "./database-recovery";

const DEFAULT_SIZES = [1_000_000, 10_000_000];

export interface DatabaseBenchResult extends SizeResult {
  families: number;
  generateSeconds: number;
  cleanup?: {
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

export interface DatabaseBenchOptions {
  tokens: number;
  rounds: number;
  variants: readonly VariantName[];
  jobs: number;
  compression: number | undefined;
  cleanup: boolean;
  log?: (line: string) => void;
}

export async function benchDatabase(options: DatabaseBenchOptions): Promise<DatabaseBenchResult> {
  const log = options.log ?? ((line: string) => console.error(line));
  const families = Math.max(8, Math.round(options.tokens / 4));
  const tokens = families * 4;
  const pg = await startPostgres({ shared_buffers: "512MB", maintenance_work_mem: "256MB", max_wal_size: "4GB" });
  const work = mkdtempSync(join(tmpdir(), "authwatch-bench-db-"));
  const db = "bench";
  try {
    await pg.createDatabase(db);
    await must("migrate", runJob("migrate.sh", { DATABASE_URL: pg.url(db) }));
    log(`generating ${tokens} tokens in ${families} families ...`);
    const [, generateSeconds] = await timed(() => pg.sql(generateSql(families), db));

    const rows = Number(await pg.sql("SELECT (SELECT count(*) FROM refresh_tokens) + (SELECT count(*) FROM refresh_token_families) + (SELECT count(*) FROM schema_migrations)", db));
    log(`recovery: ${options.rounds} interleaved round(s) ...`);
    const variants = await benchRecovery(pg, db, work, { rounds: options.rounds, variants: options.variants, jobs: options.jobs, compression: options.compression, log });
    const result: DatabaseBenchResult = { tokens, rows, families, generateSeconds: round(generateSeconds), variants };
    if (!options.cleanup) return result;

    // --- cleanup under a concurrent application-like session ------------------------
    await pg.sql("CHECKPOINT");
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
      ...result,
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

/** Runs every size, prints the table and one `BENCH database {json}` line; `bench/bench.ts` calls this. */
export async function main(): Promise<DatabaseBenchResult[]> {
  const sizes = process.env.BENCH_DB_TOKENS ? process.env.BENCH_DB_TOKENS.split(",").map(Number) : DEFAULT_SIZES;
  if (sizes.some((n) => !Number.isInteger(n) || n < 8)) throw new Error(`BENCH_DB_TOKENS must be a comma-separated list of whole numbers >= 8, got '${process.env.BENCH_DB_TOKENS}'`);
  // As the jobs run on a cluster: the stack's format and compression; --jobs as the scripts default (nproc).
  const backup = loadStackSettings("prod").cluster!.jobs.backup;
  const jobs = cpus().length;
  // Interleaved rounds cost the size's time each: 3 up to 1 M tokens, 1 beyond (BENCH_DB_ROUNDS to override);
  // beyond 1 M, only the baseline and the directory format with the stack's compression.
  const roundsFor = (n: number) => Number(process.env.BENCH_DB_ROUNDS ?? (n <= 1_000_000 ? 3 : 1));
  const variantsFor = (n: number): readonly VariantName[] => (n <= 1_000_000 ? VARIANTS : ["baseline", "directory"]);
  const startLoad = loadavg()[0]!;
  const results: DatabaseBenchResult[] = [];
  for (const [i, tokens] of sizes.entries()) {
    results.push(await benchDatabase({ tokens, rounds: roundsFor(tokens), variants: variantsFor(tokens), jobs, compression: backup.compression, cleanup: i === 0 }));
  }
  const machine: Machine = { cpus: jobs, load: [startLoad, loadavg()[0]!], rounds: Object.fromEntries(results.map((r) => [r.tokens, roundsFor(r.tokens)])), jobs, compression: backup.compression };
  if (backup.format !== "directory") console.log(`note: prod's cluster.jobs.backup.format is ${backup.format}; the directory variant is measured anyway`);

  console.log(`database bench: recovery end to end (backup + restore-verify), ${jobs} CPUs`);
  const table = rtoTable(results, machine);
  console.log(table);
  for (const r of results) {
    const x = speedup(r, "directory");
    const steps = Object.entries(r.variants.directory!.steps).sort(([, a], [, b]) => b - a);
    console.log(`  ${r.tokens} tokens: directory-format jobs ${x.toFixed(2)}× the bare baseline end to end (goal ≥ ${GOAL_SPEEDUP}: ${x >= GOAL_SPEEDUP ? "met" : "NOT met"}); steps, slowest first:`);
    for (const [step, s] of steps) console.log(`    ${step.padEnd(40)} ${s.toFixed(2)}s`);
    const c = r.cleanup;
    if (c) {
      console.log(`  token-cleanup.sh     ${c.deletedTokens} tokens + ${c.deletedFamilies} families in ${c.seconds}s = ${c.rowsPerSecond} tokens/s (batch ${c.batchSize})`);
      console.log(`  concurrent writes    ${c.probeOps} ops, max ${c.probeMaxMs} ms, p99 ${c.probeP99Ms} ms (baseline without cleanup: max ${c.baselineProbeMaxMs} ms, p99 ${c.baselineProbeP99Ms} ms); ungranted locks seen: ${c.maxUngrantedLocks}`);
    }
  }
  if (!process.env.BENCH_DB_TOKENS) {
    const doc = join(REPO_ROOT, "docs/database.md");
    writeFileSync(doc, replaceSection(readFileSync(doc, "utf8"), table));
    console.log("  wrote the table into docs/database.md");
  }
  const summary = {
    cpus: jobs,
    load: machine.load.map((l) => round(l)),
    goalSpeedup: GOAL_SPEEDUP,
    sizes: results.map((r) => ({
      tokens: r.tokens,
      rows: r.rows,
      rounds: roundsFor(r.tokens),
      speedup: round(speedup(r, "directory")),
      met: speedup(r, "directory") >= GOAL_SPEEDUP,
      rtoSecondsPerMillionRows: round(r.variants.directory!.rtoSeconds / (r.rows / 1e6)),
      ...Object.fromEntries(
        Object.entries(r.variants).map(([v, x]) => [v, { backupSeconds: round(x.backupSeconds), restoreSeconds: round(x.restoreSeconds), endToEndSeconds: round(x.endToEndSeconds), rtoSeconds: round(x.rtoSeconds), dumpBytes: x.dumpBytes }]),
      ),
      cleanup: r.cleanup,
    })),
  };
  console.log(`BENCH database ${JSON.stringify(summary)}`);
  return results;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
