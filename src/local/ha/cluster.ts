/**
 * The Alertmanager cluster as each member sees it (its /api/v2/status): its
 * peer name, the peers it knows, settling or ready. Alertmanager orders the
 * members by peer name; the first sends a group's notification after
 * group_wait, the next one peer_timeout later only if the gossiped
 * notification log does not show it sent, and so on.
 */
import { REPLICA_LABEL } from "../../render/prometheus";
import { getJson, localUrl, LOOPBACK } from "../net";
import type { HaPorts, StackState } from "../state";

export interface MemberStatus {
  readonly port: number;
  readonly name: string;
  /** "ready" once gossip has settled, "settling" before; undefined when the member does not answer. */
  readonly status?: string;
  readonly peers: readonly string[];
  readonly error?: string;
}

interface AmStatus {
  cluster: { name: string; status: string; peers?: { name: string; address: string }[] };
}

export async function clusterStatus(ha: HaPorts): Promise<MemberStatus[]> {
  return Promise.all(
    ha.alertmanager.map(async (port) => {
      try {
        const s = await getJson<AmStatus>(`${localUrl(port)}/api/v2/status`, 3000);
        return { port, name: s.cluster.name, status: s.cluster.status, peers: (s.cluster.peers ?? []).map((p) => p.address) };
      } catch (e) {
        return { port, name: "", peers: [], error: (e as Error).message };
      }
    }),
  );
}

/** Every member answers, is ready, and knows all the others. */
export function clusterHealthy(members: readonly MemberStatus[]): boolean {
  return members.every((m) => m.status === "ready" && m.peers.length === members.length);
}

/** The members in the order Alertmanager sends in (by peer name): the first sends, the others stand by. */
export function sendingOrder(members: readonly MemberStatus[]): MemberStatus[] {
  return members.filter((m) => m.name).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function clusterLines(members: readonly MemberStatus[]): string[] {
  const order = sendingOrder(members);
  return members.map((m) => {
    if (m.error) return `    ${localUrl(m.port)}  NOT ANSWERING`;
    const position = order.indexOf(m);
    return `    ${localUrl(m.port)}  ${(m.status ?? "?").padEnd(8)} ${m.peers.length} peers  position ${position} (${position === 0 ? "sends" : `waits ${position} × peer_timeout`})  ${m.name}`;
  });
}

export function haScreen(ha: HaPorts): string {
  return [
    "High availability (--ha): as prod runs it",
    `  Prometheus replicas  ${ha.prometheus.map(localUrl).join("  ")}  (same rules; external label ${REPLICA_LABEL}, dropped from alerts)`,
    `  Alertmanager cluster ${ha.alertmanager.map(localUrl).join("  ")}  (gossip on ${ha.cluster.map((p) => `${LOOPBACK}:${p}`).join(", ")})`,
    "  HA drills: npm run local -- drill alertmanager-failover prometheus-failover alertmanager-restart storm",
    "",
  ].join("\n");
}

/** `status`: the cluster, as each member reports it. */
export async function haStatusLines(state: StackState): Promise<string[]> {
  if (!state.ha) return [];
  const members = await clusterStatus(state.ha);
  return [`  alertmanager cluster: ${clusterHealthy(members) ? "all members ready and peered" : "NOT SETTLED"}`, ...clusterLines(members)];
}
