/**
 * No Service reachable from outside the cluster (type LoadBalancer or
 * NodePort) unless the stack is meant to be exposed: the policy's config
 * `allowExternalServices`, false by default, which the workflows set per
 * stack from its settings (policy/ci.ts: true where cluster.ingress.enabled).
 * Applies to every Service, the charts' included: a chart value that opens a
 * LoadBalancer is exactly what this catches.
 */
export const SERVICE = "kubernetes:core/v1:Service";
export const EXTERNAL_TYPES: readonly string[] = ["LoadBalancer", "NodePort"];

export interface ServicePolicyConfig {
  allowExternalServices?: boolean;
}

export function externalServiceProblem(props: Record<string, any>, config: ServicePolicyConfig): string | undefined {
  const type = props?.spec?.type;
  if (typeof type !== "string" || !EXTERNAL_TYPES.includes(type) || config.allowExternalServices === true) return undefined;
  return `Service ${props?.metadata?.name ?? "?"} is of type ${type}; this stack exposes nothing but its ingress (policy config allowExternalServices is false)`;
}
