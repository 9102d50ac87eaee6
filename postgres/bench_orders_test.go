package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/f2fpay/f2fpay/postgres"
	"github.com/f2fpay/f2fpay/storetest"
)

// BenchmarkOrderSearch: the console's searches at a million orders (docs/performance.md).
//
//	F2FPAY_TEST_POSTGRES=… go test ./postgres -run '^$' -bench OrderSearch -benchtime 20x
func BenchmarkOrderSearch(b *testing.B) {
	schema := newSchema(b)
	db := openOpts(b, postgres.Options{Schema: schema})
	storetest.BenchmarkOrderSearch(b, db, func(ctx context.Context, l storetest.OrderLoad) error {
		conn, err := pgx.Connect(ctx, dsn(b))
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "SET search_path TO "+schema); err != nil {
			return err
		}
		if _, err := conn.Exec(ctx, `INSERT INTO orders (out_trade_no, merchant_id, app_id, store_id, terminal_id, kind,
	subject, total_amount, state, trade_no, buyer_user_id, paid_at, created_at, updated_at, version)
SELECT 'B' || i, $4, $5, $6 + (i % 50) % 10, $7 + i % 50, 'barcode', 'bench', 100 + (i * 7919) % 50000, state,
	'T' || i, '2088' || lpad((i % 100000)::text, 12, '0'), CASE state WHEN 'PAID' THEN at END, at, at, 1
FROM (SELECT i, CASE WHEN i % 20 < 17 THEN 'PAID' WHEN i % 20 < 19 THEN 'CLOSED' ELSE 'FAILED' END AS state,
	$2::timestamptz + i * $3 * interval '1 microsecond' AS at FROM generate_series(1, $1::bigint) i) o`,
			l.N, l.From, l.Step.Microseconds(), l.MerchantID, l.AppID, l.Store0, l.Terminal0); err != nil {
			return err
		}
		// What autovacuum does soon after such a load; a search right after it would
		// plan without statistics.
		_, err = conn.Exec(ctx, "ANALYZE orders")
		return err
	})
}
