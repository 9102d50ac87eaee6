-- migrate: foreign_keys=off
-- Issue 12, housekeeping: a sale nobody paid before its expiry becomes EXPIRED (the
-- machine's long-poll ends on it), expired member sessions and SMS-send rows older than
-- the rate limits' window are purged (member.Housekeep, run by serve).
--
-- SQLite cannot change a CHECK constraint, so sales is rebuilt (foreign keys off, checked
-- before the commit). A branch that adds columns to sales must add them here too.
-- postgres/migrations/0011_housekeeping.sql is the same change in PostgreSQL.

CREATE TABLE sales_new (
	id           INTEGER PRIMARY KEY,
	merchant_id  INTEGER NOT NULL REFERENCES merchants (id),
	terminal_id  INTEGER NOT NULL REFERENCES terminals (id),
	out_trade_no TEXT    NOT NULL UNIQUE,
	amount       INTEGER NOT NULL CHECK (amount > 0),
	subject      TEXT    NOT NULL,
	state        TEXT    NOT NULL CHECK (state IN ('OPEN', 'TAKEN', 'CANCELLED', 'EXPIRED')),
	member_id    INTEGER REFERENCES members (id),
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL
);
INSERT INTO sales_new (id, merchant_id, terminal_id, out_trade_no, amount, subject, state, member_id, created_at, expires_at)
	SELECT id, merchant_id, terminal_id, out_trade_no, amount, subject, state, member_id, created_at, expires_at FROM sales;
DROP TABLE sales;
ALTER TABLE sales_new RENAME TO sales;
CREATE INDEX sales_open ON sales (terminal_id, id) WHERE state = 'OPEN';
CREATE INDEX sales_open_expiry ON sales (expires_at) WHERE state = 'OPEN';

CREATE INDEX member_sessions_expiry ON member_sessions (expires_at);
CREATE INDEX sms_sends_sent ON sms_sends (sent_at);
