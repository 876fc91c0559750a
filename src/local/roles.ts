/**
 * The local database's identities: postgres/roles.sql applied as in
 * production (every start, after the migrations; it is idempotent), and the
 * URL each local program connects with: the demo service as the service role
 * (reads the flags), the rollback drill as the rollback role. Loopback is
 * trusted (initdb -A trust), so the roles need no password here.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { LOOPBACK } from "./net";
import { jobEnv, PG_BIN, psql, REPO_ROOT, run, type RunResult } from "./postgres";

export const ROLES_SQL = join(REPO_ROOT, "postgres", "roles.sql");

/** The local auth database, as `user` (the administrator, postgres, by default). */
export const localDatabaseUrl = (port: number, user = "postgres") => `postgresql://${user}@${LOOPBACK}:${port}/auth`;

/** The identities the local stack hands out, by roles.sql's psql variable. */
const IDENTITIES = { service: "service_role", rollback: "rollback_role" } as const;
export type Identity = keyof typeof IDENTITIES;

/** roles.sql's default name for a role (`\set service_role authwatch_service`), or undefined when it defines none. */
export function roleName(identity: Identity, sql = readFileSync(ROLES_SQL, "utf8")): string | undefined {
  return new RegExp(`\\\\set ${IDENTITIES[identity]} (\\w+)`).exec(sql)?.[1];
}

/** Apply roles.sql to the auth database as the administrator (no passwords: loopback is trusted). */
export function applyRoles(adminUrl: string): Promise<RunResult> {
  return run(join(PG_BIN, "psql"), ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", adminUrl, "-f", ROLES_SQL], { env: jobEnv({}) });
}

/** The URL an identity connects with: its role when roles.sql defines it and it exists, else the administrator's (with a note why). */
export async function identityUrl(identity: Identity, port: number): Promise<{ url: string; role: string; note?: string }> {
  const admin = localDatabaseUrl(port);
  const role = roleName(identity);
  if (!role) return { url: admin, role: "postgres", note: `postgres/roles.sql defines no ${IDENTITIES[identity]}` };
  const found = await psql(admin, `SELECT 1 FROM pg_roles WHERE rolname = '${role}'`);
  if (found.stdout.trim() !== "1") return { url: admin, role: "postgres", note: `role ${role} does not exist (roles.sql not applied)` };
  return { url: localDatabaseUrl(port, role), role };
}
