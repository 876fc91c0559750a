/**
 * The policy pack (policy/) on what index.ts registers under Pulumi's mocks:
 * every deployable stack passes every policy with the config its workflow
 * passes (policy/stacks.ts), and a resource mutated to break a policy fails
 * it with a message that names what is wrong. The policies are called
 * directly, with arguments shaped like @pulumi/policy's.
 */
import type { Policy, PolicyResource, ReportViolation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { PROMETHEUS_RULE, REQUIRED } from "../policy/alert-rules";
import { BUCKET_TYPES, bucketFindings, COMPANIONS } from "../policy/buckets";
import { CONFIG_MAP_TYPES } from "../policy/configmaps";
import { isChartInternal, WORKLOADS } from "../policy/containers";
import { alertRuleAnnotations, bucketProtection, noExternalServices, noSecretsInConfigMaps, policies, restrictedContainers } from "../policy/policies";
import { SERVICE } from "../policy/services";
import { deployableStacks, policyConfig } from "../policy/stacks";
import { loadStackSettings } from "../src/settings";
import { deployableConfig, runProgram, unwrapSecrets, type Registered } from "./support/pulumi";

type Config = Record<string, Record<string, unknown>>;
interface Violation {
  readonly policy: string;
  readonly message: string;
  readonly urn: string | undefined;
}

const unused = () => {
  throw new Error("the policies under test do not use isType/asType");
};

const urnOf = (stack: string, type: string, name: string, parents = "") => `urn:pulumi:${stack}::authwatch::${parents}${type}::${name}`;

/**
 * The registered resources as the engine hands them to a policy: secrets
 * unwrapped, and each input that carries another resource's id recorded as a
 * property dependency on it (the mocks' ids are `<name>-id`).
 */
function policyResources(stack: string, registered: readonly Registered[]): PolicyResource[] {
  const resources = registered.map(
    (r): PolicyResource => ({
      type: r.type,
      name: r.name,
      urn: urnOf(stack, r.type, r.name),
      props: unwrapSecrets(r.inputs),
      opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] },
      dependencies: [],
      propertyDependencies: {},
      isType: unused as never,
      asType: unused as never,
    }),
  );
  const byId = new Map<string, PolicyResource[]>();
  for (const r of resources) byId.set(`${r.name}-id`, [...(byId.get(`${r.name}-id`) ?? []), r]);
  for (const r of resources) {
    for (const [key, value] of Object.entries(r.props)) {
      const deps = typeof value === "string" ? byId.get(value) : undefined;
      if (deps) {
        r.propertyDependencies[key] = deps;
        r.dependencies.push(...deps);
      }
    }
  }
  return resources;
}

class NotApplicable extends Error {}

/** Every policy on every resource (resource policies) and on the whole stack (stack policies). */
async function evaluate(resources: readonly PolicyResource[], config: Config, only: readonly Policy[] = policies): Promise<Violation[]> {
  const violations: Violation[] = [];
  for (const policy of only) {
    const report =
      (urn?: string): ReportViolation =>
      (message, reported) =>
        violations.push({ policy: policy.name, message, urn: reported ?? urn });
    const common = {
      stackTags: new Map<string, string>(),
      getConfig: <T extends object>() => (config[policy.name] ?? {}) as T,
      notApplicable: (reason?: string): never => {
        throw new NotApplicable(reason);
      },
    };
    if ("validateStack" in policy) {
      await (policy as StackValidationPolicy).validateStack({ ...common, resources: [...resources] }, report());
      continue;
    }
    const validations = [(policy as ResourceValidationPolicy).validateResource ?? []].flat();
    for (const r of resources) {
      const args: ResourceValidationArgs = { ...common, type: r.type, props: r.props, urn: r.urn, name: r.name, opts: r.opts, isType: r.isType, asType: unused as never };
      for (const validate of validations) await validate(args, report(r.urn));
    }
  }
  return violations;
}

/** A copy of the resources where the first matching one has props edited (a mutant). */
function mutate(resources: readonly PolicyResource[], pick: (r: PolicyResource) => boolean, edit: (props: any) => void, urn?: string): PolicyResource[] {
  const i = resources.findIndex(pick);
  if (i < 0) throw new Error("no resource to mutate");
  const props = structuredClone(resources[i]!.props);
  edit(props);
  return resources.map((r, j) => (j === i ? { ...r, props, urn: urn ?? r.urn } : r));
}

const ofType = (type: string) => (r: PolicyResource) => r.type === type;

const stacks = deployableStacks();
const runs = new Map<string, PolicyResource[]>();

beforeAll(async () => {
  for (const stack of stacks) {
    const { resources } = await runProgram(stack, deployableConfig(stack));
    await pulumi.runtime.disconnect();
    runs.set(stack, policyResources(stack, resources));
  }
});

const resourcesOf = (stack: string) => runs.get(stack)!;
const configOf = (stack: string) => policyConfig(loadStackSettings(stack));
/** A deployable stack whose settings satisfy `when`. */
function stackWhere(when: (s: ReturnType<typeof loadStackSettings>) => boolean): string {
  const found = stacks.find((stack) => when(loadStackSettings(stack)));
  if (!found) throw new Error("no deployable stack has the settings this test needs");
  return found;
}

describe("every deployable stack", () => {
  it("is the stacks with cluster settings", () => {
    expect(stacks.length).toBeGreaterThan(0);
    expect(stacks).not.toContain("local");
  });

  it.each(stacks)("%s passes every policy", async (stack) => {
    expect(await evaluate(resourcesOf(stack), configOf(stack))).toEqual([]);
  });

  it("gives every policy something to check (across the stacks)", () => {
    const applies: Record<string, (r: PolicyResource) => boolean> = {
      [alertRuleAnnotations.name]: ofType(PROMETHEUS_RULE),
      [noExternalServices.name]: ofType(SERVICE),
      [restrictedContainers.name]: (r) => r.type in WORKLOADS && !isChartInternal(r.urn),
      [bucketProtection.name]: (r) => BUCKET_TYPES.includes(r.type),
      [noSecretsInConfigMaps.name]: (r) => CONFIG_MAP_TYPES.includes(r.type),
    };
    expect(Object.keys(applies).sort()).toEqual(policies.map((p) => p.name).sort());
    for (const [name, applies_] of Object.entries(applies)) {
      const checked = stacks.flatMap((s) => resourcesOf(s).filter(applies_));
      expect(checked.length, name).toBeGreaterThan(0);
    }
  });
});

describe("prometheus-alert-annotations", () => {
  const fields = [...REQUIRED.labels.map((k) => ["labels", k] as const), ...REQUIRED.annotations.map((k) => ["annotations", k] as const)];
  it.each(fields)("fails an alerting rule without %s.%s", async (where, key) => {
    const stack = stacks[0]!;
    let alert = "";
    // Resources register in no fixed order: take a PrometheusRule that holds an alerting rule (not the recording group).
    const withAlert = (r: PolicyResource) => ofType(PROMETHEUS_RULE)(r) && r.props.spec.groups.some((g: any) => g.rules.some((x: any) => x.alert));
    const mutant = mutate(resourcesOf(stack), withAlert, (props) => {
      const rule = props.spec.groups.flatMap((g: any) => g.rules).find((r: any) => r.alert);
      alert = rule.alert;
      delete rule[where][key];
    });
    const v = await evaluate(mutant, configOf(stack), [alertRuleAnnotations]);
    expect(v).toHaveLength(1);
    expect(v[0]!.message).toMatch(new RegExp(`^PrometheusRule \\S+: group \\S+, alert ${alert}: missing ${where}\\.${key}$`));
  });

  it("leaves recording rules alone", async () => {
    const stack = stacks[0]!;
    const mutant = mutate(resourcesOf(stack), ofType(PROMETHEUS_RULE), (props) => props.spec.groups[0].rules.push({ record: "job:x:rate5m", expr: "sum(rate(x[5m]))" }));
    expect(await evaluate(mutant, configOf(stack), [alertRuleAnnotations])).toEqual([]);
  });
});

describe("no-external-services", () => {
  it.each(stacks.flatMap((s) => [[s, "LoadBalancer"], [s, "NodePort"]]))("on %s, a Service of type %s fails unless the stack has an ingress", async (stack, type) => {
    const mutant = mutate(resourcesOf(stack), ofType(SERVICE), (props) => (props.spec.type = type));
    const v = await evaluate(mutant, configOf(stack), [noExternalServices]);
    if (loadStackSettings(stack).cluster!.ingress.enabled) expect(v).toEqual([]);
    else expect(v.map((x) => x.message)).toEqual([expect.stringMatching(new RegExp(`^Service \\S+ is of type ${type}; .*allowExternalServices is false`))]);
  });

  it("fails by default (no policy config)", async () => {
    const stack = stacks[0]!;
    const mutant = mutate(resourcesOf(stack), ofType(SERVICE), (props) => (props.spec.type = "LoadBalancer"));
    expect(await evaluate(mutant, {}, [noExternalServices])).toHaveLength(1);
  });
});

describe("restricted-containers", () => {
  const cronJob = ofType("kubernetes:batch/v1:CronJob");
  const deployment = ofType("kubernetes:apps/v1:Deployment");
  const job = ofType("kubernetes:batch/v1:Job");
  const podOfCronJob = (p: any) => p.spec.jobTemplate.spec.template.spec;
  const mutants: [string, (r: PolicyResource) => boolean, (props: any) => void, RegExp][] = [
    ["a CronJob container with a writable root filesystem", cronJob, (p) => delete podOfCronJob(p).containers[0].securityContext.readOnlyRootFilesystem, /^CronJob \S+: container \S+: readOnlyRootFilesystem is not true$/],
    ["a Deployment container that may escalate", deployment, (p) => (p.spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation = true), /^Deployment \S+: container \S+: allowPrivilegeEscalation is not false$/],
    [
      "a Deployment whose pod no longer says non-root",
      deployment,
      (p) => {
        delete p.spec.template.spec.securityContext.runAsNonRoot;
        delete p.spec.template.spec.securityContext.runAsUser;
      },
      /^Deployment \S+: container \S+: runAsNonRoot is not true \(container or pod\)$/,
    ],
    ["a container that overrides the pod's user with root", job, (p) => (p.spec.template.spec.containers[0].securityContext.runAsUser = 0), /^Job \S+: container \S+: runs as user 0$/],
    ["an init container without a security context", job, (p) => p.spec.template.spec.initContainers.push({ name: "setup", image: "busybox" }), /^Job \S+: init container setup: .*readOnlyRootFilesystem is not true, allowPrivilegeEscalation is not false$/],
  ];

  it.each(mutants)("fails %s", async (_, pick, edit, message) => {
    const stack = stacks[0]!;
    const mutant = mutate(resourcesOf(stack), pick, (p) => {
      if (pick === job) p.spec.template.spec.initContainers ??= [];
      edit(p);
    });
    const v = await evaluate(mutant, configOf(stack), [restrictedContainers]);
    expect(v.map((x) => x.message)).toEqual([expect.stringMatching(message)]);
  });

  it("leaves a chart's own workloads to the chart", async () => {
    const stack = stacks[0]!;
    const chartUrn = urnOf(stack, "kubernetes:apps/v1:Deployment", "kube-state-metrics", "authwatch:prometheus:Stack$kubernetes:helm.sh/v4:Chart$");
    const mutant = mutate(resourcesOf(stack), deployment, (p) => delete p.spec.template.spec.securityContext, chartUrn);
    expect(await evaluate(mutant, configOf(stack), [restrictedContainers])).toEqual([]);
  });
});

describe("s3-bucket-protection", () => {
  const aws = () => stackWhere((s) => s.cluster?.aws.enabled === true);
  const companionOf = (type: string) => (r: PolicyResource) => r.type === type && r.name.startsWith("backups-");
  const [encryption, versioning, publicAccess] = COMPANIONS.map((c) => c.types[0]!);

  it.each(COMPANIONS.map((c) => [c.what, c.types[0]!] as const))("fails a bucket without its %s", async (what, type) => {
    const stack = aws();
    const mutant = resourcesOf(stack).filter((r) => !companionOf(type)(r));
    const v = await evaluate(mutant, configOf(stack), [bucketProtection]);
    expect(v).toEqual([{ policy: bucketProtection.name, message: `S3 bucket backups: no ${what} (${type.split(":").pop()} for this bucket)`, urn: urnOf(stack, "aws:s3/bucket:Bucket", "backups") }]);
  });

  const misconfigured: [string, string, (p: any) => void, RegExp][] = [
    ["versioning suspended", versioning!, (p) => (p.versioningConfiguration.status = "Suspended"), /^S3 bucket backups: versioning \S+: versioningConfiguration.status is "Suspended", not "Enabled"$/],
    ["a public policy allowed", publicAccess!, (p) => (p.blockPublicPolicy = false), /^S3 bucket backups: public access block \S+: blockPublicPolicy not true$/],
    ["no default algorithm", encryption!, (p) => delete p.rules[0].applyServerSideEncryptionByDefault, /^S3 bucket backups: default encryption \S+: every rule needs applyServerSideEncryptionByDefault.sseAlgorithm/],
  ];
  it.each(misconfigured)("fails %s", async (_, type, edit, message) => {
    const stack = aws();
    const v = await evaluate(mutate(resourcesOf(stack), companionOf(type), edit), configOf(stack), [bucketProtection]);
    expect(v.map((x) => x.message)).toEqual([expect.stringMatching(message)]);
  });

  it("matches a companion given the bucket's name instead of its output", () => {
    const bucket = { type: BUCKET_TYPES[0]!, urn: "b", name: "b", props: { bucket: "my-bucket" }, propertyDependencies: {} };
    const companions = COMPANIONS.map((c, i) => ({ type: c.types[0]!, urn: `c${i}`, name: `c${i}`, props: { bucket: "my-bucket" }, propertyDependencies: {} }));
    // Present but empty: each companion is found and judged on its settings, none reported missing.
    expect(bucketFindings([bucket, ...companions]).map((f) => f.message)).not.toContainEqual(expect.stringContaining(": no "));
    expect(bucketFindings([bucket, ...companions.map((c) => ({ ...c, props: { bucket: "other" } }))]).map((f) => f.urn)).toEqual(["b", "b", "b"]);
  });
});

describe("no-secrets-in-configmaps", () => {
  const secrets: [string, Record<string, string>, RegExp][] = [
    ["a key named like a secret", { smtp_password: "hunter2-but-longer" }, /key smtp_password is named like a secret and holds a literal value$/],
    ["a Slack webhook URL", { "alertmanager.yaml": "global:\n  slack_api_url: https://hooks.slack.com/services/T0000/B0000/XXXXXXXXXXXX\n" }, /key alertmanager.yaml holds a Slack webhook URL$/],
    ["a PagerDuty routing key", { "alertmanager.yaml": "receivers:\n- name: pd\n  pagerduty_configs:\n  - routing_key: 0123456789abcdef0123456789abcdef\n" }, /key alertmanager.yaml sets routing_key to a literal value$/],
    ["a PEM private key", { "tls.key": "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIB\n-----END EC PRIVATE KEY-----\n" }, /key tls.key holds a PEM private key$/],
    ["a postgres URL with a password", { "jobs.env": "DATABASE_URL=postgresql://jobs:pa55word@db.internal:5432/auth\n" }, /key jobs.env holds a URL with a password$/],
    ["a token in a JSON file", { "settings.json": '{"apiToken": "abc123def456"}' }, /key settings.json sets apiToken to a literal value$/],
  ];
  it.each(secrets)("fails %s", async (_, data, message) => {
    const stack = stacks[0]!;
    const mutant = mutate(resourcesOf(stack), (r) => CONFIG_MAP_TYPES.includes(r.type), (p) => Object.assign(p.data, data));
    const v = await evaluate(mutant, configOf(stack), [noSecretsInConfigMaps]);
    expect(v.map((x) => x.message)).toEqual([expect.stringMatching(new RegExp(`^ConfigMap \\S+: ${message.source}`))]);
    // The message says where, never what.
    const secretValue = Object.values(data)[0]!.match(/(hunter2\S*|XXXX+|[0-9a-f]{32}|MHcCAQEEIB|pa55word|abc123def456)/)![0];
    expect(v[0]!.message).not.toContain(secretValue);
  });

  it("also reads binaryData", async () => {
    const stack = stacks[0]!;
    const mutant = mutate(resourcesOf(stack), (r) => CONFIG_MAP_TYPES.includes(r.type), (p) => (p.binaryData = { "dsn.txt": Buffer.from("postgres://u:secretpw@h/db").toString("base64") }));
    expect((await evaluate(mutant, configOf(stack), [noSecretsInConfigMaps])).map((x) => x.message)).toEqual([expect.stringMatching(/key dsn.txt holds a URL with a password$/)]);
  });

  it("accepts references to secrets", async () => {
    const stack = stacks[0]!;
    const references = {
      "alertmanager.yaml": "routing_key_file: /etc/alertmanager/secrets/pd\nslack_api_url_file: /etc/am/slack\n",
      "job.sh": 'PGPASSWORD="${PGPASSWORD}" psql "$DATABASE_URL"\ncurl -H "Authorization: Bearer {{ .Token }}"\n',
      "grafana.yaml": "secretName: grafana-tls\nurl: postgresql://reader@db.internal:5432/auth\n",
      "ca.crt": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
      password_file: "/etc/secrets/password",
    };
    const mutant = mutate(resourcesOf(stack), (r) => CONFIG_MAP_TYPES.includes(r.type), (p) => Object.assign(p.data, references));
    expect(await evaluate(mutant, configOf(stack), [noSecretsInConfigMaps])).toEqual([]);
  });
});
