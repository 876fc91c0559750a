/**
 * npm run flags -- list
 * npm run flags -- get <name>
 * npm run flags -- set <name> <value> --reason "<why>" [--actor <who>]
 *
 * Seed 002's feature flags in the database of DATABASE_URL (the rollback
 * role, docs/rollback.md). `set` writes only when the value differs; a write
 * NOTIFYs the services at once and prints an `auth.flag.changed` JSON log
 * line on stdout. Exit codes: 0 done, 2 bad command line or value (named),
 * 3 database not reachable or without the schema or privileges (nothing changed).
 */
import { userInfo } from "node:os";
import { parseArgs } from "node:util";
import type { Client } from "pg";
import { FLAGS, FLAG_NAMES } from "../flags/catalog";
import { connectDatabase, NotReadyError, requireSchema, scrub } from "../flags/connect";
import { FlagError, formatFlagValue, isFlagName, kindHelp, loadFlags, parseFlagValue, setFlag } from "../flags/store";
import { flagChangedLine } from "../rollback/log";

const USAGE = `usage: npm run flags -- list
       npm run flags -- get <name>
       npm run flags -- set <name> <value> --reason "<why>" [--actor <who>]
flags: ${FLAG_NAMES.map((n) => `${n} (${kindHelp(FLAGS[n].kind)})`).join("; ")}`;

export interface Io {
  readonly env: NodeJS.ProcessEnv;
  out(s: string): void;
  err(s: string): void;
}

/** Who is changing things: --actor, else $AUTHWATCH_ACTOR, else the OS user. */
export function actorOf(given: string | undefined, env: NodeJS.ProcessEnv): string {
  const actor = given ?? env.AUTHWATCH_ACTOR ?? env.USER ?? userInfo().username;
  return actor.trim() || "unknown";
}

async function withClient<T>(io: Io, write: boolean, body: (c: Client) => Promise<T>): Promise<T> {
  const client = await connectDatabase(io.env, "authwatch-flags");
  try {
    await requireSchema(client, [{ table: "feature_flags", privileges: write ? ["SELECT", "INSERT", "UPDATE"] : ["SELECT"] }]);
    return await body(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function main(argv: string[], io: Io): Promise<number> {
  let args;
  try {
    args = parseArgs({ args: argv, allowPositionals: true, strict: true, options: { reason: { type: "string" }, actor: { type: "string" }, help: { type: "boolean" } } });
  } catch (e) {
    io.err(`flags: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.values.help) {
    io.out(`${USAGE}\n`);
    return 0;
  }
  const [command, name, value, ...extra] = args.positionals;
  const usage = (why: string) => (io.err(`flags: ${why}\n${USAGE}\n`), 2);
  try {
    if (command === "list" && name === undefined) {
      await withClient(io, false, async (c) => {
        const rows = await loadFlags(c);
        const width = Math.max(...FLAG_NAMES.map((n) => n.length));
        for (const r of rows) {
          const state = r.active ? "" : " (inactive: services use the default)";
          io.out(`${r.name.padEnd(width)}  ${formatFlagValue(r.value).padEnd(6)}  ${r.updatedAt.toISOString()}  ${r.updatedBy}: ${r.reason}${state}\n`);
        }
        for (const n of FLAG_NAMES.filter((f) => !rows.some((r) => r.name === f))) {
          io.out(`${n.padEnd(width)}  ${formatFlagValue(FLAGS[n].default).padEnd(6)}  (no row: services use the default)\n`);
        }
      });
      return 0;
    }
    if (command === "get" && name !== undefined && value === undefined) {
      if (!isFlagName(name)) throw new FlagError(`unknown flag "${name}": the flags are ${FLAG_NAMES.join(", ")}`);
      await withClient(io, false, async (c) => {
        const row = (await loadFlags(c)).find((r) => r.name === name);
        io.out(`${JSON.stringify(row?.active ? row.value : FLAGS[name].default)}\n`);
      });
      return 0;
    }
    if (command === "set" && name !== undefined && value !== undefined && extra.length === 0) {
      const parsed = parseFlagValue(name, value);
      const reason = args.values.reason?.trim();
      if (!reason) return usage(`set needs --reason "<why>": every flag change says why`);
      const by = { actor: actorOf(args.values.actor, io.env), reason };
      await withClient(io, true, async (c) => {
        await c.query("BEGIN");
        const change = await setFlag(c, name, parsed, by);
        await c.query("COMMIT");
        if (change.changed) {
          io.out(`${flagChangedLine(change, by)}\n`);
          io.err(`${change.name}: ${formatFlagValue(change.before)} → ${formatFlagValue(change.after)}\n`);
        } else {
          io.err(`${change.name} is already ${formatFlagValue(change.after)}: nothing changed\n`);
        }
      });
      return 0;
    }
    return usage(command === undefined ? "a command is required" : `cannot understand "${args.positionals.join(" ")}"`);
  } catch (e) {
    if (e instanceof FlagError) return usage(e.message);
    if (e instanceof NotReadyError) {
      io.err(`flags: ${e.message}\n`);
      return 3;
    }
    io.err(`flags: ${scrub((e as Error).message, io.env.DATABASE_URL)}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2), { env: process.env, out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) }).then((code) => {
    process.exitCode = code;
  });
}
