package sqlstore

import (
	"bytes"
	"context"
	"time"

	"github.com/f2fpay/f2fpay"
)

// The stores keep their own BeginIdempotent, CompleteIdempotent and
// TakeOverIdempotent: what makes them safe under concurrency differs (SQLite's one
// write lock; PostgreSQL's ON CONFLICT and FOR UPDATE, without a transaction on the
// usual path). What they decide on a stored record is written once here.

// Q returns the store's statements, for the methods a store writes itself.
func (c *Core) Q() *Queries { return c.q }

// CheckCompleted decides a CompleteIdempotent whose fast UPDATE matched nothing, on
// the record stored as it is now (stored, or err from reading it): nil when rec is
// complete with the same answer already; ENOTFOUND, ECONFLICT as the contract says;
// pending true when the record is begun by the same request and not done (the
// caller completes it).
func CheckCompleted(rec, stored *f2fpay.IdempotencyRecord, err error) (pending bool, _ error) {
	if isNoRows(err) {
		return false, f2fpay.Errorf(f2fpay.ENOTFOUND, "idempotency key %q of terminal %d was not begun (or was deleted)", rec.Key, rec.TerminalID)
	} else if err != nil {
		return false, err
	}
	if stored.RequestHash != rec.RequestHash {
		return false, f2fpay.Errorf(f2fpay.ECONFLICT, "idempotency key %q of terminal %d belongs to another request", rec.Key, rec.TerminalID)
	}
	if stored.Done {
		if stored.Status == rec.Status && bytes.Equal(stored.Response, rec.Response) {
			return false, nil
		}
		return false, f2fpay.Errorf(f2fpay.ECONFLICT, "idempotency key %q of terminal %d is complete with another answer already", rec.Key, rec.TerminalID)
	}
	return true, nil
}

// CheckBegin refuses a record BeginIdempotent cannot store.
func CheckBegin(rec *f2fpay.IdempotencyRecord) error {
	if rec.Key == "" {
		return f2fpay.Errorf(f2fpay.EINVALID, "the Idempotency-Key is empty")
	}
	return nil
}

// IdempotentNotFound is TakeOverIdempotent's ENOTFOUND.
func IdempotentNotFound(rec *f2fpay.IdempotencyRecord) error {
	return f2fpay.Errorf(f2fpay.ENOTFOUND, "idempotency key %q of terminal %d not found", rec.Key, rec.TerminalID)
}

// BeatInstance records owner's heartbeat and forgets instances silent for a day.
func (c *Core) BeatInstance(ctx context.Context, owner string, now time.Time) (err error) {
	defer c.Wrap(&err, "beat instance")
	if owner == "" {
		return f2fpay.Errorf(f2fpay.EINVALID, "heartbeat: owner is empty; name the instance")
	}
	return c.cfg.Tx(ctx, true, func(ctx context.Context, tx Conn) error {
		if _, err := tx.Exec(ctx, c.q.BeatInstance, owner, c.T(now)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, c.q.ForgetInstances, c.T(now.Add(-24*time.Hour)))
		return err
	})
}

// InstanceSeen returns owner's last heartbeat, zero when unknown.
func (c *Core) InstanceSeen(ctx context.Context, owner string) (seen time.Time, err error) {
	defer c.Wrap(&err, "instance seen")
	err = c.cfg.Read.QueryRow(ctx, c.q.InstanceSeen, owner).Scan(NullTime{&seen})
	if isNoRows(err) {
		return time.Time{}, nil
	}
	return seen, err
}

// DeleteIdempotent forgets a begun, not done record: ENOTFOUND when there is none,
// ECONFLICT when it is done (its answer must be replayed, not recomputed).
func (c *Core) DeleteIdempotent(ctx context.Context, terminalID int64, key string) (err error) {
	defer c.Wrap(&err, "delete idempotent")
	return c.cfg.Tx(ctx, true, func(ctx context.Context, tx Conn) error {
		var done bool
		err := tx.QueryRow(ctx, c.q.IdempotentDone, terminalID, key).Scan(&done)
		if isNoRows(err) {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "idempotency key %q of terminal %d not found", key, terminalID)
		} else if err != nil {
			return err
		}
		if done {
			return f2fpay.Errorf(f2fpay.ECONFLICT, "idempotency key %q of terminal %d is complete; its answer is kept for replays", key, terminalID)
		}
		_, err = tx.Exec(ctx, c.q.DeleteIdempotent, terminalID, key)
		return err
	})
}

// PurgeIdempotent deletes up to limit records created before before, oldest first
// (the store's queries.sql says how it finds them without an index).
func (c *Core) PurgeIdempotent(ctx context.Context, before time.Time, limit int) (n int, err error) {
	defer c.Wrap(&err, "purge idempotent")
	if limit <= 0 {
		return 0, nil
	}
	err = c.cfg.Single(ctx, true, func(ctx context.Context, tx Conn) error {
		m, err := tx.Exec(ctx, c.q.PurgeIdempotent, c.T(before), limit)
		n = int(m)
		return err
	})
	return n, err
}
