/** `npm run local -- status` and `npm run local -- down`, from another process than the supervisor. */
import { relative } from "node:path";
import { getJson, localUrl as u, LOOPBACK } from "./net";
import type { JobStatus } from "./jobs";
import type { Notification } from "./sink";
import { haStatusLines } from "./ha/cluster";
import { HA_PROCESSES, layout, LOCAL_PROCESSES, pidAlive, processOrder, pidFiles, readState, removePid, supervisorRunning, writeState, type ProcessName, type StackState } from "./state";
import { killAndWait, stopRecorded } from "./supervisor";

export interface StatusReport {
  readonly running: boolean;
  readonly text: string;
}

const ago = (iso: string | undefined) => (iso ? `${Math.round((Date.now() - Date.parse(iso)) / 1000)}s ago` : "never");

/** The HA members' URLs (alertmanager-1, …), by process name. */
function haWhere(state: StackState): Record<string, string> {
  const ha = state.ha;
  if (!ha) return {};
  return Object.fromEntries([...ha.alertmanager.slice(1).map((p, i) => [`alertmanager-${i + 1}`, u(p)]), ...ha.prometheus.slice(1).map((p, i) => [`prometheus-${i + 1}`, u(p)])]);
}

export async function status(dir?: string): Promise<StatusReport> {
  const l = layout(dir);
  const state = readState(l);
  const rel = relative(process.cwd(), l.dir) || l.dir;
  if (!supervisorRunning(state)) {
    const left = Object.entries(pidFiles(l)).filter(([, pid]) => pidAlive(pid));
    const lines = [`authwatch local stack (${rel}): not running`];
    if (left.length > 0) lines.push(`  left running by an earlier run: ${left.map(([n, p]) => `${n} (pid ${p})`).join(", ")}; npm run local -- down stops them`);
    else lines.push("  start it with: npm run local");
    return { running: false, text: lines.join("\n") };
  }
  const live = await getJson<{ running: Record<ProcessName, boolean>; pids: Record<string, number>; jobs?: Record<string, JobStatus>; jobsPaused: boolean; heartbeats: number }>(
    `${u(state.ports.sink)}/api/state`,
  ).catch(() => undefined);
  const lines = [
    `authwatch local stack (${rel}): ${state.ready ? "running" : "starting"}, supervisor pid ${state.supervisorPid}, up since ${new Date(state.startedAt).toLocaleString()}`,
  ];
  const where: Record<string, string> = {
    postgres: `${LOOPBACK}:${state.ports.postgres}`,
    pushgateway: u(state.ports.pushgateway),
    "postgres-exporter": u(state.ports.postgresExporter),
    auth: u(state.ports.auth),
    blackbox: u(state.ports.blackbox),
    alertmanager: u(state.ports.alertmanager),
    prometheus: u(state.ports.prometheus),
    ...haWhere(state),
  };
  for (const name of state.ha ? [...LOCAL_PROCESSES, ...HA_PROCESSES].sort((a, b) => processOrder(a) - processOrder(b)) : LOCAL_PROCESSES) {
    const up = live?.running[name] ?? false;
    lines.push(`  ${name.padEnd(18)} ${(up ? `pid ${live?.pids[name] ?? state.pids[name]}` : "STOPPED").padEnd(11)} ${where[name]}`);
  }
  lines.push(`  ${"sink".padEnd(18)} ${`pid ${state.supervisorPid}`.padEnd(11)} ${u(state.ports.sink)}  (${live?.heartbeats ?? 0} Watchdog heartbeats received)`);
  if (live?.jobs) {
    const jobs = Object.values(live.jobs).map((j) => `${j.name} ${ago(j.lastRun)} (exit ${j.lastCode ?? "-"}, ${j.runs} runs, ${j.failures} failed)`);
    lines.push(`  jobs${live.jobsPaused ? " (PAUSED)" : ""}: ${jobs.join("; ")}`);
  }
  lines.push(...(await haStatusLines(state)));
  const alerts = await getJson<{ data: { alerts: { labels: Record<string, string>; state: string }[] } }>(`${u(state.ports.prometheus)}/api/v1/alerts`).catch(() => undefined);
  const active = (alerts?.data.alerts ?? []).filter((a) => a.labels.alertname !== "Watchdog");
  lines.push(
    active.length === 0
      ? "  alerts: none firing (besides Watchdog)"
      : `  alerts: ${active.map((a) => `${a.labels.alertname} ${a.labels.severity} (${a.state})`).join(", ")}`,
  );
  const notes = await getJson<Notification[]>(`${u(state.ports.sink)}/api/notifications?since=0`).catch(() => [] as Notification[]);
  const recent = notes.filter((n) => n.receiver !== "deadmansswitch").slice(-5);
  lines.push(`  last notifications (${l.notifications}):`);
  if (recent.length === 0) lines.push("    none yet");
  for (const n of recent) lines.push(`    ${new Date(n.at).toTimeString().slice(0, 8)} ${n.status} ${n.severity} ${n.alertname} → ${n.receiver}`);
  return { running: true, text: lines.join("\n") };
}

/** Stop the stack: ask the supervisor, then make sure no child of this data dir is left. Returns the pids stopped. */
export async function down(dir: string | undefined, log: (line: string) => void): Promise<number[]> {
  const l = layout(dir);
  const state = readState(l);
  const stopped: number[] = [];
  if (supervisorRunning(state)) {
    log(`stopping the local stack (supervisor pid ${state.supervisorPid})…`);
    await killAndWait(state.supervisorPid, "SIGTERM", 90_000);
    stopped.push(state.supervisorPid);
  }
  stopped.push(...(await stopRecorded(l, state?.markers ?? {}, (name, pid) => log(`stopping ${name} (pid ${pid})`))));
  removePid(l, "supervisor");
  if (state) writeState(l, { ...state, ready: false, pids: {} });
  log(stopped.length === 0 ? `the local stack (${l.dir}) was not running` : `stopped; data kept in ${relative(process.cwd(), l.dir) || l.dir}`);
  return stopped;
}
