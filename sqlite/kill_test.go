package sqlite

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// killChildEnv makes the test binary the child of TestKilledDuringRestarts.
const killChildEnv = "F2FPAY_SQLITE_KILL_CHILD"

// TestKilledDuringRestarts: the process is killed (SIGKILL) again and again while it
// writes, while readers run and while the checkpointer and the writer restart the WAL
// every few dozen frames. Every write acknowledged before a kill is there afterwards,
// the database passes SQLite's integrity check, and it opens, migrated, every time.
func TestKilledDuringRestarts(t *testing.T) {
	if dir := os.Getenv(killChildEnv); dir != "" {
		killChild(dir)
		return
	}
	if testing.Short() {
		t.Skip("kills child processes")
	}
	dir := t.TempDir()
	acked := map[int]bool{}
	restarts := 0
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	const rounds = 8
	for round := range rounds {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKilledDuringRestarts$", "-test.v=false")
		cmd.Env = append(os.Environ(), killChildEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill at a random moment after the child has acknowledged minAcked writes and
		// restarted the WAL at least once: in the middle of writes, a checkpoint or a
		// restart. The kill is armed by what the child reports, not by a time since its
		// start, which a loaded machine stretches at will. The watchdog only ends a child
		// that stopped making progress (a defect), so that the test fails rather than
		// hangs.
		const minAcked = 100
		watchdog := time.AfterFunc(5*time.Minute, func() { cmd.Process.Signal(syscall.SIGKILL) })
		var timer *time.Timer
		sc := bufio.NewScanner(out)
		n, r := 0, 0
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "restarts "); ok {
				r, _ = strconv.Atoi(v)
			} else if k, err := strconv.Atoi(line); err == nil {
				acked[k] = true
				n++
			} else {
				continue // the test framework's own output
			}
			if timer == nil && n >= minAcked && r > 0 {
				timer = time.AfterFunc(time.Duration(rng.IntN(900))*time.Millisecond, func() { cmd.Process.Signal(syscall.SIGKILL) })
			}
		}
		watchdog.Stop()
		if timer != nil {
			timer.Stop()
		}
		cmd.Wait()
		if timer == nil {
			t.Fatalf("round %d: the child stopped after %d acknowledged writes and %d WAL restarts, before the kill was armed", round, n, r)
		}
		restarts += r
	}
	if restarts == 0 {
		t.Fatal("the WAL was never restarted in any round: the kills missed what they test")
	}
	db, err := Open(t.Context(), filepath.Join(dir, "f2fpay.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var check string
	if err := db.read.QueryRowContext(t.Context(), `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Fatalf("integrity_check: %q, %v", check, err)
	}
	rows, err := db.read.QueryContext(t.Context(), `SELECT k FROM killed`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	have := map[int]bool{}
	for rows.Next() {
		var k int
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		have[k] = true
	}
	for k := range acked {
		if !have[k] {
			t.Errorf("write %d was acknowledged before a kill and is gone", k)
		}
	}
	t.Logf("%d rounds, %d acknowledged writes, %d rows, at least %d WAL restarts", rounds, len(acked), len(have), restarts)
}

// killChild writes rows until it is killed: each key is printed once its durable
// write returned. Readers and small WAL restarts keep every code path busy.
func killChild(dir string) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(dir, "f2fpay.db"), Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	db.ckpt.restartAt.Store(32)
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS killed (k INTEGER PRIMARY KEY, v BLOB NOT NULL)`); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	var next int64
	if err := db.read.QueryRowContext(ctx, `SELECT coalesce(max(k), 0) FROM killed`).Scan(&next); err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	for range 2 {
		go func() {
			for i := 0; ; i++ {
				var n int
				db.read.QueryRowContext(ctx, `SELECT length(v) FROM killed WHERE k = ?1`, next-int64(i%100)).Scan(&n)
			}
		}()
	}
	var mu sync.Mutex
	go func() {
		for range time.Tick(50 * time.Millisecond) {
			mu.Lock()
			fmt.Println("restarts", db.w.restarts.Load())
			mu.Unlock()
		}
	}()
	blob := make([]byte, 1500)
	for range 4 {
		go func() {
			for {
				mu.Lock()
				next++
				k := next
				mu.Unlock()
				lazy := k%3 == 0 // lazy writes too: they must survive a kill as well
				err := db.w.do(ctx, lazy, func(ctx context.Context, tx *wtx) error {
					_, err := tx.ExecContext(ctx, `INSERT INTO killed (k, v) VALUES (?1, ?2)`, k, blob)
					return err
				})
				if err != nil {
					fmt.Fprintln(os.Stderr, "child:", err)
					os.Exit(2)
				}
				mu.Lock()
				fmt.Println(k)
				mu.Unlock()
			}
		}()
	}
	select {}
}
