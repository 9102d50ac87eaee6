-- Issue 16: the operator console's staff, their sessions, and the audit log of what
-- they did. postgres/migrations/0009_console.sql is the same change in PostgreSQL.
--
-- staff.password_hash is argon2id in PHC form; merchant_id 0 means every merchant (no
-- foreign key, so the operator's own staff need no merchant). staff_sessions.id is the
-- SHA-256 of the cookie's token, never the token.

CREATE TABLE staff (
	id            INTEGER PRIMARY KEY,
	login         TEXT    NOT NULL UNIQUE,
	name          TEXT    NOT NULL DEFAULT '',
	role          TEXT    NOT NULL CHECK (role IN ('owner', 'finance', 'support', 'readonly')),
	merchant_id   INTEGER NOT NULL DEFAULT 0 CHECK (merchant_id >= 0),
	password_hash TEXT    NOT NULL,
	disabled      INTEGER NOT NULL DEFAULT 0,
	failed_logins INTEGER NOT NULL DEFAULT 0,
	locked_until  INTEGER,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL
);

CREATE TABLE staff_sessions (
	id         TEXT    PRIMARY KEY,
	staff_id   INTEGER NOT NULL REFERENCES staff (id),
	csrf_token TEXT    NOT NULL,
	ip         TEXT    NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
);
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);

-- Append-only: the triggers refuse every UPDATE and DELETE, whoever runs them.
CREATE TABLE audit_log (
	id          INTEGER PRIMARY KEY,
	at          INTEGER NOT NULL,
	staff_id    INTEGER NOT NULL DEFAULT 0,
	staff_login TEXT    NOT NULL DEFAULT '',
	merchant_id INTEGER NOT NULL DEFAULT 0,
	action      TEXT    NOT NULL,
	target      TEXT    NOT NULL DEFAULT '',
	detail      TEXT    NOT NULL DEFAULT '',
	ip          TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_merchant ON audit_log (merchant_id, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;

-- The console's searches and overview: by time, by Alipay's trade number, by store.
CREATE INDEX orders_created ON orders (created_at);
CREATE INDEX orders_merchant_created ON orders (merchant_id, created_at);
CREATE INDEX orders_trade_no ON orders (trade_no);
CREATE INDEX orders_store ON orders (store_id, id);
CREATE INDEX gateway_calls_at ON gateway_calls (at);
