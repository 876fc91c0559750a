/**
 * Every container the program runs itself never runs as root, has a
 * read-only root filesystem and cannot gain privileges. Applies to the
 * workloads the program declares (Deployments, StatefulSets, DaemonSets,
 * ReplicaSets, Jobs, CronJobs, Pods), not to the objects a Helm chart renders
 * (its values are the chart's interface; they are seen only in a real
 * preview, as children of the Chart resource).
 */
export type PodSpec = Record<string, any>;

const template = (props: Record<string, any>): PodSpec | undefined => props?.spec?.template?.spec;

/** Where each workload type keeps its pod spec. */
export const WORKLOADS: Readonly<Record<string, (props: Record<string, any>) => PodSpec | undefined>> = {
  "kubernetes:apps/v1:Deployment": template,
  "kubernetes:apps/v1:StatefulSet": template,
  "kubernetes:apps/v1:DaemonSet": template,
  "kubernetes:apps/v1:ReplicaSet": template,
  "kubernetes:batch/v1:Job": template,
  "kubernetes:batch/v1:CronJob": (props) => props?.spec?.jobTemplate?.spec?.template?.spec,
  "kubernetes:core/v1:Pod": (props) => props?.spec,
};

/** Parent types whose children are a chart's rendering, not the program's own objects. */
const CHART_TYPES = /(^|\$)kubernetes:helm\.sh\/v[34]:(Chart|Release)\$/;

/** The URN's type chain (`parentType$...$type`) names a Helm chart among its parents. */
export function isChartInternal(urn: string): boolean {
  return CHART_TYPES.test(urn.split("::")[2] ?? "");
}

/** One message per container setting that falls short; pod-level runAsNonRoot and runAsUser are inherited. */
export function containerProblems(pod: PodSpec): string[] {
  const podContext = pod?.securityContext ?? {};
  const containers: [string, any][] = [
    ...((pod?.initContainers ?? []) as any[]).map((c): [string, any] => ["init container", c]),
    ...((pod?.containers ?? []) as any[]).map((c): [string, any] => ["container", c]),
  ];
  const problems: string[] = [];
  for (const [kind, c] of containers) {
    const ctx = c?.securityContext ?? {};
    const runAsNonRoot = ctx.runAsNonRoot ?? podContext.runAsNonRoot;
    const runAsUser = ctx.runAsUser ?? podContext.runAsUser;
    const missing: string[] = [];
    const nonRoot = runAsUser !== 0 && (runAsNonRoot === true || (typeof runAsUser === "number" && runAsUser > 0));
    if (!nonRoot) missing.push(runAsUser === 0 ? "runs as user 0" : "runAsNonRoot is not true (container or pod)");
    if (ctx.readOnlyRootFilesystem !== true) missing.push("readOnlyRootFilesystem is not true");
    if (ctx.allowPrivilegeEscalation !== false) missing.push("allowPrivilegeEscalation is not false");
    if (missing.length > 0) problems.push(`${kind} ${c?.name ?? "?"}: ${missing.join(", ")}`);
  }
  if (containers.length === 0) problems.push("no containers found in the pod spec");
  return problems;
}
