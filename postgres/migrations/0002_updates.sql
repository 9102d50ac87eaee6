-- Issue 5: merchants and apps can be changed after creation, terminal keys rotated,
-- and terminal requests signed. sqlite/migrations/0002_updates.sql is the same change
-- in SQLite; the comments there say what the columns are for.

ALTER TABLE merchants ADD COLUMN updated_at timestamptz;
UPDATE merchants SET updated_at = created_at;
ALTER TABLE merchants ALTER COLUMN updated_at SET NOT NULL;

ALTER TABLE apps ADD COLUMN updated_at timestamptz;
ALTER TABLE apps ADD COLUMN version bigint NOT NULL DEFAULT 1;
UPDATE apps SET updated_at = created_at;
ALTER TABLE apps ALTER COLUMN updated_at SET NOT NULL;

ALTER TABLE terminals ADD COLUMN signing_secret text NOT NULL DEFAULT '';
