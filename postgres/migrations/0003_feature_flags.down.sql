-- Reverses 0003_feature_flags.up.sql. Services fall back to the catalog's
-- defaults (auth on, no bypass) once the table is gone.
DROP TABLE feature_flags;
DROP FUNCTION feature_flags_notify();
