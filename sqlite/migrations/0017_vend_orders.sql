-- Issue 15, item 3: vend orders — pay, dispense, confirm (docs/vending.md §11).
-- postgres/migrations/0017_vend_orders.sql is the same change in PostgreSQL.
--
-- vend_orders: one sale of a vending machine, paid through the payment order
-- (app_id, merchant_id, out_trade_no) — chosen before that order exists, so not a
-- foreign key. items holds the units (f2fpay.VendItem list) as JSON: each unit's state,
-- command and refund id change together with the vend's state, in one compare-and-set
-- on version. request_key (NULL for none) makes creation idempotent per terminal.
-- face_out_trade_no: the number of a face attempt, recorded before its trade.pay; after
-- a QR fallback out_trade_no is the QR order's and this one stays, so the face order
-- is still looked after (docs/vending.md §11).
-- Leased and claimed by the vend janitor like settlements.

CREATE TABLE vend_orders (
	id            INTEGER PRIMARY KEY,
	merchant_id   INTEGER NOT NULL REFERENCES merchants (id),
	terminal_id   INTEGER NOT NULL REFERENCES terminals (id),
	app_id        INTEGER NOT NULL REFERENCES apps (id),
	out_trade_no  TEXT NOT NULL,
	pay_kind      TEXT NOT NULL,
	face_out_trade_no TEXT NOT NULL DEFAULT '',
	total         INTEGER NOT NULL CHECK (total > 0),
	state         TEXT NOT NULL CHECK (state IN ('AWAITING_PAYMENT', 'DISPENSING', 'FINAL', 'CANCELLED', 'ATTENTION')),
	items         TEXT NOT NULL,
	request_key   TEXT,
	pay_deadline  INTEGER NOT NULL,
	paid_at       INTEGER,
	final_at      INTEGER,
	next_check_at INTEGER,
	lease_owner   TEXT,
	lease_until   INTEGER,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL,
	version       INTEGER NOT NULL DEFAULT 1,
	UNIQUE (app_id, merchant_id, out_trade_no),
	UNIQUE (terminal_id, request_key)
);
CREATE INDEX vend_orders_due ON vend_orders (state, next_check_at);
CREATE INDEX vend_orders_merchant ON vend_orders (merchant_id, id);
