-- A terminal can be restricted to HMAC-signed requests; sqlite/migrations/0003_signed_only.sql
-- is the same change in SQLite and says why.

ALTER TABLE terminals ADD COLUMN signed_only boolean NOT NULL DEFAULT false;
