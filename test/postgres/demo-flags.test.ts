// The demo service's flag client on a real PostgreSQL 15, connected as
// roles.sql's service role (read-only): it loads the flags at start, applies a
// change within a second of its commit (the trigger's NOTIFY), ignores an
// unknown flag with a log line, keeps the last-known flags while the database
// is away and says so, and reloads on reconnecting (a change made meanwhile
// is not lost).
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FLAG_CHANNEL } from "../../src/flags/catalog";
import { setFlag } from "../../src/flags/store";
import { LiveFlags } from "../../src/local/demo/flags";
import { waitFor } from "../../src/local/net";
import { applyRoles, roleName } from "../../src/local/roles";
import { runJob, startPostgres, type PgCluster } from "../support/postgres";

let pg: PgCluster;
const db = "auth";
const lines: string[] = [];
let flags: LiveFlags;
let admin: Client;
const service = roleName("service")!;

const change = (name: string, value: unknown) => setFlag(admin, name, value, { actor: "test", reason: "demo-flags test" });
/** ms until `probe` holds (throws after 5 s). */
async function within(probe: () => boolean): Promise<number> {
  const t0 = Date.now();
  await waitFor("the flag client", () => (probe() ? true : undefined), 5000, 20);
  return Date.now() - t0;
}

beforeAll(async () => {
  pg = await startPostgres();
  await pg.createDatabase(db);
  const migrated = await runJob("migrate.sh", { DATABASE_URL: pg.url(db) });
  expect(migrated.code, migrated.stderr).toBe(0);
  const roles = await applyRoles(pg.url(db));
  expect(roles.code, roles.stderr).toBe(0);
  admin = new Client({ connectionString: pg.url(db) });
  await admin.connect();
  await change("auth_rollout_percentage", 30);
  flags = new LiveFlags({ databaseUrl: `postgresql://${service}@${pg.host}:${pg.port}/${db}`, log: (l) => lines.push(l), retryMs: 100, maxRetryMs: 400 });
  await flags.start();
});

afterAll(async () => {
  await flags?.stop();
  await admin?.end();
  await pg?.stop();
});

describe("the demo's flag client on PostgreSQL", () => {
  it("loads every flag at start, as the service role", async () => {
    expect(flags.connected).toBe(true);
    expect(flags.state.source).toBe("database");
    expect(flags.values.auth_rollout_percentage).toBe(30);
    expect(flags.values.auth_enabled).toBe(true);
    expect(await pg.sql(`SELECT usename FROM pg_stat_activity WHERE application_name = 'authwatch-demo-flags'`)).toBe(service);
  });

  it("applies a flag change within a second of its commit", async () => {
    await change("auth_enabled", false);
    expect(await within(() => flags.values.auth_enabled === false)).toBeLessThan(1000);
    await change("auth_groups", ["staff"]);
    expect(await within(() => flags.values.auth_groups.join() === "staff")).toBeLessThan(1000);
    await change("auth_enabled", true);
    await within(() => flags.values.auth_enabled === true);
  });

  it("ignores an unknown flag on the channel, with a log line", async () => {
    const before = { ...flags.values };
    await admin.query("SELECT pg_notify($1, $2)", [FLAG_CHANNEL, JSON.stringify({ name: "auth_magic", value: true, active: true })]);
    await within(() => lines.some((l) => l.includes('unknown flag "auth_magic" ignored')));
    expect(flags.values).toEqual(before);
  });

  it("keeps the last-known flags while the database is away, says so, and reloads what changed meanwhile", async () => {
    // The database goes away for the service: its connection is cut and it may not connect again.
    await pg.sql(`REVOKE CONNECT ON DATABASE ${db} FROM PUBLIC, ${service}`);
    await pg.sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'authwatch-demo-flags'`);
    await within(() => !flags.connected);
    expect(flags.state.source).toBe("last-known");
    expect(flags.values.auth_rollout_percentage).toBe(30);
    expect(lines.find((l) => l.includes("database unreachable"))).toMatch(/keeping the last-known flags: .*auth_rollout_percentage=30.*; reconnecting/);
    // A change while it is away: no NOTIFY reaches it, the reload on reconnecting must bring it.
    await change("auth_bypass", true);
    await new Promise((r) => setTimeout(r, 300));
    expect(flags.values.auth_bypass).toBe(false);
    await pg.sql(`GRANT CONNECT ON DATABASE ${db} TO ${service}`);
    await within(() => flags.connected && flags.values.auth_bypass === true);
    expect(flags.state.source).toBe("database");
    expect(lines.at(-1)).toMatch(/^flags: loaded 7 rows \(reconnected, after \d+\.\ds on the last-known flags\)/);
  });

  it("may not change a flag: the service role reads only", async () => {
    const c = new Client({ connectionString: `postgresql://${service}@${pg.host}:${pg.port}/${db}` });
    await c.connect();
    try {
      await expect(c.query(`UPDATE feature_flags SET value = 'false' WHERE name = 'auth_enabled'`)).rejects.toThrow(/permission denied/);
    } finally {
      await c.end();
    }
  });
});
