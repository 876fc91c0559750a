/**
 * The operator CLIs' database connection (npm run flags, npm run rollback):
 * DATABASE_URL, whose value (password included) is never printed, and the
 * check that the database has the schema and grants the role what the
 * command needs, before anything is changed.
 */
import { Client } from "pg";

/** The database is unreachable, lacks the schema or the privileges: nothing was changed. */
export class NotReadyError extends Error {
  override name = "NotReadyError";
}

/** Connects with DATABASE_URL; errors name the variable and what is wrong, never its value. */
export async function connectDatabase(env: NodeJS.ProcessEnv, applicationName: string): Promise<Client> {
  const raw = env.DATABASE_URL;
  if (!raw) throw new NotReadyError("DATABASE_URL is not set: a postgresql:// URL of the rollback role (docs/rollback.md)");
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new NotReadyError("DATABASE_URL is not a valid URL (its value is not shown)");
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    throw new NotReadyError(`DATABASE_URL must be a postgresql:// URL, not ${url.protocol}// (its value is not shown)`);
  }
  const client = new Client({ connectionString: raw, application_name: applicationName, connectionTimeoutMillis: 10_000 });
  // A connection lost later surfaces as the failing query's error; without a listener it would crash the process.
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => undefined);
    const where = `${url.hostname || "the local socket"}${url.port ? `:${url.port}` : ""}`;
    throw new NotReadyError(`cannot connect to the database of DATABASE_URL (${where}): ${scrub((e as Error).message, raw)}`);
  }
  return client;
}

/** An error message as printed: never the URL or its password, even if a driver quoted them. */
export function scrub(message: string, url: string | undefined): string {
  let out = message;
  if (url) {
    out = out.split(url).join("<DATABASE_URL>");
    try {
      const password = decodeURIComponent(new URL(url).password);
      if (password) out = out.split(password).join("<password>");
    } catch {
      // not a URL: nothing more to hide
    }
  }
  return out;
}

export interface Requirement {
  readonly table: string;
  readonly privileges: readonly string[];
  /** Column privileges, e.g. { revoked_at: ["SELECT", "UPDATE"] }. */
  readonly columns?: Readonly<Record<string, readonly string[]>>;
  /** Whose privileges: this role's (the rollback drill checks the rollback role's); unset, the connected role's. */
  readonly role?: string;
}

/**
 * Checks, changing nothing, that every table exists and each role holds the
 * privileges; throws one NotReadyError listing every gap.
 */
export async function requireSchema(client: Client, requirements: readonly Requirement[]): Promise<void> {
  const problems: string[] = [];
  const missing = new Set<string>();
  const { rows: roleRows } = await client.query<{ role: string }>("SELECT current_user AS role");
  const connected = roleRows[0]!.role;
  const absent = new Set<string>();
  for (const r of requirements) {
    const role = r.role ?? connected;
    const exists = await client.query<{ ok: boolean }>("SELECT to_regclass($1) IS NOT NULL AS ok", [`public.${r.table}`]);
    if (!exists.rows[0]!.ok) {
      missing.add(r.table);
      continue;
    }
    const known = await client.query<{ ok: boolean }>("SELECT EXISTS (SELECT FROM pg_roles WHERE rolname = $1) AS ok", [role]);
    if (!known.rows[0]!.ok) {
      if (!absent.has(role)) problems.push(`role "${role}" does not exist`);
      absent.add(role);
      continue;
    }
    for (const p of r.privileges) {
      const q = await client.query<{ ok: boolean }>("SELECT has_table_privilege($1::name, $2::text, $3::text) AS ok", [role, `public.${r.table}`, p]);
      if (!q.rows[0]!.ok) problems.push(`role ${role} lacks ${p} on ${r.table}`);
    }
    for (const [column, privileges] of Object.entries(r.columns ?? {})) {
      for (const p of privileges) {
        const q = await client.query<{ ok: boolean }>("SELECT has_column_privilege($1::name, $2::text, $3::text, $4::text) AS ok", [role, `public.${r.table}`, column, p]);
        if (!q.rows[0]!.ok) problems.push(`role ${role} lacks ${p} on ${r.table}.${column}`);
      }
    }
  }
  if (missing.size > 0) {
    problems.unshift(
      `the database has no table ${[...missing].join(", ")}: apply the migrations first (sh postgres/jobs/migrate.sh up, docs/database.md)`,
    );
  }
  if (problems.length > 0) {
    const grants = problems.some((p) => p.startsWith("role ")) ? " (grants: postgres/roles.sql, docs/database.md#roles)" : "";
    throw new NotReadyError(`${problems.join("; ")}${grants}; nothing was changed`);
  }
}
