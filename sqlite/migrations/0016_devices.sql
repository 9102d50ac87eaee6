-- Issue 15, items 1, 2 and 6: vending devices, the device channel and device health
-- (docs/vending.md §10 and §5). postgres/migrations/0016_devices.sql is the same change
-- in PostgreSQL.
--
-- devices: the vending description of a terminal (f2fpay.Device), one row a terminal.
-- device_slots: its planogram, in position order; replaced whole by PutDevice. Stock
-- never goes below zero (TakeStock clamps; the CHECK guards).
-- device_commands: the device channel. UNIQUE (terminal_id, key) makes enqueueing
-- idempotent: a retry or a crash-and-restart of whoever enqueues finds the command it
-- stored. payload and result are JSON objects as text ('' for none).
-- device_health: what the last heartbeat said and what the janitor concluded: state
-- 'unknown' (never heard), 'online' or 'offline', changed once per transition;
-- report is the last heartbeat as JSON; forwarded_at is when it was last forwarded to
-- Alipay (monitor.heartbeat.syn), for the schedule.

CREATE TABLE devices (
	terminal_id INTEGER PRIMARY KEY REFERENCES terminals (id),
	merchant_id INTEGER NOT NULL REFERENCES merchants (id),
	machine     TEXT NOT NULL CHECK (machine IN ('ordinary', 'face', 'cabinet')),
	site        TEXT NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,
	updated_at  INTEGER NOT NULL
);

CREATE TABLE device_slots (
	terminal_id INTEGER NOT NULL REFERENCES devices (terminal_id) ON DELETE CASCADE,
	position    INTEGER NOT NULL,
	code        TEXT NOT NULL,
	goods_id    TEXT NOT NULL,
	name        TEXT NOT NULL,
	price       INTEGER NOT NULL CHECK (price > 0),
	stock       INTEGER NOT NULL CHECK (stock >= 0),
	PRIMARY KEY (terminal_id, code)
);

CREATE TABLE device_commands (
	id          INTEGER PRIMARY KEY,
	terminal_id INTEGER NOT NULL REFERENCES devices (terminal_id),
	kind        TEXT NOT NULL,
	key         TEXT NOT NULL,
	payload     TEXT NOT NULL DEFAULT '',
	state       TEXT NOT NULL CHECK (state IN ('PENDING', 'ACKED', 'EXPIRED')),
	deliveries  INTEGER NOT NULL DEFAULT 0,
	result      TEXT NOT NULL DEFAULT '',
	created_at  INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL,
	acked_at    INTEGER,
	UNIQUE (terminal_id, key)
);
-- A machine's long-poll reads its pending commands; the janitor the pending ones due
-- to expire.
CREATE INDEX device_commands_pending ON device_commands (terminal_id, state, id);
CREATE INDEX device_commands_expiry ON device_commands (state, expires_at);

CREATE TABLE device_health (
	terminal_id      INTEGER PRIMARY KEY REFERENCES devices (terminal_id),
	merchant_id      INTEGER NOT NULL REFERENCES merchants (id),
	state            TEXT NOT NULL DEFAULT 'unknown' CHECK (state IN ('unknown', 'online', 'offline')),
	last_seen_at     INTEGER,
	state_changed_at INTEGER,
	report           TEXT NOT NULL DEFAULT '',
	last_error       TEXT NOT NULL DEFAULT '',
	last_error_at    INTEGER,
	forwarded_at     INTEGER,
	heartbeats       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX device_health_seen ON device_health (state, last_seen_at);
