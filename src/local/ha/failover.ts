/**
 * The HA stack's failure drills around one incident (the auth service goes
 * down, AuthServiceDown pages): an Alertmanager killed mid-incident, a
 * Prometheus replica killed, an Alertmanager restarted. Each counts the pages
 * and resolved notifications per receiver: exactly one of each is right.
 */
import { expectation, waitUntilClean, type Expectation } from "../drills";
import { getJson, localUrl, sleep, tryFetch, waitFor } from "../net";
import { scenario, type Scenario } from "../scenarios";
import { sendingOrder } from "./cluster";
import {
  alertmanagerName,
  control,
  duplicatesOf,
  holdsAlert,
  notificationsSince,
  PEER_TIMEOUT_MS,
  prometheusName,
  requireHa,
  routeTiming,
  seconds,
  senders,
  sentCounts,
  waitForCluster,
  waitForPages,
  type HaContext,
  type HaDrillResult,
} from "./harness";
import type { DrillContext } from "../drills";
import type { Notification } from "../sink";

/** The integration of the incident's receiver (pagerduty-critical), as Alertmanager counts its notifications. */
const PAGER_INTEGRATION = "pagerduty";
/** The incident every failover drill runs: a critical with one receiver, a quick `for`, and a clean resolution. */
const INCIDENT = "service-down";
/** How long after the last notification a standby member would have sent a duplicate: its position × peer_timeout, and a margin. */
const DUPLICATE_WATCH_MS = 2 * PEER_TIMEOUT_MS + 5_000;

interface Run {
  readonly ctx: HaContext;
  readonly sc: Scenario;
  readonly e: Expectation;
  readonly notes: string[];
  note(line: string): void;
  /** Services to start again whatever happens. */
  readonly down: Set<string>;
  t0: number;
  timeToPageMs?: number;
  restored: boolean;
  /** When the fault was taken away: a resolved notification before it is a false all-clear. */
  restoredAt?: number;
}

/** Set up, run `body` (which injects the fault through run.inject), always restore, and count. */
async function drill(base: DrillContext, name: string, intro: string, body: (r: Run) => Promise<void>): Promise<HaDrillResult> {
  const ctx = requireHa(base, name);
  const sc = scenario(INCIDENT);
  const e = expectation(ctx.settings, sc);
  const notes: string[] = [];
  const r: Run = { ctx, sc, e, notes, note: (l) => (notes.push(l), ctx.log(`  ${l}`)), down: new Set(), t0: 0, restored: false };
  ctx.log(`drill ${name}: ${intro}`);
  ctx.log(`  incident: ${sc.fault}; expects ${sc.alert} once at ${e.receivers.join(" and ")}, then its resolution once`);
  let error: string | undefined;
  try {
    await waitForCluster(ctx);
    await waitUntilClean(ctx, e, 12 * 60_000);
    await noteRepeat(r);
    await body(r);
  } catch (err) {
    error = (err as Error).message;
    ctx.log(`  ✗ ${error}`);
  } finally {
    if (r.t0 > 0 && !r.restored) await sc.restore(ctx).catch((err: Error) => ctx.log(`  ✗ restoring the service failed: ${err.message}`));
    for (const p of r.down) await control(ctx, `services/${p}/start`).catch((err: Error) => ctx.log(`  ✗ starting ${p} again failed: ${err.message}`));
    if (r.down.size > 0) await waitForCluster(ctx).catch((err: Error) => ctx.log(`  ✗ ${err.message}`));
  }
  if (r.t0 > 0) await sideEffects(r);
  const seen = r.t0 > 0 ? await notificationsSince(ctx, r.t0) : [];
  const v = incidentVerdict(sc.alert, e.receivers, seen, r.restoredAt);
  error ??= v.error;
  const counts = { firing: v.pages, resolved: v.resolved };
  const result: HaDrillResult = {
    drill: name,
    alert: sc.alert,
    receivers: e.receivers,
    timeToPageMs: r.timeToPageMs,
    pages: counts.firing,
    resolved: counts.resolved,
    duplicates: duplicatesOf(counts.firing, counts.resolved),
    ok: error === undefined,
    error,
    notes,
  };
  ctx.log(result.ok ? `  ✓ one page and one resolution per receiver; time to page ${seconds(r.timeToPageMs!)}` : `  ✗ ${error}`);
  return result;
}

/**
 * One incident's notifications, judged: exactly one page and one resolution per receiver, and no
 * resolution before the fault was taken away (a false all-clear).
 */
export function incidentVerdict(alert: string, receivers: readonly string[], seen: readonly Notification[], restoredAt: number | undefined): { pages: Record<string, number>; resolved: Record<string, number>; error?: string } {
  const of = (status: string) => Object.fromEntries(receivers.map((x) => [x, seen.filter((n) => n.alertname === alert && n.receiver === x && n.status === status).length]));
  const pages = of("firing");
  const resolved = of("resolved");
  const premature = seen.filter((n) => n.alertname === alert && n.status === "resolved" && n.at < (restoredAt ?? Infinity));
  if (premature.length > 0) {
    const early = restoredAt === undefined ? "while the fault was still on" : `${seconds(restoredAt - premature[0]!.at)} before the fault was taken away`;
    return { pages, resolved, error: `false all-clear: a resolved notification at ${premature.map((n) => n.receiver).join(", ")} ${early}` };
  }
  const wrong = receivers.filter((x) => pages[x] !== 1 || resolved[x] !== 1);
  if (wrong.length > 0) return { pages, resolved, error: `not exactly one page and one resolution at ${wrong.map((x) => `${x} (${pages[x]} firing, ${resolved[x]} resolved)`).join(", ")}` };
  return { pages, resolved };
}

/**
 * What else the drill set off: other alerts' notifications since the fault, and alerts pending or
 * firing now (a member down is a real outage: PrometheusTargetDown after its `for`, and Prometheus'
 * failed sends to it count towards PrometheusNotificationsFailing).
 */
async function sideEffects(r: Run): Promise<void> {
  const others = (await notificationsSince(r.ctx, r.t0)).filter((n) => n.alertname !== r.sc.alert && n.receiver !== "deadmansswitch");
  const sent = [...new Set(others.map((n) => `${n.alertname} ${n.status} → ${n.receiver}`))];
  const now = await getJson<{ data: { alerts: { labels: Record<string, string>; state: string }[] } }>(`${r.ctx.url.prometheus}/api/v1/alerts`).catch(() => undefined);
  const active = [...new Set((now?.data.alerts ?? []).filter((a) => a.labels.alertname !== "Watchdog").map((a) => `${a.labels.alertname} ${a.labels.severity} ${a.state}`))];
  r.note(`other notifications during the drill: ${sent.length > 0 ? sent.join(", ") : "none"}; active at its end: ${active.length > 0 ? active.join(", ") : "none"}`);
}

/**
 * The member that sent the page: the one whose pagerduty count rose. Another page in the same moments
 * (an earlier drill's side effect) makes that ambiguous: then the member the sending order names.
 */
async function sender(r: Run, before: Map<number, number>, expected: number): Promise<number> {
  const sent = senders(before, await sentCounts(r.ctx, PAGER_INTEGRATION));
  if (sent.length === 1) return sent[0]!;
  r.note(`${sent.length} members sent pagerduty notifications meanwhile; taking ${alertmanagerName(r.ctx, expected)}, next in the sending order, as the sender`);
  return expected;
}

/** Prometheus re-sends a resolved alert for 15 minutes: each re-send re-creates its group on every member. */
const RESOLVED_RESEND_MS = 15 * 60_000;

/**
 * A repeat within those 15 minutes: a standby may hold a group with only the resolved copy while
 * it waits its turn, and send that stale resolution after another member paged the new incident
 * (alertmanager issue #3551); membership views that differ during a failure can also give two
 * members one position. The drill still counts; the note says why a duplicate may be Alertmanager's.
 */
async function noteRepeat(r: Run): Promise<void> {
  const earlier = (await notificationsSince(r.ctx, Date.now() - RESOLVED_RESEND_MS)).filter((n) => n.alertname === r.sc.alert && n.status === "resolved");
  if (earlier.length > 0) r.note(`a repeat: ${r.sc.alert} resolved ${seconds(Date.now() - earlier.at(-1)!.at)} ago, inside Prometheus' 15 m of resolved re-sends`);
}

async function inject(r: Run): Promise<void> {
  r.t0 = Date.now();
  await r.sc.inject(r.ctx);
  r.ctx.log(`  ${new Date(r.t0).toTimeString().slice(0, 8)} fault injected`);
}

async function awaitPage(r: Run, extraMs = 0): Promise<void> {
  const arrived = await waitForPages(r.ctx, r.sc.alert, r.e.receivers, r.t0, r.e.budgetMs + extraMs);
  const missing = r.e.receivers.filter((x) => arrived[x] === undefined);
  if (missing.length > 0) throw new Error(`no page at ${missing.join(", ")} within ${seconds(r.e.budgetMs + extraMs)}`);
  r.timeToPageMs = Math.max(...r.e.receivers.map((x) => arrived[x]!));
}

/** Restore the service, wait for the resolved notification at every receiver, then watch for duplicates. */
async function resolveAndWatch(r: Run): Promise<void> {
  const at = Date.now();
  r.restoredAt = at;
  r.ctx.log(`  restored: ${await r.sc.restore(r.ctx)}`);
  r.restored = true;
  const { groupIntervalMs } = routeTiming(r.ctx, r.e.labels);
  // Resolved once Prometheus sees the service again (scrape + evaluation), sent at the group's next flush.
  const budget = r.e.floorMs + groupIntervalMs + 2 * PEER_TIMEOUT_MS + 30_000;
  const arrived = await waitForPages(r.ctx, r.sc.alert, r.e.receivers, at, budget, "resolved");
  const missing = r.e.receivers.filter((x) => arrived[x] === undefined);
  if (missing.length > 0) throw new Error(`no resolved notification at ${missing.join(", ")} within ${seconds(budget)}`);
  r.ctx.log(`  watching ${seconds(DUPLICATE_WATCH_MS)} for a duplicate from a standby member`);
  await sleep(DUPLICATE_WATCH_MS);
}

// ------------------------------------------------------------------ drills

export function alertmanagerFailover(base: DrillContext): Promise<HaDrillResult> {
  const intro = "kill the Alertmanager that would send, before group_wait ends; later kill the one that sent";
  return drill(base, "alertmanager-failover", intro, async (r) => {
    const { ctx, e } = r;
    const [first, second] = sendingOrder(await waitForCluster(ctx));
    const firstName = alertmanagerName(ctx, first!.port);
    const { groupWaitMs } = routeTiming(ctx, e.labels);
    const before = await sentCounts(ctx, PAGER_INTEGRATION);
    await inject(r);
    // Its group_wait runs from the moment it holds the alert.
    await waitFor(`${r.sc.alert} to reach ${firstName}`, async () => ((await holdsAlert(first!.port, r.sc.alert)) ? true : undefined), e.budgetMs, 200);
    const received = Date.now();
    await control(ctx, `services/${firstName}/kill`);
    r.down.add(firstName);
    const early = (await notificationsSince(ctx, r.t0)).filter((n) => n.alertname === r.sc.alert);
    if (early.length > 0) throw new Error(`${r.sc.alert} paged before ${firstName} was killed: the kill missed group_wait`);
    r.note(`killed ${firstName} (position 0, the sender) ${seconds(Date.now() - received)} after it received the alert, inside its group_wait of ${seconds(groupWaitMs)}`);
    await awaitPage(r, 2 * PEER_TIMEOUT_MS);
    const senderName = alertmanagerName(ctx, await sender(r, before, second!.port));
    r.note(`paged after ${seconds(r.timeToPageMs!)} by the standby ${senderName} (floor ${seconds(e.floorMs)}; a standby waits peer_timeout ${seconds(PEER_TIMEOUT_MS)} more)`);
    await control(ctx, `services/${firstName}/start`);
    r.down.delete(firstName);
    await waitForCluster(ctx);
    await control(ctx, `services/${senderName}/kill`);
    r.down.add(senderName);
    r.note(`${firstName} started again and rejoined; killed ${senderName}, which had sent the page (after group_wait)`);
    await resolveAndWatch(r);
  });
}

export function prometheusFailover(base: DrillContext): Promise<HaDrillResult> {
  const intro = "kill one Prometheus replica mid-incident: the other pages once, and Watchdog keeps reaching the dead man's switch";
  return drill(base, "prometheus-failover", intro, async (r) => {
    const { ctx } = r;
    const victim = prometheusName(ctx, 1);
    const victimUrl = localUrl(ctx.ha.prometheus[1]!);
    const watchdog = routeTiming(ctx, { alertname: "Watchdog" });
    const maxGapMs = watchdog.groupIntervalMs + watchdog.repeatIntervalMs + 15_000;
    await inject(r);
    await waitFor(
      `${r.sc.alert} to be pending on ${victim}`,
      async () => {
        const a = await getJson<{ data: { alerts: { labels: Record<string, string> }[] } }>(`${victimUrl}/api/v1/alerts`).catch(() => undefined);
        return a?.data.alerts.some((x) => x.labels.alertname === r.sc.alert) ? true : undefined;
      },
      r.e.budgetMs,
      200,
    );
    const killedAt = Date.now();
    await control(ctx, `services/${victim}/kill`);
    r.down.add(victim);
    r.note(`killed ${victim} ${seconds(killedAt - r.t0)} after the fault, with ${r.sc.alert} pending on it`);
    await awaitPage(r);
    r.note(`paged after ${seconds(r.timeToPageMs!)} from the surviving replica alone (floor ${seconds(r.e.floorMs)})`);
    await resolveAndWatch(r);
    // The dead man's switch: at least one heartbeat while the replica is down, and no gap longer than Watchdog's cadence allows.
    await waitFor("a Watchdog heartbeat after the kill", async () => ((await heartbeats(ctx, killedAt)).length > 0 ? true : undefined), maxGapMs, 1000).catch(() => undefined);
    const beats = await heartbeats(ctx, killedAt - maxGapMs);
    const times = [...beats.map((n) => n.at), Date.now()];
    const after = beats.filter((n) => n.at > killedAt).length;
    const gap = Math.max(...times.slice(1).map((t, i) => t - times[i]!));
    r.note(`dead man's switch: ${after} heartbeat(s) while ${victim} was down (${seconds(Date.now() - killedAt)}), longest gap ${seconds(gap)} (allowed ${seconds(maxGapMs)})`);
    if (after === 0 || gap > maxGapMs) throw new Error(`Watchdog stopped reaching the dead man's switch while ${victim} was down`);
  });
}

async function heartbeats(ctx: HaContext, since: number) {
  return (await notificationsSince(ctx, since)).filter((n) => n.receiver === "deadmansswitch");
}

/** A silence no alert matches: it proves the silence state survives a restart without hiding the drill's page. */
const SILENCE_ALERTNAME = "AuthwatchDrillSilence";

export function alertmanagerRestart(base: DrillContext): Promise<HaDrillResult> {
  const intro = "restart an Alertmanager mid-incident: its silences and notification log survive (storage and gossip), so no re-page";
  return drill(base, "alertmanager-restart", intro, async (r) => {
    const { ctx, e } = r;
    const before = await sentCounts(ctx, PAGER_INTEGRATION);
    const [first] = sendingOrder(await waitForCluster(ctx));
    const silenceAt = localUrl(first!.port);
    const silenceId = await createSilence(silenceAt);
    try {
      const gossiped = Date.now();
      await waitFor("the silence to reach every member", async () => ((await Promise.all(ctx.ha.alertmanager.map((p) => silenceActive(localUrl(p), silenceId)))).every(Boolean) ? true : undefined), 30_000, 200);
      r.note(`silence ${silenceId} created on ${alertmanagerName(ctx, first!.port)}; on every member after ${seconds(Date.now() - gossiped)}`);
      await inject(r);
      await awaitPage(r, 2 * PEER_TIMEOUT_MS);
      const port = await sender(r, before, first!.port);
      const name = alertmanagerName(ctx, port);
      const url = localUrl(port);
      await control(ctx, `services/${name}/stop`);
      r.down.add(name);
      await control(ctx, `services/${name}/start`);
      r.down.delete(name);
      const restarted = Date.now();
      await waitForCluster(ctx);
      if (!(await silenceActive(url, silenceId))) throw new Error(`silence ${silenceId} is gone from ${name} after its restart`);
      // Prometheus re-sends a firing alert every minute: the restarted member holds it again, then would page after group_wait and its wait.
      await waitFor(`${r.sc.alert} to reach ${name} again`, async () => ((await holdsAlert(port, r.sc.alert)) ? true : undefined), 90_000, 500);
      const { groupWaitMs } = routeTiming(ctx, e.labels);
      await sleep(groupWaitMs + DUPLICATE_WATCH_MS);
      const again = (await notificationsSince(ctx, restarted)).filter((n) => n.alertname === r.sc.alert && n.status === "firing");
      r.note(`restarted ${name} (it sent the page) while the incident was open; the silence was there, it received ${r.sc.alert} again and sent ${again.length} page(s) in the ${seconds(Date.now() - restarted)} after`);
      await resolveAndWatch(r);
    } finally {
      await tryFetch(`${silenceAt}/api/v2/silence/${silenceId}`, { method: "DELETE" });
    }
  });
}

async function createSilence(url: string): Promise<string> {
  const now = Date.now();
  const res = await fetch(`${url}/api/v2/silences`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      matchers: [{ name: "alertname", value: SILENCE_ALERTNAME, isRegex: false, isEqual: true }],
      startsAt: new Date(now).toISOString(),
      endsAt: new Date(now + 3_600_000).toISOString(),
      createdBy: "npm run local -- drill alertmanager-restart",
      comment: "proves that silences survive an Alertmanager restart; expired by the drill",
    }),
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`creating a silence on ${url}: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { silenceID: string }).silenceID;
}

async function silenceActive(url: string, id: string): Promise<boolean> {
  const s = await getJson<{ status: { state: string } }>(`${url}/api/v2/silence/${id}`).catch(() => undefined);
  return s?.status.state === "active";
}
