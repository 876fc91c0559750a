/**
 * `npm run local` as the end-to-end tests drive it: the real CLI in a child process, a stack started
 * in a scratch data directory on random ports (never the ports of a stack someone runs here), and
 * stopped again with `down`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { waitFor } from "../../src/local/net";
import { REPO_ROOT } from "../../src/local/postgres";
import { layout, readState, type StackState } from "../../src/local/state";

export interface CliRun {
  readonly child: ChildProcess;
  readonly done: Promise<{ code: number; output: string }>;
}

/** `npm run local -- <args>`; `onOutput` sees stdout and stderr as they come. */
export function localCli(args: readonly string[], onOutput?: (s: string) => void): CliRun {
  const child = spawn(process.execPath, ["--import", "tsx", join(REPO_ROOT, "src", "cli", "local.ts"), ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const take = (c: Buffer) => {
    output += c.toString();
    onOutput?.(c.toString());
  };
  child.stdout!.on("data", take);
  child.stderr!.on("data", take);
  const done = new Promise<{ code: number; output: string }>((resolve) => child.on("close", (code) => resolve({ code: code ?? 1, output })));
  return { child, done };
}

/**
 * `up` in `dir` (`--ha` for the HA stack), until state.json says ready and the screen is printed. --no-install: CI installs the
 * packages (.ci/run); a missing one fails here with the command to run.
 */
export async function startLocalStack(dir: string, o: { ha?: boolean; timeoutMs: number; onScreen?: (s: string) => void }): Promise<{ up: CliRun; state: StackState }> {
  let screen = "";
  const up = localCli(["up", ...(o.ha ? ["--ha"] : []), "--dir", dir, "--no-install", "--random-ports"], (s) => {
    screen += s;
    o.onScreen?.(s);
  });
  const state = await waitFor(
    `the ${o.ha ? "HA" : "local"} stack to be ready`,
    () => {
      if (up.child.exitCode !== null) throw new Error(`npm run local${o.ha ? " -- --ha" : ""} exited ${up.child.exitCode}:\n${screen}`);
      const s = readState(layout(dir));
      // The CLI marks the state ready, then prints its screen: wait for both (the screen's lines reach us later than the file).
      return s?.ready && screen.includes("local stack is up") ? s : undefined;
    },
    o.timeoutMs,
    500,
  );
  return { up, state };
}

/** `down` when the stack still runs. */
export async function stopLocalStack(up: CliRun | undefined, dir: string): Promise<void> {
  if (up?.child.exitCode === null) await localCli(["down", "--dir", dir]).done;
}
