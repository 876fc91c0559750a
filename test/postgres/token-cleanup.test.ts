// token-cleanup.sh against a real PostgreSQL 15 and a real Pushgateway:
// exactly the rows it should go, in bounded batches, without waiting on locks.
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { PG_BIN, run, runJob } from "../support/postgres";
import { useJobBed } from "../support/job-bed";

const db = "cleanup";
const bed = useJobBed(db);

// Named families and tokens (uuid = md5(name)), times relative to now().
// The comment on each says whether a 7-day cleanup must delete it.
const FIXTURE = `
CREATE TEMP TABLE f (name text, created interval, revoked interval);
INSERT INTO f VALUES
  ('F1-live',               '30 days', NULL),       -- keep: has live tokens
  ('F2-revoked-long-ago',   '40 days', '10 days'),  -- delete: revoked > 7 d, its tokens go first
  ('F3-revoked-recently',   '20 days', '3 days'),   -- keep: revoked < 7 d, still has a token
  ('F4-all-expired',        '60 days', NULL),       -- delete: every token expired > 7 d ago
  ('F5-new-empty',          '1 hour',  NULL),       -- keep: no token yet, but just created
  ('F6-old-empty-revoked',  '30 days', '2 days'),   -- delete: no tokens, created before the cut-off
  ('F7-young-empty-revoked','2 days',  '1 day'),    -- keep: no tokens, but created and revoked after the cut-off
  ('F9-young-live',         '3 days',  NULL);       -- keep
INSERT INTO refresh_token_families (family_id, user_id, device_id, created_at, revoked_at)
SELECT md5(name)::uuid, 7, md5('device' || name)::uuid, now() - created, now() - revoked FROM f;

CREATE TEMP TABLE t (name text, family text, status text, expires interval);
INSERT INTO t VALUES
  ('t1a', 'F1-live',             'rotated', '-10 days'),  -- delete: expired 10 d ago
  ('t1b', 'F1-live',             'rotated', '-6 days'),   -- keep: expired only 6 d ago
  ('t1c', 'F1-live',             'active',  '20 days'),   -- keep
  ('t2a', 'F2-revoked-long-ago', 'revoked', '5 days'),    -- delete: family revoked 10 d ago
  ('t2b', 'F2-revoked-long-ago', 'rotated', '-20 days'),  -- delete
  ('t3a', 'F3-revoked-recently', 'revoked', '10 days'),   -- keep
  ('t3b', 'F3-revoked-recently', 'rotated', '-9 days'),   -- delete: expired 9 d ago
  ('t4a', 'F4-all-expired',      'active',  '-30 days'),  -- delete
  ('t4b', 'F4-all-expired',      'rotated', '-31 days'),  -- delete
  ('t9a', 'F9-young-live',       'active',  '27 days');   -- keep
INSERT INTO refresh_tokens (jti, family_id, user_id, device_id, token_hash, status, expires_at, created_at)
SELECT md5(t.name)::uuid, md5(t.family)::uuid, 7, md5('device' || t.family)::uuid, 'hash-' || t.name, t.status,
       now() + t.expires, now() - interval '90 days'
  FROM t;

-- Bulk: 100 families in use, each with 3 rotated tokens expired 10 days ago (delete) and 1 active (keep).
INSERT INTO refresh_token_families (family_id, user_id, device_id, created_at)
SELECT md5('bulk' || i)::uuid, i, gen_random_uuid(), now() - interval '50 days' FROM generate_series(1, 100) i;
INSERT INTO refresh_tokens (jti, family_id, user_id, device_id, token_hash, status, expires_at, created_at)
SELECT md5('bulk' || i || '-' || g)::uuid, md5('bulk' || i)::uuid, i, gen_random_uuid(), 'bulk-' || i || '-' || g,
       CASE WHEN g = 4 THEN 'active' ELSE 'rotated' END,
       CASE WHEN g = 4 THEN now() + interval '20 days' ELSE now() - interval '10 days' END,
       now() - interval '50 days'
  FROM generate_series(1, 100) i, generate_series(1, 4) g;
`;

const NAMED_KEPT_TOKENS = ["t1b", "t1c", "t3a", "t9a"];
const KEPT_FAMILIES = ["F1-live", "F3-revoked-recently", "F5-new-empty", "F7-young-empty-revoked", "F9-young-live"];
const DELETED_TOKENS = 6 + 300;
const DELETED_FAMILIES = 3;

async function resetFixture(): Promise<void> {
  await bed.pg.sql(`TRUNCATE refresh_tokens, refresh_token_families; ${FIXTURE}`, db);
}

/** Names of the named rows still present (the bulk rows are counted separately). */
async function remaining(): Promise<{ tokens: string[]; families: string[]; bulkTokens: number; bulkFamilies: number }> {
  const tokens = await bed.pg.sql(
    `SELECT coalesce(string_agg(n, ',' ORDER BY n), '') FROM unnest(ARRAY['t1a','t1b','t1c','t2a','t2b','t3a','t3b','t4a','t4b','t9a']) n
      WHERE EXISTS (SELECT 1 FROM refresh_tokens WHERE jti = md5(n)::uuid)`,
    db,
  );
  const families = await bed.pg.sql(
    `SELECT coalesce(string_agg(n, ',' ORDER BY n), '') FROM unnest(ARRAY['F1-live','F2-revoked-long-ago','F3-revoked-recently',
       'F4-all-expired','F5-new-empty','F6-old-empty-revoked','F7-young-empty-revoked','F9-young-live']) n
      WHERE EXISTS (SELECT 1 FROM refresh_token_families WHERE family_id = md5(n)::uuid)`,
    db,
  );
  const [bulkTokens, bulkFamilies] = (
    await bed.pg.sql(
      `SELECT (SELECT count(*) FROM refresh_tokens WHERE token_hash LIKE 'bulk-%') || ',' ||
              (SELECT count(*) FROM refresh_token_families WHERE family_id IN (SELECT md5('bulk' || i)::uuid FROM generate_series(1, 100) i))`,
      db,
    )
  )
    .split(",")
    .map(Number);
  return { tokens: tokens ? tokens.split(",") : [], families: families ? families.split(",") : [], bulkTokens: bulkTokens!, bulkFamilies: bulkFamilies! };
}

const metric = (name: string) => bed.gateway.value(name, { job: "token-cleanup" });
/** The pushed counters, 0 before the first push. */
async function counters(): Promise<{ tokens: number; families: number }> {
  return {
    tokens: (await metric("refresh_token_cleanup_deleted_total")) ?? 0,
    families: (await metric("refresh_token_cleanup_families_deleted_total")) ?? 0,
  };
}

describe("token-cleanup.sh", () => {
  beforeEach(resetFixture);

  it("deletes exactly the expired / revoked-family tokens and the emptied families, in batches", async () => {
    expect(await remaining()).toEqual({
      tokens: ["t1a", "t1b", "t1c", "t2a", "t2b", "t3a", "t3b", "t4a", "t4b", "t9a"],
      families: ["F1-live", "F2-revoked-long-ago", "F3-revoked-recently", "F4-all-expired", "F5-new-empty", "F6-old-empty-revoked", "F7-young-empty-revoked", "F9-young-live"],
      bulkTokens: 400,
      bulkFamilies: 100,
    });
    const before = await counters();
    const started = Date.now() / 1000;
    const result = await runJob("token-cleanup.sh", {
      DATABASE_URL: bed.pg.url(db),
      TOKEN_CLEANUP_BATCH_SIZE: "7",
      PUSHGATEWAY_URL: bed.gateway.url,
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain(`deleted ${DELETED_TOKENS} tokens and ${DELETED_FAMILIES} families older than`);
    expect(await remaining()).toEqual({ tokens: NAMED_KEPT_TOKENS, families: KEPT_FAMILIES, bulkTokens: 100, bulkFamilies: 100 });
    // The counters grow by this run's counts; the gauge holds this run's count.
    expect(await counters()).toEqual({ tokens: before.tokens + DELETED_TOKENS, families: before.families + DELETED_FAMILIES });
    expect(await metric("refresh_token_cleanup_last_run_deleted_tokens")).toBe(DELETED_TOKENS);
    expect(await metric("refresh_token_cleanup_last_success_timestamp_seconds")).toBeGreaterThanOrEqual(Math.floor(started));

    // Nothing left to do: a second run deletes nothing; the counters stay.
    const again = await runJob("token-cleanup.sh", { DATABASE_URL: bed.pg.url(db), PUSHGATEWAY_URL: bed.gateway.url });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("deleted 0 tokens and 0 families");
    expect(await metric("refresh_token_cleanup_last_run_deleted_tokens")).toBe(0);
    expect(await counters()).toEqual({ tokens: before.tokens + DELETED_TOKENS, families: before.families + DELETED_FAMILIES });
    expect(await remaining()).toEqual({ tokens: NAMED_KEPT_TOKENS, families: KEPT_FAMILIES, bulkTokens: 100, bulkFamilies: 100 });
  });

  it("honours TOKEN_CLEANUP_AFTER_DAYS", async () => {
    const result = await runJob("token-cleanup.sh", { DATABASE_URL: bed.pg.url(db), TOKEN_CLEANUP_AFTER_DAYS: "15" });
    expect(result.code, result.stderr).toBe(0);
    // 15 days: only t2b (-20 d), t4a (-30 d), t4b (-31 d) are old enough; no family was revoked 15 days ago.
    expect(await remaining()).toEqual({
      tokens: ["t1a", "t1b", "t1c", "t2a", "t3a", "t3b", "t9a"],
      families: ["F1-live", "F2-revoked-long-ago", "F3-revoked-recently", "F5-new-empty", "F7-young-empty-revoked", "F9-young-live"],
      bulkTokens: 400,
      bulkFamilies: 100,
    });
  });

  it("skips rows another transaction holds instead of waiting for them", async () => {
    // Another session locks t1a (due for deletion) for 3 s.
    const holder = run(join(PG_BIN, "psql"), ["-X", "-q", "-d", bed.pg.url(db)], {
      input: `BEGIN; SELECT 1 FROM refresh_tokens WHERE jti = md5('t1a')::uuid FOR UPDATE; SELECT pg_sleep(3); COMMIT;`,
    });
    for (let i = 0; ; i++) {
      const waiting = await bed.pg.sql(`SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(3)%' AND state = 'active' AND pid <> pg_backend_pid()`);
      if (waiting === "1") break;
      expect(i).toBeLessThan(50);
      await new Promise((r) => setTimeout(r, 100));
    }
    const before = await counters();
    const started = Date.now();
    const result = await runJob("token-cleanup.sh", { DATABASE_URL: bed.pg.url(db), PUSHGATEWAY_URL: bed.gateway.url });
    const took = Date.now() - started;
    expect(result.code, result.stderr).toBe(0);
    expect(took).toBeLessThan(2500);
    expect(await metric("refresh_token_cleanup_last_run_deleted_tokens")).toBe(DELETED_TOKENS - 1);
    expect((await remaining()).tokens).toEqual(["t1a", ...NAMED_KEPT_TOKENS]);
    expect((await holder).code).toBe(0);

    // The next run takes it.
    expect((await runJob("token-cleanup.sh", { DATABASE_URL: bed.pg.url(db), PUSHGATEWAY_URL: bed.gateway.url })).code).toBe(0);
    expect(await metric("refresh_token_cleanup_last_run_deleted_tokens")).toBe(1);
    expect((await remaining()).tokens).toEqual(NAMED_KEPT_TOKENS);
    expect(await counters()).toEqual({ tokens: before.tokens + DELETED_TOKENS, families: before.families + DELETED_FAMILIES });
  });

  it("fails without pushing success when the database is unreachable", async () => {
    const before = await metric("refresh_token_cleanup_last_success_timestamp_seconds");
    const result = await runJob("token-cleanup.sh", {
      DATABASE_URL: `postgresql://postgres@127.0.0.1:${bed.pg.port}/no_such_db`,
      PUSHGATEWAY_URL: bed.gateway.url,
    });
    expect(result.code).toBe(1);
    expect(await metric("refresh_token_cleanup_last_success_timestamp_seconds")).toBe(before);
    expect(await metric("refresh_token_cleanup_last_failure_timestamp_seconds")).toBeGreaterThan(0);
  });

  it("rejects a batch size of 0", async () => {
    const result = await runJob("token-cleanup.sh", { DATABASE_URL: bed.pg.url(db), TOKEN_CLEANUP_BATCH_SIZE: "0" });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain("TOKEN_CLEANUP_BATCH_SIZE must be at least 1");
  });
});
