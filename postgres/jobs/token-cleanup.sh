#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# authwatch token-cleanup job (seed 001's weekly "clean up expired tokens"):
#
#   DATABASE_URL=postgresql://... sh postgres/jobs/token-cleanup.sh
#
# Deletes, in batches of TOKEN_CLEANUP_BATCH_SIZE rows, each batch its own
# short transaction (no lock is held across batches):
#   1. refresh tokens that expired more than TOKEN_CLEANUP_AFTER_DAYS ago, and
#      every token of a family revoked more than that long ago;
#   2. then the families left without any token that were revoked, or
#      created, before the same cut-off (a younger token-less family may be
#      one whose first token is being inserted right now).
# Rotated and revoked tokens are kept until then on purpose: reuse detection
# needs to recognise a rotated token when it is presented again.
# Environment: see docs/database.md.
set -eu
aw_job=token-cleanup
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_env DATABASE_URL
# At least a day: the tokens of a just-revoked family are what reuse detection looks for.
after_days=$(uint_env TOKEN_CLEANUP_AFTER_DAYS 7 1)
batch_size=$(uint_env TOKEN_CLEANUP_BATCH_SIZE 1000 1)
lock_timeout=${TOKEN_CLEANUP_LOCK_TIMEOUT:-2s}
row_lock_wait=${TOKEN_CLEANUP_ROW_LOCK_WAIT:-100ms}
require_cmd psql awk
[ -z "${PUSHGATEWAY_URL:-}" ] || require_cmd curl

started=$(now_epoch)
work=$(mktemp -d "${TMPDIR:-/tmp}/authwatch-token-cleanup.XXXXXX")

report_failure() {
  if [ "$status" -ne 0 ] && [ "$status" -ne 3 ]; then
    log "token cleanup FAILED (exit $status); batches committed before the failure stay deleted"
    metric refresh_token_cleanup_last_failure_timestamp_seconds gauge \
      'Unix time of the last failed token-cleanup run.' "$(date +%s)" >"$work/failure.prom"
    push_metrics "$work/failure.prom"
  fi
}
at_exit report_failure
conn_parse DATABASE_URL src "$work"

log "deleting tokens expired or of families revoked more than $after_days days ago, $batch_size rows per transaction"

# One session; the DO block commits after every batch (PostgreSQL 11+
# transaction control in DO), so each batch is a short transaction of its own
# and the cut-off is computed once for the whole run.
run_child psql_at src -v after_days="$after_days" -v batch_size="$batch_size" \
  -v lock_timeout="$lock_timeout" -v row_lock_wait="$row_lock_wait" >"$work/result.tsv" <<'SQL' || die "cleanup failed"
SET client_min_messages = warning;
SET lock_timeout = :'lock_timeout';
SET statement_timeout = 0;
SELECT set_config('authwatch.cleanup_after_days', :'after_days', false),
       set_config('authwatch.cleanup_batch_size', :'batch_size', false),
       set_config('authwatch.cleanup_row_lock_wait', :'row_lock_wait', false)
\g /dev/null
-- Rows another transaction holds are skipped, not waited for: the role may
-- only SELECT and DELETE (SELECT ... FOR UPDATE SKIP LOCKED would need UPDATE),
-- so a batch's DELETE waits at most row_lock_wait; when it times out, the
-- batch is redone row by row, leaving the held rows to the next run.
DO $cleanup$
DECLARE
  cutoff     timestamptz := now() - make_interval(days => current_setting('authwatch.cleanup_after_days')::int);
  batch_size int := current_setting('authwatch.cleanup_batch_size')::int;
  row_wait   text := current_setting('authwatch.cleanup_row_lock_wait');
  session_lock_timeout text := current_setting('lock_timeout');
  doomed     bigint;
  done_upto  bigint := 0;
  n          bigint;
  tokens     bigint := 0;
  families   bigint := 0;
  skipped    bigint := 0;
  held       bigint := 0;
  busy       boolean;
  r          record;
  -- Families are walked in primary-key order; the nil uuid is the start (a
  -- family whose id is the nil uuid itself is never swept).
  lower_id   uuid := '00000000-0000-0000-0000-000000000000';
  upper_id   uuid;
BEGIN
  -- 1. Which tokens go, read once (a plain read: no row is locked). Both
  -- sweeps are index range scans: refresh_tokens_expires_at_idx, and
  -- refresh_token_families_revoked_at_idx joined through refresh_tokens_family_id_idx.
  CREATE TEMP TABLE cleanup_doomed (n bigint PRIMARY KEY, jti uuid NOT NULL);
  INSERT INTO cleanup_doomed (n, jti)
  SELECT row_number() OVER (), jti
    FROM (SELECT jti FROM refresh_tokens WHERE expires_at < cutoff
          UNION
          SELECT t.jti
            FROM refresh_token_families f
            JOIN refresh_tokens t ON t.family_id = f.family_id
           WHERE f.revoked_at < cutoff) s;
  GET DIAGNOSTICS doomed = ROW_COUNT;
  ANALYZE cleanup_doomed;
  COMMIT;
  PERFORM set_config('lock_timeout', row_wait, false);

  -- Then at most batch_size of them per transaction, the condition checked
  -- again on the live row.
  WHILE done_upto < doomed LOOP
    busy := false;
    BEGIN
      DELETE FROM refresh_tokens t
       USING cleanup_doomed d
       WHERE d.n > done_upto AND d.n <= done_upto + batch_size AND t.jti = d.jti
         AND (t.expires_at < cutoff
              OR EXISTS (SELECT 1 FROM refresh_token_families f
                          WHERE f.family_id = t.family_id AND f.revoked_at < cutoff));
      GET DIAGNOSTICS n = ROW_COUNT;
      tokens := tokens + n;
    EXCEPTION WHEN lock_not_available THEN
      busy := true;
    END;
    COMMIT;
    IF busy THEN
      FOR r IN SELECT d.jti FROM cleanup_doomed d WHERE d.n > done_upto AND d.n <= done_upto + batch_size ORDER BY d.n LOOP
        BEGIN
          DELETE FROM refresh_tokens t
           WHERE t.jti = r.jti
             AND (t.expires_at < cutoff
                  OR EXISTS (SELECT 1 FROM refresh_token_families f
                              WHERE f.family_id = t.family_id AND f.revoked_at < cutoff));
          GET DIAGNOSTICS n = ROW_COUNT;
          tokens := tokens + n;
        EXCEPTION WHEN lock_not_available THEN
          held := held + 1;
        END;
        COMMIT;
      END LOOP;
    END IF;
    done_upto := done_upto + batch_size;
  END LOOP;
  DROP TABLE cleanup_doomed;
  COMMIT;

  -- 2. Families without tokens, batch_size families per transaction.
  LOOP
    SELECT s.family_id INTO upper_id
      FROM (SELECT family_id FROM refresh_token_families
             WHERE family_id > lower_id
             ORDER BY family_id
             LIMIT batch_size) s
     ORDER BY s.family_id DESC
     LIMIT 1;
    EXIT WHEN upper_id IS NULL;
    BEGIN
      DELETE FROM refresh_token_families f
       WHERE f.family_id > lower_id AND f.family_id <= upper_id
         AND (f.revoked_at < cutoff OR f.created_at < cutoff)
         AND NOT EXISTS (SELECT 1 FROM refresh_tokens t WHERE t.family_id = f.family_id);
      GET DIAGNOSTICS n = ROW_COUNT;
      families := families + n;
    EXCEPTION WHEN foreign_key_violation OR lock_not_available THEN
      -- A token was inserted into one of these families after this batch
      -- read them (the foreign key kept it), or another transaction holds
      -- one of them: this batch is left for the next run.
      skipped := skipped + 1;
    END;
    lower_id := upper_id;
    COMMIT;
  END LOOP;
  PERFORM set_config('lock_timeout', session_lock_timeout, false);

  PERFORM set_config('authwatch.cleanup_tokens_deleted', tokens::text, false),
          set_config('authwatch.cleanup_families_deleted', families::text, false),
          set_config('authwatch.cleanup_family_batches_skipped', skipped::text, false),
          set_config('authwatch.cleanup_tokens_held', held::text, false),
          set_config('authwatch.cleanup_cutoff', cutoff::text, false);
END
$cleanup$;
SELECT current_setting('authwatch.cleanup_tokens_deleted') || E'\t'
       || current_setting('authwatch.cleanup_families_deleted') || E'\t'
       || current_setting('authwatch.cleanup_family_batches_skipped') || E'\t'
       || current_setting('authwatch.cleanup_tokens_held') || E'\t'
       || current_setting('authwatch.cleanup_cutoff');
SQL

IFS='	' read -r tokens families skipped held cutoff <"$work/result.tsv"
finished=$(now_epoch)
duration=$(seconds_between "$started" "$finished")
log "deleted $tokens tokens and $families families older than $cutoff in ${duration}s"
[ "$skipped" -eq 0 ] || log "$skipped family batches met concurrent token inserts or locks and were left for the next run"
[ "$held" -eq 0 ] || log "$held tokens held by other transactions were left for the next run"

{
  metric refresh_token_cleanup_deleted_total counter \
    'Refresh tokens deleted by token-cleanup (each run adds its count to the value pushed before).' \
    "$(($(pushed_value refresh_token_cleanup_deleted_total) + tokens))"
  metric refresh_token_cleanup_families_deleted_total counter \
    'Token families deleted by token-cleanup (each run adds its count to the value pushed before).' \
    "$(($(pushed_value refresh_token_cleanup_families_deleted_total) + families))"
  metric refresh_token_cleanup_last_run_deleted_tokens gauge 'Refresh tokens deleted by the last successful token-cleanup run.' "$tokens"
  metric refresh_token_cleanup_duration_seconds gauge 'Duration of the last successful token-cleanup run.' "$duration"
  metric refresh_token_cleanup_last_success_timestamp_seconds gauge \
    'Unix time of the last successful token-cleanup run.' "${finished%.*}"
} >"$work/metrics.prom"
push_metrics "$work/metrics.prom" || exit 3
