package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/f2fpay/f2fpay"
)

const idemCols = `terminal_id, key, request_hash, done, status, response, created_at, owner`

func scanIdem(s scanner) (*f2fpay.IdempotencyRecord, error) {
	r := new(f2fpay.IdempotencyRecord)
	err := s.Scan(&r.TerminalID, &r.Key, &r.RequestHash, &r.Done, &r.Status, &r.Response, nullTime{&r.CreatedAt}, &r.Owner)
	return r, err
}

// BeginIdempotent inserts rec unless the terminal used its key already.
// INSERT ... ON CONFLICT DO NOTHING lets exactly one of concurrent callers insert: the
// others wait for its transaction and then see the conflict. Their SELECT, a new
// statement, sees the committed row — unless DeleteIdempotent removed it meanwhile,
// in which case the caller tries again.
func (db *DB) BeginIdempotent(ctx context.Context, rec *f2fpay.IdempotencyRecord) (_ *f2fpay.IdempotencyRecord, _ bool, err error) {
	defer wrap(&err, "begin idempotent")
	if rec.Key == "" {
		return nil, false, f2fpay.Errorf(f2fpay.EINVALID, "the Idempotency-Key is empty")
	}
	now := db.now()
	for range 5 {
		tag, err := db.lazy.Exec(ctx, `INSERT INTO idempotency_keys (terminal_id, key, request_hash, done, status, response, created_at, owner)
VALUES ($1, $2, $3, false, 0, NULL, $4, $5) ON CONFLICT (terminal_id, key) DO NOTHING`, rec.TerminalID, rec.Key, rec.RequestHash, now, rec.Owner)
		if err != nil {
			return nil, false, constraint(err, "", fmt.Sprintf("idempotency key %q: terminal %d not found", rec.Key, rec.TerminalID))
		}
		if tag.RowsAffected() == 1 {
			rec.Done, rec.Status, rec.Response, rec.CreatedAt = false, 0, nil, now
			return rec, true, nil
		}
		stored, err := scanIdem(db.lazy.QueryRow(ctx, `SELECT `+idemCols+` FROM idempotency_keys WHERE terminal_id = $1 AND key = $2`,
			rec.TerminalID, rec.Key))
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
	defer wrap(&err, "complete idempotent")
	response := rec.Response
	if response == nil {
		response = []byte{}
	}
	// The usual case — begun by this request, same request, not done — is one UPDATE
	// (its own transaction). Anything else takes the checking path below, which
	// decides on the row as it then is.
	tag, err := db.lazy.Exec(ctx, `UPDATE idempotency_keys SET done = true, status = $1, response = $2
WHERE terminal_id = $3 AND key = $4 AND request_hash = $5 AND NOT done`,
		rec.Status, response, rec.TerminalID, rec.Key, rec.RequestHash)
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 1 {
		rec.Done = true
		return nil
	}
	err = db.inLazyTx(ctx, func(tx querier) error {
		stored, err := scanIdem(tx.QueryRow(ctx, `SELECT `+idemCols+` FROM idempotency_keys WHERE terminal_id = $1 AND key = $2 FOR UPDATE`,
			rec.TerminalID, rec.Key))
		if errors.Is(err, pgx.ErrNoRows) {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "idempotency key %q of terminal %d was not begun (or was deleted)", rec.Key, rec.TerminalID)
		} else if err != nil {
			return err
		}
		if stored.RequestHash != rec.RequestHash {
			return f2fpay.Errorf(f2fpay.ECONFLICT, "idempotency key %q of terminal %d belongs to another request", rec.Key, rec.TerminalID)
		}
		if stored.Done {
			if stored.Status == rec.Status && bytes.Equal(stored.Response, rec.Response) {
				return nil
			}
			return f2fpay.Errorf(f2fpay.ECONFLICT, "idempotency key %q of terminal %d is complete with another answer already", rec.Key, rec.TerminalID)
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
	defer wrap(&err, "take over idempotent")
	now := db.now()
	tag, err := db.lazy.Exec(ctx, `UPDATE idempotency_keys SET owner = $1, created_at = $2
WHERE terminal_id = $3 AND key = $4 AND owner = $5 AND NOT done`, rec.Owner, now, rec.TerminalID, rec.Key, from)
	if err != nil {
		return false, err
	}
	if tag.RowsAffected() == 1 {
		rec.CreatedAt = now
		return true, nil
	}
	var exists int
	if err := db.lazy.QueryRow(ctx, `SELECT count(*) FROM idempotency_keys WHERE terminal_id = $1 AND key = $2`, rec.TerminalID, rec.Key).Scan(&exists); err != nil {
		return false, err
	}
	if exists == 0 {
		return false, f2fpay.Errorf(f2fpay.ENOTFOUND, "idempotency key %q of terminal %d not found", rec.Key, rec.TerminalID)
	}
	return false, nil
}

// BeatInstance records owner's heartbeat and forgets instances silent for a day.
func (db *DB) BeatInstance(ctx context.Context, owner string, now time.Time) (err error) {
	defer wrap(&err, "beat instance")
	if owner == "" {
		return f2fpay.Errorf(f2fpay.EINVALID, "heartbeat: owner is empty; name the instance")
	}
	return db.inLazyTx(ctx, func(tx querier) error {
		if _, err := tx.Exec(ctx, `INSERT INTO instances (owner, seen_at) VALUES ($1, $2)
ON CONFLICT (owner) DO UPDATE SET seen_at = greatest(instances.seen_at, excluded.seen_at)`, owner, now.UTC()); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM instances WHERE seen_at < $1`, now.Add(-24*time.Hour).UTC())
		return err
	})
}

// InstanceSeen returns owner's last heartbeat, zero when unknown.
func (db *DB) InstanceSeen(ctx context.Context, owner string) (seen time.Time, err error) {
	defer wrap(&err, "instance seen")
	err = db.pool.QueryRow(ctx, `SELECT seen_at FROM instances WHERE owner = $1`, owner).Scan(nullTime{&seen})
	if errors.Is(err, pgx.ErrNoRows) {
		return time.Time{}, nil
	}
	return seen, err
}

// DeleteIdempotent forgets a begun, not done record: ENOTFOUND when there is none,
// ECONFLICT when it is done (its answer must be replayed, not recomputed).
func (db *DB) DeleteIdempotent(ctx context.Context, terminalID int64, key string) (err error) {
	defer wrap(&err, "delete idempotent")
	return db.inLazyTx(ctx, func(tx querier) error {
		var done bool
		err := tx.QueryRow(ctx, `SELECT done FROM idempotency_keys WHERE terminal_id = $1 AND key = $2 FOR UPDATE`, terminalID, key).Scan(&done)
		if errors.Is(err, pgx.ErrNoRows) {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "idempotency key %q of terminal %d not found", key, terminalID)
		} else if err != nil {
			return err
		}
		if done {
			return f2fpay.Errorf(f2fpay.ECONFLICT, "idempotency key %q of terminal %d is complete; its answer is kept for replays", key, terminalID)
		}
		_, err = tx.Exec(ctx, `DELETE FROM idempotency_keys WHERE terminal_id = $1 AND key = $2`, terminalID, key)
		return err
	})
}

// PurgeIdempotent deletes up to limit records created before before. There is no index
// on created_at (it would cost every request a write); a sweep is a sequential scan,
// which meets the old records first in a table that is mostly appended to.
func (db *DB) PurgeIdempotent(ctx context.Context, before time.Time, limit int) (n int, err error) {
	defer wrap(&err, "purge idempotent")
	if limit <= 0 {
		return 0, nil
	}
	tag, err := db.lazy.Exec(ctx, `DELETE FROM idempotency_keys WHERE ctid = ANY(ARRAY(
	SELECT ctid FROM idempotency_keys WHERE created_at < $1 ORDER BY created_at LIMIT $2))`, before.UTC(), limit)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), nil
}
