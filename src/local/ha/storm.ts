/**
 * drill storm: 2,000 auth targets go down at once (a stub fleet the HA
 * stack's Prometheus replicas discover from a file), so PrometheusTargetDown
 * fires 2,000 times. Counts the notifications (goal: at most one per group per
 * group_interval per receiver), samples each Alertmanager's resident memory,
 * and measures the time to page of an unrelated critical (a refresh-token
 * reuse) injected during the storm.
 */
import { writeFileSync } from "node:fs";
import { expectation, waitUntilClean, type DrillContext } from "../drills";
import { freePort, getJson, localUrl, sleep, waitFor } from "../net";
import { scenario, type Scenario } from "../scenarios";
import { fleetFile, fleetTargets } from "./config";
import { countNotifications, duplicatesOf, notificationsSince, requireHa, routeTiming, seconds, waitForCluster, waitForPages, type HaContext, type HaDrillResult } from "./harness";

export const STORM_SIZE = 2000;
const STORM_ALERT = "PrometheusTargetDown";
/** The storm as a drill scenario (for its expectation: routing, floor, budget); the fleet file is its fault. */
const STORM: Scenario = {
  name: "storm",
  fault: `${STORM_SIZE} auth targets go down at once`,
  alert: STORM_ALERT,
  severity: "warning",
  ruleLabels: { reason: "down" },
  inject: async () => undefined,
  restore: async () => "",
};
/** How long after the storm's first page the drill keeps counting (within one group_interval, the goal is one notification). */
const OBSERVE_MS = 60_000;

const mib = (bytes: number) => Math.round(bytes / 2 ** 20);

async function residentBytes(port: number): Promise<number | undefined> {
  const res = await fetch(`${localUrl(port)}/metrics`, { signal: AbortSignal.timeout(3000) }).catch(() => undefined);
  const text = res?.ok ? await res.text() : "";
  const m = /^process_resident_memory_bytes (\S+)$/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

async function firingCount(ctx: HaContext, port: number): Promise<number> {
  const a = await getJson<{ data: { alerts: { labels: Record<string, string>; state: string }[] } }>(`${localUrl(port)}/api/v1/alerts`).catch(() => undefined);
  return (a?.data.alerts ?? []).filter((x) => x.labels.alertname === STORM_ALERT && x.labels.reason === "down" && x.state === "firing").length;
}

async function heldByAlertmanager(port: number): Promise<number> {
  const alerts = await getJson<unknown[]>(`${localUrl(port)}/api/v2/alerts?active=true&filter=${encodeURIComponent(`alertname="${STORM_ALERT}"`)}`, 15_000).catch(() => []);
  return alerts.length;
}

export async function storm(base: DrillContext): Promise<HaDrillResult> {
  const ctx = requireHa(base, "storm");
  const e = expectation(ctx.settings, STORM);
  const unrelated = scenario("refresh-reuse");
  const ue = expectation(ctx.settings, unrelated);
  const { groupIntervalMs } = routeTiming(ctx, e.labels);
  const notes: string[] = [];
  const note = (l: string) => (notes.push(l), ctx.log(`  ${l}`));
  const measured: Record<string, number> = {};
  ctx.log(`drill storm: ${STORM.fault}; expects ${STORM_ALERT} grouped at ${e.receivers.join(", ")} (floor ${seconds(e.floorMs)}), and ${unrelated.alert} paged during it`);
  let error: string | undefined;
  let t0 = 0;
  let pages: Record<string, number> = {};
  let timeToPageMs: number | undefined;
  const peak: number[] = ctx.ha.alertmanager.map(() => 0);
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const now = await Promise.all(ctx.ha.alertmanager.map(residentBytes));
      now.forEach((b, i) => (peak[i] = Math.max(peak[i]!, b ?? 0)));
      await sleep(2000);
    }
  })();
  try {
    await waitForCluster(ctx);
    await waitUntilClean(ctx, e, 12 * 60_000);
    await waitUntilClean(ctx, ue, 12 * 60_000);
    const before = await Promise.all(ctx.ha.alertmanager.map(residentBytes));
    const closed = await freePort();
    t0 = Date.now();
    writeFileSync(fleetFile(ctx.l), fleetTargets(STORM_SIZE, closed, ctx.settings.scrapeJobs.auth));
    ctx.log(`  ${new Date(t0).toTimeString().slice(0, 8)} ${STORM_SIZE} stub targets written to ${fleetFile(ctx.l)} (all on closed port ${closed})`);
    const arrived = await waitForPages(ctx, STORM_ALERT, e.receivers, t0, e.budgetMs);
    if (e.receivers.some((r) => arrived[r] === undefined)) throw new Error(`no ${STORM_ALERT} notification at ${e.receivers.join(", ")} within ${seconds(e.budgetMs)}`);
    timeToPageMs = Math.max(...Object.values(arrived));
    const firstPage = t0 + timeToPageMs;

    // The unrelated critical, while the storm's alerts are in every Alertmanager.
    const u0 = Date.now();
    await unrelated.inject(ctx);
    const u = await waitForPages(ctx, unrelated.alert, ue.receivers, u0, ue.budgetMs);
    const uMissing = ue.receivers.filter((r) => u[r] === undefined);
    if (uMissing.length > 0) throw new Error(`${unrelated.alert} did not reach ${uMissing.join(", ")} during the storm within ${seconds(ue.budgetMs)}`);
    measured.unrelatedTimeToPageMs = Math.max(...Object.values(u));
    note(`${unrelated.alert} (critical) paged ${ue.receivers.join(" and ")} in ${seconds(measured.unrelatedTimeToPageMs)} during the storm (floor ${seconds(ue.floorMs)})`);

    const firing = await waitFor(`${STORM_SIZE} ${STORM_ALERT} alerts firing`, async () => ((await firingCount(ctx, ctx.ha.prometheus[0]!)) >= STORM_SIZE ? STORM_SIZE : undefined), 120_000, 2000).catch(
      async () => firingCount(ctx, ctx.ha.prometheus[0]!),
    );
    const held = await Promise.all(ctx.ha.alertmanager.map(heldByAlertmanager));
    measured.firing = firing;
    measured.heldPerAlertmanager = Math.max(...held);
    note(`${firing} ${STORM_ALERT} alerts firing on each replica; the Alertmanagers hold ${held.join(", ")} (one per label set: the replicas' copies are deduplicated)`);
    if (held.some((h) => h > STORM_SIZE)) throw new Error(`an Alertmanager holds ${Math.max(...held)} ${STORM_ALERT} alerts for ${STORM_SIZE} targets: the replicas' copies are not deduplicated`);

    const end = Math.max(Date.now(), firstPage + OBSERVE_MS);
    await sleep(end - Date.now());
    const counts = await countNotifications(ctx, STORM_ALERT, e.receivers, t0);
    pages = counts.firing;
    const storms = (await notificationsSince(ctx, t0)).filter((n) => n.alertname === STORM_ALERT && n.status === "firing");
    const windowMs = Date.now() - firstPage;
    const allowed = 1 + Math.floor(windowMs / groupIntervalMs);
    measured.notifications = storms.length;
    measured.alertsInFirstNotification = storms[0]?.alerts ?? 0;
    note(`${storms.length} ${STORM_ALERT} notification(s) in ${seconds(windowMs)} after the first (allowed ${allowed} per receiver: group_interval ${seconds(groupIntervalMs)}); the first carried ${storms[0]?.alerts ?? 0} alerts`);
    const over = e.receivers.filter((r) => (pages[r] ?? 0) > allowed);
    if (over.length > 0) throw new Error(`more than ${allowed} notification(s) of the storm's group at ${over.join(", ")}`);

    before.forEach((b, i) => {
      measured[`alertmanager${i}RssBeforeMiB`] = mib(b ?? 0);
    });
  } catch (err) {
    error = (err as Error).message;
    ctx.log(`  ✗ ${error}`);
  } finally {
    sampling = false;
    await sampler;
    if (t0 > 0) {
      writeFileSync(fleetFile(ctx.l), "[]\n");
      ctx.log("  restored: the stub fleet is gone (its alerts resolve; the resolved notification follows one group_interval later)");
    }
  }
  peak.forEach((p, i) => (measured[`alertmanager${i}RssPeakMiB`] = mib(p)));
  note(`Alertmanager resident memory, peak during the storm: ${peak.map((p, i) => `${mib(p)} MiB${measured[`alertmanager${i}RssBeforeMiB`] !== undefined ? ` (before ${measured[`alertmanager${i}RssBeforeMiB`]})` : ""}`).join(", ")}`);
  const result: HaDrillResult = {
    drill: "storm",
    alert: `${STORM_ALERT} ×${STORM_SIZE}`,
    receivers: e.receivers,
    timeToPageMs,
    pages,
    duplicates: duplicatesOf(pages),
    ok: error === undefined,
    error,
    notes,
    measured,
  };
  ctx.log(result.ok ? `  ✓ storm paged once per group in ${seconds(timeToPageMs!)}; unrelated critical in ${seconds(measured.unrelatedTimeToPageMs!)}` : `  ✗ ${error}`);
  return result;
}
