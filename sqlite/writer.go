package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/f2fpay/f2fpay/internal/sqlstore"
)

// Group commit. SQLite admits one writer at a time, and every transaction pays for
// BEGIN (file locks), COMMIT (the WAL frames of every page it touched) and, when it
// must be durable, a flush of the WAL — a barcode payment makes half a dozen write
// calls. The store calls that queue up while a transaction is under way therefore run
// together, in one BEGIN IMMEDIATE transaction, each inside its own SAVEPOINT, and
// commit once:
//
//   - each call still sees the effects of the calls before it (they run one after the
//     other on the single write connection), so compare-and-set, claims and leases keep
//     exactly the meaning they have under the single-writer lock;
//   - a call whose function fails is rolled back to its savepoint alone, and gets its
//     own error; the others are unaffected;
//   - no call returns before the COMMIT that holds its writes has returned, and a
//     durable one not before the flush that covers it: an order recorded PAYING is on
//     disk before trade.pay is sent. If the COMMIT (or the transaction) fails, every
//     call of the batch gets the error — none of them took effect.
//
// Leader and followers. There is no writer goroutine: the caller that finds nobody
// writing runs the transaction itself (the leader), and the calls that arrive
// meanwhile queue up and wait (the followers). When the leader's transaction is done
// it hands the lead to the first call in the queue, which runs the queue as the next
// batch, and returns. A lone call thus never changes goroutine, and a queued call
// changes once (to be woken). That matters more than it seems: on a machine whose cores
// are busy signing RSA (every Alipay call), each hand-over between goroutines can wait
// for a core for as long as a signature takes, and a dedicated writer goroutine cost
// two such hand-overs per call plus one after each fsync — the largest part of the
// service's own latency under load (measured with `go tool trace -pprof=sched`).
//
// Durable and lazy calls. Every batch commits with synchronous=NORMAL: its WAL frames
// are written, so a killed process loses nothing, but not flushed. The durable calls
// of a batch then wait for a flush of the WAL file that started after the COMMIT
// (syncer.go) — outside the write lock, so the next batch runs meanwhile, and one
// flush serves every durable commit before it. Some writes need not wait even for
// that, because losing them in a power cut costs nothing but a redone step: an
// idempotency record (a retry reruns the request, and the engine pays one out_trade_no
// once), an outcome Alipay can be asked again (see f2fpay.Storage), the history line
// of a call that changed nothing, a webhook's delivery bookkeeping (delivered again;
// the consumers dedupe by event id), a lease (a restarted process has none to
// honour). They return at COMMIT; the next flush covers them, since the WAL is one
// file written in order.
//
// The functions run under their caller's values but not its cancellation: SQLite
// answers an interrupted write inside an explicit transaction by rolling the whole
// transaction back, which would undo the other calls of the batch. A call whose
// context is already done when its batch starts is not run.

// maxBatch bounds one group commit, so that a flood of writes still commits (and
// answers) in slices rather than in one ever-growing transaction.
const maxBatch = 64

type txRequest struct {
	ctx  context.Context
	fn   func(ctx context.Context, tx *wtx) error
	sfn  func(ctx context.Context, tx sqlstore.Conn) error // instead of fn: a call of the shared store logic (DB.tx)
	lazy bool
	done chan txResult // buffered: nobody ever blocks on sending to a caller
}

// txResult is what a queued call learns: its outcome, or that it leads the next batch.
type txResult struct {
	err    error
	lead   bool
	commit uint64 // for a durable call that committed: the commit to wait for (syncer)
}

// writer runs the write connection's transactions.
type writer struct {
	db      *sql.DB
	stmts   *stmtCache   // the write pool's prepared statements (deferred preparation)
	largest atomic.Int64 // the largest batch so far (tests check that calls do share)
	sync    *syncer      // makes durable commits durable

	// restartWanted is set by the checkpointer when the WAL is large and copied: the
	// leader then restarts it after its batch (checkpoint.go).
	restartWanted atomic.Bool
	restarts      atomic.Int64 // WAL restarts so far (tests)

	// hooks lets a test see the writer's moments (nil in the service): set before the
	// calls it observes start.
	hooks *writerHooks

	mu      sync.Mutex
	idle    sync.Cond // signalled when leading turns false
	queue   []*txRequest
	leading bool // a caller is running a batch; calls queue up behind it
	closed  bool // no new calls
	batch   []*txRequest
}

func newWriter(db *sql.DB, path string) *writer {
	w := &writer{db: db, stmts: newStmtCache(db, true), sync: newSyncer(path)}
	w.idle.L = &w.mu
	return w
}

// writerHooks are tests' signals from the writer, so that a test waits for the moment
// it checks rather than guessing how long it takes on a loaded machine.
type writerHooks struct {
	// queued: a call was queued behind the batch under way; n calls are queued now.
	queued func(n int)
	// restarted: a WAL restart was attempted; ok when it succeeded (the next write
	// starts the WAL over).
	restarted func(ok bool)
}

var errClosed = errors.New("the database is closed")

// do runs fn in a write transaction, possibly together with other calls, and returns
// once the transaction holding fn's writes has committed and, unless lazy, is on disk
// (nil), or failed.
func (w *writer) do(ctx context.Context, lazy bool, fn func(ctx context.Context, tx *wtx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return w.queueUp(&txRequest{ctx: ctx, fn: fn, lazy: lazy, done: make(chan txResult, 1)})
}

// doShared is do for the shared store logic's transactions (sqlstore.TxFunc).
func (w *writer) doShared(ctx context.Context, lazy bool, fn func(ctx context.Context, tx sqlstore.Conn) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return w.queueUp(&txRequest{ctx: ctx, sfn: fn, lazy: lazy, done: make(chan txResult, 1)})
}

// queueUp queues r and waits for its outcome (do).
func (w *writer) queueUp(r *txRequest) error {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return errClosed
	}
	w.queue = append(w.queue, r)
	queued := len(w.queue)
	lead := !w.leading
	w.leading = true
	w.mu.Unlock()
	if !lead && w.hooks != nil && w.hooks.queued != nil {
		w.hooks.queued(queued)
	}
	res := txResult{lead: true}
	if !lead {
		// Once queued, fn may be running: wait for its outcome whatever ctx says, so
		// that nothing fn touches is used after the caller has moved on.
		res = <-r.done
	}
	if res.lead {
		w.lead()
		res = <-r.done
	}
	if res.err == nil && res.commit != 0 {
		return w.sync.wait(res.commit)
	}
	return res.err
}

// flush makes every commit so far durable: for writes made outside the writer (on the
// write connection in autocommit).
func (w *writer) flush() error { return w.sync.wait(w.sync.committed()) }

// lead runs the batch at the head of the queue (the leader's own call is its first),
// then hands the lead to the next queued call or, when none is left, gives it up.
func (w *writer) lead() {
	handedOver := false
	defer func() {
		if !handedOver {
			// run panicked outside the calls' own recovery: let the others go on.
			w.handOver()
		}
	}()
	w.mu.Lock()
	n := min(len(w.queue), maxBatch)
	batch := append(w.batch[:0], w.queue[:n]...)
	w.batch = nil // owned by this leader until it hands over
	rest := copy(w.queue, w.queue[n:])
	clear(w.queue[rest:])
	w.queue = w.queue[:rest]
	w.mu.Unlock()

	w.run(batch)
	// The connection is free now: prepare what the batch ran unprepared, and restart
	// the WAL if the checkpointer asked for it.
	w.stmts.prepareDeferred(context.Background())
	if w.restartWanted.Load() {
		w.restartWAL()
	}
	clear(batch)
	w.mu.Lock()
	w.batch = batch
	w.mu.Unlock()
	handedOver = true
	w.handOver()
}

func (w *writer) handOver() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.queue) > 0 {
		w.queue[0].done <- txResult{lead: true}
		return
	}
	w.leading = false
	w.idle.Broadcast()
}

// restartWAL runs a RESTART checkpoint on the write connection, between two batches
// (checkpoint.go): it copies what the WAL holds beyond the last checkpoint, waits up
// to restartWait for the readers still on the WAL, and lets the next write start the
// WAL from its beginning. Failing to (readers stayed) is not an error: the
// checkpointer asks again.
func (w *writer) restartWAL() {
	w.restartWanted.Store(false)
	ok := false
	if w.hooks != nil && w.hooks.restarted != nil {
		defer func() { w.hooks.restarted(ok) }()
	}
	ctx := context.Background()
	conn, err := w.db.Conn(ctx)
	if err != nil {
		return
	}
	defer conn.Close()
	// SQLite's busy handler sleeps in steps (1, 2, 5 ms...): a short timeout, so that the
	// writes queued meanwhile wait little even when a long query holds the WAL.
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", restartWait.Milliseconds())); err != nil {
		return
	}
	var busy, log, done int
	err = conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(RESTART)`).Scan(&busy, &log, &done)
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", busyTimeout.Milliseconds())); err != nil {
		// The connection would keep the short timeout: drop it; the pool opens a
		// new one with the DSN's settings.
		conn.Raw(func(any) error { return driver.ErrBadConn })
		return
	}
	if err == nil && busy == 0 {
		w.restarts.Add(1)
		ok = true
	}
}

// close refuses new calls and returns once the calls already queued are done.
func (w *writer) close() {
	w.mu.Lock()
	first := !w.closed
	w.closed = true
	for w.leading {
		w.idle.Wait()
	}
	w.mu.Unlock()
	if first {
		w.stmts.close()
		w.sync.close()
	}
}

// run executes one batch in one transaction and reports to every caller.
func (w *writer) run(batch []*txRequest) {
	if n := int64(len(batch)); n > w.largest.Load() {
		w.largest.Store(n)
	}
	errs := make([]error, len(batch))
	live, durable := 0, false
	for i, r := range batch {
		if err := r.ctx.Err(); err != nil {
			errs[i] = err
			continue
		}
		live++
		durable = durable || !r.lazy
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
			errs[i] = safeCall(ctx, r, tx)
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
		if errs[i] = safeCall(ctx, r, tx); errs[i] != nil {
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
	err = sqlTx.Commit()
	var commit uint64
	if err == nil && durable {
		commit = w.sync.committed()
	}
	for i, r := range batch {
		switch {
		case errs[i] != nil:
			r.done <- txResult{err: errs[i]}
		case err != nil:
			r.done <- txResult{err: err}
		case r.lazy:
			r.done <- txResult{}
		default:
			r.done <- txResult{commit: commit}
		}
	}
}

// safeCall runs fn, turning a panic into an error so that one broken call cannot
// take the writer (and every caller waiting on it) down with it.
func safeCall(ctx context.Context, r *txRequest, tx *wtx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in a write transaction: %v", p)
		}
	}()
	if r.sfn != nil {
		return r.sfn(ctx, tx)
	}
	return r.fn(ctx, tx)
}

// finish answers every caller: its own error when its call failed, else all (the
// outcome of the transaction: nil when it committed).
func finish(batch []*txRequest, errs []error, all error) {
	for i, r := range batch {
		switch {
		case errs[i] != nil:
			r.done <- txResult{err: errs[i]}
		default:
			r.done <- txResult{err: all}
		}
	}
}
