/** `npm run rollback` command line: what it asks for, or an error naming the problem. */
import { parseArgs } from "node:util";

export interface RollbackOptions {
  readonly reason: string;
  readonly undo: boolean;
  readonly revokeSessions: boolean;
  readonly dryRun: boolean;
  readonly yes: boolean;
  readonly drill: boolean;
  /** With --drill: the role whose grants the dry run checks (the drill connects as a read-only role). */
  readonly rollbackRole: string | undefined;
  readonly stack: string | undefined;
  readonly stacksDir: string | undefined;
  readonly actor: string | undefined;
  /** --field name=value: the status-page template's fields (estimated_time). */
  readonly fields: readonly string[];
  readonly help: boolean;
}

/** The operator role of postgres/roles.sql, whose grants the drill checks by default. */
export const ROLLBACK_ROLE = "authwatch_rollback";

export const USAGE = `usage: npm run rollback -- --reason "<why>" [--revoke-sessions] [--yes] [--stack <name>] [--field estimated_time=<text>] [--dry-run [--drill [--rollback-role <role>]]]
       npm run rollback -- --undo --reason "<why>" [--stack <name>] [--dry-run]
  --reason "<why>"    required: recorded in rollback_log, on every flag and in the log lines
  --revoke-sessions   also revoke every active refresh-token family (asks first, unless --yes)
  --yes               answer yes to the confirmation prompt
  --stack <name>      the stack whose settings give the status-page webhook (rollback.statusPageWebhookUrl)
  --field k=v         a field of the authDown status-page template (estimated_time; default: the stack's rollback.estimatedResolution)
  --dry-run           print the plan, change nothing
  --drill             with --dry-run: check the rollback role's grants (not the connected role's), and on success push
                      rollback_drill_last_success_timestamp_seconds{stack} to $PUSHGATEWAY_URL (needs --stack)
  --rollback-role <r> with --drill: the role whose grants are checked (default ${ROLLBACK_ROLE})
  --undo              restore the flags as they were before the rollbacks since the last undo
  --actor <who>       who runs it (default $AUTHWATCH_ACTOR, else the OS user)
  --stacks-dir <dir>  where the stack files are (default stacks/)
DATABASE_URL: the database, as the rollback role (docs/rollback.md); its value is never printed.`;

export class UsageError extends Error {
  override name = "UsageError";
}

export function parseRollbackArgs(argv: readonly string[]): RollbackOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        reason: { type: "string" },
        undo: { type: "boolean", default: false },
        "revoke-sessions": { type: "boolean", default: false },
        "dry-run": { type: "boolean", default: false },
        yes: { type: "boolean", default: false },
        drill: { type: "boolean", default: false },
        "rollback-role": { type: "string" },
        stack: { type: "string" },
        "stacks-dir": { type: "string" },
        actor: { type: "string" },
        field: { type: "string", multiple: true },
        help: { type: "boolean", default: false },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const options: RollbackOptions = {
    reason: values.reason?.trim() ?? "",
    undo: values.undo,
    revokeSessions: values["revoke-sessions"],
    dryRun: values["dry-run"],
    yes: values.yes,
    drill: values.drill,
    rollbackRole: values["rollback-role"] ?? (values.drill ? ROLLBACK_ROLE : undefined),
    stack: values.stack,
    stacksDir: values["stacks-dir"],
    actor: values.actor,
    fields: values.field ?? [],
    help: values.help,
  };
  if (options.help) return options;
  if (!options.reason) throw new UsageError('--reason "<why>" is required: it is recorded in rollback_log and on every flag');
  if (options.undo && options.revokeSessions) throw new UsageError("--undo cannot be combined with --revoke-sessions (revoked sessions stay revoked)");
  if (options.undo && options.fields.length > 0) throw new UsageError("--undo posts nothing: --field is for the rollback's status-page incident");
  if (options.drill && !options.dryRun) throw new UsageError("--drill runs with --dry-run (the monthly drill changes nothing)");
  if (options.drill && !options.stack) throw new UsageError("--drill needs --stack <name>: the drill's metric is labelled with it");
  if (!options.drill && values["rollback-role"] !== undefined) throw new UsageError("--rollback-role is for --drill: otherwise the connected role's grants are checked");
  if (options.rollbackRole !== undefined && !options.rollbackRole.trim()) throw new UsageError("--rollback-role needs a role name");
  return options;
}
