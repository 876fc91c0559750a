/**
 * Data protection under Pulumi's mocks, for every deployable stack (issue 13,
 * items 2, 3 and Loki's part of 6): Loki authenticates one tenant, refuses
 * deletes and is reachable only by the shipper (push) and Grafana (reads); the
 * buckets are under Object Lock in COMPLIANCE mode for their retention and no
 * role may delete what they hold; each database job has its own credentials;
 * Loki is scraped through our own ServiceMonitor, writes survive one pod's
 * restart, and the ruler has one storage.
 */
import * as pulumi from "@pulumi/pulumi";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadStackSettings, type Settings } from "../src/settings";
import { deployableConfig, FAKE_SECRETS, isSecretMarker, ofType, one, runProgram, unwrapSecrets, type Run } from "./support/pulumi";

const CHART = "kubernetes:helm.sh/v4:Chart";
const POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const SECRET = "kubernetes:core/v1:Secret";
const STACKS = ["dev", "staging", "prod"] as const;
/** Which stacks have AWS (buckets, roles), written out independently of the settings code. */
const AWS = { dev: false, staging: true, prod: true } as const;
/** Each database job → the Pulumi secret holding its own DATABASE_URL. */
const JOB_URLS = { migrate: "migrateDatabaseUrl", "pg-backup": "backupDatabaseUrl", "restore-verify": "restoreVerifyDatabaseUrl", "token-cleanup": "tokenCleanupDatabaseUrl" } as const;

type Labels = Record<string, string>;
interface Selector {
  matchLabels?: Labels;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** Whether a label selector selects a pod with these labels (matchLabels and the In/NotIn/Exists operators). */
function selects(sel: Selector, labels: Labels): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = e.key in labels;
    const inValues = has && (e.values ?? []).includes(labels[e.key]!);
    if (e.operator === "In" && !inValues) return false;
    if (e.operator === "NotIn" && inValues) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

/** The pods of the stack's namespace the tests reason about, with the labels their charts give them. */
const loki = (component: string): Labels => ({ "app.kubernetes.io/name": "loki", "app.kubernetes.io/instance": "loki", "app.kubernetes.io/component": component });
const PODS: Record<string, Labels> = {
  alloy: { "app.kubernetes.io/name": "alloy", "app.kubernetes.io/instance": "alloy" },
  grafana: { "app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": "kube-prometheus-stack" },
  prometheus: { "app.kubernetes.io/name": "prometheus", "app.kubernetes.io/instance": "kube-prometheus-stack-prometheus" },
  databaseJobs: { "app.kubernetes.io/name": "database-jobs", "app.kubernetes.io/part-of": "authwatch" },
  pushgateway: { "app.kubernetes.io/name": "pushgateway", "app.kubernetes.io/part-of": "authwatch" },
  "loki-gateway": loki("gateway"),
  "loki-read": loki("read"),
  "loki-write": loki("write"),
  "loki-backend": loki("backend"),
  "loki-single-binary": loki("single-binary"),
};

/** Which of PODS may open a connection to `target` on `port`, by the NetworkPolicies (none selecting it: every pod). */
function allowedFrom(policies: any[], target: Labels, port: number): string[] {
  const mine = policies.filter((p) => p.policyTypes.includes("Ingress") && selects(p.podSelector, target));
  if (mine.length === 0) return Object.keys(PODS);
  return Object.entries(PODS)
    .filter(([, labels]) =>
      mine.some((p) =>
        (p.ingress ?? []).some(
          (rule: any) =>
            (rule.ports === undefined || rule.ports.some((x: any) => x.port === port)) &&
            (rule.from === undefined || rule.from.some((peer: any) => !peer.namespaceSelector && peer.podSelector && selects(peer.podSelector, labels))),
        ),
      ),
    )
    .map(([name]) => name)
    .sort();
}

/** action → [effect, resources, notResources] for every statement of a policy document. */
function statements(doc: { Statement: any[] }) {
  return doc.Statement.flatMap((st) => [st.Action].flat().map((action: string) => ({ action, effect: st.Effect, resources: [st.Resource ?? []].flat(), notResources: [st.NotResource ?? []].flat() })));
}
const DELETES = /^s3:(DeleteObject|DeleteObjectVersion|DeleteBucket|PutLifecycleConfiguration|PutBucketObjectLockConfiguration|PutObjectRetention|PutObjectLegalHold|BypassGovernanceRetention|\*)/;

describe.each(STACKS)("data protection on %s", (stack) => {
  let run: Run;
  let s: Settings;
  let values: any;
  const onS3 = () => s.cluster!.aws.enabled;
  const ssd = () => s.cluster!.loki.mode === "simple-scalable";
  beforeAll(async () => {
    run = await runProgram(stack, deployableConfig(stack));
    s = loadStackSettings(stack);
    values = one(run.resources, CHART, "loki").inputs.values;
  });
  afterAll(async () => {
    await pulumi.runtime.disconnect();
  });

  it("runs Loki with authentication: the shipper and the ruler use the one tenant of the settings", () => {
    expect(values.loki.auth_enabled).toBe(true);
    const tenant = s.loki.tenant;
    expect(tenant).toMatch(/^[a-z0-9][a-z0-9_-]*$/);
    expect(tenant).not.toBe("fake");
    const alloy: string = one(run.resources, CHART, "alloy").inputs.values.alloy.configMap.content;
    const write = /^loki\.write "loki" \{\n[^]*?\n\}$/m.exec(alloy)?.[0] ?? "";
    expect(write).toContain(`tenant_id = ${JSON.stringify(tenant)}`);
    // The ruler reads the rules of tenant <t> from <rules dir>/<t>: where the sidecar puts the ConfigMap.
    const rules = one(run.resources, "kubernetes:core/v1:ConfigMap", "loki-rules").inputs;
    const dir = values.loki.structuredConfig?.ruler?.storage?.local?.directory ?? values.loki.rulerConfig?.storage?.local?.directory;
    expect(rules.metadata.annotations["k8s-sidecar-target-directory"]).toBe(`${dir}/${tenant}`);
  });

  it("turns Loki's delete API off for every tenant, and no runtime override turns it back on", () => {
    expect(values.loki.limits_config.deletion_mode).toBe("disabled");
    expect(JSON.stringify(values.loki.runtimeConfig ?? {})).not.toContain("deletion_mode");
    expect(values.loki.limits_config).not.toHaveProperty("allow_deletes");
  });

  it("lets only the shipper push, only Grafana read, and Loki's own pods talk to each other", () => {
    const policies = ofType(run.resources, POLICY).map((p) => p.inputs.spec);
    const http = 3100;
    const peers = ["loki-read", "loki-write", "loki-backend"];
    if (ssd()) {
      expect(allowedFrom(policies, PODS["loki-write"]!, http)).toEqual(["alloy", ...peers, "prometheus"].sort());
      for (const t of ["loki-read", "loki-backend"]) expect(allowedFrom(policies, PODS[t]!, http), t).toEqual(["loki-gateway", ...peers, "prometheus"].sort());
      for (const t of peers) expect(allowedFrom(policies, PODS[t]!, 9095), `${t} grpc`).toEqual([...peers].sort());
    } else {
      expect(allowedFrom(policies, PODS["loki-single-binary"]!, http)).toEqual(["alloy", "loki-gateway", "loki-single-binary", "prometheus"]);
    }
    expect(allowedFrom(policies, PODS["loki-gateway"]!, 8080)).toEqual(["grafana"]);
    // The shipper pushes straight to the write path (the gateway, Grafana's way in, cannot reach it in simple-scalable).
    const alloy: string = one(run.resources, CHART, "alloy").inputs.values.alloy.configMap.content;
    const push = ssd() ? `http://loki-write.${s.cluster!.namespace}.svc:3100` : `http://loki.${s.cluster!.namespace}.svc:3100`;
    expect(alloy).toContain(`url       = "${push}/loki/api/v1/push"`);
    expect(values.networkPolicy?.enabled ?? false).toBe(false);
  });

  it("scrapes Loki through its own ServiceMonitor (the chart renders one only when the CRD already exists)", () => {
    expect(values.monitoring.serviceMonitor.enabled).toBe(false);
    const sm = one(run.resources, "kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "loki").inputs;
    expect(sm.metadata.labels).toMatchObject({ release: "kube-prometheus-stack" });
    expect(sm.spec.selector.matchLabels).toEqual({ "app.kubernetes.io/name": "loki", "app.kubernetes.io/instance": "loki" });
    expect(sm.spec.endpoints).toHaveLength(1);
    expect(sm.spec.endpoints[0]).toMatchObject({ port: "http-metrics", path: "/metrics" });
    expect(sm.spec.endpoints[0].relabelings).toContainEqual({ action: "replace", targetLabel: "job", replacement: s.scrapeJobs.loki });
  });

  it("keeps accepting pushes while one write pod restarts (replication factor vs write replicas)", () => {
    const rf = values.loki.commonConfig.replication_factor;
    const writers = ssd() ? values.write.replicas : values.singleBinary.replicas;
    expect(rf).toBeLessThanOrEqual(writers);
    if (ssd()) {
      // A push needs a quorum of floor(RF/2)+1 of a stream's RF ingesters: one pod down must leave a quorum.
      const quorum = Math.floor(rf / 2) + 1;
      expect(rf - 1, `RF ${rf} on ${writers} write pods`).toBeGreaterThanOrEqual(quorum);
    } else {
      expect(rf).toBe(1);
    }
  });

  it("configures the ruler's storage once (the chart writes ruler.storage itself when ruler.enabled)", () => {
    const chartWritesStorage = values.ruler?.enabled !== false;
    const ours = [values.loki.rulerConfig?.storage, values.loki.structuredConfig?.ruler?.storage].filter((x) => x !== undefined);
    expect(ours.length + (chartWritesStorage ? 1 : 0)).toBe(1);
    const ruler = values.loki.structuredConfig?.ruler ?? values.loki.rulerConfig;
    expect(ruler.storage).toEqual({ type: "local", local: { directory: "/rules" } });
    expect(ruler.alertmanager_url).toBe(`http://kube-prometheus-stack-alertmanager.${s.cluster!.namespace}.svc:9093`);
  });

  it("gives each database job its own credentials, read only by that job", () => {
    const jobs: Record<string, any> = {};
    for (const c of ofType(run.resources, "kubernetes:batch/v1:CronJob")) jobs[c.name] = c.inputs.spec.jobTemplate.spec.template.spec;
    for (const j of ofType(run.resources, "kubernetes:batch/v1:Job")) jobs.migrate = j.inputs.spec.template.spec;
    const secretRefs = (pod: any) => pod.containers[0].env.filter((e: any) => e.valueFrom?.secretKeyRef).map((e: any) => [e.name, e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key]);
    const used = new Map<string, string>();
    for (const [job, pod] of Object.entries(jobs)) {
      for (const [, name] of secretRefs(pod)) {
        expect(used.get(name) ?? job, `Secret ${name} is read by ${used.get(name)} and ${job}`).toBe(job);
        used.set(name, job);
      }
    }
    const urlOf = (job: string) => {
      const [ref] = secretRefs(jobs[job]).filter(([env]: string[]) => env === "DATABASE_URL");
      const secret = one(run.resources, SECRET, ref[1]);
      expect(isSecretMarker(secret.wire.stringData)).toBe(true);
      return unwrapSecrets(secret.wire.stringData)[ref[2]];
    };
    // The rollback drill, where the stack runs it (staging), has its own credentials too.
    const jobUrls: Record<string, string> = { ...JOB_URLS, ...(jobs["rollback-drill"] ? { "rollback-drill": "rollbackDrillDatabaseUrl" } : {}) };
    expect(Object.fromEntries(Object.keys(jobUrls).map((job) => [job, urlOf(job)]))).toEqual(
      Object.fromEntries(Object.entries(jobUrls).map(([job, key]) => [job, FAKE_SECRETS[key as keyof typeof FAKE_SECRETS]])),
    );
    expect(new Set(Object.values(jobUrls)).size).toBe(Object.keys(jobs).length);
    // The restore target only where it is used.
    const targets = Object.entries(jobs).filter(([, pod]) => secretRefs(pod).some(([env]: string[]) => env === "RESTORE_VERIFY_TARGET_URL"));
    expect(targets.map(([job]) => job)).toEqual(["restore-verify"]);
    // The backup job leaves expiry on S3 to the bucket.
    const env = jobs["pg-backup"].containers[0].env;
    expect(env.find((e: any) => e.name === "BACKUP_S3_DELETE_EXPIRED")?.value ?? "false").toBe("false");
  });

  it.runIf(AWS[stack])("locks both buckets in COMPLIANCE mode for their retention, and expires nothing before", () => {
    expect(onS3()).toBe(true);
    const lockDays = { backups: s.cluster!.jobs.backup.retentionDays, loki: s.loki.securityRetentionDays };
    for (const [logical, days] of Object.entries(lockDays)) {
      const lock = one(run.resources, "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", `${logical}-object-lock`).inputs;
      expect(lock.bucket).toBe(`${logical}-id`);
      expect(lock.objectLockEnabled).toBe("Enabled");
      expect(lock.rule).toEqual({ defaultRetention: { mode: "COMPLIANCE", days } });
      const [rule] = one(run.resources, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", `${logical}-lifecycle`).inputs.rules;
      expect(rule.expiration.days, logical).toBeGreaterThan(days);
      if (logical === "loki") expect(rule.noncurrentVersionExpiration.noncurrentDays).toBeGreaterThanOrEqual(days);
    }
  });

  it.runIf(AWS[stack])("grants no role a way to delete a log chunk or a backup, or to loosen the lock", () => {
    const policy = (role: string) => JSON.parse(one(run.resources, "aws:iam/rolePolicy:RolePolicy", `authwatch-${stack}-${role}`).inputs.policy);
    const bucket = `arn:aws:s3:::${s.cluster!.aws.buckets.backups}`;
    for (const role of ["pg-backup", "restore-verify"]) {
      const allowed = statements(policy(role)).filter((st) => st.effect === "Allow");
      expect(allowed.filter((st) => DELETES.test(st.action)), role).toEqual([]);
      expect(allowed.flatMap((st) => st.resources).every((r) => r === bucket || r.startsWith(`${bucket}/`))).toBe(true);
    }
    expect(statements(policy("restore-verify")).map((st) => st.action).sort()).toEqual(["s3:GetObject", "s3:ListBucket"]);
    const lokiBucket = `arn:aws:s3:::${s.cluster!.aws.buckets.loki}`;
    const lokiStatements = statements(policy("loki"));
    // The compactor replaces index files (its only deletes, which Object Lock turns into delete markers); chunks, the log lines, never.
    const deletes = lokiStatements.filter((st) => st.effect === "Allow" && DELETES.test(st.action));
    expect(deletes).toEqual([{ action: "s3:DeleteObject", effect: "Allow", resources: [`${lokiBucket}/index/*`], notResources: [] }]);
    const denied = lokiStatements.filter((st) => st.effect === "Deny").map((st) => st.action);
    expect(denied).toEqual(expect.arrayContaining(["s3:DeleteObjectVersion", "s3:PutObjectRetention", "s3:BypassGovernanceRetention"]));
    const chunkDeleteDenied = lokiStatements.find((st) => st.effect === "Deny" && st.action === "s3:DeleteObject");
    expect(chunkDeleteDenied?.notResources).toEqual([`${lokiBucket}/index/*`]);
  });
});
