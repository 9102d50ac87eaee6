package alipaysim

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	_ "modernc.org/sqlite" // the pure-Go SQLite driver
)

// SQLiteStore keeps the sandbox in a SQLite file (sandbox.db under --data). Each record is
// a JSON document keyed by kind and id: the sandbox's state is read whole at start and
// written record by record, so documents keep the schema trivial and migrations
// unnecessary while the model grows (issue 4 adds kinds, not columns).
//
// The connection runs in WAL mode with synchronous=FULL (a committed payment survives a
// power cut), a busy timeout, and IMMEDIATE write transactions.
type SQLiteStore struct {
	db   *sql.DB
	lock *os.File
}

// OpenSQLiteStore opens (creating if needed) dir/sandbox.db.
func OpenSQLiteStore(ctx context.Context, dir string) (*SQLiteStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sandbox: creating data directory: %w", err)
	}
	lock, err := lockDataDir(dir)
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "sandbox.db")
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
		"&_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("sandbox: opening %s: %w", path, err)
	}
	db.SetMaxOpenConns(1) // one writer; the engine serialises commits anyway
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS records (
		kind TEXT NOT NULL,
		id   TEXT NOT NULL,
		body TEXT NOT NULL,
		PRIMARY KEY (kind, id)
	) WITHOUT ROWID`); err != nil {
		db.Close()
		lock.Close()
		return nil, fmt.Errorf("sandbox: preparing %s: %w", path, err)
	}
	return &SQLiteStore{db: db, lock: lock}, nil
}

// Load implements Store.
func (s *SQLiteStore) Load(ctx context.Context) (*State, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT kind, id, body FROM records ORDER BY kind, id`)
	if err != nil {
		return nil, fmt.Errorf("sandbox: loading state: %w", err)
	}
	defer rows.Close()
	st := &State{}
	for rows.Next() {
		var kind, id, body string
		if err := rows.Scan(&kind, &id, &body); err != nil {
			return nil, fmt.Errorf("sandbox: loading state: %w", err)
		}
		var dst any
		switch kind {
		case "meta":
			st.Meta = &Meta{}
			dst = st.Meta
		case "app":
			a := &App{}
			st.Apps, dst = append(st.Apps, a), a
		case "buyer":
			b := &Buyer{}
			st.Buyers, dst = append(st.Buyers, b), b
		case "code":
			c := &Code{}
			st.Codes, dst = append(st.Codes, c), c
		case "trade":
			t := &Trade{}
			st.Trades, dst = append(st.Trades, t), t
		case "notification":
			n := &Notification{}
			st.Notifications, dst = append(st.Notifications, n), n
		default:
			// Generic records (records.go); kinds this sandbox does not know are
			// skipped when decoded.
			st.Records = append(st.Records, RawRecord{Kind: kind, ID: id, Body: json.RawMessage(body)})
			continue
		}
		if err := json.Unmarshal([]byte(body), dst); err != nil {
			return nil, fmt.Errorf("sandbox: record %s/%s is corrupt: %w", kind, id, err)
		}
	}
	return st, rows.Err()
}

// Commit implements Store.
func (s *SQLiteStore) Commit(ctx context.Context, c *Changes) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sandbox: begin: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO records(kind, id, body) VALUES (?, ?, ?)
		ON CONFLICT(kind, id) DO UPDATE SET body = excluded.body`)
	if err != nil {
		return fmt.Errorf("sandbox: prepare: %w", err)
	}
	defer stmt.Close()
	put := func(kind, id string, v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if _, err := stmt.ExecContext(ctx, kind, id, string(b)); err != nil {
			return fmt.Errorf("sandbox: writing %s %s: %w", kind, id, err)
		}
		return nil
	}
	if c.Meta != nil {
		if err := put("meta", "meta", c.Meta); err != nil {
			return err
		}
	}
	for _, a := range c.Apps {
		if err := put("app", a.AppID, a); err != nil {
			return err
		}
	}
	for _, b := range c.Buyers {
		if err := put("buyer", b.UserID, b); err != nil {
			return err
		}
	}
	for _, x := range c.Codes {
		if err := put("code", x.Code, x); err != nil {
			return err
		}
	}
	for _, code := range c.DeletedCodes {
		if _, err := tx.ExecContext(ctx, `DELETE FROM records WHERE kind = 'code' AND id = ?`, code); err != nil {
			return fmt.Errorf("sandbox: deleting code %s: %w", code, err)
		}
	}
	for _, t := range c.Trades {
		if err := put("trade", t.TradeNo, t); err != nil {
			return err
		}
	}
	for _, n := range c.Notifications {
		if err := put("notification", n.NotifyID, n); err != nil {
			return err
		}
	}
	for _, r := range c.Records {
		if err := put(r.Kind, r.ID, r.Value); err != nil {
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sandbox: commit: %w", err)
	}
	return nil
}

// Close implements Store and releases the data directory.
func (s *SQLiteStore) Close() error {
	err := s.db.Close()
	if s.lock != nil {
		s.lock.Close() // the kernel drops the flock with the descriptor
		s.lock = nil
	}
	return err
}

// lockDataDir takes an exclusive flock on DIR/sandbox.lock. Two sandboxes on one data
// directory would each keep the whole state in memory and overwrite each other's
// records (and each deliver the same notifications): the second must refuse to start.
// The kernel releases a flock when its process dies, so a killed sandbox leaves no
// stale lock; the pid written into the file only makes the message helpful.
func lockDataDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, "sandbox.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sandbox: opening the lock file: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		holder := ""
		if b, rerr := os.ReadFile(path); rerr == nil {
			if pid, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr == nil && pid > 0 {
				holder = fmt.Sprintf(" (process %d)", pid)
			}
		}
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("sandbox: the data directory %s is in use by another sandbox%s; stop it or start this one with another --data", dir, holder)
		}
		return nil, fmt.Errorf("sandbox: locking %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return f, nil
}
