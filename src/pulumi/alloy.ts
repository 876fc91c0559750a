/**
 * The log shipper: Grafana Alloy (grafana/alloy chart) shipping the auth
 * service's JSON logs and PostgreSQL's log to Loki with synth's
 * alloy/config.alloy (stream labels, and which lines are security events:
 * render/alloy.ts).
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "../settings";
import type { Rendered } from "../synth";
import { ALLOY_CONFIG_FILE } from "../render/alloy";
import { CHART_REPOSITORIES, clusterSettings, containerResources, RELEASES } from "./cluster";

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

export class LogShipper extends pulumi.ComponentResource {
  constructor(name: string, args: { settings: Settings; rendered: Rendered }, opts?: pulumi.ComponentResourceOptions) {
    super("authwatch:alloy:LogShipper", name, {}, opts);
    const s = args.settings;
    const c = clusterSettings(s);
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
      { parent: this },
    );
    this.registerOutputs({});
  }
}
