-- Reverses 0004_rollback_log.up.sql: the history of rollbacks is lost (the
-- migration runner takes a backup first when the database holds data).
DROP TABLE rollback_log;
