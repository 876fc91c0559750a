/**
 * The monthly rollback drill under Pulumi's mocks (src/pulumi/rollback-drill.ts):
 * on in staging by default, off elsewhere unless enabled; the command of the
 * runbook in dry-run; DATABASE_URL from its own Secret by secretKeyRef only;
 * no API token, never root; and the network lets it reach PostgreSQL and the
 * Pushgateway and nothing else.
 */
import * as pulumi from "@pulumi/pulumi";
import { afterEach, describe, expect, it } from "vitest";
import { loadStackSettings, parseSettings } from "../src/settings";
import { renderStack } from "../src/synth";
import { networkPolicies } from "../src/pulumi/network";
import { mustParseDuration } from "../src/duration";
import { drillCommand, ROLLBACK_DRILL, ROLLBACK_DRILL_SECRET } from "../src/pulumi/rollback-drill";
import { parseRollbackArgs } from "../src/rollback/args";
import { deployableConfig, FAKE_SECRETS, isSecretMarker, one, runProgram, unwrapSecrets, withoutSecrets, type Config } from "./support/pulumi";

const CRONJOB = "kubernetes:batch/v1:CronJob";
const DRILL_URL = FAKE_SECRETS.rollbackDrillDatabaseUrl;

afterEach(async () => {
  await pulumi.runtime.disconnect();
});

const withDrill = (stack: string, drill: Record<string, unknown>): Config => {
  const c = deployableConfig(stack);
  const cluster = c["authwatch:cluster"] as Record<string, unknown>;
  return { ...c, "authwatch:cluster": { ...cluster, rollbackDrill: { ...(cluster.rollbackDrill as object), ...drill } } };
};

describe("the rollback drill CronJob", () => {
  it("runs in staging by default: the runbook's command in dry run, monthly, as the stack's settings say", async () => {
    const settings = loadStackSettings("staging");
    const d = settings.cluster!.rollbackDrill;
    const { resources, program } = await runProgram("staging", deployableConfig("staging"));
    const cron = one(resources, CRONJOB, ROLLBACK_DRILL).inputs.spec;
    expect(cron).toMatchObject({ schedule: d.schedule, timeZone: settings.cluster!.jobs.timeZone, concurrencyPolicy: "Forbid" });
    expect(program.rollbackDrillSchedule).toBe(d.schedule);
    const job = cron.jobTemplate.spec;
    expect(job.activeDeadlineSeconds).toBe(mustParseDuration(d.activeDeadline));
    const pod = job.template.spec;
    const [container, ...others] = pod.containers;
    expect(others).toEqual([]);
    expect(container.image).toBe(d.image);
    expect(container.command).toEqual(["npm", "run", "rollback", "--", "--dry-run", "--drill", "--stack", "staging", "--reason", "monthly rollback drill"]);
    expect(container.command).toEqual(drillCommand("staging"));
    const env = Object.fromEntries((container.env as { name: string; value?: string }[]).filter((e) => "value" in e).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ PUSHGATEWAY_URL: `http://pushgateway.${settings.cluster!.namespace}.svc:9091`, HOME: "/tmp" });
    // The stack reaches the CLI on its command line (the metric's label), not through an environment variable it does not read.
    expect(Object.keys(env)).not.toContain("AUTHWATCH_STACK");
    // Least privilege: no API token, never root, nothing writable but its scratch directory.
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.serviceAccountName).toBe(ROLLBACK_DRILL);
    expect(one(resources, "kubernetes:core/v1:ServiceAccount", ROLLBACK_DRILL).inputs.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: d.runAsUser });
    expect(container.securityContext).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    expect(container.volumeMounts).toEqual([{ name: "tmp", mountPath: "/tmp" }]);
  });

  it("reads DATABASE_URL by secretKeyRef from a Secret of its own, which holds it as a Pulumi secret, and nowhere else", async () => {
    const { resources } = await runProgram("staging", deployableConfig("staging"));
    const container = one(resources, CRONJOB, ROLLBACK_DRILL).inputs.spec.jobTemplate.spec.template.spec.containers[0];
    const db = (container.env as Record<string, any>[]).filter((e) => e.name === "DATABASE_URL");
    expect(db).toEqual([{ name: "DATABASE_URL", valueFrom: { secretKeyRef: { name: ROLLBACK_DRILL_SECRET, key: "DATABASE_URL" } } }]);
    const secret = one(resources, "kubernetes:core/v1:Secret", ROLLBACK_DRILL_SECRET);
    expect(unwrapSecrets(secret.wire.stringData)).toEqual({ DATABASE_URL: DRILL_URL });
    expect(isSecretMarker(secret.wire.stringData) || isSecretMarker(secret.wire.stringData.DATABASE_URL)).toBe(true);
    for (const r of resources) {
      expect(JSON.stringify(withoutSecrets(r.wire)), `${r.type} ${r.name}`).not.toContain(DRILL_URL);
      if (r !== secret) expect(JSON.stringify(r.wire), `${r.type} ${r.name}`).not.toContain(DRILL_URL);
    }
  });

  it("is not deployed where the stack does not run it (prod by default, staging when disabled)", async () => {
    for (const [stack, config] of [["prod", deployableConfig("prod")], ["staging", withDrill("staging", { enabled: false })]] as const) {
      const { resources } = await runProgram(stack, config);
      expect(resources.filter((r) => r.name.startsWith(ROLLBACK_DRILL)).map((r) => `${r.type} ${r.name}`), stack).toEqual([]);
      await pulumi.runtime.disconnect();
    }
  });

  it("runs wherever it is enabled, with that stack's image and schedule", async () => {
    const { resources } = await runProgram("prod", withDrill("prod", { enabled: true, image: "registry.example.com/authwatch/authwatch:2.0.0", schedule: "0 6 1 * *" }));
    const cron = one(resources, CRONJOB, ROLLBACK_DRILL).inputs.spec;
    expect(cron.schedule).toBe("0 6 1 * *");
    expect(cron.jobTemplate.spec.template.spec.containers[0].image).toBe("registry.example.com/authwatch/authwatch:2.0.0");
    expect(cron.jobTemplate.spec.template.spec.containers[0].command).toEqual(drillCommand("prod"));
  });

  it("runs a command line the rollback CLI accepts: a planned-only drill, labelled with the stack", async () => {
    for (const stack of ["staging", "prod"]) {
      const command = drillCommand(stack);
      expect(command.slice(0, command.indexOf("--") + 1)).toEqual(["npm", "run", "rollback", "--"]);
      const options = parseRollbackArgs(command.slice(command.indexOf("--") + 1));
      expect(options).toMatchObject({ dryRun: true, drill: true, stack, undo: false, revokeSessions: false, yes: false });
      // The stack file the CLI then loads (the image holds stacks/): its settings parse.
      expect(loadStackSettings(options.stack!).stack).toBe(stack);
    }
  });

  it("refuses a stack that runs it without its image or its database URL, naming the key", async () => {
    const config = deployableConfig("staging");
    const cluster = config["authwatch:cluster"] as Record<string, any>;
    delete cluster.rollbackDrill;
    expect(() => parseSettings("staging", config, "stacks/Pulumi.staging.yaml")).toThrow(/authwatch:cluster\.rollbackDrill\.image: required where the rollback drill runs \(on by default for environment staging\)/);
    await expect(runProgram("staging", deployableConfig("staging", ["rollbackDrillDatabaseUrl"]))).rejects.toThrow(
      /authwatch:rollbackDrillDatabaseUrl: required by the rollback-drill CronJob \(DATABASE_URL/,
    );
  });
});

describe("the rollback drill's network", () => {
  const settings = loadStackSettings("staging");
  const policies = networkPolicies(settings, renderStack(settings).routing);
  const spec = (name: string) => policies.find((p) => p.name === name)!.spec as Record<string, any>;
  const drillPods = { "app.kubernetes.io/name": ROLLBACK_DRILL, "app.kubernetes.io/part-of": "authwatch" };

  it("lets the drill reach the Pushgateway and PostgreSQL's port, nothing else", () => {
    const drill = spec(`${ROLLBACK_DRILL}-allow`);
    expect(drill.podSelector).toEqual({ matchLabels: drillPods });
    expect(drill.policyTypes).toEqual(["Egress"]);
    expect(drill.egress).toEqual([
      { to: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "pushgateway", "app.kubernetes.io/part-of": "authwatch" } } }], ports: [{ protocol: "TCP", port: 9091 }] },
      { ports: [{ protocol: "TCP", port: 5432 }] },
    ]);
  });

  it("lets the Pushgateway take its push", () => {
    const from = spec("pushgateway-allow").ingress[0].from as Record<string, any>[];
    expect(from).toContainEqual({ podSelector: { matchLabels: drillPods } });
  });

  it("has no policy where the stack does not run the drill", () => {
    const prod = loadStackSettings("prod");
    expect(networkPolicies(prod, renderStack(prod).routing).map((p) => p.name)).not.toContain(`${ROLLBACK_DRILL}-allow`);
  });
});
