/**
 * The pack's policies, apart from the PolicyPack that serves them (index.ts),
 * so that tests call them directly. Each only wraps a check of its own module.
 */
import type { Policies, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { alertRuleProblems, PROMETHEUS_RULE } from "./alert-rules";
import { bucketFindings } from "./buckets";
import { CONFIG_MAP_TYPES, configMapFindings } from "./configmaps";
import { containerProblems, isChartInternal, WORKLOADS } from "./containers";
import { externalServiceProblem, SERVICE, type ServicePolicyConfig } from "./services";

export const alertRuleAnnotations: ResourceValidationPolicy = {
  name: "prometheus-alert-annotations",
  description: "Every alerting rule of a PrometheusRule has labels.severity and annotations summary, description and runbook_url.",
  validateResource: (args, report) => {
    if (args.type !== PROMETHEUS_RULE) return;
    for (const p of alertRuleProblems(args.props)) report(`PrometheusRule ${args.props.metadata?.name ?? args.name}: ${p}`);
  },
};

export const noExternalServices: ResourceValidationPolicy = {
  name: "no-external-services",
  description: "No Service of type LoadBalancer or NodePort, unless the stack's config allows it (stacks with an ingress).",
  configSchema: { properties: { allowExternalServices: { type: "boolean", default: false } } },
  validateResource: (args, report) => {
    if (args.type !== SERVICE) return;
    const problem = externalServiceProblem(args.props, args.getConfig<ServicePolicyConfig>());
    if (problem) report(problem);
  },
};

export const restrictedContainers: ResourceValidationPolicy = {
  name: "restricted-containers",
  description: "Every container the program runs: non-root, read-only root filesystem, no privilege escalation.",
  validateResource: (args, report) => {
    const podSpec = WORKLOADS[args.type];
    if (!podSpec || isChartInternal(args.urn)) return;
    const kind = args.type.split(":").pop();
    const pod = podSpec(args.props);
    for (const p of pod ? containerProblems(pod) : ["no pod spec"]) report(`${kind} ${args.props.metadata?.name ?? args.name}: ${p}`);
  },
};

export const bucketProtection: StackValidationPolicy = {
  name: "s3-bucket-protection",
  description: "Every S3 bucket has default encryption, versioning enabled and all public access blocked (their own resources in @pulumi/aws v7).",
  validateStack: (args, report) => {
    for (const f of bucketFindings(args.resources)) report(f.message, f.urn);
  },
};

export const noSecretsInConfigMaps: ResourceValidationPolicy = {
  name: "no-secrets-in-configmaps",
  description: "No password, token, routing key, webhook URL, private key or URL with a password in a ConfigMap: secrets go in Secrets.",
  validateResource: (args, report) => {
    if (!CONFIG_MAP_TYPES.includes(args.type)) return;
    for (const f of configMapFindings(args.props)) report(`ConfigMap ${args.props.metadata?.name ?? args.name}: ${f}`);
  },
};

export const policies: Policies = [alertRuleAnnotations, noExternalServices, restrictedContainers, bucketProtection, noSecretsInConfigMaps];
