-- 0002: individual refresh tokens (seed 000, "Database Schema"), with the
-- guarantees the application must not be trusted to keep on its own.

CREATE TABLE refresh_tokens (
  jti        uuid        PRIMARY KEY,
  -- NOT NULL and a foreign key (seed 000 allows NULL): a token outside a
  -- family could never be revoked with its family, which defeats reuse
  -- detection. RESTRICT: deleting a family never silently deletes its
  -- tokens; token-cleanup deletes tokens first, in bounded batches, and only
  -- then the families left without tokens.
  family_id  uuid        NOT NULL
             CONSTRAINT refresh_tokens_family_id_fkey
             REFERENCES refresh_token_families (family_id) ON DELETE RESTRICT,
  user_id    bigint      NOT NULL,
  device_id  uuid        NOT NULL,
  -- A hash of the token, never the token. UNIQUE: a presented token must map
  -- to exactly one row, and the unique index it creates is the lookup index
  -- for every refresh. (Seed 000 also creates a plain index on token_hash;
  -- it would duplicate this one, cost every insert a second index write and
  -- serve no query, so it is not created.)
  token_hash text        NOT NULL
             CONSTRAINT refresh_tokens_token_hash_key UNIQUE,
  -- The three states of seed 000. A CHECK rather than an enum type: adding a
  -- state later is one constraint swap, not an ALTER TYPE.
  status     text        NOT NULL
             CONSTRAINT refresh_tokens_status_check
             CHECK (status IN ('active', 'rotated', 'revoked')),
  expires_at timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- A token that expires before it is issued is a bug in the issuer.
  CONSTRAINT refresh_tokens_expiry_after_creation_check CHECK (expires_at > created_at)
);

COMMENT ON TABLE refresh_tokens IS
  'Refresh tokens by jti; at most one active per family; rotated tokens are kept until cleanup to detect reuse (seed 000).';

-- At most one active token per family, guaranteed by the database and not
-- only by the application: two concurrent refreshes of the same token can
-- otherwise both "win" and fork the family. Rotation must demote the old
-- token before inserting its successor, in one transaction:
--   UPDATE refresh_tokens SET status = 'rotated'
--    WHERE jti = $old AND status = 'active';      -- 0 rows: reuse, revoke the family
--   INSERT INTO refresh_tokens (..., status) VALUES (..., 'active');
-- The UPDATE also row-locks the old token, so a concurrent rotation of it
-- waits and then finds it no longer active.
CREATE UNIQUE INDEX refresh_tokens_one_active_per_family_key
  ON refresh_tokens (family_id)
  WHERE status = 'active';

-- All tokens of a family: revoking a family on reuse or logout, token-cleanup's
-- "tokens of revoked families" sweep, and the foreign key's own check when a
-- family row is deleted (without it every family delete scans this table).
-- The partial unique index above cannot serve these: it holds active tokens only.
CREATE INDEX refresh_tokens_family_id_idx
  ON refresh_tokens (family_id);

-- Serves token-cleanup's expiry sweep (expires_at < now() - N days) as an
-- index range scan, so each bounded batch reads only the rows it deletes.
CREATE INDEX refresh_tokens_expires_at_idx
  ON refresh_tokens (expires_at);
