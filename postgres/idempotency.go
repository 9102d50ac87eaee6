package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/internal/sqlstore"
)

// The idempotency calls of a payment's hot path. On their usual path each is one
// statement outside a transaction (one round trip); ON CONFLICT and FOR UPDATE keep
// concurrent instances apart. The rest of idempotency is internal/sqlstore.

// BeginIdempotent inserts rec unless the terminal used its key already.
// INSERT ... ON CONFLICT DO NOTHING lets exactly one of concurrent callers insert: the
// others wait for its transaction and then see the conflict. Their SELECT, a new
// statement, sees the committed row — unless DeleteIdempotent removed it meanwhile,
// in which case the caller tries again.
func (db *DB) BeginIdempotent(ctx context.Context, rec *f2fpay.IdempotencyRecord) (_ *f2fpay.IdempotencyRecord, _ bool, err error) {
	defer db.Wrap(&err, "begin idempotent")
	if err := sqlstore.CheckBegin(rec); err != nil {
		return nil, false, err
	}
	now := db.Now()
	for range 5 {
		tag, err := db.lazy.Exec(ctx, queries.BeginIdempotent, rec.TerminalID, rec.Key, rec.RequestHash, now, rec.Owner)
		if err != nil {
			return nil, false, constraint(err, "", fmt.Sprintf("idempotency key %q: terminal %d not found", rec.Key, rec.TerminalID))
		}
		if tag.RowsAffected() == 1 {
			rec.Done, rec.Status, rec.Response, rec.CreatedAt = false, 0, nil, now
			return rec, true, nil
		}
		stored, err := sqlstore.ScanIdem(db.lazy.QueryRow(ctx, queries.FindIdempotent, rec.TerminalID, rec.Key))
		if errors.Is(err, pgx.ErrNoRows) {
			continue // deleted between our INSERT and SELECT
		}
		if err != nil {
			return nil, false, err
		}
		return stored, false, nil
	}
	return nil, false, f2fpay.Errorf(f2fpay.EUNAVAILABLE, "idempotency key %q of terminal %d keeps being begun and deleted; retry later", rec.Key, rec.TerminalID)
}

// CompleteIdempotent stores the response of a begun record. ENOTFOUND when there is
// none; completing it again with the same answer is a no-op, with another ECONFLICT.
func (db *DB) CompleteIdempotent(ctx context.Context, rec *f2fpay.IdempotencyRecord) (err error) {
	defer db.Wrap(&err, "complete idempotent")
	response := rec.Response
	if response == nil {
		response = []byte{}
	}
	// The usual case — begun by this request, same request, not done — is one UPDATE
	// (its own transaction). Anything else takes the checking path below, which
	// decides on the row as it then is.
	tag, err := db.lazy.Exec(ctx, queries.CompleteIdempotent, rec.Status, response, rec.TerminalID, rec.Key, rec.RequestHash)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 1 {
		rec.Done = true
		return nil
	}
	err = db.inLazyTx(ctx, func(tx querier) error {
		stored, err := sqlstore.ScanIdem(tx.QueryRow(ctx, queries.LockIdempotent, rec.TerminalID, rec.Key))
		if pending, err := sqlstore.CheckCompleted(rec, stored, err); !pending {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE idempotency_keys SET done = true, status = $1, response = $2 WHERE terminal_id = $3 AND key = $4`,
			rec.Status, response, rec.TerminalID, rec.Key)
		return err
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
	tag, err := db.lazy.Exec(ctx, queries.TakeOverIdempotent, rec.Owner, now, rec.TerminalID, rec.Key, from)
	if err != nil {
		return false, err
	}
	if tag.RowsAffected() == 1 {
		rec.CreatedAt = now
		return true, nil
	}
	var exists int
	if err := db.lazy.QueryRow(ctx, queries.CountIdempotent, rec.TerminalID, rec.Key).Scan(&exists); err != nil {
		return false, err
	}
	if exists == 0 {
		return false, sqlstore.IdempotentNotFound(rec)
	}
	return false, nil
}
