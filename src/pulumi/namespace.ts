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
          // Restricted Pod Security enforced for everything in it: the charts' pods are given compliant
          // security contexts in their values, ours use restricted() (docs/deploy.md "Pod Security").
          labels: {
            ...objectLabels("monitoring", { "authwatch.io/environment": s.environment }),
            ...Object.fromEntries(["enforce", "audit", "warn"].map((mode) => [`pod-security.kubernetes.io/${mode}`, "restricted"])),
          },
        },
      },
      { parent: this },
    );
    this.registerOutputs({ name: this.name });
  }
}
