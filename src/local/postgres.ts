/**
 * PostgreSQL from the Debian packages, and the postgres/jobs/ scripts, as the
 * local stack, the tests and the benches run them.
 *
 * initdb refuses to run as root: under root the server runs as the `postgres`
 * OS user (the Debian package creates it).
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";

export const REPO_ROOT = resolve(__dirname, "..", "..");
/** The database job scripts (lib.sh beside them) and the schema migrations. */
export const JOBS_DIR = join(REPO_ROOT, "postgres", "jobs");
export const MIGRATIONS_DIR = join(REPO_ROOT, "postgres", "migrations");

/** The newest PostgreSQL server installed (Debian: /usr/lib/postgresql/<major>/bin), or $PG_BIN. */
export function findPgBin(): string | undefined {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, "bin", "postgres")) && existsSync(join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return majors[0] === undefined ? undefined : join(root, majors[0], "bin");
}

export const PG_BIN = findPgBin() ?? "/usr/lib/postgresql/15/bin";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion; never throws for a non-zero exit. */
export function run(
  command: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string; uid?: number; gid?: number } = {},
): Promise<RunResult> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ["pipe", "pipe", "pipe"],
      ...(options.uid !== undefined ? { uid: options.uid } : {}),
      ...(options.gid !== undefined ? { gid: options.gid } : {}),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    child.on("error", fail);
    child.on("close", (code, signal) => done({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    // A program that exits without reading its input (initdb refusing a directory) closes the pipe first:
    // its exit code and stderr say why, an EPIPE on our side must not crash the runner instead.
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input ?? "");
  });
}

export const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

/** uid and gid of the `postgres` OS user when we are root (the server must not run as root); undefined otherwise. */
export function serverUser(): { uid: number; gid: number } | undefined {
  if (!isRoot) return undefined;
  const uid = Number(execFileSync("id", ["-u", "postgres"], { encoding: "utf8" }).trim());
  const gid = Number(execFileSync("id", ["-g", "postgres"], { encoding: "utf8" }).trim());
  return { uid, gid };
}

/** argv that runs a PostgreSQL server binary as the right OS user (runuser under root). */
export function asServerUser(binary: string, args: string[]): [string, string[]] {
  const path = join(PG_BIN, binary);
  return isRoot ? ["runuser", ["-u", "postgres", "--", path, ...args]] : [path, args];
}

/** psql -At with ON_ERROR_STOP against a URL; the SQL is read from stdin. */
export function psql(url: string, sql: string): Promise<RunResult> {
  return run(join(PG_BIN, "psql"), ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url], { input: sql, env: jobEnv({}) });
}

// ---------------------------------------------------------------------------
// The job scripts of database/, run the way a CronJob runs them: `sh script`,
// configured by environment only.

export type JobScript = "migrate.sh" | "backup.sh" | "restore-verify.sh" | "token-cleanup.sh";

/** Environment for a job: PATH (the PostgreSQL binaries first) plus `env`. */
export function jobEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { PATH: `${PG_BIN}:${process.env.PATH ?? "/usr/bin:/bin"}` };
  if (process.env.TMPDIR) base.TMPDIR = process.env.TMPDIR;
  for (const [k, v] of Object.entries(env)) if (v !== undefined) base[k] = v;
  return base;
}

export function runJob(script: JobScript, env: Record<string, string | undefined>, args: readonly string[] = []): Promise<RunResult> {
  return run("sh", [join(JOBS_DIR, script), ...args], { env: jobEnv(env) });
}
