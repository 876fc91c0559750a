/**
 * `npm run diff`: renders two revisions of the repository with their own synth and compares
 * the artifacts per stack. Temporary worktrees and directories are removed, also on error.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { RenderedStack } from "./artifacts";
import { backtestChanges } from "./backtest";
import { compareStack, summarize } from "./compare";
import { formatJson, formatMarkdown, formatText, type Report } from "./format";
import { DiffError, materialize, repoRoot, stopSynths, synth, synthEvery, type Revision } from "./revision";

export class UsageError extends Error {}

export interface DiffOptions {
  readonly cwd: string;
  readonly base: string | undefined;
  /** A git ref; undefined: the working tree. */
  readonly head: string | undefined;
  readonly stack: string | undefined;
  readonly all: boolean;
  readonly format: string | undefined;
  readonly prometheus?: string | undefined;
  readonly since?: string | undefined;
  /** Seconds since the epoch the backtest window ends at (tests); default now. */
  readonly now?: number;
}

const FORMATS = { text: formatText, markdown: formatMarkdown, json: formatJson } as const;

/** Synth processes at once: one per core, at most two (the machine is shared). */
const PARALLEL = Math.max(1, Math.min(2, os.availableParallelism()));

export interface Rendered {
  readonly base: Revision;
  readonly head: Revision;
  readonly stacks: readonly string[];
  readonly before: ReadonlyMap<string, RenderedStack>;
  readonly after: ReadonlyMap<string, RenderedStack>;
}

/** Renders the stacks of both revisions; `use` runs while the temporary directories exist. */
export async function withRendered<T>(o: Pick<DiffOptions, "cwd" | "base" | "head" | "stack" | "all">, use: (r: Rendered) => Promise<T> | T): Promise<T> {
  if (!o.base) throw new UsageError("--base is required");
  if (o.stack !== undefined && o.all) throw new UsageError("--stack and --all exclude each other");
  const repo = repoRoot(o.cwd);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "authwatch-diff-run-"));
  const cleanup: (() => void)[] = [];
  const removeAll = () => {
    for (const undo of cleanup.splice(0).reverse()) {
      try {
        undo();
      } catch {
        // Keep removing the rest; the temporary directory goes last.
      }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  };
  // Ctrl-C skips `finally`: remove the worktrees on the way out too.
  const onSignal = (signal: NodeJS.Signals) => {
    stopSynths();
    removeAll();
    process.kill(process.pid, signal);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const base = materialize(repo, o.base, path.join(tmp, "base"), cleanup);
    const head = materialize(repo, o.head, path.join(tmp, "head"), cleanup);
    const known = [...new Set([...base.stacks, ...head.stacks])].sort();
    if (o.stack !== undefined && !known.includes(o.stack)) {
      throw new DiffError(`stack ${o.stack} is in neither revision (stacks: ${known.join(", ") || "none"})`);
    }
    const stacks = o.stack !== undefined ? [o.stack] : known;
    const render = (rev: Revision, root: string): Promise<Map<string, RenderedStack>> =>
      o.stack !== undefined
        ? rev.stacks.includes(o.stack)
          ? synth(rev, o.stack, path.join(root, o.stack)).then((r) => new Map([[r.stack, r]]))
          : Promise.resolve(new Map())
        : synthEvery(rev, root, PARALLEL);
    const [before, after] = await Promise.all([render(base, path.join(tmp, "out-base")), render(head, path.join(tmp, "out-head"))]);
    return await use({ base, head, stacks, before, after });
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    removeAll();
  }
}

/** The whole report, formatted. */
export async function buildReport(o: DiffOptions): Promise<Report> {
  if (o.since !== undefined && o.prometheus === undefined) throw new UsageError("--since needs --prometheus");
  return withRendered(o, async (r) => {
    const stacks = r.stacks.map((s) => compareStack(s, r.before.get(s), r.after.get(s)));
    const report: Report = { base: r.base.label, head: r.head.label, stacks, summary: summarize(stacks) };
    if (!o.prometheus) return report;
    const since = o.since ?? "7d";
    try {
      const results = await backtestChanges(o.prometheus, stacks, since, o.now ?? Math.floor(Date.now() / 1000));
      return { ...report, backtest: { prometheus: o.prometheus, since, results } };
    } catch (e) {
      throw new DiffError(`backtest: ${(e as Error).message}`);
    }
  });
}

export async function runDiff(o: DiffOptions): Promise<string> {
  const format = o.format ?? "text";
  if (!(format in FORMATS)) throw new UsageError(`--format ${format}: one of ${Object.keys(FORMATS).join(", ")}`);
  if (!o.base) throw new UsageError("--base is required");
  return FORMATS[format as keyof typeof FORMATS](await buildReport(o));
}

export { DiffError };
