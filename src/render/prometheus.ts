/** Prometheus rule files and a plain Prometheus configuration. */
import * as path from "node:path";
import type { AlertRule, LogRuleGroup, PromRule, PromRuleGroup } from "../model";
import type { Settings } from "../settings";
import { dashboardUrl, runbookUrl } from "../addresses";
import { remoteWriteConfig } from "./remote-write";
import { GENERATED, sortedRecord, toYaml } from "./yaml";

/** synth's layout: prometheus.yaml, and one rule file per group under prometheus/rules/. */
export const PROMETHEUS_CONFIG_FILE = "prometheus/prometheus.yaml";
export const PROMETHEUS_RULES_DIR = "prometheus/rules/";
export const prometheusRuleFile = (group: string): string => `${PROMETHEUS_RULES_DIR}${group}.yaml`;
/** A path of synth's layout relative to prometheus.yaml's directory, as its rule_files (and a copy of that directory) take it. */
export const fromPrometheusDir = (file: string): string => path.posix.relative(path.posix.dirname(PROMETHEUS_CONFIG_FILE), file);

/** The labels Prometheus attaches to an alert of this rule (besides alertname and the series' own). */
export function alertLabels(rule: AlertRule): Record<string, string> {
  return sortedRecord({ ...rule.labels, severity: rule.severity, service: rule.service, category: rule.category });
}

export function alertAnnotations(s: Settings, rule: AlertRule): Record<string, string> {
  const dash = rule.dashboard ? dashboardUrl(s, rule.dashboard.uid, rule.dashboard.panel) : undefined;
  return sortedRecord({
    summary: rule.summary,
    description: rule.description,
    runbook_url: runbookUrl(s, rule.runbook),
    ...(dash ? { dashboard_url: dash } : {}),
  });
}

function renderAlert(s: Settings, rule: AlertRule): Record<string, unknown> {
  return {
    alert: rule.alert,
    expr: rule.expr,
    ...(rule.for ? { for: rule.for } : {}),
    labels: alertLabels(rule),
    annotations: alertAnnotations(s, rule),
  };
}

function renderRule(s: Settings, rule: PromRule): Record<string, unknown> {
  if (rule.kind === "alert") return renderAlert(s, rule);
  return { record: rule.record, expr: rule.expr, ...(rule.labels ? { labels: sortedRecord(rule.labels) } : {}) };
}

/** One group as the `groups:` document Prometheus (and the PrometheusRule spec) takes. */
export function ruleGroupDocument(s: Settings, group: PromRuleGroup): { groups: { name: string; interval?: string; rules: Record<string, unknown>[] }[] } {
  return { groups: [{ name: group.name, ...(group.interval ? { interval: group.interval } : {}), rules: group.rules.map((r) => renderRule(s, r)) }] };
}

export function logRuleGroupDocument(s: Settings, group: LogRuleGroup): { groups: { name: string; rules: Record<string, unknown>[] }[] } {
  return { groups: [{ name: group.name, rules: group.rules.map((r) => renderAlert(s, r)) }] };
}

export function renderRuleFile(s: Settings, group: PromRuleGroup): string {
  return toYaml(ruleGroupDocument(s, group), `${GENERATED}\nSource: ${group.source}; stack: ${s.stack}.`);
}

export function renderLogRuleFile(s: Settings, group: LogRuleGroup): string {
  return toYaml(logRuleGroupDocument(s, group), `${GENERATED}\nSource: ${group.source}; stack: ${s.stack}. Loki ruler (LogQL).`);
}

/** Where a plain Prometheus finds what it scrapes (the local stack passes its own ports). */
export interface ScrapeAddresses {
  readonly auth: string;
  readonly blackbox: string;
  readonly healthUrl: string;
  readonly postgresExporter: string;
  readonly pushgateway: string;
  readonly prometheus: string;
  readonly alertmanager: string;
}

export const DEFAULT_ADDRESSES: ScrapeAddresses = {
  auth: "127.0.0.1:8080",
  blackbox: "127.0.0.1:9115",
  healthUrl: "http://127.0.0.1:8080/health",
  postgresExporter: "127.0.0.1:9187",
  pushgateway: "127.0.0.1:9091",
  prometheus: "127.0.0.1:9090",
  alertmanager: "127.0.0.1:9093",
};

/**
 * The external label that tells the replicas of a Prometheus HA pair apart. Prod's operator sets it
 * (prometheusSpec.replicaExternalLabelName, its pod's name) and drops it from alerts; the local HA
 * stack does the same (HaMembers). Alertmanager must never see it: the two replicas' copies of an
 * alert then have one label set, and Alertmanager keeps one alert and sends one notification.
 */
export const REPLICA_LABEL = "prometheus_replica";

/** One replica of an HA pair (the local stack's --ha): its REPLICA_LABEL value, and every member it scrapes and alerts. */
export interface HaMembers {
  readonly replica: string;
  /** Every Prometheus replica's address (job prometheus scrapes them all). */
  readonly prometheus: readonly string[];
  /** Every Alertmanager of the cluster: each alert goes to all of them; job alertmanager scrapes them all. */
  readonly alertmanagers: readonly string[];
}

/** alert_relabel_configs of a replica: what the operator renders for replicaExternalLabelName. */
export const dropReplicaLabel = () => [{ action: "labeldrop", regex: REPLICA_LABEL }];

/**
 * The labels every alert of the stack carries, whoever evaluates it: Prometheus (external_labels)
 * and Loki's ruler (ruler.external_labels). Alertmanager's `equal: [env]` inhibitions pair on them.
 */
export function externalLabels(s: Pick<Settings, "environment">): Record<string, string> {
  return { env: s.environment };
}

/** `ha`: one replica of an HA pair (the local stack's --ha); without it, a single Prometheus and Alertmanager. */
export function renderPrometheusConfig(s: Settings, groups: readonly PromRuleGroup[], targets: ScrapeAddresses = DEFAULT_ADDRESSES, ha?: HaMembers): string {
  const j = s.scrapeJobs;
  const staticJob = (job: string, target: string | readonly string[], extra: Record<string, unknown> = {}) => ({
    job_name: job,
    ...extra,
    static_configs: [{ targets: typeof target === "string" ? [target] : [...target] }],
  });
  const alertmanagers = ha?.alertmanagers ?? [targets.alertmanager];
  const doc = {
    global: {
      scrape_interval: s.scrapeInterval,
      evaluation_interval: s.evaluationInterval,
      external_labels: { ...externalLabels(s), ...(ha ? { [REPLICA_LABEL]: ha.replica } : {}) },
    },
    rule_files: groups.map((g) => fromPrometheusDir(prometheusRuleFile(g.name))),
    alerting: { ...(ha ? { alert_relabel_configs: dropReplicaLabel() } : {}), alertmanagers: [{ static_configs: [{ targets: [...alertmanagers] }] }] },
    ...(s.remoteWrite ? { remote_write: [remoteWriteConfig(s.remoteWrite)] } : {}),
    scrape_configs: [
      staticJob(j.auth, targets.auth),
      {
        job_name: j.authHealth,
        metrics_path: "/probe",
        params: { module: ["http_2xx"] },
        static_configs: [{ targets: [targets.healthUrl] }],
        relabel_configs: [
          { source_labels: ["__address__"], target_label: "__param_target" },
          { source_labels: ["__param_target"], target_label: "instance" },
          { target_label: "__address__", replacement: targets.blackbox },
        ],
      },
      staticJob(j.postgres, targets.postgresExporter),
      // Batch jobs push here; honor_labels keeps their job label (pg-backup, restore-verify, token-cleanup).
      staticJob(j.pushgateway, targets.pushgateway, { honor_labels: true }),
      staticJob(j.prometheus, ha?.prometheus ?? targets.prometheus),
      staticJob(j.alertmanager, alertmanagers),
    ],
  };
  return toYaml(doc, `${GENERATED}\nA plain Prometheus for stack ${s.stack} (the local stack runs it).`);
}
