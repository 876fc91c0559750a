// The monthly rollback drill on a real PostgreSQL 15: staging's CronJob
// command (src/pulumi/rollback-drill.ts drillCommand) as the drill's read-only
// role authwatch_rollback_drill. It proves that the operator role
// authwatch_rollback still holds every grant the rollback uses, without
// holding them itself; it changes nothing; it pushes its success only when
// the check passes (exit 3 and nothing pushed when a grant is gone).
import type { Client } from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { main as rollback } from "../../src/cli/rollback";
import { drillCommand } from "../../src/pulumi/rollback-drill";
import { DRILL_METRIC } from "../../src/rollback/drill";
import { REPO_ROOT, run, startPushgateway, type Pushgateway } from "../support/postgres";
import { DRILL_ROLE, ROLLBACK_ROLE, rollbackSnapshot, useFlagsBed } from "../support/flags-bed";
import { tempDir } from "../support/tmp";

const bed = useFlagsBed("rollback_drill");
const STACK = "staging";
/** The CronJob's arguments to the CLI (after npm's "--"). */
const drillArgs = (stack = STACK) => {
  const command = drillCommand(stack);
  return command.slice(command.indexOf("--") + 1);
};

let gateway: Pushgateway;
beforeEach(async () => {
  gateway = await startPushgateway();
});
afterEach(async () => {
  await gateway?.stop();
});

async function cli(url: string, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await rollback(argv, {
    env: { DATABASE_URL: url, PUSHGATEWAY_URL: gateway.url, AUTHWATCH_ACTOR: "drill" },
    out: (s) => (stdout += s),
    err: (s) => (stderr += s),
    confirm: async () => false,
  });
  return { code, stdout, stderr };
}

const snapshot = rollbackSnapshot;

async function withDatabase(body: (db: { url: string; drillUrl: string }, admin: Client) => Promise<void>): Promise<void> {
  const db = await bed.database();
  const admin = await bed.admin(db.name);
  try {
    await admin.query(`INSERT INTO refresh_token_families (family_id, user_id, device_id) SELECT gen_random_uuid(), i, gen_random_uuid() FROM generate_series(1, 3) i`);
    await body(db, admin);
  } finally {
    await admin.end();
  }
}

const pushed = () => gateway.value(DRILL_METRIC, { job: "rollback-drill", stack: STACK });

describe("the monthly rollback drill as authwatch_rollback_drill", () => {
  it("runs the CronJob's command in the pod's environment: plans, changes nothing, pushes its success for the stack", () =>
    withDatabase(async ({ drillUrl }, admin) => {
      const before = await snapshot(admin);
      const home = tempDir("drill-home");
      const t0 = Math.floor(Date.now() / 1000);
      // As the pod runs it: npm in the repository (the image's WORKDIR), HOME and TMPDIR the only writable place.
      const [npm, ...args] = drillCommand(STACK);
      const r = await run(npm!, args, {
        cwd: REPO_ROOT,
        env: {
          PATH: process.env.PATH,
          DATABASE_URL: drillUrl,
          PUSHGATEWAY_URL: gateway.url,
          PGAPPNAME: "authwatch-rollback-drill",
          HOME: home,
          TMPDIR: home,
          npm_config_update_notifier: "false",
        },
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain("Plan (dry run: nothing is changed) of the rollback:");
      expect(r.stderr).toContain(`drill: the dry run succeeded; pushed its time for stack ${STACK}`);
      const at = await pushed();
      expect(at).toBeGreaterThanOrEqual(t0);
      expect(at).toBeLessThanOrEqual(Date.now() / 1000 + 1);
      expect(await snapshot(admin)).toEqual(before);
      expect(r.stdout + r.stderr).not.toContain(encodeURIComponent(DRILL_ROLE.password));
    }));

  it.each([
    [`REVOKE UPDATE ON feature_flags FROM ${ROLLBACK_ROLE.name}`, `role ${ROLLBACK_ROLE.name} lacks UPDATE on feature_flags`],
    [`REVOKE INSERT ON rollback_log FROM ${ROLLBACK_ROLE.name}`, `role ${ROLLBACK_ROLE.name} lacks INSERT on rollback_log`],
    [`REVOKE UPDATE (revoked_at) ON refresh_token_families FROM ${ROLLBACK_ROLE.name}`, `role ${ROLLBACK_ROLE.name} lacks UPDATE on refresh_token_families.revoked_at`],
  ])("fails (exit 3), pushes nothing and changes nothing when the rollback role lost a grant: %s", (revoke, gap) =>
    withDatabase(async ({ drillUrl }, admin) => {
      expect((await cli(drillUrl, drillArgs())).code).toBe(0);
      await gateway.stop();
      gateway = await startPushgateway();
      await admin.query(revoke);
      const before = await snapshot(admin);
      const r = await cli(drillUrl, drillArgs());
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toContain(gap);
      expect(r.stderr).toContain("nothing was changed");
      expect(r.stdout).toBe("");
      expect(await pushed()).toBeUndefined();
      expect(await snapshot(admin)).toEqual(before);
    }));

  it("fails (exit 3) when the drill role cannot read what the plan reads", () =>
    withDatabase(async ({ drillUrl }, admin) => {
      await admin.query(`REVOKE SELECT ON rollback_log FROM ${DRILL_ROLE.name}`);
      const r = await cli(drillUrl, drillArgs());
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toContain(`role ${DRILL_ROLE.name} lacks SELECT on rollback_log`);
      expect(await pushed()).toBeUndefined();
    }));

  it("--rollback-role names the role whose grants the drill checks", () =>
    withDatabase(async ({ drillUrl }) => {
      const service = await cli(drillUrl, [...drillArgs(), "--rollback-role", "authwatch_service"]);
      expect(service.code, service.stderr).toBe(3);
      expect(service.stderr).toContain("role authwatch_service lacks INSERT on feature_flags");
      const nobody = await cli(drillUrl, [...drillArgs(), "--rollback-role", "authwatch_nobody"]);
      expect(nobody.code, nobody.stderr).toBe(3);
      expect(nobody.stderr).toContain('role "authwatch_nobody" does not exist');
      expect(await pushed()).toBeUndefined();
    }));

  it("holds none of the rollback's grants: without --drill its dry run is refused (exit 3)", () =>
    withDatabase(async ({ drillUrl }) => {
      const r = await cli(drillUrl, ["--reason", "not a drill", "--dry-run", "--stack", STACK]);
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr).toContain(`role ${DRILL_ROLE.name} lacks INSERT on feature_flags`);
    }));
});
