package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"
)

// checkpointer copies the WAL into the database file from a connection of its own.
//
// SQLite's automatic checkpoint runs inside the COMMIT that crosses 1,000 WAL pages,
// on the write connection, while the writer holds the write lock: every write queued
// behind it waits while it copies up to 4 MiB and flushes the database file — the
// largest part of a write's tail latency under load (a lazy INSERT's p99 was 3.5 ms
// for 90 µs at the median). The writer therefore runs with wal_autocheckpoint=0, and
// this goroutine runs a PASSIVE checkpoint every interval instead: PASSIVE takes no
// lock that writers need, copies what readers no longer use, and flushes the WAL
// before and the database file after (as SQLite's own does), so durability is
// unchanged. A checkpoint that fails is retried at the next interval.
//
// Restarting the WAL. A checkpoint copies the WAL into the database, but the WAL file
// only starts over from its beginning when a writer finds it fully copied and no
// reader still reading from it — and under steady load some query of the read pool is
// always under way, so SQLite never restarts it: the WAL grew without bound (126 MB
// for 4,000 payments, gigabytes in a long run), as did the cost of every flush, each
// of which had to commit the file's new size to the file system's journal. So once
// the WAL holds restartFrames frames, the checkpointer asks the writer to restart it:
// after its current batch the leader runs a RESTART checkpoint on the write
// connection, which copies what the last PASSIVE one could not (waiting for readers of
// older snapshots), then waits for the readers still on the WAL to finish — new
// readers read the database file, since no write happens meanwhile — all within
// restartWait, and the next write starts the WAL over. The stall is a
// millisecond or two, about once a second at full load. journal_size_limit then
// truncates a WAL that a long reader let grow back to journalLimit.
type checkpointer struct {
	conn *sql.DB
	w    *writer // asked to restart the WAL
	// restartAt is restartFrames, smaller in tests.
	restartAt atomic.Int64
	stop      context.CancelFunc
	wg        sync.WaitGroup
	// What the last checkpoint saw: the WAL's pages, and how many it copied (tests).
	mu     sync.Mutex
	pages  int
	copied int
	runs   int
}

const (
	checkpointEvery = 250 * time.Millisecond
	// restartFrames is the WAL size (in frames of one page) from which the writer is
	// asked to restart the WAL: 16 MiB with 4 KiB pages, four times SQLite's own
	// automatic checkpoint threshold.
	restartFrames = 4096
	// restartWait bounds how long a restart waits for readers (the writer stalls
	// meanwhile); a restart that cannot have them is tried again after the next
	// checkpoint.
	restartWait = 20 * time.Millisecond
	// journalLimit is the size a larger WAL file is truncated to when it restarts.
	journalLimit = 64 << 20
)

func startCheckpointer(conn *sql.DB, w *writer) *checkpointer {
	ctx, stop := context.WithCancel(context.Background())
	c := &checkpointer{conn: conn, w: w, stop: stop}
	c.restartAt.Store(restartFrames)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		opt := time.NewTicker(optimizeEvery) // the planner's statistics (optimize.go)
		defer opt.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				c.run(ctx)
			case <-opt.C:
				optimize(ctx, c.conn, false)
			}
		}
	}()
	return c
}

// run makes one PASSIVE checkpoint, and asks for a restart of a large WAL (copied
// entirely or not: the restart copies what readers kept this checkpoint from).
func (c *checkpointer) run(ctx context.Context) {
	var busy, log, done int
	if err := c.conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &log, &done); err != nil {
		return
	}
	c.mu.Lock()
	c.pages, c.copied, c.runs = log, done, c.runs+1
	c.mu.Unlock()
	if c.w != nil && int64(log) >= c.restartAt.Load() {
		c.w.restartWanted.Store(true)
	}
}

func (c *checkpointer) close() {
	c.stop()
	c.wg.Wait()
	c.conn.Close()
}
