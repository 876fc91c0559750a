# shellcheck shell=sh
# Shared helpers of the authwatch database jobs (migrate, backup,
# restore-verify, token-cleanup). POSIX sh, sourced by the job scripts, which
# set `aw_job` (the Pushgateway job name, also the log prefix) first.
#
# Needs: psql, and per job pg_dump / pg_restore / sha256sum / curl / aws.
# Exit codes of every job: 0 done; 1 failed (nothing that looks like success
# is pushed); 2 bad configuration; 3 the work succeeded but pushing its
# metrics to the Pushgateway failed. backup.sh only: 4 the backup is stored
# and reported, but retention could not remove an expired backup.
# 129/130/143: stopped by SIGHUP/SIGINT/SIGTERM.

: "${aw_job:=authwatch}"
: "${PGCONNECT_TIMEOUT:=10}"
: "${PGAPPNAME:=authwatch-$aw_job}"
export PGCONNECT_TIMEOUT PGAPPNAME

# Turn SIGHUP/INT/TERM into an exit with the conventional status, so the
# caller's EXIT trap cleans up and reports the failure.
exit_on_signals() {
  trap 'exit 129' HUP
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

log() {
  printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$aw_job" "$*" >&2
}

die() {
  log "error: $*"
  exit 1
}

config_error() {
  log "configuration error: $*"
  exit 2
}

# require_env NAME... : each variable must be set and non-empty.
require_env() {
  for _name in "$@"; do
    eval "_value=\${$_name:-}"
    [ -n "$_value" ] || config_error "$_name is required (see docs/database.md)"
  done
}

# require_cmd CMD... : each command must be on PATH.
require_cmd() {
  for _cmd in "$@"; do
    command -v "$_cmd" >/dev/null 2>&1 || config_error "'$_cmd' is not on PATH"
  done
}

# uint_env NAME DEFAULT MIN : prints the variable's value (or DEFAULT), which
# must be an integer >= MIN.
uint_env() {
  eval "_value=\${$1:-$2}"
  case $_value in
    '' | *[!0-9]*) config_error "$1 must be a whole number, got '$_value'" ;;
  esac
  [ "$_value" -ge "$3" ] || config_error "$1 must be at least $3, got $_value"
  printf '%s\n' "$_value"
}

# is_true VALUE : true for 1/true/yes/on (any case).
is_true() {
  case $1 in
    1 | [Tt][Rr][Uu][Ee] | [Yy][Ee][Ss] | [Oo][Nn]) return 0 ;;
    *) return 1 ;;
  esac
}

# now_epoch : Unix time, with fractions where date(1) supports %N.
now_epoch() {
  _t=$(date +%s.%N 2>/dev/null) || _t=
  case $_t in
    '' | *N* | *[!0-9.]*) date +%s ;;
    *) printf '%s\n' "$_t" ;;
  esac
}

# seconds_between START END : END - START, three decimals.
seconds_between() {
  awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f\n", b - a }'
}

# psql_at URL [psql args...] : psql for scripts: no psqlrc, stop at the first
# error, quiet, unaligned tuples-only output.
psql_at() {
  _url=$1
  shift
  psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$_url" "$@"
}

# url_dbname URL : the database name written in a connection URI or a
# key=value connection string (empty when it names none).
url_dbname() {
  case $1 in
    postgres://* | postgresql://*)
      _rest=${1#*://}
      case $_rest in
        */*) _rest=${_rest#*/}; printf '%s\n' "${_rest%%\?*}" ;;
        *) printf '\n' ;;
      esac
      ;;
    *)
      printf '%s\n' "$1" | awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^dbname=/) { sub(/^dbname=/, "", $i); print $i; exit } }'
      ;;
  esac
}

# database_name URL : the database the URL connects to; asks the server, and
# falls back to the URL's text when the server cannot be reached (so that a
# failed run is still reported under the right `database` label).
database_name() {
  _name=$(psql_at "$1" -c 'SELECT current_database()' 2>/dev/null) || _name=
  [ -n "$_name" ] || _name=$(url_dbname "$1")
  [ -n "$_name" ] || _name=${PGDATABASE:-postgres}
  printf '%s\n' "$_name"
}

# url_with_dbname URL DBNAME : the same connection, to another database.
# DBNAME must be a plain identifier ([A-Za-z0-9_]).
url_with_dbname() {
  case $1 in
    postgres://* | postgresql://*)
      printf '%s\n' "$1" | sed -E 's#^(postgres(ql)?://[^/?]*)(/[^?]*)?#\1/'"$2"'#'
      ;;
    *) printf '%s dbname=%s\n' "$1" "$2" ;;
  esac
}

# SQL printing one line "table<TAB>schema.table<TAB>exact row count" per
# ordinary or partitioned table outside the system schemas. Exact counts
# (count(*), not statistics), run in whatever snapshot the caller's
# transaction holds; query_to_xml runs the per-table count without needing a
# function of our own, so this also works in a READ ONLY transaction.
table_counts_sql() {
  cat <<'SQL'
SELECT 'table' || E'\t' || n.nspname || '.' || c.relname || E'\t'
       || (xpath('/row/n/text()',
                 query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname),
                              false, true, '')))[1]::text
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\_toast%'
   AND n.nspname NOT LIKE 'pg\_temp\_%'
 ORDER BY n.nspname, c.relname;
SQL
}

# ---------------------------------------------------------------------------
# Backup destination: file:///absolute/dir or s3://bucket/prefix. Objects are
# flat names inside it. `dest_parse` must run first.

dest_parse() {
  case $BACKUP_DESTINATION in
    file:///*)
      dest_kind="file"
      dest_dir=${BACKUP_DESTINATION#file://}
      dest_dir=${dest_dir%/}
      [ -n "$dest_dir" ] || dest_dir=/
      ;;
    s3://?*)
      dest_kind="s3"
      dest_uri=${BACKUP_DESTINATION%/}
      require_cmd aws
      ;;
    *) config_error "BACKUP_DESTINATION must be s3://bucket/prefix or file:///absolute/dir, got '$BACKUP_DESTINATION'" ;;
  esac
}

# dest_list : the object names in the destination, one per line.
dest_list() {
  case $dest_kind in
    file)
      [ -d "$dest_dir" ] || return 0
      ls -1 "$dest_dir"
      ;;
    s3)
      # `aws s3 ls` prints "DATE TIME SIZE NAME" per object, "PRE name/" per sub-prefix.
      aws s3 ls "$dest_uri/" | awk '$1 != "PRE" && NF >= 4 { print $4 }'
      ;;
  esac
}

# dest_put LOCAL NAME : store a local file as NAME; for file://, via a hidden
# temporary name and a rename, so a reader never sees half a file.
dest_put() {
  case $dest_kind in
    file)
      mkdir -p "$dest_dir"
      cp "$1" "$dest_dir/.$2.partial"
      mv -f "$dest_dir/.$2.partial" "$dest_dir/$2"
      ;;
    s3) aws s3 cp --only-show-errors "$1" "$dest_uri/$2" ;;
  esac
}

# dest_fetch NAME WORKDIR : prints a local path holding the object (the file
# itself for file://, a download into WORKDIR for s3://).
dest_fetch() {
  case $dest_kind in
    file)
      [ -f "$dest_dir/$1" ] || { log "no $1 in $BACKUP_DESTINATION"; return 1; }
      printf '%s\n' "$dest_dir/$1"
      ;;
    s3)
      aws s3 cp --only-show-errors "$dest_uri/$1" "$2/$1" >&2 || return 1
      printf '%s\n' "$2/$1"
      ;;
  esac
}

dest_remove() {
  case $dest_kind in
    file) rm -f "$dest_dir/$1" ;;
    s3) aws s3 rm --only-show-errors "$dest_uri/$1" ;;
  esac
}

# backup_objects DB : the names of DB's backup objects in the destination,
# "<DB>-YYYYMMDDTHHMMSSZ.dump" and ".manifest", sorted (oldest first). Any
# other object is never touched.
backup_objects() {
  dest_list | awk -v p="$1-" '
    index($0, p) == 1 {
      rest = substr($0, length(p) + 1)
      if (rest ~ /^[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z\.(dump|manifest)$/) print
    }' | sort
}

# ---------------------------------------------------------------------------
# Pushgateway. Metrics are POSTed, which replaces only the pushed metric
# names in the group: a failure push never erases the last success timestamp.

# metric NAME TYPE HELP VALUE : one metric family in the text format.
metric() {
  printf '# HELP %s %s\n# TYPE %s %s\n%s %s\n' "$1" "$3" "$1" "$2" "$1" "$4"
}

# push_path_label NAME VALUE : a grouping-key path segment, base64url-encoded
# when VALUE holds anything but [A-Za-z0-9_.-].
push_path_label() {
  case $2 in
    '' | *[!A-Za-z0-9_.-]*)
      printf '/%s@base64/%s' "$1" "$(printf '%s' "$2" | base64 | tr -d '\n' | tr '+/' '-_')"
      ;;
    *) printf '/%s/%s' "$1" "$2" ;;
  esac
}

# pushed_value NAME : the value of NAME that job $aw_job pushed last (0 when
# none, no Pushgateway, or it cannot be read). Lets a job keep a real
# counter across runs: each run pushes the previous value plus its own count,
# and a Pushgateway that lost its state is an ordinary counter reset.
pushed_value() {
  [ -n "${PUSHGATEWAY_URL:-}" ] || { printf '0\n'; return 0; }
  { curl -fsS --max-time 15 "${PUSHGATEWAY_URL%/}/metrics" 2>/dev/null || :; } | awk -v n="$1" -v j="job=\"$aw_job\"" '
    index($0, n "{") == 1 && index($0, j) > 0 { v = $NF + 0 }
    END { printf "%.0f\n", v + 0 }'
}

# push_metrics BODYFILE [GROUP_LABEL VALUE] : push to job $aw_job when
# PUSHGATEWAY_URL is set. Returns 1 when the push fails.
push_metrics() {
  [ -n "${PUSHGATEWAY_URL:-}" ] || return 0
  _url="${PUSHGATEWAY_URL%/}/metrics/job/$aw_job"
  [ $# -lt 3 ] || _url="$_url$(push_path_label "$2" "$3")"
  if curl -fsS --max-time 15 --retry 2 -X POST \
    -H 'Content-Type: text/plain; version=0.0.4' \
    --data-binary "@$1" "$_url" >/dev/null; then
    log "pushed metrics to $_url"
  else
    log "error: pushing metrics to $_url failed"
    return 1
  fi
}
