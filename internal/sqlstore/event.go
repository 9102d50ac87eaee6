package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/f2fpay/f2fpay"
)

// eventOwner fills the MerchantID, OrderID and RefundID an event leaves zero: the
// entity whose state change the event announces.
type eventOwner struct{ merchantID, orderID, refundID int64 }

// insertEvents enqueues events in tx (appendEvents).
func (c *Core) insertEvents(ctx context.Context, tx Conn, events []*f2fpay.Event, owner eventOwner, now time.Time, after *[]func()) error {
	stmts, err := c.appendEvents(nil, events, owner, now, after)
	if err != nil || len(stmts) == 0 {
		return err
	}
	return tx.Batch(ctx, stmts)
}

// appendEvents appends the INSERTs of events to stmts. An event without ID gets one; without
// CreatedAt or NextAttemptAt, now (due at once). Fields are set on the events after
// the commit. An event that cannot be stored is refused before anything is sent.
func (c *Core) appendEvents(stmts []Stmt, events []*f2fpay.Event, owner eventOwner, now time.Time, after *[]func()) ([]Stmt, error) {
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
			return nil, f2fpay.Errorf(f2fpay.EINVALID, "event %s (%s): the payload is not JSON", v.ID, v.Type)
		}
		stmts = append(stmts, Stmt{Query: c.q.InsertEvent,
			Args: []any{v.ID, string(v.Type), v.MerchantID, IDArg(v.OrderID), IDArg(v.RefundID), string(v.Payload),
				c.T(v.CreatedAt), v.Attempts, c.T(v.NextAttemptAt), c.T(v.DeliveredAt), c.T(v.DeadAt), v.LastError},
			Exec: func(_ int64, err error) error {
				if err != nil {
					return c.constraint(err, fmt.Sprintf("an event with id %s exists already", v.ID),
						fmt.Sprintf("event %s: merchant %d, order %d or refund %d not found", v.ID, v.MerchantID, v.OrderID, v.RefundID))
				}
				*after = append(*after, func() { *e = v })
				return nil
			}})
	}
	return stmts, nil
}

// ClaimEvents leases up to limit due, undelivered, live events and increments their
// tokens, in one UPDATE ... RETURNING (the store's queries.sql says what keeps two
// claimers apart).
func (c *Core) ClaimEvents(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) (_ []*f2fpay.Event, err error) {
	defer c.Wrap(&err, "claim events")
	out, err := claim(c, ctx, c.q.ClaimEvents, scanEvent, owner, now, lease, limit)
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.NextAttemptAt.Equal(b.NextAttemptAt) {
			return a.NextAttemptAt.Before(b.NextAttemptAt)
		}
		return a.CreatedAt.Before(b.CreatedAt)
	})
	return out, err
}

// fenced explains why an update guarded by e.Token touched no row.
func (c *Core) fenced(ctx context.Context, tx Conn, e *f2fpay.Event) error {
	var token int64
	err := tx.QueryRow(ctx, c.q.EventToken, e.ID).Scan(&token)
	if isNoRows(err) {
		return f2fpay.Errorf(f2fpay.ENOTFOUND, "event %s not found", e.ID)
	} else if err != nil {
		return err
	}
	return f2fpay.Errorf(f2fpay.ECONFLICT, "event %s: the lease with token %d is no longer current (now %d): another worker claimed it or it was replayed; drop this outcome",
		e.ID, e.Token, token)
}

// CompleteEvent marks e delivered at at if e.Token is current, else ECONFLICT.
func (c *Core) CompleteEvent(ctx context.Context, e *f2fpay.Event, at time.Time) (err error) {
	defer c.Wrap(&err, "complete event")
	at = at.UTC().Truncate(time.Microsecond)
	err = c.cfg.Tx(ctx, true, func(ctx context.Context, tx Conn) error {
		n, err := tx.Exec(ctx, c.q.CompleteEvent, c.T(at), e.ID, e.Token)
		if err != nil {
			return err
		}
		if n != 1 {
			return c.fenced(ctx, tx, e)
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
func (c *Core) RetryEvent(ctx context.Context, e *f2fpay.Event, next time.Time, lastErr string, dead bool) (err error) {
	defer c.Wrap(&err, "retry event")
	next = next.UTC().Truncate(time.Microsecond)
	var deadAt time.Time
	if dead {
		deadAt = next
	}
	var attempts int
	err = c.cfg.Tx(ctx, true, func(ctx context.Context, tx Conn) error {
		err := tx.QueryRow(ctx, c.q.RetryEvent, lastErr, c.T(next), c.T(deadAt), e.ID, e.Token).Scan(&attempts)
		if isNoRows(err) {
			return c.fenced(ctx, tx, e)
		}
		return err
	})
	if err == nil {
		e.Attempts, e.LastError, e.NextAttemptAt, e.DeadAt = attempts, lastErr, next, deadAt
	}
	return err
}

// eventFilter renders f as WHERE (possibly empty), ORDER BY and LIMIT clauses and
// their arguments.
func (c *Core) eventFilter(f f2fpay.EventFilter) (string, []any) {
	var w filter
	if f.MerchantID != nil {
		w.where(c.ph, "merchant_id = ", *f.MerchantID)
	}
	if f.OrderID != nil {
		w.where(c.ph, "order_id = ", *f.OrderID)
	}
	if f.Since != nil {
		w.where(c.ph, "created_at >= ", c.T(*f.Since))
	}
	if f.Undelivered {
		w.conds = append(w.conds, "delivered_at IS NULL")
	}
	return w.sql(c.ph, "seq", f.Limit), w.args
}

// ListEvents returns the matching events in the order they were written.
func (c *Core) ListEvents(ctx context.Context, f f2fpay.EventFilter) (_ []*f2fpay.Event, err error) {
	defer c.Wrap(&err, "list events")
	where, args := c.eventFilter(f)
	rows, err := c.cfg.Read.Query(ctx, c.q.ListEvents+where, args...)
	return Collect(rows, err, scanEvent)
}

// ReplayEvents makes the matching events due at now with a fresh retry schedule
// (Attempts 0, not delivered, not dead) and a new token, so that a worker still
// holding an older lease cannot record an outcome for them.
func (c *Core) ReplayEvents(ctx context.Context, f f2fpay.EventFilter, now time.Time) (n int, err error) {
	defer c.Wrap(&err, "replay events")
	where, args := c.eventFilter(f)
	args = append(args, c.T(now))
	err = c.cfg.Tx(ctx, false, func(ctx context.Context, tx Conn) error {
		m, err := tx.Exec(ctx, `UPDATE events SET next_attempt_at = `+c.ph.arg(len(args))+`, delivered_at = NULL,
	dead_at = NULL, attempts = 0, token = token + 1, lease_owner = '', lease_until = NULL
WHERE seq IN (SELECT seq FROM events`+where+`)`, args...)
		n = int(m)
		return err
	})
	return n, err
}

// EventBacklog counts the outbox's undelivered and dead events.
func (c *Core) EventBacklog(ctx context.Context) (_ *f2fpay.EventBacklog, err error) {
	defer c.Wrap(&err, "event backlog")
	b := new(f2fpay.EventBacklog)
	err = c.cfg.Read.QueryRow(ctx, c.q.EventBacklog).Scan(&b.Undelivered, NullTime{&b.OldestUndelivered}, &b.Dead)
	return b, err
}
