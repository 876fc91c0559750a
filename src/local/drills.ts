/**
 * Alert drills against the running local stack (seed 004: "test alert
 * notifications"): make the demo service or the stack misbehave, wait for the
 * expected alert to reach the receiver docs/alerts.md routes it to,
 * measure the time from fault to notification against the floor (scrape
 * interval + evaluation interval + `for` + group_wait), restore normal
 * behaviour, and fail when the page did not arrive within the budget.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { prometheusRuleGroups } from "../../alerts/index";
import { routingTree, type Route, type RoutingTree } from "../../alerts/routing";
import { mustParseDuration } from "../duration";
import type { AlertingRule } from "../model";
import { alertLabels } from "../render/prometheus";
import { loadStackSettings, type Settings } from "../settings";
import { contractReceivers, inhibitorsOf } from "./contract";
import { LOCAL_STACK, runtimeSettings } from "./config";
import { getJson, localUrl, sleep } from "./net";
import { REPO_ROOT } from "./postgres";
import type { Scenario } from "./scenarios";
import type { Notification } from "./sink";
import { layout, readState, supervisorRunning, type Layout, type StackState } from "./state";

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
  return {
    l,
    state,
    settings: runtimeSettings(loadStackSettings(state.stack ?? LOCAL_STACK), l, state.ports),
    url: { auth: localUrl(state.ports.auth), prometheus: localUrl(state.ports.prometheus), alertmanager: localUrl(state.ports.alertmanager), sink: localUrl(state.ports.sink), pushgateway: localUrl(state.ports.pushgateway) },
    log,
  };
}

// ------------------------------------------------------------- expectations

export interface Expectation {
  readonly rule: AlertingRule;
  readonly labels: Record<string, string>;
  readonly receivers: string[];
  readonly floorMs: number;
  readonly floorText: string;
  readonly budgetMs: number;
  /** The longest group_interval of its routes: how long a new alert waits when it joins a group Alertmanager still holds. */
  readonly groupIntervalMs: number;
}

export const matches = (m: string, labels: Record<string, string>) => {
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
  const groupInterval = Math.max(0, ...routes.map((r) => mustParseDuration(r.groupInterval ?? tree.root.groupInterval ?? "5m")));
  const scrape = mustParseDuration(s.scrapeInterval);
  const evaluation = mustParseDuration(s.evaluationInterval);
  const forSecs = rule.for ? mustParseDuration(rule.for) : 0;
  const ramp = sc.ramp?.(s);
  const floor = scrape + evaluation + (ramp?.seconds ?? 0) + forSecs + groupWait;
  return {
    rule,
    labels,
    receivers: contractReceivers(labels, s.routing.mode === "chat-only"),
    floorMs: floor * 1000,
    floorText: `${floor}s = scrape ${scrape}s + evaluation ${evaluation}s${ramp ? ` + ${ramp.text}` : ""} + for ${forSecs}s + group_wait ${groupWait}s`,
    // Twice the floor plus 30s: room for the signal to cross its threshold (5m rate windows) and for a busy machine.
    budgetMs: (2 * floor + 30) * 1000,
    groupIntervalMs: groupInterval * 1000,
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

/**
 * Alertmanager drops an aggregation group once it is empty, at its dispatcher's cleanup tick (every
 * 30s, fixed in 0.25): the resolved notification empties the group, and a new alert joining the group
 * before the tick waits for its group_interval instead of group_wait. The groups API does not show
 * such a group (it lists active alerts only), so the harness waits out the tick.
 */
const EMPTY_GROUP_CLEANUP_MS = 30_000 + 2_000;

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
    if (last && Date.now() - last.at < EMPTY_GROUP_CLEANUP_MS) return `Alertmanager still holds the emptied ${e.labels.alertname} group at ${r} (it drops empty groups every 30s)`;
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

export async function waitUntilClean(ctx: DrillContext, e: Expectation, timeoutMs: number): Promise<void> {
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

/** A timed step after the page (Scenario.afterPage), against its own target. */
export interface DrillStep {
  readonly name: string;
  /** ms the step took (absent: it did not complete). */
  readonly ms?: number;
  readonly targetMs: number;
  readonly ok: boolean;
  readonly error?: string;
}

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
  readonly step?: DrillStep;
}

const formatMs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** Prometheus keeps re-sending a resolved alert for 15 minutes (every resend delay, 1m). */
const RESOLVED_RESEND_MS = 15 * 60_000;

/**
 * A repeat of an incident that resolved less than 15 minutes ago: each re-send of the resolved alert
 * re-creates its Alertmanager group and flushes it at once, so the new alert may join a group that
 * already flushed and wait for its group_interval (docs/alerts.md: a critical's is 1m). The
 * budget allows for that one wait.
 */
async function repeatAllowanceMs(ctx: DrillContext, e: Expectation): Promise<number> {
  const since = Date.now() - RESOLVED_RESEND_MS;
  const history = await getJson<Notification[]>(`${ctx.url.sink}/api/notifications?since=${since}`);
  if (!history.some((n) => n.alertname === e.labels.alertname && n.status === "resolved" && e.receivers.includes(n.receiver))) return 0;
  ctx.log(`  a repeat: ${e.labels.alertname} resolved less than 15m ago, so the budget allows one group_interval (${formatMs(e.groupIntervalMs)}) more`);
  return e.groupIntervalMs;
}

export async function runDrill(ctx: DrillContext, sc: Scenario, opts: { preconditionTimeoutMs?: number } = {}): Promise<DrillResult> {
  const e = expectation(ctx.settings, sc);
  ctx.log(`drill ${sc.name}: ${sc.fault}`);
  ctx.log(`  expects ${sc.alert} (${sc.severity}, ${e.labels.category}) at ${e.receivers.join(" and ")}; floor ${e.floorText}; budget ${formatMs(e.budgetMs)}`);
  try {
    await waitUntilClean(ctx, e, opts.preconditionTimeoutMs ?? 12 * 60_000);
  } catch (err) {
    ctx.log(`  ✗ ${(err as Error).message}`);
    return { scenario: sc.name, alert: sc.alert, severity: sc.severity, receivers: e.receivers, floorMs: e.floorMs, budgetMs: e.budgetMs, arrivedMs: {}, ok: false, notifications: [], error: (err as Error).message };
  }
  const budgetMs = e.budgetMs + (await repeatAllowanceMs(ctx, e));
  const base = { scenario: sc.name, alert: sc.alert, severity: sc.severity, receivers: e.receivers, floorMs: e.floorMs, budgetMs };

  const t0 = Date.now();
  const arrivedMs: Record<string, number> = {};
  let seen: Notification[] = [];
  let error: string | undefined;
  let step: DrillStep | undefined;
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
    while (Date.now() - t0 < budgetMs) {
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
    if (sc.afterPage && e.receivers.every((r) => arrivedMs[r] !== undefined)) step = await sc.afterPage(ctx, t0 + Math.max(...Object.values(arrivedMs)));
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
  if (!error && !all) error = `no notification at ${e.receivers.filter((r) => arrivedMs[r] === undefined).join(", ")} within ${formatMs(budgetMs)}`;
  if (!error && !runbookOk) error = `the notification's runbook_url (${runbookUrl ?? "none"}) names no file in runbooks/`;
  if (!error && step && !step.ok) error = `${step.name}: ${step.error ?? "failed"}`;
  const ok = error === undefined;
  const ratio = timeToPageMs === undefined ? undefined : Number((timeToPageMs / e.floorMs).toFixed(2));
  ctx.log(
    ok
      ? `  ✓ paged in ${formatMs(timeToPageMs!)} (floor ${formatMs(e.floorMs)}, ratio ${ratio}); runbook ${runbookUrl} → runbooks/${slug}.md`
      : `  ✗ ${error}`,
  );
  return { ...base, arrivedMs, timeToPageMs, ratio, ok, runbookUrl, runbookFile, notifications: seen, error, ...(step ? { step } : {}) };
}

export function drillTable(results: readonly DrillResult[]): string {
  const head = ["scenario", "alert", "severity", "receiver(s)", "time to page", "floor", "ratio", "result"];
  const rows = results.flatMap((r) => [
    [
      r.scenario,
      r.alert,
      r.severity,
      r.receivers.join(", "),
      r.timeToPageMs === undefined ? "-" : formatMs(r.timeToPageMs),
      formatMs(r.floorMs),
      r.ratio === undefined ? "-" : r.ratio.toFixed(2),
      r.ok ? "ok" : "FAILED",
    ],
    // A step after the page: its time and its target in the same columns, the ratio against the target.
    ...(r.step
      ? [[`  ↳ ${r.step.name}`, "", "", "", r.step.ms === undefined ? "-" : formatMs(r.step.ms), `${formatMs(r.step.targetMs)} target`, r.step.ms === undefined ? "-" : (r.step.ms / r.step.targetMs).toFixed(2), r.step.ok ? "ok" : "FAILED"]]
      : []),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}
