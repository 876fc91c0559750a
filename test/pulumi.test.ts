/**
 * index.ts under Pulumi's mocks, per stack, with the config the engine would
 * hand over from stacks/Pulumi.<stack>.yaml.
 */
import * as pulumi from "@pulumi/pulumi";
import { afterEach, describe, expect, it } from "vitest";
import { listStacks, loadStackSettings } from "../src/settings";
import { renderStack } from "../src/synth";
import { deployableConfig, FAKE_SECRETS, runProgram as run, type Config, type Registered } from "./support/pulumi";

const registered: Registered[] = [];

/** index.ts on a stack with every secret a deployment needs (test/pulumi.cluster.test.ts covers their absence). */
async function runProgram(stack: string, edit: (config: Config) => void = () => {}) {
  const config = deployableConfig(stack);
  edit(config);
  return (await run(stack, config, { registered })).program;
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
    expect(JSON.stringify(program)).not.toContain(FAKE_SECRETS.pagerdutyRoutingKey);
  });
});
