-- SQLite's side of the statements that differ between the dialects; the same names,
-- in the same order, as postgres/queries.sql (diff the two). The rest, written once,
-- is internal/sqlstore/queries.sql. Placeholders are written $n there and here and
-- rendered ?n when the store opens.

-- The claims need no row locks: they run in a write transaction (BEGIN IMMEDIATE),
-- and the single writer lock keeps two claimers from taking the same row.
-- name: ClaimDueOrders
UPDATE orders SET lease_owner = $1, lease_until = $2
WHERE id IN (
	SELECT id FROM orders
	WHERE state IN ({openOrderStates})
		AND (next_check_at IS NULL OR next_check_at <= $3)
		AND (lease_until IS NULL OR lease_until <= $3)
	ORDER BY next_check_at NULLS FIRST, id
	LIMIT $4)
RETURNING {orderCols};

-- name: ClaimDueRefunds
UPDATE refunds SET lease_owner = $1, lease_until = $2
WHERE id IN (
	SELECT id FROM refunds
	WHERE state IN ('PENDING', 'UNKNOWN')
		AND (next_check_at IS NULL OR next_check_at <= $3)
		AND (lease_until IS NULL OR lease_until <= $3)
	ORDER BY next_check_at NULLS FIRST, id
	LIMIT $4)
RETURNING {refundCols};

-- name: ClaimEvents
UPDATE events SET token = token + 1, lease_owner = $1, lease_until = $2
WHERE seq IN (
	SELECT seq FROM events
	WHERE delivered_at IS NULL AND dead_at IS NULL
		AND next_attempt_at <= $3
		AND (lease_until IS NULL OR lease_until <= $3)
	ORDER BY next_attempt_at, seq
	LIMIT $4)
RETURNING {eventCols};

-- A record read in a write transaction is locked already: the write lock is the lock.
-- name: LockIdempotent
SELECT {idemCols} FROM idempotency_keys WHERE terminal_id = $1 AND key = $2;

-- name: IdempotentDone
SELECT done FROM idempotency_keys WHERE terminal_id = $1 AND key = $2;

-- name: BeatInstance
INSERT INTO instances (owner, seen_at) VALUES ($1, $2)
ON CONFLICT (owner) DO UPDATE SET seen_at = max(seen_at, excluded.seen_at);

-- There is no index on created_at (it would cost every request a write): the rowids
-- grow with time, so the scan meets the expired records first and stops at the
-- limit; only a sweep that finds fewer than the limit reads the whole table.
-- name: PurgeIdempotent
DELETE FROM idempotency_keys WHERE rowid IN (
	SELECT rowid FROM idempotency_keys WHERE created_at < $1 ORDER BY rowid LIMIT $2);

-- name: ClaimDueAuthorizations
UPDATE authorizations SET lease_owner = $1, lease_until = $2
WHERE id IN (
	SELECT id FROM authorizations
	WHERE state = 'active' AND refresh_at <= $3
		AND (lease_until IS NULL OR lease_until <= $3)
	ORDER BY refresh_at, id
	LIMIT $4)
RETURNING {authCols};
-- name: OrderSeries
-- The console's chart: orders in buckets of $2 microseconds from $1, numbered from 0.
-- The WHERE and GROUP BY are added by OrderSeries.
SELECT (created_at - $1) / $2 AS bucket, count(*),
	sum(CASE WHEN state = 'PAID' THEN 1 ELSE 0 END),
	CAST(coalesce(sum(CASE WHEN state = 'PAID' THEN total_amount ELSE 0 END), 0) AS BIGINT)
FROM orders;
-- name: ClaimDueSettlements
UPDATE settlements SET lease_owner = $1, lease_until = $2
WHERE id IN (
	SELECT id FROM settlements
	WHERE state IN ('WAITING', 'SETTLING')
		AND (due_at IS NULL OR due_at <= $3)
		AND (lease_until IS NULL OR lease_until <= $3)
	ORDER BY due_at NULLS FIRST, id
	LIMIT $4)
RETURNING {settlementCols};

-- name: ClaimDueVendOrders
UPDATE vend_orders SET lease_owner = $1, lease_until = $2
WHERE id IN (
	SELECT id FROM vend_orders
	WHERE state IN ('AWAITING_PAYMENT', 'DISPENSING')
		AND (next_check_at IS NULL OR next_check_at <= $3)
		AND (lease_until IS NULL OR lease_until <= $3)
	ORDER BY next_check_at NULLS FIRST, id
	LIMIT $4)
RETURNING {vendCols};

-- name: ClaimDueCabinetSessions
UPDATE cabinet_sessions SET lease_owner = $1, lease_until = $2
WHERE id IN (
	SELECT id FROM cabinet_sessions
	WHERE state IN ('CHARGING', 'DEBT')
		AND ((next_check_at IS NULL AND state = 'CHARGING') OR next_check_at <= $3)
		AND (lease_until IS NULL OR lease_until <= $3)
	ORDER BY next_check_at NULLS FIRST, id
	LIMIT $4)
RETURNING {cabinetSessionCols};
