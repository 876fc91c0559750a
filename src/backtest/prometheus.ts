/** A Prometheus of our own on loopback: over a TSDB directory, started and stopped by its process. */
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { freePort, localUrl, waitFor } from "../local/net";

export interface LocalPrometheus {
  readonly url: string;
  readonly pid: number | undefined;
  stop(): Promise<void>;
}

/** Starts `prometheus` with `config` (YAML text) over `tsdb`; its config file lives next to the TSDB. */
export async function startPrometheus(tsdb: string, config: string, extraArgs: readonly string[] = []): Promise<LocalPrometheus> {
  fs.mkdirSync(tsdb, { recursive: true });
  const configFile = path.join(path.dirname(tsdb), `${path.basename(tsdb)}.prometheus.yml`);
  fs.writeFileSync(configFile, config);
  const port = await freePort();
  const url = localUrl(port);
  let output = "";
  // An extra argument replaces the default of the same flag (Prometheus refuses a repeated flag).
  const flag = (arg: string) => arg.split("=")[0];
  const defaults = ["--storage.tsdb.retention.time=3650d", "--query.max-samples=200000000"].filter((d) => !extraArgs.some((a) => flag(a) === flag(d)));
  const child: ChildProcess = spawn(
    "prometheus",
    [`--config.file=${configFile}`, `--storage.tsdb.path=${tsdb}`, `--web.listen-address=127.0.0.1:${port}`, ...defaults, ...extraArgs],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  child.stderr!.on("data", (c: Buffer) => (output = (output + c.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
    await exited;
  };
  try {
    await waitFor(
      `Prometheus over ${tsdb} to be ready`,
      async () => {
        if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}:\n${output}`);
        return (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok ? true : undefined;
      },
      120_000,
      200,
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, pid: child.pid, stop };
}
