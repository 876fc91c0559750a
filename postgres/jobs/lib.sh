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
# shellcheck source=conn.sh
. "$(dirname "$0")/conn.sh"

# Signals. A shell runs a trap only once its foreground child has ended, so
# the long-running steps go through run_child (in the background, waited
# for). On SIGHUP/INT/TERM (a Job's deadline sends TERM) every process the job
# started is stopped at once, then the job exits with the conventional status
# and the caller's EXIT trap cleans up and reports the failure.
exit_on_signals() {
  trap 'on_signal 129' HUP
  trap 'on_signal 130' INT
  trap 'on_signal 143' TERM
}

# at_exit FUNCTION : when the job exits (signals included, see
# exit_on_signals), runs FUNCTION with the exit status in $status and errexit
# off (the job's cleanup and failure report), then removes $work and exits
# with that status.
at_exit() {
  _on_exit=$1
  trap _exit_job EXIT
  exit_on_signals
}

_exit_job() {
  status=$?
  trap - EXIT
  set +e
  "$_on_exit"
  rm -rf "$work"
  exit "$status"
}

on_signal() {
  trap '' HUP INT TERM
  log "stopping: signal received (exit $1)"
  kill_descendants
  exit "$1"
}

# run_child CMD [ARGS...] : CMD with this shell's stdin, as a waited-for
# background process; returns its exit status.
run_child() {
  exec 3<&0
  "$@" <&3 3<&- &
  _child=$!
  exec 3<&-
  _child_status=0
  wait "$_child" || _child_status=$?
  return "$_child_status"
}

# kill_descendants : SIGTERM to every process below this shell (psql, the
# pg_dump it started, pg_restore, aws, ...), read from /proc (Linux).
kill_descendants() {
  _pids=$(cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$$" '
    { s = $0; pid = $1; sub(/.*\) /, "", s); split(s, f, " "); kids[f[2]] = kids[f[2]] " " pid }
    END {
      n = split(kids[root], q, " ")
      for (i = 1; i <= n; i++) { print q[i]; m = split(kids[q[i]], c, " "); for (j = 1; j <= m; j++) q[++n] = c[j] }
    }') || _pids=
  # shellcheck disable=SC2086 # a list of pids
  [ -z "$_pids" ] || kill -TERM $_pids 2>/dev/null || :
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

# jobs_env NAME : parallel jobs (pg_dump/pg_restore --jobs): the variable's
# value, by default this machine's processors (nproc; 1 without it).
jobs_env() {
  _ncpu=$(nproc 2>/dev/null) || _ncpu=1
  uint_env "$1" "${_ncpu:-1}" 1
}

# dir_inventory DIR : one line "file<TAB>name<TAB>sha256<TAB>bytes" per entry
# of DIR, sorted by name (the manifest of a directory-format dump). An entry
# that is not a plain file is listed with sha256 "not-a-file".
dir_inventory() {
  ls -1A "$1" | LC_ALL=C sort | while IFS= read -r _f; do
    if [ -f "$1/$_f" ] && [ ! -h "$1/$_f" ]; then
      printf 'file\t%s\t%s\t%s\n' "$_f" "$(sha256sum <"$1/$_f" | awk '{ print $1 }')" "$(wc -c <"$1/$_f" | awk '{ print $1 }')"
    else
      printf 'file\t%s\tnot-a-file\t0\n' "$_f"
    fi
  done
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

# SQL: FROM and WHERE over every ordinary or partitioned table outside the
# system schemas (pg_class c, pg_namespace n), for a query to go on from.
user_tables_sql() {
  cat <<'SQL'
  FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind IN ('r', 'p')
   AND n.nspname NOT IN ('pg_catalog', 'information_schema')
   AND n.nspname NOT LIKE 'pg\_toast%'
   AND n.nspname NOT LIKE 'pg\_temp\_%'
SQL
}

# SQL printing one line "table<TAB>schema.table<TAB>exact row count" per
# table of user_tables_sql. Exact counts (count(*), not statistics), run in
# whatever snapshot the caller's transaction holds; query_to_xml runs the
# per-table count without needing a function of our own, so this also works
# in a READ ONLY transaction.
table_counts_sql() {
  cat <<'SQL'
SELECT 'table' || E'\t' || n.nspname || '.' || c.relname || E'\t'
       || (xpath('/row/n/text()',
                 query_to_xml(format('SELECT count(*) AS n FROM %I.%I', n.nspname, c.relname),
                              false, true, '')))[1]::text
SQL
  user_tables_sql
  printf '%s\n' ' ORDER BY n.nspname, c.relname;'
}

# ---------------------------------------------------------------------------
# Backup destination: file:///absolute/dir or s3://bucket/prefix. Objects are
# flat names inside it; a directory (a name ending in /) is a subdirectory
# (file://) or one object per file under that key prefix (s3://), and holds
# plain files only. `dest_parse` must run first.

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
      dest_bucket=${dest_uri#s3://}
      dest_bucket=${dest_bucket%%/*}
      dest_prefix=
      case ${dest_uri#s3://} in */*) dest_prefix=${dest_uri#s3://*/}/ ;; esac
      require_cmd aws
      ;;
    *) config_error "BACKUP_DESTINATION must be s3://bucket/prefix or file:///absolute/dir, got '$BACKUP_DESTINATION'" ;;
  esac
}

# dest_list : the object names in the destination, one per line (names may
# hold spaces; directories end in /). Fails when the destination cannot be listed.
dest_list() {
  case $dest_kind in
    file)
      [ -d "$dest_dir" ] || return 0
      ls -1Ap "$dest_dir"
      ;;
    s3)
      # One key per line ("None" when there is none); the awk's status is the
      # pipeline's, so a failed listing is marked for it.
      { aws s3api list-objects-v2 --bucket "$dest_bucket" --prefix "$dest_prefix" \
          --query 'Contents[].[Key]' --output text || printf '\t\tlisting failed\n'; } |
        awk -v p="$dest_prefix" '
          $0 == "\t\tlisting failed" { failed = 1; next }
          index($0, p) == 1 {
            name = substr($0, length(p) + 1)
            # A directory backup is one object per file under "<name>/": listed once, as "<name>/".
            if ((i = index(name, "/")) > 0) name = substr(name, 1, i)
            if (name != "" && name != "/" && !(name in seen)) { seen[name] = 1; print name }
          }
          END { exit failed }'
      ;;
  esac
}

# dest_put LOCAL NAME : store a local file as NAME; for file://, via a hidden
# temporary name and a rename, so a reader never sees half a file.
dest_put() {
  case $dest_kind in
    file)
      mkdir -p "$dest_dir"
      cp "$1" "$dest_dir/.$2.partial" && mv -f "$dest_dir/.$2.partial" "$dest_dir/$2"
      ;;
    s3) aws s3 cp --only-show-errors "$1" "$dest_uri/$2" ;;
  esac
}

# dest_put_dir LOCALDIR NAME/ : store a directory of plain files as NAME/;
# for file://, via a hidden temporary name and a rename.
dest_put_dir() {
  case $dest_kind in
    file)
      mkdir -p "$dest_dir"
      _dp="$dest_dir/.${2%/}.partial"
      rm -rf "$_dp" && cp -R "$1" "$_dp" && mv -f "$_dp" "$dest_dir/${2%/}"
      ;;
    s3) aws s3 cp --recursive --only-show-errors "$1" "$dest_uri/$2" ;;
  esac
}

# dest_fetch_dir NAME/ WORKDIR : prints a local directory holding NAME/'s
# files (the directory itself for file://, a download into WORKDIR for s3://).
dest_fetch_dir() {
  case $dest_kind in
    file)
      [ -d "$dest_dir/${1%/}" ] || { log "no $1 in $BACKUP_DESTINATION"; return 1; }
      printf '%s\n' "$dest_dir/${1%/}"
      ;;
    s3)
      mkdir -p "$2/${1%/}" || return 1
      aws s3 cp --recursive --only-show-errors "$dest_uri/$1" "$2/${1%/}" >&2 || return 1
      printf '%s\n' "$2/${1%/}"
      ;;
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
  case $dest_kind:$1 in
    file:*/) rm -rf "$dest_dir/${1%/}" ;;
    file:*) rm -f "$dest_dir/$1" ;;
    s3:*/) aws s3 rm --recursive --only-show-errors "$dest_uri/$1" ;;
    s3:*) aws s3 rm --only-show-errors "$dest_uri/$1" ;;
  esac
}

# backup_objects DB FILE : writes to FILE the names of DB's backup objects in
# the destination, "<DB>-YYYYMMDDTHHMMSSZ.dump", ".dir/" (directory format)
# and ".manifest", sorted (oldest first). Any other object is never touched.
# Fails when the destination cannot be listed.
backup_objects() {
  dest_list >"$2.all" || return 1
  awk -v p="$1-" '
    index($0, p) == 1 {
      rest = substr($0, length(p) + 1)
      if (rest ~ /^[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z\.(dump|manifest|dir\/)$/) print
    }' "$2.all" | sort >"$2"
  rm -f "$2.all"
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
