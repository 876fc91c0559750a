/** The HA stack's Prometheus replicas and clustered Alertmanagers, as the supervisor's children. */
import { localUrl, LOOPBACK, tryFetch } from "../net";
import { alertmanagerArgs, locate, prometheusArgs } from "../services";
import type { HaPorts, Layout, ProcessName } from "../state";
import type { ChildSpec } from "../supervisor";
import { alertmanagerMember, prometheusMember } from "./config";

/**
 * One Alertmanager of the gossip cluster: the single stack's arguments with clustering on, on a
 * loopback gossip port, every other member as a peer. Its storage path (notification log, silences)
 * is its own and kept across restarts; a restarted member also gets both from its peers' gossip.
 */
export function clusteredAlertmanagerArgs(o: { configFile: string; storage: string; port: number; cluster: number; peers: readonly number[] }): string[] {
  const single = alertmanagerArgs(o).filter((a) => !a.startsWith("--cluster.listen-address="));
  return [
    ...single,
    `--cluster.listen-address=${LOOPBACK}:${o.cluster}`,
    `--cluster.advertise-address=${LOOPBACK}:${o.cluster}`,
    ...o.peers.map((p) => `--cluster.peer=${LOOPBACK}:${p}`),
  ];
}

/** Every member's spec, replacing the single stack's prometheus and alertmanager. */
export function haProcessSpecs(l: Layout, ha: HaPorts, configFile: string): Partial<Record<ProcessName, ChildSpec>> {
  const http = (port: number, path: string) => async () => (await tryFetch(`${localUrl(port)}${path}`, {}, 1000))?.ok === true;
  const specs: Partial<Record<ProcessName, ChildSpec>> = {};
  ha.alertmanager.forEach((port, i) => {
    const m = alertmanagerMember(l, i);
    specs[m.name as ProcessName] = {
      name: m.name as ProcessName,
      command: locate("alertmanager")!,
      args: clusteredAlertmanagerArgs({ configFile, storage: m.storage, port, cluster: ha.cluster[i]!, peers: ha.cluster.filter((_, j) => j !== i) }),
      ready: http(port, "/-/ready"),
    };
  });
  ha.prometheus.forEach((port, i) => {
    const m = prometheusMember(l, i);
    specs[m.name as ProcessName] = {
      name: m.name as ProcessName,
      command: locate("prometheus")!,
      args: prometheusArgs({ configFile: m.configFile, dataDir: m.dataDir, port }),
      ready: http(port, "/-/ready"),
    };
  });
  return specs;
}
