package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Round trips. A payment's store calls are short transactions of one to four
// statements, so what they cost is mostly round trips to the server — and on a busy
// machine each round trip also waits for the server process to be scheduled. pgx's
// Begin spends one on BEGIN alone; lazyTx sends BEGIN in one pipeline with the
// transaction's first statement instead, so a transaction of n statements costs n+1
// round trips (the COMMIT included) instead of n+2. A store call of a single
// statement runs it on the pool directly: a statement outside a transaction is its
// own transaction, atomic and durable at its end, and costs one round trip.

// querier is what store code runs statements on: a transaction (lazyTx) or, for a
// single statement, the pool.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	// SendBatch sends b's statements in one round trip; closing the results runs
	// their callbacks and returns the first error. On the pool, a batch of several
	// statements is one implicit transaction.
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

var (
	_ querier = (*lazyTx)(nil)
	_ querier = (*pgxpool.Pool)(nil)
)

// lazyTx is a READ COMMITTED transaction on one connection whose BEGIN travels with
// its first statement. It is used by one goroutine, and every Row it returns must be
// scanned before its next statement (as `tx.QueryRow(...).Scan(...)` always does).
type lazyTx struct {
	conn  *pgxpool.Conn
	begun bool // BEGIN was sent: the transaction must end with COMMIT or ROLLBACK
}

// start sends BEGIN with sql in one pipeline and returns the results positioned
// after BEGIN's.
func (t *lazyTx) start(ctx context.Context, sql string, args []any) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	b.Queue("begin")
	b.Queue(sql, args...)
	br := t.conn.SendBatch(ctx, b)
	t.begun = true
	if _, err := br.Exec(); err != nil {
		br.Close()
		return nil, err
	}
	return br, nil
}

func (t *lazyTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if t.begun {
		return t.conn.Exec(ctx, sql, args...)
	}
	br, err := t.start(ctx, sql, args)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

func (t *lazyTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	if t.begun {
		return t.conn.QueryRow(ctx, sql, args...)
	}
	br, err := t.start(ctx, sql, args)
	if err != nil {
		return errRow{err}
	}
	return &batchRow{br: br, row: br.QueryRow()}
}

// Query begins first (a Rows read from a pipeline would keep it open across the
// caller's loop); the claims that use it are not on a payment's path.
func (t *lazyTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	if !t.begun {
		t.begun = true
		if _, err := t.conn.Exec(ctx, "begin"); err != nil {
			return nil, err
		}
	}
	return t.conn.Query(ctx, sql, args...)
}

func (t *lazyTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	if !t.begun {
		withBegin := &pgx.Batch{}
		withBegin.Queue("begin")
		withBegin.QueuedQueries = append(withBegin.QueuedQueries, b.QueuedQueries...)
		b = withBegin
		t.begun = true
	}
	return t.conn.SendBatch(ctx, b)
}

// end commits (or, when fn failed, rolls back) what was begun.
func (t *lazyTx) end(ctx context.Context, commit bool) error {
	if !t.begun {
		return nil
	}
	if commit {
		tag, err := t.conn.Exec(ctx, "commit")
		if err == nil && tag.String() == "ROLLBACK" {
			// The server rolled back a transaction a failed statement had aborted.
			err = pgx.ErrTxCommitRollback
		}
		return err
	}
	_, err := t.conn.Exec(context.WithoutCancel(ctx), "rollback")
	return err
}

// batchRow is the row of a pipeline's second statement; scanning it closes the
// pipeline.
type batchRow struct {
	br  pgx.BatchResults
	row pgx.Row
}

func (r *batchRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
