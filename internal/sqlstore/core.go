package sqlstore

import (
	"time"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/internal/merchcache"
)

// Config is what a store tells Core about itself.
type Config struct {
	// Name prefixes unexpected errors: "sqlite", "postgres".
	Name string
	// Queries are the store's statements (Load).
	Queries *Queries
	// Placeholder is the dialect's placeholder character, '?' or '$', for the SQL
	// built from filters.
	Placeholder byte
	// Time encodes a non-zero time as the store keeps it.
	Time func(time.Time) any
	// Constraint translates a constraint violation: a unique key into ECONFLICT with
	// conflict as the message, a foreign key into ENOTFOUND with missing, a CHECK into
	// EINVALID. Other errors it returns as they are.
	Constraint func(err error, conflict, missing string) error
	// Clock stamps CreatedAt, UpdatedAt and the like.
	Clock f2fpay.Clock
	// Read runs the queries that change nothing.
	Read Conn
	// Autocommit runs the merchant data's writes, each statement its own transaction;
	// Flush, when set, makes them durable after a success.
	Autocommit Conn
	Flush      func() error
	// Tx runs a transaction. Single runs fn, which makes exactly one statement or one
	// Batch, as atomically as Tx does: a store that can run it outside a transaction
	// saves the BEGIN and COMMIT; nil means Tx.
	Tx, Single TxFunc
	// Cache keeps merchants, apps, stores and terminals; CacheKeyIDs lets
	// FindTerminalByKeyID answer from it too, which only a cache that is never stale
	// may (a rotated key or a disabled terminal must be refused at once).
	Cache       *merchcache.Cache
	CacheKeyIDs bool
}

// Core implements the f2fpay.Storage methods whose logic both stores share; a store
// embeds it and adds the rest.
type Core struct {
	cfg Config
	q   *Queries
	ph  placeholders
}

// New returns the Core of a store.
func New(cfg Config) *Core {
	if cfg.Single == nil {
		cfg.Single = cfg.Tx
	}
	return &Core{cfg: cfg, q: cfg.Queries, ph: placeholders(cfg.Placeholder)}
}

// Now is the time of one store call, truncated to the microseconds both stores keep.
func (c *Core) Now() time.Time { return c.cfg.Clock.Now().UTC().Truncate(time.Microsecond) }

// T is t as a query argument; the zero time is NULL.
func (c *Core) T(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return c.cfg.Time(t)
}

// Wrap prefixes unexpected errors with the store and op (see Wrap).
func (c *Core) Wrap(err *error, op string) { Wrap(err, c.cfg.Name, op) }

func (c *Core) constraint(err error, conflict, missing string) error {
	return c.cfg.Constraint(err, conflict, missing)
}

// merchantWrite ends a write of merchant data: flush it when the store asks for that,
// then drop the cache (after the write, so that no reader caches the old row).
func (c *Core) merchantWrite(err *error) {
	if *err == nil && c.cfg.Flush != nil {
		*err = c.cfg.Flush()
	}
	c.cfg.Cache.Invalidate()
}

// runAfter runs what a committed transaction sets on the caller's values.
func runAfter(after []func()) {
	for _, f := range after {
		f()
	}
}
