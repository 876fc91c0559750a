/**
 * What the workflows pass to the policy pack per stack, from the stack's
 * settings (one place for both: CI and test/policy.test.ts use these).
 */
import { listStacks, loadStackSettings, type Settings } from "../src/settings";
import { noExternalServices } from "./policies";

/** The stacks deployed with `pulumi up`: those with cluster settings (local runs with `npm run local`). */
export function deployableStacks(): string[] {
  return listStacks().filter((stack) => loadStackSettings(stack).cluster !== undefined);
}

/** The policy pack's config for a stack, as `pulumi preview --policy-pack-config <file>` reads it. */
export function policyConfig(s: Settings): Record<string, Record<string, unknown>> {
  return { [noExternalServices.name]: { allowExternalServices: s.cluster?.ingress.enabled === true } };
}
