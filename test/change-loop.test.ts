/**
 * The README's daily loop keeps the suite green: on a scratch copy of the
 * repository, make the changes the README shows ("Change a threshold": a
 * prod override and a default in the settings module; "Add a stack": qa),
 * run `npm run synth` as it says, then the tests that depend on stack values,
 * in the copy. They must all pass: no test may pin today's numbers or stacks.
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { beforeAll, describe, expect, it } from "vitest";
import { loadStackSettings } from "../src/settings";
import { tool, type ToolResult } from "./support/promtool";
import { copyRepository, editStackConfig, setIn } from "./support/scratch";

/** The test files that read stack settings; the real-tool ones run for the changed stacks only (AUTHWATCH_STACKS). */
const STACK_DEPENDENT = [
  "test/settings.test.ts",
  "test/synth.test.ts",
  "test/dashboards.test.ts",
  "test/runbooks.test.ts",
  "test/validate.test.ts",
  "test/rules.promtool.test.ts",
  "test/alertmanager.amtool.test.ts",
  "test/docs.test.ts",
  "test/runbook-queries.test.ts",
  "test/monitoring-jobs.test.ts",
  "test/alloy.test.ts",
  "test/policy.test.ts",
  "test/drills.test.ts",
];
const CHANGED_STACKS = ["prod", "qa"];

/**
 * README "Change a threshold": a default, where the settings module writes it. memory.warningRatio, because
 * test/settings.test.ts pins the contract's defaults of the error, latency and login tiers on purpose.
 */
const DEFAULT_PATTERN = /(\bmemory: obj\(\{ warningRatio: ratio\.default\()([0-9.]+)(\))/;

function settingsModules(root: string): string[] {
  const src = path.join(root, "src");
  return readdirSync(src, { recursive: true, encoding: "utf8" })
    .filter((f) => /^settings(\.ts$|\/.*\.ts$)/.test(f.split(path.sep).join("/")))
    .map((f) => path.join(src, f));
}

/** Change the default in whichever settings module holds it; returns the new value. */
function changeDefault(root: string): number {
  const holders = settingsModules(root).filter((f) => DEFAULT_PATTERN.test(readFileSync(f, "utf8")));
  expect(holders, `README "Change a threshold": memory.warningRatio's default written as ${DEFAULT_PATTERN} in src/settings*`).toHaveLength(1);
  const file = holders[0]!;
  const text = readFileSync(file, "utf8");
  const now = Number(DEFAULT_PATTERN.exec(text)![2]);
  const next = Number((now + (1 - now) / 4).toFixed(4));
  writeFileSync(file, text.replace(DEFAULT_PATTERN, `$1${next}$3`));
  return next;
}

/** README "Add a stack": the environment and the receivers' channels and addresses; everything else defaults to prod. */
const QA_STACK = {
  config: {
    "authwatch:environment": "staging",
    "authwatch:dashboardBaseUrl": "https://grafana.qa.auth.example.com",
    "authwatch:routing": {
      mode: "tiered",
      slackAuthChannel: "#auth-alerts-qa",
      slackSecurityChannel: "#security-alerts-qa",
      emailTo: "auth-oncall-qa@example.com",
      emailFrom: "alertmanager@qa.auth.example.com",
      smtpSmarthost: "smtp.example.com:587",
      deadMansSwitchUrl: "https://deadmansswitch.example.com/ping/authwatch-qa",
    },
  },
};

// The copy runs vitest on the files above, never this one; the variable makes sure of it.
describe.skipIf(!!process.env.AUTHWATCH_CHANGE_LOOP)("the README's change loop on a scratch copy", () => {
  let root: string;
  let errorRatio: number;
  let memoryWarning: number;
  const synth: Record<string, ToolResult> = {};
  let suite: ToolResult;

  beforeAll(async () => {
    root = copyRepository("change-loop");
    const stacks = path.join(root, "stacks");
    // README "Change a threshold": 7 % for prod (another number if prod already says 7 %).
    errorRatio = loadStackSettings("prod", stacks).thresholds.errorRate.criticalRatio === 0.07 ? 0.08 : 0.07;
    editStackConfig(path.join(stacks, "Pulumi.prod.yaml"), (c) => setIn(c, ["authwatch:thresholds", "errorRate", "criticalRatio"], errorRatio));
    memoryWarning = changeDefault(root);
    writeFileSync(path.join(stacks, "Pulumi.qa.yaml"), yaml.dump(QA_STACK));

    const bin = (name: string) => path.join(root, "node_modules", ".bin", name);
    for (const stack of CHANGED_STACKS) synth[stack] = await tool(bin("tsx"), ["src/cli/synth.ts", "--stack", stack], root);
    suite = await tool(bin("vitest"), ["run", ...STACK_DEPENDENT], root, { AUTHWATCH_CHANGE_LOOP: "1", AUTHWATCH_STACKS: CHANGED_STACKS.join(","), NO_COLOR: "1" });
  }, 600_000);

  it("npm run synth renders the changed and the new stack, with the new numbers in rules and runbooks", () => {
    for (const stack of CHANGED_STACKS) expect(synth[stack]!.ok, `synth ${stack}:\n${synth[stack]!.output}`).toBe(true);
    const rules = (stack: string) => readdirSync(path.join(root, "out", stack, "prometheus", "rules")).map((f) => readFileSync(path.join(root, "out", stack, "prometheus", "rules", f), "utf8")).join("\n");
    expect(rules("prod")).toMatch(new RegExp(`ratio_rate5m\\{job="auth"\\} > ${errorRatio}\\b`));
    expect(rules("qa")).toContain(`resource="memory"}) > ${memoryWarning}\n`);
    expect(readFileSync(path.join(root, "runbooks", "auth-high-error-rate.md"), "utf8")).toContain(`<!--setting:thresholds.errorRate.criticalRatio-->${Math.round(errorRatio * 100)}%`);
  });

  it("the stack-dependent tests pass in the copy", () => {
    expect(suite.ok, suite.output.slice(-6000)).toBe(true);
    const output = suite.output.replace(/\x1b\[[0-9;]*m/g, "");
    expect(output).toMatch(new RegExp(`Test Files\\s+${STACK_DEPENDENT.length} passed`));
  });
});
