import { listStacks } from "../../src/settings";

/**
 * The stacks a slow real-tool test runs for: every stack file, or only those
 * named in AUTHWATCH_STACKS (comma-separated; the change loop passes the
 * stacks it changed).
 */
export function testedStacks(): string[] {
  const all = listStacks();
  const only = (process.env.AUTHWATCH_STACKS ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  if (only.length === 0) return all;
  const unknown = only.filter((s) => !all.includes(s));
  if (unknown.length > 0) throw new Error(`AUTHWATCH_STACKS: no stack file for ${unknown.join(", ")} (stacks: ${all.join(", ")})`);
  return only;
}
