-- 0003: feature flags (seed 002, "Feature Flags"): the kill switch, the
-- bypass, per-platform toggles, the gradual rollout and user-group targeting.
--
-- The flag names, kinds and defaults are src/flags/catalog.ts's; this file
-- must agree with it (test/postgres/flags.schema.test.ts reads the catalog and
-- checks the migrated table). A new flag is a new migration that swaps the
-- name and kind constraints and inserts its default row.

CREATE TABLE feature_flags (
  name       text        PRIMARY KEY
             CONSTRAINT feature_flags_name_check CHECK (name IN (
               'auth_enabled', 'auth_bypass', 'auth_rollout_percentage',
               'auth_enabled_web', 'auth_enabled_ios', 'auth_enabled_android',
               'auth_groups')),
  value      jsonb       NOT NULL,
  -- false: services ignore the row and use the catalog's default (seed 002's
  -- client drops inactive flags).
  active     boolean     NOT NULL DEFAULT true,
  updated_at timestamptz NOT NULL DEFAULT now(),
  updated_by text        NOT NULL DEFAULT current_user,
  -- Every change says why: it is what an incident review reads first.
  reason     text        NOT NULL CONSTRAINT feature_flags_reason_check CHECK (btrim(reason) <> ''),
  -- One constraint per kind. The casts sit inside CASE so that a value of the
  -- wrong JSON type is a constraint violation, not a cast error.
  CONSTRAINT feature_flags_switch_check CHECK (
    name NOT IN ('auth_enabled', 'auth_bypass', 'auth_enabled_web', 'auth_enabled_ios', 'auth_enabled_android')
    OR jsonb_typeof(value) = 'boolean'),
  CONSTRAINT feature_flags_percentage_check CHECK (
    name <> 'auth_rollout_percentage'
    OR CASE WHEN jsonb_typeof(value) = 'number'
            THEN (value::numeric BETWEEN 0 AND 100) AND value::numeric = trunc(value::numeric)
            ELSE false END),
  CONSTRAINT feature_flags_groups_check CHECK (
    name <> 'auth_groups'
    OR CASE WHEN jsonb_typeof(value) = 'array'
            THEN NOT jsonb_path_exists(value, 'strict $[*] ? (@.type() != "string" || @ == "")')
            ELSE false END),
  -- The NOTIFY payload carries the value and PostgreSQL caps a payload at
  -- 8000 bytes; a longer group list would fail every change of it.
  CONSTRAINT feature_flags_value_size_check CHECK (length(value::text) <= 4000)
);

COMMENT ON TABLE feature_flags IS
  'Feature flags of seed 002 (names, kinds, defaults: src/flags/catalog.ts); every change NOTIFYs channel feature_flags.';

INSERT INTO feature_flags (name, value, reason) VALUES
  ('auth_enabled',            'true',  'default (migration 0003)'),
  ('auth_bypass',             'false', 'default (migration 0003)'),
  ('auth_rollout_percentage', '100',   'default (migration 0003)'),
  ('auth_enabled_web',        'true',  'default (migration 0003)'),
  ('auth_enabled_ios',        'true',  'default (migration 0003)'),
  ('auth_enabled_android',    'true',  'default (migration 0003)'),
  ('auth_groups',             '[]',    'default (migration 0003)');

-- Seed 002's "real-time flag updates": every insert, update and delete sends
-- the row as JSON {name, value, active} on channel feature_flags (FLAG_CHANNEL
-- in src/flags/catalog.ts), delivered to listeners when the change commits.
-- A deleted row is sent with active false: services fall back to the default.
CREATE FUNCTION feature_flags_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  r feature_flags;
BEGIN
  IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
  PERFORM pg_notify('feature_flags', json_build_object(
    'name', r.name, 'value', r.value, 'active', TG_OP <> 'DELETE' AND r.active)::text);
  RETURN NULL;
END;
$$;

CREATE TRIGGER feature_flags_notify
  AFTER INSERT OR UPDATE OR DELETE ON feature_flags
  FOR EACH ROW EXECUTE FUNCTION feature_flags_notify();
