#!/bin/sh
# shellcheck source-path=SCRIPTDIR
# authwatch migration runner: the one way the schema changes, from a shell,
# a CI job or a Kubernetes Job alike.
#
#   DATABASE_URL=postgresql://... sh postgres/jobs/migrate.sh [up | down N | down all | status]
#
# Migrations are postgres/migrations/NNNN_<name>.up.sql with a matching
# NNNN_<name>.down.sql (no transaction control inside). `up` applies the
# pending ones in version order, each in its own transaction together with
# its row in the ledger table schema_migrations (version, name, sha256 of the
# .up.sql); nothing pending is a no-op. `down N` reverts the N most recently
# applied ones, newest first, each in its own transaction.
#
# Refuses to do anything when an applied migration's .up.sql changed since it
# was applied (checksum), is missing, or when a pending migration is older
# than an applied one. Before changing a database that holds data (a row in
# any table but the ledger), it takes a backup with backup.sh (seed 002,
# "backup before migration"), which needs BACKUP_DESTINATION; only
# MIGRATE_SKIP_BACKUP=true skips it. Environment: see docs/database.md.
set -eu
aw_job=migrate
here=$(dirname "$0")
# shellcheck source=lib.sh
. "$here/lib.sh"

require_env DATABASE_URL
require_cmd psql sha256sum awk sort
migrations_dir=${MIGRATIONS_DIR:-$here/../migrations}
lock_timeout=${MIGRATE_LOCK_TIMEOUT:-10s}
[ -d "$migrations_dir" ] || config_error "no migrations directory $migrations_dir (MIGRATIONS_DIR)"

command=${1:-up}
steps=
case $command in
  up | status) [ $# -le 1 ] || config_error "usage: migrate.sh [up | down N | down all | status]" ;;
  down)
    [ $# -eq 2 ] || config_error "usage: migrate.sh down N (or: down all)"
    steps=$2
    case $steps in
      all) ;;
      '' | *[!0-9]* | 0) config_error "down needs a number of steps > 0 or 'all', got '$steps'" ;;
    esac
    ;;
  *) config_error "unknown command '$command'; usage: migrate.sh [up | down N | down all | status]" ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/authwatch-migrate.XXXXXX")
trap 'rm -rf "$work"' EXIT
exit_on_signals
conn_parse DATABASE_URL src "$work"

# Each migration runs in one transaction with its ledger row; a COMMIT (or
# BEGIN, ROLLBACK, ...) of its own would commit half of it and leave the
# ledger saying it never ran. Comments, strings, quoted identifiers and
# dollar-quoted bodies (plpgsql BEGIN ... END) are skipped; a statement
# starting with a transaction-control keyword is refused.
txn_control() {
  awk '
    { text = text $0 "\n" }
    function check(   u, w) {
      u = toupper(stmt); sub(/^[ \t\r\n]+/, "", u)
      if (u == "") return
      if (atomic) { if (u ~ /^END([^A-Z0-9_]|$)/) atomic = 0; return }
      if (u ~ /^CREATE[^A-Z0-9_]/ && u ~ /[^A-Z0-9_]BEGIN[ \t\r\n]+ATOMIC([^A-Z0-9_]|$)/) { atomic = 1; return }
      w = u; sub(/[^A-Z0-9_].*$/, "", w)
      if (w ~ /^(BEGIN|COMMIT|ROLLBACK|END|ABORT|SAVEPOINT|RELEASE)$/) found = w
      else if (w ~ /^(START|PREPARE)$/ && u ~ /^[A-Z]+[ \t\r\n]+TRANSACTION/) found = w " TRANSACTION"
      if (found != "") { printf "line %d: transaction control (%s)\n", line0, found; exit 1 }
    }
    END {
      n = length(text); line = 1; stmt = ""; line0 = 0
      for (i = 1; i <= n; i++) {
        c = substr(text, i, 1); c2 = substr(text, i, 2)
        if (c2 == "--") { while (i <= n && substr(text, i, 1) != "\n") i++; c = "\n" }
        else if (c2 == "/*") {
          depth = 1; i += 2
          while (i <= n && depth > 0) {
            d2 = substr(text, i, 2)
            if (d2 == "/*") { depth++; i += 2 } else if (d2 == "*/") { depth--; i += 2 } else { if (substr(text, i, 1) == "\n") line++; i++ }
          }
          i--; c = " "
        } else if (c == "'\''" || c == "\"") {
          q = c; esc = (c == "'\''" && i > 1 && substr(text, i - 1, 1) ~ /[Ee]/)
          for (i++; i <= n; i++) {
            d = substr(text, i, 1)
            if (d == "\n") line++
            if (esc && d == "\\") { i++; continue }
            if (d == q) break
          }
          c = " "
        } else if (c == "$" && match(substr(text, i), /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/)) {
          tag = substr(text, i, RLENGTH); rest = substr(text, i + RLENGTH)
          e = index(rest, tag)
          body = (e > 0) ? substr(rest, 1, e - 1) : rest
          line += gsub(/\n/, "", body)
          i = (e > 0) ? i + RLENGTH + e + length(tag) - 2 : n
          c = " "
        }
        if (c == ";") { check(); stmt = ""; line0 = 0; continue }
        if (c == "\n") line++
        if (line0 == 0 && c !~ /[ \t\r\n]/) line0 = (c == "\n") ? line - 1 : line
        stmt = stmt c
      }
      check()
    }' "$1"
}

# --- the files -----------------------------------------------------------------
# files.tsv: version <TAB> name <TAB> sha256 of the .up.sql, in version order.
: >"$work/files.tsv"
for path in "$migrations_dir"/*.sql; do
  [ -e "$path" ] || continue
  file=${path##*/}
  case $file in
    [0-9][0-9][0-9][0-9]_*.up.sql | [0-9][0-9][0-9][0-9]_*.down.sql) ;;
    *) config_error "$file is not named NNNN_<name>.up.sql or NNNN_<name>.down.sql" ;;
  esac
  base=${file%.sql}
  base=${base%.*}
  found=$(txn_control "$path") \
    || die "refusing to run: $file $found; migrate.sh runs each migration in its own transaction: remove it (nothing was applied)"
  case $file in
    *.up.sql)
      [ -f "$migrations_dir/$base.down.sql" ] || config_error "$file has no $base.down.sql"
      printf '%s\t%s\t%s\n' "${base%%_*}" "${base#*_}" "$(sha256sum "$path" | awk '{ print $1 }')" >>"$work/files.tsv"
      ;;
    *) [ -f "$migrations_dir/$base.up.sql" ] || config_error "$file has no $base.up.sql" ;;
  esac
done
sort -o "$work/files.tsv" "$work/files.tsv"
duplicate=$(awk -F '\t' 'seen[$1]++ { print $1 }' "$work/files.tsv" | head -n 1)
[ -z "$duplicate" ] || config_error "two migrations have version $duplicate"

# --- the ledger --------------------------------------------------------------------
# Every transaction that changes the schema or the ledger first takes this
# advisory lock, so concurrent runners queue instead of interleaving (the
# loser then fails on the already-applied migration, changing nothing).
cat >"$work/lock.sql" <<'SQL'
SET client_min_messages = warning;
SELECT pg_advisory_xact_lock(hashtext('authwatch.migrate')) \g /dev/null
SELECT set_config('lock_timeout', :'lock_timeout', true) \g /dev/null
SQL
cat >"$work/ledger.sql" <<'SQL'
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    text        PRIMARY KEY CHECK (version ~ '^[0-9]{4}$'),
  name       text        NOT NULL,
  checksum   text        NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
  applied_at timestamptz NOT NULL DEFAULT now(),
  applied_by text        NOT NULL DEFAULT current_user
);
COMMENT ON TABLE schema_migrations IS
  'Ledger of migrate.sh: applied migrations and the sha256 of each .up.sql as applied.';
SQL
psql_at src -1 -v lock_timeout="$lock_timeout" -f "$work/lock.sql" -f "$work/ledger.sql" \
  || die "cannot create or read the ledger table schema_migrations"
psql_at src -F '	' \
  -c 'SELECT version, name, checksum FROM schema_migrations ORDER BY version' >"$work/applied.tsv" \
  || die "cannot read schema_migrations"

# --- refuse on drift ---------------------------------------------------------------
awk -F '\t' '
  FILENAME == ARGV[1] { name[$1] = $2; sum[$1] = $3; next }
  !($1 in name) { printf "applied migration %s_%s has no file any more\n", $1, $2; bad = 1; next }
  name[$1] != $2 { printf "applied migration %s_%s is now named %s_%s\n", $1, $2, $1, name[$1]; bad = 1; next }
  sum[$1] != $3 { printf "%s_%s.up.sql changed since it was applied (sha256 %s, applied %s)\n", $1, $2, sum[$1], $3; bad = 1 }
  END { exit bad }' "$work/files.tsv" "$work/applied.tsv" >"$work/drift" \
  || die "refusing to run: $(tr '\n' ';' <"$work/drift")never edit an applied migration, add a new one"
awk -F '\t' 'FILENAME == ARGV[1] { applied[$1] = 1; next } !($1 in applied)' "$work/applied.tsv" "$work/files.tsv" >"$work/pending.tsv"
latest_applied=$(awk -F '\t' 'END { print $1 }' "$work/applied.tsv")
if [ -n "$latest_applied" ]; then
  stale=$(awk -F '\t' -v latest="$latest_applied" '$1 < latest { print $1 "_" $2 }' "$work/pending.tsv" | head -n 1)
  [ -z "$stale" ] || die "refusing to run: pending migration $stale is older than applied $latest_applied; renumber it"
fi

if [ "$command" = status ]; then
  awk -F '\t' '
    FILENAME == ARGV[1] { applied[$1] = 1; next }
    { printf "%s_%s\t%s\n", $1, $2, ($1 in applied) ? "applied" : "pending" }' \
    "$work/applied.tsv" "$work/files.tsv"
  exit 0
fi

# --- what to run ----------------------------------------------------------------------
if [ "$command" = up ]; then
  cp "$work/pending.tsv" "$work/plan.tsv"
else
  applied_count=$(awk 'END { print NR }' "$work/applied.tsv")
  [ "$steps" != all ] || steps=$applied_count
  [ "$steps" -le "$applied_count" ] || die "cannot go down $steps steps: only $applied_count migrations are applied"
  sort -r "$work/applied.tsv" | head -n "$steps" >"$work/plan.tsv"
fi
if [ ! -s "$work/plan.tsv" ]; then
  log "nothing to do: all $(awk 'END { print NR }' "$work/files.tsv") migrations are applied"
  exit 0
fi

# --- backup before migration when there is data --------------------------------------------
has_data=$(
  {
    cat <<'SQL'
SELECT coalesce(bool_or((xpath('/row/e/text()',
         query_to_xml(format('SELECT EXISTS (SELECT 1 FROM %I.%I) AS e', n.nspname, c.relname),
                      false, true, '')))[1]::text::boolean), false)
SQL
    user_tables_sql
    printf '%s\n' "   AND NOT (n.nspname = 'public' AND c.relname = 'schema_migrations');"
  } | psql_at src
) || die "cannot check whether the database holds data"
if [ "$has_data" = t ]; then
  if is_true "${MIGRATE_SKIP_BACKUP:-false}"; then
    log "the database holds data; MIGRATE_SKIP_BACKUP is set: migrating WITHOUT a backup"
  else
    [ -n "${BACKUP_DESTINATION:-}" ] \
      || config_error "the database holds data: set BACKUP_DESTINATION for the backup taken before migrating (or MIGRATE_SKIP_BACKUP=true to migrate without one)"
    log "the database holds data: backing up before migrating"
    backup_status=0
    run_child sh "$here/backup.sh" || backup_status=$?
    case $backup_status in
      0) ;;
      3) log "the backup is stored, only its metrics push failed: migrating" ;;
      *) die "the backup before migrating failed (exit $backup_status): nothing was migrated" ;;
    esac
  fi
fi

# --- run ---------------------------------------------------------------------------------------
printf '%s\n' "INSERT INTO schema_migrations (version, name, checksum) VALUES (:'version', :'name', :'checksum');" >"$work/record.sql"
printf '%s\n' "DELETE FROM schema_migrations WHERE version = :'version';" >"$work/unrecord.sql"
while IFS='	' read -r version name checksum; do
  if [ "$command" = up ]; then
    file="$migrations_dir/${version}_$name.up.sql"
    ledger="$work/record.sql"
  else
    file="$migrations_dir/${version}_$name.down.sql"
    ledger="$work/unrecord.sql"
  fi
  log "$command: ${file##*/}"
  run_child psql_at src -1 -v lock_timeout="$lock_timeout" \
    -v version="$version" -v name="$name" -v checksum="$checksum" \
    -f "$work/lock.sql" -f "$file" -f "$ledger" >/dev/null </dev/null \
    || die "${file##*/} failed and was rolled back; migrations before it stay applied"
done <"$work/plan.tsv"
log "$command: $(awk 'END { print NR }' "$work/plan.tsv") migrations done"
