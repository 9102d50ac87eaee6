package postgres

import (
	"context"
	_ "embed"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/f2fpay/f2fpay/internal/sqlstore"
)

// queries.sql: PostgreSQL's side of the statements that differ (internal/sqlstore).
//
//go:embed queries.sql
var dialectSQL string

var queries = sqlstore.MustLoad(dialectSQL, '$')

// timeArg stores t as timestamptz, to the microsecond it keeps.
func timeArg(t time.Time) any { return t.UTC().Truncate(time.Microsecond) }

// conn is a querier as sqlstore.Conn.
type conn struct{ q querier }

func (c conn) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Scanner {
	return c.q.QueryRow(ctx, query, args...)
}

func (c conn) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	rows, err := c.q.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rows, nil
}

func (c conn) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := c.q.Exec(ctx, query, args...)
	return tag.RowsAffected(), err
}

// Batch sends the statements in one round trip (one pipeline); on the pool, a batch
// of several statements is one implicit transaction.
func (c conn) Batch(ctx context.Context, stmts []sqlstore.Stmt) error {
	if len(stmts) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	for _, s := range stmts {
		q := b.Queue(s.Query, s.Args...)
		switch {
		case s.Scan != nil:
			q.Fn = func(br pgx.BatchResults) error { return s.Scan(br.QueryRow()) }
		case s.Exec != nil:
			q.Fn = func(br pgx.BatchResults) error {
				tag, err := br.Exec()
				return s.Exec(tag.RowsAffected(), err)
			}
		}
	}
	return c.q.SendBatch(ctx, b).Close()
}

// poolOf is the pool of durable or of lazy commits (DB.lazy).
func (db *DB) poolOf(lazy bool) *pgxpool.Pool {
	if lazy {
		return db.lazy
	}
	return db.pool
}

// tx runs fn in a transaction whose BEGIN travels with its first statement (tx.go).
func (db *DB) tx(ctx context.Context, lazy bool, fn func(ctx context.Context, tx sqlstore.Conn) error) error {
	return runTx(ctx, db.poolOf(lazy), func(tx querier) error { return fn(ctx, conn{tx}) })
}

// single runs fn, which makes exactly one statement or one batch, on the pool:
// outside a transaction a statement is its own, so this is as atomic as tx and saves
// the BEGIN and COMMIT round trips.
func (db *DB) single(ctx context.Context, lazy bool, fn func(ctx context.Context, tx sqlstore.Conn) error) error {
	return fn(ctx, conn{db.poolOf(lazy)})
}
