-- Reverses 0001_refresh_token_families.up.sql. Drops every family: the
-- migration runner takes a backup first when the database holds data.
DROP TABLE refresh_token_families;
