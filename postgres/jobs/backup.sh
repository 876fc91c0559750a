#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# authwatch backup job: one consistent, compressed dump of DATABASE_URL, with
# a manifest, stored in BACKUP_DESTINATION; then retention; then metrics.
#
#   DATABASE_URL=postgresql://... BACKUP_DESTINATION=s3://bucket/prefix sh postgres/jobs/backup.sh
#
# Writes <db>-<UTC YYYYMMDDTHHMMSSZ>.dump (pg_dump -Fc; BACKUP_FORMAT=custom,
# the default) or <...>.dir/ (pg_dump -Fd --jobs=BACKUP_JOBS; directory) and,
# last, its <...>.manifest: exact per-table row counts taken in the very
# snapshot the dump reads (pg_export_snapshot + pg_dump --snapshot), the
# dump's sha256 and size (each file's, for a directory). A dump without its
# manifest is incomplete and is never restored.
# Environment: see docs/database.md.
set -eu
aw_job=pg-backup
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"

require_env DATABASE_URL BACKUP_DESTINATION
retention_days=$(uint_env BACKUP_RETENTION_DAYS 7 1)
format=${BACKUP_FORMAT:-custom}
case $format in
  custom) suffix=.dump ;;
  directory) suffix=.dir/ ;;
  *) config_error "BACKUP_FORMAT must be custom or directory, got '$format'" ;;
esac
dump_jobs=$(jobs_env BACKUP_JOBS)
compression=${BACKUP_COMPRESSION:-}
case $compression in
  '' | [0-9]) ;;
  *) config_error "BACKUP_COMPRESSION must be a gzip level 0-9 (or empty for pg_dump's default), got '$compression'" ;;
esac
dest_parse
# s3://: expiry is the bucket's lifecycle rule, and Object Lock keeps every
# backup for its retention; the job deletes only when asked to (a bucket
# without lifecycle). file://: the job is the only one who can expire.
delete_expired=yes
if [ "$dest_kind" = s3 ] && ! is_true "${BACKUP_S3_DELETE_EXPIRED:-false}"; then
  delete_expired=
fi
require_cmd psql pg_dump pg_restore sha256sum awk
[ -z "${PUSHGATEWAY_URL:-}" ] || require_cmd curl

started=$(now_epoch)
work=$(mktemp -d "${TMPDIR:-/tmp}/authwatch-backup.XXXXXX")
db=
staged=

report_failure() {
  [ -z "$staged" ] || rm -rf "$staged"
  # 3 (push failed) and 4 (retention failed) come after a stored, reported backup.
  if [ "$status" -ne 0 ] && [ "$status" -ne 3 ] && [ "$status" -ne 4 ] && [ -n "$db" ]; then
    log "backup of $db FAILED (exit $status)"
    metric backup_last_failure_timestamp_seconds gauge \
      'Unix time of the last failed backup run.' "$(date +%s)" >"$work/failure.prom"
    push_metrics "$work/failure.prom" database "$db"
  fi
}
at_exit report_failure

conn_parse DATABASE_URL src "$work"
db=$(database_name src)

# A name not taken yet (two backups within one second wait for the next).
while :; do
  stamp=$(date -u +%Y%m%dT%H%M%SZ)
  name="$db-$stamp"
  backup_objects "$db" "$work/taken" || die "cannot list $BACKUP_DESTINATION"
  grep -qxF -e "$name.dump" -e "$name.dir/" -e "$name.manifest" "$work/taken" || break
  sleep 1
done

# A run killed by SIGKILL (no trap runs) leaves its hidden staging file (or
# directory) in a file:// destination: this database's are removed here,
# nothing else.
if [ "$dest_kind" = file ] && [ -d "$dest_dir" ]; then
  for stale in "$dest_dir/.$db-"*.partial; do
    [ -e "$stale" ] || continue
    rm -rf "$stale" && log "removed stale ${stale##*/} (left by an interrupted run)"
  done
fi

# file:// dumps straight into the destination under a hidden name (renamed
# once complete); s3:// dumps into the work directory, then uploads.
object=$name$suffix
if [ "$dest_kind" = file ]; then
  mkdir -p "$dest_dir"
  staged="$dest_dir/.${object%/}.partial"
else
  staged="$work/${object%/}"
fi
# pg_dump's options, word-split by the shell psql's \! starts (no spaces in them).
AW_DUMP_OPTIONS="--format=$format"
[ "$format" = custom ] || AW_DUMP_OPTIONS="$AW_DUMP_OPTIONS --jobs=$dump_jobs"
[ -z "$compression" ] || AW_DUMP_OPTIONS="$AW_DUMP_OPTIONS --compress=$compression"
log "backing up $db to $BACKUP_DESTINATION/$object ($AW_DUMP_OPTIONS)"

# One psql session holds a REPEATABLE READ transaction, exports its snapshot,
# counts every table in it, and runs pg_dump on that same snapshot before
# committing: the counts in the manifest are exactly what the dump contains
# (pg_dump --jobs: every worker reads that same snapshot).
{
  printf '%s\n' 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;'
  printf '%s\n' 'SELECT pg_export_snapshot() AS snapshot \gset'
  printf '%s\n' '\setenv AW_SNAPSHOT :snapshot'
  printf '%s\n' "\\o '$work/tables.tsv'"
  table_counts_sql
  printf '%s\n' '\o'
  printf '%s\n' "\\o '$work/snapshot.tsv'"
  printf '%s\n' "SELECT 'snapshot_time' || E'\\t' || to_char(transaction_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"');"
  printf '%s\n' "SELECT 'server_version' || E'\\t' || current_setting('server_version');"
  printf '%s\n' '\o'
  # pg_dump inherits psql's libpq environment: the same server, database and credentials.
  # shellcheck disable=SC2016 # expanded by the shell psql's \! starts
  printf '%s\n' '\! pg_dump $AW_DUMP_OPTIONS --snapshot="$AW_SNAPSHOT" --file="$AW_DUMP_FILE"; echo $? >"$AW_DUMP_STATUS"'
  printf '%s\n' 'COMMIT;'
} >"$work/snapshot.sql"
AW_DUMP_FILE=$staged
AW_DUMP_STATUS="$work/dump.status"
export AW_DUMP_FILE AW_DUMP_STATUS AW_DUMP_OPTIONS
dump_started=$(now_epoch)
run_child psql_at src -f "$work/snapshot.sql" >/dev/null || die "snapshot session failed"
[ "$(cat "$work/dump.status" 2>/dev/null)" = 0 ] || die "pg_dump failed"
dumped=$(now_epoch)
log "counted and dumped in $(seconds_between "$dump_started" "$dumped")s"

# The archive's table of contents must be readable before it counts as a backup.
pg_restore --list "$staged" >/dev/null || die "pg_restore cannot read the dump just written"
# Manifest version 1 (custom, unchanged): the dump's sha256 and size.
# Version 2 (directory): its format and one line per file, name, sha256, size.
if [ "$format" = custom ]; then
  sha=$(sha256sum "$staged" | awk '{ print $1 }')
  size=$(wc -c <"$staged" | awk '{ print $1 }')
  summary="sha256 $sha"
else
  dir_inventory "$staged" >"$work/files.tsv"
  ! grep -q "$(printf '\tnot-a-file\t')" "$work/files.tsv" || die "pg_dump wrote something other than plain files in $object"
  size=$(awk -F '\t' '{ n += $4 } END { printf "%d\n", n }' "$work/files.tsv")
  summary="$(wc -l <"$work/files.tsv" | awk '{ print $1 }') files"
fi
{
  if [ "$format" = custom ]; then
    printf 'authwatch-backup-manifest\t1\n'
    printf 'database\t%s\n' "$db"
    printf 'dump\t%s\n' "$object"
    printf 'dump_sha256\t%s\n' "$sha"
  else
    printf 'authwatch-backup-manifest\t2\n'
    printf 'database\t%s\n' "$db"
    printf 'format\t%s\n' "$format"
    printf 'dump\t%s\n' "$object"
    cat "$work/files.tsv"
  fi
  printf 'dump_size_bytes\t%s\n' "$size"
  cat "$work/snapshot.tsv" "$work/tables.tsv"
} >"$work/$name.manifest"
log "checked the archive and summed it in $(seconds_between "$dumped" "$(now_epoch)")s"

if [ "$dest_kind" = file ]; then
  mv -f "$staged" "$dest_dir/${object%/}"
elif [ "$format" = custom ]; then
  run_child dest_put "$staged" "$object" || die "cannot store $object"
  rm -f "$staged"
else
  run_child dest_put_dir "$staged" "$object" || die "cannot store $object"
  rm -rf "$staged"
fi
staged=
dest_put "$work/$name.manifest" "$name.manifest" || die "cannot store $name.manifest"
log "stored $object ($size bytes, $summary) and $name.manifest"

finished=$(now_epoch)
duration=$(seconds_between "$started" "$finished")
log "backup of $db done in ${duration}s"

{
  metric backup_last_success_timestamp_seconds gauge \
    'Unix time of the last successful backup (dump and manifest stored).' "${finished%.*}"
  metric backup_size_bytes gauge 'Size of the last successful backup dump in bytes.' "$size"
  metric backup_duration_seconds gauge 'Duration of the last successful backup run.' "$duration"
} >"$work/metrics.prom"
push_metrics "$work/metrics.prom" database "$db" || exit 3

# Retention, only after the backup is stored and reported: a failed deletion must
# not turn a good backup into a failed one (exit 4). By the time in the object
# name: every backup object of this database older than the limit goes; the
# newest backup always stays; other objects are never touched.
if [ -z "$delete_expired" ]; then
  log "retention: left to the bucket's lifecycle rule (BACKUP_S3_DELETE_EXPIRED is off)"
  exit 0
fi
cutoff=$(date -u -d "@$(($(date +%s) - retention_days * 86400))" +%Y%m%dT%H%M%SZ)
if ! backup_objects "$db" "$work/objects"; then
  log "retention (${retention_days} days): cannot list $BACKUP_DESTINATION; nothing removed"
  exit 4
fi
awk -v p="$db-" -v cutoff="$cutoff" -v keep="$stamp" '
  { s = substr($0, length(p) + 1, 16); if (s < cutoff && s != keep) print }' "$work/objects" >"$work/expired"
retention_failed=
while IFS= read -r object; do
  if dest_remove "$object"; then
    log "retention (${retention_days} days): removed $object"
  else
    log "retention (${retention_days} days): could NOT remove $object"
    retention_failed=1
  fi
done <"$work/expired"
[ -z "$retention_failed" ] || exit 4
