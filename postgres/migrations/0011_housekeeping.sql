-- Issue 12, housekeeping: a sale nobody paid before its expiry becomes EXPIRED (the
-- machine's long-poll ends on it), expired member sessions and SMS-send rows older than
-- the rate limits' window are purged (member.Housekeep, run by serve).
-- sqlite/migrations/0011_housekeeping.sql is the same change in SQLite.

ALTER TABLE sales DROP CONSTRAINT sales_state_check;
ALTER TABLE sales ADD CONSTRAINT sales_state_check CHECK (state IN ('OPEN', 'TAKEN', 'CANCELLED', 'EXPIRED'));
CREATE INDEX sales_open_expiry ON sales (expires_at) WHERE state = 'OPEN';

CREATE INDEX member_sessions_expiry ON member_sessions (expires_at);
CREATE INDEX sms_sends_sent ON sms_sends (sent_at);
