package sqlite

import (
	"context"
	"database/sql"
	_ "embed"
	"time"

	"github.com/f2fpay/f2fpay/internal/sqlstore"
)

// queries.sql: SQLite's side of the statements that differ (internal/sqlstore).
//
//go:embed queries.sql
var dialectSQL string

var queries = sqlstore.MustLoad(dialectSQL, '?')

// timeArg stores t as microseconds since the epoch (sqlstore.NullTime reads it back).
func timeArg(t time.Time) any { return t.UnixMicro() }

// execer is what a conn runs statements on: the read pool, a write transaction, the
// write connection.
type execer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// conn is an execer as sqlstore.Conn. Its one field is a pointer, so making it an
// interface value allocates nothing.
type conn[E execer] struct{ e E }

func (c conn[E]) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Scanner {
	return c.e.QueryRowContext(ctx, query, args...)
}

func (c conn[E]) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	rows, err := c.e.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return sqlRows{rows}, nil
}

func (c conn[E]) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := c.e.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// Batch runs the statements one by one: a round trip to SQLite is a function call.
func (c conn[E]) Batch(ctx context.Context, stmts []sqlstore.Stmt) error {
	return sqlstore.RunBatch(ctx, c, stmts)
}

// sqlRows is *sql.Rows with the Close of sqlstore.Rows.
type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { r.Rows.Close() }

// A write transaction is a sqlstore.Conn itself, so that the writer hands it to the
// shared logic without a wrapper (DB.tx is writer.doShared).

func (t *wtx) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Scanner {
	return t.QueryRowContext(ctx, query, args...)
}

func (t *wtx) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	return conn[*wtx]{t}.Query(ctx, query, args...)
}

func (t *wtx) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return conn[*wtx]{t}.Exec(ctx, query, args...)
}

func (t *wtx) Batch(ctx context.Context, stmts []sqlstore.Stmt) error {
	return sqlstore.RunBatch(ctx, t, stmts)
}
