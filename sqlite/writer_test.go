package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
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

// TestGroupCommit: concurrent write calls share transactions, yet each keeps its own
// outcome — a call that fails (or panics) leaves nothing behind and gets its own
// error, the others commit, and every call that returned nil is visible to readers.
func TestGroupCommit(t *testing.T) {
	db := openInternal(t)
	errOdd := errors.New("odd keys fail")
	const n = 400
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
	if b := db.w.largest.Load(); b < 2 {
		t.Errorf("the largest transaction held %d calls; %d concurrent calls never shared one", b, n)
	}
	got := scratchKeys(t, db)
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

// TestLazyCommit: a batch of lazy calls runs with synchronous=NORMAL (no fsync), a
// durable call — alone or sharing a batch with lazy ones — with FULL, as read back on
// the write connection inside each transaction.
func TestLazyCommit(t *testing.T) {
	db := openInternal(t)
	syncOf := func(lazy bool) (mode int) {
		t.Helper()
		if err := db.w.do(t.Context(), lazy, func(ctx context.Context, tx *wtx) error {
			return tx.QueryRowContext(ctx, `PRAGMA synchronous`).Scan(&mode)
		}); err != nil {
			t.Fatal(err)
		}
		return mode
	}
	const normal, full = 1, 2
	for i, c := range []struct {
		lazy bool
		want int
	}{{true, normal}, {true, normal}, {false, full}, {true, normal}, {false, full}, {false, full}} {
		if got := syncOf(c.lazy); got != c.want {
			t.Errorf("call %d (lazy %v): synchronous = %d, want %d", i, c.lazy, got, c.want)
		}
	}

	// Mixed batches: hold the lead with a durable call while lazy and durable calls
	// queue up behind it; every batch that holds a durable call must be FULL.
	release := make(chan struct{})
	started := make(chan struct{})
	go db.w.do(t.Context(), false, func(ctx context.Context, tx *wtx) error {
		close(started)
		<-release
		return nil
	})
	<-started
	var wg sync.WaitGroup
	modes := make([]int, 8)
	for i := range modes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			modes[i] = syncOf(i != 5)
		}()
	}
	for {
		db.w.mu.Lock()
		n := len(db.w.queue)
		db.w.mu.Unlock()
		if n == len(modes) {
			break
		}
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	for i, m := range modes {
		if m != full {
			t.Errorf("call %d shared a batch with a durable call but ran with synchronous=%d", i, m)
		}
	}
}
