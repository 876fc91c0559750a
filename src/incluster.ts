/**
 * Names and in-cluster addresses of what a stack deploys, shared by the render
 * layer (the log shipper's configuration points at Loki) and the Pulumi layer
 * (which creates the objects under these names). Pure: no Pulumi import.
 */
import type { ClusterSettings, Settings } from "./settings";

/** Helm release names; the charts name their objects after them (fullnameOverride). */
export const RELEASES = { prometheusStack: "kube-prometheus-stack", loki: "loki", alloy: "alloy" } as const;

/** Components the program writes itself (their objects' names and `app.kubernetes.io/name`). */
export const COMPONENTS = {
  pushgateway: "pushgateway",
  blackboxExporter: "blackbox-exporter",
  postgresExporter: "postgres-exporter",
  databaseJobs: "database-jobs",
  rollbackDrill: "rollback-drill",
} as const;

/** The ports of those components (their Services, scrape targets and NetworkPolicies). */
export const PORTS = { pushgateway: 9091, blackboxExporter: 9115, postgresExporter: 9187 } as const;

/** The cluster block of a stack deployed with `pulumi up` (preflight guarantees it). */
export function clusterSettings(s: Settings): ClusterSettings {
  if (!s.cluster) throw new Error(`stack ${s.stack}: no authwatch:cluster settings; the local stack is not deployed with pulumi up`);
  return s.cluster;
}

/** In-cluster addresses of the stack's services. */
export function inClusterUrls(s: Settings) {
  const c = clusterSettings(s);
  const ns = c.namespace;
  const kps = RELEASES.prometheusStack;
  return {
    prometheus: `http://${kps}-prometheus.${ns}.svc:9090`,
    alertmanager: `http://${kps}-alertmanager.${ns}.svc:9093`,
    grafana: `http://${kps}-grafana.${ns}.svc`,
    /** Grafana's way in: the gateway reaches only Loki's read path in simple-scalable mode (src/pulumi/loki.ts). */
    lokiGateway: `http://${RELEASES.loki}-gateway.${ns}.svc`,
    /** The shipper's: Loki's write path, which only the shipper may reach. */
    lokiPush: `http://${RELEASES.loki}${c.loki.mode === "simple-scalable" ? "-write" : ""}.${ns}.svc:3100`,
    pushgateway: `http://${COMPONENTS.pushgateway}.${ns}.svc:${PORTS.pushgateway}`,
    /** host:port, as a Probe's prober takes it. */
    blackboxExporter: `${COMPONENTS.blackboxExporter}.${ns}.svc:${PORTS.blackboxExporter}`,
  };
}
