/**
 * The log shipper: Grafana Alloy (grafana/alloy chart) shipping the auth
 * service's JSON logs and PostgreSQL's log to Loki with synth's
 * alloy/config.alloy (stream labels, and which lines are security events:
 * render/alloy.ts).
 *
 * Least privilege: the chart's ClusterRole (secrets, nodes/proxy, every
 * namespace) is not created (rbac.create: false, the chart cannot scope it);
 * a Role of ours in each namespace the configuration discovers (the auth
 * workload's, PostgreSQL's) lets the chart's ServiceAccount list pods and read
 * their logs, and nothing else. Alloy runs as its image's non-root user with
 * a read-only root filesystem, its storage on an emptyDir.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "../settings";
import type { Rendered } from "../synth";
import { ALLOY_CONFIG_FILE } from "../render/alloy";
import { CHART_REPOSITORIES, clusterSettings, containerResources, objectLabels, RELEASES, restricted } from "./cluster";

/** The alloy user of the grafana/alloy image. */
const ALLOY_UID = 473;
const STORAGE_PATH = "/tmp/alloy";
/** The Role (and RoleBinding) in each shipped namespace. */
export const ALLOY_ROLE = "alloy-logs";

/** The namespaces whose pods' logs the configuration ships (render/alloy.ts discovers exactly these). */
export function shippedNamespaces(s: Settings): string[] {
  const pg = clusterSettings(s).postgresLogs;
  return [...new Set([s.authWorkload.namespace, ...(pg.enabled ? [pg.namespace] : [])])];
}

/** Grafana Alloy's configuration, byte for byte as synth renders it (render/alloy.ts). */
export function alloyConfig(rendered: Rendered): string {
  const text = rendered.files.get(ALLOY_CONFIG_FILE);
  if (text === undefined) throw new Error(`synth rendered no ${ALLOY_CONFIG_FILE}`);
  return text;
}

export function alloyValues(s: Settings, rendered: Rendered): Record<string, unknown> {
  const c = clusterSettings(s);
  const sec = restricted(ALLOY_UID);
  return {
    fullnameOverride: RELEASES.alloy,
    crds: { create: false },
    // loki.source.kubernetes tails through the API server: no hostPath, one Deployment (clustered beyond one replica).
    controller: { type: "deployment", replicas: c.logShipper.replicas, volumes: { extra: [{ name: "storage", emptyDir: {} }] } },
    // Our Roles instead of the chart's ClusterRole; the chart still creates the ServiceAccount they bind.
    rbac: { create: false },
    serviceAccount: { create: true },
    global: { podSecurityContext: sec.pod },
    alloy: {
      configMap: { create: true, content: alloyConfig(rendered) },
      clustering: { enabled: c.logShipper.replicas > 1 },
      storagePath: STORAGE_PATH,
      mounts: { varlog: false, dockercontainers: false, extra: [{ name: "storage", mountPath: STORAGE_PATH }] },
      resources: containerResources(c.logShipper.resources),
      securityContext: sec.container,
      // No usage reports to grafana.com: egress is denied beyond Loki and the API server.
      enableReporting: false,
    },
    configReloader: { securityContext: sec.container },
    serviceMonitor: { enabled: false },
  };
}

export class LogShipper extends pulumi.ComponentResource {
  constructor(name: string, args: { settings: Settings; rendered: Rendered }, opts?: pulumi.ComponentResourceOptions) {
    super("authwatch:alloy:LogShipper", name, {}, opts);
    const s = args.settings;
    const c = clusterSettings(s);
    const access = shippedNamespaces(s).flatMap((namespace) => {
      const metadata = { name: ALLOY_ROLE, namespace, labels: objectLabels(RELEASES.alloy) };
      const role = new k8s.rbac.v1.Role(
        `${ALLOY_ROLE}-${namespace}`,
        { metadata, rules: [{ apiGroups: [""], resources: ["pods", "pods/log"], verbs: ["get", "list", "watch"] }] },
        { parent: this },
      );
      const binding = new k8s.rbac.v1.RoleBinding(
        `${ALLOY_ROLE}-${namespace}`,
        {
          metadata,
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: ALLOY_ROLE },
          // The chart's ServiceAccount is named after the release (fullnameOverride).
          subjects: [{ kind: "ServiceAccount", name: RELEASES.alloy, namespace: c.namespace }],
        },
        { parent: this },
      );
      return [role, binding];
    });
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
      { parent: this, dependsOn: access },
    );
    this.registerOutputs({});
  }
}
