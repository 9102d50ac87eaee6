// Package postgres stores f2fpay's data in PostgreSQL (github.com/jackc/pgx/v5), for
// several `f2fpay serve` instances behind a load balancer sharing one database.
//
// Background work is shared with row locks: ClaimDueOrders, ClaimDueRefunds and
// ClaimEvents select their rows FOR UPDATE SKIP LOCKED and lease them in the same
// UPDATE ... RETURNING, so concurrent instances never take the same row and never wait
// for each other; a lease that runs out (an instance died) makes the row claimable
// again, and fencing (order versions, event tokens) keeps the late instance from
// overwriting its successor's work. docs/storage.md has the details.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/internal/merchcache"
	"github.com/f2fpay/f2fpay/internal/sqlstore"
)

// Options tune Open. The zero value is what the service uses.
type Options struct {
	// Clock stamps CreatedAt, UpdatedAt and the like; SystemClock when nil.
	Clock f2fpay.Clock
	// Schema, when set, is the search_path of every connection: f2fpay's tables live
	// there instead of in the DSN's default schema. Tests use a schema each.
	Schema string
	// MaxConns is the pool size; when zero, pool_max_conns of the DSN, else
	// max(16, 4×NumCPU).
	MaxConns int32
	// NoMigrate leaves the schema as it is; `f2fpay migrate` uses it to report which
	// migrations it applies.
	NoMigrate bool
}

// DB is the PostgreSQL implementation of f2fpay.Storage. Most of its methods are the
// shared store logic (internal/sqlstore) running on the pools below; idempotency.go
// holds the ones of its own.
type DB struct {
	*sqlstore.Core
	pool *pgxpool.Pool
	// lazy runs the writes whose contract lets them skip the commit's WAL flush
	// (f2fpay.Storage, "Durability"): its connections have synchronous_commit=off, so a
	// commit returns once it is in the server's WAL buffers. The server never loses it
	// when only f2fpay dies; a crash of the server itself may lose the last ones, but
	// WAL order holds: the next flush of a normal commit flushes them first.
	lazy  *pgxpool.Pool
	clock f2fpay.Clock
	// cache keeps merchants, apps, stores and terminals for cacheTTL: other instances'
	// changes reach this one within it, this one's at once. FindTerminalByKeyID, which
	// authenticates terminals, always reads, so a rotated key or a disabled terminal is
	// refused on every instance at once.
	cache *merchcache.Cache
}

// cacheTTL bounds how long another instance's change to an app, store or merchant
// (a rotated Alipay key, a new webhook URL) takes to reach this one. A second saves
// five of a payment's round trips to the server — about a millisecond of its CPU per
// payment — and is shorter than an operator takes to switch the key at Alipay's console.
const cacheTTL = time.Second

var _ f2fpay.Storage = (*DB)(nil)

// Open connects to the database named by dsn (postgres://user:pass@host:5432/db?...
// or key=value form) and applies the embedded migrations unless opts.NoMigrate.
func Open(ctx context.Context, dsn string, opts Options) (_ *DB, err error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, f2fpay.Errorf(f2fpay.EINVALID, "postgres: the connection string is not valid (%v); give one like postgres://user:password@host:5432/dbname?sslmode=disable", err)
	}
	if opts.Schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = opts.Schema
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	} else if !strings.Contains(dsn, "pool_max_conns") {
		// pgxpool's default, max(4, NumCPU), queues a payment's short transactions
		// behind each other's commit flushes on small machines; the server's group
		// commit does better with more of them in flight.
		cfg.MaxConns = int32(max(16, 4*runtime.NumCPU()))
	}
	db := &DB{clock: opts.Clock, cache: merchcache.New(cacheTTL)}
	if db.clock == nil {
		db.clock = f2fpay.SystemClock{}
	}
	if db.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	lazyCfg := cfg.Copy()
	lazyCfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	// A payment makes about as many lazy writes as durable ones (idempotency records,
	// the pay answer, call history), but they hold a connection for less time: half the
	// pool keeps them from queueing without doubling the server's connections.
	lazyCfg.MaxConns = max(4, cfg.MaxConns/2)
	if db.lazy, err = pgxpool.NewWithConfig(ctx, lazyCfg); err != nil {
		db.pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	defer func() {
		if err != nil {
			db.pool.Close()
			db.lazy.Close()
		}
	}()
	db.Core = sqlstore.New(sqlstore.Config{
		Name: "postgres", Queries: queries, Placeholder: '$', Time: timeArg, Constraint: constraint, Clock: db.clock,
		Read: conn{db.pool}, Autocommit: conn{db.pool}, Tx: db.tx, Single: db.single,
		// Other instances write too: a terminal's key is always read (see cache).
		Cache: db.cache, CacheKeyIDs: false,
	})
	if err := db.pool.Ping(ctx); err != nil {
		return nil, fmt.Errorf("postgres: cannot reach %s:%d/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	if !opts.NoMigrate {
		if _, err := db.Migrate(ctx); err != nil {
			return nil, err
		}
	}
	return db, nil
}

// Ping reports whether the database answers a query.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.pool.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close closes the pool, waiting for connections in use to be returned.
func (db *DB) Close() error {
	db.pool.Close()
	db.lazy.Close()
	return nil
}

// inTx runs fn in a READ COMMITTED transaction and commits it. Compare-and-set
// updates (WHERE version = $n) and token checks are single statements, which row
// locks make atomic at this level; claims use FOR UPDATE SKIP LOCKED. The BEGIN
// travels with fn's first statement (tx.go).
func (db *DB) inTx(ctx context.Context, fn func(tx querier) error) error {
	return runTx(ctx, db.pool, fn)
}

// inLazyTx is inTx for the writes that need not be flushed when it returns (see lazy).
func (db *DB) inLazyTx(ctx context.Context, fn func(tx querier) error) error {
	return runTx(ctx, db.lazy, fn)
}

func runTx(ctx context.Context, pool *pgxpool.Pool, fn func(tx querier) error) error {
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	// Release destroys a connection left inside a transaction or busy, so an error
	// half-way cannot hand a dirty connection to the next caller.
	defer conn.Release()
	tx := &lazyTx{conn: conn}
	if err := fn(tx); err != nil {
		tx.end(ctx, false)
		return err
	}
	return tx.end(ctx, true)
}

// constraint translates a constraint violation: a unique key into ECONFLICT with
// conflict as the message, a foreign key into ENOTFOUND with missing, a CHECK into
// EINVALID. Other errors are returned as they are.
func constraint(err error, conflict, missing string) error {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case "23505": // unique_violation
		if conflict != "" {
			return f2fpay.Errorf(f2fpay.ECONFLICT, "%s", conflict)
		}
	case "23503": // foreign_key_violation
		if missing != "" {
			return f2fpay.Errorf(f2fpay.ENOTFOUND, "%s", missing)
		}
	case "23514": // check_violation
		return f2fpay.Errorf(f2fpay.EINVALID, "a value is out of range (%s)", pe.ConstraintName)
	}
	return err
}

// PoolStats reports the main and lazy connection pools (f2fpay.PoolStat), for metrics.
func (db *DB) PoolStats() []f2fpay.PoolStat {
	stat := func(name string, p *pgxpool.Pool) f2fpay.PoolStat {
		s := p.Stat()
		return f2fpay.PoolStat{Pool: name, Max: int(s.MaxConns()), InUse: int(s.AcquiredConns()), Idle: int(s.IdleConns()),
			Waits: s.EmptyAcquireCount(), WaitSeconds: s.EmptyAcquireWaitTime().Seconds()}
	}
	out := []f2fpay.PoolStat{stat("main", db.pool)}
	if db.lazy != nil && db.lazy != db.pool {
		out = append(out, stat("lazy", db.lazy))
	}
	return out
}
