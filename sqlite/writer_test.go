package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func openInternal(t *testing.T) *DB {
	t.Helper()
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "f2fpay.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	if err := db.inTx(t.Context(), func(ctx context.Context, tx *wtx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE scratch (k INTEGER PRIMARY KEY)`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return db
}

func scratchKeys(t *testing.T, db *DB) map[int]bool {
	t.Helper()
	rows, err := db.read.QueryContext(t.Context(), `SELECT k FROM scratch`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[int]bool{}
	for rows.Next() {
		var k int
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		got[k] = true
	}
	return got
}

// TestGroupCommit: write calls that arrive while a transaction is under way share the
// next one, yet each keeps its own outcome — a call that fails (or panics) leaves
// nothing behind and gets its own error, the others commit, and every call that
// returned nil is visible to readers.
//
// A first call holds its transaction open until the writer reports (hooks.queued) that
// all the others are queued behind it, so the batches that follow are full whatever
// the machine's load: how the goroutines happen to be scheduled decides nothing.
func TestGroupCommit(t *testing.T) {
	db := openInternal(t)
	errOdd := errors.New("odd keys fail")
	const n = 400
	allQueued := make(chan struct{})
	db.w.hooks = &writerHooks{queued: func(q int) {
		if q == n {
			close(allQueued)
		}
	}}
	entered := make(chan struct{})
	gate := make(chan error, 1)
	go func() {
		gate <- db.inTx(t.Context(), func(ctx context.Context, tx *wtx) error {
			close(entered)
			<-allQueued
			_, err := tx.ExecContext(ctx, `INSERT INTO scratch (k) VALUES (-1)`)
			return err
		})
	}()
	<-entered // the gate leads: every call below queues behind its transaction
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.inTx(t.Context(), func(ctx context.Context, tx *wtx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO scratch (k) VALUES (?1)`, i); err != nil {
					return err
				}
				switch {
				case i%10 == 7:
					panic("a broken call")
				case i%2 == 1:
					return errOdd
				}
				return nil
			})
		}()
	}
	wg.Wait()
	if err := <-gate; err != nil {
		t.Fatalf("the call that held the first transaction: %v", err)
	}
	if b := db.w.largest.Load(); b != maxBatch {
		t.Errorf("the largest transaction held %d calls; with %d calls queued behind one, the next should hold %d", b, n, maxBatch)
	}
	got := scratchKeys(t, db)
	if !got[-1] {
		t.Error("the first call's key is missing")
	}
	for i, err := range errs {
		switch {
		case i%10 == 7:
			if err == nil || errors.Is(err, errOdd) {
				t.Errorf("call %d panicked; got error %v, want the panic reported", i, err)
			}
		case i%2 == 1:
			if !errors.Is(err, errOdd) {
				t.Errorf("call %d: error %v, want its own", i, err)
			}
		default:
			if err != nil {
				t.Errorf("call %d: %v", i, err)
			}
		}
		if want := i%2 == 0; got[i] != want {
			t.Errorf("key %d stored %v, want %v", i, got[i], want)
		}
	}
}

// TestGroupCommitConflict: a call that breaks a constraint is undone alone, and the
// calls after it in the same transaction see the state without it.
func TestGroupCommitConflict(t *testing.T) {
	db := openInternal(t)
	var wg sync.WaitGroup
	const n = 50
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = db.inTx(t.Context(), func(ctx context.Context, tx *wtx) error {
				if _, err := tx.ExecContext(ctx, `INSERT INTO scratch (k) VALUES (?1)`, 1000+i); err != nil {
					return err
				}
				_, err := tx.ExecContext(ctx, `INSERT INTO scratch (k) VALUES (1)`) // all but one conflict
				return err
			})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		}
	}
	got := scratchKeys(t, db)
	if ok != 1 || len(got) != 2 || !got[1] {
		t.Errorf("%d calls succeeded, stored %v; want exactly one, with its two keys", ok, got)
	}
}

// TestGroupCommitCancelled: a call whose context is done is not run.
func TestGroupCommitCancelled(t *testing.T) {
	db := openInternal(t)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	ran := false
	err := db.inTx(ctx, func(ctx context.Context, tx *wtx) error { ran = true; return nil })
	if !errors.Is(err, context.Canceled) || ran {
		t.Errorf("cancelled call: err %v, ran %v; want context.Canceled and not run", err, ran)
	}
}

// TestStmtCacheBounded: SQL text built at run time cannot grow the caches past
// maxStmts; the statements past the bound still run.
func TestStmtCacheBounded(t *testing.T) {
	db := openInternal(t)
	ctx := t.Context()
	for i := range maxStmts + 50 {
		var k int
		q := `SELECT ` + string(rune('0'+i%10)) + ` + count(*) * 0 FROM scratch WHERE k <> ` + strconv.Itoa(i)
		if err := db.read.QueryRowContext(ctx, q).Scan(&k); err != nil {
			t.Fatal(err)
		}
		if err := db.inTx(ctx, func(ctx context.Context, tx *wtx) error {
			_, err := tx.ExecContext(ctx, `DELETE FROM scratch WHERE k = `+strconv.Itoa(-i))
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	for name, c := range map[string]*stmtCache{"read": db.read.stmts, "write": db.w.stmts} {
		c.mu.Lock()
		if n := len(c.m) + len(c.pending) + len(c.failed); n > maxStmts {
			t.Errorf("%s cache holds %d statements, more than %d", name, n, maxStmts)
		}
		c.mu.Unlock()
	}
}

// TestDurableCommit: every batch commits with synchronous=NORMAL; a durable call
// returns only after a flush of the WAL that covers its commit, a lazy call without
// one, and concurrent durable calls share flushes.
func TestDurableCommit(t *testing.T) {
	db := openInternal(t)
	var mode int
	if err := db.w.do(t.Context(), true, func(ctx context.Context, tx *wtx) error {
		return tx.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&mode)
	}); err != nil || mode != 1 {
		t.Fatalf("synchronous = %d (%v), want 1 (NORMAL): the store flushes itself", mode, err)
	}
	state := func() (commits, synced, flushes uint64) {
		s := db.w.sync
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.commits, s.synced, s.flushes
	}
	insert := func(lazy bool, k int) {
		t.Helper()
		if err := db.w.do(t.Context(), lazy, func(ctx context.Context, tx *wtx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO scratch (k) VALUES (?1)`, k)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	_, _, f0 := state()
	insert(true, 1)
	insert(true, 2)
	if _, _, f := state(); f != f0 {
		t.Errorf("lazy calls flushed %d times, want none", f-f0)
	}
	insert(false, 3)
	c, synced, f := state()
	if f != f0+1 || synced < c {
		t.Errorf("after a durable call: %d flushes (want 1), synced %d of %d commits", f-f0, synced, c)
	}

	const n = 64
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() { defer wg.Done(); insert(false, 100+i) }()
	}
	wg.Wait()
	c, synced, f2 := state()
	if synced < c {
		t.Errorf("synced %d of %d commits after every durable call returned", synced, c)
	}
	if f2-f >= n {
		t.Errorf("%d concurrent durable calls made %d flushes: none shared", n, f2-f)
	}
	if got := len(scratchKeys(t, db)); got != n+3 {
		t.Errorf("%d rows, want %d", got, n+3)
	}
}

// TestFlushFailure: a flush that fails breaks durability for good — the durable call
// that waited and every later one get the error (their commits may not be on disk),
// while the data committed stays readable.
func TestFlushFailure(t *testing.T) {
	db := openInternal(t)
	db.w.sync.path = filepath.Join(t.TempDir(), "missing", "wal") // open fails
	for i := range 2 {
		err := db.inTx(t.Context(), func(ctx context.Context, tx *wtx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO scratch (k) VALUES (?1)`, i)
			return err
		})
		if err == nil || !strings.Contains(err.Error(), "flushing the database's write-ahead log failed") {
			t.Fatalf("durable call %d after a failed flush: %v", i, err)
		}
	}
}

// TestCheckpointBesideWriter: the writer never checkpoints inside a commit
// (wal_autocheckpoint=0); the checkpointer copies the WAL into the database on its own
// connection, all of it once nothing reads an older snapshot.
func TestCheckpointBesideWriter(t *testing.T) {
	db := openInternal(t)
	var auto int
	if err := db.write.QueryRowContext(t.Context(), `PRAGMA wal_autocheckpoint`).Scan(&auto); err != nil || auto != 0 {
		t.Fatalf("writer wal_autocheckpoint = %d (%v), want 0", auto, err)
	}
	for i := range 300 {
		if err := db.inLazyTx(t.Context(), func(ctx context.Context, tx *wtx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO scratch (k) VALUES (?1)`, 1000+i)
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	c := db.ckpt
	c.mu.Lock()
	start := c.runs
	c.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c.mu.Lock()
		runs, pages, copied := c.runs, c.pages, c.copied
		c.mu.Unlock()
		if runs > start && pages > 0 && copied == pages {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no complete checkpoint within 10 s: %d runs, last saw %d pages and copied %d", runs-start, pages, copied)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWALRestarts: with readers always under way (which keep SQLite from ever
// restarting the WAL on its own), the checkpointer asks the writer to restart the WAL
// once it holds restartAt frames and not before, the writer restarts it after its next
// batch, the WAL then starts over (the next checkpoint finds it small), and every write
// survives the restarts.
//
// The test runs the checkpoints itself (the checkpointer's own ticker is stopped) and
// waits for the writer's signal that a restart was attempted (hooks.restarted), so each
// step is checked at the moment it happens, however slow the machine. A restart that
// readers kept from succeeding within restartWait is a legitimate outcome, not a
// failure: the checkpointer asks again at its next run, as in the service.
func TestWALRestarts(t *testing.T) {
	db := openInternal(t)
	c := db.ckpt
	c.stop() // close() stops it again (harmless) and closes its connection
	c.wg.Wait()
	c.restartAt.Store(64)
	attempts := make(chan bool, 64)
	db.w.hooks = &writerHooks{restarted: func(ok bool) { attempts <- ok }}
	if _, err := db.write.ExecContext(t.Context(), `CREATE TABLE blobs (k INTEGER PRIMARY KEY, v BLOB NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	var written atomic.Int64
	ctx, stop := context.WithCancel(t.Context())
	var readers sync.WaitGroup
	for range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			// Point lookups, as the service's reads are.
			for i := 0; ctx.Err() == nil; i++ {
				var n int
				err := db.read.QueryRowContext(ctx, `SELECT length(v) FROM blobs WHERE k = ?1`, i%int(written.Load()+1)).Scan(&n)
				if err != nil && err != sql.ErrNoRows && ctx.Err() == nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	defer func() { stop(); readers.Wait() }()

	blob := make([]byte, 3000) // a page per row
	// burst writes rows from 4 goroutines at once, so that they group-commit as the
	// service's writes do. When it returns, whatever its batches' leaders did after
	// their batch (a WAL restart) is done: a leader's own call returns only then.
	burst := func(rows int) {
		t.Helper()
		var writers sync.WaitGroup
		for range 4 {
			writers.Add(1)
			go func() {
				defer writers.Done()
				for range rows / 4 {
					k := written.Add(1)
					if err := db.inLazyTx(t.Context(), func(ctx context.Context, tx *wtx) error {
						_, err := tx.ExecContext(ctx, `INSERT INTO blobs (k, v) VALUES (?1, ?2)`, k, blob)
						return err
					}); err != nil {
						t.Error(err)
					}
				}
			}()
		}
		writers.Wait()
		if t.Failed() {
			t.FailNow()
		}
	}
	checkpoint := func() int {
		t.Helper()
		c.mu.Lock()
		runs := c.runs
		c.mu.Unlock()
		c.run(t.Context())
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.runs != runs+1 {
			t.Fatal("the checkpoint failed")
		}
		return c.pages
	}

	const want = 3
	failed, maxPages := 0, 0
	for db.w.restarts.Load() < want {
		// Grow the WAL to restartAt frames: no restart is asked for before.
		pages := checkpoint()
		for pages < int(c.restartAt.Load()) {
			if db.w.restartWanted.Load() {
				t.Fatalf("a restart was asked for at %d pages, below %d", pages, c.restartAt.Load())
			}
			burst(16)
			pages = checkpoint()
		}
		maxPages = max(maxPages, pages)
		if !db.w.restartWanted.Load() {
			t.Fatalf("the checkpointer saw %d pages (restart at %d) and did not ask for a restart", pages, c.restartAt.Load())
		}
		// The leader of the next batch restarts the WAL after it.
		burst(4)
		var ok bool
		select {
		case ok = <-attempts:
		default:
			t.Fatal("the writer did not try to restart the WAL after its batch")
		}
		if len(attempts) > 0 {
			t.Fatalf("%d more restart attempts, want one per request", len(attempts))
		}
		if !ok {
			failed++
			if failed > 1000 {
				t.Fatalf("1000 restarts failed, %d succeeded: readers never let go of the WAL", db.w.restarts.Load())
			}
			continue // the WAL is still large: the next checkpoint asks again
		}
		// The next write starts the WAL over: a checkpoint finds it small.
		burst(4)
		if after := checkpoint(); after >= pages {
			t.Fatalf("the WAL did not start over after a restart: %d pages before, %d after", pages, after)
		}
	}
	stop()
	readers.Wait()
	var n int64
	if err := db.read.QueryRowContext(t.Context(), `SELECT count(*) FROM blobs`).Scan(&n); err != nil || n != written.Load() {
		t.Fatalf("%d rows (%v), want %d", n, err, written.Load())
	}
	t.Logf("%d restarts (%d attempts refused by readers) after %d rows; the WAL reached %d pages", db.w.restarts.Load(), failed, n, maxPages)
}
