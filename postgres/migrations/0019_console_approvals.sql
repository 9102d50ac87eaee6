-- Issue 16: refunds above a merchant's threshold wait for a second person's approval,
-- and the demo's single-use console login links. sqlite/migrations/0019_console_approvals.sql
-- is the same change in SQLite.
--
-- refund_approvals.refund_id is the payment engine's idempotency key of the refund the
-- approval sends: unique, so a form sent twice asks once and an approval refunds once.
-- staff_login_tokens.id is the SHA-256 of the link's token, never the token.

CREATE TABLE refund_approvals (
	id              bigserial   PRIMARY KEY,
	merchant_id     bigint  NOT NULL,
	order_id        bigint  NOT NULL REFERENCES orders (id),
	out_trade_no    text    NOT NULL,
	refund_id       text    NOT NULL UNIQUE,
	amount          bigint  NOT NULL CHECK (amount > 0),
	reason          text    NOT NULL,
	state           text    NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
	requested_by    bigint  NOT NULL,
	requested_login text    NOT NULL,
	decided_by      bigint  NOT NULL DEFAULT 0,
	decided_login   text    NOT NULL DEFAULT '',
	decided_at      timestamptz,
	created_at      timestamptz NOT NULL,
	CHECK (decided_by = 0 OR decided_by <> requested_by)
);
CREATE INDEX refund_approvals_merchant ON refund_approvals (merchant_id, state, id);
CREATE INDEX refund_approvals_order ON refund_approvals (order_id, id);

CREATE TABLE refund_policies (
	merchant_id    bigint      PRIMARY KEY,
	approval_above bigint  NOT NULL CHECK (approval_above >= 0),
	updated_at     timestamptz NOT NULL
);

CREATE TABLE staff_login_tokens (
	id         text    PRIMARY KEY,
	staff_id   bigint  NOT NULL REFERENCES staff (id),
	created_at timestamptz NOT NULL,
	expires_at timestamptz NOT NULL,
	used_at    timestamptz
);

-- The console's search by buyer (user id or logon id, newest first) without reading
-- the merchant's whole history (storetest BenchmarkOrderSearch, docs/performance.md).
CREATE INDEX orders_buyer_user ON orders (buyer_user_id, id);
CREATE INDEX orders_buyer_logon ON orders (buyer_logon_id, id);
-- A state's orders of one merchant, newest first, however rare the state: without it
-- a search for a state no order is in read the merchant's whole history.
CREATE INDEX orders_merchant_state ON orders (merchant_id, state, id);
