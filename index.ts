/**
 * The Pulumi program. Settings are read and validated once, here; a bad
 * setting or definition, or a secret the deployment needs and the stack does
 * not set, throws before any resource is registered. The program only places
 * rendered artifacts into resources: it never builds a rule itself.
 */
import { engineStackFile, settingsFromEngine } from "./src/pulumi/settings";
import { assertDeployable } from "./src/pulumi/preflight";
import { clusterSettings, inClusterUrls } from "./src/pulumi/cluster";
import { StackNamespace } from "./src/pulumi/namespace";
import { AwsStorage } from "./src/pulumi/aws";
import { AlertmanagerConfig } from "./src/pulumi/alertmanager";
import { PrometheusStack } from "./src/pulumi/prometheus";
import { AlertRules } from "./src/pulumi/rules";
import { ScrapeTargets } from "./src/pulumi/scraping";
import { LokiStack } from "./src/pulumi/loki";
import { LogShipper } from "./src/pulumi/alloy";
import { DatabaseJobs } from "./src/pulumi/database";
import { RollbackDrill } from "./src/pulumi/rollback-drill";
import { rollbackDrillRuns } from "./src/settings";
import { NetworkPolicies } from "./src/pulumi/network";
import { GrafanaDelivery } from "./src/pulumi/grafana";
import { dashboardFile } from "./src/render/grafana";
import { PROMETHEUS_RULES_DIR } from "./src/render/prometheus";
import { renderStack } from "./src/synth";

const settings = settingsFromEngine();
const rendered = renderStack(settings);
assertDeployable(settings, rendered.routing, engineStackFile());
const cluster = clusterSettings(settings);

const namespace = new StackNamespace("namespace", { settings });
const inNamespace = { dependsOn: [namespace] };
/** Buckets and IRSA roles, where the stack has AWS (cluster.aws.enabled). */
const aws = cluster.aws.enabled ? new AwsStorage("aws", { settings }) : undefined;
/** alertmanager.yaml + templates, and the receivers' secrets as files. */
const alertmanager = new AlertmanagerConfig("alertmanager", { settings, rendered }, inNamespace);
/** kube-prometheus-stack: operator, Prometheus, Alertmanager, kube-state-metrics, Grafana; with the CRDs the rest needs. */
const prometheus = new PrometheusStack(
  "prometheus-stack",
  { settings, refs: { alertmanagerConfigSecret: alertmanager.configSecretName, alertmanagerReceiversSecret: alertmanager.receiversSecretName } },
  { dependsOn: [namespace, alertmanager] },
);
const afterOperator = { dependsOn: [prometheus] };
const rules = new AlertRules("alert-rules", { settings, rendered }, afterOperator);
new ScrapeTargets("scrape-targets", { settings }, afterOperator);
const loki = new LokiStack("logs", { settings, rendered, ...(aws ? { aws } : {}) }, afterOperator);
/** Grafana Alloy, shipping the auth service's and PostgreSQL's logs to Loki. */
new LogShipper("log-shipper", { settings, rendered }, { dependsOn: [loki] });
const jobs = new DatabaseJobs("database-jobs", { settings, rendered, ...(aws ? { aws } : {}) }, inNamespace);
new NetworkPolicies("network-policies", { settings, routing: rendered.routing }, inNamespace);
/** The monthly rollback drill, where the stack runs it (cluster.rollbackDrill; on by default in staging). */
const drill = rollbackDrillRuns(settings) ? new RollbackDrill("rollback-drill", { settings }, inNamespace) : undefined;

/** Dashboards, folder and data sources through the Grafana API, or ConfigMaps for the Grafana sidecar (settings grafana.delivery). */
const grafana = new GrafanaDelivery(
  "authwatch-grafana",
  {
    settings,
    dashboards: new Map(rendered.summary.dashboards.map((uid) => [uid, rendered.files.get(dashboardFile(uid))!])),
  },
  afterOperator,
);

const urls = inClusterUrls(settings);
/** The Prometheus rule groups this stack deploys (file name → rendered YAML), byte-identical to synth's. */
export const prometheusRuleGroups = Object.fromEntries([...rendered.files].filter(([file]) => file.startsWith(PROMETHEUS_RULES_DIR)));
export const alertmanagerConfig = rendered.files.get("alertmanager/alertmanager.yaml");
/** Alerting rules deployed: Prometheus (each severity tier counts) and Loki. */
export const alertRuleCount = rules.alertRules + loki.alertRules;
export const environment = settings.environment;
/** In-cluster; reach them with `kubectl port-forward` (never exposed). */
export const prometheusUrl = urls.prometheus;
export const alertmanagerUrl = urls.alertmanager;
/** The ingress host when the stack enables one, else the chart's in-cluster service (or the external Grafana). */
export const grafanaUrl = cluster.grafana.enabled && !cluster.ingress.enabled ? urls.grafana : settings.dashboardBaseUrl;
export const backupBucket = aws?.backupBucket;
export const lokiBucket = aws?.lokiBucket;
export const backupDestination = jobs.backupDestination;
export const migrationJob = jobs.migrationJob;
/** The rollback drill's schedule, where the stack runs it. */
export const rollbackDrillSchedule = drill?.schedule;
/** Dashboard uid → the URL on-call engineers open (alerts' dashboard_url points into these). */
export const dashboardUrls = grafana.dashboardUrls;
export const grafanaDelivery = grafana.delivery;
