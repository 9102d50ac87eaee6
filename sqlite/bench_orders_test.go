package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/f2fpay/f2fpay/sqlite"
	"github.com/f2fpay/f2fpay/storetest"
)

// BenchmarkOrderSearch: the console's searches at a million orders (docs/performance.md).
//
//	go test ./sqlite -run '^$' -bench OrderSearch -benchtime 20x
func BenchmarkOrderSearch(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "f2fpay.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	storetest.BenchmarkOrderSearch(b, db, func(ctx context.Context, l storetest.OrderLoad) error {
		// A second connection to the same file, for the bulk insert only: the store's
		// writer is idle meanwhile.
		raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(30000)&_pragma=foreign_keys(1)")
		if err != nil {
			return err
		}
		defer raw.Close()
		_, err = raw.ExecContext(ctx, `INSERT INTO orders (out_trade_no, merchant_id, app_id, store_id, terminal_id, kind,
	subject, total_amount, state, trade_no, buyer_user_id, paid_at, created_at, updated_at, version)
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?1),
o(i, state, at) AS (SELECT i, CASE WHEN i % 20 < 17 THEN 'PAID' WHEN i % 20 < 19 THEN 'CLOSED' ELSE 'FAILED' END,
	?2 + i * ?3 FROM seq)
SELECT 'B' || i, ?4, ?5, ?6 + (i % 50) % 10, ?7 + i % 50, 'barcode', 'bench', 100 + (i * 7919) % 50000, state,
	'T' || i, '2088' || printf('%012d', i % 100000), CASE state WHEN 'PAID' THEN at END, at, at, 1
FROM o`, l.N, l.From.UnixMicro(), l.Step.Microseconds(), l.MerchantID, l.AppID, l.Store0, l.Terminal0)
		return err
	})
}
