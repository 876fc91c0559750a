/**
 * The demo auth service as its own process (the local stack starts it):
 *   DATABASE_URL=postgresql://… node --import tsx src/local/demo/main.ts --port 18080 --log .local/logs/auth.jsonl
 * It follows the feature flags of DATABASE_URL's feature_flags table (unset: the flags' defaults).
 */
import { parseArgs } from "node:util";
import { startDemo } from "./http";

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { port: { type: "string" }, log: { type: "string" }, "no-traffic": { type: "boolean" } } });
  if (!values.port || !values.log) throw new Error("usage: demo/main.ts --port <port> --log <file> [--no-traffic]");
  const demo = await startDemo({ port: Number(values.port), logFile: values.log, traffic: !values["no-traffic"], databaseUrl: process.env.DATABASE_URL || undefined });
  console.log(`demo auth service on ${demo.url} (logs: ${values.log})`);
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void demo.close().then(() => process.exit(0));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
