// A real S3 API on loopback for the backup tests: moto's server (Python moto 5,
// `moto_server`; .ci/run installs it), driven through the real `aws` CLI.
import { spawn, type ChildProcess } from "node:child_process";
import { freePort, waitFor } from "../../src/local/net";
import { run, type RunResult } from "../../src/local/postgres";

export interface S3Server {
  readonly endpoint: string;
  /** Environment for the `aws` CLI (and the jobs): endpoint, dummy credentials, region. */
  readonly env: Record<string, string>;
  /** Runs `aws ...args` against this server. */
  aws(...args: string[]): Promise<RunResult>;
  stop(): Promise<void>;
}

export async function startS3(): Promise<S3Server> {
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  let output = "";
  const child: ChildProcess = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const kill = () => child.kill("SIGTERM");
  process.once("exit", kill);
  await waitFor(
    "moto_server to listen",
    async () => {
      if (child.exitCode !== null) throw new Error(`moto_server exited ${child.exitCode}:\n${output}`);
      try {
        return (await fetch(`${endpoint}/moto-api/`)).status < 500 ? true : undefined;
      } catch {
        return undefined;
      }
    },
    30_000,
  );
  const env = {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
    AWS_DEFAULT_REGION: "us-east-1",
    AWS_CONFIG_FILE: "/dev/null",
    AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
  };
  return {
    endpoint,
    env,
    aws: (...args) => run("aws", args, { env: { ...process.env, ...env } }),
    async stop() {
      process.removeListener("exit", kill);
      kill();
      await exited;
    },
  };
}
