/**
 * Logs: the grafana/loki chart (single binary on its volume in dev; simple
 * scalable on S3 where the stack has AWS), its ruler loading synth's
 * loki/rules/*.yaml and retention from synth's loki/limits.yaml.
 *
 * Retention needs the compactor with retention_enabled, and Loki 3 refuses it
 * without compactor.delete_request_store (the store deletes are kept in).
 * The ruler reads rule files from local storage: the chart's rules sidecar
 * copies the ConfigMap written here to /rules/<tenant> (tenant "fake" with
 * auth disabled) and the ruler sends to the stack's Alertmanager.
 * The log shipper (Grafana Alloy) is its own component: src/pulumi/alloy.ts.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import type { Settings } from "../settings";
import type { Rendered } from "../synth";
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
    new k8s.helm.v4.Chart(
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
    const docs = Object.values(files).map((text) => yaml.load(text, { schema: yaml.CORE_SCHEMA }) as RuleGroupDocument);
    this.ruleGroups = docs.flatMap((d) => d.groups.map((g) => g.name));
    this.alertRules = alertingRuleCount(docs);
    this.registerOutputs({ ruleGroups: this.ruleGroups, alertRules: this.alertRules });
  }
}
