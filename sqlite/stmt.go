package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// Prepared statements. Without them SQLite parses and plans every statement on every
// execution — a tenth of the service's CPU under load went to the SQL parser alone.
// database/sql keeps one driver statement per connection under a *sql.Stmt and
// prepares it on a connection the first time that connection runs it, so one cache
// per pool, keyed by the SQL text, is all it takes: the statements of this package
// are constants (or a few shapes of filter), and SQLite re-prepares a statement by
// itself when the schema changes under it.

// maxStmts bounds a cache. The package has a few dozen statements; the bound only
// guarantees that a caller building SQL text from input could never grow it without
// limit (past it, statements run unprepared, as before).
const maxStmts = 256

type stmtCache struct {
	pool *sql.DB
	// deferred: get does not prepare a missing statement but notes it for
	// prepareDeferred. The write pool's one connection is held by the transaction
	// that asks, so preparing on the pool there would wait for itself forever; the
	// writer prepares between transactions instead.
	deferred bool
	mu       sync.Mutex
	m        map[string]*sql.Stmt
	pending  map[string]bool
	failed   map[string]bool // did not prepare (a script, a syntax error): never retried
}

func newStmtCache(pool *sql.DB, deferred bool) *stmtCache {
	return &stmtCache{pool: pool, deferred: deferred, m: map[string]*sql.Stmt{}, pending: map[string]bool{}, failed: map[string]bool{}}
}

// get returns the prepared statement for query, or nil when it is not prepared (yet):
// the caller then runs the query unprepared, which also reports any error in it.
func (c *stmtCache) get(ctx context.Context, query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s, ok := c.m[query]; ok {
		return s
	}
	if c.m == nil || c.failed[query] || len(c.m)+len(c.pending)+len(c.failed) >= maxStmts {
		return nil
	}
	if c.deferred {
		c.pending[query] = true
		return nil
	}
	s, err := c.pool.PrepareContext(ctx, query)
	if err != nil {
		c.failed[query] = true
		return nil
	}
	c.m[query] = s
	return s
}

// prepareDeferred prepares the statements get has noted; call it with no
// transaction open on the pool.
func (c *stmtCache) prepareDeferred(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		return
	}
	for q := range c.pending {
		delete(c.pending, q)
		s, err := c.pool.PrepareContext(ctx, q)
		if err != nil {
			c.failed[q] = true
			continue
		}
		c.m[q] = s
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range c.m {
		s.Close()
	}
	c.m = nil
}

// pool is a connection pool whose queries use prepared statements.
type pool struct {
	*sql.DB
	stmts *stmtCache
}

func newPool(db *sql.DB) *pool { return &pool{DB: db, stmts: newStmtCache(db, false)} }

// QueryRowContext runs a single-row lookup. It is not interrupted by ctx: a lookup by
// key takes microseconds, and a cancellable context would cost each of them two
// goroutines (database/sql watches it for the Rows, modernc.org/sqlite for an
// interrupt) — several per payment, each one more wake-up for a busy scheduler. A
// context already done still refuses to start the lookup.
func (p *pool) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if ctx.Err() == nil {
		ctx = context.WithoutCancel(ctx)
	}
	if s := p.stmts.get(ctx, query); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return p.DB.QueryRowContext(ctx, query, args...)
}

func (p *pool) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := p.stmts.get(ctx, query); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return p.DB.QueryContext(ctx, query, args...)
}

func (p *pool) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := p.stmts.get(ctx, query); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return p.DB.ExecContext(ctx, query, args...)
}

// Close closes the statements, then the pool.
func (p *pool) Close() error {
	p.stmts.close()
	return p.DB.Close()
}

// wtx is a write transaction whose statements are the write pool's prepared ones
// (tx.StmtContext reuses the driver statement already prepared on the connection).
// Tx is the plain transaction, for one-off SQL such as a migration script.
type wtx struct {
	Tx    *sql.Tx
	stmts *stmtCache
}

func (t *wtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if s := t.stmts.get(ctx, query); s != nil {
		return t.Tx.StmtContext(ctx, s).QueryRowContext(ctx, args...)
	}
	return t.Tx.QueryRowContext(ctx, query, args...)
}

func (t *wtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if s := t.stmts.get(ctx, query); s != nil {
		return t.Tx.StmtContext(ctx, s).QueryContext(ctx, args...)
	}
	return t.Tx.QueryContext(ctx, query, args...)
}

func (t *wtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if s := t.stmts.get(ctx, query); s != nil {
		return t.Tx.StmtContext(ctx, s).ExecContext(ctx, args...)
	}
	return t.Tx.ExecContext(ctx, query, args...)
}
