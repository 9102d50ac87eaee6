package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// SQLite plans a query from the statistics ANALYZE leaves in sqlite_stat1; without
// them it guesses, and for the console's searches it guesses badly: "this merchant's
// orders, newest first, with this out_trade_no" walks the (merchant_id, id) index
// backwards through the whole history instead of looking the number up (seconds at
// a million orders, storetest.BenchmarkOrderSearch, docs/performance.md). So the store
// runs PRAGMA optimize — ANALYZE of what changed enough, bounded by analysis_limit so
// that it reads a sample, not every row — when it opens and every optimizeEvery, as
// SQLite recommends for long-lived connections.

// optimizeEvery is how often the checkpointer's connection refreshes the statistics.
const optimizeEvery = time.Hour

// analysisLimit bounds the rows ANALYZE reads per index (a sample is enough to plan).
const analysisLimit = 1000

func optimize(ctx context.Context, conn *sql.DB, first bool) error {
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA analysis_limit=%d", analysisLimit)); err != nil {
		return err
	}
	q := "PRAGMA optimize"
	if first {
		q = "PRAGMA optimize=0x10002" // at open: also the tables never analysed
	}
	_, err := conn.ExecContext(ctx, q)
	return err
}

// Optimize refreshes the query planner's statistics now (the store does it at open and
// hourly by itself): after a bulk load, say.
func (db *DB) Optimize(ctx context.Context) error {
	if err := optimize(ctx, db.write, true); err != nil {
		return fmt.Errorf("sqlite: optimize: %w", err)
	}
	return nil
}
