-- 0004: the rollback log (seed 002, "Rollback Automation": logRollback), one
-- row per run of `npm run rollback` (a rollback or its undo; dry runs change
-- nothing and write no row), successful or failed.

CREATE TABLE rollback_log (
  id       bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- When the run started.
  at       timestamptz NOT NULL DEFAULT now(),
  reason   text        NOT NULL CONSTRAINT rollback_log_reason_check CHECK (btrim(reason) <> ''),
  -- Who ran it: the operator's name as the CLI saw it, and the database role.
  actor    text        NOT NULL CONSTRAINT rollback_log_actor_check CHECK (btrim(actor) <> ''),
  -- Not in seed 002, which only logs complete rollbacks: an undo restores
  -- what the rollbacks since the last undo changed, and a failed run must be
  -- told from a complete one (Grafana's annotations show both).
  kind     text        NOT NULL CONSTRAINT rollback_log_kind_check CHECK (kind IN ('rollback', 'undo')),
  outcome  text        NOT NULL CONSTRAINT rollback_log_outcome_check CHECK (outcome IN ('completed', 'failed')),
  -- The steps in order: [{"step", "status" (done, unchanged, skipped,
  -- failed, not run), "seconds", "detail", and for a flag "flag", "before",
  -- "after"}]. docs/rollback.md describes the fields.
  actions  jsonb       NOT NULL CONSTRAINT rollback_log_actions_check CHECK (jsonb_typeof(actions) = 'array'),
  duration interval    NOT NULL CONSTRAINT rollback_log_duration_check CHECK (duration >= interval '0')
);

COMMENT ON TABLE rollback_log IS
  'One row per rollback or undo run of npm run rollback (seed 002 logRollback): steps with their durations in actions.';

-- Grafana's annotations and the undo read the newest rows first.
CREATE INDEX rollback_log_at_idx ON rollback_log (at);
