# shellcheck shell=sh
# Connections of the authwatch database jobs, sourced by lib.sh (keep it
# beside it). POSIX sh.
#
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
  _cbad="$1 is not a valid postgresql:// URL of user, password, host, port and database (its value is not shown; see docs/database.md)"
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
