/**
 * Where the local stack keeps things (one data directory, `.local/` by
 * default) and what it records about itself there: ports, pids, readiness.
 * `status`, `down` and `drill` read the same files from other processes.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { REPO_ROOT } from "./postgres";

export const DEFAULT_DIR = join(REPO_ROOT, ".local");

/** The processes the local stack runs as its children, in start order (stopped in reverse). */
export const LOCAL_PROCESSES = ["postgres", "pushgateway", "postgres-exporter", "auth", "blackbox", "alertmanager", "prometheus"] as const;
/** The HA stack's further members (`--ha`, src/local/ha/): alertmanager and prometheus above are its first ones. */
export const HA_PROCESSES = ["alertmanager-1", "alertmanager-2", "prometheus-1"] as const;
export type SingleProcessName = (typeof LOCAL_PROCESSES)[number];
export type ProcessName = SingleProcessName | (typeof HA_PROCESSES)[number];

/** Start order of any process (an HA member right after its first one): stops go in reverse. */
export function processOrder(name: string): number {
  const m = /^(alertmanager|prometheus)-(\d+)$/.exec(name);
  const base = (LOCAL_PROCESSES as readonly string[]).indexOf(m ? m[1]! : name);
  return m ? base + Number(m[2]) / 10 : base;
}

export interface Ports {
  readonly sink: number;
  readonly postgres: number;
  readonly pushgateway: number;
  readonly postgresExporter: number;
  readonly auth: number;
  readonly blackbox: number;
  readonly alertmanager: number;
  readonly prometheus: number;
}

/**
 * Preferred loopback ports: fixed, so that URLs stay the same across
 * restarts, and away from the packages' defaults (9090, 9093, 5432, …) so a
 * Debian service left running does not collide. A busy one is replaced by a
 * free port (shown on the screen and kept in state.json).
 */
export const DEFAULT_PORTS: Ports = {
  sink: 19099,
  postgres: 15432,
  pushgateway: 19091,
  postgresExporter: 19187,
  auth: 18080,
  blackbox: 19115,
  alertmanager: 19093,
  prometheus: 19090,
};

export interface StackState {
  readonly version: 1;
  readonly dir: string;
  readonly stack: string;
  readonly supervisorPid: number;
  /** Part of the supervisor's command line (the script that runs it: src/cli/local.ts, bench/bench.ts). */
  readonly supervisorMarker: string;
  readonly startedAt: string;
  ready: boolean;
  readonly ports: Ports;
  /** Live children: name → pid (also in run/<name>.pid). */
  pids: Partial<Record<ProcessName, number>>;
  /** A string each child's command line contains, to never signal a recycled pid. */
  readonly markers: Partial<Record<ProcessName, string>>;
  /** Only on an HA stack (`--ha`): every member's ports, the first ones being ports.prometheus and ports.alertmanager. */
  readonly ha?: HaPorts;
}

export interface HaPorts {
  readonly prometheus: readonly number[];
  readonly alertmanager: readonly number[];
  /** Each Alertmanager's gossip port (--cluster.listen-address), in the order of `alertmanager`. */
  readonly cluster: readonly number[];
}

export function layout(dirArg?: string) {
  const dir = resolve(dirArg ?? process.env.AUTHWATCH_LOCAL_DIR ?? DEFAULT_DIR);
  return {
    dir,
    state: join(dir, "state.json"),
    run: join(dir, "run"),
    pidFile: (name: string) => join(dir, "run", `${name}.pid`),
    logs: join(dir, "logs"),
    log: (name: string) => join(dir, "logs", `${name}.log`),
    authLog: join(dir, "logs", "auth.jsonl"),
    notifications: join(dir, "notifications.jsonl"),
    prometheus: join(dir, "prometheus"),
    alertmanager: join(dir, "alertmanager"),
    secrets: join(dir, "alertmanager", "secrets"),
    blackbox: join(dir, "blackbox"),
    pushgateway: join(dir, "pushgateway"),
    postgres: join(dir, "postgres"),
    pgData: join(dir, "postgres", "data"),
    backups: join(dir, "backups"),
  };
}
export type Layout = ReturnType<typeof layout>;

export function readState(l: Layout): StackState | undefined {
  try {
    return JSON.parse(readFileSync(l.state, "utf8")) as StackState;
  } catch {
    return undefined;
  }
}

export function writeState(l: Layout, state: StackState): void {
  mkdirSync(l.dir, { recursive: true });
  const tmp = `${l.state}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, l.state);
}

export function writePid(l: Layout, name: string, pid: number): void {
  mkdirSync(l.run, { recursive: true });
  writeFileSync(l.pidFile(name), `${pid}\n`);
}

export function removePid(l: Layout, name: string): void {
  rmSync(l.pidFile(name), { force: true });
}

/** pid files present: name → pid. */
export function pidFiles(l: Layout): Record<string, number> {
  if (!existsSync(l.run)) return {};
  const out: Record<string, number> = {};
  for (const f of readdirSync(l.run)) {
    if (!f.endsWith(".pid")) continue;
    const pid = Number(readFileSync(join(l.run, f), "utf8").trim());
    if (Number.isInteger(pid) && pid > 0) out[f.slice(0, -4)] = pid;
  }
  return out;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
  // A zombie (exited, not yet reaped) is not alive.
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return true;
  }
}

/** Is the supervisor recorded in this state still running? (Its script path is in its command line.) */
export function supervisorRunning(state: StackState | undefined): state is StackState {
  return state !== undefined && isOurs(state.supervisorPid, state.supervisorMarker);
}

export function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
  } catch {
    return "";
  }
}

/** Alive, and (when we know a marker) still the program we started. */
export function isOurs(pid: number, marker?: string): boolean {
  if (!pidAlive(pid)) return false;
  if (!marker) return true;
  const cmd = commandLine(pid);
  return cmd === "" || cmd.includes(marker);
}
