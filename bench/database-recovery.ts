// Recovery time of the refresh-token database, end to end: a backup, then its
// restore (and, for the jobs, everything restore-verify proves), three ways:
//
//   baseline   bare `pg_dump -Fc` + `pg_restore` (one job): the yardstick;
//   custom     backup.sh (BACKUP_FORMAT=custom, as before) + restore-verify.sh (1 job);
//   directory  backup.sh (BACKUP_FORMAT=directory, --jobs N, the stack's
//              compression) + restore-verify.sh (--jobs N);
//   gzip0      the same without compression (BACKUP_COMPRESSION=0): what the
//              CPU spent on gzip costs, against a dump about twice as large.
//
// Rounds are interleaved (the order rotates each round) and each figure is the
// median over rounds, so that load from elsewhere on the machine hits every
// variant alike. Destinations are file:// (no upload in any variant).
import { rmSync } from "node:fs";
import { join } from "node:path";
import { PG_BIN, jobEnv, run, runJob, type PgCluster } from "../test/support/postgres";

export type VariantName = "baseline" | "custom" | "directory" | "gzip0";
export const VARIANTS: readonly VariantName[] = ["baseline", "custom", "directory", "gzip0"];

/** One variant's figures, seconds (medians over the rounds). */
export interface RecoveryFigures {
  /** Dump side: bare pg_dump, or the whole backup.sh run. */
  backupSeconds: number;
  /** Restore side: bare pg_restore, or the whole restore-verify.sh run. */
  restoreSeconds: number;
  /** backup + restore. */
  endToEndSeconds: number;
  /** Fetch, checksums and pg_restore (restore-verify's measured RTO); bare pg_restore for the baseline. */
  rtoSeconds: number;
  dumpBytes: number;
  /** The jobs' own steps (from their log lines), for finding the bottleneck. */
  steps: Record<string, number>;
}

export interface RecoveryOptions {
  rounds: number;
  /** Which variants (baseline and directory at least). */
  variants: readonly VariantName[];
  /** --jobs for the directory variant (pg_dump and pg_restore). */
  jobs: number;
  /** BACKUP_COMPRESSION for the directory variant; undefined: pg_dump's default. */
  compression: number | undefined;
  log: (line: string) => void;
}

const seconds = (since: bigint) => Number(process.hrtime.bigint() - since) / 1e9;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function must(what: string, result: Promise<{ code: number; stderr: string }>): Promise<string> {
  const r = await result;
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}): ${r.stderr}`);
  return r.stderr;
}

async function timed(action: () => Promise<string>): Promise<[string, number]> {
  const start = process.hrtime.bigint();
  const out = await action();
  return [out, seconds(start)];
}

/** A job log's "<what> in <n>s" figure. */
function logged(log: string, pattern: RegExp, what: string): number {
  const m = pattern.exec(log);
  if (!m) throw new Error(`no ${what} in the job's log:\n${log}`);
  return Number(m[1]);
}

async function du(path: string): Promise<number> {
  const r = await run("du", ["-sb", path]);
  return Number(r.stdout.split("\t")[0]);
}

type Round = Omit<RecoveryFigures, "endToEndSeconds">;

async function runVariant(variant: VariantName, pg: PgCluster, db: string, work: string, o: RecoveryOptions): Promise<Round> {
  const env = jobEnv({});
  const checkpoint = () => pg.sql("CHECKPOINT");
  if (variant === "baseline") {
    const dump = join(work, "baseline.dump");
    await checkpoint();
    const [, backupSeconds] = await timed(() => must("pg_dump", run(join(PG_BIN, "pg_dump"), ["--format=custom", `--file=${dump}`, `--dbname=${pg.url(db)}`], { env })));
    await pg.createDatabase("baseline_restore");
    await checkpoint();
    const [, restoreSeconds] = await timed(() =>
      must("pg_restore", run(join(PG_BIN, "pg_restore"), ["--exit-on-error", "--no-owner", "--no-privileges", `--dbname=${pg.url("baseline_restore")}`, dump], { env })),
    );
    const dumpBytes = await du(dump);
    await pg.sql("DROP DATABASE baseline_restore");
    rmSync(dump, { force: true });
    return { backupSeconds, restoreSeconds, rtoSeconds: restoreSeconds, dumpBytes, steps: { "pg_dump -Fc": backupSeconds, "pg_restore": restoreSeconds } };
  }
  const dest = join(work, `dest-${variant}`);
  const settings =
    variant === "custom"
      ? { BACKUP_FORMAT: "custom", RESTORE_VERIFY_JOBS: "1" }
      : {
          BACKUP_FORMAT: "directory",
          BACKUP_JOBS: String(o.jobs),
          RESTORE_VERIFY_JOBS: String(o.jobs),
          ...(variant === "gzip0" ? { BACKUP_COMPRESSION: "0" } : o.compression === undefined ? {} : { BACKUP_COMPRESSION: String(o.compression) }),
        };
  const common = { DATABASE_URL: pg.url(db), BACKUP_DESTINATION: `file://${dest}`, ...settings };
  await checkpoint();
  const [backupLog, backupSeconds] = await timed(() => must("backup.sh", runJob("backup.sh", common)));
  await checkpoint();
  const [verifyLog, restoreSeconds] = await timed(() => must("restore-verify.sh", runJob("restore-verify.sh", { ...common, RESTORE_VERIFY_TARGET_URL: pg.url("postgres") })));
  const dumpBytes = Number(/stored \S+ \((\d+) bytes/.exec(backupLog)?.[1] ?? NaN);
  rmSync(dest, { recursive: true, force: true });
  const dumped = logged(backupLog, /counted and dumped in ([0-9.]+)s/, "dump time");
  const summed = logged(backupLog, /summed it in ([0-9.]+)s/, "checksum time");
  const checked = logged(verifyLog, /fetched and checked \S+ in ([0-9.]+)s/, "fetch and check time");
  const rtoSeconds = logged(verifyLog, /restored \S+ in ([0-9.]+)s/, "RTO");
  const counted = logged(verifyLog, /counted the restored rows in ([0-9.]+)s/, "count time");
  return {
    backupSeconds,
    restoreSeconds,
    rtoSeconds,
    dumpBytes,
    steps: {
      "backup: counts + pg_dump": dumped,
      "backup: archive check + sha256": summed,
      "backup: rest (connect, store, metrics)": backupSeconds - dumped - summed,
      "verify: fetch + sha256": checked,
      "verify: scratch db + pg_restore": rtoSeconds - checked,
      "verify: row counts": counted,
      "verify: rest (connect, metrics)": restoreSeconds - rtoSeconds - counted,
    },
  };
}

/** Every variant, `rounds` times interleaved, on the database as it stands; medians. */
export async function benchRecovery(pg: PgCluster, db: string, work: string, o: RecoveryOptions): Promise<Partial<Record<VariantName, RecoveryFigures>>> {
  const rounds = new Map<VariantName, Round[]>(o.variants.map((v) => [v, []]));
  for (let r = 0; r < o.rounds; r++) {
    const order = o.variants.map((_, i) => o.variants[(i + r) % o.variants.length]!);
    for (const v of order) {
      const figures = await runVariant(v, pg, db, work, o);
      o.log(`  round ${r + 1}/${o.rounds} ${v.padEnd(9)} backup ${figures.backupSeconds.toFixed(2)}s  restore ${figures.restoreSeconds.toFixed(2)}s  (RTO ${figures.rtoSeconds.toFixed(2)}s)`);
      rounds.get(v)!.push(figures);
    }
  }
  const out: Partial<Record<VariantName, RecoveryFigures>> = {};
  for (const [v, rs] of rounds) {
    const backupSeconds = median(rs.map((x) => x.backupSeconds));
    const restoreSeconds = median(rs.map((x) => x.restoreSeconds));
    out[v] = {
      backupSeconds,
      restoreSeconds,
      endToEndSeconds: median(rs.map((x) => x.backupSeconds + x.restoreSeconds)),
      rtoSeconds: median(rs.map((x) => x.rtoSeconds)),
      dumpBytes: median(rs.map((x) => x.dumpBytes)),
      steps: Object.fromEntries(Object.keys(rs[0]!.steps).map((k) => [k, median(rs.map((x) => x.steps[k]!))])),
    };
  }
  return out;
}
