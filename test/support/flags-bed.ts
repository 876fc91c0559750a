/**
 * What the flags and rollback tests (test/postgres/flags.cli, rollback) run
 * against: a PostgreSQL 15 cluster where each test gets a fresh database,
 * migrated and with postgres/roles.sql applied, reached as the operator's
 * role authwatch_rollback with a password (scram-sha-256), as in production
 * (the monthly drill's read-only role authwatch_rollback_drill likewise).
 */
import { join } from "node:path";
import { Client } from "pg";
import { afterAll, beforeAll } from "vitest";
import { jobEnv, PG_BIN, REPO_ROOT, run, runJob, startPostgres, type PgCluster } from "./postgres";

export const ROLLBACK_ROLE = { name: "authwatch_rollback", password: "rollback-Pw-7:@/" };
export const DRILL_ROLE = { name: "authwatch_rollback_drill", password: "drill-Pw-8:@/" };

export interface FlagsBed {
  pg: PgCluster;
  /** A new database; migrated and granted unless told otherwise. Returns the rollback role's DATABASE_URL (url) and the drill role's. */
  database(options?: { migrate?: boolean }): Promise<{ name: string; url: string; drillUrl: string }>;
  /** A superuser client to look at (or sabotage) a database. */
  admin(name: string): Promise<Client>;
}

export function useFlagsBed(prefix: string): FlagsBed {
  const bed = {} as FlagsBed;
  let count = 0;
  beforeAll(async () => {
    bed.pg = await startPostgres();
    await bed.pg.requirePassword(ROLLBACK_ROLE.name, DRILL_ROLE.name);
    bed.database = async ({ migrate = true } = {}) => {
      const name = `${prefix}_${++count}`;
      await bed.pg.createDatabase(name);
      if (migrate) {
        const migrated = await runJob("migrate.sh", { DATABASE_URL: bed.pg.url(name) });
        if (migrated.code !== 0) throw new Error(`migrate.sh on ${name}: ${migrated.stderr}`);
      }
      const roles = await run(join(PG_BIN, "psql"), ["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", bed.pg.url(name), "-f", join(REPO_ROOT, "postgres", "roles.sql")], {
        env: jobEnv({ AUTHWATCH_ROLLBACK_PASSWORD: ROLLBACK_ROLE.password, AUTHWATCH_ROLLBACK_DRILL_PASSWORD: DRILL_ROLE.password }),
      });
      if (roles.code !== 0) throw new Error(`roles.sql on ${name}: ${roles.stderr}`);
      return { name, url: bed.pg.urlAs(ROLLBACK_ROLE.name, ROLLBACK_ROLE.password, name), drillUrl: bed.pg.urlAs(DRILL_ROLE.name, DRILL_ROLE.password, name) };
    };
    bed.admin = async (name) => {
      const client = new Client({ connectionString: bed.pg.url(name) });
      await client.connect();
      return client;
    };
  });
  afterAll(async () => {
    await bed.pg?.stop();
  });
  return bed;
}

/** Everything a rollback may change, to compare before and after. */
export async function rollbackSnapshot(admin: Client) {
  const q = async (sql: string) => (await admin.query(sql)).rows;
  return {
    flags: await q(`SELECT name, value, active, updated_at, updated_by, reason FROM feature_flags ORDER BY name`),
    log: await q(`SELECT id, kind, outcome, actions FROM rollback_log ORDER BY id`),
    families: await q(`SELECT family_id, revoked_at FROM refresh_token_families ORDER BY family_id`),
  };
}
