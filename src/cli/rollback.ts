/**
 * npm run rollback -- --reason "<why>" [--revoke-sessions] [--yes] [--stack <name>] [--dry-run [--drill [--rollback-role <role>]]]
 * npm run rollback -- --undo --reason "<why>"
 *
 * Seed 002's rollback against DATABASE_URL (docs/rollback.md). The operator
 * reads stderr; stdout carries the `auth.rollback` / `auth.flag.changed`
 * JSON log lines. Exit codes: 0 done (or planned), 1 a step failed (the
 * report says what was done and what not) or the drill's push failed,
 * 2 bad command line or settings, 3 the database is not ready (unreachable,
 * no schema, missing privileges, another rollback running): nothing changed.
 */
import { createInterface } from "node:readline";
import { renderTemplate, parseFields, TemplateError } from "../comms/render";
import { connectDatabase, NotReadyError, scrub } from "../flags/connect";
import { loadStackSettings, SettingsError } from "../settings";
import { rollbackSchema, type RollbackSettings } from "../settings/rollback";
import { parseRollbackArgs, USAGE, UsageError, type RollbackOptions } from "../rollback/args";
import { pushDrillSuccess } from "../rollback/drill";
import { runRollback, type RunIo } from "../rollback/runner";
import { actorOf } from "./flags";

export interface CliIo {
  readonly env: NodeJS.ProcessEnv;
  out(s: string): void;
  err(s: string): void;
  /** Answers the confirmation prompt (default: a line from stdin). */
  confirm?(question: string): Promise<boolean>;
  fetch?: typeof fetch;
}

function askStdin(question: string, err: (s: string) => void): Promise<boolean> {
  return new Promise((resolve) => {
    err(question);
    const rl = createInterface({ input: process.stdin, terminal: false });
    let answered = false;
    rl.once("line", (line) => {
      answered = true;
      // Piped answers are not echoed: show it, so the report reads as a dialogue.
      if (!process.stdin.isTTY) err(`${line.trim()}\n`);
      rl.close();
      resolve(/^y(es)?$/i.test(line.trim()));
    });
    rl.once("close", () => {
      if (!answered) {
        err("\n(no answer: taken as no)\n");
        resolve(false);
      }
    });
  });
}

function stackSettings(o: RollbackOptions): { settings: RollbackSettings; missing: string } {
  if (!o.stack) return { settings: rollbackSchema.parse({}), missing: "no --stack given, so no status-page webhook (rollback.statusPageWebhookUrl)" };
  const settings = loadStackSettings(o.stack, o.stacksDir).rollback;
  return { settings, missing: `stack ${o.stack} sets no rollback.statusPageWebhookUrl: post the incident by hand (npm run incident -- render authDown.statusPage)` };
}

export async function main(argv: string[], io: CliIo): Promise<number> {
  let options: RollbackOptions;
  let statusPage;
  try {
    options = parseRollbackArgs(argv);
    if (options.help) {
      io.out(`${USAGE}\n`);
      return 0;
    }
    const { settings, missing } = stackSettings(options);
    const fields = { estimated_time: settings.estimatedResolution, ...parseFields(options.fields) };
    statusPage = {
      webhookUrl: settings.statusPageWebhookUrl,
      missing,
      token: io.env.STATUS_PAGE_TOKEN || undefined,
      body: renderTemplate("authDown", "statusPage", fields),
    };
    if (options.drill && !io.env.PUSHGATEWAY_URL) throw new UsageError("--drill needs PUSHGATEWAY_URL (where the drill's success is pushed)");
  } catch (e) {
    if (e instanceof UsageError || e instanceof TemplateError || e instanceof SettingsError) {
      io.err(`rollback: ${e.message}\n${e instanceof UsageError ? `${USAGE}\n` : ""}`);
      return 2;
    }
    throw e;
  }

  const runIo: RunIo = {
    log: (line) => io.out(`${line}\n`),
    say: (s) => io.err(s),
    confirm: io.confirm ?? ((q) => askStdin(q, io.err)),
    databaseUrl: io.env.DATABASE_URL,
  };
  let client;
  try {
    client = await connectDatabase(io.env, "authwatch-rollback");
    const report = await runRollback(
      client,
      { kind: options.undo ? "undo" : "rollback", dryRun: options.dryRun, revokeSessions: options.revokeSessions, yes: options.yes, privilegesOf: options.rollbackRole },
      { actor: actorOf(options.actor, io.env), reason: options.reason, log: runIo.log, statusPage, fetch: io.fetch ?? fetch },
      runIo,
    );
    if (report.outcome === "failed") return 1;
    if (options.drill) {
      try {
        await pushDrillSuccess(io.env.PUSHGATEWAY_URL!, options.stack!, new Date(), io.fetch ?? fetch);
        io.err(`drill: the dry run succeeded; pushed its time for stack ${options.stack}\n`);
      } catch (e) {
        io.err(`drill: the dry run succeeded but pushing its time failed: ${(e as Error).message}\n`);
        return 1;
      }
    }
    return 0;
  } catch (e) {
    if (e instanceof NotReadyError) {
      io.err(`rollback: ${e.message}\n`);
      return 3;
    }
    io.err(`rollback: ${scrub((e as Error).message, io.env.DATABASE_URL)}\n`);
    return 1;
  } finally {
    await client?.end().catch(() => undefined);
  }
}

if (require.main === module) {
  void main(process.argv.slice(2), { env: process.env, out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }).then((code) => {
    process.exitCode = code;
  });
}
