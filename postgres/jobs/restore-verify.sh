#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# authwatch restore-verification job: proves that the newest backup of
# DATABASE_URL's database restores, and measures how long that takes (RTO).
#
#   DATABASE_URL=postgresql://... RESTORE_VERIFY_TARGET_URL=postgresql://.../postgres \
#   BACKUP_DESTINATION=s3://bucket/prefix sh postgres/jobs/restore-verify.sh
#
# DATABASE_URL names the database whose backups are verified (its name picks
# the backup objects; the job writes nothing there). RESTORE_VERIFY_TARGET_URL
# is required: the server and maintenance database where the scratch database
# is created; it must not be the production database itself.
#
# 1. picks the newest complete backup (<db>-<stamp>.manifest and its .dump,
#    or its .dir/ for the directory format),
# 2. checks the dump's size and sha256 against the manifest (every file's,
#    and no file missing or added, for a directory),
# 3. restores it with pg_restore --jobs into a scratch database (created for the run,
#    marked with a comment, dropped at the end),
# 4. counts every table's rows there and compares with the manifest's counts,
#    which were taken in the dump's own snapshot: any difference is a defect.
# Environment: see docs/database.md.
set -eu
aw_job=restore-verify
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

# Only a database carrying exactly this comment is ever dropped by this job.
scratch_marker='authwatch restore-verify scratch database: dropped and re-created by every run'

require_env DATABASE_URL RESTORE_VERIFY_TARGET_URL BACKUP_DESTINATION
restore_jobs=$(jobs_env RESTORE_VERIFY_JOBS)
dest_parse
require_cmd psql pg_restore sha256sum awk
[ -z "${PUSHGATEWAY_URL:-}" ] || require_cmd curl

work=$(mktemp -d "${TMPDIR:-/tmp}/authwatch-restore-verify.XXXXXX")
db=
scratch_created=
# Rows reported as mismatched when the run fails after judging the backup:
# the count difference, or, when the backup cannot be restored at all, every
# row the manifest promised (at least 1, so that the alert fires).
failed_mismatch=

report_failure() {
  if [ -n "$scratch_created" ]; then
    if is_true "${RESTORE_VERIFY_KEEP_DATABASE:-false}"; then
      log "keeping scratch database $scratch (RESTORE_VERIFY_KEEP_DATABASE); drop it when done"
    else
      drop_scratch || log "error: could not drop scratch database $scratch"
    fi
  fi
  if [ "$status" -ne 0 ] && [ "$status" -ne 3 ] && [ -n "$db" ]; then
    log "restore verification of $db FAILED (exit $status)"
    metric restore_verify_last_failure_timestamp_seconds gauge \
      'Unix time of the last failed restore verification.' "$(date +%s)" >"$work/failure.prom"
    if [ -n "$failed_mismatch" ]; then
      metric restore_verify_rows_mismatched gauge \
        'Rows whose count differs between the backup manifest and the restored database (all rows when the backup cannot be restored).' \
        "$failed_mismatch" >>"$work/failure.prom"
    fi
    push_metrics "$work/failure.prom" database "$db"
  fi
}
at_exit report_failure

conn_parse DATABASE_URL src "$work"
conn_parse RESTORE_VERIFY_TARGET_URL target "$work"
if [ "$(conn_endpoint src)" = "$(conn_endpoint target)" ]; then
  config_error "refusing to restore into the production database: RESTORE_VERIFY_TARGET_URL names the same host, port and database as DATABASE_URL; point it at a maintenance database (e.g. postgres) or another server"
fi
db=$(database_name src)
scratch=${RESTORE_VERIFY_DATABASE:-${db}_restore_verify}
case $scratch in
  '' | *[!A-Za-z0-9_]*) config_error "RESTORE_VERIFY_DATABASE must be a plain identifier ([A-Za-z0-9_]), got '$scratch'" ;;
esac
[ "${#scratch}" -le 63 ] || config_error "scratch database name '$scratch' is longer than 63 bytes"
# The server (and maintenance database) the scratch database is created on.
target_db=$(database_name target)
if [ "$scratch" = "$db" ] || [ "$scratch" = "$target_db" ]; then
  config_error "the scratch database '$scratch' must differ from '$db' and '$target_db'"
fi
conn_copy target scratch "$scratch"

drop_scratch() {
  psql_at target -v scratch="$scratch" >/dev/null <<'SQL'
SET client_min_messages = warning;
DROP DATABASE IF EXISTS :"scratch" WITH (FORCE);
SQL
}

# --- 1. the newest complete backup (or RESTORE_VERIFY_BACKUP) --------------
backup_objects "$db" "$work/objects" || die "cannot list $BACKUP_DESTINATION"
if [ -n "${RESTORE_VERIFY_BACKUP:-}" ]; then
  backup=${RESTORE_VERIFY_BACKUP%.manifest}
  backup=${backup%.dump}
  grep -qxF "$backup.manifest" "$work/objects" || die "no $backup.manifest in $BACKUP_DESTINATION"
else
  backup=$(awk '/\.manifest$/ { sub(/\.manifest$/, ""); name = $0 } END { print name }' "$work/objects")
  [ -n "$backup" ] || die "no complete backup of $db in $BACKUP_DESTINATION"
fi
log "verifying $backup from $BACKUP_DESTINATION in scratch database $scratch"

manifest=$(dest_fetch "$backup.manifest" "$work") || die "cannot fetch $backup.manifest"
manifest_value() {
  awk -F '\t' -v k="$1" '$1 == k { print $2; exit }' "$manifest"
}
# Version 1: a custom-format .dump; version 2: format and files (backup.sh).
manifest_version=$(manifest_value authwatch-backup-manifest)
case $manifest_version in
  1) format=custom ;;
  2) format=$(manifest_value format) ;;
  *) failed_mismatch=1; die "$backup.manifest is not an authwatch backup manifest (version 1 or 2)" ;;
esac
expected_size=$(manifest_value dump_size_bytes)
dump_name=$(manifest_value dump)
manifest_rows=$(awk -F '\t' '$1 == "table" { n += $3 } END { printf "%d\n", n }' "$manifest")
all_rows=$manifest_rows
[ "$all_rows" -gt 0 ] || all_rows=1
case $format in
  custom) expected_dump=$backup.dump ;;
  directory) expected_dump=$backup.dir/ ;;
  *) failed_mismatch=$all_rows; die "$backup.manifest names an unknown format '$format'" ;;
esac
[ "$dump_name" = "$expected_dump" ] || { failed_mismatch=$all_rows; die "$backup.manifest names dump '$dump_name'"; }

# --- 2. fetch and check the dump; the clock for the RTO starts here ----------
rto_started=$(now_epoch)
if [ "$format" = custom ]; then
  expected_sha=$(manifest_value dump_sha256)
  dump=$(dest_fetch "$dump_name" "$work") || { failed_mismatch=$all_rows; die "cannot fetch $dump_name"; }
  actual_size=$(wc -c <"$dump" | awk '{ print $1 }')
  actual_sha=$(sha256sum "$dump" | awk '{ print $1 }')
  if [ "$actual_size" != "$expected_size" ] || [ "$actual_sha" != "$expected_sha" ]; then
    failed_mismatch=$all_rows
    die "$dump_name is corrupt: $actual_size bytes, sha256 $actual_sha; the manifest says $expected_size bytes, sha256 $expected_sha"
  fi
else
  dump=$(dest_fetch_dir "$dump_name" "$work") || { failed_mismatch=$all_rows; die "cannot fetch $dump_name"; }
  # Every file the manifest lists, with its size and sha256, and no other.
  dir_inventory "$dump" >"$work/files.tsv"
  if ! awk -F '\t' '
    function report(msg) { print "corrupt: " msg | "cat 1>&2"; bad = 1 }
    FILENAME == ARGV[1] { if ($1 == "file") { want[$2] = $3 "\t" $4; n++ } next }
    { got[$2] = $3 "\t" $4 }
    END {
      if (n == 0) report("the manifest lists no file")
      for (f in want) {
        if (!(f in got)) report(f ": missing")
        else if (got[f] != want[f]) { split(got[f], g, "\t"); split(want[f], w, "\t"); report(f ": " g[2] " bytes, sha256 " g[1] "; the manifest says " w[2] " bytes, sha256 " w[1]) }
      }
      for (f in got) if (!(f in want)) report(f ": not in the manifest")
      exit bad
    }' "$manifest" "$work/files.tsv"; then
    failed_mismatch=$all_rows
    die "$dump_name is corrupt: its files differ from $backup.manifest"
  fi
fi

log "fetched and checked $dump_name in $(seconds_between "$rto_started" "$(now_epoch)")s"

# --- 3. restore into a fresh scratch database --------------------------------
existing=$(psql_at target -v scratch="$scratch" <<'SQL'
SELECT coalesce(shobj_description(oid, 'pg_database'), '(no comment)') FROM pg_database WHERE datname = :'scratch';
SQL
) || die "cannot connect to $target_db to create the scratch database"
if [ -n "$existing" ] && [ "$existing" != "$scratch_marker" ]; then
  config_error "database '$scratch' exists and is not a restore-verify scratch database; refusing to drop it"
fi
drop_scratch || die "cannot drop the previous scratch database $scratch"
psql_at target -v scratch="$scratch" >/dev/null <<'SQL' || die "cannot create scratch database $scratch"
CREATE DATABASE :"scratch" TEMPLATE template0;
SQL
scratch_created=yes
psql_at target -v scratch="$scratch" -v marker="$scratch_marker" >/dev/null <<'SQL' || die "cannot mark scratch database $scratch"
COMMENT ON DATABASE :"scratch" IS :'marker';
SQL

# pg_restore connects through its libpq environment (PGDATABASE = the scratch database).
if ! run_child with_conn scratch pg_restore --exit-on-error --no-owner --no-privileges --jobs="$restore_jobs" \
  --dbname="$scratch" "$dump"; then
  failed_mismatch=$all_rows
  die "pg_restore of $dump_name failed"
fi
rto_finished=$(now_epoch)
rto=$(seconds_between "$rto_started" "$rto_finished")
log "restored $dump_name in ${rto}s (pg_restore --jobs=$restore_jobs)"

# --- 4. compare per-table exact row counts -----------------------------------
table_counts_sql >"$work/counts.sql"
run_child psql_at scratch -f "$work/counts.sql" >"$work/restored.tsv" || die "cannot count rows in $scratch"
log "counted the restored rows in $(seconds_between "$rto_finished" "$(now_epoch)")s"
# Sum over tables of |manifest count - restored count|; a table on one side
# only counts its rows, and at least 1.
mismatched=$(awk -F '\t' '
  function report(msg) { print "mismatch: " msg | "cat 1>&2" }
  FILENAME == ARGV[1] { if ($1 == "table") want[$2] = $3; next }
  { got[$2] = $3 }
  END {
    for (t in want) {
      if (!(t in got)) {
        report(t ": " want[t] " rows in the manifest, table missing after restore")
        total += (want[t] > 0 ? want[t] : 1)
        continue
      }
      d = want[t] - got[t]; if (d < 0) d = -d
      if (d > 0) report(t ": " want[t] " rows in the manifest, " got[t] " restored")
      total += d
    }
    for (t in got) if (!(t in want)) {
      report(t ": not in the manifest, " got[t] " rows restored")
      total += (got[t] > 0 ? got[t] : 1)
    }
    printf "%d\n", total
  }' "$manifest" "$work/restored.tsv")
tables=$(awk -F '\t' '$1 == "table"' "$manifest" | wc -l | awk '{ print $1 }')

if [ "$mismatched" -ne 0 ]; then
  failed_mismatch=$mismatched
  die "$mismatched rows differ between $backup.manifest and the restored database"
fi
finished=$(now_epoch)
log "verified $backup: $tables tables, $manifest_rows rows, 0 mismatched; restore took ${rto}s"
{
  metric restore_verify_last_success_timestamp_seconds gauge \
    'Unix time of the last successful restore verification.' "${finished%.*}"
  metric restore_verify_duration_seconds gauge \
    'Seconds to fetch, check and restore the newest backup in the last successful verification (the measured RTO).' "$rto"
  metric restore_verify_rows_mismatched gauge \
    'Rows whose count differs between the backup manifest and the restored database (all rows when the backup cannot be restored).' \
    0
} >"$work/metrics.prom"
push_metrics "$work/metrics.prom" database "$db" || exit 3
