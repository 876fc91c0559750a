/**
 * What the cluster components share: the names of objects one component
 * creates and another refers to (the Secret the chart mounts, the Pushgateway
 * the jobs push to, the label the operator selects by), the labels of every
 * object the program writes, in-cluster URLs, and the stack's secret config.
 * One place, so that a name used by two components cannot drift.
 */
import * as pulumi from "@pulumi/pulumi";
import { mustParseDuration } from "../duration";
import { PROJECT, type ClusterSecretKey, type ClusterSettings, type SecretKey, type Settings } from "../settings";
import { clusterSettings, RELEASES } from "../incluster";

export { clusterSettings, COMPONENTS, inClusterUrls, PORTS, RELEASES } from "../incluster";

export const CHART_REPOSITORIES = {
  prometheusCommunity: "https://prometheus-community.github.io/helm-charts",
  grafana: "https://grafana.github.io/helm-charts",
} as const;

/**
 * The label the operator's rule, ServiceMonitor, PodMonitor and Probe selectors
 * match (kube-prometheus-stack's convention, set explicitly in its values).
 */
export const OPERATOR_SELECTOR = { release: RELEASES.prometheusStack } as const;

/** Labels of every object the program writes. */
export function objectLabels(component: string, extra: Record<string, string> = {}): Record<string, string> {
  return { "app.kubernetes.io/name": component, "app.kubernetes.io/part-of": PROJECT, "app.kubernetes.io/managed-by": "pulumi", ...extra };
}

/** The labels a selector uses to find a component's pods (a subset of objectLabels, stable across upgrades). */
export function selectorLabels(component: string): Record<string, string> {
  return { "app.kubernetes.io/name": component, "app.kubernetes.io/part-of": PROJECT };
}

export function metadata(s: Settings, name: string, component: string = name, extra: { labels?: Record<string, string>; annotations?: pulumi.Input<Record<string, pulumi.Input<string>>> } = {}) {
  return {
    name,
    namespace: clusterSettings(s).namespace,
    labels: objectLabels(component, extra.labels),
    ...(extra.annotations ? { annotations: extra.annotations } : {}),
  };
}

/** A relabeling that sets the `job` label to a job name of the telemetry contract. */
export function jobRelabeling(job: string) {
  return { action: "replace" as const, targetLabel: "job", replacement: job };
}

type Resources = ClusterSettings["prometheus"]["resources"];
export function containerResources(r: Resources) {
  return { requests: { cpu: r.requests.cpu, memory: r.requests.memory }, limits: { memory: r.limits.memory } };
}

type Volume = ClusterSettings["prometheus"]["storage"];
export function volumeClaimSpec(v: Volume) {
  return { ...(v.className ? { storageClassName: v.className } : {}), accessModes: ["ReadWriteOnce"], resources: { requests: { storage: v.size } } };
}

export const seconds = (d: string): number => Math.round(mustParseDuration(d));

/** Pod and container security for everything the program runs itself: never root, nothing to escalate. */
export function restricted(uid: number) {
  return {
    pod: { runAsNonRoot: true, runAsUser: uid, runAsGroup: uid, fsGroup: uid, seccompProfile: { type: "RuntimeDefault" } },
    container: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
  };
}

/** A secret of the stack's config as a Pulumi secret; its plain value never reaches an input. */
export function secretConfig(key: SecretKey | ClusterSecretKey): pulumi.Output<string> {
  return new pulumi.Config(PROJECT).requireSecret(key);
}

export function optionalSecretConfig(key: ClusterSecretKey): pulumi.Output<string> | undefined {
  return new pulumi.Config(PROJECT).getSecret(key);
}
