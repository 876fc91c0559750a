/**
 * Logs: the grafana/loki chart (single binary on its volume in dev; simple
 * scalable on S3 where the stack has AWS), its ruler loading synth's
 * loki/rules/*.yaml and retention from synth's loki/limits.yaml. The log
 * shipper (Grafana Alloy) is its own component: src/pulumi/alloy.ts.
 *
 * Security logs no identity in the cluster can forge, delete or alter:
 * - authentication on: one tenant (settings loki.tenant) that the shipper
 *   pushes as (X-Scope-OrgID), Grafana's data source reads as and the ruler
 *   evaluates as (it reads the rules of <rules dir>/<tenant>);
 * - the delete API off for every tenant (limits_config.deletion_mode);
 * - NetworkPolicies: only the shipper reaches the write path (simple
 *   scalable: the write pods; single binary: its one pod), only Grafana the
 *   gateway, which reaches only the read path (read and backend pods, where
 *   the ruler runs) in simple-scalable mode; Loki's pods talk among
 *   themselves; Prometheus scrapes the HTTP port;
 * - on S3 (aws.ts): the chunk bucket under Object Lock (COMPLIANCE) for the
 *   security retention, a role that can delete no chunk. Every version is
 *   then kept that long, so the compactor applies no retention there (its
 *   chunk deletes would be refused forever) and the bucket's lifecycle
 *   expires everything after the lock: app logs are kept as long as security
 *   events on S3 (cost, and no early erasure), the price of one immutable
 *   store that Loki can still query. On a volume (dev) the compactor applies
 *   synth's per-stream retention, which Loki 3 allows only with a
 *   compactor.delete_request_store.
 * Writes: replication factor 3 in simple-scalable mode (settings require as
 * many write pods), so one pod's restart leaves every stream a quorum.
 * The ruler reads rule files from local storage: the chart's rules sidecar
 * copies the ConfigMap written here to /rules/<tenant>, and the ruler sends
 * to the stack's Alertmanager. Its configuration is written once, through
 * structuredConfig: with ruler.enabled the chart writes a ruler.storage of its
 * own beside loki.rulerConfig (_helpers.tpl "loki.rulerConfig"), and
 * ruler.enabled changes nothing else outside distributed mode.
 * Loki's ServiceMonitor is ours: the chart renders its own only if the
 * ServiceMonitor API exists when the chart is rendered, which on a fresh
 * cluster (kube-prometheus-stack installing the CRDs in the same run) it
 * does not.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import type { Settings } from "../settings";
import type { Rendered } from "../synth";
import type { IServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor";
import { LOKI_REPLICATION_FACTOR } from "../settings/cluster";
import { externalLabels } from "../render/prometheus";
import type { AwsStorage } from "./aws";
import { PODS } from "./network";
import { alertingRuleCount, type RuleGroupDocument } from "./rules";
import {
  CHART_REPOSITORIES,
  clusterSettings,
  containerResources,
  inClusterUrls,
  jobRelabeling,
  metadata,
  OPERATOR_SELECTOR,
  RELEASES,
} from "./cluster";

const RULES_DIR = "loki/rules/";
const LIMITS_FILE = "loki/limits.yaml";
/** Where the rules sidecar writes and the ruler reads (<mount>/<tenant>). */
export const LOKI_RULES_MOUNT = "/rules";
export const LOKI_RULES_CONFIGMAP = "loki-rules";
/** The header Loki reads the tenant from: the shipper's tenant_id, and Grafana's data source must send it with settings loki.tenant. */
export const LOKI_TENANT_HEADER = "X-Scope-OrgID";
/** Labels the Loki chart gives every pod and Service of the release (each target adds app.kubernetes.io/component). */
const LOKI_PODS = { "app.kubernetes.io/name": "loki", "app.kubernetes.io/instance": RELEASES.loki } as const;
const LOKI_PORTS = { http: 3100, gateway: 8080 } as const;
/** The schema's first day: fixed forever (a later date would orphan the data before it). */
const SCHEMA_FROM = "2024-04-01";

/** The rendered ruler files, byte for byte (file name → YAML). */
export function lokiRuleFiles(rendered: Rendered): Record<string, string> {
  return Object.fromEntries([...rendered.files].filter(([f]) => f.startsWith(RULES_DIR)).map(([f, text]) => [f.slice(RULES_DIR.length), text]));
}

/** limits_config from synth's loki/limits.yaml (retention_period, retention_stream). */
export function lokiLimits(rendered: Rendered): Record<string, unknown> {
  const text = rendered.files.get(LIMITS_FILE);
  if (text === undefined) throw new Error(`synth rendered no ${LIMITS_FILE}`);
  return (yaml.load(text, { schema: yaml.CORE_SCHEMA }) as { limits_config: Record<string, unknown> }).limits_config;
}

/** The user the chart's images run as, with the seccomp profile restricted requires. */
const restrictedPod = (uid: number) => ({ fsGroup: uid, runAsGroup: uid, runAsNonRoot: true, runAsUser: uid, seccompProfile: { type: "RuntimeDefault" } });
const RESTRICTED_CONTAINER = { readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] }, allowPrivilegeEscalation: false };

export function lokiValues(s: Settings, rendered: Rendered, aws?: { bucket: string; region: string; roleArn: pulumi.Input<string> }): Record<string, unknown> {
  const c = clusterSettings(s);
  const l = c.loki;
  const single = l.mode === "single-binary";
  const store = aws ? "s3" : "filesystem";
  const persistence = { size: l.storage.size, ...(l.storage.className ? { storageClass: l.storage.className } : {}) };
  const resources = containerResources(l.resources);
  const target = (on: boolean, extra: Record<string, unknown> = {}) => (on ? { replicas: l.replicas, resources, ...extra } : { replicas: 0 });
  // On S3 the bucket keeps every version for the security retention: queries stop there, the lifecycle expires what is older.
  const lookback = aws ? { max_query_lookback: `${s.loki.securityRetentionDays * 24}h` } : {};
  return {
    fullnameOverride: RELEASES.loki,
    deploymentMode: single ? "SingleBinary" : "SimpleScalable",
    loki: {
      podSecurityContext: restrictedPod(10001),
      containerSecurityContext: RESTRICTED_CONTAINER,
      auth_enabled: true,
      commonConfig: { replication_factor: single ? 1 : LOKI_REPLICATION_FACTOR },
      schemaConfig: { configs: [{ from: SCHEMA_FROM, store: "tsdb", object_store: store, schema: "v13", index: { prefix: "loki_index_", period: "24h" } }] },
      storage: aws ? { type: "s3", bucketNames: { chunks: aws.bucket }, s3: { region: aws.region } } : { type: "filesystem" },
      // Merged by Helm with the chart's limits (rejection of old samples, query limits).
      limits_config: { ...lokiLimits(rendered), deletion_mode: "disabled", ...lookback },
      compactor: {
        working_directory: "/var/loki/compactor",
        compaction_interval: "10m",
        ...(aws ? { retention_enabled: false } : { retention_enabled: true, retention_delete_delay: "2h", delete_request_store: store }),
      },
      structuredConfig: {
        ruler: {
          storage: { type: "local", local: { directory: LOKI_RULES_MOUNT } },
          rule_path: "/var/loki/rules-temp",
          wal: { dir: "/var/loki/ruler-wal" },
          alertmanager_url: inClusterUrls(s).alertmanager,
          enable_api: true,
          // Prometheus' external labels on every log alert (Loki 3.4: ruler.external_labels), so inhibitions pair them.
          external_labels: externalLabels(s),
        },
      },
    },
    // The ruler still runs (in the backend target, or the single binary); this only stops the chart writing a second ruler.storage.
    ruler: { enabled: false },
    sidecar: { securityContext: RESTRICTED_CONTAINER, rules: { enabled: true, label: "loki_rule", labelValue: "1", folder: LOKI_RULES_MOUNT } },
    serviceAccount: { create: true, ...(aws ? { annotations: { "eks.amazonaws.com/role-arn": aws.roleArn } } : {}) },
    // Scraped through our own ServiceMonitor (LokiStack).
    monitoring: {
      serviceMonitor: { enabled: false },
      dashboards: { enabled: false },
      rules: { enabled: false },
      selfMonitoring: { enabled: false, grafanaAgent: { installOperator: false } },
    },
    // No canary DaemonSet and no Helm test (Chart v4 renders no hooks anyway); no memcached (GBs of memory requests).
    lokiCanary: { enabled: false },
    test: { enabled: false },
    chunksCache: { enabled: false },
    resultsCache: { enabled: false },
    // Pod Security restricted (the namespace enforces it): the chart's own contexts lack only a seccomp profile.
    gateway: { enabled: true, podSecurityContext: restrictedPod(101), containerSecurityContext: RESTRICTED_CONTAINER },
    singleBinary: single ? { replicas: 1, resources, persistence: { enabled: true, ...persistence } } : { replicas: 0 },
    read: target(!single),
    write: target(!single, { persistence }),
    backend: target(!single, { persistence }),
  };
}

type PodSelector = { matchLabels: Record<string, string>; matchExpressions?: { key: string; operator: "In"; values: string[] }[] };
type IngressRule = { from: { podSelector: PodSelector }[]; ports?: { protocol: "TCP"; port: number }[] };

/** Loki's pods of these targets (the chart's app.kubernetes.io/component). */
const lokiTargets = (...components: string[]): PodSelector => ({
  matchLabels: { ...LOKI_PODS },
  matchExpressions: [{ key: "app.kubernetes.io/component", operator: "In", values: components }],
});

/**
 * Who may reach which of Loki's pods (policy name → the pods, and their ingress
 * rules; pods of the stack's namespace only). The shipper reaches only the
 * write path, Grafana only the gateway, and the gateway only the read path in
 * simple-scalable mode; the single binary serves both paths on one port.
 */
export function lokiIngress(s: Settings): Record<string, { pods: PodSelector; ingress: IngressRule[] }> {
  const single = clusterSettings(s).loki.mode === "single-binary";
  const peers = single ? ["single-binary"] : ["read", "write", "backend"];
  const http = (...from: PodSelector[]): IngressRule => ({ from: from.map((podSelector) => ({ podSelector })), ports: [{ protocol: "TCP", port: LOKI_PORTS.http }] });
  // Ring, gRPC and memberlist among Loki's own pods (every port: the chart names several).
  const internal: IngressRule = { from: [{ podSelector: lokiTargets(...peers) }] };
  const shipper = { matchLabels: { "app.kubernetes.io/name": "alloy", "app.kubernetes.io/instance": RELEASES.alloy } };
  const grafana = { matchLabels: { "app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": RELEASES.prometheusStack } };
  const prometheus = { matchLabels: { ...PODS.prometheus } };
  const gateway = lokiTargets("gateway");
  return {
    "loki-gateway-ingress": { pods: gateway, ingress: [{ from: [{ podSelector: grafana }], ports: [{ protocol: "TCP", port: LOKI_PORTS.gateway }] }] },
    ...(single
      ? { "loki-ingress": { pods: lokiTargets("single-binary"), ingress: [internal, http(shipper, gateway, prometheus)] } }
      : {
          "loki-write-ingress": { pods: lokiTargets("write"), ingress: [internal, http(shipper, prometheus)] },
          "loki-read-ingress": { pods: lokiTargets("read", "backend"), ingress: [internal, http(gateway, prometheus)] },
        }),
  };
}

export class LokiStack extends pulumi.ComponentResource {
  readonly ruleGroups: string[];
  /** Log alerting rules deployed. */
  readonly alertRules: number;

  constructor(name: string, args: { settings: Settings; rendered: Rendered; aws?: AwsStorage }, opts?: pulumi.ComponentResourceOptions) {
    super("authwatch:loki:Stack", name, {}, opts);
    const s = args.settings;
    const c = clusterSettings(s);
    const child = { parent: this };
    const files = lokiRuleFiles(args.rendered);
    const rules = new k8s.core.v1.ConfigMap(
      LOKI_RULES_CONFIGMAP,
      {
        metadata: metadata(s, LOKI_RULES_CONFIGMAP, "loki", { labels: { loki_rule: "1" }, annotations: { "k8s-sidecar-target-directory": `${LOKI_RULES_MOUNT}/${s.loki.tenant}` } }),
        data: files,
      },
      child,
    );
    const a = args.aws;
    const onS3 = a?.lokiBucket && a.roleArns.loki ? { bucket: a.lokiBucket, region: a.region, roleArn: a.roleArns.loki } : undefined;
    const loki = new k8s.helm.v4.Chart(
      RELEASES.loki,
      {
        chart: "loki",
        version: c.charts.loki,
        repositoryOpts: { repo: CHART_REPOSITORIES.grafana },
        name: RELEASES.loki,
        namespace: c.namespace,
        values: lokiValues(s, args.rendered, onS3),
      },
      { ...child, dependsOn: [rules, ...(a ? [a] : [])] },
    );
    new k8s.apiextensions.CustomResource(
      RELEASES.loki,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "ServiceMonitor",
        metadata: metadata(s, RELEASES.loki, "loki", { labels: { ...OPERATOR_SELECTOR } }),
        // The chart's own selector: every Loki Service with an http-metrics port but the ones it marks unscraped (headless, gateway).
        spec: {
          selector: { matchLabels: { ...LOKI_PODS }, matchExpressions: [{ key: "prometheus.io/service-monitor", operator: "NotIn", values: ["false"] }] },
          endpoints: [{ port: "http-metrics", path: "/metrics", interval: s.scrapeInterval, relabelings: [jobRelabeling(s.scrapeJobs.loki)] }],
        } satisfies IServiceMonitor["spec"],
      },
      { ...child, dependsOn: [loki] },
    );
    for (const [policy, { pods, ingress }] of Object.entries(lokiIngress(s))) {
      new k8s.networking.v1.NetworkPolicy(policy, { metadata: metadata(s, policy, "loki"), spec: { podSelector: pods, policyTypes: ["Ingress"], ingress } }, child);
    }
    const docs = Object.values(files).map((text) => yaml.load(text, { schema: yaml.CORE_SCHEMA }) as RuleGroupDocument);
    this.ruleGroups = docs.flatMap((d) => d.groups.map((g) => g.name));
    this.alertRules = alertingRuleCount(docs);
    this.registerOutputs({ ruleGroups: this.ruleGroups, alertRules: this.alertRules });
  }
}
