/**
 * One revision of the repository on disk, rendered by its own synth CLI
 * (`tsx src/cli/synth.ts --stack <s> --out <dir>`, docs/artifacts.md):
 * a git ref in a temporary `git worktree add --detach`, or a copy of the working tree
 * (synth refreshes runbooks in place, which must not touch the user's files).
 */
import { execFile, execFileSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { readTree, type RenderedStack } from "./artifacts";

/** A failure to report in one message (exit 1): a bad ref, a revision that does not render, an unreachable Prometheus. */
export class DiffError extends Error {}

export interface Revision {
  /** `main (1a2b3c4)` or `working tree`. */
  readonly label: string;
  readonly dir: string;
  readonly stacks: readonly string[];
}

const git = (repo: string, args: string[]): string => execFileSync("git", ["-C", repo, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();

export function repoRoot(cwd: string): string {
  try {
    return git(cwd, ["rev-parse", "--show-toplevel"]);
  } catch {
    throw new DiffError(`${cwd} is not inside a git repository`);
  }
}

function linkNodeModules(repo: string, dir: string): void {
  const modules = path.join(repo, "node_modules");
  if (!fs.existsSync(modules)) throw new DiffError(`${modules} is missing: run npm ci first`);
  fs.symlinkSync(fs.realpathSync(modules), path.join(dir, "node_modules"), "dir");
}

function stacksIn(dir: string): string[] {
  const stacksDir = path.join(dir, "stacks");
  if (!fs.existsSync(stacksDir)) return [];
  return fs
    .readdirSync(stacksDir)
    .map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

/** Checks out `ref` (or copies the working tree when ref is undefined) under `dir`; `cleanup` undoes it. */
export function materialize(repo: string, ref: string | undefined, dir: string, cleanup: (() => void)[]): Revision {
  if (ref === undefined) {
    const files = git(repo, ["ls-files", "-z", "--cached", "--others", "--exclude-standard"]).split("\0").filter(Boolean);
    for (const f of files) {
      if (f === "node_modules" || f.startsWith("node_modules/")) continue;
      const src = path.join(repo, f);
      const st = fs.lstatSync(src, { throwIfNoEntry: false });
      if (!st || st.isDirectory()) continue; // deleted in the working tree, or a submodule
      fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
      if (st.isSymbolicLink()) fs.symlinkSync(fs.readlinkSync(src), path.join(dir, f));
      else fs.copyFileSync(src, path.join(dir, f));
    }
    linkNodeModules(repo, dir);
    return { label: "working tree", dir, stacks: stacksIn(dir) };
  }
  let commit: string;
  try {
    commit = git(repo, ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`]);
  } catch {
    throw new DiffError(`unknown git ref ${JSON.stringify(ref)}`);
  }
  try {
    git(repo, ["worktree", "add", "--detach", dir, commit]);
  } catch (e) {
    throw new DiffError(`git worktree add ${ref}: ${(e as { stderr?: string }).stderr ?? (e as Error).message}`);
  }
  cleanup.push(() => {
    try {
      git(repo, ["worktree", "remove", "--force", dir]);
    } catch {
      fs.rmSync(dir, { recursive: true, force: true });
      git(repo, ["worktree", "prune"]);
    }
  });
  linkNodeModules(repo, dir);
  return { label: `${ref} (${commit.slice(0, 7)})`, dir, stacks: stacksIn(dir) };
}

const running = new Set<ChildProcess>();

/** Stops the synth processes still running (on Ctrl-C, before the worktrees go). */
export function stopSynths(): void {
  for (const child of running) child.kill("SIGTERM");
}

/** Runs the revision's own synth CLI in its directory; resolves with its stderr on failure. */
function runSynth(rev: Revision, args: readonly string[]): Promise<{ ok: true } | { ok: false; code: number; why: string }> {
  const tsx = path.join(rev.dir, "node_modules", ".bin", "tsx");
  return new Promise((resolve) => {
    const child = execFile(tsx, ["src/cli/synth.ts", ...args], { cwd: rev.dir, encoding: "utf8", maxBuffer: 16 << 20 }, (err, _stdout, stderr) => {
      running.delete(child);
      if (!err) return resolve({ ok: true });
      resolve({ ok: false, code: typeof err.code === "number" ? err.code : 1, why: stderr.trim() || err.message });
    });
    running.add(child);
  });
}

function rendered(rev: Revision, stack: string, out: string): RenderedStack {
  const stackFile = path.join(rev.dir, "stacks", `Pulumi.${stack}.yaml`);
  return { stack, files: readTree(out), stackFile: yaml.load(fs.readFileSync(stackFile, "utf8")) as Record<string, unknown> };
}

/** Runs the revision's own synth for one stack into `out`; a failure carries synth's message. */
export async function synth(rev: Revision, stack: string, out: string): Promise<RenderedStack> {
  const r = await runSynth(rev, ["--stack", stack, "--out", out]);
  if (!r.ok) throw new DiffError(`${rev.label} does not render stack ${stack}:\n${r.why.replace(/^/gm, "  ")}`);
  return rendered(rev, stack, out);
}

/**
 * Every stack of a revision into `<root>/<stack>` with one synth process
 * (`synth --all`): a process costs more to start than to render a stack.
 * A revision whose synth predates `--all` (a usage error, exit 2) renders
 * stack by stack.
 */
export async function synthEvery(rev: Revision, root: string, limit: number): Promise<Map<string, RenderedStack>> {
  const r = await runSynth(rev, ["--all", "--out", root]);
  if (r.ok) return new Map(rev.stacks.map((s) => [s, rendered(rev, s, path.join(root, s))]));
  if (r.code !== 2) throw new DiffError(`${rev.label} does not render:\n${r.why.replace(/^/gm, "  ")}`);
  const each = await pool(rev.stacks.map((s) => () => synth(rev, s, path.join(root, s))), limit);
  return new Map(each.map((x) => [x.stack, x]));
}

/** Runs jobs with at most `limit` at a time (the machine has few cores; each synth is one process). */
export async function pool<T>(jobs: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  let failed: unknown;
  const worker = async () => {
    while (next < jobs.length && failed === undefined) {
      const i = next++;
      try {
        results[i] = await jobs[i]!();
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, worker));
  if (failed !== undefined) throw failed;
  return results;
}
