/**
 * npm run diff -- --base <git-ref> [--head <git-ref>] [--stack <name> | --all] [--format text|markdown|json]
 *                [--prometheus <url> [--since 7d]]
 * What a change does, per stack: both revisions rendered by their own synth, compared semantically (docs/diff.md).
 */
import { parseArgs } from "node:util";
import { runDiff, UsageError } from "../diff";
import { DiffError } from "../diff/revision";

const USAGE =
  "usage: npm run diff -- --base <git-ref> [--head <git-ref>] [--stack <name> | --all] [--format text|markdown|json] [--prometheus <url> [--since 7d]]";

async function main(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        base: { type: "string" },
        head: { type: "string" },
        stack: { type: "string" },
        all: { type: "boolean" },
        format: { type: "string" },
        prometheus: { type: "string" },
        since: { type: "string" },
        help: { type: "boolean" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    console.error(`diff: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  try {
    process.stdout.write(
      await runDiff({
        cwd: process.cwd(),
        base: values.base,
        head: values.head,
        stack: values.stack,
        all: values.all ?? false,
        format: values.format,
        prometheus: values.prometheus,
        since: values.since,
      }),
    );
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`diff: ${e.message}\n${USAGE}`);
      return 2;
    }
    if (e instanceof DiffError) {
      console.error(`diff: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (e: unknown) => {
    console.error(`diff: ${(e as Error).stack ?? String(e)}`);
    process.exitCode = 1;
  },
);
