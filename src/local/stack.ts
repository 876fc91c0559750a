/**
 * `npm run local`: the monitoring stack for real on one machine, from the same
 * rendered artifacts synth writes (DESIGN.md: "local stack runs them with
 * real binaries"). This process is the supervisor: it renders the local
 * stack's configuration, starts every program as a child with its data under
 * one directory, runs the database jobs on a schedule, receives Alertmanager's
 * notifications on a webhook sink and prints them, and answers drills on a
 * small control API. Ctrl-C (or `npm run local -- down`) stops everything.
 */
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync } from "node:fs";
import { join, relative } from "node:path";
import { loadStackSettings, type Settings } from "../settings";
import { LOCAL_STACK, runtimeSettings, writeConfigs } from "./config";
import { controlApi, Inbox } from "./control";
import { JobRunner, SEED_SQL } from "./jobs";
import { getJson, localUrl, LOOPBACK, pickPort, waitFor } from "./net";
import { ensurePackages } from "./packages";
import { isRoot, jobEnv, PG_BIN, psql, REPO_ROOT, run, runJob, serverUser } from "./postgres";
import { processSpecs } from "./processes";
import { applyRoles } from "./roles";
import { chooseHaPorts, writeHaConfigs } from "./ha/config";
import { haProcessSpecs } from "./ha/processes";
import { haScreen } from "./ha/cluster";
import { clock, upScreen } from "./screen";
import { startSink, type Notification, type Sink } from "./sink";
import { DEFAULT_PORTS, HA_PROCESSES, layout, readState, removePid, supervisorRunning, writePid, writeState, type HaPorts, type Layout, type Ports, type ProcessName, type SingleProcessName, type StackState } from "./state";
import { stopRecorded, Supervisor, type ChildSpec } from "./supervisor";

export interface UpOptions {
  readonly dir?: string;
  /** Install missing Debian packages (root on Debian). Default true. */
  readonly install?: boolean;
  /** Where the screen goes (stdout by default). */
  readonly print?: (line: string) => void;
  /** Any free ports instead of the fixed defaults (tests: never collide with a stack someone runs). */
  readonly randomPorts?: boolean;
  /** The HA stack: Prometheus ×2 and Alertmanager ×3 in a gossip cluster (src/local/ha/). */
  readonly ha?: boolean;
}

export class AlreadyRunningError extends Error {}

export interface RunningStack {
  readonly state: StackState;
  readonly settings: Settings;
  readonly notifications: readonly Notification[];
  /** Stop every child, the jobs and the sink. Idempotent. */
  stop(): Promise<void>;
  /** Resolves when the stack has stopped (Ctrl-C, `down`, or stop()). */
  readonly stopped: Promise<void>;
}

/** Every process's spec: the single stack's, and on an HA stack its further members (its first ones replaced). */
type Specs = Partial<Record<ProcessName, ChildSpec>> & Record<SingleProcessName, ChildSpec>;

/** One start of the stack: what the steps of up() share. */
interface Run {
  readonly l: Layout;
  readonly print: (line: string) => void;
  readonly ports: Ports;
  readonly state: StackState;
  readonly supervisor: Supervisor;
  readonly databaseUrl: string;
  /** Set once the jobs are scheduled. */
  jobs?: JobRunner;
}

export async function up(o: UpOptions = {}): Promise<RunningStack> {
  const print = o.print ?? ((line: string) => console.log(line));
  const l = layout(o.dir);
  await claimDataDir(l, print);
  await ensurePackages({ install: o.install ?? true, log: (line) => print(`local: ${line}`) });
  const ports = await choosePorts(o.randomPorts === true);
  const ha = o.ha ? await chooseHaPorts(ports, o.randomPorts === true) : undefined;
  const s = runtimeSettings(loadStackSettings(LOCAL_STACK), l, ports);
  for (const d of [l.logs, l.run, l.prometheus, l.alertmanager, l.pushgateway, l.backups]) mkdirSync(d, { recursive: true });
  const ruleFiles = writeConfigs(s, l, ports);
  if (ha) writeHaConfigs(s, l, ports, ha);
  const state = recordStart(l, s.stack, ports, ha);
  const supervisor = new Supervisor(l, state, print);
  const r: Run = { l, print, ports, state, supervisor, databaseUrl: `postgresql://postgres@${LOOPBACK}:${ports.postgres}/auth` };

  // The notification sink and control API, first: Alertmanager delivers to it.
  const inbox = new Inbox(l.notifications, print);
  const sink = await startSink({ port: ports.sink, onReceive: (x) => inbox.receive(x), api: controlApi({ state, supervisor, jobs: () => r.jobs, inbox, print }) });
  const { stop, stopped } = stopping(r, sink);
  const lastResort = () => supervisor.killNow();
  process.once("exit", lastResort);
  try {
    const pgOwner = serverUser();
    const specs: Specs = {
      ...processSpecs({ l, ports, databaseUrl: r.databaseUrl, pgOwner }),
      ...(ha ? haProcessSpecs(l, ha, join(l.alertmanager, "alertmanager.yaml")) : {}),
    };
    await startDatabase(r, specs.postgres, pgOwner);
    await startScrapeTargets(r, specs);
    const { firstRound } = await startJobs(r);
    for (const name of ["prometheus", ...HA_PROCESSES.filter((n) => n.startsWith("prometheus-"))] as const) if (specs[name]) await supervisor.start(specs[name]);
    await firstRound;
    for (const port of ha?.prometheus ?? [ports.prometheus]) await waitForTargets(port);
  } catch (e) {
    await stop();
    process.removeListener("exit", lastResort);
    throw e;
  }

  state.ready = true;
  writeState(l, state);
  print(upScreen(s, l, ports, ruleFiles));
  if (ha) print(haScreen(ha));
  void stopped.then(() => process.removeListener("exit", lastResort));
  return { state, settings: s, notifications: inbox.notifications, stop, stopped };
}

/** Refuse a data dir whose supervisor still runs; stop what an earlier, crashed one left running. */
async function claimDataDir(l: Layout, print: (line: string) => void): Promise<void> {
  mkdirSync(l.dir, { recursive: true });
  const previous = readState(l);
  if (previous && previous.supervisorPid !== process.pid && supervisorRunning(previous)) {
    throw new AlreadyRunningError(`the local stack in ${l.dir} is already running (supervisor pid ${previous.supervisorPid}): npm run local -- status`);
  }
  await stopRecorded(l, previous?.markers ?? {}, (name, pid) => print(`stopping ${name} (pid ${pid}) left running by an earlier run`));
}

/** The fixed defaults when they are free, so that URLs stay the same across restarts. */
async function choosePorts(random: boolean): Promise<Ports> {
  const taken = new Set<number>();
  const ports = {} as Record<keyof Ports, number>;
  for (const key of Object.keys(DEFAULT_PORTS) as (keyof Ports)[]) {
    ports[key] = await pickPort(random ? undefined : DEFAULT_PORTS[key], taken);
    taken.add(ports[key]);
  }
  return ports;
}

function recordStart(l: Layout, stack: string, ports: Ports, ha: HaPorts | undefined): StackState {
  const state: StackState = {
    version: 1,
    dir: l.dir,
    stack,
    supervisorPid: process.pid,
    // Relative to the repository: the command line may name the script relatively or absolutely.
    supervisorMarker: process.argv[1] ? relative(REPO_ROOT, process.argv[1]) : "node",
    startedAt: new Date().toISOString(),
    ready: false,
    ports,
    pids: {},
    markers: {},
    ...(ha ? { ha } : {}),
  };
  writeState(l, state);
  writePid(l, "supervisor", process.pid);
  return state;
}

/** stop(): the jobs, the children in reverse order, the sink; `stopped` resolves when that is done. */
function stopping(r: Run, sink: Sink): { stop: () => Promise<void>; stopped: Promise<void> } {
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));
  const stop = async () => {
    if (r.supervisor.stopping) return stopped;
    r.supervisor.stopping = true;
    r.state.ready = false;
    writeState(r.l, r.state);
    await r.jobs?.stop();
    await r.supervisor.stopAll();
    await sink.close();
    removePid(r.l, "supervisor");
    r.state.pids = {};
    writeState(r.l, r.state);
    resolveStopped();
    return stopped;
  };
  return { stop, stopped };
}

/** PostgreSQL: initdb on first start, as the postgres user under root; data kept across restarts. Then database auth, migrated and seeded. */
async function startDatabase(r: Run, spec: ChildSpec, owner: { uid: number; gid: number } | undefined): Promise<void> {
  await initdb(r.l, owner, r.print);
  await r.supervisor.start(spec);
  const adminUrl = `postgresql://postgres@${LOOPBACK}:${r.ports.postgres}/postgres`;
  const exists = await psql(adminUrl, "SELECT 1 FROM pg_database WHERE datname = 'auth'");
  if (exists.stdout.trim() !== "1") {
    const created = await psql(adminUrl, "CREATE DATABASE auth");
    if (created.code !== 0) throw new Error(`CREATE DATABASE auth: ${created.stderr}`);
  }
  const migrated = await runJob("migrate.sh", { DATABASE_URL: r.databaseUrl, BACKUP_DESTINATION: `file://${r.l.backups}` }, ["up"]);
  appendFileSync(r.l.log("jobs"), migrated.stderr);
  if (migrated.code !== 0) throw new Error(`postgres/jobs/migrate.sh up failed (exit ${migrated.code}):\n${migrated.stderr}`);
  const roles = await applyRoles(r.databaseUrl);
  if (roles.code !== 0) throw new Error(`postgres/roles.sql failed (exit ${roles.code}):\n${roles.stderr}`);
  const rows = await psql(r.databaseUrl, "SELECT count(*) FROM refresh_token_families");
  if (rows.stdout.trim() === "0") await psql(r.databaseUrl, SEED_SQL);
}

async function initdb(l: Layout, owner: { uid: number; gid: number } | undefined, print: (s: string) => void): Promise<void> {
  mkdirSync(l.postgres, { recursive: true });
  if (owner) {
    // The server runs as postgres: it must reach its directory (a mkdtemp parent is 0700).
    chmodSync(l.dir, 0o755);
    chownSync(l.postgres, owner.uid, owner.gid);
  }
  if (existsSync(join(l.pgData, "PG_VERSION"))) return;
  print(`local: initialising PostgreSQL in ${l.pgData}${isRoot ? " (as the postgres user)" : ""}`);
  const init = await run(join(PG_BIN, "initdb"), ["-D", l.pgData, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"], {
    ...(owner ? { uid: owner.uid, gid: owner.gid } : {}),
    cwd: l.postgres,
    env: jobEnv({}),
  });
  if (init.code !== 0) throw new Error(`initdb failed:\n${init.stderr}`);
}

/** Exporters, the demo service, Alertmanager: all before Prometheus, so its first scrape finds them up. */
async function startScrapeTargets(r: Run, specs: Specs): Promise<void> {
  await r.supervisor.start(specs.pushgateway);
  const alertmanagers = HA_PROCESSES.filter((n) => n.startsWith("alertmanager-") && specs[n]);
  await Promise.all((["postgres-exporter", "auth", "blackbox", "alertmanager", ...alertmanagers] as const).map((name) => r.supervisor.start(specs[name]!)));
}

/** The jobs' first round before Prometheus starts: the backup alerts find their series on the first scrape. */
async function startJobs(r: Run): Promise<{ firstRound: Promise<void> }> {
  const jobsLog = r.l.log("jobs");
  const jobs = new JobRunner({
    databaseUrl: r.databaseUrl,
    backupDir: r.l.backups,
    pushgatewayUrl: localUrl(r.ports.pushgateway),
    logFile: jobsLog,
    databaseUp: () => r.supervisor.running("postgres"),
    onResult: (job, result, seconds) => {
      if (result.code !== 0 && !r.supervisor.stopping) r.print(`${clock()} ✗ job ${job} failed (exit ${result.code}, ${seconds.toFixed(1)}s); see ${relative(process.cwd(), jobsLog) || jobsLog}`);
    },
  });
  r.jobs = jobs;
  const firstRound = jobs.start();
  await waitFor("the first backup", () => (jobs.status.backup.runs > 0 ? true : undefined), 120_000);
  return { firstRound };
}

async function waitForTargets(prometheusPort: number): Promise<void> {
  await waitFor(
    "every scrape target to be up",
    async () => {
      const t = await getJson<{ data: { activeTargets: { health: string }[] } }>(`${localUrl(prometheusPort)}/api/v1/targets`).catch(() => undefined);
      const targets = t?.data.activeTargets ?? [];
      return targets.length > 0 && targets.every((x) => x.health === "up") ? true : undefined;
    },
    60_000,
    500,
  );
}
