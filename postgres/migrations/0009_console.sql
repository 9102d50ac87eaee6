-- Issue 16: the operator console's staff, their sessions, and the audit log of what
-- they did. sqlite/migrations/0009_console.sql is the same change in SQLite.
--
-- staff.password_hash is argon2id in PHC form; merchant_id 0 means every merchant (no
-- foreign key, so the operator's own staff need no merchant). staff_sessions.id is the
-- SHA-256 of the cookie's token, never the token.

CREATE TABLE staff (
	id            bigserial   PRIMARY KEY,
	login         text        NOT NULL UNIQUE,
	name          text        NOT NULL DEFAULT '',
	role          text        NOT NULL CHECK (role IN ('owner', 'finance', 'support', 'readonly')),
	merchant_id   bigint      NOT NULL DEFAULT 0 CHECK (merchant_id >= 0),
	password_hash text        NOT NULL,
	disabled      boolean     NOT NULL DEFAULT false,
	failed_logins integer     NOT NULL DEFAULT 0,
	locked_until  timestamptz,
	created_at    timestamptz NOT NULL,
	updated_at    timestamptz NOT NULL
);

CREATE TABLE staff_sessions (
	id         text        PRIMARY KEY,
	staff_id   bigint      NOT NULL REFERENCES staff (id),
	csrf_token text        NOT NULL,
	ip         text        NOT NULL DEFAULT '',
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);

-- Append-only: the trigger refuses every UPDATE and DELETE, whoever runs them
-- (TRUNCATE too).
CREATE TABLE audit_log (
	id          bigserial   PRIMARY KEY,
	at          timestamptz NOT NULL,
	staff_id    bigint      NOT NULL DEFAULT 0,
	staff_login text        NOT NULL DEFAULT '',
	merchant_id bigint      NOT NULL DEFAULT 0,
	action      text        NOT NULL,
	target      text        NOT NULL DEFAULT '',
	detail      text        NOT NULL DEFAULT '',
	ip          text        NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_merchant ON audit_log (merchant_id, id);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
	FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
	FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();

-- The console's searches and overview: by time, by Alipay's trade number, by store.
CREATE INDEX orders_created ON orders (created_at);
CREATE INDEX orders_merchant_created ON orders (merchant_id, created_at);
CREATE INDEX orders_trade_no ON orders (trade_no);
CREATE INDEX orders_store ON orders (store_id, id);
CREATE INDEX gateway_calls_at ON gateway_calls (at);
