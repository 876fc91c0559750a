// Throwaway PostgreSQL 15 clusters (and a Pushgateway) for tests and benches.
//
// `startPostgres()` runs initdb + pg_ctl from the newest /usr/lib/postgresql/<major>/bin (or
// $PG_BIN) into a fresh temporary directory and listens on a free loopback
// port with trust authentication for user `postgres`. initdb refuses to run
// as root, so under root (CI) the server runs as the `postgres` OS user.
// Durability is switched off (fsync, full_page_writes): these clusters are
// for tests only.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../src/local/net";
import { asServerUser, PG_BIN, run, serverUser, type RunResult } from "../../src/local/postgres";

// Shared with the local stack (src/local/postgres.ts): the binaries, run(), the job scripts' environment.
export { JOBS_DIR, MIGRATIONS_DIR, jobEnv, PG_BIN, REPO_ROOT, run, runJob, type JobScript, type RunResult } from "../../src/local/postgres";

export interface PgCluster {
  readonly host: string;
  readonly port: number;
  readonly baseDir: string;
  /** postgresql:// URL for user postgres and the given database. */
  url(database?: string): string;
  /** psql -At with ON_ERROR_STOP; the SQL is read from stdin. */
  psql(sql: string, database?: string): Promise<RunResult>;
  /** Like psql(), but throws on failure and returns trimmed stdout. */
  sql(sql: string, database?: string): Promise<string>;
  createDatabase(name: string): Promise<void>;
  /** From now on these roles must give their password (scram-sha-256) on TCP; everyone else stays trusted. */
  requirePassword(...roles: string[]): Promise<void>;
  /** postgresql:// URL for a role with a password (percent-encoded), to the given database. */
  urlAs(user: string, password: string, database?: string): string;
  stop(): Promise<void>;
}

export async function startPostgres(settings: Record<string, string> = {}): Promise<PgCluster> {
  const baseDir = mkdtempSync(join(tmpdir(), "authwatch-pg-"));
  const owner = serverUser();
  if (owner) chownSync(baseDir, owner.uid, owner.gid);
  const dataDir = join(baseDir, "data");
  const [initdb, initArgs] = asServerUser("initdb", [
    "-D", dataDir, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
  ]);
  const init = await run(initdb, initArgs);
  if (init.code !== 0) throw new Error(`initdb failed: ${init.stderr}`);

  const options: Record<string, string> = {
    listen_addresses: "127.0.0.1",
    unix_socket_directories: baseDir,
    fsync: "off",
    full_page_writes: "off",
    synchronous_commit: "off",
    max_connections: "50",
    ...settings,
  };
  let lastError = "";
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const serverOptions = [`-p ${port}`, ...Object.entries(options).map(([k, v]) => `-c ${k}=${v}`)].join(" ");
    const [pgCtl, ctlArgs] = asServerUser("pg_ctl", [
      "-D", dataDir, "-l", join(baseDir, "server.log"), "-w", "-t", "60", "-o", serverOptions, "start",
    ]);
    const started = await run(pgCtl, ctlArgs);
    if (started.code === 0) return cluster(baseDir, dataDir, port);
    lastError = started.stderr + started.stdout;
  }
  rmSync(baseDir, { recursive: true, force: true });
  throw new Error(`PostgreSQL did not start: ${lastError}`);
}

function cluster(baseDir: string, dataDir: string, port: number): PgCluster {
  const host = "127.0.0.1";
  let stopped = false;
  const stopNow = () => {
    if (stopped) return;
    stopped = true;
    const [pgCtl, args] = asServerUser("pg_ctl", ["-D", dataDir, "-m", "immediate", "-w", "stop"]);
    try {
      execFileSync(pgCtl, args, { stdio: "ignore" });
    } finally {
      rmSync(baseDir, { recursive: true, force: true });
    }
  };
  // Never leave a server behind, even when a test run is interrupted.
  process.once("exit", stopNow);
  const url = (database = "postgres") => `postgresql://postgres@${host}:${port}/${database}`;
  const psql = (sql: string, database?: string) =>
    run(join(PG_BIN, "psql"), ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url(database)], {
      input: sql,
    });
  return {
    host,
    port,
    baseDir,
    url,
    psql,
    async sql(sql, database) {
      const result = await psql(sql, database);
      if (result.code !== 0) throw new Error(`psql failed (${result.code}): ${result.stderr}\n${sql}`);
      return result.stdout.trim();
    },
    async createDatabase(name) {
      const result = await psql(`CREATE DATABASE "${name}"`);
      if (result.code !== 0) throw new Error(`CREATE DATABASE ${name}: ${result.stderr}`);
    },
    async requirePassword(...roles) {
      const hba = join(dataDir, "pg_hba.conf");
      const lines = roles.map((r) => `host all ${r} 127.0.0.1/32 scram-sha-256`).join("\n");
      writeFileSync(hba, `${lines}\n${readFileSync(hba, "utf8")}`);
      const result = await psql("SELECT pg_reload_conf()");
      if (result.code !== 0) throw new Error(`reload: ${result.stderr}`);
    },
    urlAs(user, password, database = "postgres") {
      return `postgresql://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(database)}`;
    },
    async stop() {
      process.removeListener("exit", stopNow);
      stopNow();
    },
  };
}

/**
 * A directory of stand-ins for the PostgreSQL client tools that append their
 * argv (one line per call) to `<dir>/argv.log`, then exec the real binary.
 * Put it first on a job's PATH.
 */
export function recordingClients(dir: string): { path: string; log: string } {
  mkdirSync(dir, { recursive: true });
  const log = join(dir, "argv.log");
  writeFileSync(log, "");
  for (const tool of ["psql", "pg_dump", "pg_restore"]) {
    const shim = join(dir, tool);
    writeFileSync(shim, `#!/bin/sh\nprintf '%s\\n' "${tool} $*" >>'${log}'\nexec '${join(PG_BIN, tool)}' "$@"\n`);
    chmodSync(shim, 0o755);
  }
  return { path: `${dir}:${PG_BIN}:${process.env.PATH ?? "/usr/bin:/bin"}`, log };
}

// ---------------------------------------------------------------------------
// A real Pushgateway (Debian's prometheus-pushgateway) on a free port.

export interface Pushgateway {
  readonly url: string;
  /** The gateway's /metrics text. */
  metrics(): Promise<string>;
  /** Value of the sample `name` whose labels include `labels`, if pushed. */
  value(name: string, labels?: Record<string, string>): Promise<number | undefined>;
  stop(): Promise<void>;
}

export async function startPushgateway(binary = "prometheus-pushgateway"): Promise<Pushgateway> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // Debian's build persists to /var/lib/prometheus/pushgateway.data by
  // default: an empty --persistence.file keeps each test's gateway to itself.
  const child: ChildProcess = spawn(binary, [`--web.listen-address=127.0.0.1:${port}`, "--persistence.file="], {
    stdio: "ignore",
  });
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const kill = () => child.kill("SIGTERM");
  process.once("exit", kill);
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      if ((await fetch(`${url}/-/ready`)).ok) break;
    } catch {
      // not listening yet
    }
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`${binary} did not become ready`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const metrics = async () => (await fetch(`${url}/metrics`)).text();
  return {
    url,
    metrics,
    async value(name, labels = {}) {
      return sampleValue(await metrics(), name, labels);
    },
    async stop() {
      process.removeListener("exit", kill);
      kill();
      await exited;
    },
  };
}

/** Parses one sample out of Prometheus text exposition. */
export function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      found[pair[1]!] = pair[2]!;
    }
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(match[3]);
  }
  return undefined;
}
