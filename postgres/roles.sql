-- One database role per job, each with only the privileges its job uses
-- (docs/database.md, "Roles"). Run by an administrator (a role with CREATEROLE
-- that may grant on the database), connected to the production database:
--
--   AUTHWATCH_MIGRATE_PASSWORD=... AUTHWATCH_BACKUP_PASSWORD=... \
--   AUTHWATCH_RESTORE_VERIFY_PASSWORD=... AUTHWATCH_TOKEN_CLEANUP_PASSWORD=... \
--   AUTHWATCH_SERVICE_PASSWORD=... AUTHWATCH_ROLLBACK_PASSWORD=... \
--   AUTHWATCH_GRAFANA_PASSWORD=... AUTHWATCH_ROLLBACK_DRILL_PASSWORD=... \
--   psql -X -v ON_ERROR_STOP=1 -d postgresql://admin@db:5432/auth -f postgres/roles.sql
--
-- Idempotent. Run it before the first migration (the migrate role then owns
-- the schema) and again after a migration that adds a table a grant below
-- names (token-cleanup's tables, feature_flags, rollback_log). Passwords come from the environment
-- (psql's \getenv), never from this file or a command line; an unset one
-- leaves that role's password as it is. Role names may be changed with
-- psql variables: -v migrate_role=... backup_role=... restore_verify_role=...
-- token_cleanup_role=... service_role=... rollback_role=... grafana_role=...
-- rollback_drill_role=...
\set ON_ERROR_STOP on
\if :{?migrate_role} \else \set migrate_role authwatch_migrate \endif
\if :{?backup_role} \else \set backup_role authwatch_backup \endif
\if :{?restore_verify_role} \else \set restore_verify_role authwatch_restore_verify \endif
\if :{?token_cleanup_role} \else \set token_cleanup_role authwatch_token_cleanup \endif
\if :{?service_role} \else \set service_role authwatch_service \endif
\if :{?rollback_role} \else \set rollback_role authwatch_rollback \endif
\if :{?grafana_role} \else \set grafana_role authwatch_grafana \endif
\if :{?rollback_drill_role} \else \set rollback_drill_role authwatch_rollback_drill \endif
\getenv migrate_password AUTHWATCH_MIGRATE_PASSWORD
\getenv backup_password AUTHWATCH_BACKUP_PASSWORD
\getenv restore_verify_password AUTHWATCH_RESTORE_VERIFY_PASSWORD
\getenv token_cleanup_password AUTHWATCH_TOKEN_CLEANUP_PASSWORD
\getenv service_password AUTHWATCH_SERVICE_PASSWORD
\getenv rollback_password AUTHWATCH_ROLLBACK_PASSWORD
\getenv grafana_password AUTHWATCH_GRAFANA_PASSWORD
\getenv rollback_drill_password AUTHWATCH_ROLLBACK_DRILL_PASSWORD
SET client_min_messages = warning;

-- The roles: log in, nothing else cluster-wide; restore-verify alone may
-- create databases (its scratch database, which it then owns and drops).
SELECT format('CREATE ROLE %I', r) FROM unnest(ARRAY[:'migrate_role', :'backup_role', :'restore_verify_role', :'token_cleanup_role', :'service_role', :'rollback_role', :'grafana_role', :'rollback_drill_role']) r
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) \gexec
ALTER ROLE :"migrate_role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE :"backup_role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE :"restore_verify_role" LOGIN NOSUPERUSER CREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE :"token_cleanup_role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE :"service_role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE :"rollback_role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE :"grafana_role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE :"rollback_drill_role" LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
\if :{?migrate_password}
ALTER ROLE :"migrate_role" PASSWORD :'migrate_password';
\endif
\if :{?backup_password}
ALTER ROLE :"backup_role" PASSWORD :'backup_password';
\endif
\if :{?restore_verify_password}
ALTER ROLE :"restore_verify_role" PASSWORD :'restore_verify_password';
\endif
\if :{?token_cleanup_password}
ALTER ROLE :"token_cleanup_role" PASSWORD :'token_cleanup_password';
\endif
\if :{?service_password}
ALTER ROLE :"service_role" PASSWORD :'service_password';
\endif
\if :{?rollback_password}
ALTER ROLE :"rollback_role" PASSWORD :'rollback_password';
\endif
\if :{?grafana_password}
ALTER ROLE :"grafana_role" PASSWORD :'grafana_password';
\endif
\if :{?rollback_drill_password}
ALTER ROLE :"rollback_drill_role" PASSWORD :'rollback_drill_password';
\endif
-- Even a mistaken statement of the backup job or the rollback drill cannot write.
ALTER ROLE :"backup_role" SET default_transaction_read_only = on;
ALTER ROLE :"rollback_drill_role" SET default_transaction_read_only = on;

-- migrate: owns the database, hence its public schema (pg_database_owner),
-- and every table its migrations create. Tables created by someone else
-- before (e.g. migrations run as a superuser) are handed over.
SELECT format('ALTER DATABASE %I OWNER TO %I', current_database(), :'migrate_role') \gexec
SELECT format('ALTER TABLE %s OWNER TO %I', c.oid::regclass, :'migrate_role')
  FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
   AND c.relowner <> (SELECT oid FROM pg_roles WHERE rolname = :'migrate_role') \gexec

-- backup: read-only. CONNECT, USAGE on the schema, SELECT on every table and
-- sequence, now and (default privileges) on what migrate creates later.
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'backup_role') \gexec
GRANT USAGE ON SCHEMA public TO :"backup_role";
GRANT SELECT ON ALL TABLES IN SCHEMA public TO :"backup_role";
GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO :"backup_role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"migrate_role" IN SCHEMA public GRANT SELECT ON TABLES TO :"backup_role";
ALTER DEFAULT PRIVILEGES FOR ROLE :"migrate_role" IN SCHEMA public GRANT SELECT ON SEQUENCES TO :"backup_role";

-- restore-verify: nothing here. It connects to a maintenance database
-- (RESTORE_VERIFY_TARGET_URL) and to the scratch database it creates; in this
-- database it may read and write no table.

-- token-cleanup: SELECT and DELETE on the two tables it cleans, nothing else
-- (its temporary table needs TEMP, which PUBLIC has by default).
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', current_database(), :'token_cleanup_role') \gexec
GRANT USAGE ON SCHEMA public TO :"token_cleanup_role";
SELECT format('GRANT SELECT, DELETE ON %s TO %I', string_agg(t::text, ', '), :'token_cleanup_role')
  FROM unnest(ARRAY[to_regclass('public.refresh_tokens'), to_regclass('public.refresh_token_families')]) t
 WHERE t IS NOT NULL
HAVING count(*) > 0 \gexec

-- service: the auth service (and the local demo) reads the feature flags and
-- LISTENs on their channel (LISTEN needs no privilege). Nothing else here:
-- it never changes a flag.
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'service_role') \gexec
GRANT USAGE ON SCHEMA public TO :"service_role";
SELECT format('GRANT SELECT ON %s TO %I', t, :'service_role')
  FROM to_regclass('public.feature_flags') t WHERE t IS NOT NULL \gexec

-- rollback: the operator identity of `npm run flags` and `npm run rollback`
-- (docs/rollback.md). Reads and changes flags (no DELETE: a flag is switched,
-- never removed), appends to rollback_log (no UPDATE or DELETE: the log is
-- history), and revokes refresh-token families: it may set revoked_at and
-- read it, and see no other column of a session.
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'rollback_role') \gexec
GRANT USAGE ON SCHEMA public TO :"rollback_role";
SELECT format('GRANT SELECT, INSERT, UPDATE ON %s TO %I', t, :'rollback_role')
  FROM to_regclass('public.feature_flags') t WHERE t IS NOT NULL \gexec
SELECT format('GRANT SELECT, INSERT ON %s TO %I', t, :'rollback_role')
  FROM to_regclass('public.rollback_log') t WHERE t IS NOT NULL \gexec
SELECT format('GRANT SELECT (revoked_at), UPDATE (revoked_at) ON %s TO %I', t, :'rollback_role')
  FROM to_regclass('public.refresh_token_families') t WHERE t IS NOT NULL \gexec

-- grafana: the PostgreSQL data source of the dashboards' rollback annotations
-- (grafana.postgres, docs/dashboards.md). Reads rollback_log, nothing else.
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'grafana_role') \gexec
GRANT USAGE ON SCHEMA public TO :"grafana_role";
SELECT format('GRANT SELECT ON %s TO %I', t, :'grafana_role')
  FROM to_regclass('public.rollback_log') t WHERE t IS NOT NULL \gexec

-- rollback-drill: the monthly drill's `npm run rollback -- --dry-run --drill`
-- (docs/rollback.md). Reads what the plan reads, writes nothing: it checks
-- that the rollback role holds its grants (has_table_privilege, which needs
-- no privilege) without holding them itself.
SELECT format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), :'rollback_drill_role') \gexec
GRANT USAGE ON SCHEMA public TO :"rollback_drill_role";
SELECT format('GRANT SELECT ON %s TO %I', string_agg(t::text, ', '), :'rollback_drill_role')
  FROM unnest(ARRAY[to_regclass('public.feature_flags'), to_regclass('public.rollback_log')]) t
 WHERE t IS NOT NULL
HAVING count(*) > 0 \gexec
