/**
 * The local stack's child processes: start one (log file, pid file, wait until
 * ready), stop them in reverse start order, and stop what a pid file records
 * (a crashed supervisor's leftovers, `npm run local -- down`).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, closeSync, openSync, readFileSync } from "node:fs";
import { relative } from "node:path";
import { sleep, waitFor } from "./net";
import { REPO_ROOT } from "./postgres";
import { clock } from "./screen";
import { isOurs, pidAlive, processOrder, pidFiles, removePid, writePid, writeState, type Layout, type ProcessName, type StackState } from "./state";

export interface ChildSpec {
  readonly name: ProcessName;
  readonly command: string;
  readonly args: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly user?: { uid: number; gid: number };
  readonly cwd?: string;
  /** PostgreSQL: SIGINT is the fast shutdown (SIGTERM waits for every client to leave). */
  readonly stopSignal?: NodeJS.Signals;
  readonly ready: () => Promise<boolean>;
  /** Part of its command line, to recognise it later by pid (default: the command). */
  readonly marker?: string;
}

class Child {
  proc?: ChildProcess;
  private expectExit = false;
  private exited?: Promise<void>;

  constructor(
    readonly spec: ChildSpec,
    private readonly l: Layout,
    private readonly onExit: (c: Child, code: number | null, signal: NodeJS.Signals | null, expected: boolean) => void,
  ) {}

  get pid(): number | undefined {
    return this.proc?.exitCode === null && this.proc.signalCode === null ? this.proc.pid : undefined;
  }

  get running(): boolean {
    return this.pid !== undefined;
  }

  async start(timeoutMs = 60_000): Promise<void> {
    if (this.running) return;
    const { spec } = this;
    const logFd = openSync(this.l.log(spec.name), "a");
    appendFileSync(logFd, `\n--- ${new Date().toISOString()} start: ${spec.command} ${spec.args.join(" ")}\n`);
    this.expectExit = false;
    const proc = spawn(spec.command, [...spec.args], {
      cwd: spec.cwd ?? REPO_ROOT,
      env: spec.env ?? process.env,
      // Its own process group: a terminal's Ctrl-C reaches the supervisor only, which stops children in order.
      detached: true,
      stdio: ["ignore", logFd, logFd],
      ...(spec.user ? { uid: spec.user.uid, gid: spec.user.gid } : {}),
    });
    closeSync(logFd);
    this.proc = proc;
    this.exited = new Promise((resolve) => {
      proc.once("exit", (code, signal) => {
        removePid(this.l, spec.name);
        this.onExit(this, code, signal, this.expectExit);
        resolve();
      });
      proc.once("error", () => resolve());
    });
    if (proc.pid === undefined) throw new Error(`${spec.name}: could not start ${spec.command}`);
    writePid(this.l, spec.name, proc.pid);
    await waitFor(
      `${spec.name} to be ready`,
      async () => {
        if (!this.running) throw new Error(`${spec.name} exited during start (code ${proc.exitCode}); see ${this.l.log(spec.name)}:\n${tail(this.l.log(spec.name))}`);
        return (await spec.ready().catch(() => false)) ? true : undefined;
      },
      timeoutMs,
      200,
    );
  }

  async stop(timeoutMs = 20_000): Promise<void> {
    const proc = this.proc;
    if (!proc || !this.running) return;
    this.expectExit = true;
    proc.kill(this.spec.stopSignal ?? "SIGTERM");
    const killed = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
    await this.exited;
    clearTimeout(killed);
  }

  /** SIGKILL, as a crash (the HA drills): no shutdown, no final snapshot. */
  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc || !this.running) return;
    this.expectExit = true;
    proc.kill("SIGKILL");
    await this.exited;
  }

  /** Synchronous last resort when the supervisor itself is exiting. */
  killNow(): void {
    if (this.running) this.proc?.kill("SIGKILL");
  }
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

/** The children of one supervisor, with their pids and markers kept in the stack's state file. */
export class Supervisor {
  private readonly children = new Map<ProcessName, Child>();
  /** Set once the stack is stopping: exits are expected then, and the state file is left to the stop. */
  stopping = false;

  constructor(
    private readonly l: Layout,
    private readonly state: StackState,
    private readonly print: (line: string) => void,
  ) {}

  child(name: ProcessName): Child | undefined {
    return this.children.get(name);
  }

  running(name: ProcessName): boolean {
    return this.children.get(name)?.running ?? false;
  }

  /** Start (or start again) a child and record it in the state file. */
  async start(spec: ChildSpec, timeoutMs?: number): Promise<Child> {
    const c = this.children.get(spec.name) ?? new Child(spec, this.l, (child, code, signal, expected) => this.exited(child, code, signal, expected));
    this.children.set(spec.name, c);
    await c.start(timeoutMs);
    this.state.pids[spec.name] = c.pid!;
    (this.state.markers as Record<string, string>)[spec.name] = spec.marker ?? spec.command;
    writeState(this.l, this.state);
    return c;
  }

  private exited(c: Child, code: number | null, signal: NodeJS.Signals | null, expected: boolean): void {
    delete this.state.pids[c.spec.name];
    if (!this.stopping) writeState(this.l, this.state);
    if (!expected && !this.stopping) {
      const log = this.l.log(c.spec.name);
      this.print(`${clock()} ✗ ${c.spec.name} exited (${signal ?? `code ${code}`}); see ${relative(process.cwd(), log) || log}`);
    }
  }

  /** The children started so far, in start order. */
  names(): ProcessName[] {
    return [...this.children.keys()].sort((a, b) => processOrder(a) - processOrder(b));
  }

  /** Reverse start order: Prometheus first (no alerts about the others going), PostgreSQL last. */
  async stopAll(): Promise<void> {
    for (const name of this.names().reverse()) await this.children.get(name)?.stop();
  }

  killNow(): void {
    for (const c of this.children.values()) c.killNow();
  }
}

export async function killAndWait(pid: number, signal: NodeJS.Signals, timeoutMs = 20_000): Promise<boolean> {
  try {
    process.kill(pid, signal);
  } catch {
    return !pidAlive(pid);
  }
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(pid)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        /* gone */
      }
      await sleep(200);
      return !pidAlive(pid);
    }
    await sleep(100);
  }
  return true;
}

/**
 * Stop every child a pid file of this data dir names and that is still ours
 * (by its marker), in reverse start order, and remove their pid files (not
 * the supervisor's). Returns the pids stopped.
 */
export async function stopRecorded(l: Layout, markers: StackState["markers"], onStop: (name: string, pid: number) => void): Promise<number[]> {
  const stopped: number[] = [];
  const order = (name: string) => -processOrder(name);
  for (const [name, pid] of Object.entries(pidFiles(l)).sort(([a], [b]) => order(a) - order(b))) {
    if (name === "supervisor") continue;
    if (isOurs(pid, markers[name as ProcessName])) {
      onStop(name, pid);
      await killAndWait(pid, name === "postgres" ? "SIGINT" : "SIGTERM");
      stopped.push(pid);
    }
    removePid(l, name);
  }
  return stopped;
}
