// The refresh-token schema's guarantees, checked against a real PostgreSQL 15
// after postgres/jobs/migrate.sh applied the migrations.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runJob, startPostgres, type PgCluster } from "../support/postgres";

let pg: PgCluster;
const db = "schema_test";

beforeAll(async () => {
  pg = await startPostgres();
  await pg.createDatabase(db);
  const migrated = await runJob("migrate.sh", { DATABASE_URL: pg.url(db) });
  expect(migrated.stderr).toMatch(/\d+ migrations done/);
  expect(migrated.code).toBe(0);
});

afterAll(async () => {
  await pg?.stop();
});

/** Inserts a family and returns its id. */
async function family(options: { revoked?: boolean } = {}): Promise<string> {
  return pg.sql(
    `INSERT INTO refresh_token_families (family_id, user_id, device_id, revoked_at)
     VALUES (gen_random_uuid(), 42, gen_random_uuid(), ${options.revoked ? "now()" : "NULL"})
     RETURNING family_id`,
    db,
  );
}

function tokenInsert(familyId: string, status: string, hash = `hash-${Math.random()}`): string {
  return `INSERT INTO refresh_tokens (jti, family_id, user_id, device_id, token_hash, status, expires_at)
          VALUES (gen_random_uuid(), '${familyId}', 42, gen_random_uuid(), '${hash}', '${status}', now() + interval '30 days')`;
}

/** Runs SQL expected to fail; returns psql's error output. */
async function rejected(sql: string): Promise<string> {
  const result = await pg.psql(sql, db);
  expect(result.code, `expected failure of: ${sql}`).not.toBe(0);
  return result.stderr;
}

describe("refresh-token schema constraints", () => {
  it("rejects a second token with the same hash", async () => {
    const f = await family();
    await pg.sql(tokenInsert(f, "rotated", "dup-hash"), db);
    expect(await rejected(tokenInsert(f, "rotated", "dup-hash"))).toMatch(
      /duplicate key value violates unique constraint "refresh_tokens_token_hash_key"/,
    );
  });

  it("rejects an unknown status", async () => {
    const f = await family();
    expect(await rejected(tokenInsert(f, "expired"))).toMatch(
      /violates check constraint "refresh_tokens_status_check"/,
    );
  });

  it("rejects a token of an unknown family, and a token without family", async () => {
    expect(await rejected(tokenInsert("00000000-0000-4000-8000-000000000001", "active"))).toMatch(
      /violates foreign key constraint "refresh_tokens_family_id_fkey"/,
    );
    expect(
      await rejected(
        `INSERT INTO refresh_tokens (jti, family_id, user_id, device_id, token_hash, status, expires_at)
         VALUES (gen_random_uuid(), NULL, 1, gen_random_uuid(), 'orphan', 'active', now() + interval '1 day')`,
      ),
    ).toMatch(/null value in column "family_id"/);
  });

  it("rejects a second active token in one family", async () => {
    const f = await family();
    await pg.sql(tokenInsert(f, "active"), db);
    expect(await rejected(tokenInsert(f, "active"))).toMatch(
      /duplicate key value violates unique constraint "refresh_tokens_one_active_per_family_key"/,
    );
    // Other statuses are unlimited, and another family has its own active token.
    await pg.sql(`${tokenInsert(f, "rotated")}; ${tokenInsert(f, "revoked")}; ${tokenInsert(await family(), "active")}`, db);
    expect(await pg.sql(`SELECT count(*) FROM refresh_tokens WHERE family_id = '${f}'`, db)).toBe("3");
  });

  it("accepts a rotation (old -> rotated, new -> active) in one transaction", async () => {
    const f = await family();
    const old = await pg.sql(`${tokenInsert(f, "active", "rot-old")} RETURNING jti`, db);
    await pg.sql(
      `BEGIN;
       UPDATE refresh_tokens SET status = 'rotated' WHERE jti = '${old}' AND status = 'active';
       ${tokenInsert(f, "active", "rot-new")};
       COMMIT;`,
      db,
    );
    expect(
      await pg.sql(`SELECT token_hash || ':' || status FROM refresh_tokens WHERE family_id = '${f}' ORDER BY token_hash`, db),
    ).toBe("rot-new:active\nrot-old:rotated");
  });

  it("rejects a rotation that inserts the successor before demoting the old token, leaving nothing behind", async () => {
    const f = await family();
    await pg.sql(tokenInsert(f, "active", "early-old"), db);
    expect(
      await rejected(
        `BEGIN;
         ${tokenInsert(f, "active", "early-new")};
         UPDATE refresh_tokens SET status = 'rotated' WHERE token_hash = 'early-old';
         COMMIT;`,
      ),
    ).toMatch(/refresh_tokens_one_active_per_family_key/);
    expect(await pg.sql(`SELECT string_agg(token_hash || ':' || status, ',') FROM refresh_tokens WHERE family_id = '${f}'`, db)).toBe(
      "early-old:active",
    );
  });

  it("refuses to delete a family that still has tokens", async () => {
    const f = await family({ revoked: true });
    await pg.sql(tokenInsert(f, "revoked"), db);
    expect(await rejected(`DELETE FROM refresh_token_families WHERE family_id = '${f}'`)).toMatch(
      /violates foreign key constraint "refresh_tokens_family_id_fkey"/,
    );
  });

  it("rejects a token that expires before it was created", async () => {
    const f = await family();
    expect(
      await rejected(
        `INSERT INTO refresh_tokens (jti, family_id, user_id, device_id, token_hash, status, expires_at)
         VALUES (gen_random_uuid(), '${f}', 42, gen_random_uuid(), 'backwards', 'active', now() - interval '1 second')`,
      ),
    ).toMatch(/refresh_tokens_expiry_after_creation_check/);
  });
});

describe("refresh-token indexes", () => {
  it("has exactly the intended indexes, and one index on token_hash", async () => {
    const indexes = await pg.sql(
      `SELECT tablename || ' ' || indexdef FROM pg_indexes
        WHERE schemaname = 'public' AND tablename LIKE 'refresh_token%' ORDER BY indexname`,
      db,
    );
    expect(indexes.split("\n")).toEqual([
      "refresh_token_families CREATE UNIQUE INDEX refresh_token_families_pkey ON public.refresh_token_families USING btree (family_id)",
      "refresh_token_families CREATE INDEX refresh_token_families_revoked_at_idx ON public.refresh_token_families USING btree (revoked_at) WHERE (revoked_at IS NOT NULL)",
      "refresh_tokens CREATE INDEX refresh_tokens_expires_at_idx ON public.refresh_tokens USING btree (expires_at)",
      "refresh_tokens CREATE INDEX refresh_tokens_family_id_idx ON public.refresh_tokens USING btree (family_id)",
      "refresh_tokens CREATE UNIQUE INDEX refresh_tokens_one_active_per_family_key ON public.refresh_tokens USING btree (family_id) WHERE (status = 'active'::text)",
      "refresh_tokens CREATE UNIQUE INDEX refresh_tokens_pkey ON public.refresh_tokens USING btree (jti)",
      "refresh_tokens CREATE UNIQUE INDEX refresh_tokens_token_hash_key ON public.refresh_tokens USING btree (token_hash)",
    ]);
  });

  it("serves the expiry sweep and the revoked-family sweep with index scans", async () => {
    await pg.sql(
      `INSERT INTO refresh_token_families (family_id, user_id, device_id, created_at, revoked_at)
       SELECT md5('ix' || i)::uuid, i, gen_random_uuid(), now() - interval '60 days',
              CASE WHEN i % 1000 = 0 THEN now() - interval '20 days' END
         FROM generate_series(1, 5000) i;
       INSERT INTO refresh_tokens (jti, family_id, user_id, device_id, token_hash, status, expires_at, created_at)
       SELECT gen_random_uuid(), md5('ix' || (i % 5000 + 1))::uuid, i, gen_random_uuid(), 'ix-' || i, 'rotated',
              now() - interval '30 days' + i * interval '10 minutes', now() - interval '60 days'
         FROM generate_series(1, 20000) i;
       ANALYZE refresh_tokens; ANALYZE refresh_token_families;`,
      db,
    );
    const expiry = await pg.sql(
      `EXPLAIN (COSTS OFF) SELECT jti FROM refresh_tokens WHERE expires_at < now() - interval '29 days'`,
      db,
    );
    expect(expiry).toMatch(/Index (Only )?Scan using refresh_tokens_expires_at_idx|Bitmap Index Scan on refresh_tokens_expires_at_idx/);
    const revoked = await pg.sql(
      `EXPLAIN (COSTS OFF) SELECT t.jti FROM refresh_token_families f JOIN refresh_tokens t ON t.family_id = f.family_id
        WHERE f.revoked_at < now() - interval '7 days'`,
      db,
    );
    expect(revoked).toMatch(/refresh_token_families_revoked_at_idx/);
    expect(revoked).toMatch(/refresh_tokens_family_id_idx/);
  });
});
