package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/f2fpay/f2fpay"
)

const idemCols = `terminal_id, key, request_hash, done, status, response, created_at, owner`

func scanIdem(s scanner) (*f2fpay.IdempotencyRecord, error) {
	r := new(f2fpay.IdempotencyRecord)
	err := s.Scan(&r.TerminalID, &r.Key, &r.RequestHash, &r.Done, &r.Status, &r.Response, nullTime{&r.CreatedAt}, &r.Owner)
	return r, err
}

// BeginIdempotent inserts rec unless the terminal used its key already. Insert and
// lookup share one IMMEDIATE transaction, so concurrent callers are serialised and
// exactly one of them inserts.
func (db *DB) BeginIdempotent(ctx context.Context, rec *f2fpay.IdempotencyRecord) (_ *f2fpay.IdempotencyRecord, _ bool, err error) {
	defer wrap(&err, "begin idempotent")
	if rec.Key == "" {
		return nil, false, f2fpay.Errorf(f2fpay.EINVALID, "the Idempotency-Key is empty")
	}
	now := db.now()
	var stored *f2fpay.IdempotencyRecord
	err = db.inLazyTx(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO idempotency_keys (terminal_id, key, request_hash, done, status, response, created_at, owner)
VALUES (?1, ?2, ?3, 0, 0, NULL, ?4, ?5) ON CONFLICT (terminal_id, key) DO NOTHING`, rec.TerminalID, rec.Key, rec.RequestHash, now.UnixMicro(), rec.Owner)
		if err != nil {
			return constraint(err, "", fmt.Sprintf("idempotency key %q: terminal %d not found", rec.Key, rec.TerminalID))
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		stored, err = scanIdem(tx.QueryRowContext(ctx, `SELECT `+idemCols+` FROM idempotency_keys WHERE terminal_id = ?1 AND key = ?2`,
			rec.TerminalID, rec.Key))
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
	defer wrap(&err, "complete idempotent")
	response := rec.Response
	if response == nil {
		response = []byte{}
	}
	err = db.inLazyTx(ctx, func(ctx context.Context, tx *wtx) error {
		// The usual case — begun by this request, same request, not done — is this one
		// UPDATE; anything else is told apart below.
		res, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET done = 1, status = ?1, response = ?2
WHERE terminal_id = ?3 AND key = ?4 AND request_hash = ?5 AND NOT done`, rec.Status, response, rec.TerminalID, rec.Key, rec.RequestHash)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		stored, err := scanIdem(tx.QueryRowContext(ctx, `SELECT `+idemCols+` FROM idempotency_keys WHERE terminal_id = ?1 AND key = ?2`,
			rec.TerminalID, rec.Key))
		if err == sql.ErrNoRows {
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
	defer wrap(&err, "take over idempotent")
	now := db.now()
	err = db.inLazyTx(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE idempotency_keys SET owner = ?1, created_at = ?2
WHERE terminal_id = ?3 AND key = ?4 AND owner = ?5 AND NOT done`, rec.Owner, now.UnixMicro(), rec.TerminalID, rec.Key, from)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil || n == 1 {
			ok = n == 1
			return err
		}
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM idempotency_keys WHERE terminal_id = ?1 AND key = ?2`, rec.TerminalID, rec.Key).Scan(&exists); err != nil {
			return err
		}
		if exists == 0 {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "idempotency key %q of terminal %d not found", rec.Key, rec.TerminalID)
		}
		return nil
	})
	if ok {
		rec.CreatedAt = now
	}
	return ok, err
}

// BeatInstance records owner's heartbeat and forgets instances silent for a day.
func (db *DB) BeatInstance(ctx context.Context, owner string, now time.Time) (err error) {
	defer wrap(&err, "beat instance")
	if owner == "" {
		return f2fpay.Errorf(f2fpay.EINVALID, "heartbeat: owner is empty; name the instance")
	}
	return db.inLazyTx(ctx, func(ctx context.Context, tx *wtx) error {
		at := now.UTC().UnixMicro()
		if _, err := tx.ExecContext(ctx, `INSERT INTO instances (owner, seen_at) VALUES (?1, ?2)
ON CONFLICT (owner) DO UPDATE SET seen_at = max(seen_at, excluded.seen_at)`, owner, at); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `DELETE FROM instances WHERE seen_at < ?1`, now.Add(-24*time.Hour).UTC().UnixMicro())
		return err
	})
}

// InstanceSeen returns owner's last heartbeat, zero when unknown.
func (db *DB) InstanceSeen(ctx context.Context, owner string) (seen time.Time, err error) {
	defer wrap(&err, "instance seen")
	err = db.read.QueryRowContext(ctx, `SELECT seen_at FROM instances WHERE owner = ?1`, owner).Scan(nullTime{&seen})
	if err == sql.ErrNoRows {
		return time.Time{}, nil
	}
	return seen, err
}

// DeleteIdempotent forgets a begun, not done record: ENOTFOUND when there is none,
// ECONFLICT when it is done (its answer must be replayed, not recomputed).
func (db *DB) DeleteIdempotent(ctx context.Context, terminalID int64, key string) (err error) {
	defer wrap(&err, "delete idempotent")
	return db.inLazyTx(ctx, func(ctx context.Context, tx *wtx) error {
		var done bool
		err := tx.QueryRowContext(ctx, `SELECT done FROM idempotency_keys WHERE terminal_id = ?1 AND key = ?2`, terminalID, key).Scan(&done)
		if err == sql.ErrNoRows {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "idempotency key %q of terminal %d not found", key, terminalID)
		} else if err != nil {
			return err
		}
		if done {
			return f2fpay.Errorf(f2fpay.ECONFLICT, "idempotency key %q of terminal %d is complete; its answer is kept for replays", key, terminalID)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE terminal_id = ?1 AND key = ?2`, terminalID, key)
		return err
	})
}

// PurgeIdempotent deletes up to limit records created before before. There is no index
// on created_at (it would cost every request a write): the rowids grow with time, so
// the scan meets the expired records first and stops at limit; only a sweep that
// finds fewer than limit reads the whole table.
func (db *DB) PurgeIdempotent(ctx context.Context, before time.Time, limit int) (n int, err error) {
	defer wrap(&err, "purge idempotent")
	if limit <= 0 {
		return 0, nil
	}
	err = db.inLazyTx(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE rowid IN (
	SELECT rowid FROM idempotency_keys WHERE created_at < ?1 ORDER BY rowid LIMIT ?2)`, before.UTC().UnixMicro(), limit)
		if err != nil {
			return err
		}
		m, err := res.RowsAffected()
		n = int(m)
		return err
	})
	return n, err
}
