/**
 * Logs: the grafana/loki chart (single binary on its volume in dev; simple
 * scalable on S3 where the stack has AWS), its ruler loading synth's
 * loki/rules/*.yaml, retention from synth's loki/limits.yaml, and Grafana
 * Alloy shipping the auth service's JSON logs and PostgreSQL's log with
 * synth's alloy/config.alloy (stream labels, and which lines are security
 * events: render/alloy.ts).
 *
 * Retention needs the compactor with retention_enabled, and Loki 3 refuses it
 * without compactor.delete_request_store (the store deletes are kept in).
 * The ruler reads rule files from local storage: the chart's rules sidecar
 * copies the ConfigMap written here to /rules/<tenant> (tenant "fake" with
 * auth disabled) and the ruler sends to the stack's Alertmanager.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import type { Settings } from "../settings";
import type { Rendered } from "../synth";
import { ALLOY_CONFIG_FILE } from "../render/alloy";
import { externalLabels } from "../render/prometheus";
import type { AwsStorage } from "./aws";
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
/** Where the rules sidecar writes and the ruler reads; Loki's tenant without auth is "fake". */
export const LOKI_RULES_MOUNT = "/rules";
export const LOKI_TENANT = "fake";
export const LOKI_RULES_CONFIGMAP = "loki-rules";
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

export function lokiValues(s: Settings, rendered: Rendered, aws?: { bucket: string; region: string; roleArn: pulumi.Input<string> }): Record<string, unknown> {
  const c = clusterSettings(s);
  const l = c.loki;
  const single = l.mode === "single-binary";
  const store = aws ? "s3" : "filesystem";
  const persistence = { size: l.storage.size, ...(l.storage.className ? { storageClass: l.storage.className } : {}) };
  const resources = containerResources(l.resources);
  const target = (on: boolean, extra: Record<string, unknown> = {}) => (on ? { replicas: l.replicas, resources, ...extra } : { replicas: 0 });
  return {
    fullnameOverride: RELEASES.loki,
    deploymentMode: single ? "SingleBinary" : "SimpleScalable",
    loki: {
      auth_enabled: false,
      commonConfig: { replication_factor: single ? 1 : Math.min(3, l.replicas) },
      schemaConfig: { configs: [{ from: SCHEMA_FROM, store: "tsdb", object_store: store, schema: "v13", index: { prefix: "loki_index_", period: "24h" } }] },
      storage: aws ? { type: "s3", bucketNames: { chunks: aws.bucket, ruler: aws.bucket, admin: aws.bucket }, s3: { region: aws.region } } : { type: "filesystem" },
      // Merged by Helm with the chart's limits (rejection of old samples, query limits).
      limits_config: lokiLimits(rendered),
      compactor: {
        working_directory: "/var/loki/compactor",
        compaction_interval: "10m",
        retention_enabled: true,
        retention_delete_delay: "2h",
        delete_request_store: store,
      },
      rulerConfig: {
        storage: { type: "local", local: { directory: LOKI_RULES_MOUNT } },
        rule_path: "/var/loki/rules-temp",
        wal: { dir: "/var/loki/ruler-wal" },
        alertmanager_url: inClusterUrls(s).alertmanager,
        enable_api: true,
        // Prometheus' external labels on every log alert (Loki 3.4: ruler.external_labels), so inhibitions pair them.
        external_labels: externalLabels(s),
      },
    },
    ruler: { enabled: true },
    sidecar: { rules: { enabled: true, label: "loki_rule", labelValue: "1", folder: LOKI_RULES_MOUNT } },
    serviceAccount: { create: true, ...(aws ? { annotations: { "eks.amazonaws.com/role-arn": aws.roleArn } } : {}) },
    // The self-monitoring ServiceMonitor, under the contract's job name.
    monitoring: {
      serviceMonitor: { enabled: true, labels: { ...OPERATOR_SELECTOR }, relabelings: [jobRelabeling(s.scrapeJobs.loki)] },
      dashboards: { enabled: false },
      rules: { enabled: false },
      selfMonitoring: { enabled: false, grafanaAgent: { installOperator: false } },
    },
    // No canary DaemonSet and no Helm test (Chart v4 renders no hooks anyway); no memcached (GBs of memory requests).
    lokiCanary: { enabled: false },
    test: { enabled: false },
    chunksCache: { enabled: false },
    resultsCache: { enabled: false },
    gateway: { enabled: true },
    singleBinary: single ? { replicas: 1, resources, persistence: { enabled: true, ...persistence } } : { replicas: 0 },
    read: target(!single),
    write: target(!single, { persistence }),
    backend: target(!single, { persistence }),
  };
}

/** Grafana Alloy's configuration, byte for byte as synth renders it (render/alloy.ts). */
export function alloyConfig(rendered: Rendered): string {
  const text = rendered.files.get(ALLOY_CONFIG_FILE);
  if (text === undefined) throw new Error(`synth rendered no ${ALLOY_CONFIG_FILE}`);
  return text;
}

export function alloyValues(s: Settings, rendered: Rendered): Record<string, unknown> {
  const c = clusterSettings(s);
  return {
    fullnameOverride: RELEASES.alloy,
    crds: { create: false },
    // loki.source.kubernetes tails through the API server: no hostPath, one Deployment (clustered beyond one replica).
    controller: { type: "deployment", replicas: c.logShipper.replicas },
    alloy: {
      configMap: { create: true, content: alloyConfig(rendered) },
      clustering: { enabled: c.logShipper.replicas > 1 },
      mounts: { varlog: false, dockercontainers: false },
      resources: containerResources(c.logShipper.resources),
    },
    serviceMonitor: { enabled: false },
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
        metadata: metadata(s, LOKI_RULES_CONFIGMAP, "loki", { labels: { loki_rule: "1" }, annotations: { "k8s-sidecar-target-directory": `${LOKI_RULES_MOUNT}/${LOKI_TENANT}` } }),
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
    new k8s.helm.v4.Chart(
      RELEASES.alloy,
      {
        chart: "alloy",
        version: c.charts.alloy,
        repositoryOpts: { repo: CHART_REPOSITORIES.grafana },
        name: RELEASES.alloy,
        namespace: c.namespace,
        values: alloyValues(s, args.rendered),
      },
      { ...child, dependsOn: [loki] },
    );
    const docs = Object.values(files).map((text) => yaml.load(text, { schema: yaml.CORE_SCHEMA }) as RuleGroupDocument);
    this.ruleGroups = docs.flatMap((d) => d.groups.map((g) => g.name));
    this.alertRules = alertingRuleCount(docs);
    this.registerOutputs({ ruleGroups: this.ruleGroups, alertRules: this.alertRules });
  }
}
