/**
 * Temporary directories for tests, named /tmp/authwatch-<prefix>-XXXXXX. Each
 * one is removed after the test file that made it: importing this module
 * registers an afterAll on that file (vitest evaluates modules afresh for
 * every test file), so a test only has to ask for a directory.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { afterAll } from "vitest";

const made = new Set<string>();

export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `authwatch-${prefix}-`));
  made.add(dir);
  return dir;
}

export function removeTempDirs(): void {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
  made.clear();
}

afterAll(removeTempDirs);
