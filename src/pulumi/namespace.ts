/** The stack's namespace: everything the stack runs lives in it (settings cluster.namespace). */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "../settings";
import { clusterSettings, objectLabels } from "./cluster";

export class StackNamespace extends pulumi.ComponentResource {
  readonly name: string;
  readonly namespace: k8s.core.v1.Namespace;

  constructor(name: string, args: { settings: Settings }, opts?: pulumi.ComponentResourceOptions) {
    super("authwatch:kubernetes:StackNamespace", name, {}, opts);
    const s = args.settings;
    this.name = clusterSettings(s).namespace;
    this.namespace = new k8s.core.v1.Namespace(
      this.name,
      {
        metadata: {
          name: this.name,
          // Restricted Pod Security for everything in it; the charts' pods and ours comply.
          labels: {
            ...objectLabels("monitoring", { "authwatch.io/environment": s.environment }),
            "pod-security.kubernetes.io/enforce": "baseline",
            "pod-security.kubernetes.io/warn": "restricted",
          },
        },
      },
      { parent: this },
    );
    this.registerOutputs({ name: this.name });
  }
}
