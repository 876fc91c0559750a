// The jobs' credentials and targets (issue 13 items 3 and 4), against a real
// PostgreSQL 15 whose job role must authenticate with a password:
// - no password in any command line (argv of every psql/pg_dump/pg_restore
//   the jobs start), log line or pushed metric;
// - a malformed DATABASE_URL fails with a message that shows no part of it;
// - restore-verify needs an explicit target and refuses the production database.
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { recordingClients, runJob, type JobScript } from "../support/postgres";
import { useJobBed } from "../support/job-bed";

const db = "auth";
const bed = useJobBed(db, "jobsec-test");
const role = "jobs";
// Characters a URL must percent-encode, and a fragment no log may show.
const PASSWORD = "Pa:ss/w@rd Secret%7zq";
const FRAGMENT = "Secret%7zq";

beforeAll(async () => {
  await bed.pg.sql(
    `INSERT INTO refresh_token_families (family_id, user_id, device_id)
     SELECT gen_random_uuid(), i, gen_random_uuid() FROM generate_series(1, 20) i`,
    db,
  );
  await bed.pg.sql(`CREATE ROLE ${role} LOGIN SUPERUSER PASSWORD '${PASSWORD}'`);
  await bed.pg.requirePassword(role);
});

const dirFor = (prefix: string) => mkdtempSync(join(bed.scratch, `${prefix}-`));
const leaks = (text: string) =>
  [PASSWORD, encodeURIComponent(PASSWORD), FRAGMENT, encodeURIComponent(FRAGMENT)].filter((s) => text.includes(s));

describe("credentials", () => {
  it("the role really needs its password: a wrong one fails", async () => {
    const result = await runJob("token-cleanup.sh", { DATABASE_URL: bed.pg.urlAs(role, "wrong", db) });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("password authentication failed");
  });

  it("no job puts the password in a command line, a log line or a metric", async () => {
    const clients = recordingClients(dirFor("bin"));
    const dest = dirFor("backups");
    const env = {
      DATABASE_URL: bed.pg.urlAs(role, PASSWORD, db),
      BACKUP_DESTINATION: `file://${dest}`,
      RESTORE_VERIFY_TARGET_URL: bed.pg.urlAs(role, PASSWORD, "postgres"),
      PUSHGATEWAY_URL: bed.gateway.url,
      MIGRATE_SKIP_BACKUP: "true",
      PATH: clients.path,
    };
    let output = "";
    for (const [script, args] of [
      ["migrate.sh", ["status"]],
      ["migrate.sh", []],
      ["backup.sh", []],
      ["restore-verify.sh", []],
      ["token-cleanup.sh", []],
    ] as [JobScript, string[]][]) {
      const result = await runJob(script, env, args);
      expect(result.code, `${script}: ${result.stderr}`).toBe(0);
      output += result.stdout + result.stderr;
    }
    expect(readdirSync(dest).filter((f) => f.endsWith(".manifest"))).toHaveLength(1);
    const argv = readFileSync(clients.log, "utf8");
    // Every tool was started, and none saw the password.
    for (const tool of ["psql", "pg_dump", "pg_restore"]) expect(argv).toMatch(new RegExp(`^${tool} `, "m"));
    expect(leaks(argv)).toEqual([]);
    expect(leaks(output)).toEqual([]);
    expect(leaks(await bed.gateway.metrics())).toEqual([]);
  });

  // The password holds an unescaped "/": libpq would read part of it as the host and the
  // rest as the database name, which used to end up in the log and the `database` label.
  it.each(["backup.sh", "restore-verify.sh", "token-cleanup.sh", "migrate.sh"] as JobScript[])(
    "%s: a malformed DATABASE_URL fails as a configuration error that shows no part of it",
    async (script) => {
      const malformed = `postgresql://${role}:leak/${FRAGMENT}@127.0.0.1:${bed.pg.port}/${db}`;
      const result = await runJob(script, {
        DATABASE_URL: malformed,
        BACKUP_DESTINATION: `file://${dirFor("malformed")}`,
        RESTORE_VERIFY_TARGET_URL: bed.pg.url("postgres"),
        PUSHGATEWAY_URL: bed.gateway.url,
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain("DATABASE_URL");
      for (const part of ["leak", FRAGMENT, `${role}:`]) expect(result.stderr).not.toContain(part);
      expect(await bed.gateway.metrics()).not.toContain(FRAGMENT);
    },
  );
});

describe("restore-verify's target", () => {
  async function backupOnce(): Promise<string> {
    const dest = dirFor("target");
    const stored = await runJob("backup.sh", { DATABASE_URL: bed.pg.url(db), BACKUP_DESTINATION: `file://${dest}` });
    expect(stored.code, stored.stderr).toBe(0);
    return dest;
  }

  it("requires RESTORE_VERIFY_TARGET_URL: it never defaults to the production database", async () => {
    const dest = await backupOnce();
    const result = await runJob("restore-verify.sh", { DATABASE_URL: bed.pg.url(db), BACKUP_DESTINATION: `file://${dest}` });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("RESTORE_VERIFY_TARGET_URL is required");
  });

  it("refuses a target that is the production database (same host, port and database)", async () => {
    const dest = await backupOnce();
    // Another user, spelling and parameters: still the same database.
    const same = `postgresql://${role}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${bed.pg.port}/${db}?sslmode=disable`;
    const result = await runJob("restore-verify.sh", {
      DATABASE_URL: bed.pg.url(db),
      BACKUP_DESTINATION: `file://${dest}`,
      RESTORE_VERIFY_TARGET_URL: same,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("refusing to restore into the production database");
    expect(leaks(result.stderr)).toEqual([]);
    // The same server, another (maintenance) database, is the intended use.
    const ok = await runJob("restore-verify.sh", {
      DATABASE_URL: bed.pg.url(db),
      BACKUP_DESTINATION: `file://${dest}`,
      RESTORE_VERIFY_TARGET_URL: bed.pg.url("postgres"),
    });
    expect(ok.code, ok.stderr).toBe(0);
  });
});
