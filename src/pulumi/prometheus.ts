/**
 * kube-prometheus-stack (Prometheus operator, Prometheus, Alertmanager,
 * kube-state-metrics, Grafana) as a Helm chart v4: per-object diffs in
 * `pulumi preview`, chart version pinned per stack.
 *
 * Choices the values make (docs/deploy.md):
 * - Chart v4 renders no Helm hooks, so the admission webhook's certificate jobs
 *   never run: the webhook is disabled (settings cluster.admissionWebhooks =
 *   disabled; rules are proven by promtool in CI instead) or its certificates
 *   come from cert-manager.
 * - The chart's default rules are off: every alert of this stack comes from the
 *   catalog (docs/alerts.md), routed by its severity, service and category
 *   labels and linked to a runbook.
 * - Alertmanager reads the configuration Secret the Alertmanager component
 *   writes (useExistingSecret) and mounts the receivers' Secret.
 * - Grafana's admin password comes from a Secret written here from the Pulumi
 *   secret authwatch:grafanaAdminPassword; the values name the Secret only.
 * - The operator selects PrometheusRules, ServiceMonitors, PodMonitors and
 *   Probes labelled `release: kube-prometheus-stack`, in every namespace.
 * - The stack's own targets keep the contract's job names (prometheus,
 *   alertmanager, grafana) through a relabeling of their ServiceMonitors;
 *   the chart applies the relabelings to the config reloaders' endpoints too,
 *   so the job is set only where the endpoint is the web port.
 * - Pod Security restricted: every pod's security context is set here, not
 *   left to the chart's defaults; no node exporter (host network and PID).
 * - Grafana's sidecars read ConfigMaps of the stack's namespace only, through
 *   a Role of ours (the chart's own Role and ClusterRole include Secrets).
 * - remote_write (settings remoteWrite, src/pulumi/remote-write.ts): the store's
 *   credential comes from a Secret of ours; the values name the Secret only.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "../settings";
import {
  CHART_REPOSITORIES,
  clusterSettings,
  containerResources,
  jobRelabeling,
  metadata,
  OPERATOR_SELECTOR,
  objectLabels,
  RELEASES,
  restricted,
  secretConfig,
  volumeClaimSpec,
} from "./cluster";
import { externalLabels, REPLICA_LABEL } from "../render/prometheus";
import { GRAFANA_POSTGRES_PASSWORD_ENV, GRAFANA_POSTGRES_SECRET, SIDECAR_LABELS } from "./grafana";

/** The sidecar's provisioning file names the PostgreSQL password by an environment variable of the chart's Grafana (src/pulumi/grafana.ts). */
const postgresPasswordFromEnv = (s: Settings) => s.cluster?.grafana.enabled === true && s.grafana.delivery === "sidecar" && s.grafana.postgres !== undefined;
import { prometheusRemoteWrite, remoteWriteSecret } from "./remote-write";

export const GRAFANA_ADMIN_SECRET = "grafana-admin";
const GRAFANA_ADMIN_KEYS = { user: "admin-user", password: "admin-password" } as const;
/** The Role the chart's RoleBinding gives Grafana (rbac.useExistingRole): ConfigMaps of the namespace, nothing else. */
export const GRAFANA_SIDECAR_ROLE = "grafana-sidecar";
/** The web port's name on Prometheus' and Alertmanager's Services (the chart's portName). */
export const WEB_PORT = "http-web";

/** Sets the contract's job on the web endpoint only; the operator labels each target with its `endpoint` (port name) before these run. */
function webJobRelabeling(job: string) {
  return { ...jobRelabeling(job), sourceLabels: ["endpoint"], regex: WEB_PORT };
}

/** The chart's own users and groups, kept (volumes already belong to them). */
const UID = { operator: 65534, prometheus: 1000, grafana: 472, kubeStateMetrics: 65534 } as const;
const PROMETHEUS_GID = 2000;

export interface PrometheusStackRefs {
  /** alertmanagerSpec.configSecret */
  readonly alertmanagerConfigSecret: string;
  /** Mounted at /etc/alertmanager/secrets/<name> (= routing.secretsDir). */
  readonly alertmanagerReceiversSecret: string;
}

/** The one entry of a single-label map, as the Grafana sidecar takes it (label, labelValue). */
function sidecarLabel(labels: Readonly<Record<string, string>>): { label: string; labelValue: string } {
  const [entry] = Object.entries(labels);
  if (!entry) throw new Error("a sidecar label map needs one label");
  return { label: entry[0], labelValue: entry[1] };
}

/** The chart's values for a stack: pure data, asserted by the tests. */
export function kubePrometheusStackValues(s: Settings, refs: PrometheusStackRefs): Record<string, unknown> {
  const c = clusterSettings(s);
  const j = s.scrapeJobs;
  const p = c.prometheus;
  const am = c.alertmanager;
  const spread = (replicas: number) => ({ podAntiAffinity: replicas > 1 ? c.antiAffinity : "", podAntiAffinityTopologyKey: "kubernetes.io/hostname" });
  // An HA pair or cluster keeps all but one pod through voluntary disruptions (node drains).
  const disruptionBudget = (replicas: number) => (replicas > 1 ? { enabled: true, minAvailable: replicas - 1 } : { enabled: false });
  const select = { matchLabels: { ...OPERATOR_SELECTOR } };
  const webhooks =
    c.admissionWebhooks === "cert-manager"
      ? { admissionWebhooks: { enabled: true, patch: { enabled: false }, certManager: { enabled: true } }, tls: { enabled: true } }
      : { admissionWebhooks: { enabled: false, patch: { enabled: false } }, tls: { enabled: false } };
  const operator = restricted(UID.operator);
  const prometheusPod = { ...restricted(UID.prometheus).pod, runAsGroup: PROMETHEUS_GID, fsGroup: PROMETHEUS_GID };
  const grafana = restricted(UID.grafana);
  const kubeStateMetrics = restricted(UID.kubeStateMetrics);
  // Grafana writes below / (plugins, sessions): its root filesystem stays writable (restricted does not require read-only).
  const grafanaContainer = { ...grafana.container, readOnlyRootFilesystem: false };
  const host = new URL(s.dashboardBaseUrl).hostname;
  return {
    fullnameOverride: RELEASES.prometheusStack,
    crds: { enabled: true },
    defaultRules: { create: false },
    // Node and control-plane scrapers feed only the default rules and dashboards, which are off; managed clusters hide the control plane anyway.
    nodeExporter: { enabled: false },
    kubeControllerManager: { enabled: false },
    kubeScheduler: { enabled: false },
    kubeEtcd: { enabled: false },
    kubeProxy: { enabled: false },
    prometheusOperator: { ...webhooks, securityContext: operator.pod, containerSecurityContext: operator.container },
    "kube-state-metrics": { securityContext: { enabled: true, ...kubeStateMetrics.pod }, containerSecurityContext: kubeStateMetrics.container },
    alertmanager: {
      enabled: true,
      podDisruptionBudget: disruptionBudget(am.replicas),
      serviceMonitor: { relabelings: [webJobRelabeling(j.alertmanager)] },
      ingress: { enabled: false },
      alertmanagerSpec: {
        replicas: am.replicas,
        portName: WEB_PORT,
        securityContext: prometheusPod,
        useExistingSecret: true,
        configSecret: refs.alertmanagerConfigSecret,
        secrets: [refs.alertmanagerReceiversSecret],
        storage: { volumeClaimTemplate: { spec: volumeClaimSpec(am.storage) } },
        resources: containerResources(am.resources),
        ...spread(am.replicas),
      },
    },
    prometheus: {
      podDisruptionBudget: disruptionBudget(p.replicas),
      serviceMonitor: { relabelings: [webJobRelabeling(j.prometheus)] },
      ingress: { enabled: false },
      prometheusSpec: {
        replicas: p.replicas,
        portName: WEB_PORT,
        securityContext: prometheusPod,
        retention: p.retention,
        retentionSize: p.retentionSize,
        scrapeInterval: s.scrapeInterval,
        evaluationInterval: s.evaluationInterval,
        externalLabels: externalLabels(s),
        // The operator labels each replica's alerts with its pod name under this label and drops it
        // again in alert_relabel_configs, so the Alertmanagers deduplicate the pair's alerts (README "High availability").
        replicaExternalLabelName: REPLICA_LABEL,
        ruleSelectorNilUsesHelmValues: false,
        ruleSelector: select,
        ruleNamespaceSelector: {},
        serviceMonitorSelectorNilUsesHelmValues: false,
        serviceMonitorSelector: select,
        serviceMonitorNamespaceSelector: {},
        podMonitorSelectorNilUsesHelmValues: false,
        podMonitorSelector: select,
        podMonitorNamespaceSelector: {},
        probeSelectorNilUsesHelmValues: false,
        probeSelector: select,
        probeNamespaceSelector: {},
        storageSpec: { volumeClaimTemplate: { spec: volumeClaimSpec(p.storage) } },
        resources: containerResources(p.resources),
        ...spread(p.replicas),
        ...(s.remoteWrite ? { remoteWrite: prometheusRemoteWrite(s) } : {}),
      },
    },
    grafana: c.grafana.enabled
      ? {
          enabled: true,
          admin: { existingSecret: GRAFANA_ADMIN_SECRET, userKey: GRAFANA_ADMIN_KEYS.user, passwordKey: GRAFANA_ADMIN_KEYS.password },
          ...(postgresPasswordFromEnv(s) ? { envValueFrom: { [GRAFANA_POSTGRES_PASSWORD_ENV]: { secretKeyRef: { name: GRAFANA_POSTGRES_SECRET, key: "password" } } } } : {}),
          defaultDashboardsEnabled: false,
          resources: containerResources(c.grafana.resources),
          rbac: { create: true, namespaced: true, useExistingRole: GRAFANA_SIDECAR_ROLE },
          securityContext: grafana.pod,
          containerSecurityContext: grafanaContainer,
          // Root with CHOWN (only with persistence, which is off), and a Helm test pod: neither is wanted.
          initChownData: { enabled: false },
          testFramework: { enabled: false },
          "grafana.ini": {
            server: { root_url: s.dashboardBaseUrl },
            users: { allow_sign_up: false },
            analytics: { reporting_enabled: false, check_for_updates: false },
          },
          // The sidecar delivery of dashboards (src/pulumi/grafana.ts): its labels, its namespace, the folder from its annotation.
          sidecar: {
            securityContext: grafana.container,
            dashboards: {
              enabled: true,
              ...sidecarLabel(SIDECAR_LABELS.dashboard),
              // Only the stack's namespace (settings keep grafana.sidecarNamespace equal to it), only ConfigMaps.
              searchNamespace: c.namespace,
              resource: "configmap",
              folderAnnotation: "grafana_folder",
              provider: { foldersFromFilesStructure: true },
            },
            // The project's data sources (fixed uids) replace the chart's defaults.
            datasources: {
              enabled: true,
              ...sidecarLabel(SIDECAR_LABELS.datasource),
              searchNamespace: c.namespace,
              resource: "configmap",
              defaultDatasourceEnabled: false,
              alertmanager: { enabled: false },
            },
          },
          serviceMonitor: { enabled: true, labels: { ...OPERATOR_SELECTOR }, relabelings: [jobRelabeling(j.grafana)] },
          ingress: c.ingress.enabled
            ? {
                enabled: true,
                ingressClassName: c.ingress.className,
                annotations: c.ingress.annotations,
                hosts: [host],
                path: "/",
                tls: c.ingress.tlsSecretName ? [{ secretName: c.ingress.tlsSecretName, hosts: [host] }] : [],
              }
            : { enabled: false },
        }
      : { enabled: false },
  };
}

export class PrometheusStack extends pulumi.ComponentResource {
  readonly chart: k8s.helm.v4.Chart;

  constructor(name: string, args: { settings: Settings; refs: PrometheusStackRefs }, opts?: pulumi.ComponentResourceOptions) {
    super("authwatch:prometheus:Stack", name, {}, opts);
    const s = args.settings;
    const c = clusterSettings(s);
    const dependsOn: pulumi.Resource[] = [];
    if (c.grafana.enabled) {
      dependsOn.push(
        new k8s.rbac.v1.Role(
          GRAFANA_SIDECAR_ROLE,
          {
            metadata: { name: GRAFANA_SIDECAR_ROLE, namespace: c.namespace, labels: objectLabels("grafana") },
            rules: [{ apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch"] }],
          },
          { parent: this },
        ),
      );
      dependsOn.push(
        new k8s.core.v1.Secret(
          GRAFANA_ADMIN_SECRET,
          {
            metadata: metadata(s, GRAFANA_ADMIN_SECRET, "grafana"),
            type: "Opaque",
            stringData: { [GRAFANA_ADMIN_KEYS.user]: "admin", [GRAFANA_ADMIN_KEYS.password]: secretConfig("grafanaAdminPassword") },
          },
          { parent: this },
        ),
      );
      if (postgresPasswordFromEnv(s)) {
        dependsOn.push(
          new k8s.core.v1.Secret(
            GRAFANA_POSTGRES_SECRET,
            { metadata: metadata(s, GRAFANA_POSTGRES_SECRET, "grafana"), type: "Opaque", stringData: { password: secretConfig("grafanaPostgresPassword") } },
            { parent: this },
          ),
        );
      }
    }
    const remoteWrite = remoteWriteSecret(s, this);
    if (remoteWrite) dependsOn.push(remoteWrite);
    this.chart = new k8s.helm.v4.Chart(
      RELEASES.prometheusStack,
      {
        chart: "kube-prometheus-stack",
        version: c.charts.kubePrometheusStack,
        repositoryOpts: { repo: CHART_REPOSITORIES.prometheusCommunity },
        name: RELEASES.prometheusStack,
        namespace: c.namespace,
        values: kubePrometheusStackValues(s, args.refs),
      },
      { parent: this, dependsOn },
    );
    this.registerOutputs({});
  }
}
