-- migrate: foreign_keys=off
-- Order numbers are unique per app, as Alipay keeps them (docs/orders.md): two merchants
-- (two apps) may both number an order "M-1". SQLite cannot drop the column's UNIQUE
-- constraint, so the table is rebuilt (https://www.sqlite.org/lang_altertable.html,
-- "Making Other Kinds Of Table Schema Changes"): the migration runs with foreign keys
-- off and checks them before it commits (sqlite/migrate.go). orders also gains
-- request_key, the digest of the terminal request that created the order, so a retry of
-- that request is answered with the order. idempotency_keys gains owner, the instance
-- running a request; instances holds their heartbeats. postgres/migrations/0004_order_scope.sql
-- is the same change in PostgreSQL.

CREATE TABLE orders_new (
	id               INTEGER PRIMARY KEY,
	out_trade_no     TEXT    NOT NULL,
	merchant_id      INTEGER NOT NULL REFERENCES merchants (id),
	app_id           INTEGER NOT NULL REFERENCES apps (id),
	store_id         INTEGER REFERENCES stores (id),
	terminal_id      INTEGER REFERENCES terminals (id),
	kind             TEXT    NOT NULL,
	subject          TEXT    NOT NULL DEFAULT '',
	body             TEXT    NOT NULL DEFAULT '',
	total_amount     INTEGER NOT NULL CHECK (total_amount >= 0),
	auth_code_masked TEXT    NOT NULL DEFAULT '',
	buyer_id         TEXT    NOT NULL DEFAULT '',
	qr_code          TEXT    NOT NULL DEFAULT '',
	state            TEXT    NOT NULL CHECK (state IN ('PAYING', 'WAITING', 'UNKNOWN', 'PENDING', 'CANCELLING',
	                                                   'PAID', 'FAILED', 'CANCELLED', 'CLOSED')),
	trade_no         TEXT    NOT NULL DEFAULT '',
	buyer_user_id    TEXT    NOT NULL DEFAULT '',
	buyer_logon_id   TEXT    NOT NULL DEFAULT '',
	receipt_amount   INTEGER NOT NULL DEFAULT 0,
	buyer_pay_amount INTEGER NOT NULL DEFAULT 0,
	discount_amount  INTEGER NOT NULL DEFAULT 0,
	refunded_amount  INTEGER NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0),
	fail_code        TEXT    NOT NULL DEFAULT '',
	fail_reason      TEXT    NOT NULL DEFAULT '',
	cancel_action    TEXT    NOT NULL DEFAULT '',
	pay_deadline     INTEGER,
	next_check_at    INTEGER,
	queries          INTEGER NOT NULL DEFAULT 0,
	cancels          INTEGER NOT NULL DEFAULT 0,
	paid_at          INTEGER,
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	version          INTEGER NOT NULL,
	lease_owner      TEXT    NOT NULL DEFAULT '',
	lease_until      INTEGER,
	request_key      TEXT    NOT NULL DEFAULT '',
	UNIQUE (app_id, out_trade_no)
);
INSERT INTO orders_new (id, out_trade_no, merchant_id, app_id, store_id, terminal_id, kind, subject, body,
	total_amount, auth_code_masked, buyer_id, qr_code, state, trade_no, buyer_user_id, buyer_logon_id,
	receipt_amount, buyer_pay_amount, discount_amount, refunded_amount, fail_code, fail_reason, cancel_action,
	pay_deadline, next_check_at, queries, cancels, paid_at, created_at, updated_at, version, lease_owner, lease_until)
SELECT id, out_trade_no, merchant_id, app_id, store_id, terminal_id, kind, subject, body,
	total_amount, auth_code_masked, buyer_id, qr_code, state, trade_no, buyer_user_id, buyer_logon_id,
	receipt_amount, buyer_pay_amount, discount_amount, refunded_amount, fail_code, fail_reason, cancel_action,
	pay_deadline, next_check_at, queries, cancels, paid_at, created_at, updated_at, version, lease_owner, lease_until
FROM orders;
DROP TABLE orders;
ALTER TABLE orders_new RENAME TO orders;
CREATE INDEX orders_due ON orders (state, next_check_at);
CREATE INDEX orders_merchant ON orders (merchant_id, id);
CREATE INDEX orders_terminal ON orders (terminal_id, id);
-- Support looks an order up by its number alone, across apps (GET /admin/orders/{out_trade_no}).
CREATE INDEX orders_out_trade_no ON orders (out_trade_no);

ALTER TABLE idempotency_keys ADD COLUMN owner TEXT NOT NULL DEFAULT '';

CREATE TABLE instances (
	owner   TEXT    PRIMARY KEY,
	seen_at INTEGER NOT NULL
);
