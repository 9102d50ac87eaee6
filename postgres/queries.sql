-- PostgreSQL's side of the statements that differ between the dialects; the same
-- names, in the same order, as sqlite/queries.sql (diff the two). The rest, written
-- once, is internal/sqlstore/queries.sql.

-- The claims lock the rows they choose FOR UPDATE SKIP LOCKED: a concurrent claimer
-- skips rows another holds, and a row another claimer has just leased and committed
-- is re-checked against the WHERE clause (lease_until now in the future) and dropped,
-- so no row is taken twice and no instance waits for another.
-- name: ClaimDueOrders
UPDATE orders SET lease_owner = $1, lease_until = $2
WHERE id IN (
	SELECT id FROM orders
	WHERE state IN ({openOrderStates})
		AND (next_check_at IS NULL OR next_check_at <= $3)
		AND (lease_until IS NULL OR lease_until <= $3)
	ORDER BY next_check_at NULLS FIRST, id
	LIMIT $4
	FOR UPDATE SKIP LOCKED)
RETURNING {orderCols};

-- name: ClaimDueRefunds
UPDATE refunds SET lease_owner = $1, lease_until = $2
WHERE id IN (
	SELECT id FROM refunds
	WHERE state IN ('PENDING', 'UNKNOWN')
		AND (next_check_at IS NULL OR next_check_at <= $3)
		AND (lease_until IS NULL OR lease_until <= $3)
	ORDER BY next_check_at NULLS FIRST, id
	LIMIT $4
	FOR UPDATE SKIP LOCKED)
RETURNING {refundCols};

-- name: ClaimEvents
UPDATE events SET token = token + 1, lease_owner = $1, lease_until = $2
WHERE seq IN (
	SELECT seq FROM events
	WHERE delivered_at IS NULL AND dead_at IS NULL
		AND next_attempt_at <= $3
		AND (lease_until IS NULL OR lease_until <= $3)
	ORDER BY next_attempt_at, seq
	LIMIT $4
	FOR UPDATE SKIP LOCKED)
RETURNING {eventCols};

-- name: LockIdempotent
SELECT {idemCols} FROM idempotency_keys WHERE terminal_id = $1 AND key = $2 FOR UPDATE;

-- name: IdempotentDone
SELECT done FROM idempotency_keys WHERE terminal_id = $1 AND key = $2 FOR UPDATE;

-- name: BeatInstance
INSERT INTO instances (owner, seen_at) VALUES ($1, $2)
ON CONFLICT (owner) DO UPDATE SET seen_at = greatest(instances.seen_at, excluded.seen_at);

-- There is no index on created_at (it would cost every request a write); a sweep is
-- a sequential scan, which meets the old records first in a table that is mostly
-- appended to.
-- name: PurgeIdempotent
DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(
	SELECT ctid FROM idempotency_keys WHERE created_at < $1 ORDER BY created_at LIMIT $2));

-- name: ClaimDueAuthorizations
UPDATE authorizations SET lease_owner = $1, lease_until = $2
WHERE id IN (
	SELECT id FROM authorizations
	WHERE state = 'active' AND refresh_at <= $3
		AND (lease_until IS NULL OR lease_until <= $3)
	ORDER BY refresh_at, id
	LIMIT $4
	FOR UPDATE SKIP LOCKED)
RETURNING {authCols};
-- name: OrderSeries
-- The console's chart: orders in buckets of $2 microseconds from $1, numbered from 0.
-- The WHERE and GROUP BY are added by OrderSeries.
SELECT floor(extract(epoch FROM created_at - $1) * 1000000 / $2)::bigint AS bucket, count(*),
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
	LIMIT $4
	FOR UPDATE SKIP LOCKED)
RETURNING {settlementCols};

-- name: ClaimDueVendOrders
UPDATE vend_orders SET lease_owner = $1, lease_until = $2
WHERE id IN (
	SELECT id FROM vend_orders
	WHERE state IN ('AWAITING_PAYMENT', 'DISPENSING')
		AND (next_check_at IS NULL OR next_check_at <= $3)
		AND (lease_until IS NULL OR lease_until <= $3)
	ORDER BY next_check_at NULLS FIRST, id
	LIMIT $4
	FOR UPDATE SKIP LOCKED)
RETURNING {vendCols};

-- name: ClaimDueCabinetSessions
UPDATE cabinet_sessions SET lease_owner = $1, lease_until = $2
WHERE id IN (
	SELECT id FROM cabinet_sessions
	WHERE state IN ('CHARGING', 'DEBT')
		AND ((next_check_at IS NULL AND state = 'CHARGING') OR next_check_at <= $3)
		AND (lease_until IS NULL OR lease_until <= $3)
	ORDER BY next_check_at NULLS FIRST, id
	LIMIT $4
	FOR UPDATE SKIP LOCKED)
RETURNING {cabinetSessionCols};
