-- Issue 5: merchants and apps can be changed after creation, terminal keys rotated,
-- and terminal requests signed. postgres/migrations/0002_updates.sql is the same change
-- in PostgreSQL.
--
-- updated_at starts as created_at. apps.version starts at 1 and grows with every
-- update: the payment engine rebuilds an app's Alipay client when the version it was
-- built from is not the stored one (a key file replaced behind the same "file:" path
-- changes nothing else in the row).
-- terminals.signing_secret is the terminal's API secret sealed with the master key
-- (purpose "terminal:<key_id>:signing_secret"), for HMAC-signed requests; '' for a
-- terminal whose key was made without a master key, or before this migration.

ALTER TABLE merchants ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
UPDATE merchants SET updated_at = created_at;

ALTER TABLE apps ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE apps ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
UPDATE apps SET updated_at = created_at;

ALTER TABLE terminals ADD COLUMN signing_secret TEXT NOT NULL DEFAULT '';
