package sqlite

import (
	"context"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/f2fpay/f2fpay"
)

// TestOrderScopeMigration upgrades a database holding orders, refunds and gateway calls
// from version 3 to the per-app order numbers of 0004, which rebuilds the orders table
// with foreign keys off: every row and reference survives, foreign keys are on again
// afterwards, and a second app may then reuse a number.
func TestOrderScopeMigration(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "f2fpay.db"), Options{NoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	var applied []int
	for _, m := range ms[:3] {
		if err := db.migrateOne(ctx, m, &applied); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		`INSERT INTO merchants (id, name, created_at, updated_at) VALUES (1, 'A', 0, 0), (2, 'B', 0, 0)`,
		`INSERT INTO apps (id, merchant_id, app_id, name, gateway, sign_type, key_mode, private_key, seller_id, created_at, updated_at)
			VALUES (1, 1, '2021000000000001', 'a', 'http://x', 'RSA2', 'public_key', 'k', '2088', 0, 0),
			       (2, 2, '2021000000000002', 'b', 'http://x', 'RSA2', 'public_key', 'k', '2088', 0, 0)`,
		`INSERT INTO orders (id, out_trade_no, merchant_id, app_id, kind, total_amount, state, created_at, updated_at, version)
			VALUES (7, 'M-1', 1, 1, 'barcode', 350, 'PAID', 0, 0, 3)`,
		`INSERT INTO refunds (order_id, out_request_no, amount, state, created_at, updated_at, version) VALUES (7, 'R1', 100, 'SUCCEEDED', 0, 0, 1)`,
		`INSERT INTO gateway_calls (order_id, method, at) VALUES (7, 'alipay.trade.pay', 0)`,
	} {
		if _, err := db.write.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var fk int
	if err := db.write.QueryRowContext(ctx, `PRAGMA foreign_keys`).Scan(&fk); err != nil || fk != 1 {
		t.Errorf("foreign_keys after the migration = %d, %v; want 1", fk, err)
	}
	o, err := db.FindOrder(ctx, 1, "M-1")
	if err != nil || o.ID != 7 || o.Version != 3 || o.TotalAmount != 350 {
		t.Fatalf("order after the migration = %+v, %v", o, err)
	}
	if rs, err := db.ListRefunds(ctx, 7); err != nil || len(rs) != 1 {
		t.Errorf("refunds after the migration = %v, %v", rs, err)
	}
	if cs, err := db.OrderCalls(ctx, 7); err != nil || len(cs) != 1 {
		t.Errorf("calls after the migration = %v, %v", cs, err)
	}
	other := &f2fpay.Order{OutTradeNo: "M-1", MerchantID: 2, AppID: 2, Kind: f2fpay.KindQR, TotalAmount: 1, State: f2fpay.OrderPending}
	if err := db.CreateOrder(ctx, other); err != nil {
		t.Errorf("the same number in another app: %v", err)
	}
	// References are enforced again: an order of a missing app is refused.
	bad := &f2fpay.Order{OutTradeNo: "M-2", MerchantID: 1, AppID: 99, Kind: f2fpay.KindQR, TotalAmount: 1, State: f2fpay.OrderPending}
	if err := db.CreateOrder(ctx, bad); f2fpay.ErrorCode(err) != f2fpay.ENOTFOUND {
		t.Errorf("an order of a missing app: %v; want ENOTFOUND", err)
	}
}

// TestMigratedIndexes: the rebuilds of orders (0004, 0010) recreate every index the
// migrations before them made, so a table rebuilt late keeps what earlier migrations
// gave it: the indexes of orders after all migrations are exactly those the migration
// files name.
func TestMigratedIndexes(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "f2fpay.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{}
	re := regexp.MustCompile(`(?i)CREATE\s+(?:UNIQUE\s+)?INDEX\s+(\w+)\s+ON\s+orders\b`)
	for _, m := range ms {
		for _, g := range re.FindAllStringSubmatch(m.SQL, -1) {
			want[g[1]] = true
		}
	}
	rows, err := db.read.QueryContext(ctx, `SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'orders' AND name NOT LIKE 'sqlite_autoindex%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]bool{}
	for rows.Next() {
		var n string
		rows.Scan(&n)
		got[n] = true
	}
	for n := range want {
		if !got[n] {
			t.Errorf("index %s of orders is missing after all migrations (a rebuild of orders dropped it)", n)
		}
	}
}
