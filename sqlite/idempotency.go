package sqlite

import (
	"context"
	"fmt"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/internal/sqlstore"
)

// The idempotency calls of a payment's hot path. Each is one lazy write transaction:
// the writer's lock serialises concurrent callers, so what a statement read is still
// so when the next one writes. The rest of idempotency is internal/sqlstore.

// BeginIdempotent inserts rec unless the terminal used its key already. Insert and
// lookup share one IMMEDIATE transaction, so concurrent callers are serialised and
// exactly one of them inserts.
func (db *DB) BeginIdempotent(ctx context.Context, rec *f2fpay.IdempotencyRecord) (_ *f2fpay.IdempotencyRecord, _ bool, err error) {
	defer db.Wrap(&err, "begin idempotent")
	if err := sqlstore.CheckBegin(rec); err != nil {
		return nil, false, err
	}
	now := db.Now()
	var stored *f2fpay.IdempotencyRecord
	err = db.inLazyTx(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, queries.BeginIdempotent, rec.TerminalID, rec.Key, rec.RequestHash, now.UnixMicro(), rec.Owner)
		if err != nil {
			return constraint(err, "", fmt.Sprintf("idempotency key %q: terminal %d not found", rec.Key, rec.TerminalID))
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		stored, err = sqlstore.ScanIdem(tx.QueryRowContext(ctx, queries.FindIdempotent, rec.TerminalID, rec.Key))
		return err
	})
	if err != nil {
		return nil, false, err
	}
	if stored != nil {
		return stored, false, nil
	}
	rec.Done, rec.Status, rec.Response, rec.CreatedAt = false, 0, nil, now
	return rec, true, nil
}

// CompleteIdempotent stores the response of a begun record. ENOTFOUND when there is
// none; completing it again with the same answer is a no-op, with another ECONFLICT.
func (db *DB) CompleteIdempotent(ctx context.Context, rec *f2fpay.IdempotencyRecord) (err error) {
	defer db.Wrap(&err, "complete idempotent")
	response := rec.Response
	if response == nil {
		response = []byte{}
	}
	err = db.inLazyTx(ctx, func(ctx context.Context, tx *wtx) error {
		// The usual case — begun by this request, same request, not done — is this one
		// UPDATE; anything else is told apart below.
		res, err := tx.ExecContext(ctx, queries.CompleteIdempotent, rec.Status, response, rec.TerminalID, rec.Key, rec.RequestHash)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		stored, err := sqlstore.ScanIdem(tx.QueryRowContext(ctx, queries.LockIdempotent, rec.TerminalID, rec.Key))
		if pending, err := sqlstore.CheckCompleted(rec, stored, err); !pending {
			return err
		}
		// Begun, same request, not done: the UPDATE above would have matched.
		return fmt.Errorf("idempotency key %q of terminal %d: the record changed under the write lock", rec.Key, rec.TerminalID)
	})
	if err == nil {
		rec.Done = true
	}
	return err
}

// TakeOverIdempotent gives a begun, not done record whose owner is from to rec.Owner.
func (db *DB) TakeOverIdempotent(ctx context.Context, rec *f2fpay.IdempotencyRecord, from string) (ok bool, err error) {
	defer db.Wrap(&err, "take over idempotent")
	now := db.Now()
	err = db.inLazyTx(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, queries.TakeOverIdempotent, rec.Owner, now.UnixMicro(), rec.TerminalID, rec.Key, from)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 1 {
			ok = n == 1
			return err
		}
		var exists int
		if err := tx.QueryRowContext(ctx, queries.CountIdempotent, rec.TerminalID, rec.Key).Scan(&exists); err != nil {
			return err
		}
		if exists == 0 {
			return sqlstore.IdempotentNotFound(rec)
		}
		return nil
	})
	if ok {
		rec.CreatedAt = now
	}
	return ok, err
}
