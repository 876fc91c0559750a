/**
 * `npm run local`: the monitoring stack for real on one machine, from the same
 * rendered artifacts synth writes (DESIGN.md: "local stack runs them with
 * real binaries"). This process is the supervisor: it renders the local
 * stack's configuration, starts every program as a child with its data under
 * one directory, runs the database jobs on a schedule, receives Alertmanager's
 * notifications on a webhook sink and prints them, and answers drills on a
 * small control API. Ctrl-C (or `npm run local -- down`) stops everything.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { appendFileSync, chmodSync, chownSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { join, relative } from "node:path";
import { prometheusRuleGroups } from "../../alerts/index";
import { routingTree } from "../../alerts/routing";
import { renderAlertmanagerConfig, renderTemplates, TEMPLATE_FILE } from "../render/alertmanager";
import { fromPrometheusDir, PROMETHEUS_RULES_DIR, renderPrometheusConfig, type ScrapeAddresses } from "../render/prometheus";
import { loadStackSettings, SECRET_KEYS, type SecretKey, type Settings } from "../settings";
import { renderStack } from "../synth";
import { JobRunner, JOB_NAMES, SEED_SQL, type JobName } from "./jobs";
import { getJson, LOOPBACK, pickPort, sleep, tryFetch, waitFor } from "./net";
import { ensurePackages } from "./packages";
import { isRoot, jobEnv, PG_BIN, psql, REPO_ROOT, run, runJob, serverUser } from "./postgres";
import { alertmanagerArgs, blackboxArgs, blackboxConfig, locate, postgresExporterArgs, prometheusArgs, pushgatewayArgs, type ProgramName } from "./services";
import { startSink, toNotification, type Notification, type Sink } from "./sink";
import {
  DEFAULT_PORTS,
  isOurs,
  layout,
  pidAlive,
  pidFiles,
  readState,
  removePid,
  SERVICES,
  supervisorRunning,
  writePid,
  writeState,
  type Layout,
  type Ports,
  type ServiceName,
  type StackState,
} from "./state";

export const LOCAL_STACK = "local";

export interface UpOptions {
  readonly dir?: string;
  /** Install missing Debian packages (root on Debian). Default true. */
  readonly install?: boolean;
  /** Where the screen goes (stdout by default). */
  readonly print?: (line: string) => void;
  /** Any free ports instead of the fixed defaults (tests: never collide with a stack someone runs). */
  readonly randomPorts?: boolean;
}

export class AlreadyRunningError extends Error {}

const urlOf = (port: number) => `http://${LOOPBACK}:${port}`;

// ----------------------------------------------------------------- children

interface ChildSpec {
  readonly name: ServiceName;
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

// ---------------------------------------------------------------- rendering

/** The local stack's settings as the runner uses them: secrets as files in the data dir, receivers on the sink. */
export function runtimeSettings(base: Settings, l: Layout, ports: Ports): Settings {
  const s = structuredClone(base) as Settings;
  const sink = urlOf(ports.sink);
  s.routing.secretsDir = l.secrets;
  s.routing.pagerdutyUrl = `${sink}/pagerduty`;
  s.routing.deadMansSwitchUrl = `${sink}/deadmansswitch`;
  return s;
}

export function scrapeTargets(ports: Ports): ScrapeAddresses {
  const at = (p: number) => `${LOOPBACK}:${p}`;
  return {
    auth: at(ports.auth),
    blackbox: at(ports.blackbox),
    healthUrl: `${urlOf(ports.auth)}/health`,
    postgresExporter: at(ports.postgresExporter),
    pushgateway: at(ports.pushgateway),
    prometheus: at(ports.prometheus),
    alertmanager: at(ports.alertmanager),
  };
}

/** Write every configuration file the children read. Returns the number of rule files. */
function renderConfigs(s: Settings, l: Layout, ports: Ports): number {
  const rendered = renderStack(s);
  const rulesDir = join(l.prometheus, fromPrometheusDir(PROMETHEUS_RULES_DIR));
  rmSync(rulesDir, { recursive: true, force: true });
  mkdirSync(rulesDir, { recursive: true });
  let ruleFiles = 0;
  for (const [rel, content] of rendered.files) {
    if (!rel.startsWith(PROMETHEUS_RULES_DIR)) continue;
    writeFileSync(join(l.prometheus, fromPrometheusDir(rel)), content);
    ruleFiles++;
  }
  writeFileSync(join(l.prometheus, "prometheus.yaml"), renderPrometheusConfig(s, prometheusRuleGroups(s), scrapeTargets(ports)));

  mkdirSync(join(l.alertmanager, "templates"), { recursive: true });
  mkdirSync(l.secrets, { recursive: true, mode: 0o700 });
  const sink = urlOf(ports.sink);
  const secrets: Record<SecretKey, string> = {
    slackAuthWebhookUrl: `${sink}/slack-auth`,
    slackSecurityWebhookUrl: `${sink}/slack-security`,
    pagerdutyRoutingKey: "local-routing-key",
    smtpPassword: "local-smtp-password",
    deadMansSwitchToken: "local-dead-mans-switch-token",
  };
  for (const key of SECRET_KEYS) writeFileSync(join(l.secrets, key), secrets[key], { mode: 0o600 });
  writeFileSync(join(l.alertmanager, "alertmanager.yaml"), renderAlertmanagerConfig(s, routingTree(s)));
  writeFileSync(join(l.alertmanager, "templates", TEMPLATE_FILE), renderTemplates(s));

  mkdirSync(l.blackbox, { recursive: true });
  writeFileSync(join(l.blackbox, "blackbox.yml"), blackboxConfig());
  return ruleFiles;
}

// ---------------------------------------------------------------- the stack

export interface RunningStack {
  readonly state: StackState;
  readonly settings: Settings;
  readonly notifications: readonly Notification[];
  /** Stop every child, the jobs and the sink. Idempotent. */
  stop(): Promise<void>;
  /** Resolves when the stack has stopped (Ctrl-C, `down`, or stop()). */
  readonly stopped: Promise<void>;
}

/** Stop what an earlier, crashed supervisor left running (pid files of this data dir). */
async function reapLeftovers(l: Layout, print: (s: string) => void): Promise<void> {
  const prev = readState(l);
  const order = (name: string) => -SERVICES.indexOf(name as ServiceName);
  for (const [name, pid] of Object.entries(pidFiles(l)).sort(([a], [b]) => order(a) - order(b))) {
    if (name === "supervisor") continue;
    const marker = prev?.markers?.[name as ServiceName];
    if (isOurs(pid, marker)) {
      print(`stopping ${name} (pid ${pid}) left running by an earlier run`);
      await killAndWait(pid, name === "postgres" ? "SIGINT" : "SIGTERM");
    }
    removePid(l, name);
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

export async function up(o: UpOptions = {}): Promise<RunningStack> {
  const print = o.print ?? ((line: string) => console.log(line));
  const l = layout(o.dir);
  mkdirSync(l.dir, { recursive: true });
  const previous = readState(l);
  if (previous && previous.supervisorPid !== process.pid && supervisorRunning(previous)) {
    throw new AlreadyRunningError(`the local stack in ${l.dir} is already running (supervisor pid ${previous.supervisorPid}): npm run local -- status`);
  }
  await reapLeftovers(l, print);
  await ensurePackages({ install: o.install ?? true, log: (line) => print(`local: ${line}`) });

  const base = loadStackSettings(LOCAL_STACK);
  // The fixed defaults when they are free, so that URLs stay the same across restarts.
  const taken = new Set<number>();
  const ports = {} as Record<keyof Ports, number>;
  for (const key of Object.keys(DEFAULT_PORTS) as (keyof Ports)[]) {
    ports[key] = await pickPort(o.randomPorts ? undefined : DEFAULT_PORTS[key], taken);
    taken.add(ports[key]);
  }
  const s = runtimeSettings(base, l, ports);
  for (const d of [l.logs, l.run, l.prometheus, l.alertmanager, l.pushgateway, l.backups]) mkdirSync(d, { recursive: true });
  const ruleFiles = renderConfigs(s, l, ports);

  const state: StackState = {
    version: 1,
    dir: l.dir,
    stack: s.stack,
    supervisorPid: process.pid,
    // Relative to the repository: the command line may name the script relatively or absolutely.
    supervisorMarker: process.argv[1] ? relative(REPO_ROOT, process.argv[1]) : "node",
    startedAt: new Date().toISOString(),
    ready: false,
    ports,
    pids: {},
    markers: {},
  };
  writeState(l, state);
  writePid(l, "supervisor", process.pid);

  const notifications: Notification[] = [];
  let heartbeats = 0;
  const databaseUrl = `postgresql://postgres@${LOOPBACK}:${ports.postgres}/auth`;
  const children = new Map<ServiceName, Child>();
  let stopping = false;
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => (resolveStopped = resolve));

  const onChildExit = (c: Child, code: number | null, signal: NodeJS.Signals | null, expected: boolean) => {
    delete state.pids[c.spec.name];
    if (!stopping) writeState(l, state);
    if (!expected && !stopping) print(`${clock()} ✗ ${c.spec.name} exited (${signal ?? `code ${code}`}); see ${relative(process.cwd(), l.log(c.spec.name)) || l.log(c.spec.name)}`);
  };
  const startChild = async (spec: ChildSpec, timeoutMs?: number) => {
    const c = children.get(spec.name) ?? new Child(spec, l, onChildExit);
    children.set(spec.name, c);
    await c.start(timeoutMs);
    state.pids[spec.name] = c.pid!;
    (state.markers as Record<string, string>)[spec.name] = spec.marker ?? spec.command;
    writeState(l, state);
  };

  // The notification sink and control API, first: Alertmanager delivers to it.
  let jobs: JobRunner | undefined;
  const sink: Sink = await startSink({
    port: ports.sink,
    onReceive: (r) => {
      const n = toNotification(r);
      if (!n) return;
      notifications.push(n);
      if (notifications.length > 5000) notifications.splice(0, notifications.length - 5000);
      appendFileSync(l.notifications, `${JSON.stringify(n)}\n`);
      if (n.receiver === "deadmansswitch") {
        if (heartbeats++ === 0) print(`${clock()} ♥ ${n.alertname} → deadmansswitch (the alert path works; repeats every minute, not printed again)`);
        return;
      }
      print(formatNotification(n));
    },
    api: (req, res, body) => controlApi(req, res, body),
  });

  async function controlApi(req: IncomingMessage, res: ServerResponse, _body: string): Promise<boolean> {
    const url = new URL(req.url ?? "/", "http://localhost");
    if (!url.pathname.startsWith("/api/")) return false;
    const json = (code: number, body: unknown) => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
      return true;
    };
    const parts = url.pathname.split("/").filter(Boolean); // api, ...
    if (req.method === "GET" && parts[1] === "state") {
      return json(200, { ...state, running: Object.fromEntries(SERVICES.map((n) => [n, children.get(n)?.running ?? false])), jobs: jobs?.status, jobsPaused: jobs?.isPaused ?? false, heartbeats });
    }
    if (req.method === "GET" && parts[1] === "notifications") {
      const since = Number(url.searchParams.get("since") ?? 0);
      return json(200, notifications.filter((n) => n.at >= since));
    }
    if (req.method === "POST" && parts[1] === "services" && parts.length === 4) {
      const c = children.get(parts[2] as ServiceName);
      if (!c) return json(404, { error: `no service ${parts[2]}` });
      if (parts[3] === "stop") {
        print(`${clock()} ■ ${c.spec.name} stopped (drill)`);
        await c.stop();
        return json(200, { stopped: c.spec.name });
      }
      if (parts[3] === "start") {
        await startChild(c.spec);
        print(`${clock()} ▶ ${c.spec.name} started again`);
        return json(200, { started: c.spec.name, pid: c.pid });
      }
    }
    if (req.method === "POST" && parts[1] === "jobs" && jobs) {
      if (parts[2] === "pause") {
        jobs.pause();
        print(`${clock()} ■ database jobs paused (drill)`);
        return json(200, { paused: true });
      }
      if (parts[2] === "resume") {
        jobs.resume();
        print(`${clock()} ▶ database jobs resumed`);
        return json(200, { paused: false });
      }
      if (parts[2] === "run" && JOB_NAMES.includes(parts[3] as JobName)) {
        const result = await jobs.run(parts[3] as JobName);
        return json(200, { code: result?.code ?? null });
      }
    }
    return json(404, { error: `no such control endpoint: ${req.method} ${url.pathname}` });
  }

  const stopAll = async () => {
    if (stopping) return stopped;
    stopping = true;
    state.ready = false;
    writeState(l, state);
    await jobs?.stop();
    for (const name of [...SERVICES].reverse()) await children.get(name)?.stop();
    await sink.close();
    removePid(l, "supervisor");
    state.pids = {};
    writeState(l, state);
    resolveStopped();
    return stopped;
  };
  const lastResort = () => {
    for (const c of children.values()) c.killNow();
  };
  process.once("exit", lastResort);

  try {
    // ---- PostgreSQL: initdb on first start, as the postgres user under root; data kept across restarts.
    const owner = serverUser();
    await preparePostgres(l, owner, print);
    await startChild({
      name: "postgres",
      command: join(PG_BIN, "postgres"),
      args: ["-D", l.pgData, "-p", String(ports.postgres), "-c", `listen_addresses=${LOOPBACK}`, "-c", "unix_socket_directories=", "-c", "max_connections=100"],
      user: owner,
      cwd: l.postgres,
      stopSignal: "SIGINT",
      ready: async () => (await run(join(PG_BIN, "pg_isready"), ["-q", "-h", LOOPBACK, "-p", String(ports.postgres)])).code === 0,
    });
    const adminUrl = `postgresql://postgres@${LOOPBACK}:${ports.postgres}/postgres`;
    const exists = await psql(adminUrl, "SELECT 1 FROM pg_database WHERE datname = 'auth'");
    if (exists.stdout.trim() !== "1") {
      const created = await psql(adminUrl, "CREATE DATABASE auth");
      if (created.code !== 0) throw new Error(`CREATE DATABASE auth: ${created.stderr}`);
    }
    const migrated = await runJob("migrate.sh", { DATABASE_URL: databaseUrl, BACKUP_DESTINATION: `file://${l.backups}` }, ["up"]);
    appendFileSync(l.log("jobs"), migrated.stderr);
    if (migrated.code !== 0) throw new Error(`postgres/jobs/migrate.sh up failed (exit ${migrated.code}):\n${migrated.stderr}`);
    const rows = await psql(databaseUrl, "SELECT count(*) FROM refresh_token_families");
    if (rows.stdout.trim() === "0") await psql(databaseUrl, SEED_SQL);

    // ---- Exporters, the demo service, Alertmanager: all before Prometheus, so its first scrape finds them up.
    const http = (port: number, path: string) => async () => (await tryFetch(`${urlOf(port)}${path}`, {}, 1000))?.ok === true;
    const bin = (p: ProgramName) => locate(p)!;
    await startChild({
      name: "pushgateway",
      command: bin("pushgateway"),
      args: pushgatewayArgs({ port: ports.pushgateway, persistenceFile: join(l.pushgateway, "metrics.db") }),
      ready: http(ports.pushgateway, "/-/ready"),
    });
    await Promise.all([
      startChild({
        name: "postgres-exporter",
        command: bin("postgresExporter"),
        args: postgresExporterArgs({ port: ports.postgresExporter }),
        env: { ...process.env, DATA_SOURCE_NAME: `${databaseUrl}?sslmode=disable` },
        ready: http(ports.postgresExporter, "/metrics"),
      }),
      startChild({
        name: "auth",
        command: process.execPath,
        args: ["--import", "tsx", join(__dirname, "demo-main.ts"), "--port", String(ports.auth), "--log", l.authLog],
        marker: "demo-main",
        ready: http(ports.auth, "/health"),
      }),
      startChild({
        name: "blackbox",
        command: bin("blackbox"),
        args: blackboxArgs({ configFile: join(l.blackbox, "blackbox.yml"), port: ports.blackbox }),
        ready: http(ports.blackbox, "/metrics"),
      }),
      startChild({
        name: "alertmanager",
        command: bin("alertmanager"),
        args: alertmanagerArgs({ configFile: join(l.alertmanager, "alertmanager.yaml"), storage: join(l.alertmanager, "data"), port: ports.alertmanager }),
        ready: http(ports.alertmanager, "/-/ready"),
      }),
    ]);

    // ---- The jobs' first round before Prometheus starts: the backup alerts find their series on the first scrape.
    jobs = new JobRunner({
      databaseUrl,
      backupDir: l.backups,
      pushgatewayUrl: urlOf(ports.pushgateway),
      logFile: l.log("jobs"),
      databaseUp: () => children.get("postgres")?.running === true,
      onResult: (job, result, seconds) => {
        if (result.code !== 0 && !stopping) print(`${clock()} ✗ job ${job} failed (exit ${result.code}, ${seconds.toFixed(1)}s); see ${relative(process.cwd(), l.log("jobs")) || l.log("jobs")}`);
      },
    });
    const jobsStarted = jobs.start();
    await waitFor("the first backup", () => (jobs!.status.backup.runs > 0 ? true : undefined), 120_000);

    await startChild({
      name: "prometheus",
      command: bin("prometheus"),
      args: prometheusArgs({ configFile: join(l.prometheus, "prometheus.yaml"), dataDir: join(l.prometheus, "data"), port: ports.prometheus }),
      ready: http(ports.prometheus, "/-/ready"),
    });
    await jobsStarted;
    await waitFor(
      "every scrape target to be up",
      async () => {
        const t = await getJson<{ data: { activeTargets: { health: string }[] } }>(`${urlOf(ports.prometheus)}/api/v1/targets`).catch(() => undefined);
        const targets = t?.data.activeTargets ?? [];
        return targets.length > 0 && targets.every((x) => x.health === "up") ? true : undefined;
      },
      60_000,
      500,
    );
  } catch (e) {
    await stopAll();
    process.removeListener("exit", lastResort);
    throw e;
  }

  state.ready = true;
  writeState(l, state);
  print(screen(s, l, ports, ruleFiles));
  void stopped.then(() => process.removeListener("exit", lastResort));
  return { state, settings: s, notifications, stop: stopAll, stopped };
}

async function preparePostgres(l: Layout, owner: { uid: number; gid: number } | undefined, print: (s: string) => void): Promise<void> {
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

// ------------------------------------------------------------------ output

export function formatNotification(n: Notification): string {
  const mark = n.status === "firing" ? "▶ FIRING  " : "✓ RESOLVED";
  const slug = /\/([a-z0-9-]+)\.md$/.exec(n.runbookUrl)?.[1];
  const local = slug && existsSync(join(REPO_ROOT, "runbooks", `${slug}.md`)) ? ` (runbooks/${slug}.md)` : "";
  return [
    `${clock(n.at)} ${mark} ${n.severity || "-"} ${n.alertname} → ${n.receiver}${n.channel ? ` ${n.channel}` : ""}`,
    `           ${n.summary}`,
    `           runbook: ${n.runbookUrl}${local}`,
  ].join("\n");
}

function clock(ms = Date.now()): string {
  return new Date(ms).toTimeString().slice(0, 8);
}

function screen(s: Settings, l: Layout, ports: Ports, ruleFiles: number): string {
  const rel = (p: string) => relative(process.cwd(), p) || p;
  const row = (what: string, where: string, note = "") => `  ${what.padEnd(20)}${where.padEnd(34)}${note}`;
  const every = (ms: number) => `${ms / 60_000}m`;
  return [
    "",
    `authwatch local stack is up (stack "${s.stack}", data in ${rel(l.dir)}/; scrape ${s.scrapeInterval}, evaluate ${s.evaluationInterval})`,
    "",
    row("Prometheus", urlOf(ports.prometheus), `${ruleFiles} rule files, alerts: ${urlOf(ports.prometheus)}/alerts`),
    row("Alertmanager", urlOf(ports.alertmanager), "routing of contracts/alerts.md, receivers → the sink below"),
    row("demo auth service", urlOf(ports.auth), `/metrics /health; JSON logs → ${rel(l.authLog)}`),
    row("PostgreSQL", `${LOOPBACK}:${ports.postgres}`, `database auth (postgresql://postgres@${LOOPBACK}:${ports.postgres}/auth)`),
    row("Pushgateway", urlOf(ports.pushgateway), "pg-backup, restore-verify, token-cleanup push here"),
    row("blackbox exporter", urlOf(ports.blackbox), `probes ${urlOf(ports.auth)}/health (job ${s.scrapeJobs.authHealth})`),
    row("postgres_exporter", urlOf(ports.postgresExporter), `job ${s.scrapeJobs.postgres}`),
    row("database jobs", `backup every ${every(120_000)}`, `restore-verify every ${every(300_000)}, token-cleanup every ${every(180_000)}; log ${rel(l.log("jobs"))}`),
    row("notification sink", urlOf(ports.sink), `Slack, PagerDuty and dead man's switch stand-ins; also ${rel(l.notifications)}`),
    "",
    "Notifications appear below as Alertmanager delivers them (alert, severity, receiver, summary, runbook).",
    "In another terminal:  npm run local -- status | drill <scenario> | drill all | down",
    "Loki and Grafana are not part of the local stack (README \"Local stack\"). Ctrl-C stops everything; data stays for the next start.",
    "",
  ].join("\n");
}
