// Package sqlite stores f2fpay's merchants, orders, refunds, outbox events and
// idempotency records in one SQLite file (modernc.org/sqlite, pure Go): the embedded
// default of `f2fpay serve` and `f2fpay demo`.
//
// Guarantees that the PostgreSQL store gets from row locks come here from SQLite's
// single writer: every write transaction begins IMMEDIATE on the one write connection,
// so a claim (select the due rows, lease them) runs while no other writer can change
// them, and two claimers never lease the same row. The lock file keeps a second
// process away, so the single writer is the only writer. Store calls that queue up
// behind a commit share the next transaction and its fsync, each in a savepoint of
// its own (group commit, writer.go); statements are prepared once per connection
// (stmt.go). docs/storage.md has the details.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	sqlitedrv "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/internal/merchcache"
	"github.com/f2fpay/f2fpay/internal/sqlstore"
)

// Options tune Open. The zero value is what the service uses.
type Options struct {
	// Clock stamps CreatedAt, UpdatedAt and the like; SystemClock when nil.
	Clock f2fpay.Clock
	// ReadConns is the size of the read pool; max(4, GOMAXPROCS) when zero.
	ReadConns int
	// NoMigrate leaves the schema as it is; `f2fpay migrate` uses it to report which
	// migrations it applies.
	NoMigrate bool
}

// DB is the SQLite implementation of f2fpay.Storage. Most of its methods are the
// shared store logic (internal/sqlstore) running on the connections below;
// idempotency.go holds the ones of its own.
type DB struct {
	*sqlstore.Core
	path  string
	write *sql.DB // exactly one connection: the single writer
	w     *writer // group-commits the write transactions (writer.go)
	read  *pool   // query_only connections, prepared statements; WAL lets them read while the writer writes
	lock  *lockFile
	clock f2fpay.Clock
	cache *merchcache.Cache // merchants, apps, stores, terminals: exact, this process is the only writer
	ckpt  *checkpointer     // WAL checkpoints beside the writer (checkpoint.go)
}

var _ f2fpay.Storage = (*DB)(nil)

// pragmas are set on every connection through the DSN (a pragma run once with Exec
// would reach only one connection of the pool):
//   - journal_mode=WAL: readers do not block the writer nor the writer readers, and a
//     commit appends to the log instead of rewriting pages;
//   - synchronous=NORMAL: a commit writes the WAL but does not flush it; the store
//     flushes it itself, outside the write lock, before a durable call returns
//     (syncer.go), so an order recorded PAYING before calling Alipay is still there
//     after a power cut — without every other write queueing behind the disk;
//   - busy_timeout=5000: wait up to 5 s for a lock (a checkpoint, the migrate command)
//     instead of failing at once with SQLITE_BUSY;
//   - foreign_keys=ON: SQLite leaves them off by default, per connection.
//
// _txlock=immediate makes BEGIN take the write lock at once: a transaction that reads
// then writes would otherwise fail with SQLITE_BUSY when another writer got there
// first, since a deferred transaction cannot wait to upgrade its read snapshot.
const pragmas = "_pragma=busy_timeout(" + busyTimeoutMS + ")&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)"

const (
	busyTimeout   = 5 * time.Second
	busyTimeoutMS = "5000" // busyTimeout in the DSN
)

// Open opens (creating if needed) the database file at path, takes the lock file
// "<path>.lock", and applies the embedded migrations unless opts.NoMigrate.
func Open(ctx context.Context, path string, opts Options) (_ *DB, err error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "sqlite: %q is not a database file path; give a file name such as ./f2fpay.db", path)
	}
	if strings.ContainsAny(path, "?#") {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "sqlite: database path %q contains '?' or '#'; choose a file name without them", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	db := &DB{path: abs, clock: opts.Clock, cache: merchcache.New(0)}
	if db.clock == nil {
		db.clock = f2fpay.SystemClock{}
	}
	if db.lock, err = acquireLock(abs + ".lock"); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()

	// The path goes before '?' verbatim: modernc.org/sqlite splits the DSN there and
	// does not URL-decode the name (so '?' and '#' are refused above).
	// wal_autocheckpoint=0: checkpoints run beside the writer, not inside its commits
	// (checkpoint.go).
	if db.write, err = sql.Open("sqlite", abs+"?"+pragmas+"&_pragma=wal_autocheckpoint(0)&_pragma=journal_size_limit("+strconv.Itoa(journalLimit)+")&_txlock=immediate"); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	// One writer connection: SQLite admits one writer at a time anyway, and queueing
	// for a connection in database/sql is cheaper and fairer than SQLite's busy loop,
	// which sleeps in steps of up to 100 ms.
	db.write.SetMaxOpenConns(1)
	db.write.SetMaxIdleConns(1)
	db.write.SetConnMaxLifetime(0)
	db.write.SetConnMaxIdleTime(0)
	db.w = newWriter(db.write, abs)
	// WAL mode is a property of the file; set it (and create the file) through the
	// writer before any reader connects.
	if err := db.write.PingContext(ctx); err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}

	n := opts.ReadConns
	if n <= 0 {
		n = max(4, runtime.GOMAXPROCS(0))
	}
	readDB, err := sql.Open("sqlite", abs+"?"+pragmas+"&_pragma=query_only(1)")
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	db.read = newPool(readDB)
	db.read.SetMaxOpenConns(n)
	db.read.SetMaxIdleConns(n)
	db.read.SetConnMaxIdleTime(0)
	db.read.SetConnMaxLifetime(0)
	db.Core = sqlstore.New(sqlstore.Config{
		Name: "sqlite", Queries: queries, Placeholder: '?', Time: timeArg, Constraint: constraint, Clock: db.clock,
		Read: conn[*pool]{db.read},
		// Merchant data is written outside the writer's batches, on its connection,
		// and flushed before the call returns (syncer.go).
		Autocommit: conn[*sql.DB]{db.write}, Flush: db.w.flush,
		Tx: db.w.doShared,
		// This process is the only writer, so the cache is never stale.
		Cache: db.cache, CacheKeyIDs: true,
	})

	if !opts.NoMigrate {
		if _, err := db.Migrate(ctx); err != nil {
			return nil, err
		}
	}
	if !opts.NoMigrate {
		if err := db.Optimize(ctx); err != nil {
			return nil, err
		}
	}
	ckpt, err := sql.Open("sqlite", abs+"?"+pragmas)
	if err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
	}
	ckpt.SetMaxOpenConns(1)
	db.ckpt = startCheckpointer(ckpt, db.w)
	return db, nil
}

// Path is the absolute path of the database file.
func (db *DB) Path() string { return db.path }

// Ping reports whether the database answers a query.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.read.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close closes the pools and releases the lock file.
func (db *DB) Close() error {
	var errs []error
	if db.ckpt != nil {
		db.ckpt.close()
	}
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	if db.w != nil {
		db.w.close()
	}
	if db.write != nil {
		errs = append(errs, db.write.Close())
	}
	errs = append(errs, db.lock.release())
	return errors.Join(errs...)
}

// inTx runs fn in a write transaction (BEGIN IMMEDIATE) and returns once it has
// committed and is on disk. fn must use the ctx and tx it is given; it may share the
// transaction with other calls (group commit, writer.go), each undone alone when it
// fails.
func (db *DB) inTx(ctx context.Context, fn func(ctx context.Context, tx *wtx) error) error {
	return db.w.do(ctx, false, fn)
}

// inLazyTx is inTx for writes that need not be flushed when it returns: they are in
// the WAL (a killed process keeps them) and become durable with the next flush, but
// a power cut may lose them. Only for writes whose loss redoes a step and changes no
// money (writer.go lists them).
func (db *DB) inLazyTx(ctx context.Context, fn func(ctx context.Context, tx *wtx) error) error {
	return db.w.do(ctx, true, fn)
}

// constraint translates a constraint violation: a unique key into ECONFLICT with
// conflict as the message, a foreign key into ENOTFOUND with missing. Other errors
// are returned as they are.
func constraint(err error, conflict, missing string) error {
	var se *sqlitedrv.Error
	if !errors.As(err, &se) {
		return err
	}
	switch se.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		if conflict != "" {
			return f2fpay.Errorf(f2fpay.ECONFLICT, "%s", conflict)
		}
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		if missing != "" {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "%s", missing)
		}
	case sqlite3.SQLITE_CONSTRAINT_CHECK:
		return f2fpay.Errorf(f2fpay.EINVALID, "a value is out of range: %v", se)
	}
	return err
}

// Pragmas reports the settings of a write and a read connection, for tests and the
// startup log. A setting that differs between the two is reported as "w/r".
func (db *DB) Pragmas(ctx context.Context) (map[string]string, error) {
	out := map[string]string{}
	for _, name := range []string{"journal_mode", "synchronous", "busy_timeout", "foreign_keys"} {
		var w, r string
		if err := db.write.QueryRowContext(ctx, "PRAGMA "+name).Scan(&w); err != nil {
			return nil, fmt.Errorf("sqlite: pragma %s: %w", name, err)
		}
		if err := db.read.QueryRowContext(ctx, "PRAGMA "+name).Scan(&r); err != nil {
			return nil, fmt.Errorf("sqlite: pragma %s: %w", name, err)
		}
		out[name] = w
		if w != r {
			out[name] = w + "/" + r
		}
	}
	return out, nil
}

// PoolStats reports the write and read connection pools (f2fpay.PoolStat), for metrics.
func (db *DB) PoolStats() []f2fpay.PoolStat {
	stat := func(name string, d *sql.DB) f2fpay.PoolStat {
		s := d.Stats()
		return f2fpay.PoolStat{Pool: name, Max: s.MaxOpenConnections, InUse: s.InUse, Idle: s.Idle,
			Waits: s.WaitCount, WaitSeconds: s.WaitDuration.Seconds()}
	}
	return []f2fpay.PoolStat{stat("write", db.write), stat("read", db.read.DB)}
}
