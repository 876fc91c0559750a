/**
 * What the HA drills share: attaching to an HA stack (and refusing any
 * other), the supervisor's control verbs, waiting for the cluster, counting
 * notifications per receiver, and the result table (time to page, pages,
 * duplicates).
 */
import { mustParseDuration } from "../../duration";
import { routesFor, type DrillContext } from "../drills";
import { routingTree } from "../../../alerts/routing";
import { getJson, localUrl, postJson, sleep, tryFetch, waitFor } from "../net";
import type { Notification } from "../sink";
import type { HaPorts } from "../state";
import { alertmanagerMember, prometheusMember } from "./config";
import { clusterHealthy, clusterStatus, type MemberStatus } from "./cluster";

/** Alertmanager's --cluster.peer-timeout (its default, which prod's operator keeps): each later member waits this much more before it sends. */
export const PEER_TIMEOUT_MS = 15_000;

export class NotHaError extends Error {}

export interface HaContext extends DrillContext {
  readonly ha: HaPorts;
}

/** The HA drills need the HA stack: refuse a single-node one with what to do instead. */
export function requireHa(ctx: DrillContext, drill: string): HaContext {
  const ha = ctx.state.ha;
  if (!ha) {
    throw new NotHaError(
      `drill ${drill} needs the HA stack (two Prometheus replicas, three clustered Alertmanagers), but the stack in ${ctx.l.dir} runs one of each: ` +
        "stop it (npm run local -- down) and start it with npm run local -- --ha",
    );
  }
  return { ...ctx, ha };
}

export const control = (ctx: DrillContext, path: string) => postJson(`${ctx.url.sink}/api/${path}`, {}, 120_000);

/** The supervisor's name for the Alertmanager on this port, or the Prometheus replica i. */
export const alertmanagerName = (ctx: HaContext, port: number) => alertmanagerMember(ctx.l, ctx.ha.alertmanager.indexOf(port)).name;
export const prometheusName = (ctx: HaContext, i: number) => prometheusMember(ctx.l, i).name;

export async function notificationsSince(ctx: DrillContext, since: number): Promise<Notification[]> {
  return getJson<Notification[]>(`${ctx.url.sink}/api/notifications?since=${since}`);
}

export async function waitForCluster(ctx: HaContext, timeoutMs = 90_000): Promise<MemberStatus[]> {
  return waitFor(
    "every Alertmanager to be ready and peered with the others",
    async () => {
      const members = await clusterStatus(ctx.ha);
      return clusterHealthy(members) ? members : undefined;
    },
    timeoutMs,
    1000,
  );
}

/** An Alertmanager (by port) holds an active alert of this name. */
export async function holdsAlert(port: number, alertname: string): Promise<boolean> {
  const alerts = await getJson<unknown[]>(`${localUrl(port)}/api/v2/alerts?active=true&silenced=false&inhibited=false&filter=${encodeURIComponent(`alertname="${alertname}"`)}`).catch(() => []);
  return alerts.length > 0;
}

/** Each member's count of notifications sent through an integration (alertmanager_notifications_total), by port; a member down counts 0. */
export async function sentCounts(ctx: HaContext, integration: string): Promise<Map<number, number>> {
  const counts = await Promise.all(
    ctx.ha.alertmanager.map(async (port) => {
      const res = await tryFetch(`${localUrl(port)}/metrics`, {}, 3000);
      const text = res?.ok ? await res.text() : "";
      const m = new RegExp(`^alertmanager_notifications_total\\{integration="${integration}"\\} (\\S+)$`, "m").exec(text);
      return [port, m ? Number(m[1]) : 0] as const;
    }),
  );
  return new Map(counts);
}

/** The members whose count rose between two sentCounts. */
export const senders = (before: Map<number, number>, after: Map<number, number>) => [...after].filter(([port, n]) => n > (before.get(port) ?? 0)).map(([port]) => port);

/** Poll until every receiver got a firing notification of the alert after `since`; ms after `since` per receiver. */
export async function waitForPages(ctx: DrillContext, alertname: string, receivers: readonly string[], since: number, budgetMs: number, status: "firing" | "resolved" = "firing"): Promise<Record<string, number>> {
  const arrived: Record<string, number> = {};
  while (Date.now() - since < budgetMs) {
    const seen = (await notificationsSince(ctx, since)).filter((n) => n.alertname === alertname && n.status === status);
    for (const r of receivers) {
      const n = seen.find((x) => x.receiver === r);
      if (n && arrived[r] === undefined) {
        arrived[r] = n.at - since;
        ctx.log(`  ${new Date(n.at).toTimeString().slice(0, 8)} ${status === "firing" ? "▶" : "✓"} ${status} at ${r} after ${seconds(arrived[r]!)}`);
      }
    }
    if (receivers.every((r) => arrived[r] !== undefined)) break;
    await sleep(250);
  }
  return arrived;
}

/** Firing and resolved notifications of the alert per receiver since `since`. */
export async function countNotifications(ctx: DrillContext, alertname: string, receivers: readonly string[], since: number): Promise<{ firing: Record<string, number>; resolved: Record<string, number> }> {
  const all = (await notificationsSince(ctx, since)).filter((n) => n.alertname === alertname);
  const count = (status: string) => Object.fromEntries(receivers.map((r) => [r, all.filter((n) => n.receiver === r && n.status === status).length]));
  return { firing: count("firing"), resolved: count("resolved") };
}

/** The group_interval and repeat_interval Alertmanager applies to an alert with these labels (its first route). */
export function routeTiming(ctx: DrillContext, labels: Record<string, string>): { groupWaitMs: number; groupIntervalMs: number; repeatIntervalMs: number } {
  const tree = routingTree(ctx.settings);
  const r = routesFor(tree, labels)[0];
  const pick = (v: string | undefined, root: string | undefined, dflt: string) => mustParseDuration(v ?? root ?? dflt) * 1000;
  return {
    groupWaitMs: pick(r?.groupWait, tree.root.groupWait, "30s"),
    groupIntervalMs: pick(r?.groupInterval, tree.root.groupInterval, "5m"),
    repeatIntervalMs: pick(r?.repeatInterval, tree.root.repeatInterval, "4h"),
  };
}

export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

// ------------------------------------------------------------------- result

export interface HaDrillResult {
  readonly drill: string;
  readonly alert: string;
  readonly receivers: string[];
  /** From the fault to the last expected receiver's page. */
  readonly timeToPageMs?: number;
  /** Firing notifications of the incident per receiver (exactly 1 is right). */
  readonly pages: Record<string, number>;
  /** Resolved notifications per receiver (exactly 1 is right; absent where the drill does not resolve). */
  readonly resolved?: Record<string, number>;
  /** Notifications beyond one per receiver (firing and resolved). */
  readonly duplicates: number;
  readonly ok: boolean;
  readonly error?: string;
  /** What happened, in order: who was killed when, what was measured. */
  readonly notes: string[];
  /** Numbers a drill measures besides time to page (storm: notifications, memory). */
  readonly measured?: Record<string, number>;
}

export function duplicatesOf(pages: Record<string, number>, resolved: Record<string, number> = {}): number {
  return [...Object.values(pages), ...Object.values(resolved)].reduce((sum, n) => sum + Math.max(0, n - 1), 0);
}

export function haDrillTable(results: readonly HaDrillResult[]): string {
  const head = ["drill", "alert", "receiver(s)", "time to page", "pages", "duplicates", "resolved", "result"];
  const per = (m: Record<string, number> | undefined) => (m ? Object.values(m).join("+") : "-");
  const rows = results.map((r) => [
    r.drill,
    r.alert,
    r.receivers.join(", "),
    r.timeToPageMs === undefined ? "-" : seconds(r.timeToPageMs),
    per(r.pages),
    String(r.duplicates),
    per(r.resolved),
    r.ok ? "ok" : "FAILED",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd();
  const notes = results.flatMap((r) => r.notes.map((n) => `  ${r.drill}: ${n}`));
  return [line(head), line(widths.map((w) => "-".repeat(w))), ...rows.map(line), ...(notes.length > 0 ? ["", ...notes] : [])].join("\n");
}
