package sqlite

import (
	"context"
	"database/sql"
	"sync"
	"time"
)

// Checkpoints off the commit path. In WAL mode SQLite copies the log back into the
// database file (a checkpoint) once the log passes wal_autocheckpoint pages, and by
// default the connection whose COMMIT crossed the mark does it, inside that COMMIT:
// with synchronous=FULL that is the copy plus an fsync of the database file, during
// which the single writer — and every store call queued behind it — waits. So the
// write connection runs with wal_autocheckpoint=0 and a connection of its own does
// PASSIVE checkpoints in the background: after every checkpointEvery commits and once
// a second. A PASSIVE checkpoint never blocks the writer or the readers; what it
// cannot copy yet (a reader still needs it) the next one does. Commits stay exactly as
// durable: a transaction is durable once its WAL frames are synced, before any
// checkpoint.

// checkpointEvery is how many commits may pass between checkpoints; about the
// default autocheckpoint distance (1000 pages) at a few pages a commit.
const checkpointEvery = 256

type checkpointer struct {
	db   *sql.DB
	kick chan struct{}
	quit chan struct{}
	wg   sync.WaitGroup
	stop sync.Once

	mu      sync.Mutex
	commits int
}

func newCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{db: db, kick: make(chan struct{}, 1), quit: make(chan struct{})}
	c.wg.Add(1)
	go c.loop()
	return c
}

// committed counts a commit and wakes the checkpointer every checkpointEvery.
func (c *checkpointer) committed() {
	c.mu.Lock()
	c.commits++
	due := c.commits >= checkpointEvery
	if due {
		c.commits = 0
	}
	c.mu.Unlock()
	if due {
		select {
		case c.kick <- struct{}{}:
		default:
		}
	}
}

func (c *checkpointer) loop() {
	defer c.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-c.quit:
			return
		case <-c.kick:
		case <-t.C:
		}
		// Errors (SQLITE_BUSY while migrate holds the file, say) only mean this
		// checkpoint did not happen; the next one tries again.
		c.db.ExecContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)")
	}
}

func (c *checkpointer) close() error {
	c.stop.Do(func() { close(c.quit) })
	c.wg.Wait()
	return c.db.Close()
}
