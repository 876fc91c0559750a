# shellcheck shell=sh
# Shared helpers of the authwatch database jobs (migrate, backup,
# restore-verify, token-cleanup). POSIX sh, sourced by the job scripts, which
# set `aw_job` (the Pushgateway job name, also the log prefix) first.
#
# Needs: psql, and per job pg_dump / pg_restore / sha256sum / curl / aws.
# Exit codes of every job: 0 done; 1 failed (nothing that looks like success
# is pushed); 2 bad configuration; 3 the work succeeded but pushing its
# metrics to the Pushgateway failed.

: "${aw_job:=authwatch}"
: "${PGCONNECT_TIMEOUT:=10}"
: "${PGAPPNAME:=authwatch-$aw_job}"
export PGCONNECT_TIMEOUT PGAPPNAME

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

# ---------------------------------------------------------------------------
# Connections. A postgresql:// URL is parsed here, in the shell, and handed to
# libpq through its environment (PGHOST, PGPORT, PGUSER, PGDATABASE, ...) and a
# password file written 0600 in the job's private work directory: no
# password is ever in a command line (visible in /proc/<pid>/cmdline) or a log
# line. A URL that does not parse fails with a message naming the variable
# only, never any part of its value.

# conn_parse VAR PROFILE DIR : parses the URL in variable VAR into connection
# PROFILE (a plain word); its password, if any, goes to DIR/PROFILE.pgpass.
# Accepts postgres[ql]://[user[:password]@][host][:port][/dbname][?param=value&...]
# with percent-encoding; one host; the parameters below.
conn_parse() {
  eval "_cu=\${$1-}"
  _cp=$2
  _cbad="$1 is not a valid postgresql://user:password@host:port/database URL (its value is not shown; see docs/database.md)"
  case $_cu in
    postgres://* | postgresql://*) _cu=${_cu#*://} ;;
    *) config_error "$_cbad" ;;
  esac
  case $_cu in *[[:space:][:cntrl:]]*) config_error "$_cbad" ;; esac
  _cauth=${_cu%%/*}
  _cpath=
  case $_cu in */*) _cpath=${_cu#*/} ;; esac
  _cquery=
  case $_cauth in *\?*) _cquery=${_cauth#*\?}; _cauth=${_cauth%%\?*}; _cpath= ;; esac
  case $_cpath in *\?*) _cquery=${_cpath#*\?}; _cpath=${_cpath%%\?*} ;; esac
  _cuser= _cpass= _chaspass=
  case $_cauth in
    *@*)
      _cuserinfo=${_cauth%%@*}
      _cauth=${_cauth#*@}
      case $_cuserinfo in
        *:*) _cuser=${_cuserinfo%%:*}; _cpass=${_cuserinfo#*:}; _chaspass=1 ;;
        *) _cuser=$_cuserinfo ;;
      esac
      ;;
  esac
  case $_cauth in
    \[*\]) _chost=${_cauth#\[}; _chost=${_chost%\]}; _cport= ;;
    \[*\]:*) _chost=${_cauth#\[}; _chost=${_chost%%\]*}; _cport=${_cauth##*\]:} ;;
    *:*) _chost=${_cauth%%:*}; _cport=${_cauth#*:} ;;
    *) _chost=$_cauth; _cport= ;;
  esac
  case $_chost in *[!A-Za-z0-9.:_%-]*) config_error "$_cbad" ;; esac
  case $_cport in *[!0-9]*) config_error "$_cbad" ;; esac
  case $_cuser$_cpass$_cpath in *@* | *:* | */*)
    # Unencoded @ : / in a user, password or database name: libpq would split the URL elsewhere.
    [ -z "$_chaspass" ] || case $_cpass in *@* | */*) config_error "$_cbad" ;; esac
    case $_cuser$_cpath in *@* | *:* | */*) config_error "$_cbad" ;; esac
    ;;
  esac
  _chost=$(url_decode "$_chost") || config_error "$_cbad"
  _cuser=$(url_decode "$_cuser") || config_error "$_cbad"
  _cpass=$(url_decode "$_cpass") || config_error "$_cbad"
  _cdb=$(url_decode "$_cpath") || config_error "$_cbad"
  for _cv in host port user db sslmode sslrootcert sslcert sslkey sslcrl connect_timeout application_name options target_session_attrs; do
    eval "aw_conn_${_cp}_$_cv="
  done
  eval "aw_conn_${_cp}_host=\$_chost aw_conn_${_cp}_port=\$_cport aw_conn_${_cp}_user=\$_cuser aw_conn_${_cp}_db=\$_cdb"
  _crest=$_cquery
  while [ -n "$_crest" ]; do
    _cpair=${_crest%%&*}
    case $_crest in *\&*) _crest=${_crest#*&} ;; *) _crest= ;; esac
    [ -n "$_cpair" ] || continue
    case $_cpair in *=*) ;; *) config_error "$_cbad" ;; esac
    _ckey=${_cpair%%=*}
    _cval=$(url_decode "${_cpair#*=}") || config_error "$_cbad"
    case $_ckey in
      sslmode | sslrootcert | sslcert | sslkey | sslcrl | connect_timeout | application_name | options | target_session_attrs)
        eval "aw_conn_${_cp}_$_ckey=\$_cval" ;;
      host) eval "aw_conn_${_cp}_host=\$_cval" ;;
      port) case $_cval in '' | *[!0-9]*) config_error "$_cbad" ;; esac; eval "aw_conn_${_cp}_port=\$_cval" ;;
      *) config_error "$1 has a query parameter this job does not pass on (supported: sslmode sslrootcert sslcert sslkey sslcrl connect_timeout application_name options target_session_attrs host port)" ;;
    esac
  done
  if [ -n "$_chaspass" ]; then
    # .pgpass format: backslash and colon escaped; this file serves this profile only.
    _cesc=$(printf '%s' "$_cpass" | sed -e 's/\\/\\\\/g' -e 's/:/\\:/g')
    (umask 077 && printf '*:*:*:*:%s\n' "$_cesc" >"$3/$_cp.pgpass") || config_error "cannot write the password file in $3"
    eval "aw_conn_${_cp}_passfile=\$3/\$_cp.pgpass"
  else
    eval "aw_conn_${_cp}_passfile="
  fi
  _cpass= _cesc= _cu= _cuserinfo=
}

# url_decode TEXT : percent-decoding; fails on a malformed escape or a decoded
# control character.
url_decode() {
  case $1 in
    *%*) ;;
    *) printf '%s\n' "$1"; return 0 ;;
  esac
  printf '%s\n' "$1" | LC_ALL=C awk '
    BEGIN { for (i = 0; i < 256; i++) { h[sprintf("%02x", i)] = i; h[sprintf("%02X", i)] = i } }
    {
      out = ""; s = $0
      while ((p = index(s, "%")) > 0) {
        code = substr(s, p + 1, 2)
        if (!(code in h) || h[code] < 32 || h[code] == 127) exit 1
        out = out substr(s, 1, p - 1) sprintf("%c", h[code]); s = substr(s, p + 3)
      }
      print out s
    }'
}

# conn_copy FROM TO DBNAME : profile TO is FROM's connection to another database.
conn_copy() {
  for _cv in host port user sslmode sslrootcert sslcert sslkey sslcrl connect_timeout application_name options target_session_attrs passfile; do
    eval "aw_conn_${2}_$_cv=\${aw_conn_${1}_$_cv-}"
  done
  eval "aw_conn_${2}_db=\$3"
}

# conn_get PROFILE FIELD : one parsed field (host port user db ...).
conn_get() {
  eval "printf '%s\n' \"\${aw_conn_${1}_$2-}\""
}

# conn_endpoint PROFILE : "host port database" as libpq resolves the
# defaults, to tell whether two profiles name the same database.
conn_endpoint() {
  _eh=$(conn_get "$1" host)
  _ep=$(conn_get "$1" port)
  _eu=$(conn_get "$1" user)
  _ed=$(conn_get "$1" db)
  _eh=${_eh:-${PGHOST:-/var/run/postgresql}}
  case $_eh in localhost | 127.0.0.1 | ::1) _eh=loopback ;; esac
  _eu=${_eu:-${PGUSER:-$(id -un 2>/dev/null)}}
  printf '%s %s %s\n' "$(printf '%s' "$_eh" | tr 'A-Z' 'a-z')" "${_ep:-${PGPORT:-5432}}" "${_ed:-${PGDATABASE:-$_eu}}"
}

# with_conn PROFILE CMD [ARGS...] : runs CMD with libpq's environment set to
# PROFILE (fields the URL leaves out keep the inherited PG* variables).
with_conn() {
  (
    _wp=$1
    shift
    for _wpair in host:PGHOST port:PGPORT user:PGUSER db:PGDATABASE sslmode:PGSSLMODE \
      sslrootcert:PGSSLROOTCERT sslcert:PGSSLCERT sslkey:PGSSLKEY sslcrl:PGSSLCRL \
      connect_timeout:PGCONNECT_TIMEOUT application_name:PGAPPNAME options:PGOPTIONS \
      target_session_attrs:PGTARGETSESSIONATTRS passfile:PGPASSFILE; do
      eval "_wv=\${aw_conn_${_wp}_${_wpair%%:*}-}"
      [ -z "$_wv" ] || export "${_wpair#*:}=$_wv"
    done
    # A password from the URL wins over one inherited from the environment.
    eval "_wv=\${aw_conn_${_wp}_passfile-}"
    [ -z "$_wv" ] || unset PGPASSWORD
    exec "$@"
  )
}

# psql_at PROFILE [psql args...] : psql for scripts: no psqlrc, stop at the
# first error, quiet, unaligned tuples-only output.
psql_at() {
  _pp=$1
  shift
  with_conn "$_pp" psql -X -q -A -t -v ON_ERROR_STOP=1 "$@"
}

# database_name PROFILE : the database the profile connects to; asks the
# server, and falls back to the parsed name when the server cannot be reached
# (so that a failed run is still reported under the right `database` label).
database_name() {
  _name=$(psql_at "$1" -c 'SELECT current_database()' 2>/dev/null) || _name=
  [ -n "$_name" ] || _name=$(conn_get "$1" db)
  [ -n "$_name" ] || _name=${PGDATABASE:-$(conn_get "$1" user)}
  [ -n "$_name" ] || _name=postgres
  printf '%s\n' "$_name"
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
# hold spaces). Fails when the destination cannot be listed.
dest_list() {
  case $dest_kind in
    file)
      [ -d "$dest_dir" ] || return 0
      ls -1A "$dest_dir"
      ;;
    s3)
      # One key per line ("None" when there is none); the awk's status is the
      # pipeline's, so a failed listing is marked for it.
      { aws s3api list-objects-v2 --bucket "$dest_bucket" --prefix "$dest_prefix" \
          --query 'Contents[].[Key]' --output text || printf '\t\tlisting failed\n'; } |
        awk -v p="$dest_prefix" '
          $0 == "\t\tlisting failed" { failed = 1; next }
          index($0, p) == 1 { name = substr($0, length(p) + 1); if (name != "" && index(name, "/") == 0) print name }
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

# backup_objects DB FILE : writes to FILE the names of DB's backup objects in
# the destination, "<DB>-YYYYMMDDTHHMMSSZ.dump" and ".manifest", sorted
# (oldest first). Any other object is never touched. Fails when the
# destination cannot be listed.
backup_objects() {
  dest_list >"$2.all" || return 1
  awk -v p="$1-" '
    index($0, p) == 1 {
      rest = substr($0, length(p) + 1)
      if (rest ~ /^[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]Z\.(dump|manifest)$/) print
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
