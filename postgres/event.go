package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/f2fpay/f2fpay"
)

// eventOwner fills the MerchantID, OrderID and RefundID an event leaves zero: the
// entity whose state change the event announces.
type eventOwner struct{ merchantID, orderID, refundID int64 }

// insertEvents enqueues events in tx. An event without ID gets one; without CreatedAt
// or NextAttemptAt, now (due at once). Fields are set on the events after the commit.
func insertEvents(ctx context.Context, tx querier, events []*f2fpay.Event, owner eventOwner, now time.Time, after *[]func()) error {
	b := &pgx.Batch{}
	if err := queueEvents(b, events, owner, now, after); err != nil || b.Len() == 0 {
		return err
	}
	return tx.SendBatch(ctx, b).Close()
}

// queueEvents adds the INSERTs of events to b (see insertEvents); an event that
// cannot be stored is refused before anything is sent.
func queueEvents(b *pgx.Batch, events []*f2fpay.Event, owner eventOwner, now time.Time, after *[]func()) error {
	for _, e := range events {
		if e == nil {
			continue
		}
		v := *e
		if v.ID == "" {
			v.ID = f2fpay.NewEventID()
		}
		if v.MerchantID == 0 {
			v.MerchantID = owner.merchantID
		}
		if v.OrderID == 0 {
			v.OrderID = owner.orderID
		}
		if v.RefundID == 0 {
			v.RefundID = owner.refundID
		}
		v.CreatedAt = v.CreatedAt.UTC().Truncate(time.Microsecond)
		if v.CreatedAt.IsZero() {
			v.CreatedAt = now
		}
		v.NextAttemptAt = v.NextAttemptAt.UTC().Truncate(time.Microsecond)
		if v.NextAttemptAt.IsZero() {
			v.NextAttemptAt = v.CreatedAt
		}
		if len(v.Payload) == 0 || !json.Valid(v.Payload) {
			return f2fpay.Errorf(f2fpay.EINVALID, "event %s (%s): the payload is not JSON", v.ID, v.Type)
		}
		b.Queue(`INSERT INTO events (id, type, merchant_id, order_id, refund_id, payload, created_at,
	attempts, next_attempt_at, delivered_at, dead_at, last_error)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			v.ID, string(v.Type), v.MerchantID, idArg(v.OrderID), idArg(v.RefundID), string(v.Payload),
			v.CreatedAt, v.Attempts, v.NextAttemptAt, timeArg(v.DeliveredAt),
			timeArg(v.DeadAt), v.LastError).Fn = func(br pgx.BatchResults) error {
			if _, err := br.Exec(); err != nil {
				return constraintEvent(err, &v)
			}
			*after = append(*after, func() { *e = v })
			return nil
		}
	}
	return nil
}

// constraintEvent translates an event INSERT's constraint violation.
func constraintEvent(err error, v *f2fpay.Event) error {
	return constraint(err, fmt.Sprintf("an event with id %s exists already", v.ID),
		fmt.Sprintf("event %s: merchant %d, order %d or refund %d not found", v.ID, v.MerchantID, v.OrderID, v.RefundID))
}

const eventCols = `id, type, merchant_id, order_id, refund_id, payload, created_at, attempts, next_attempt_at,
	delivered_at, dead_at, last_error, token`

func scanEvent(s scanner) (*f2fpay.Event, error) {
	e := new(f2fpay.Event)
	var payload string
	err := s.Scan(&e.ID, (*string)(&e.Type), &e.MerchantID, nullID{&e.OrderID}, nullID{&e.RefundID}, &payload,
		nullTime{&e.CreatedAt}, &e.Attempts, nullTime{&e.NextAttemptAt}, nullTime{&e.DeliveredAt},
		nullTime{&e.DeadAt}, &e.LastError, &e.Token)
	e.Payload = json.RawMessage(payload)
	return e, err
}

// ClaimEvents leases up to limit due, undelivered, live events and increments their
// tokens, in one UPDATE ... RETURNING whose subquery locks the rows FOR UPDATE
// SKIP LOCKED: concurrent instances skip each other's rows instead of waiting.
func (db *DB) ClaimEvents(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) (_ []*f2fpay.Event, err error) {
	defer wrap(&err, "claim events")
	if err := f2fpay.CheckLease(owner, lease); err != nil || limit <= 0 {
		return nil, err
	}
	var out []*f2fpay.Event
	err = db.inLazyTx(ctx, func(tx querier) error {
		rows, err := tx.Query(ctx, `UPDATE events SET token = token + 1, lease_owner = $1, lease_until = $2
WHERE seq IN (
	SELECT seq FROM events
	WHERE delivered_at IS NULL AND dead_at IS NULL
		AND next_attempt_at <= $3
		AND (lease_until IS NULL OR lease_until <= $3)
	ORDER BY next_attempt_at, seq
	LIMIT $4
	FOR UPDATE SKIP LOCKED)
RETURNING `+eventCols, owner, now.Add(lease), now, limit)
		out, err = collect(rows, err, scanEvent)
		return err
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.NextAttemptAt.Equal(b.NextAttemptAt) {
			return a.NextAttemptAt.Before(b.NextAttemptAt)
		}
		return a.CreatedAt.Before(b.CreatedAt)
	})
	return out, nil
}

// fenced explains why an update guarded by e.Token touched no row.
func fenced(ctx context.Context, tx querier, e *f2fpay.Event) error {
	var token int64
	err := tx.QueryRow(ctx, `SELECT token FROM events WHERE id = $1`, e.ID).Scan(&token)
	if errors.Is(err, pgx.ErrNoRows) {
		return f2fpay.Errorf(f2fpay.ENOTFOUND, "event %s not found", e.ID)
	} else if err != nil {
		return err
	}
	return f2fpay.Errorf(f2fpay.ECONFLICT, "event %s: the lease with token %d is no longer current (now %d): another worker claimed it or it was replayed; drop this outcome",
		e.ID, e.Token, token)
}

// CompleteEvent marks e delivered at at if e.Token is current, else ECONFLICT.
func (db *DB) CompleteEvent(ctx context.Context, e *f2fpay.Event, at time.Time) (err error) {
	defer wrap(&err, "complete event")
	at = at.UTC().Truncate(time.Microsecond)
	err = db.inLazyTx(ctx, func(tx querier) error {
		res, err := tx.Exec(ctx, `UPDATE events SET delivered_at = $1, lease_owner = '', lease_until = NULL
WHERE id = $2 AND token = $3`, at, e.ID, e.Token)
		if err != nil {
			return err
		}
		if n := res.RowsAffected(); n != 1 {
			return fenced(ctx, tx, e)
		}
		return nil
	})
	if err == nil {
		e.DeliveredAt = at
	}
	return err
}

// RetryEvent records a failed attempt if e.Token is current, else ECONFLICT. When dead,
// next is recorded as DeadAt (pass the time of the last attempt).
func (db *DB) RetryEvent(ctx context.Context, e *f2fpay.Event, next time.Time, lastErr string, dead bool) (err error) {
	defer wrap(&err, "retry event")
	next = next.UTC().Truncate(time.Microsecond)
	var deadAt time.Time
	if dead {
		deadAt = next
	}
	var attempts int
	err = db.inLazyTx(ctx, func(tx querier) error {
		err := tx.QueryRow(ctx, `UPDATE events SET attempts = attempts + 1, last_error = $1, next_attempt_at = $2,
	dead_at = $3, lease_owner = '', lease_until = NULL
WHERE id = $4 AND token = $5 RETURNING attempts`, lastErr, next, timeArg(deadAt), e.ID, e.Token).Scan(&attempts)
		if errors.Is(err, pgx.ErrNoRows) {
			return fenced(ctx, tx, e)
		}
		return err
	})
	if err == nil {
		e.Attempts, e.LastError, e.NextAttemptAt, e.DeadAt = attempts, lastErr, next, deadAt
	}
	return err
}

// eventWhere renders f as a WHERE clause (possibly empty) and its arguments.
func eventWhere(f f2fpay.EventFilter) (string, []any) {
	var where []string
	var args []any
	if f.MerchantID != nil {
		args = append(args, *f.MerchantID)
		where = append(where, fmt.Sprintf("merchant_id = $%d", len(args)))
	}
	if f.OrderID != nil {
		args = append(args, *f.OrderID)
		where = append(where, fmt.Sprintf("order_id = $%d", len(args)))
	}
	if f.Since != nil {
		args = append(args, *f.Since)
		where = append(where, fmt.Sprintf("created_at >= $%d", len(args)))
	}
	if f.Undelivered {
		where = append(where, "delivered_at IS NULL")
	}
	q := ""
	if len(where) > 0 {
		q = " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY seq"
	if f.Limit > 0 {
		args = append(args, f.Limit)
		q += fmt.Sprintf(" LIMIT $%d", len(args))
	}
	return q, args
}

// ListEvents returns the matching events in the order they were written.
func (db *DB) ListEvents(ctx context.Context, f f2fpay.EventFilter) (_ []*f2fpay.Event, err error) {
	defer wrap(&err, "list events")
	where, args := eventWhere(f)
	rows, err := db.pool.Query(ctx, `SELECT `+eventCols+` FROM events`+where, args...)
	return collect(rows, err, scanEvent)
}

// ReplayEvents makes the matching events due at now with a fresh retry schedule
// (Attempts 0, not delivered, not dead) and a new token, so that a worker still
// holding an older lease cannot record an outcome for them.
func (db *DB) ReplayEvents(ctx context.Context, f f2fpay.EventFilter, now time.Time) (n int, err error) {
	defer wrap(&err, "replay events")
	where, args := eventWhere(f)
	args = append(args, now)
	err = db.inTx(ctx, func(tx querier) error {
		res, err := tx.Exec(ctx, fmt.Sprintf(`UPDATE events SET next_attempt_at = $%d, delivered_at = NULL,
	dead_at = NULL, attempts = 0, token = token + 1, lease_owner = '', lease_until = NULL
WHERE seq IN (SELECT seq FROM events%s)`, len(args), where), args...)
		if err != nil {
			return err
		}
		n = int(res.RowsAffected())
		return nil
	})
	return n, err
}
