/**
 * Who may reach what in the stack's namespace: everything is denied (ingress
 * and egress) by one default-deny policy, then each component gets the flows
 * it needs, and nothing else (docs/deploy.md "Network"):
 * - every pod: DNS (kube-system, port 53);
 * - Prometheus: scrapes anything (TCP egress open: targets span namespaces and
 *   nodes); reached by Grafana and itself;
 * - Alertmanager: its API only from Prometheus, Grafana and the Loki ruler (no
 *   other pod can create silences); gossip between its peers; egress to the
 *   receivers' ports (HTTPS, the SMTP smarthost's);
 * - Grafana: from the ingress controller's namespace (when the stack has an
 *   ingress) and Prometheus; to Prometheus, Alertmanager, the Loki gateway;
 * - the operator, kube-state-metrics, Grafana's sidecars, Alloy and Prometheus
 *   reach the Kubernetes API (ports 443 and 6443: its address is the cluster's);
 * - exporters only from Prometheus; the Pushgateway from Prometheus and the
 *   database jobs and the rollback drill; the jobs reach PostgreSQL (5432),
 *   the Pushgateway and S3; the rollback drill PostgreSQL and the Pushgateway;
 * - Grafana also PostgreSQL's port of grafana.postgres (the rollback annotations).
 * Loki's own pods (gateway, read, write, backend) get their policies with the
 * Loki component. `kubectl port-forward` goes through the kubelet, not the pod
 * network: the people path is not subject to these policies.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { RoutingTree } from "../../alerts/routing";
import { rollbackDrillRuns, type Settings } from "../settings";
import { clusterSettings, COMPONENTS, metadata, PORTS, RELEASES, selectorLabels } from "./cluster";

type Labels = Record<string, string>;
/** A peer: pods of the namespace (labels; {} = all), pods of another namespace, or any address. */
export type Peer = { pods: Labels } | { namespace: string; pods?: Labels } | "anywhere";
export interface Flow {
  readonly peers?: Peer[];
  /** TCP ports; an empty list: every TCP port. */
  readonly tcp: number[];
  readonly udp?: number[];
}
export interface PolicyRule {
  readonly policy: string;
  readonly pods: Labels;
  readonly ingress?: Flow[];
  readonly egress?: Flow[];
}

/** Pod labels the operator and the charts set (at the pinned versions). */
export const PODS = {
  prometheus: { "app.kubernetes.io/name": "prometheus" },
  alertmanager: { "app.kubernetes.io/name": "alertmanager" },
  grafana: { "app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": RELEASES.prometheusStack },
  operator: { app: `${RELEASES.prometheusStack}-operator`, release: RELEASES.prometheusStack },
  kubeStateMetrics: { "app.kubernetes.io/name": "kube-state-metrics", "app.kubernetes.io/instance": RELEASES.prometheusStack },
  alloy: { "app.kubernetes.io/name": "alloy", "app.kubernetes.io/instance": RELEASES.alloy },
  lokiGateway: { "app.kubernetes.io/name": "loki", "app.kubernetes.io/instance": RELEASES.loki, "app.kubernetes.io/component": "gateway" },
  /** The ruler runs in the backend target (simple scalable) or the single binary. */
  lokiBackend: { "app.kubernetes.io/name": "loki", "app.kubernetes.io/instance": RELEASES.loki, "app.kubernetes.io/component": "backend" },
  lokiSingleBinary: { "app.kubernetes.io/name": "loki", "app.kubernetes.io/instance": RELEASES.loki, "app.kubernetes.io/component": "single-binary" },
  lokiWrite: { "app.kubernetes.io/name": "loki", "app.kubernetes.io/instance": RELEASES.loki, "app.kubernetes.io/component": "write" },
  /** Every pod of the Loki release (gateway, read, write, backend or the single binary). */
  loki: { "app.kubernetes.io/name": "loki", "app.kubernetes.io/instance": RELEASES.loki },
} as const;

/** Container ports (a NetworkPolicy names the pod's port, not the Service's). */
const PORT = {
  prometheus: 9090,
  alertmanager: 9093,
  alertmanagerGossip: 9094,
  /** The operator's config reloader sidecars' metrics. */
  reloader: 8080,
  grafana: 3000,
  kubeStateMetrics: 8080,
  lokiGateway: 8080,
  /** Loki's HTTP port, where the shipper pushes (the write pods, or the single binary). */
  lokiHttp: 3100,
  /** Loki's memberlist gossip among its own pods. */
  lokiMemberlist: 7946,
  alloy: 12345,
  postgres: 5432,
  https: 443,
  dns: 53,
} as const;
/** Where the Kubernetes API answers (in-cluster 443; some distributions forward to 6443). */
const API_SERVER = [443, 6443];

const defaultPort = (protocol: string) => (protocol === "https:" ? 443 : protocol === "http:" ? 80 : undefined);

/** The ports Alertmanager's receivers are reached on: each URL's, the SMTP smarthost's; HTTPS for PagerDuty and Slack. */
export function receiverPorts(tree: RoutingTree): number[] {
  const ports = new Set<number>();
  const ofUrl = (u: string) => {
    const url = new URL(u);
    const port = url.port ? Number(url.port) : defaultPort(url.protocol);
    if (port) ports.add(port);
  };
  for (const r of tree.receivers) {
    const i = r.integration;
    if (i.kind === "pagerduty") ofUrl(tree.global.pagerdutyUrl ?? "https://events.pagerduty.com/");
    else if (i.kind === "slack") ports.add(PORT.https);
    else if (i.kind === "webhook") ofUrl(i.url);
    else if (i.kind === "email" && tree.global.smtp) ports.add(Number(tree.global.smtp.smarthost.split(":").pop()));
  }
  return [...ports].sort((a, b) => a - b);
}

export function networkRules(s: Settings, tree: RoutingTree): PolicyRule[] {
  const c = clusterSettings(s);
  const pods = (labels: Labels): Peer => ({ pods: { ...labels } });
  const prometheus = pods(PODS.prometheus);
  const grafana = pods(PODS.grafana);
  const api: Flow = { peers: ["anywhere"], tcp: API_SERVER };
  const operatorPort = c.admissionWebhooks === "cert-manager" ? 10250 : 8080;
  const jobs = selectorLabels(COMPONENTS.databaseJobs);
  const drill = rollbackDrillRuns(s) ? selectorLabels(COMPONENTS.rollbackDrill) : undefined;
  const annotationsDb = s.grafana.postgres ? Number(s.grafana.postgres.host.split(":").pop()) : undefined;
  const health = new URL(c.auth.healthUrl);
  return [
    { policy: "dns", pods: {}, egress: [{ peers: [{ namespace: "kube-system" }], tcp: [PORT.dns], udp: [PORT.dns] }] },
    {
      policy: "prometheus",
      pods: PODS.prometheus,
      ingress: [{ peers: [grafana, prometheus], tcp: [PORT.prometheus] }, { peers: [prometheus], tcp: [PORT.reloader] }],
      egress: [{ tcp: [] }],
    },
    {
      policy: "alertmanager",
      pods: PODS.alertmanager,
      ingress: [
        { peers: [prometheus, grafana, pods(PODS.lokiBackend), pods(PODS.lokiSingleBinary)], tcp: [PORT.alertmanager] },
        { peers: [prometheus], tcp: [PORT.reloader] },
        { peers: [pods(PODS.alertmanager)], tcp: [PORT.alertmanagerGossip], udp: [PORT.alertmanagerGossip] },
      ],
      egress: [
        { peers: [pods(PODS.alertmanager)], tcp: [PORT.alertmanagerGossip], udp: [PORT.alertmanagerGossip] },
        { peers: ["anywhere"], tcp: receiverPorts(tree) },
      ],
    },
    {
      policy: "grafana",
      pods: PODS.grafana,
      ingress: [
        { peers: [prometheus, ...(c.ingress.enabled ? [{ namespace: c.ingress.controllerNamespace }] : [])], tcp: [PORT.grafana] },
      ],
      egress: [
        { peers: [prometheus], tcp: [PORT.prometheus] },
        { peers: [pods(PODS.alertmanager)], tcp: [PORT.alertmanager] },
        { peers: [pods(PODS.lokiGateway)], tcp: [PORT.lokiGateway] },
        // The auth database may run outside the cluster: its port, anywhere.
        ...(annotationsDb ? [{ tcp: [annotationsDb] }] : []),
        api,
      ],
    },
    {
      policy: "prometheus-operator",
      pods: PODS.operator,
      // With cert-manager the port also serves the admission webhook, called by the API server (not a pod).
      ingress: [{ ...(c.admissionWebhooks === "cert-manager" ? {} : { peers: [prometheus] }), tcp: [operatorPort] }],
      egress: [api],
    },
    { policy: "kube-state-metrics", pods: PODS.kubeStateMetrics, ingress: [{ peers: [prometheus], tcp: [PORT.kubeStateMetrics] }], egress: [api] },
    {
      policy: "alloy",
      pods: PODS.alloy,
      ingress: [{ peers: [pods(PODS.alloy)], tcp: [PORT.alloy] }],
      // The shipper pushes to the write path directly (src/render/alloy.ts), never through the gateway.
      egress: [{ peers: [pods(c.loki.mode === "single-binary" ? PODS.lokiSingleBinary : PODS.lokiWrite)], tcp: [PORT.lokiHttp] }, { peers: [pods(PODS.alloy)], tcp: [PORT.alloy] }, api],
    },
    {
      // Loki's ingress is Loki's (src/pulumi/loki.ts); its pods reach each other (ring, gRPC, memberlist), the ruler
      // Alertmanager, the rules sidecar the API server, and the chunk store S3 where the stack has AWS.
      policy: "loki",
      pods: PODS.loki,
      egress: [
        { peers: [pods(PODS.loki)], tcp: [], udp: [PORT.lokiMemberlist] },
        { peers: [pods(PODS.alertmanager)], tcp: [PORT.alertmanager] },
        api,
        ...(c.aws.enabled ? [{ peers: ["anywhere"] as Peer[], tcp: [PORT.https] }] : []),
      ],
    },
    {
      policy: COMPONENTS.blackboxExporter,
      pods: selectorLabels(COMPONENTS.blackboxExporter),
      ingress: [{ peers: [prometheus], tcp: [PORTS.blackboxExporter] }],
      egress: [{ tcp: [health.port ? Number(health.port) : defaultPort(health.protocol)!] }],
    },
    {
      policy: COMPONENTS.postgresExporter,
      pods: selectorLabels(COMPONENTS.postgresExporter),
      ingress: [{ peers: [prometheus], tcp: [PORTS.postgresExporter] }],
      egress: [{ tcp: [PORT.postgres] }],
    },
    {
      policy: COMPONENTS.pushgateway,
      pods: selectorLabels(COMPONENTS.pushgateway),
      ingress: [{ peers: [prometheus, pods(jobs), ...(drill ? [pods(drill)] : [])], tcp: [PORTS.pushgateway] }],
    },
    {
      policy: COMPONENTS.databaseJobs,
      pods: jobs,
      egress: [
        { peers: [pods(selectorLabels(COMPONENTS.pushgateway))], tcp: [PORTS.pushgateway] },
        { tcp: [PORT.postgres] },
        // S3 and STS (IRSA), where the stack has AWS.
        ...(c.aws.enabled ? [{ peers: ["anywhere"] as Peer[], tcp: [PORT.https] }] : []),
      ],
    },
    // The rollback drill: its database and the Pushgateway, nothing else (no S3, no API server).
    ...(drill
      ? [{ policy: COMPONENTS.rollbackDrill, pods: drill, egress: [{ peers: [pods(selectorLabels(COMPONENTS.pushgateway))], tcp: [PORTS.pushgateway] }, { tcp: [PORT.postgres] }] }]
      : []),
  ];
}

function peer(p: Peer) {
  if (p === "anywhere") return { ipBlock: { cidr: "0.0.0.0/0" } };
  const podSelector = p.pods && Object.keys(p.pods).length > 0 ? { matchLabels: p.pods } : {};
  // Without a namespaceSelector, a podSelector means pods of this namespace only.
  if ("namespace" in p) return { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": p.namespace } }, ...(p.pods ? { podSelector } : {}) };
  return { podSelector };
}

function flow(f: Flow, direction: "from" | "to") {
  const ports = [
    ...(f.tcp.length > 0 ? f.tcp.map((port) => ({ protocol: "TCP", port })) : [{ protocol: "TCP" }]),
    ...(f.udp ?? []).map((port) => ({ protocol: "UDP", port })),
  ];
  return { ...(f.peers ? { [direction]: f.peers.map(peer) } : {}), ports };
}

/** The policies' specs: the default deny first, then one allow policy per rule. */
export function networkPolicies(s: Settings, tree: RoutingTree): { name: string; spec: k8s.types.input.networking.v1.NetworkPolicySpec }[] {
  return [
    { name: "default-deny", spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } },
    ...networkRules(s, tree).map((r) => ({
      name: `${r.policy}-allow`,
      spec: {
        podSelector: Object.keys(r.pods).length > 0 ? { matchLabels: r.pods } : {},
        policyTypes: [...(r.ingress ? ["Ingress"] : []), ...(r.egress ? ["Egress"] : [])],
        ...(r.ingress ? { ingress: r.ingress.map((f) => flow(f, "from")) } : {}),
        ...(r.egress ? { egress: r.egress.map((f) => flow(f, "to")) } : {}),
      },
    })),
  ];
}

export class NetworkPolicies extends pulumi.ComponentResource {
  constructor(name: string, args: { settings: Settings; routing: RoutingTree }, opts?: pulumi.ComponentResourceOptions) {
    super("authwatch:kubernetes:NetworkPolicies", name, {}, opts);
    const s = args.settings;
    for (const p of networkPolicies(s, args.routing)) {
      new k8s.networking.v1.NetworkPolicy(p.name, { metadata: metadata(s, p.name, "network-policy"), spec: p.spec }, { parent: this });
    }
    this.registerOutputs({});
  }
}
