package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/f2fpay/f2fpay"
)

// Scanner is a row: *sql.Row and *sql.Rows of database/sql, pgx.Row and pgx.Rows.
type Scanner interface{ Scan(dest ...any) error }

// Rows is the result of a query: pgx.Rows as it is, *sql.Rows behind a Close without
// a result.
type Rows interface {
	Scanner
	Next() bool
	Err() error
	Close()
}

// Conn runs statements: a store's pool, its autocommitting connection, or one of its
// transactions.
type Conn interface {
	// QueryRow runs a statement that returns one row; its error, sql.ErrNoRows
	// included (pgx.ErrNoRows is one too), comes from Scan.
	QueryRow(ctx context.Context, query string, args ...any) Scanner
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	// Exec returns the number of rows the statement changed.
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	// Batch runs stmts in order and stops at the first error, which it returns; in
	// one round trip where the database is across a network (RunBatch otherwise).
	Batch(ctx context.Context, stmts []Stmt) error
}

// Stmt is a statement of a Batch. Scan, when set, receives its row (RETURNING) and
// says what an error means; Exec, when set, receives the rows it changed or its error.
type Stmt struct {
	Query string
	Args  []any
	Scan  func(Scanner) error
	Exec  func(n int64, err error) error
}

// RunBatch runs stmts one after the other on c: Batch for an embedded database, where
// a round trip is a function call.
func RunBatch(ctx context.Context, c Conn, stmts []Stmt) error {
	for _, s := range stmts {
		var err error
		switch {
		case s.Scan != nil:
			err = s.Scan(c.QueryRow(ctx, s.Query, s.Args...))
		case s.Exec != nil:
			err = s.Exec(c.Exec(ctx, s.Query, s.Args...))
		default:
			_, err = c.Exec(ctx, s.Query, s.Args...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// TxFunc runs fn in a transaction and commits it. lazy: the commit need not be flushed
// to disk when it returns (f2fpay.Storage, "Durability").
type TxFunc func(ctx context.Context, lazy bool, fn func(ctx context.Context, tx Conn) error) error

// Wrap prefixes unexpected errors with the store and the operation; an *f2fpay.Error
// passes unchanged, its message is for the user already.
func Wrap(err *error, store, op string) {
	if *err == nil {
		return
	}
	var e *f2fpay.Error
	if errors.As(*err, &e) {
		return
	}
	*err = fmt.Errorf("%s: %s: %w", store, op, *err)
}

// Collect scans every row of a query; err is the query's own error.
func Collect[T any](rows Rows, err error, scan func(Scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// FindOne scans the single row of a query, ENOTFOUND (with what as the message) when
// there is none.
func FindOne[T any](row Scanner, scan func(Scanner) (T, error), what string, args ...any) (T, error) {
	v, err := scan(row)
	if isNoRows(err) {
		var zero T
		return zero, f2fpay.Errorf(f2fpay.ENOTFOUND, what, args...)
	}
	return v, err
}

// isNoRows reports whether err says a query found no row (pgx.ErrNoRows is
// sql.ErrNoRows too).
func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// IDArg stores an optional reference: 0 as NULL, so the foreign key does not apply.
func IDArg(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// NullID scans an optional reference back, NULL as 0.
type NullID struct{ ID *int64 }

func (n NullID) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*n.ID = 0
	case int64:
		*n.ID = v
	default:
		return fmt.Errorf("id column holds %T, want an integer", src)
	}
	return nil
}

// NullTime scans a time column back into a UTC time, NULL as the zero time. It reads
// both encodings — SQLite's INTEGER microseconds since the epoch arrive as int64,
// PostgreSQL's timestamptz as time.Time — so one scanner serves both stores.
type NullTime struct{ T *time.Time }

func (n NullTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*n.T = time.Time{}
	case int64:
		*n.T = time.UnixMicro(v).UTC()
	case time.Time:
		*n.T = v.UTC()
	default:
		return fmt.Errorf("time column holds %T, want INTEGER microseconds or timestamptz", src)
	}
	return nil
}

// OptArg is an update's optional value as a query argument: NULL (coalesce keeps the
// stored value) when it is not given.
func OptArg[T ~string](p *T) any {
	if p == nil {
		return nil
	}
	return string(*p)
}

// placeholders renders query arguments for dynamic SQL: "$3" or "?3".
type placeholders byte

func (p placeholders) arg(n int) string { return string(rune(p)) + strconv.Itoa(n) }

// list renders n placeholders from first on, for an IN list.
func (p placeholders) list(first, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(p.arg(first + i))
	}
	return b.String()
}
