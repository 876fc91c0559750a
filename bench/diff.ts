/**
 * npm run bench -- --only diff: `npm run diff -- --all` between two commits of a scratch copy of
 * this repository (HEAD, and HEAD with a prod threshold changed), median of 5 runs.
 */
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(__dirname, "..");
const RUNS = 5;

export interface DiffBenchResult {
  readonly runs: number;
  readonly medianSeconds: number;
  readonly minSeconds: number;
  readonly maxSeconds: number;
  readonly stacks: number;
  readonly changedTiers: number;
}

function scratch(): { dir: string; base: string; head: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "authwatch-bench-diff-"));
  execFileSync("sh", ["-c", `git -C "${ROOT}" archive HEAD | tar -x -C "${dir}"`]);
  fs.symlinkSync(fs.realpathSync(path.join(ROOT, "node_modules")), path.join(dir, "node_modules"));
  const git = (...args: string[]) => execFileSync("git", ["-C", dir, "-c", "user.name=bench", "-c", "user.email=bench@local", ...args], { encoding: "utf8" }).trim();
  git("init", "-q");
  fs.appendFileSync(path.join(dir, ".git", "info", "exclude"), "node_modules\n");
  git("add", "-A");
  git("commit", "-qm", "base");
  const base = git("rev-parse", "HEAD");
  const file = path.join(dir, "stacks", "Pulumi.prod.yaml");
  fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/^config:\n/m, "config:\n  authwatch:thresholds:\n    errorRate:\n      criticalRatio: 0.07\n"));
  git("commit", "-qam", "prod: error rate page at 7 %");
  return { dir, base, head: git("rev-parse", "HEAD") };
}

export async function main(): Promise<DiffBenchResult> {
  const { dir, base, head } = scratch();
  try {
    const seconds: number[] = [];
    let json: { stacks: { alerts: unknown[] }[] } = { stacks: [] };
    console.log(`diff bench: npm run diff -- --base <HEAD> --head <HEAD + prod threshold> --all --format json, ${RUNS} runs`);
    console.log("  run  seconds");
    for (let i = 1; i <= RUNS; i++) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(path.join(ROOT, "node_modules", ".bin", "tsx"), [path.join(ROOT, "src", "cli", "diff.ts"), "--base", base, "--head", head, "--all", "--format", "json"], { cwd: dir, encoding: "utf8" });
      const s = Number(process.hrtime.bigint() - t0) / 1e9;
      if (r.status !== 0) throw new Error(`npm run diff failed (${r.status}):\n${r.stderr}`);
      json = JSON.parse(r.stdout) as typeof json;
      seconds.push(s);
      console.log(`  ${String(i).padStart(3)}  ${s.toFixed(2)}`);
    }
    const sorted = [...seconds].sort((a, b) => a - b);
    const round = (n: number) => Number(n.toFixed(2));
    const result: DiffBenchResult = {
      runs: RUNS,
      medianSeconds: round(sorted[Math.floor(RUNS / 2)]!),
      minSeconds: round(sorted[0]!),
      maxSeconds: round(sorted[RUNS - 1]!),
      stacks: json.stacks.length,
      changedTiers: json.stacks.reduce((n, s) => n + s.alerts.length, 0),
    };
    console.log(`  median ${result.medianSeconds}s (min ${result.minSeconds}s, max ${result.maxSeconds}s) for ${result.stacks} stacks, ${result.changedTiers} changed tier(s)`);
    console.log(`BENCH diff ${JSON.stringify(result)}`);
    return result;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
