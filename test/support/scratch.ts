/**
 * Scratch copies of the repository and edits to them as a person would make
 * them: stack files are parsed, merged into and written back (never appended
 * to, which would repeat a YAML key).
 */
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import { tempDir } from "./tmp";

export const REPO = path.resolve(__dirname, "..", "..");

/** The repository's tracked files (as they are in the work tree) in a temporary directory, node_modules linked. */
export function copyRepository(prefix = "repo"): string {
  const root = tempDir(prefix);
  const tracked = execFileSync("git", ["ls-files", "-z"], { cwd: REPO, encoding: "utf8" }).split("\0").filter(Boolean);
  for (const file of tracked) {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    cpSync(path.join(REPO, file), path.join(root, file));
  }
  symlinkSync(path.join(REPO, "node_modules"), path.join(root, "node_modules"));
  return root;
}

type Tree = Record<string, unknown>;

/** Set `value` at `keys` in a nested object, creating or merging into the objects on the way. */
export function setIn(tree: Tree, keys: readonly string[], value: unknown): void {
  const [key, ...rest] = keys;
  if (key === undefined) throw new Error("setIn: no key");
  if (rest.length === 0) {
    tree[key] = value;
    return;
  }
  const child = tree[key];
  const next = child !== null && typeof child === "object" && !Array.isArray(child) ? (child as Tree) : (tree[key] = {} as Tree);
  setIn(next as Tree, rest, value);
}

/** Edit a stack file's `config` map: parse the YAML, let `edit` change it, write it back. */
export function editStackConfig(file: string, edit: (config: Tree) => void): void {
  const doc = (yaml.load(readFileSync(file, "utf8")) ?? {}) as { config?: Tree };
  doc.config ??= {};
  edit(doc.config);
  writeFileSync(file, yaml.dump(doc, { lineWidth: -1, noRefs: true }));
}
