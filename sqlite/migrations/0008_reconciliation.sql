-- Issue 13: reconciliation (对账) of each app's Beijing day against Alipay's trade bill
-- (docs/reconciliation.md). postgres/migrations/0008_reconciliation.sql is the same
-- change in PostgreSQL.
--
-- recon_reports: one row per app and day; lease_owner/lease_until make one run (one
-- instance) hold a day at a time, and let a crashed run's successor take it over.
-- summary is a JSON list of f2fpay.ReconClassSum.
CREATE TABLE recon_reports (
	id                 INTEGER PRIMARY KEY,
	app_id             INTEGER NOT NULL REFERENCES apps (id),
	day                TEXT    NOT NULL,
	status             TEXT    NOT NULL CHECK (status IN ('running', 'balanced', 'open', 'pending', 'failed')),
	attempts           INTEGER NOT NULL DEFAULT 0,
	lease_owner        TEXT    NOT NULL DEFAULT '',
	lease_until        INTEGER,
	started_at         INTEGER,
	finished_at        INTEGER,
	error              TEXT    NOT NULL DEFAULT '',
	bill_trades        INTEGER NOT NULL DEFAULT 0,
	bill_refunds       INTEGER NOT NULL DEFAULT 0,
	bill_trade_amount  INTEGER NOT NULL DEFAULT 0,
	bill_refund_amount INTEGER NOT NULL DEFAULT 0,
	summary            TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(summary)),
	UNIQUE (app_id, day)
);

-- recon_bill_rows: a run's bill, staged so that it is joined with the orders in the
-- database (constant memory in the service whatever the day's size); dropped when the
-- run ends.
CREATE TABLE recon_bill_rows (
	report_id         INTEGER NOT NULL REFERENCES recon_reports (id) ON DELETE CASCADE,
	line              INTEGER NOT NULL,
	kind              TEXT    NOT NULL,
	trade_no          TEXT    NOT NULL,
	out_trade_no      TEXT    NOT NULL,
	out_request_no    TEXT    NOT NULL,
	order_amount      INTEGER NOT NULL,
	receipt           INTEGER NOT NULL,
	merchant_discount INTEGER NOT NULL,
	voucher_amount    INTEGER NOT NULL,
	service_fee       INTEGER NOT NULL,
	finished_at       INTEGER,
	PRIMARY KEY (report_id, line)
);
CREATE INDEX recon_bill_rows_key ON recon_bill_rows (report_id, out_trade_no, kind, out_request_no);

-- recon_entries: the differences found, one per (report, class, key), so that a run
-- started again records each once; actions is a JSON list of f2fpay.ReconAction.
CREATE TABLE recon_entries (
	id             INTEGER PRIMARY KEY,
	report_id      INTEGER NOT NULL REFERENCES recon_reports (id),
	app_id         INTEGER NOT NULL,
	day            TEXT    NOT NULL,
	class          TEXT    NOT NULL,
	entry_key      TEXT    NOT NULL,
	status         TEXT    NOT NULL CHECK (status IN ('pending', 'open', 'repaired', 'confirmed', 'matched')),
	out_trade_no   TEXT    NOT NULL,
	trade_no       TEXT    NOT NULL,
	out_request_no TEXT    NOT NULL,
	order_id       INTEGER,
	bill_amount    INTEGER NOT NULL,
	local_amount   INTEGER NOT NULL,
	detail         TEXT    NOT NULL,
	reason         TEXT    NOT NULL,
	actions        TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(actions)),
	pending_until  TEXT    NOT NULL DEFAULT '',
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL,
	UNIQUE (report_id, class, entry_key)
);
CREATE INDEX recon_entries_pending ON recon_entries (app_id, status, day);

-- recon_app_settings: the service fee agreed with Alipay, in basis points of 商家实收.
CREATE TABLE recon_app_settings (
	app_id      INTEGER PRIMARY KEY REFERENCES apps (id),
	fee_rate_bp INTEGER NOT NULL CHECK (fee_rate_bp BETWEEN 0 AND 10000)
);

-- The local side of a day: the app's orders paid in it, its refunds made in it.
CREATE INDEX orders_app_paid ON orders (app_id, paid_at);
CREATE INDEX refunds_refunded ON refunds (refunded_at);
