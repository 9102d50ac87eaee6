-- Issue 12, item 4: fund modes per device (docs/vending.md §9).
-- postgres/migrations/0007_fund_modes.sql is the same change in PostgreSQL.
--
-- fund_rules: one rule per store or per terminal (the terminal's wins). receivers holds
-- f2fpay.FundReceiver list as JSON (fixed amounts as "0.00" strings, shares in basis
-- points). settle_delay_ms: asynchronous sharing's delay after payment.
-- royalty_relations: receivers bound to an app with alipay.trade.royalty.relation.bind;
-- a rule naming a receiver not bound to every app of its merchant is refused.
-- settlements: the asynchronous sharing of one order, written before the frozen trade
-- is sent; leased and retried like orders.

CREATE TABLE fund_rules (
	id              INTEGER PRIMARY KEY,
	merchant_id     INTEGER NOT NULL REFERENCES merchants (id),
	store_id        INTEGER UNIQUE REFERENCES stores (id),
	terminal_id     INTEGER UNIQUE REFERENCES terminals (id),
	mode            TEXT NOT NULL CHECK (mode IN ('collection', 'realtime', 'async')),
	receivers       TEXT NOT NULL DEFAULT '',
	settle_delay_ms INTEGER NOT NULL DEFAULT 0 CHECK (settle_delay_ms >= 0),
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	CHECK ((store_id IS NULL) <> (terminal_id IS NULL))
);

CREATE TABLE royalty_relations (
	app_id         INTEGER NOT NULL REFERENCES apps (id),
	account        TEXT NOT NULL,
	name           TEXT NOT NULL DEFAULT '',
	out_request_no TEXT NOT NULL,
	bound_at       INTEGER NOT NULL,
	PRIMARY KEY (app_id, account)
);

CREATE TABLE settlements (
	id              INTEGER PRIMARY KEY,
	order_id        INTEGER NOT NULL UNIQUE REFERENCES orders (id),
	merchant_id     INTEGER NOT NULL REFERENCES merchants (id),
	state           TEXT NOT NULL CHECK (state IN ('WAITING', 'SETTLING', 'SETTLED', 'NONE', 'FAILED')),
	receivers       TEXT NOT NULL DEFAULT '',
	delay_ms        INTEGER NOT NULL DEFAULT 0,
	final           INTEGER NOT NULL DEFAULT 0,
	out_request_no  TEXT NOT NULL DEFAULT '',
	shares          TEXT NOT NULL DEFAULT '',
	base_amount     INTEGER NOT NULL DEFAULT 0 CHECK (base_amount >= 0),
	settle_no       TEXT NOT NULL DEFAULT '',
	attempts        INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT '',
	due_at          INTEGER,
	lease_owner     TEXT,
	lease_until     INTEGER,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	version         INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX settlements_due ON settlements (state, due_at);
