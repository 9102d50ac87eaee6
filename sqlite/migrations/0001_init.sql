-- f2fpay schema, SQLite dialect. postgres/migrations/0001_init.sql is the same schema
-- in PostgreSQL; keep the two side by side when changing either.
--
-- Times are INTEGER microseconds since the Unix epoch, UTC (PostgreSQL's timestamptz
-- precision, so both stores round-trip the same values); NULL is the zero time.
-- Amounts are INTEGER fen (f2fpay.Amount), never REAL.
-- Optional references (a terminal's store, an order's terminal) are NULL when absent, so
-- foreign keys hold for the rows that have them.

CREATE TABLE merchants (
	id             INTEGER PRIMARY KEY,
	name           TEXT    NOT NULL,
	webhook_url    TEXT    NOT NULL DEFAULT '',
	webhook_secret TEXT    NOT NULL DEFAULT '',
	created_at     INTEGER NOT NULL
);

CREATE TABLE apps (
	id                      INTEGER PRIMARY KEY,
	merchant_id             INTEGER NOT NULL REFERENCES merchants (id),
	app_id                  TEXT    NOT NULL UNIQUE, -- Alipay's APPID; notifications name it
	name                    TEXT    NOT NULL DEFAULT '',
	gateway                 TEXT    NOT NULL DEFAULT '',
	sign_type               TEXT    NOT NULL DEFAULT '',
	key_mode                TEXT    NOT NULL DEFAULT '',
	private_key             TEXT    NOT NULL DEFAULT '', -- sealed or "file:/path", never plain
	alipay_public_key       TEXT    NOT NULL DEFAULT '',
	app_cert                TEXT    NOT NULL DEFAULT '',
	alipay_cert             TEXT    NOT NULL DEFAULT '',
	alipay_root_cert        TEXT    NOT NULL DEFAULT '',
	seller_id               TEXT    NOT NULL DEFAULT '',
	app_auth_token          TEXT    NOT NULL DEFAULT '', -- sealed
	sys_service_provider_id TEXT    NOT NULL DEFAULT '',
	created_at              INTEGER NOT NULL
);
CREATE INDEX apps_merchant ON apps (merchant_id);

CREATE TABLE stores (
	id          INTEGER PRIMARY KEY,
	merchant_id INTEGER NOT NULL REFERENCES merchants (id),
	code        TEXT    NOT NULL,
	name        TEXT    NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,
	UNIQUE (merchant_id, code)
);

CREATE TABLE terminals (
	id          INTEGER PRIMARY KEY,
	merchant_id INTEGER NOT NULL REFERENCES merchants (id),
	store_id    INTEGER REFERENCES stores (id),
	app_id      INTEGER REFERENCES apps (id),
	code        TEXT    NOT NULL,
	kind        TEXT    NOT NULL,
	name        TEXT    NOT NULL DEFAULT '',
	key_id      TEXT UNIQUE, -- NULL when the terminal has no API key
	key_hash    BLOB,
	disabled    INTEGER NOT NULL DEFAULT 0,
	created_at  INTEGER NOT NULL,
	UNIQUE (merchant_id, code)
);

CREATE TABLE orders (
	id               INTEGER PRIMARY KEY,
	out_trade_no     TEXT    NOT NULL UNIQUE,
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
	lease_owner      TEXT    NOT NULL DEFAULT '', -- ClaimDueOrders; cleared by UpdateOrder
	lease_until      INTEGER
);
-- ClaimDueOrders looks up the non-final states one by one, then next_check_at;
-- CountOrdersByState reads this index alone.
CREATE INDEX orders_due ON orders (state, next_check_at);
CREATE INDEX orders_merchant ON orders (merchant_id, id);
CREATE INDEX orders_terminal ON orders (terminal_id, id);

CREATE TABLE refunds (
	id             INTEGER PRIMARY KEY,
	order_id       INTEGER NOT NULL REFERENCES orders (id),
	out_request_no TEXT    NOT NULL,
	amount         INTEGER NOT NULL CHECK (amount >= 0),
	reason         TEXT    NOT NULL DEFAULT '',
	state          TEXT    NOT NULL CHECK (state IN ('PENDING', 'UNKNOWN', 'SUCCEEDED', 'FAILED')),
	fail_code      TEXT    NOT NULL DEFAULT '',
	fail_reason    TEXT    NOT NULL DEFAULT '',
	refunded_at    INTEGER,
	next_check_at  INTEGER,
	attempts       INTEGER NOT NULL DEFAULT 0,
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL,
	version        INTEGER NOT NULL,
	lease_owner    TEXT    NOT NULL DEFAULT '',
	lease_until    INTEGER,
	UNIQUE (order_id, out_request_no)
);
CREATE INDEX refunds_due ON refunds (state, next_check_at);

CREATE TABLE gateway_calls (
	id         INTEGER PRIMARY KEY,
	order_id   INTEGER NOT NULL REFERENCES orders (id),
	refund_id  INTEGER REFERENCES refunds (id),
	method     TEXT    NOT NULL,
	code       TEXT    NOT NULL DEFAULT '',
	sub_code   TEXT    NOT NULL DEFAULT '',
	message    TEXT    NOT NULL DEFAULT '',
	outcome    TEXT    NOT NULL DEFAULT '',
	latency_ns INTEGER NOT NULL DEFAULT 0,
	at         INTEGER NOT NULL
);
CREATE INDEX gateway_calls_order ON gateway_calls (order_id, id);

-- The outbox. seq orders events as they were written; id is the stable public id.
CREATE TABLE events (
	seq             INTEGER PRIMARY KEY,
	id              TEXT    NOT NULL UNIQUE,
	type            TEXT    NOT NULL,
	merchant_id     INTEGER NOT NULL REFERENCES merchants (id),
	order_id        INTEGER REFERENCES orders (id),
	refund_id       INTEGER REFERENCES refunds (id),
	payload         TEXT    NOT NULL CHECK (json_valid(payload)),
	created_at      INTEGER NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	next_attempt_at INTEGER NOT NULL,
	delivered_at    INTEGER,
	dead_at         INTEGER,
	last_error      TEXT    NOT NULL DEFAULT '',
	token           INTEGER NOT NULL DEFAULT 0, -- fencing token, +1 per claim
	lease_owner     TEXT    NOT NULL DEFAULT '',
	lease_until     INTEGER
);
-- Only undelivered, live events are ever claimed: the partial index stays as small as
-- the backlog however long the history grows.
CREATE INDEX events_due ON events (next_attempt_at) WHERE delivered_at IS NULL AND dead_at IS NULL;
CREATE INDEX events_merchant ON events (merchant_id, seq);
CREATE INDEX events_order ON events (order_id);

CREATE TABLE idempotency_keys (
	terminal_id  INTEGER NOT NULL REFERENCES terminals (id),
	key          TEXT    NOT NULL,
	request_hash TEXT    NOT NULL,
	done         INTEGER NOT NULL DEFAULT 0,
	status       INTEGER NOT NULL DEFAULT 0,
	response     BLOB,
	created_at   INTEGER NOT NULL,
	PRIMARY KEY (terminal_id, key)
);
