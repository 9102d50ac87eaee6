package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
)

// Group commit. With synchronous=FULL every COMMIT waits for an fsync of the WAL
// (a millisecond or more on real disks), and SQLite admits one writer at a time, so
// one commit per store call would cap the whole service at a few hundred write
// transactions per second however many cores it has — a barcode payment alone makes
// half a dozen. The writer therefore runs the store calls that queue up while a
// commit is under way together, in one BEGIN IMMEDIATE transaction, each inside its
// own SAVEPOINT, and commits them with one fsync:
//
//   - each call still sees the effects of the calls before it (they run one after the
//     other on the single write connection), so compare-and-set, claims and leases keep
//     exactly the meaning they have under the single-writer lock;
//   - a call whose function fails is rolled back to its savepoint alone, and gets its
//     own error; the others are unaffected;
//   - no call returns before the COMMIT that holds its writes has returned: an order
//     recorded PAYING is on disk before trade.pay is sent, as before. If the COMMIT (or
//     the transaction) fails, every call of the batch gets the error — none of them took
//     effect.
//
// The functions run under their caller's values but not its cancellation: SQLite
// answers an interrupted write inside an explicit transaction by rolling the whole
// transaction back, which would undo the other calls of the batch. A call whose
// context is already done when its turn comes is not run.

// maxBatch bounds one group commit, so that a flood of writes still commits (and
// answers) in slices rather than in one ever-growing transaction.
const maxBatch = 64

type txRequest struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *wtx) error
	done chan error // buffered: the writer never blocks on a caller
}

// writer owns the write connection's transactions. Its goroutine starts on first use
// and stops at Close.
type writer struct {
	db      *sql.DB
	stmts   *stmtCache   // the write pool's prepared statements (deferred preparation)
	largest atomic.Int64 // the largest batch so far (tests check that calls do share)
	reqs    chan *txRequest
	quit    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
	stop    sync.Once
}

func newWriter(db *sql.DB) *writer {
	return &writer{db: db, stmts: newStmtCache(db, true), reqs: make(chan *txRequest), quit: make(chan struct{})}
}

var errClosed = errors.New("the database is closed")

// do runs fn in a write transaction, possibly together with other calls, and returns
// once the transaction holding fn's writes has committed (nil) or failed.
func (w *writer) do(ctx context.Context, fn func(ctx context.Context, tx *wtx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w.once.Do(func() {
		w.wg.Add(1)
		go w.loop()
	})
	r := &txRequest{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case w.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-w.quit:
		return errClosed
	}
	// Once handed over, fn may be running: wait for its outcome whatever ctx says,
	// so that nothing fn touches is used after the caller has moved on.
	return <-r.done
}

// close stops the writer after the batch under way; calls that were not yet handed
// over get errClosed.
func (w *writer) close() {
	w.stop.Do(func() { close(w.quit) })
	w.wg.Wait()
	w.stmts.close()
}

func (w *writer) loop() {
	defer w.wg.Done()
	batch := make([]*txRequest, 0, maxBatch)
	for {
		select {
		case r := <-w.reqs:
			batch = append(batch[:0], r)
		case <-w.quit:
			return
		}
	collect:
		for len(batch) < maxBatch {
			select {
			case r := <-w.reqs:
				batch = append(batch, r)
			default:
				break collect
			}
		}
		w.run(batch)
		clear(batch)
		// The connection is free now: prepare what the batch ran unprepared.
		w.stmts.prepareDeferred(context.Background())
	}
}

// run executes one batch in one transaction and reports to every caller.
func (w *writer) run(batch []*txRequest) {
	if n := int64(len(batch)); n > w.largest.Load() {
		w.largest.Store(n)
	}
	errs := make([]error, len(batch))
	live := 0
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		live++
	}
	if live == 0 {
		finish(batch, errs, nil)
		return
	}
	sqlTx, err := w.db.BeginTx(context.Background(), nil)
	if err != nil {
		finish(batch, errs, err)
		return
	}
	tx := &wtx{Tx: sqlTx, stmts: w.stmts}
	savepoints := live > 1
	for i, r := range batch {
		if errs[i] != nil {
			continue
		}
		ctx := context.WithoutCancel(r.ctx)
		if !savepoints {
			errs[i] = safeCall(ctx, r.fn, tx)
			if errs[i] != nil {
				sqlTx.Rollback()
				finish(batch, errs, nil)
				return
			}
			continue
		}
		if _, err := tx.ExecContext(ctx, "SAVEPOINT call"); err != nil {
			sqlTx.Rollback()
			finish(batch, errs, err)
			return
		}
		if errs[i] = safeCall(ctx, r.fn, tx); errs[i] != nil {
			// Undo this call alone. If even that fails, SQLite has abandoned the
			// transaction (a full disk, an I/O error): nothing of the batch holds.
			if _, err := tx.ExecContext(ctx, "ROLLBACK TO call"); err != nil {
				sqlTx.Rollback()
				finish(batch, errs, fmt.Errorf("transaction abandoned after %v: %w", errs[i], err))
				return
			}
		}
		if _, err := tx.ExecContext(ctx, "RELEASE call"); err != nil {
			sqlTx.Rollback()
			finish(batch, errs, err)
			return
		}
	}
	finish(batch, errs, sqlTx.Commit())
}

// safeCall runs fn, turning a panic into an error so that one broken call cannot
// take the writer (and every caller waiting on it) down with it.
func safeCall(ctx context.Context, fn func(context.Context, *wtx) error, tx *wtx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in a write transaction: %v", p)
		}
	}()
	return fn(ctx, tx)
}

// finish answers every caller: its own error when its call failed, else all (the
// outcome of the transaction: nil when it committed).
func finish(batch []*txRequest, errs []error, all error) {
	for i, r := range batch {
		switch {
		case errs[i] != nil:
			r.done <- errs[i]
		default:
			r.done <- all
		}
	}
}
