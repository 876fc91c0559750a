// Migrations 0003_feature_flags and 0004_rollback_log on a real PostgreSQL 15:
// the table agrees with src/flags/catalog.ts (names, defaults, one constraint
// per kind), the store's own validation agrees with the constraints, the
// trigger NOTIFYs every change, and both migrations go down and up again.
import { Client } from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FLAG_CHANNEL, FLAGS, FLAG_NAMES, type FlagKind, type FlagName } from "../../src/flags/catalog";
import { loadFlags, setFlag, valueProblem } from "../../src/flags/store";
import { runJob, startPostgres, type PgCluster } from "../support/postgres";
import { tempDir } from "../support/tmp";

let pg: PgCluster;
const db = "flags_schema";

beforeAll(async () => {
  pg = await startPostgres();
  await pg.createDatabase(db);
  const migrated = await runJob("migrate.sh", { DATABASE_URL: pg.url(db) });
  expect(migrated.code, migrated.stderr).toBe(0);
});

afterAll(async () => {
  await pg?.stop();
});

async function connect(database = db): Promise<Client> {
  const client = new Client({ connectionString: pg.url(database) });
  await client.connect();
  return client;
}

/** Candidate values per kind: the ones the catalog's kind allows, and the ones it must refuse. */
const SAMPLES: Record<FlagKind, { valid: unknown[]; invalid: unknown[] }> = {
  switch: { valid: [true, false], invalid: [1, 0, "true", null, [], {}] },
  percentage: { valid: [0, 1, 50, 100], invalid: [-1, 101, 12.5, "50", true, null, [50]] },
  groups: { valid: [[], ["staff"], ["staff", "beta"]], invalid: ["staff", [1], ["staff", 2], [""], [null], {}, true, null] },
};

/** Whether the database accepts `value` for flag `name` (in a rolled-back transaction). */
async function databaseAccepts(client: Client, name: string, value: unknown): Promise<boolean> {
  await client.query("BEGIN");
  try {
    await client.query(`UPDATE feature_flags SET value = $2::jsonb WHERE name = $1`, [name, JSON.stringify(value)]);
    return true;
  } catch (e) {
    expect(String(e)).toMatch(/violates check constraint "feature_flags_\w+_check"/);
    return false;
  } finally {
    await client.query("ROLLBACK");
  }
}

describe("feature_flags agrees with src/flags/catalog.ts", () => {
  it("holds one active row per catalog flag, with the catalog's default", async () => {
    const client = await connect();
    try {
      const rows = await loadFlags(client);
      expect(rows.map((r) => r.name)).toEqual(FLAG_NAMES);
      for (const row of rows) {
        expect(row.value, row.name).toEqual(FLAGS[row.name].default);
        expect(row.active).toBe(true);
        expect(row.reason).toMatch(/default/);
      }
    } finally {
      await client.end();
    }
  });

  it.each(FLAG_NAMES)("%s: the database accepts exactly what its kind allows, and so does the store", async (name: FlagName) => {
    const { valid, invalid } = SAMPLES[FLAGS[name].kind];
    const client = await connect();
    try {
      for (const value of valid) {
        expect(await databaseAccepts(client, name, value), `${name} = ${JSON.stringify(value)}`).toBe(true);
        expect(valueProblem(name, value)).toBeUndefined();
      }
      for (const value of invalid) {
        // SQL NULL is refused by NOT NULL rather than a check: JSON null is what a client can send.
        expect(await databaseAccepts(client, name, value), `${name} = ${JSON.stringify(value)}`).toBe(false);
        expect(valueProblem(name, value)).toMatch(new RegExp(`^${name} is a ${FLAGS[name].kind} flag`));
      }
    } finally {
      await client.end();
    }
  });

  it("refuses a flag the catalog does not know, an empty reason, and a NULL value", async () => {
    const refused = (sql: string) => pg.psql(sql, db).then((r) => (expect(r.code, sql).not.toBe(0), r.stderr));
    expect(await refused(`INSERT INTO feature_flags (name, value, reason) VALUES ('auth_nope', 'true', 'x')`)).toMatch(
      /violates check constraint "feature_flags_name_check"/,
    );
    expect(await refused(`UPDATE feature_flags SET reason = ' ' WHERE name = 'auth_bypass'`)).toMatch(/feature_flags_reason_check/);
    expect(await refused(`UPDATE feature_flags SET value = NULL WHERE name = 'auth_bypass'`)).toMatch(/null value in column "value"/);
    expect(await refused(`INSERT INTO feature_flags (name, value, reason) VALUES ('auth_bypass', 'true', 'again')`)).toMatch(
      /duplicate key value violates unique constraint "feature_flags_pkey"/,
    );
  });

  it("the name constraint lists exactly the catalog's flags", async () => {
    const definition = await pg.sql(
      `SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'feature_flags_name_check'`,
      db,
    );
    const names = [...definition.matchAll(/'([a-z_]+)'::text/g)].map((m) => m[1]).sort();
    expect(names).toEqual([...FLAG_NAMES].sort());
  });
});

describe("feature_flags NOTIFY", () => {
  it(`sends every insert, update and delete on channel ${FLAG_CHANNEL} as {name, value, active}, at commit`, async () => {
    const listener = await connect();
    const writer = await connect();
    const got: unknown[] = [];
    listener.on("notification", (n) => n.channel === FLAG_CHANNEL && got.push(JSON.parse(n.payload ?? "null")));
    await listener.query(`LISTEN ${FLAG_CHANNEL}`);
    const waitFor = async (count: number) => {
      const deadline = Date.now() + 5000;
      while (got.length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      return got.slice();
    };
    try {
      await writer.query("BEGIN");
      const change = await setFlag(writer, "auth_rollout_percentage", 40, { actor: "test", reason: "notify test" });
      expect(change).toEqual({ name: "auth_rollout_percentage", before: 100, after: 40, changed: true });
      await new Promise((r) => setTimeout(r, 200));
      expect(got, "nothing before commit").toEqual([]);
      await writer.query("COMMIT");
      expect(await waitFor(1)).toEqual([{ name: "auth_rollout_percentage", value: 40, active: true }]);

      // Setting the value it already holds writes nothing, so nothing is sent.
      expect((await setFlag(writer, "auth_rollout_percentage", 40, { actor: "test", reason: "again" })).changed).toBe(false);
      await writer.query(`DELETE FROM feature_flags WHERE name = 'auth_groups'`);
      await writer.query(`INSERT INTO feature_flags (name, value, reason) VALUES ('auth_groups', '["staff"]', 'back')`);
      expect(await waitFor(3)).toEqual([
        { name: "auth_rollout_percentage", value: 40, active: true },
        { name: "auth_groups", value: [], active: false },
        { name: "auth_groups", value: ["staff"], active: true },
      ]);
    } finally {
      await listener.end();
      await writer.end();
    }
  });
});

describe("migrations 0003 and 0004 go down and up again", () => {
  it("down 2 removes both tables and the trigger function; up restores the defaults", async () => {
    const dir = tempDir("flags-backup");
    const env = { DATABASE_URL: pg.url(db), BACKUP_DESTINATION: `file://${dir}` };
    const objects = () =>
      pg.sql(
        `SELECT concat_ws(',', to_regclass('feature_flags'), to_regclass('rollback_log'), to_regprocedure('feature_flags_notify()'))`,
        db,
      );
    expect(await objects()).toBe("feature_flags,rollback_log,feature_flags_notify()");
    const down = await runJob("migrate.sh", env, ["down", "2"]);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stderr).toContain("down: 0004_rollback_log.down.sql");
    expect(down.stderr).toContain("down: 0003_feature_flags.down.sql");
    expect(await objects()).toBe("");
    const up = await runJob("migrate.sh", env, ["up"]);
    expect(up.code, up.stderr).toBe(0);
    expect(await objects()).toBe("feature_flags,rollback_log,feature_flags_notify()");
    expect(await pg.sql(`SELECT string_agg(name || '=' || value::text, ' ' ORDER BY name) FROM feature_flags`, db)).toBe(
      FLAG_NAMES.slice()
        .sort()
        .map((n) => `${n}=${JSON.stringify(FLAGS[n].default)}`)
        .join(" "),
    );
  });

  it("rollback_log refuses an unknown kind or outcome, actions that are not a list, and a negative duration", async () => {
    const insert = (kind: string, outcome: string, actions: string, duration: string) =>
      pg.psql(
        `INSERT INTO rollback_log (reason, actor, kind, outcome, actions, duration) VALUES ('r', 'a', '${kind}', '${outcome}', '${actions}', '${duration}')`,
        db,
      );
    expect((await insert("rollback", "completed", "[]", "1 second")).code).toBe(0);
    expect((await insert("undo", "failed", "[]", "0")).code).toBe(0);
    expect((await insert("redo", "completed", "[]", "1 second")).stderr).toMatch(/rollback_log_kind_check/);
    expect((await insert("rollback", "partial", "[]", "1 second")).stderr).toMatch(/rollback_log_outcome_check/);
    expect((await insert("rollback", "completed", "{}", "1 second")).stderr).toMatch(/rollback_log_actions_check/);
    expect((await insert("rollback", "completed", "[]", "-1 second")).stderr).toMatch(/rollback_log_duration_check/);
  });
});
