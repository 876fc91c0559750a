/** Real servers for tests: a free loopback port, an HTTP sink that records requests, Alertmanager. */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { alertmanagerArgs } from "../../src/local/services";
import { freePort, waitFor } from "../../src/local/net";

// Shared with the local stack: src/local/net.ts and src/local/sink.ts.
export { freePort, waitFor } from "../../src/local/net";
export { startSink, type Received } from "../../src/local/sink";

export interface Alertmanager {
  readonly url: string;
  readonly process: ChildProcess;
  readonly log: () => string;
  stop(): Promise<void>;
}

/** The Debian Alertmanager binary, on a free loopback port, clustering off. */
export async function startAlertmanager(configFile: string): Promise<Alertmanager> {
  const port = await freePort();
  const storage = mkdtempSync(path.join(tmpdir(), "authwatch-am-"));
  let output = "";
  const child = spawn("prometheus-alertmanager", [...alertmanagerArgs({ configFile, storage, port }), "--log.level=debug"], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const url = `http://127.0.0.1:${port}`;
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    await exited;
    rmSync(storage, { recursive: true, force: true });
  };
  try {
    await waitFor(
      "Alertmanager to be ready",
      async () => {
        if (child.exitCode !== null) throw new Error(`alertmanager exited ${child.exitCode}:\n${output}`);
        try {
          return (await fetch(`${url}/-/ready`)).ok ? true : undefined;
        } catch {
          return undefined;
        }
      },
      20_000,
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, process: child, log: () => output, stop };
}
