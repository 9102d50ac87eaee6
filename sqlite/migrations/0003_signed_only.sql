-- A terminal can be restricted to HMAC-signed requests: its API key is then refused as
-- a bearer token, so a key copied off the wire or out of a log cannot be replayed on
-- its own. postgres/migrations/0003_signed_only.sql is the same change in PostgreSQL.

ALTER TABLE terminals ADD COLUMN signed_only INTEGER NOT NULL DEFAULT 0;
