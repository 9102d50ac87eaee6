-- Issue 12, items 1-3: members who link their Alipay account on the machine's H5 page
-- and pay with one tap. postgres/migrations/0006_members.sql is the same change in
-- PostgreSQL.
--
-- members: one row per person per merchant. phone_sealed is the number sealed with the
-- master key, phone_hash its keyed hash (HMAC-SHA256, key derived from the master key)
-- for lookups, NULL when no phone is verified; phone_masked is what is shown. Erasure
-- empties the person's columns and sets erased_at; the row stays.
CREATE TABLE members (
	id           INTEGER PRIMARY KEY,
	merchant_id  INTEGER NOT NULL REFERENCES merchants (id),
	phone_sealed TEXT    NOT NULL DEFAULT '',
	phone_hash   BLOB,
	phone_masked TEXT    NOT NULL DEFAULT '',
	nick_name    TEXT    NOT NULL DEFAULT '',
	avatar       TEXT    NOT NULL DEFAULT '',
	gender       TEXT    NOT NULL DEFAULT '',
	province     TEXT    NOT NULL DEFAULT '',
	city         TEXT    NOT NULL DEFAULT '',
	created_at   INTEGER NOT NULL,
	updated_at   INTEGER NOT NULL,
	erased_at    INTEGER
);
CREATE UNIQUE INDEX members_phone ON members (merchant_id, phone_hash) WHERE phone_hash IS NOT NULL;

-- member_identities: an Alipay account as one app knows it, user_id or open_id (NULL
-- when the app did not receive it), each unique per app.
CREATE TABLE member_identities (
	id        INTEGER PRIMARY KEY,
	member_id INTEGER NOT NULL REFERENCES members (id),
	app_id    INTEGER NOT NULL REFERENCES apps (id),
	user_id   TEXT,
	open_id   TEXT,
	linked_at INTEGER NOT NULL,
	seen_at   INTEGER NOT NULL,
	CHECK (user_id IS NOT NULL OR open_id IS NOT NULL)
);
CREATE UNIQUE INDEX member_identities_user ON member_identities (app_id, user_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX member_identities_open ON member_identities (app_id, open_id) WHERE open_id IS NOT NULL;
CREATE INDEX member_identities_member ON member_identities (member_id);

-- member_sessions: a browser on the H5 pages, keyed by the SHA-256 of its cookie.
CREATE TABLE member_sessions (
	id              INTEGER PRIMARY KEY,
	token_hash      BLOB    NOT NULL UNIQUE,
	merchant_id     INTEGER NOT NULL REFERENCES merchants (id),
	terminal_id     INTEGER REFERENCES terminals (id),
	state           TEXT    NOT NULL DEFAULT '',
	scope           TEXT    NOT NULL DEFAULT '',
	member_id       INTEGER REFERENCES members (id),
	app_id          INTEGER REFERENCES apps (id),
	user_id         TEXT    NOT NULL DEFAULT '',
	open_id         TEXT    NOT NULL DEFAULT '',
	profile         TEXT    NOT NULL DEFAULT '',
	consented       INTEGER NOT NULL DEFAULT 0,
	phone_sealed    TEXT    NOT NULL DEFAULT '',
	phone_hash      BLOB,
	code_hash       BLOB,
	code_expires_at INTEGER,
	code_attempts   INTEGER NOT NULL DEFAULT 0,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	expires_at      INTEGER NOT NULL,
	version         INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX member_sessions_member ON member_sessions (member_id);

-- sms_sends: the codes sent, for the rate limits per phone and per client.
CREATE TABLE sms_sends (
	id          INTEGER PRIMARY KEY,
	merchant_id INTEGER NOT NULL REFERENCES merchants (id),
	phone_hash  BLOB    NOT NULL,
	client      TEXT    NOT NULL,
	sent_at     INTEGER NOT NULL
);
CREATE INDEX sms_sends_phone ON sms_sends (merchant_id, phone_hash, sent_at);
CREATE INDEX sms_sends_client ON sms_sends (merchant_id, client, sent_at);

-- sales: what a machine offers a member to pay with one tap (f2fpay.Sale).
CREATE TABLE sales (
	id           INTEGER PRIMARY KEY,
	merchant_id  INTEGER NOT NULL REFERENCES merchants (id),
	terminal_id  INTEGER NOT NULL REFERENCES terminals (id),
	out_trade_no TEXT    NOT NULL UNIQUE,
	amount       INTEGER NOT NULL CHECK (amount > 0),
	subject      TEXT    NOT NULL,
	state        TEXT    NOT NULL CHECK (state IN ('OPEN', 'TAKEN', 'CANCELLED')),
	member_id    INTEGER REFERENCES members (id),
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL
);
CREATE INDEX sales_open ON sales (terminal_id, id) WHERE state = 'OPEN';
