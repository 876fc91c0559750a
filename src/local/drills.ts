/**
 * Alert drills against the running local stack (seed 004: "test alert
 * notifications"): make the demo service or the stack misbehave, wait for the
 * expected alert to reach the receiver contracts/alerts.md routes it to,
 * measure the time from fault to notification against the floor (scrape
 * interval + evaluation interval + `for` + group_wait), restore normal
 * behaviour, and fail when the page did not arrive within the budget.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { prometheusRuleGroups } from "../../alerts/index";
import { routingTree, type Route, type RoutingTree } from "../../alerts/routing";
import { mustParseDuration } from "../duration";
import type { AlertingRule, Severity } from "../model";
import { alertLabels } from "../render/prometheus";
import { loadStackSettings, type Settings } from "../settings";
import { contractReceivers, inhibitorsOf } from "./contract";
import { DEMO_PASSWORD } from "./demo";
import { getJson, LOOPBACK, postJson, sleep, tryFetch } from "./net";
import { REPO_ROOT } from "./postgres";
import type { Notification } from "./sink";
import { layout, readState, supervisorRunning, type Layout, type StackState } from "./state";
import { LOCAL_STACK, runtimeSettings } from "./stack";

// ------------------------------------------------------------------ context

export interface DrillContext {
  readonly l: Layout;
  readonly state: StackState;
  readonly settings: Settings;
  readonly url: { auth: string; prometheus: string; alertmanager: string; sink: string; pushgateway: string };
  readonly log: (line: string) => void;
}

export class NotRunningError extends Error {}

/** Attach to the local stack running in `dir` (its supervisor must be up and ready). */
export function connect(dir: string | undefined, log: (line: string) => void): DrillContext {
  const l = layout(dir);
  const state = readState(l);
  if (!supervisorRunning(state)) throw new NotRunningError(`the local stack in ${l.dir} is not running: start it with npm run local`);
  if (!state.ready) throw new NotRunningError(`the local stack in ${l.dir} is still starting`);
  const u = (p: number) => `http://${LOOPBACK}:${p}`;
  return {
    l,
    state,
    settings: runtimeSettings(loadStackSettings(state.stack ?? LOCAL_STACK), l, state.ports),
    url: { auth: u(state.ports.auth), prometheus: u(state.ports.prometheus), alertmanager: u(state.ports.alertmanager), sink: u(state.ports.sink), pushgateway: u(state.ports.pushgateway) },
    log,
  };
}

// ---------------------------------------------------------------- scenarios

export interface Scenario {
  readonly name: string;
  /** The fault, as a person would describe the incident. */
  readonly fault: string;
  readonly alert: string;
  readonly severity: Severity;
  /** Tells rules of one name apart (BackupTooOld reason="never_reported"). */
  readonly ruleLabels?: Readonly<Record<string, string>>;
  inject(ctx: DrillContext): Promise<void>;
  restore(ctx: DrillContext): Promise<string>;
}

const control = (ctx: DrillContext, path: string, body: unknown = {}) => postJson(`${ctx.url.sink}/api/${path}`, body, 120_000);
const demoFaults = (ctx: DrillContext, faults: { errorRatio?: number; health?: boolean }) => postJson(`${ctx.url.auth}/_control`, faults);

async function call(ctx: DrillContext, path: string, body: unknown, ip: string): Promise<{ status: number; json: Record<string, string> }> {
  const res = await fetch(`${ctx.url.auth}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-forwarded-for": ip },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : {}) as Record<string, string> };
}

/** A credential-stuffing run against the login endpoint, until stopped. */
let attack: { stop: () => Promise<void> } | undefined;

function startAttack(ctx: DrillContext, perSecond: number): { stop: () => Promise<void> } {
  let running = true;
  let sent = 0;
  const inflight = new Set<Promise<unknown>>();
  const loop = (async () => {
    while (running) {
      for (let i = 0; i < perSecond / 10 && running; i++) {
        const p = call(ctx, "/v1/login", { email: `user${1 + Math.floor(Math.random() * 500)}@example.com`, password: `guess-${sent++}` }, `203.0.113.${1 + Math.floor(Math.random() * 254)}`).catch(() => undefined);
        inflight.add(p);
        void p.finally(() => inflight.delete(p));
      }
      await sleep(100);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await Promise.allSettled([...inflight]);
      ctx.log(`  the attacker sent ${sent} failed logins`);
    },
  };
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: "refresh-reuse",
    fault: "a stolen refresh token is replayed after its owner already rotated it",
    alert: "AuthRefreshTokenReuse",
    severity: "critical",
    async inject(ctx) {
      const victim = "user7@example.com";
      const login = await call(ctx, "/v1/login", { email: victim, password: DEMO_PASSWORD }, "198.51.100.7");
      if (login.status !== 200) throw new Error(`login as ${victim} failed: HTTP ${login.status}`);
      const stolen = login.json.refreshToken!;
      const owner = await call(ctx, "/v1/token/refresh", { refreshToken: stolen }, "198.51.100.7");
      if (owner.status !== 200) throw new Error(`the owner's refresh failed: HTTP ${owner.status}`);
      const replay = await call(ctx, "/v1/token/refresh", { refreshToken: stolen }, "203.0.113.66");
      ctx.log(`  the attacker's replay was answered HTTP ${replay.status}: ${replay.json.error ?? ""}`);
      if (replay.status !== 401) throw new Error("the service accepted a reused refresh token");
    },
    async restore() {
      return "nothing to restore: the service revoked the token family (auth.refresh.reuse in the log)";
    },
  },
  {
    name: "brute-force",
    fault: "credential stuffing: 25 wrong passwords a second for random users from a /24",
    alert: "AuthHighLoginFailureRate",
    severity: "critical",
    async inject(ctx) {
      attack = startAttack(ctx, 25);
    },
    async restore() {
      await attack?.stop();
      attack = undefined;
      return "attack stopped";
    },
  },
  {
    name: "error-burst",
    fault: "the database pool is exhausted: 80 % of requests answer 500",
    alert: "AuthHighErrorRate",
    severity: "critical",
    async inject(ctx) {
      await demoFaults(ctx, { errorRatio: 0.8 });
    },
    async restore(ctx) {
      await demoFaults(ctx, { errorRatio: 0 });
      return "requests succeed again (the 5m error ratio decays over the next minutes)";
    },
  },
  {
    name: "backup-missing",
    fault: "the backup CronJob stops running and the Pushgateway lost its group",
    alert: "BackupTooOld",
    severity: "warning",
    ruleLabels: { reason: "never_reported" },
    async inject(ctx) {
      await control(ctx, "jobs/pause");
      const res = await fetch(`${ctx.url.pushgateway}/metrics/job/${ctx.settings.scrapeJobs.pgBackup}/database/auth`, { method: "DELETE" });
      if (!res.ok) throw new Error(`deleting the pg-backup group: HTTP ${res.status}`);
    },
    async restore(ctx) {
      await control(ctx, "jobs/resume");
      const r = await control(ctx, "jobs/run/backup");
      return `jobs resumed; a backup ran now (exit ${(r as { code: number | null }).code})`;
    },
  },
  {
    name: "database-down",
    fault: "PostgreSQL stops",
    alert: "DatabaseDown",
    severity: "critical",
    async inject(ctx) {
      await control(ctx, "services/postgres/stop");
    },
    async restore(ctx) {
      await control(ctx, "services/postgres/start");
      return "PostgreSQL started again";
    },
  },
  {
    name: "service-down",
    fault: "the auth service process dies (its health probe fails)",
    alert: "AuthServiceDown",
    severity: "critical",
    async inject(ctx) {
      await control(ctx, "services/auth/stop");
    },
    async restore(ctx) {
      await control(ctx, "services/auth/start");
      return "the auth service started again";
    },
  },
];

/** `drill all` order: AuthServiceDown silences every auth alert and DatabaseDown every postgres one, so they come last. */
export const SCENARIO_NAMES = SCENARIOS.map((s) => s.name);

// ------------------------------------------------------------- expectations

export interface Expectation {
  readonly rule: AlertingRule;
  readonly labels: Record<string, string>;
  readonly receivers: string[];
  readonly floorMs: number;
  readonly floorText: string;
  readonly budgetMs: number;
}

const matches = (m: string, labels: Record<string, string>) => {
  const x = /^(\w+)(=~|!=|=)"(.*)"$/.exec(m);
  if (!x) throw new Error(`cannot read matcher ${m}`);
  const v = labels[x[1]!] ?? "";
  return x[2] === "=" ? v === x[3] : x[2] === "!=" ? v !== x[3] : new RegExp(`^(?:${x[3]})$`).test(v);
};

/** The routes Alertmanager takes for these labels (first match, and on past `continue`). */
export function routesFor(tree: RoutingTree, labels: Record<string, string>): Route[] {
  const out: Route[] = [];
  for (const r of tree.routes) {
    if (!r.matchers.every((m) => matches(m, labels))) continue;
    out.push(r);
    if (!r.continue) break;
  }
  return out;
}

export function expectation(s: Settings, sc: Scenario): Expectation {
  const rules = prometheusRuleGroups(s)
    .flatMap((g) => g.rules)
    .filter((r): r is AlertingRule => r.kind === "alert" && r.alert === sc.alert && r.severity === sc.severity)
    .filter((r) => Object.entries(sc.ruleLabels ?? {}).every(([k, v]) => r.labels?.[k] === v));
  if (rules.length !== 1) throw new Error(`${sc.name}: ${rules.length} rules named ${sc.alert} (${sc.severity}); name one with ruleLabels`);
  const rule = rules[0]!;
  const labels = { alertname: rule.alert, ...alertLabels(rule) };
  const tree = routingTree(s);
  const routes = routesFor(tree, labels);
  const groupWait = Math.max(0, ...routes.map((r) => mustParseDuration(r.groupWait ?? tree.root.groupWait ?? "30s")));
  const scrape = mustParseDuration(s.scrapeInterval);
  const evaluation = mustParseDuration(s.evaluationInterval);
  const forSecs = rule.for ? mustParseDuration(rule.for) : 0;
  const floor = scrape + evaluation + forSecs + groupWait;
  return {
    rule,
    labels,
    receivers: contractReceivers(labels, s.routing.mode === "chat-only"),
    floorMs: floor * 1000,
    floorText: `${floor}s = scrape ${scrape}s + evaluation ${evaluation}s + for ${forSecs}s + group_wait ${groupWait}s`,
    // Twice the floor plus 30s: room for the signal to cross its threshold (5m rate windows) and for a busy machine.
    budgetMs: (2 * floor + 30) * 1000,
  };
}

// ------------------------------------------------------------ preconditions

interface PromAlert {
  labels: Record<string, string>;
  state: string;
}

async function activeAlerts(ctx: DrillContext): Promise<PromAlert[]> {
  const r = await getJson<{ data: { alerts: PromAlert[] } }>(`${ctx.url.prometheus}/api/v1/alerts`);
  return r.data.alerts;
}

async function instantValue(ctx: DrillContext, query: string): Promise<number | undefined> {
  const r = await getJson<{ data: { result: { value: [number, string] }[] } }>(`${ctx.url.prometheus}/api/v1/query?query=${encodeURIComponent(query)}`);
  const v = r.data.result[0]?.value[1];
  return v === undefined ? undefined : Number(v);
}

/** Alertmanager still holds a group for this alert at these receivers (a new alert would wait for group_interval, not group_wait). */
async function alertmanagerGroups(ctx: DrillContext, alertname: string, receivers: readonly string[]): Promise<number> {
  const groups = await getJson<{ labels: Record<string, string>; receiver: { name: string }; alerts: unknown[] }[]>(`${ctx.url.alertmanager}/api/v2/alerts/groups`);
  return groups.filter((g) => g.labels.alertname === alertname && receivers.includes(g.receiver.name)).length;
}

/** What still stands in the way of a clean drill, or undefined when nothing does. */
async function blocker(ctx: DrillContext, e: Expectation): Promise<string | undefined> {
  const s = ctx.settings;
  const down = await activeAlerts(ctx);
  const own = down.find((a) => a.labels.alertname === e.labels.alertname);
  if (own) return `${own.labels.alertname} (${own.labels.severity}) is still ${own.state} from an earlier fault`;
  for (const inh of inhibitorsOf(e.labels)) {
    const a = down.find((x) => x.labels.alertname === inh.alertname && (!inh.severity || x.labels.severity === inh.severity) && x.state === "firing");
    if (a) return `${a.labels.alertname} is firing and would inhibit ${e.labels.alertname}`;
  }
  if ((await alertmanagerGroups(ctx, e.labels.alertname!, e.receivers)) > 0) return `Alertmanager still holds active alerts of ${e.labels.alertname}`;
  // A resolved alert stays in its Alertmanager group until the resolved notification goes out, one
  // group_interval later; firing again before that is deduplicated (no new page). Wait for it.
  const history = await getJson<Notification[]>(`${ctx.url.sink}/api/notifications?since=0`);
  for (const r of e.receivers) {
    const last = history.filter((n) => n.alertname === e.labels.alertname && n.receiver === r).at(-1);
    if (last?.status === "firing") return `${r} has not been told yet that ${e.labels.alertname} resolved (Alertmanager sends that one group_interval after it resolves)`;
  }
  const health: [string, string][] = [
    [`min(probe_success{job="${s.scrapeJobs.authHealth}"})`, "the auth service's health probe"],
    [`min(pg_up{job="${s.scrapeJobs.postgres}"})`, "PostgreSQL (pg_up)"],
    [`min(up)`, "every scrape target"],
  ];
  for (const [q, what] of health) if ((await instantValue(ctx, q)) !== 1) return `${what} is not healthy yet`;
  if (e.labels.alertname === "BackupTooOld" && (await instantValue(ctx, `count(backup_last_success_timestamp_seconds{job="${s.scrapeJobs.pgBackup}"})`)) === undefined) {
    return "no backup has been scraped yet";
  }
  return undefined;
}

async function waitUntilClean(ctx: DrillContext, e: Expectation, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let said = "";
  let since = Date.now();
  for (;;) {
    const b = await blocker(ctx, e).catch((err: Error) => `the stack does not answer (${err.message})`);
    if (b === undefined) return;
    if (b !== said || Date.now() - since > 60_000) {
      ctx.log(`  waiting: ${b}`);
      said = b;
      since = Date.now();
    }
    if (Date.now() > deadline) throw new Error(`not starting: ${b} (waited ${Math.round(timeoutMs / 1000)}s)`);
    await sleep(2000);
  }
}

// -------------------------------------------------------------------- drill

export interface DrillResult {
  readonly scenario: string;
  readonly alert: string;
  readonly severity: string;
  readonly receivers: string[];
  /** ms from the fault to the firing notification at each expected receiver (absent: did not arrive). */
  readonly arrivedMs: Record<string, number>;
  readonly timeToPageMs?: number;
  readonly floorMs: number;
  readonly budgetMs: number;
  readonly ratio?: number;
  readonly ok: boolean;
  readonly runbookUrl?: string;
  readonly runbookFile?: string;
  readonly notifications: Notification[];
  readonly error?: string;
}

const formatMs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

export async function runDrill(ctx: DrillContext, sc: Scenario, opts: { preconditionTimeoutMs?: number } = {}): Promise<DrillResult> {
  const e = expectation(ctx.settings, sc);
  ctx.log(`drill ${sc.name}: ${sc.fault}`);
  ctx.log(`  expects ${sc.alert} (${sc.severity}, ${e.labels.category}) at ${e.receivers.join(" and ")}; floor ${e.floorText}; budget ${formatMs(e.budgetMs)}`);
  const base = { scenario: sc.name, alert: sc.alert, severity: sc.severity, receivers: e.receivers, floorMs: e.floorMs, budgetMs: e.budgetMs };
  try {
    await waitUntilClean(ctx, e, opts.preconditionTimeoutMs ?? 12 * 60_000);
  } catch (err) {
    ctx.log(`  ✗ ${(err as Error).message}`);
    return { ...base, arrivedMs: {}, ok: false, notifications: [], error: (err as Error).message };
  }

  const t0 = Date.now();
  const arrivedMs: Record<string, number> = {};
  let seen: Notification[] = [];
  let error: string | undefined;
  let restored = false;
  const restore = async () => {
    if (restored) return;
    restored = true;
    ctx.log(`  restored: ${await sc.restore(ctx)}`);
  };
  const onSignal = () => {
    void restore().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  try {
    await sc.inject(ctx);
    ctx.log(`  ${new Date(t0).toTimeString().slice(0, 8)} fault injected`);
    while (Date.now() - t0 < e.budgetMs) {
      seen = (await getJson<Notification[]>(`${ctx.url.sink}/api/notifications?since=${t0}`)).filter(
        (n) => n.status === "firing" && n.alertname === sc.alert && n.severity === sc.severity,
      );
      for (const r of e.receivers) {
        const n = seen.find((x) => x.receiver === r);
        if (n && arrivedMs[r] === undefined) {
          arrivedMs[r] = n.at - t0;
          ctx.log(`  ${new Date(n.at).toTimeString().slice(0, 8)} ▶ ${r} after ${formatMs(arrivedMs[r]!)}: ${n.summary}`);
        }
      }
      if (e.receivers.every((r) => arrivedMs[r] !== undefined)) break;
      await sleep(250);
    }
  } catch (err) {
    error = (err as Error).message;
  } finally {
    await restore().catch((err: Error) => ctx.log(`  ✗ restoring failed: ${err.message}`));
    process.removeListener("SIGINT", onSignal);
  }

  const all = e.receivers.every((r) => arrivedMs[r] !== undefined);
  const timeToPageMs = all ? Math.max(...e.receivers.map((r) => arrivedMs[r]!)) : undefined;
  const runbookUrl = seen.find((n) => n.runbookUrl)?.runbookUrl;
  const slug = runbookUrl ? /\/([a-z0-9-]+)\.md$/.exec(runbookUrl)?.[1] : undefined;
  const runbookFile = slug ? join(REPO_ROOT, "runbooks", `${slug}.md`) : undefined;
  const runbookOk = runbookFile !== undefined && existsSync(runbookFile);
  if (!error && !all) error = `no notification at ${e.receivers.filter((r) => arrivedMs[r] === undefined).join(", ")} within ${formatMs(e.budgetMs)}`;
  if (!error && !runbookOk) error = `the notification's runbook_url (${runbookUrl ?? "none"}) names no file in runbooks/`;
  const ok = error === undefined;
  const ratio = timeToPageMs === undefined ? undefined : Number((timeToPageMs / e.floorMs).toFixed(2));
  ctx.log(
    ok
      ? `  ✓ paged in ${formatMs(timeToPageMs!)} (floor ${formatMs(e.floorMs)}, ratio ${ratio}); runbook ${runbookUrl} → runbooks/${slug}.md`
      : `  ✗ ${error}`,
  );
  return { ...base, arrivedMs, timeToPageMs, ratio, ok, runbookUrl, runbookFile, notifications: seen, error };
}

export function scenario(name: string): Scenario {
  const sc = SCENARIOS.find((s) => s.name === name);
  if (!sc) throw new Error(`unknown drill "${name}" (drills: ${SCENARIO_NAMES.join(", ")}, all)`);
  return sc;
}

export function drillTable(results: readonly DrillResult[]): string {
  const head = ["scenario", "alert", "severity", "receiver(s)", "time to page", "floor", "ratio", "result"];
  const rows = results.map((r) => [
    r.scenario,
    r.alert,
    r.severity,
    r.receivers.join(", "),
    r.timeToPageMs === undefined ? "-" : formatMs(r.timeToPageMs),
    formatMs(r.floorMs),
    r.ratio === undefined ? "-" : r.ratio.toFixed(2),
    r.ok ? "ok" : "FAILED",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/** Is the demo service answering (used by tests and status)? */
export async function demoHealthy(ctx: DrillContext): Promise<boolean> {
  return (await tryFetch(`${ctx.url.auth}/health`, {}, 1000))?.ok === true;
}
