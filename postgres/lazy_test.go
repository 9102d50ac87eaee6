package postgres

import (
	"os"
	"testing"
)

// TestLazyPool: the writes allowed to skip the WAL flush run on connections with
// synchronous_commit=off, and everything else on connections that flush.
func TestLazyPool(t *testing.T) {
	dsn := os.Getenv("F2FPAY_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("F2FPAY_TEST_POSTGRES is not set")
	}
	db, err := Open(t.Context(), dsn, Options{NoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, c := range []struct {
		name string
		run  func(fn func(tx querier) error) error
		want string
	}{
		{"inTx", func(fn func(tx querier) error) error { return db.inTx(t.Context(), fn) }, "on"},
		{"inLazyTx", func(fn func(tx querier) error) error { return db.inLazyTx(t.Context(), fn) }, "off"},
		{"lazy pool", func(fn func(tx querier) error) error { return fn(db.lazy) }, "off"},
		{"pool", func(fn func(tx querier) error) error { return fn(db.pool) }, "on"},
	} {
		var got string
		if err := c.run(func(tx querier) error { return tx.QueryRow(t.Context(), "SHOW synchronous_commit").Scan(&got) }); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("%s: synchronous_commit = %s, want %s", c.name, got, c.want)
		}
	}
}
