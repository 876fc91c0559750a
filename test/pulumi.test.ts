/**
 * index.ts under Pulumi's mocks, per stack, with the config the engine would
 * hand over from stacks/Pulumi.<stack>.yaml.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import * as yaml from "js-yaml";
import { afterEach, describe, expect, it, vi } from "vitest";
import { listStacks, loadStackSettings } from "../src/settings";
import { renderStack } from "../src/synth";
import { FAKE_SECRETS } from "./support/pulumi";

const registered: string[] = [];

async function runProgram(stack: string, edit: (config: Record<string, unknown>) => void = () => {}) {
  const file = path.join(__dirname, "..", "stacks", `Pulumi.${stack}.yaml`);
  const config = (yaml.load(readFileSync(file, "utf8")) as { config: Record<string, unknown> }).config;
  // Every secret a deployment needs, as `pulumi config set --secret` leaves them (test/pulumi.cluster.test.ts covers their absence).
  for (const key of Object.keys(FAKE_SECRETS)) config[`authwatch:${key}`] = { secure: `v1:ciphertext-of-${key}` };
  edit(config);
  const secretKeys = Object.entries(config).filter(([, v]) => typeof v === "object" && v !== null && "secure" in v).map(([k]) => k);
  // The engine hands over decrypted values; strings as they are, objects as JSON.
  const flat = Object.fromEntries(
    Object.entries(config).map(([k, v]) => [k, secretKeys.includes(k) ? "decrypted-secret-value" : typeof v === "string" ? v : JSON.stringify(v)]),
  );
  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        registered.push(`${args.type}::${args.name}`);
        return { id: `${args.name}-id`, state: args.inputs };
      },
      call: (args) => args.inputs,
    },
    "authwatch",
    stack,
    true,
  );
  pulumi.runtime.setAllConfig(flat, secretKeys);
  vi.resetModules();
  return import("../index");
}

afterEach(async () => {
  // Let the program's resource registrations finish, so none lands in the next test's list.
  await pulumi.runtime.disconnect();
  registered.length = 0;
});

/** The stacks deployed with `pulumi up` (the local stack runs with `npm run local`). */
const clusterStacks = listStacks().filter((stack) => loadStackSettings(stack).cluster !== undefined);

describe.each(clusterStacks)("index.ts on stack %s", (stack) => {
  it("validates the settings and exports the same rule groups synth renders", async () => {
    const program = await runProgram(stack);
    const synth = renderStack(loadStackSettings(stack));
    const expected = Object.fromEntries([...synth.files].filter(([f]) => f.startsWith("prometheus/rules/")));
    expect(program.prometheusRuleGroups).toEqual(expected);
    expect(program.alertmanagerConfig).toBe(synth.files.get("alertmanager/alertmanager.yaml"));
    expect(program.alertRuleCount).toBe(synth.summary.alerts.rules);
    expect(program.environment).toBe(loadStackSettings(stack).environment);
  });
});

describe("index.ts on bad settings", () => {
  it("fails before any resource is registered, naming the file and key", async () => {
    await expect(
      runProgram("prod", (c) => {
        c["authwatch:thresholds"] = { errorRate: { criticalRatio: 1.5 } };
      }),
    ).rejects.toThrow(/stacks\/Pulumi\.prod\.yaml: invalid stack settings:\n {2}- authwatch:thresholds\.errorRate\.criticalRatio: must be at most 1/);
    expect(registered).toEqual([]);
  });

  it("rejects a receiver secret set as plain text", async () => {
    await expect(
      runProgram("prod", (c) => {
        c["authwatch:pagerdutyRoutingKey"] = "plain-text-key";
      }),
    ).rejects.toThrow(/authwatch:pagerdutyRoutingKey: is a secret/);
  });

  it("accepts it as a secret without the value reaching any output", async () => {
    const program = await runProgram("prod", (c) => {
      c["authwatch:pagerdutyRoutingKey"] = { secure: "v1:whatever" };
    });
    expect(JSON.stringify(program)).not.toContain("decrypted-secret-value");
  });
});
