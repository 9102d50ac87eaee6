-- Issue 16: refunds above a merchant's threshold wait for a second person's approval,
-- and the demo's single-use console login links. postgres/migrations/0019_console_approvals.sql
-- is the same change in PostgreSQL.
--
-- refund_approvals.refund_id is the payment engine's idempotency key of the refund the
-- approval sends: unique, so a form sent twice asks once and an approval refunds once.
-- staff_login_tokens.id is the SHA-256 of the link's token, never the token.

CREATE TABLE refund_approvals (
	id              INTEGER PRIMARY KEY,
	merchant_id     INTEGER NOT NULL,
	order_id        INTEGER NOT NULL REFERENCES orders (id),
	out_trade_no    TEXT    NOT NULL,
	refund_id       TEXT    NOT NULL UNIQUE,
	amount          INTEGER NOT NULL CHECK (amount > 0),
	reason          TEXT    NOT NULL,
	state           TEXT    NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
	requested_by    INTEGER NOT NULL,
	requested_login TEXT    NOT NULL,
	decided_by      INTEGER NOT NULL DEFAULT 0,
	decided_login   TEXT    NOT NULL DEFAULT '',
	decided_at      INTEGER,
	created_at      INTEGER NOT NULL,
	CHECK (decided_by = 0 OR decided_by <> requested_by)
);
CREATE INDEX refund_approvals_merchant ON refund_approvals (merchant_id, state, id);
CREATE INDEX refund_approvals_order ON refund_approvals (order_id, id);

CREATE TABLE refund_policies (
	merchant_id    INTEGER PRIMARY KEY,
	approval_above INTEGER NOT NULL CHECK (approval_above >= 0),
	updated_at     INTEGER NOT NULL
);

CREATE TABLE staff_login_tokens (
	id         TEXT    PRIMARY KEY,
	staff_id   INTEGER NOT NULL REFERENCES staff (id),
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL,
	used_at    INTEGER
);

-- The console's search by buyer (user id or logon id, newest first) without reading
-- the merchant's whole history (storetest BenchmarkOrderSearch, docs/performance.md).
CREATE INDEX orders_buyer_user ON orders (buyer_user_id, id);
CREATE INDEX orders_buyer_logon ON orders (buyer_logon_id, id);
-- A state's orders of one merchant, newest first, however rare the state: without it
-- a search for a state no order is in read the merchant's whole history.
CREATE INDEX orders_merchant_state ON orders (merchant_id, state, id);
