-- Issue 15, item 5: the open-door cabinet (docs/vending.md §12). postgres/migrations/
-- 0018_cabinet.sql is the same change in PostgreSQL.
--
-- cabinet_agreements: a member's withholding agreement with one app. external_no is the
-- external_agreement_no we send with the signing link, agreement_no Alipay's (NULL while
-- pending); both unique per app. One live (PENDING or ACTIVE) agreement per member and
-- app, so two taps on "sign" sign one.
CREATE TABLE cabinet_agreements (
	id                    INTEGER PRIMARY KEY,
	merchant_id           INTEGER NOT NULL REFERENCES merchants (id),
	member_id             INTEGER NOT NULL REFERENCES members (id),
	app_id                INTEGER NOT NULL REFERENCES apps (id),
	external_no           TEXT    NOT NULL,
	agreement_no          TEXT,
	state                 TEXT    NOT NULL CHECK (state IN ('PENDING', 'ACTIVE', 'UNSIGNED')),
	personal_product_code TEXT    NOT NULL DEFAULT '',
	sign_scene            TEXT    NOT NULL DEFAULT '',
	alipay_user_id        TEXT    NOT NULL DEFAULT '',
	alipay_open_id        TEXT    NOT NULL DEFAULT '',
	signed_at             INTEGER,
	unsigned_at           INTEGER,
	created_at            INTEGER NOT NULL,
	updated_at            INTEGER NOT NULL,
	version               INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX cabinet_agreements_external ON cabinet_agreements (app_id, external_no);
CREATE UNIQUE INDEX cabinet_agreements_number ON cabinet_agreements (app_id, agreement_no) WHERE agreement_no IS NOT NULL;
CREATE UNIQUE INDEX cabinet_agreements_live ON cabinet_agreements (member_id, app_id) WHERE state IN ('PENDING', 'ACTIVE');
CREATE INDEX cabinet_agreements_member ON cabinet_agreements (member_id, app_id, id);

-- cabinet_sessions: one member's visit to one cabinet. items is the priced report (JSON),
-- fixed with amount and out_trade_no when the door closes; out_trade_no is unique per
-- app, so no two sessions can charge under one number. One OPEN session per cabinet and
-- per member. Leased and retried like orders while CHARGING or in DEBT.
CREATE TABLE cabinet_sessions (
	id            INTEGER PRIMARY KEY,
	merchant_id   INTEGER NOT NULL REFERENCES merchants (id),
	terminal_id   INTEGER NOT NULL REFERENCES terminals (id),
	member_id     INTEGER NOT NULL REFERENCES members (id),
	app_id        INTEGER NOT NULL REFERENCES apps (id),
	state         TEXT    NOT NULL CHECK (state IN ('OPEN', 'EMPTY', 'CHARGING', 'DEBT', 'PAID', 'ABANDONED')),
	agreement_id  INTEGER REFERENCES cabinet_agreements (id),
	command_id    INTEGER,
	items         TEXT    NOT NULL DEFAULT '',
	amount        INTEGER NOT NULL DEFAULT 0 CHECK (amount >= 0),
	out_trade_no  TEXT,
	generation    INTEGER NOT NULL DEFAULT 0,
	order_id      INTEGER REFERENCES orders (id),
	trade_no      TEXT    NOT NULL DEFAULT '',
	fail_code     TEXT    NOT NULL DEFAULT '',
	fail_reason   TEXT    NOT NULL DEFAULT '',
	attempts      INTEGER NOT NULL DEFAULT 0,
	next_check_at INTEGER,
	lease_owner   TEXT    NOT NULL DEFAULT '',
	lease_until   INTEGER,
	created_at    INTEGER NOT NULL,
	closed_at     INTEGER,
	paid_at       INTEGER,
	updated_at    INTEGER NOT NULL,
	version       INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX cabinet_sessions_open_terminal ON cabinet_sessions (terminal_id) WHERE state = 'OPEN';
CREATE UNIQUE INDEX cabinet_sessions_open_member ON cabinet_sessions (member_id) WHERE state = 'OPEN';
CREATE UNIQUE INDEX cabinet_sessions_out_trade_no ON cabinet_sessions (app_id, out_trade_no) WHERE out_trade_no IS NOT NULL;
CREATE INDEX cabinet_sessions_due ON cabinet_sessions (next_check_at) WHERE state IN ('CHARGING', 'DEBT');
CREATE INDEX cabinet_sessions_member ON cabinet_sessions (member_id, id);
CREATE INDEX cabinet_sessions_merchant ON cabinet_sessions (merchant_id, id);
