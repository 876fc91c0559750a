/**
 * Every Kubernetes object the program writes itself (not the charts' output)
 * validated against its schema, as kube-prometheus validates its manifests:
 * the core and apps/batch/networking models of kubernetes-models, and the
 * prometheus-operator CRDs (PrometheusRule, ServiceMonitor, Probe) of
 * @kubernetes-models/prometheus-operator. The objects are the inputs the
 * mocks recorded, as the cluster would receive them.
 */
import * as pulumi from "@pulumi/pulumi";
import { ConfigMap, Namespace, PersistentVolumeClaim, Secret, Service, ServiceAccount } from "kubernetes-models/v1";
import { Deployment } from "kubernetes-models/apps/v1";
import { CronJob, Job } from "kubernetes-models/batch/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { Role, RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import { Probe, PrometheusRule, ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { afterAll, describe, expect, it } from "vitest";
import { deployableConfig, runProgram, unwrapSecrets, type Registered } from "./support/pulumi";

type Validatable = { validate(): void };
const MODELS: Record<string, new (data: any) => Validatable> = {
  "v1/Namespace": Namespace,
  "v1/Secret": Secret,
  "v1/ConfigMap": ConfigMap,
  "v1/Service": Service,
  "v1/ServiceAccount": ServiceAccount,
  "v1/PersistentVolumeClaim": PersistentVolumeClaim,
  "apps/v1/Deployment": Deployment,
  "batch/v1/Job": Job,
  "batch/v1/CronJob": CronJob,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
  "rbac.authorization.k8s.io/v1/Role": Role,
  "rbac.authorization.k8s.io/v1/RoleBinding": RoleBinding,
  "monitoring.coreos.com/v1/PrometheusRule": PrometheusRule,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
  "monitoring.coreos.com/v1/Probe": Probe,
};

/** Kubernetes objects the program writes: every kubernetes:* resource but the Helm charts (their objects are the charts'). */
const written = (resources: readonly Registered[]) =>
  resources.filter((r) => r.type.startsWith("kubernetes:") && r.type !== "kubernetes:helm.sh/v4:Chart").map((r) => ({ r, object: unwrapSecrets(r.inputs) }));

function validate(object: Record<string, unknown>): void {
  const Model = MODELS[`${object.apiVersion}/${object.kind}`];
  if (!Model) throw new Error(`no schema model for ${object.apiVersion}/${object.kind}: add one to MODELS`);
  new Model(object).validate();
}

describe.each(["dev", "staging", "prod"])("the objects %s writes", (stack) => {
  afterAll(async () => {
    await pulumi.runtime.disconnect();
  });

  it("are valid against their schemas", async () => {
    const { resources } = await runProgram(stack, deployableConfig(stack));
    const objects = written(resources);
    const kinds = new Set(objects.map(({ object }) => `${object.apiVersion}/${object.kind}`));
    // Every kind the delivery writes is covered (an unknown kind fails in validate()).
    for (const kind of ["v1/Namespace", "v1/Secret", "batch/v1/CronJob", "batch/v1/Job", "monitoring.coreos.com/v1/PrometheusRule", "monitoring.coreos.com/v1/ServiceMonitor", "monitoring.coreos.com/v1/Probe", "networking.k8s.io/v1/NetworkPolicy", "apps/v1/Deployment", "rbac.authorization.k8s.io/v1/Role", "rbac.authorization.k8s.io/v1/RoleBinding"]) {
      expect(kinds.has(kind), kind).toBe(true);
    }
    for (const { r, object } of objects) expect(() => validate(object), `${r.type} ${r.name}`).not.toThrow();
    expect(objects.length).toBeGreaterThan(40);
  });
});

describe("the schema check", () => {
  it("catches what the cluster would refuse", () => {
    const cron = { apiVersion: "batch/v1", kind: "CronJob", metadata: { name: "x" }, spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: "x" }] } } } } } };
    expect(() => validate(cron)).toThrow(/schedule/);
    const rule = { apiVersion: "monitoring.coreos.com/v1", kind: "PrometheusRule", metadata: { name: "x" }, spec: { groups: [{ rules: [{ alert: "A", expr: "1" }] }] } };
    expect(() => validate(rule)).toThrow(/name/);
    const monitor = { apiVersion: "monitoring.coreos.com/v1", kind: "ServiceMonitor", metadata: { name: "x" }, spec: { endpoints: [{ honorLabels: "yes" }], selector: {} } };
    expect(() => validate(monitor)).toThrow();
    expect(() => validate({ apiVersion: "v1", kind: "Pod", metadata: { name: "x" } })).toThrow(/no schema model/);
  });
});
