/**
 * Facts the workflows need about the stacks, as GitHub step outputs (key=value lines):
 *   npx tsx policy/ci.ts stacks
 *     deployable=["dev",...]         the stacks previewed on a pull request
 *   npx tsx policy/ci.ts stack <name> <policy-config.json>
 *     writes the policy pack's config for the stack to the file, and prints
 *     aws-region=<region or empty>   where the stack has AWS
 *     pulumi-version=<x.y.z>         the CLI matching the SDK in package-lock.json
 */
import { writeFileSync } from "node:fs";
import { loadStackSettings } from "../src/settings";
import { deployableStacks, policyConfig } from "./stacks";

function main([command, stack, configFile]: string[]): number {
  if (command === "stacks") {
    console.log(`deployable=${JSON.stringify(deployableStacks())}`);
    return 0;
  }
  if (command === "stack" && stack && configFile) {
    const s = loadStackSettings(stack);
    writeFileSync(configFile, `${JSON.stringify(policyConfig(s), null, 2)}\n`);
    const aws = s.cluster?.aws;
    console.log(`aws-region=${aws?.enabled ? aws.region : ""}`);
    console.log(`pulumi-version=${(require("@pulumi/pulumi/package.json") as { version: string }).version}`);
    return 0;
  }
  console.error("usage: npx tsx policy/ci.ts stacks | stack <name> <policy-config.json>");
  return 2;
}

process.exitCode = main(process.argv.slice(2));
