/**
 * Who may reach what, inside the stack's namespace:
 * - the exporters (blackbox, postgres_exporter) only from Prometheus;
 * - the Pushgateway from Prometheus and from the database jobs that push to it;
 * - Alertmanager only from the stack's own pods (Prometheus, the Loki ruler,
 *   Grafana, its peers); nothing outside the namespace.
 * Nothing is exposed publicly: every Service is ClusterIP, and only a stack
 * that enables cluster.ingress gets one Ingress, to Grafana.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "../settings";
import { COMPONENTS, metadata, PORTS, selectorLabels } from "./cluster";

/** Labels the operator gives the pods of every Prometheus (and Alertmanager) it runs. */
export const PROMETHEUS_PODS = { "app.kubernetes.io/name": "prometheus" } as const;
export const ALERTMANAGER_PODS = { "app.kubernetes.io/name": "alertmanager" } as const;

export interface IngressRule {
  readonly policy: string;
  readonly pods: Record<string, string>;
  /** Peers in the stack's namespace (pod label sets); an empty set: every pod of the namespace. */
  readonly from: Record<string, string>[];
  readonly ports: number[];
}

export function networkRules(): IngressRule[] {
  const prometheus = { ...PROMETHEUS_PODS };
  return [
    { policy: COMPONENTS.blackboxExporter, pods: selectorLabels(COMPONENTS.blackboxExporter), from: [prometheus], ports: [PORTS.blackboxExporter] },
    { policy: COMPONENTS.postgresExporter, pods: selectorLabels(COMPONENTS.postgresExporter), from: [prometheus], ports: [PORTS.postgresExporter] },
    { policy: COMPONENTS.pushgateway, pods: selectorLabels(COMPONENTS.pushgateway), from: [prometheus, selectorLabels(COMPONENTS.databaseJobs)], ports: [PORTS.pushgateway] },
    // 9093 API and UI, 9094 the cluster's gossip, 8080 the config reloader's metrics.
    { policy: "alertmanager", pods: { ...ALERTMANAGER_PODS }, from: [{}], ports: [9093, 9094, 8080] },
  ];
}

export class NetworkPolicies extends pulumi.ComponentResource {
  constructor(name: string, args: { settings: Settings }, opts?: pulumi.ComponentResourceOptions) {
    super("authwatch:kubernetes:NetworkPolicies", name, {}, opts);
    const s = args.settings;
    for (const r of networkRules()) {
      new k8s.networking.v1.NetworkPolicy(
        `${r.policy}-ingress`,
        {
          metadata: metadata(s, `${r.policy}-ingress`, r.policy),
          spec: {
            podSelector: { matchLabels: r.pods },
            policyTypes: ["Ingress"],
            ingress: [
              {
                // A podSelector without namespaceSelector: pods of this namespace only.
                from: r.from.map((labels) => ({ podSelector: Object.keys(labels).length > 0 ? { matchLabels: labels } : {} })),
                ports: [...r.ports.flatMap((port) => [{ protocol: "TCP", port }]), ...(r.ports.includes(9094) ? [{ protocol: "UDP", port: 9094 }] : [])],
              },
            ],
          },
        },
        { parent: this },
      );
    }
    this.registerOutputs({});
  }
}
