/**
 * index.ts under Pulumi's mocks for dev, staging and prod: every component and
 * resource of the delivery exists with the stack's values, each PrometheusRule
 * is synth's rule file, secrets stay Pulumi secrets, the buckets are private,
 * encrypted, TLS-only and expire, and the IAM policies grant only what the
 * jobs and Loki need.
 *
 * Longer than 400 lines on purpose: every assertion reads the one mocked run
 * of the program per stack (beforeAll); split, each file would run it again.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadStackSettings, type Settings } from "../src/settings";
import { renderStack, type Rendered } from "../src/synth";
import { REPLICA_LABEL } from "../src/render/prometheus";
import { migrationsHash } from "../src/pulumi/database";
import { receiverSecrets } from "../src/pulumi/preflight";
import {
  deployableConfig,
  FAKE_SECRETS,
  isSecretMarker,
  ofType,
  one,
  runProgram,
  stackConfig,
  unwrapSecrets,
  withoutSecrets,
  type Registered,
  type Run,
} from "./support/pulumi";

const CHART = "kubernetes:helm.sh/v4:Chart";
const SECRET = "kubernetes:core/v1:Secret";
const CONFIGMAP = "kubernetes:core/v1:ConfigMap";
const RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule";
const SERVICE_MONITOR = "kubernetes:monitoring.coreos.com/v1:ServiceMonitor";
const PROBE = "kubernetes:monitoring.coreos.com/v1:Probe";
const CRONJOB = "kubernetes:batch/v1:CronJob";
const JOB = "kubernetes:batch/v1:Job";

/** What staging and prod both deploy beyond their sizes. */
const CLOUD = {
  webhooks: "cert-manager",
  loki: "SimpleScalable",
  aws: true,
  ingress: true,
  schedules: { "pg-backup": "15 2 * * *", "restore-verify": "30 4 * * 0", "token-cleanup": "30 2 * * 0" },
  backupRetentionDays: 7,
} as const;

/** What each stack must deploy, written out independently of the settings code. */
const EXPECTED = {
  dev: {
    prometheus: { replicas: 1, retention: "3d", retentionSize: "8GB" },
    alertmanagerReplicas: 1,
    antiAffinity: { prometheus: "", alertmanager: "" },
    webhooks: "disabled",
    loki: "SingleBinary",
    aws: false,
    ingress: false,
    schedules: { "pg-backup": "15 3 * * *", "restore-verify": "30 5 * * 1", "token-cleanup": "0 4 * * *" },
    backupRetentionDays: 3,
    rollbackDrill: false,
    annotationsDatabase: false,
  },
  staging: {
    prometheus: { replicas: 1, retention: "7d", retentionSize: "18GB" },
    alertmanagerReplicas: 2,
    antiAffinity: { prometheus: "", alertmanager: "soft" },
    ...CLOUD,
    // The monthly rollback drill runs in staging (test/pulumi.rollback-drill.test.ts).
    rollbackDrill: true,
    annotationsDatabase: true,
  },
  prod: {
    prometheus: { replicas: 2, retention: "30d", retentionSize: "90GB" },
    alertmanagerReplicas: 3,
    antiAffinity: { prometheus: "hard", alertmanager: "hard" },
    ...CLOUD,
    rollbackDrill: false,
    annotationsDatabase: true,
  },
} as const;
type Stack = keyof typeof EXPECTED;

const chart = (r: Run, name: string) => one(r.resources, CHART, name).inputs;

describe.each(Object.keys(EXPECTED) as Stack[])("pulumi up on %s", (stack) => {
  const want = EXPECTED[stack];
  let run: Run;
  let settings: Settings;
  let synth: Rendered;
  let pinned: Record<string, string>;
  beforeAll(async () => {
    run = await runProgram(stack, deployableConfig(stack));
    settings = loadStackSettings(stack);
    synth = renderStack(settings);
    pinned = (stackConfig(stack)["authwatch:cluster"] as { charts: Record<string, string> }).charts;
  });
  afterAll(async () => {
    await pulumi.runtime.disconnect();
  });

  it("composes one component per concern", () => {
    const components = run.resources.filter((r) => r.type.startsWith("authwatch:")).map((r) => `${r.type} ${r.name}`);
    expect(components).toEqual(
      expect.arrayContaining([
        "authwatch:kubernetes:StackNamespace namespace",
        "authwatch:alertmanager:Configuration alertmanager",
        "authwatch:prometheus:Stack prometheus-stack",
        "authwatch:prometheus:AlertRules alert-rules",
        "authwatch:prometheus:ScrapeTargets scrape-targets",
        "authwatch:loki:Stack logs",
        "authwatch:alloy:LogShipper log-shipper",
        "authwatch:database:Jobs database-jobs",
        "authwatch:kubernetes:NetworkPolicies network-policies",
        "authwatch:grafana:Delivery authwatch-grafana",
      ]),
    );
    expect(components.includes("authwatch:aws:Storage aws")).toBe(want.aws);
    expect(one(run.resources, "kubernetes:core/v1:Namespace", "monitoring").inputs.metadata.name).toBe("monitoring");
  });

  it("pins every chart to the version of the stack file, from its repository", () => {
    const charts = ofType(run.resources, CHART).map((r) => r.inputs);
    expect(charts.map((c) => [c.chart, c.version, c.repositoryOpts.repo, c.namespace]).sort()).toEqual(
      [
        ["alloy", pinned.alloy, "https://grafana.github.io/helm-charts", "monitoring"],
        ["kube-prometheus-stack", pinned.kubePrometheusStack, "https://prometheus-community.github.io/helm-charts", "monitoring"],
        ["loki", pinned.loki, "https://grafana.github.io/helm-charts", "monitoring"],
      ].sort(),
    );
    for (const c of charts) expect(c.version).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it("runs Prometheus and Alertmanager with the stack's replicas, retention, storage and HA settings", () => {
    const v = chart(run, "kube-prometheus-stack").values;
    const p = v.prometheus.prometheusSpec;
    expect({ replicas: p.replicas, retention: p.retention, retentionSize: p.retentionSize }).toEqual(want.prometheus);
    expect(p.externalLabels).toEqual({ env: settings.environment });
    // The replica label the operator adds and drops from alerts (alert_relabel_configs) is the local HA stack's (REPLICA_LABEL), never cleared.
    expect([p.replicaExternalLabelName, p.replicaExternalLabelNameClear]).toEqual([REPLICA_LABEL, undefined]);
    expect([p.scrapeInterval, p.evaluationInterval]).toEqual([settings.scrapeInterval, settings.evaluationInterval]);
    expect(p.storageSpec.volumeClaimTemplate.spec.resources.requests.storage).toBe(settings.cluster!.prometheus.storage.size);
    expect(p.resources).toEqual({ requests: settings.cluster!.prometheus.resources.requests, limits: settings.cluster!.prometheus.resources.limits });
    const am = v.alertmanager.alertmanagerSpec;
    expect(am.replicas).toBe(want.alertmanagerReplicas);
    expect([p.podAntiAffinity, am.podAntiAffinity]).toEqual([want.antiAffinity.prometheus, want.antiAffinity.alertmanager]);
    // A disruption budget exactly for the HA components, keeping all but one pod.
    const budget = (n: number) => (n > 1 ? { enabled: true, minAvailable: n - 1 } : { enabled: false });
    expect(v.prometheus.podDisruptionBudget).toEqual(budget(want.prometheus.replicas));
    expect(v.alertmanager.podDisruptionBudget).toEqual(budget(want.alertmanagerReplicas));
    // The catalog is the only source of alerts.
    expect(v.defaultRules).toEqual({ create: false });
  });

  it("handles the operator's admission webhook without Helm hooks, as the stack chose", () => {
    const op = chart(run, "kube-prometheus-stack").values.prometheusOperator;
    if (want.webhooks === "disabled") {
      expect([op.admissionWebhooks, op.tls]).toEqual([{ enabled: false, patch: { enabled: false } }, { enabled: false }]);
    } else {
      expect(op.admissionWebhooks).toEqual({ enabled: true, patch: { enabled: false }, certManager: { enabled: true } });
    }
  });

  it("gives Grafana its admin password from a Secret holding the Pulumi secret, never in the chart values", () => {
    const g = chart(run, "kube-prometheus-stack").values.grafana;
    expect(g.enabled).toBe(true);
    const admin = one(run.resources, SECRET, g.admin.existingSecret);
    expect(Object.keys(unwrapSecrets(admin.wire.stringData)).sort()).toEqual([g.admin.passwordKey, g.admin.userKey].sort());
    // The SDK marks the whole map secret (a secret cannot be a sub-property on the wire).
    expect(isSecretMarker(admin.wire.stringData)).toBe(true);
    expect(JSON.stringify(g)).not.toContain(FAKE_SECRETS.grafanaAdminPassword);
    expect(g).not.toHaveProperty("adminPassword");
    // The sidecars pick up what the dashboards' sidecar delivery writes, where it writes it.
    for (const kind of ["dashboards", "datasources"]) expect(g.sidecar[kind].searchNamespace, kind).toBe(settings.grafana.sidecarNamespace ?? settings.cluster!.namespace);
    expect([g.sidecar.dashboards.label, g.sidecar.dashboards.labelValue, g.sidecar.dashboards.folderAnnotation]).toEqual(["grafana_dashboard", "1", "grafana_folder"]);
    expect([g.sidecar.datasources.label, g.sidecar.datasources.labelValue]).toEqual(["grafana_datasource", "1"]);
  });

  it("deploys one PrometheusRule per rendered group, equal to synth's rule file and selected by the operator", () => {
    const rules = ofType(run.resources, RULE);
    const files = [...synth.files].filter(([f]) => f.startsWith("prometheus/rules/"));
    expect(rules.map((r) => r.name).sort()).toEqual(files.map(([f]) => path.basename(f, ".yaml")).sort());
    const selector = chart(run, "kube-prometheus-stack").values.prometheus.prometheusSpec.ruleSelector.matchLabels;
    for (const [file, text] of files) {
      const rule = one(run.resources, RULE, path.basename(file, ".yaml")).inputs;
      expect(rule.spec, file).toEqual(yaml.load(text));
      expect(rule.metadata.labels).toMatchObject(selector);
      expect(rule.metadata.namespace).toBe("monitoring");
    }
  });

  it("scrapes the contract's jobs: auth, auth-health every 30 s, postgres (DSN from a Secret), the Pushgateway with honor_labels", () => {
    const selector = chart(run, "kube-prometheus-stack").values.prometheus.prometheusSpec;
    const jobOf = (m: Registered) => m.inputs.spec.endpoints[0].relabelings.find((x: any) => x.targetLabel === "job").replacement;
    const monitors = Object.fromEntries(ofType(run.resources, SERVICE_MONITOR).map((m) => [m.name, m]));
    for (const m of Object.values(monitors)) expect(m.inputs.metadata.labels).toMatchObject(selector.serviceMonitorSelector.matchLabels);
    expect(Object.fromEntries(Object.entries(monitors).map(([n, m]) => [n, jobOf(m)]))).toEqual({
      auth: "auth",
      "postgres-exporter": "postgres",
      pushgateway: "pushgateway",
      "blackbox-exporter": "blackbox",
      loki: "loki",
    });
    const auth = monitors.auth!.inputs.spec;
    expect(auth.namespaceSelector).toEqual({ matchNames: [settings.authWorkload.namespace] });
    expect(auth.selector.matchLabels).toEqual(settings.cluster!.auth.serviceSelector);
    expect(auth.endpoints[0]).toMatchObject({ port: "http", path: "/metrics", interval: "30s" });
    expect(monitors.pushgateway!.inputs.spec.endpoints[0].honorLabels).toBe(true);
    for (const name of ["auth", "postgres-exporter", "blackbox-exporter"]) expect(monitors[name]!.inputs.spec.endpoints[0].honorLabels).toBeUndefined();

    const probe = one(run.resources, PROBE, "auth-health").inputs;
    expect(probe.metadata.labels).toMatchObject(selector.probeSelector.matchLabels);
    expect(probe.spec).toEqual({
      jobName: "auth-health",
      interval: "30s",
      module: "http_2xx",
      prober: { url: "blackbox-exporter.monitoring.svc:9115", path: "/probe" },
      targets: { staticConfig: { static: [settings.cluster!.auth.healthUrl] } },
    });
    const exporter = one(run.resources, "kubernetes:apps/v1:Deployment", "postgres-exporter").inputs.spec.template.spec.containers[0];
    expect(exporter.env).toEqual([{ name: "DATA_SOURCE_NAME", valueFrom: { secretKeyRef: { name: "postgres-exporter", key: "DATA_SOURCE_NAME" } } }]);
    expect(isSecretMarker(one(run.resources, SECRET, "postgres-exporter").wire.stringData)).toBe(true);
    // The stack's own targets keep the contract's job names.
    const v = chart(run, "kube-prometheus-stack").values;
    expect([v.prometheus, v.alertmanager, v.grafana].map((x) => x.serviceMonitor.relabelings[0].replacement)).toEqual(["prometheus", "alertmanager", "grafana"]);
  });

  it("delivers synth's Alertmanager configuration and templates, and mounts the receivers' secrets where the configuration reads them", () => {
    const am = chart(run, "kube-prometheus-stack").values.alertmanager.alertmanagerSpec;
    expect(am.useExistingSecret).toBe(true);
    const config = one(run.resources, SECRET, am.configSecret).inputs.stringData;
    const data = unwrapSecrets(config);
    expect(data["alertmanager.yaml"]).toBe(synth.files.get("alertmanager/alertmanager.yaml"));
    expect(data["authwatch.tmpl"]).toBe(synth.files.get("alertmanager/templates/authwatch.tmpl"));
    // The operator mounts the configuration Secret's other keys at /etc/alertmanager/config: the configuration's template glob.
    expect((yaml.load(data["alertmanager.yaml"]) as { templates: string[] }).templates).toEqual(["/etc/alertmanager/config/*.tmpl"]);

    // ... and each Secret of alertmanagerSpec.secrets at /etc/alertmanager/secrets/<name>: every *_file of the configuration is a key there.
    expect(am.secrets).toHaveLength(1);
    const receivers = one(run.resources, SECRET, am.secrets[0]);
    const files = [...data["alertmanager.yaml"].matchAll(/_file: (\S+)/g)].map((m) => m[1]).sort();
    const keys = Object.keys(unwrapSecrets(receivers.wire.stringData)).sort();
    expect(files).toEqual(keys.map((k) => `/etc/alertmanager/secrets/${am.secrets[0]}/${k}`).sort());
    expect(keys).toEqual([...receiverSecrets(synth.routing).keys()].sort());
    expect(isSecretMarker(receivers.wire.stringData)).toBe(true);
  });

  it("runs Loki in the stack's mode with synth's retention and ruler files", () => {
    const v = chart(run, "loki").values;
    expect(v.deploymentMode).toBe(want.loki);
    const limits = (yaml.load(synth.files.get("loki/limits.yaml")!) as { limits_config: Record<string, unknown> }).limits_config;
    // Plus what the deployment adds: no deletes; on S3, queries end where the bucket's lifecycle expires.
    const lookback = want.aws ? { max_query_lookback: `${settings.loki.securityRetentionDays * 24}h` } : {};
    expect(v.loki.limits_config).toEqual({ ...limits, deletion_mode: "disabled", ...lookback });
    expect(v.loki.limits_config.retention_stream).toEqual([
      { selector: '{category="security"}', priority: 2, period: `${settings.loki.securityRetentionDays * 24}h` },
      { selector: '{app="auth", category="app"}', priority: 1, period: `${settings.loki.appRetentionDays * 24}h` },
    ]);
    // On S3 Object Lock keeps every version for the security retention and the lifecycle expires them: the compactor deletes no chunk.
    expect(v.loki.compactor).toEqual(
      want.aws
        ? { working_directory: "/var/loki/compactor", compaction_interval: "10m", retention_enabled: false }
        : { working_directory: "/var/loki/compactor", compaction_interval: "10m", retention_enabled: true, retention_delete_delay: "2h", delete_request_store: "filesystem" },
    );
    expect(v.loki.schemaConfig.configs[0].object_store).toBe(want.aws ? "s3" : "filesystem");
    if (want.aws) {
      const bucket = settings.cluster!.aws.buckets.loki;
      expect(v.loki.storage).toEqual({ type: "s3", bucketNames: { chunks: bucket }, s3: { region: "eu-west-1" } });
      expect(v.serviceAccount.annotations["eks.amazonaws.com/role-arn"]).toBe(`arn:aws:iam::123456789012:role/authwatch-${stack}-loki`);
      for (const t of ["read", "write", "backend"]) expect(v[t].replicas, t).toBe(settings.cluster!.loki.replicas);
      expect(v.singleBinary.replicas).toBe(0);
    } else {
      expect(v.loki.storage).toEqual({ type: "filesystem" });
      expect(v.singleBinary.replicas).toBe(1);
      for (const t of ["read", "write", "backend"]) expect(v[t].replicas, t).toBe(0);
    }
    // The ruler: local storage the rules sidecar fills from the labelled ConfigMap, sending to the stack's Alertmanager.
    expect(v.loki.structuredConfig.ruler).toMatchObject({ storage: { type: "local", local: { directory: "/rules" } }, alertmanager_url: "http://kube-prometheus-stack-alertmanager.monitoring.svc:9093" });
    // Log alerts carry Prometheus' external labels (env), so the `equal: [env]` inhibitions pair them with metric alerts.
    const prometheusLabels = chart(run, "kube-prometheus-stack").values.prometheus.prometheusSpec.externalLabels;
    expect(prometheusLabels).toEqual({ env: settings.environment });
    expect(v.loki.structuredConfig.ruler.external_labels).toEqual(prometheusLabels);
    const rules = one(run.resources, CONFIGMAP, "loki-rules").inputs;
    expect(rules.metadata.labels[v.sidecar.rules.label]).toBe(v.sidecar.rules.labelValue);
    expect(rules.metadata.annotations).toEqual({ "k8s-sidecar-target-directory": `/rules/${settings.loki.tenant}` });
    expect(rules.data).toEqual(Object.fromEntries([...synth.files].filter(([f]) => f.startsWith("loki/rules/")).map(([f, t]) => [path.basename(f), t])));
  });

  it("ships the auth service's and PostgreSQL's logs with synth's Alloy configuration and the contract's stream labels", () => {
    const alloy = chart(run, "alloy").values;
    const config: string = alloy.alloy.configMap.content;
    expect(config).toBe(synth.files.get("alloy/config.alloy"));
    for (const label of ['target_label = "app"', 'replacement  = "auth"', 'replacement  = "postgres"', 'target_label  = "namespace"', `replacement  = "${settings.environment}"`]) {
      expect(config).toContain(label);
    }
    expect(config).toContain(`names = ["${settings.authWorkload.namespace}", "postgres"]`);
    expect(config).toContain(`url       = "http://${want.loki === "SimpleScalable" ? "loki-write" : "loki"}.monitoring.svc:3100/loki/api/v1/push"`);
    expect(config).toContain('values = ["evt"]');
    expect(alloy.controller).toMatchObject({ type: "deployment", replicas: settings.cluster!.logShipper.replicas });
  });

  it("runs the database jobs on their schedules, from synth's scripts, without root and one at a time", () => {
    expect(ofType(run.resources, CRONJOB).some((c) => c.name === "rollback-drill")).toBe(want.rollbackDrill);
    const cron = Object.fromEntries(ofType(run.resources, CRONJOB).filter((c) => c.name !== "rollback-drill").map((c) => [c.name, c.inputs.spec]));
    expect(Object.fromEntries(Object.entries(cron).map(([n, s]) => [n, s.schedule]))).toEqual(want.schedules);
    const job = one(run.resources, JOB, `db-migrate-${migrationsHash(synth.files)}`).inputs.spec;
    const scripts = { "pg-backup": "backup.sh", "restore-verify": "restore-verify.sh", "token-cleanup": "token-cleanup.sh" } as const;
    const pods = [...Object.entries(cron).map(([n, s]) => [n, s.jobTemplate.spec] as const), ["migrate", job] as const];
    for (const [name, spec] of pods) {
      const pod = spec.template.spec;
      const [container] = pod.containers;
      expect(spec.backoffLimit, name).toBe(1);
      expect(spec.activeDeadlineSeconds, name).toBe(7200);
      expect(pod.restartPolicy).toBe("Never");
      expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 999 });
      expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
      expect(container.resources.requests).toEqual({ cpu: "100m", memory: "256Mi" });
      expect(container.image).toBe(settings.cluster!.jobs.image);
      expect(container.command.slice(0, 2)).toEqual(["sh", `/opt/authwatch/${name === "migrate" ? "migrate.sh" : scripts[name as keyof typeof scripts]}`]);
      // Each job its own Secret (its own database role): pulumi.data-protection.test.ts.
      expect(container.env).toContainEqual({ name: "DATABASE_URL", valueFrom: { secretKeyRef: { name: `${name === "migrate" ? "db-migrate" : name}-database`, key: "DATABASE_URL" } } });
      expect(container.env).toContainEqual({ name: "PUSHGATEWAY_URL", value: "http://pushgateway.monitoring.svc:9091" });
      expect(pod.volumes[0].configMap.name).toBe("database-jobs");
    }
    for (const spec of Object.values(cron)) {
      expect(spec).toMatchObject({ concurrencyPolicy: "Forbid", successfulJobsHistoryLimit: 3, failedJobsHistoryLimit: 3, timeZone: "Etc/UTC" });
    }
    expect(job.template.spec.containers[0].command).toEqual(["sh", "/opt/authwatch/migrate.sh", "up"]);
    // Every script (lib.sh too) in one directory, the migrations beside them, byte for byte.
    const cm = one(run.resources, CONFIGMAP, "database-jobs").inputs;
    const rendered = [...synth.files].filter(([f]) => f.startsWith("postgres/jobs/") || f.startsWith("postgres/migrations/"));
    expect(cm.data).toEqual(Object.fromEntries(rendered.map(([f, t]) => [path.basename(f), t])));
    expect(Object.keys(cm.data)).toContain("lib.sh");
    const items = job.template.spec.volumes[0].configMap.items as { key: string; path: string }[];
    for (const it of items) expect(it.path).toBe(it.key.endsWith(".sql") ? `migrations/${it.key}` : it.key);
    expect(items).toHaveLength(rendered.length);

    const env = (spec: any) => Object.fromEntries(spec.template.spec.containers[0].env.filter((e: any) => "value" in e).map((e: any) => [e.name, e.value]));
    const destination = want.aws ? `s3://authwatch-${stack}-pg-backups/postgres` : "file:///var/backups/authwatch";
    expect(env(cron["pg-backup"].jobTemplate.spec)).toMatchObject({ BACKUP_DESTINATION: destination, BACKUP_RETENTION_DAYS: String(want.backupRetentionDays) });
    expect(env(job)).toMatchObject({ BACKUP_DESTINATION: destination, MIGRATIONS_DIR: "/opt/authwatch/migrations" });
    expect(env(cron["restore-verify"].jobTemplate.spec)).toMatchObject({ BACKUP_DESTINATION: destination, RESTORE_VERIFY_DATABASE: settings.cluster!.jobs.restoreVerify.scratchDatabase });
    expect(env(cron["token-cleanup"].jobTemplate.spec)).toMatchObject({ TOKEN_CLEANUP_AFTER_DAYS: "7", TOKEN_CLEANUP_BATCH_SIZE: "1000" });
    // The stack's backup format and compression; --jobs from the container's CPU request (no setting in the stack files).
    const backup = settings.cluster!.jobs.backup;
    const byCpu = { resourceFieldRef: { resource: "requests.cpu", divisor: "1" } };
    const envVar = (spec: any, name: string) => spec.template.spec.containers[0].env.find((e: any) => e.name === name);
    for (const spec of [cron["pg-backup"].jobTemplate.spec, job]) {
      expect(env(spec)).toMatchObject({ BACKUP_FORMAT: backup.format, BACKUP_COMPRESSION: String(backup.compression) });
      expect(envVar(spec, "BACKUP_JOBS")).toEqual({ name: "BACKUP_JOBS", valueFrom: byCpu });
    }
    expect(envVar(cron["restore-verify"].jobTemplate.spec, "RESTORE_VERIFY_JOBS")).toEqual({ name: "RESTORE_VERIFY_JOBS", valueFrom: byCpu });
    expect(envVar(cron["restore-verify"].jobTemplate.spec, "BACKUP_FORMAT")).toBeUndefined();
    expect(ofType(run.resources, "kubernetes:core/v1:PersistentVolumeClaim").some((p) => p.name === "pg-backups")).toBe(!want.aws);
    const roleOf = (sa: string) => one(run.resources, "kubernetes:core/v1:ServiceAccount", sa).inputs.metadata.annotations?.["eks.amazonaws.com/role-arn"];
    expect([roleOf("pg-backup"), roleOf("restore-verify"), roleOf("token-cleanup")]).toEqual(
      want.aws ? [`arn:aws:iam::123456789012:role/authwatch-${stack}-pg-backup`, `arn:aws:iam::123456789012:role/authwatch-${stack}-restore-verify`, undefined] : [undefined, undefined, undefined],
    );
  });

  it("exposes nothing but an enabled Grafana ingress (who reaches what inside: test/pulumi.security.test.ts)", () => {
    for (const svc of ofType(run.resources, "kubernetes:core/v1:Service")) expect(svc.inputs.spec.type ?? "ClusterIP").toBe("ClusterIP");
    expect(ofType(run.resources, "kubernetes:networking.k8s.io/v1:Ingress")).toEqual([]);
    const v = chart(run, "kube-prometheus-stack").values;
    expect([v.prometheus.ingress.enabled, v.alertmanager.ingress.enabled, v.grafana.ingress.enabled]).toEqual([false, false, want.ingress]);
    if (want.ingress) expect(v.grafana.ingress.hosts).toEqual([new URL(settings.dashboardBaseUrl).hostname]);
  });

  it("exports the URLs, bucket names and the number of alert rules deployed", () => {
    const p = run.program;
    expect(p.prometheusUrl).toBe("http://kube-prometheus-stack-prometheus.monitoring.svc:9090");
    expect(p.alertmanagerUrl).toBe("http://kube-prometheus-stack-alertmanager.monitoring.svc:9093");
    expect(p.grafanaUrl).toBe(want.ingress ? settings.dashboardBaseUrl : "http://kube-prometheus-stack-grafana.monitoring.svc");
    expect([p.backupBucket, p.lokiBucket]).toEqual(want.aws ? [`authwatch-${stack}-pg-backups`, `authwatch-${stack}-loki`] : [undefined, undefined]);
    expect(p.alertRuleCount).toBe(synth.summary.alerts.rules);
  });

  it("keeps every secret a Pulumi secret: no plain-text secret value in any resource's inputs", () => {
    const used = new Set<string>();
    for (const r of run.resources) {
      const plain = JSON.stringify(withoutSecrets(r.wire));
      for (const [key, value] of Object.entries(FAKE_SECRETS)) {
        expect(plain, `${r.type} ${r.name} holds ${key} in plain text`).not.toContain(value);
        if (JSON.stringify(r.wire).includes(value)) used.add(key);
      }
    }
    // Not vacuous: every secret the stack needs did reach a resource, marked secret.
    const needed = [...receiverSecrets(synth.routing).keys(), "grafanaAdminPassword", "migrateDatabaseUrl", "backupDatabaseUrl", "restoreVerifyDatabaseUrl", "tokenCleanupDatabaseUrl", "postgresExporterDsn", "restoreVerifyTargetUrl",
      ...(want.rollbackDrill ? ["rollbackDrillDatabaseUrl"] : []),
      ...(want.annotationsDatabase ? ["grafanaPostgresPassword"] : []),
    ];
    expect([...used].sort()).toEqual(needed.sort());
    // Chart values carry no secret at all (Helm would copy it into rendered objects): they reference Secrets by name.
    for (const c of ofType(run.resources, CHART)) {
      expect(isSecretMarker(c.wire.values), c.name).toBe(false);
      const values = JSON.stringify(unwrapSecrets(c.wire.values));
      for (const value of Object.values(FAKE_SECRETS)) expect(values, c.name).not.toContain(value);
    }
    // ... and nothing reached the program's outputs.
    const outputs = JSON.stringify(Object.fromEntries(Object.entries(run.program).filter(([, v]) => !pulumi.Output.isInstance(v))));
    for (const value of Object.values(FAKE_SECRETS)) expect(outputs).not.toContain(value);
  });

  it.runIf(want.aws)("keeps the buckets private, encrypted, versioned, TLS-only and expiring with their retention", () => {
    const bucketNames = [`authwatch-${stack}-pg-backups`, `authwatch-${stack}-loki`];
    const buckets = ofType(run.resources, "aws:s3/bucket:Bucket");
    expect(buckets.map((b) => b.inputs.bucket).sort()).toEqual([...bucketNames].sort());
    const forBucket = (type: string, logical: string) => one(run.resources, type, logical).inputs;
    const expiry = { backups: want.backupRetentionDays + 1, loki: Math.max(settings.loki.securityRetentionDays, settings.loki.appRetentionDays) + 1 };
    for (const [logical, bucket] of [["backups", bucketNames[0]!], ["loki", bucketNames[1]!]] as const) {
      expect(forBucket("aws:s3/bucketVersioning:BucketVersioning", `${logical}-versioning`).versioningConfiguration).toEqual({ status: "Enabled" });
      expect(forBucket("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", `${logical}-encryption`).rules).toEqual([
        { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true },
      ]);
      expect(forBucket("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", `${logical}-public-access-block`)).toMatchObject({
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
      });
      expect(forBucket("aws:s3/bucketOwnershipControls:BucketOwnershipControls", `${logical}-ownership`).rule).toEqual({ objectOwnership: "BucketOwnerEnforced" });
      const lifecycle = forBucket("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", `${logical}-lifecycle`).rules;
      expect(lifecycle[0]).toMatchObject({ status: "Enabled", expiration: { days: expiry[logical] }, filter: { prefix: logical === "backups" ? "postgres/" : "" } });
      expect(lifecycle[0].noncurrentVersionExpiration.noncurrentDays).toBeGreaterThan(0);
      expect(lifecycle[1]).toMatchObject({ status: "Enabled", abortIncompleteMultipartUpload: { daysAfterInitiation: 1 } });
      const policy = JSON.parse(forBucket("aws:s3/bucketPolicy:BucketPolicy", `${logical}-tls-only`).policy);
      expect(policy.Statement).toEqual([
        {
          Sid: "DenyInsecureTransport",
          Effect: "Deny",
          Principal: "*",
          Action: "s3:*",
          Resource: [`arn:aws:s3:::${bucket}`, `arn:aws:s3:::${bucket}/*`],
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        },
      ]);
    }
  });

  it.runIf(want.aws)("grants the roles only what the jobs and Loki need, to their service accounts only", () => {
    const oidc = settings.cluster!.aws.oidcProviderArn!;
    const issuer = oidc.split(":oidc-provider/")[1];
    const roles = ofType(run.resources, "aws:iam/role:Role");
    expect(roles.map((r) => r.inputs.name).sort()).toEqual([`authwatch-${stack}-loki`, `authwatch-${stack}-pg-backup`, `authwatch-${stack}-restore-verify`]);
    for (const r of roles) {
      const sa = r.inputs.name.replace(`authwatch-${stack}-`, "");
      expect(JSON.parse(r.inputs.assumeRolePolicy).Statement).toEqual([
        {
          Effect: "Allow",
          Principal: { Federated: oidc },
          Action: "sts:AssumeRoleWithWebIdentity",
          Condition: { StringEquals: { [`${issuer}:sub`]: `system:serviceaccount:monitoring:${sa}`, [`${issuer}:aud`]: "sts.amazonaws.com" } },
        },
      ]);
    }
    /** action → resources it is granted on (conditions kept beside), from the role's inline policy. */
    const grants = (role: string) => {
      const doc = JSON.parse(one(run.resources, "aws:iam/rolePolicy:RolePolicy", `authwatch-${stack}-${role}`).inputs.policy);
      const out: Record<string, { resources: string[]; condition?: unknown }> = {};
      for (const st of doc.Statement) {
        // Loki's denies: pulumi.data-protection.test.ts.
        if (st.Effect === "Deny" && role === "loki") continue;
        expect(st.Effect).toBe("Allow");
        for (const action of [st.Action].flat()) out[action] = { resources: [st.Resource].flat(), ...(st.Condition ? { condition: st.Condition } : {}) };
      }
      return out;
    };
    const backups = `arn:aws:s3:::authwatch-${stack}-pg-backups`;
    const listPrefix = { resources: [backups], condition: { StringLike: { "s3:prefix": ["postgres/", "postgres/*"] } } };
    expect(grants("pg-backup")).toEqual({
      "s3:ListBucket": listPrefix,
      "s3:PutObject": { resources: [`${backups}/postgres/*`] },
      "s3:AbortMultipartUpload": { resources: [`${backups}/postgres/*`] },
    });
    expect(grants("restore-verify")).toEqual({ "s3:ListBucket": listPrefix, "s3:GetObject": { resources: [`${backups}/postgres/*`] } });
    const loki = `arn:aws:s3:::authwatch-${stack}-loki`;
    expect(grants("loki")).toEqual({
      "s3:ListBucket": { resources: [loki] },
      "s3:GetObject": { resources: [`${loki}/*`] },
      "s3:PutObject": { resources: [`${loki}/*`] },
      "s3:DeleteObject": { resources: [`${loki}/index/*`] },
    });
  });
});

describe("index.ts refuses to deploy", () => {
  const registered: Registered[] = [];
  afterAll(async () => {
    await pulumi.runtime.disconnect();
  });

  it.each([
    ["a chart version range", (c: Record<string, any>) => void (c["authwatch:cluster"].charts.loki = "^6.29.0"), /authwatch:cluster\.charts\.loki: must be an exact chart version/],
    ["no replicas", (c: Record<string, any>) => void (c["authwatch:cluster"].prometheus.replicas = 0), /authwatch:cluster\.prometheus\.replicas: must be at least 1/],
    ["a bad schedule", (c: Record<string, any>) => void (c["authwatch:cluster"].jobs.backup = { schedule: "every day" }), /authwatch:cluster\.jobs\.backup\.schedule: must be a cron schedule/],
    ["no backup jobs", (c: Record<string, any>) => void (c["authwatch:cluster"].jobs.backup = { parallelJobs: 0 }), /authwatch:cluster\.jobs\.backup\.parallelJobs: must be at least 1/],
    ["too many restore jobs", (c: Record<string, any>) => void (c["authwatch:cluster"].jobs.restoreVerify = { parallelJobs: 33 }), /authwatch:cluster\.jobs\.restoreVerify\.parallelJobs: must be at most 32/],
    ["an unknown backup format", (c: Record<string, any>) => void (c["authwatch:cluster"].jobs.backup = { format: "tar" }), /authwatch:cluster\.jobs\.backup\.format: /],
    ["a gzip level above 9", (c: Record<string, any>) => void (c["authwatch:cluster"].jobs.backup = { compression: 10 }), /authwatch:cluster\.jobs\.backup\.compression: must be a gzip level 0-9/],
    ["Loki's writes on fewer pods than a restart needs", (c: Record<string, any>) => void (c["authwatch:cluster"].loki.replicas = 2), /authwatch:cluster\.loki\.replicas: must be at least 3 in simple-scalable mode/],
    ["Loki scaled without S3", (c: Record<string, any>) => void (c["authwatch:cluster"].aws.enabled = false, delete c["authwatch:cluster"].aws.buckets), /authwatch:cluster\.loki\.mode: simple-scalable needs object storage/],
    ["no cluster block", (c: Record<string, any>) => void delete c["authwatch:cluster"], /authwatch:cluster: required to deploy stack prod: at least charts\.kubePrometheusStack/],
  ])("with %s, naming the file and key, before any resource", async (_what, edit, message) => {
    registered.length = 0;
    const config = deployableConfig("prod");
    edit(config as Record<string, any>);
    await expect(runProgram("prod", config, { registered })).rejects.toThrow(new RegExp(`stacks/Pulumi\\.prod\\.yaml: invalid stack settings:\\n[^]*${message.source}`));
    expect(registered).toEqual([]);
  });

  it("without a secret the deployment needs, naming the key and the command that sets it", async () => {
    registered.length = 0;
    await expect(runProgram("prod", deployableConfig("prod", ["pagerdutyRoutingKey", "backupDatabaseUrl"]), { registered })).rejects.toThrow(
      /stacks\/Pulumi\.prod\.yaml: invalid stack settings:\n {2}- authwatch:pagerdutyRoutingKey: required by receiver pagerduty-critical; set it with `pulumi config set --secret authwatch:pagerdutyRoutingKey <value>`\n {2}- authwatch:backupDatabaseUrl: required by the pg-backup CronJob/,
    );
    expect(registered).toEqual([]);
  });

  it("passes parallelJobs, format and compression, when a stack sets them, to both jobs and the migration's backup", async () => {
    const config = deployableConfig("prod") as Record<string, any>;
    config["authwatch:cluster"].jobs.backup = { format: "custom", parallelJobs: 3, compression: 0 };
    config["authwatch:cluster"].jobs.restoreVerify = { parallelJobs: 2 };
    const set = await runProgram("prod", config);
    const env = (spec: any) => Object.fromEntries(spec.template.spec.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
    const cron = Object.fromEntries(ofType(set.resources, CRONJOB).map((c) => [c.name, c.inputs.spec.jobTemplate.spec]));
    const migration = ofType(set.resources, JOB)[0]!.inputs.spec;
    for (const spec of [cron["pg-backup"], migration]) expect(env(spec)).toMatchObject({ BACKUP_FORMAT: "custom", BACKUP_JOBS: "3", BACKUP_COMPRESSION: "0" });
    expect(env(cron["restore-verify"])).toMatchObject({ RESTORE_VERIFY_JOBS: "2" });
  });

  // restore-verify.sh refuses to run without a target that is not the production database.
  it("without restoreVerifyTargetUrl: the restore-verify CronJob would fail every run", async () => {
    registered.length = 0;
    await expect(runProgram("prod", deployableConfig("prod", ["restoreVerifyTargetUrl"]), { registered })).rejects.toThrow(
      /authwatch:restoreVerifyTargetUrl: required by the restore verification \(RESTORE_VERIFY_TARGET_URL/,
    );
    expect(registered).toEqual([]);
  });

  it("the local stack (run by npm run local)", async () => {
    registered.length = 0;
    await expect(runProgram("local", deployableConfig("local"), { registered })).rejects.toThrow(/authwatch:cluster: stack local has no cluster settings \(the local stack runs with `npm run local`/);
    expect(registered).toEqual([]);
  });
});
