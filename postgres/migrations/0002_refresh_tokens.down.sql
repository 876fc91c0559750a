-- Reverses 0002_refresh_tokens.up.sql. Drops every token (all sessions must
-- log in again): the migration runner takes a backup first when the database
-- holds data.
DROP TABLE refresh_tokens;
