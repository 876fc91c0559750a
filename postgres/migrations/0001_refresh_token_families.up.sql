-- 0001: refresh-token families (seed 000, "Database Schema").
--
-- A family is one login on one device: every refresh token issued by rotating
-- that login's tokens belongs to it, so that the reuse of a rotated token can
-- revoke the whole family at once (auth.refresh.reuse).
--
-- Migration files hold no transaction control: database/migrate.sh runs each
-- file in its own transaction, together with its ledger row.

CREATE TABLE refresh_token_families (
  family_id  uuid        PRIMARY KEY,
  user_id    bigint      NOT NULL,
  device_id  uuid        NOT NULL,
  -- Not in seed 000. Needed to tell a family that has just been created (its
  -- first token not inserted yet) from one whose tokens have all expired and
  -- been swept: token-cleanup only deletes token-less families older than its
  -- cut-off. Also answers "how old is this session" during an incident.
  created_at timestamptz NOT NULL DEFAULT now(),
  -- NULL while the family may still rotate; set once, on logout or when reuse
  -- of a rotated token is detected. Revocation is final.
  revoked_at timestamptz
);

COMMENT ON TABLE refresh_token_families IS
  'One login on one device; all refresh tokens rotated from it share the family (seed 000).';
COMMENT ON COLUMN refresh_token_families.created_at IS
  'When the family was created; token-cleanup keeps token-less families younger than its cut-off.';
COMMENT ON COLUMN refresh_token_families.revoked_at IS
  'When the whole family was revoked (logout or reuse detected); NULL while active. Final once set.';

-- Serves token-cleanup's sweep "tokens of families revoked more than N days
-- ago". Partial: families still in use (revoked_at IS NULL) are never looked
-- up by revocation time, so they stay out of the index.
CREATE INDEX refresh_token_families_revoked_at_idx
  ON refresh_token_families (revoked_at)
  WHERE revoked_at IS NOT NULL;

