-- migrate: foreign_keys=off
-- Issue 17: one service provider's (ISV) app serves many merchants.
--
-- apps.isv marks such an app; authorizations holds each merchant's consent to it: the
-- sealed app_auth_token and app_refresh_token, auth_app_id (the merchant's APPID, which
-- notifications carry), the merchant's seller id and the rebate PID, the refresher's
-- schedule and lease, and the state (active, reauthorization_required).
--
-- Order numbers become unique per app and merchant (docs/orders.md): two merchants of one
-- ISV app may both number an order "M-1", as at Alipay, where each merchant's trades are
-- its own. SQLite cannot change a UNIQUE constraint, so orders is rebuilt as in 0004
-- (the migration runs with foreign keys off and checks them before it commits).
-- A branch that adds columns to orders must add them here too, or they are dropped.
-- postgres/migrations/0010_isv.sql is the same change in PostgreSQL.

ALTER TABLE apps ADD COLUMN isv INTEGER NOT NULL DEFAULT 0;

CREATE TABLE authorizations (
	id                      INTEGER PRIMARY KEY,
	app_id                  INTEGER NOT NULL REFERENCES apps (id),
	merchant_id             INTEGER NOT NULL REFERENCES merchants (id),
	auth_app_id             TEXT    NOT NULL,
	seller_id               TEXT    NOT NULL DEFAULT '',
	sys_service_provider_id TEXT    NOT NULL DEFAULT '',
	app_auth_token          TEXT    NOT NULL DEFAULT '', -- sealed
	refresh_token           TEXT    NOT NULL DEFAULT '', -- sealed
	expires_at              INTEGER,
	re_expires_at           INTEGER,
	refresh_at              INTEGER,
	refreshed_at            INTEGER,
	state                   TEXT    NOT NULL CHECK (state IN ('active', 'reauthorization_required')),
	problem                 TEXT    NOT NULL DEFAULT '',
	created_at              INTEGER NOT NULL,
	updated_at              INTEGER NOT NULL,
	version                 INTEGER NOT NULL,
	lease_owner             TEXT    NOT NULL DEFAULT '',
	lease_until             INTEGER,
	UNIQUE (app_id, merchant_id),
	UNIQUE (app_id, auth_app_id)
);
CREATE INDEX authorizations_due ON authorizations (state, refresh_at);

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
	merchant_discount_amount INTEGER NOT NULL DEFAULT 0,
	fund_bill_list   TEXT    NOT NULL DEFAULT '',
	voucher_detail_list TEXT NOT NULL DEFAULT '',
	UNIQUE (app_id, merchant_id, out_trade_no)
);
INSERT INTO orders_new (id, out_trade_no, merchant_id, app_id, store_id, terminal_id, kind, subject, body,
	total_amount, auth_code_masked, buyer_id, qr_code, state, trade_no, buyer_user_id, buyer_logon_id,
	receipt_amount, buyer_pay_amount, discount_amount, refunded_amount, fail_code, fail_reason, cancel_action,
	pay_deadline, next_check_at, queries, cancels, paid_at, created_at, updated_at, version, lease_owner, lease_until,
	request_key, merchant_discount_amount, fund_bill_list, voucher_detail_list)
SELECT id, out_trade_no, merchant_id, app_id, store_id, terminal_id, kind, subject, body,
	total_amount, auth_code_masked, buyer_id, qr_code, state, trade_no, buyer_user_id, buyer_logon_id,
	receipt_amount, buyer_pay_amount, discount_amount, refunded_amount, fail_code, fail_reason, cancel_action,
	pay_deadline, next_check_at, queries, cancels, paid_at, created_at, updated_at, version, lease_owner, lease_until,
	request_key, merchant_discount_amount, fund_bill_list, voucher_detail_list
FROM orders;
DROP TABLE orders;
ALTER TABLE orders_new RENAME TO orders;
CREATE INDEX orders_due ON orders (state, next_check_at);
CREATE INDEX orders_merchant ON orders (merchant_id, id);
CREATE INDEX orders_terminal ON orders (terminal_id, id);
CREATE INDEX orders_out_trade_no ON orders (out_trade_no);
-- The indexes of 0008_reconciliation and 0009_console, dropped with the old table.
CREATE INDEX orders_app_paid ON orders (app_id, paid_at);
CREATE INDEX orders_created ON orders (created_at);
CREATE INDEX orders_merchant_created ON orders (merchant_id, created_at);
CREATE INDEX orders_trade_no ON orders (trade_no);
CREATE INDEX orders_store ON orders (store_id, id);
