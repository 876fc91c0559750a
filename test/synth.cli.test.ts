/**
 * `npm run synth` when the output cannot be written: a clear message, a
 * non-zero exit, no stack trace, and nothing half-written (not the output
 * directory, not a runbook).
 */
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";

const REPO = path.resolve(__dirname, "..");
const TSX = path.join(REPO, "node_modules", ".bin", "tsx");
const temps: string[] = [];
const temp = () => {
  const dir = mkdtempSync(path.join(tmpdir(), "authwatch-synth-cli-"));
  temps.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of temps.splice(0)) {
    chmodSync(dir, 0o700);
    rmSync(dir, { recursive: true, force: true });
  }
});

const synth = (...args: string[]) => spawnSync(TSX, ["src/cli/synth.ts", ...args], { cwd: REPO, encoding: "utf8" });
const runbooks = () => readdirSync(path.join(REPO, "runbooks")).map((f) => readFileSync(path.join(REPO, "runbooks", f), "utf8"));

describe("synth --out that cannot be written", () => {
  it("an existing file: a one-line error naming it, exit 1, no stack trace", () => {
    const file = path.join(temp(), "not-a-dir");
    writeFileSync(file, "keep me\n");
    const res = synth("--stack", "prod", "--out", file);
    expect(res.status).toBe(1);
    expect(res.stderr).toContain(file);
    expect(res.stderr).not.toMatch(/\n\s+at /);
    expect(readFileSync(file, "utf8")).toBe("keep me\n");
  });

  it("a directory it may not write into: an error, and neither output nor runbooks change", () => {
    if (process.getuid?.() === 0) {
      // root ignores permissions: make the parent a file instead, which fails for everyone.
      const parent = path.join(temp(), "file");
      writeFileSync(parent, "");
      const before = runbooks();
      const res = synth("--stack", "prod", "--out", path.join(parent, "out"));
      expect(res.status).toBe(1);
      expect(res.stderr).not.toMatch(/\n\s+at /);
      expect(runbooks()).toEqual(before);
      return;
    }
    const parent = temp();
    mkdirSync(path.join(parent, "ro"));
    chmodSync(parent, 0o500);
    const res = synth("--stack", "prod", "--out", path.join(parent, "ro", "out"));
    expect(res.status).toBe(1);
    expect(existsSync(path.join(parent, "ro", "out"))).toBe(false);
  });

  it("an earlier render is replaced whole, with no temporary directory left beside it", () => {
    const parent = temp();
    const out = path.join(parent, "out");
    expect(synth("--stack", "dev", "--out", out).status).toBe(0);
    writeFileSync(path.join(out, "stale.txt"), "from an earlier render\n");
    expect(synth("--stack", "dev", "--out", out).status).toBe(0);
    expect(existsSync(path.join(out, "stale.txt"))).toBe(false);
    expect(readdirSync(parent)).toEqual(["out"]);
  });
});
