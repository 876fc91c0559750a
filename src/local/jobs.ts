/**
 * The database jobs on a shortened schedule (CronJobs in a cluster): backup,
 * restore verification and token cleanup, one at a time, pushing to the
 * local Pushgateway exactly as in production (docs/database.md).
 */
import { appendFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { psql, runJob, type JobScript, type RunResult } from "./postgres";

export const JOBS = {
  backup: { script: "backup.sh", everyMs: 120_000 },
  "restore-verify": { script: "restore-verify.sh", everyMs: 300_000 },
  "token-cleanup": { script: "token-cleanup.sh", everyMs: 180_000 },
} as const satisfies Record<string, { script: JobScript; everyMs: number }>;
export type JobName = keyof typeof JOBS;
export const JOB_NAMES = Object.keys(JOBS) as JobName[];

/** Backups kept in the local destination (the scripts' retention counts days; the local schedule's backups need fewer). */
const KEEP_BACKUPS = 20;

export interface JobStatus {
  readonly name: JobName;
  readonly everyMs: number;
  lastRun?: string;
  lastCode?: number;
  lastSeconds?: number;
  runs: number;
  failures: number;
}

export interface JobRunnerOptions {
  readonly databaseUrl: string;
  readonly backupDir: string;
  readonly pushgatewayUrl: string;
  readonly logFile: string;
  /** false while a drill has stopped PostgreSQL: the jobs wait instead of failing. */
  readonly databaseUp: () => boolean;
  readonly onResult?: (job: JobName, result: RunResult, seconds: number) => void;
}

/**
 * The application writes, between cleanups: families and refresh tokens of
 * logins long past (expired and revoked more than the cut-off ago), so that
 * every cleanup run has rows to delete and its counter moves.
 */
const APP_WRITES = `
INSERT INTO refresh_token_families (family_id, user_id, device_id, created_at, revoked_at)
SELECT gen_random_uuid(), (random() * 1000)::int, gen_random_uuid(), now() - interval '12 days',
       CASE WHEN i % 3 = 0 THEN now() - interval '9 days' END
  FROM generate_series(1, 10) i;
INSERT INTO refresh_tokens (jti, family_id, user_id, device_id, token_hash, status, expires_at, created_at)
SELECT gen_random_uuid(), f.family_id, f.user_id, f.device_id, encode(sha256(gen_random_uuid()::text::bytea), 'hex'),
       CASE WHEN g < 3 THEN 'rotated' ELSE 'revoked' END, now() - interval '9 days', now() - interval '12 days'
  FROM refresh_token_families f, generate_series(1, 3) g
 WHERE f.created_at < now() - interval '11 days' AND NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = f.family_id);
`;

/** First start: some live sessions, so that backups and restores carry rows. */
export const SEED_SQL = `
INSERT INTO refresh_token_families (family_id, user_id, device_id, created_at)
SELECT md5('f' || i)::uuid, i, md5('d' || i)::uuid, now() - interval '1 day'
  FROM generate_series(1, 300) i ON CONFLICT DO NOTHING;
INSERT INTO refresh_tokens (jti, family_id, user_id, device_id, token_hash, status, expires_at, created_at)
SELECT md5('t' || i || '-' || g)::uuid, md5('f' || i)::uuid, i, md5('d' || i)::uuid, encode(sha256(('secret-' || i || '-' || g)::bytea), 'hex'),
       CASE WHEN g < 3 THEN 'rotated' ELSE 'active' END, now() + interval '7 days', now() - interval '1 day'
  FROM generate_series(1, 300) i, generate_series(1, 3) g ON CONFLICT DO NOTHING;
`;

export class JobRunner {
  readonly status: Record<JobName, JobStatus>;
  private paused = false;
  private timers: NodeJS.Timeout[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private running?: Promise<unknown>;
  private stopped = false;

  constructor(private readonly o: JobRunnerOptions) {
    this.status = Object.fromEntries(JOB_NAMES.map((name) => [name, { name, everyMs: JOBS[name].everyMs, runs: 0, failures: 0 }])) as Record<JobName, JobStatus>;
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /** One round now (backup, then verify it, then cleanup), then each job on its own period. */
  async start(): Promise<void> {
    for (const name of JOB_NAMES) await this.run(name);
    for (const name of JOB_NAMES) {
      this.timers.push(
        setInterval(() => {
          if (!this.paused) void this.run(name);
        }, JOBS[name].everyMs),
      );
    }
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
  }

  /** Queue a run (jobs never overlap); resolves with its result. */
  run(name: JobName): Promise<RunResult | undefined> {
    const next = this.chain.then(() => this.runNow(name));
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async runNow(name: JobName): Promise<RunResult | undefined> {
    if (this.stopped || !this.o.databaseUp()) return undefined;
    const started = Date.now();
    const env = {
      DATABASE_URL: this.o.databaseUrl,
      // restore-verify creates its scratch database from the server's maintenance database, never the production one.
      RESTORE_VERIFY_TARGET_URL: maintenanceUrl(this.o.databaseUrl),
      BACKUP_DESTINATION: `file://${this.o.backupDir}`,
      BACKUP_RETENTION_DAYS: "1",
      PUSHGATEWAY_URL: this.o.pushgatewayUrl,
    };
    const work = (async () => {
      if (name === "token-cleanup") await psql(this.o.databaseUrl, APP_WRITES);
      const result = await runJob(JOBS[name].script, env);
      if (name === "backup" && result.code === 0) this.pruneBackups();
      return result;
    })();
    this.running = work;
    const result = await work.finally(() => (this.running = undefined));
    const seconds = (Date.now() - started) / 1000;
    const s = this.status[name];
    s.lastRun = new Date(started).toISOString();
    s.lastCode = result.code;
    s.lastSeconds = Number(seconds.toFixed(2));
    s.runs++;
    if (result.code !== 0) s.failures++;
    appendFileSync(this.o.logFile, `${result.stderr}${result.stderr.endsWith("\n") || !result.stderr ? "" : "\n"}${new Date().toISOString()} ${name}: exit ${result.code} after ${seconds.toFixed(1)}s\n`);
    this.o.onResult?.(name, result, seconds);
    return result;
  }

  private pruneBackups(): void {
    const stamps = readdirSync(this.o.backupDir)
      .map((f) => /^(.+-\d{8}T\d{6}Z)\.manifest$/.exec(f)?.[1])
      .filter((x): x is string => x !== undefined)
      .sort();
    for (const old of stamps.slice(0, Math.max(0, stamps.length - KEEP_BACKUPS))) {
      rmSync(join(this.o.backupDir, `${old}.manifest`), { force: true });
      rmSync(join(this.o.backupDir, `${old}.dump`), { force: true });
    }
  }

  /** Stop the schedule and let a running job finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.running?.catch(() => undefined);
  }
}

/** The same server's `postgres` database. */
export function maintenanceUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.pathname = "/postgres";
  return url.toString();
}
