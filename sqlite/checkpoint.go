package sqlite

import (
	"context"
	"database/sql"
	"sync"
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
// unchanged; the writer restarts the WAL from its beginning once a checkpoint has
// copied all of it. A checkpoint that fails is retried at the next interval.
type checkpointer struct {
	conn *sql.DB
	stop context.CancelFunc
	wg   sync.WaitGroup
	// What the last checkpoint saw: the WAL's pages, and how many it copied (tests).
	mu     sync.Mutex
	pages  int
	copied int
	runs   int
}

const checkpointEvery = 250 * time.Millisecond

func startCheckpointer(conn *sql.DB) *checkpointer {
	ctx, stop := context.WithCancel(context.Background())
	c := &checkpointer{conn: conn, stop: stop}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTicker(checkpointEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				c.run(ctx)
			}
		}
	}()
	return c
}

// run makes one PASSIVE checkpoint.
func (c *checkpointer) run(ctx context.Context) {
	var busy, log, done int
	if err := c.conn.QueryRowContext(ctx, `PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &log, &done); err != nil {
		return
	}
	c.mu.Lock()
	c.pages, c.copied, c.runs = log, done, c.runs+1
	c.mu.Unlock()
}

func (c *checkpointer) close() {
	c.stop()
	c.wg.Wait()
	c.conn.Close()
}
