package testdb_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/internal/testdb"
)

func TestOpenEachKind(t *testing.T) {
	t.Parallel()
	testdb.Run(t, func(t *testing.T, kind testdb.Kind) {
		ctx := context.Background()
		db := testdb.Open(t, kind, testdb.Options{})
		if err := db.Ping(ctx); err != nil {
			t.Fatal(err)
		}
		// Fresh: nothing from another test.
		if ms, err := db.ListMerchants(ctx); err != nil || len(ms) != 0 {
			t.Fatalf("a fresh %s store lists %d merchants (%v)", kind, len(ms), err)
		}
		m := &f2fpay.Merchant{Name: "m"}
		if err := db.CreateMerchant(ctx, m); err != nil {
			t.Fatal(err)
		}
		if got, err := db.FindMerchant(ctx, m.ID); err != nil || got.Name != "m" {
			t.Fatalf("FindMerchant = %+v, %v", got, err)
		}
	})
}

// Two stores on one schema see each other's writes, and the schema is gone once the
// test that made it has ended.
func TestSharedSchemaDroppedAtCleanup(t *testing.T) {
	t.Parallel()
	dsn := testdb.DSN(t)
	ctx := context.Background()
	var schema string
	t.Run("instances", func(t *testing.T) {
		schema = testdb.NewSchema(t)
		a := testdb.Open(t, testdb.Postgres, testdb.Options{Schema: schema})
		b := testdb.Open(t, testdb.Postgres, testdb.Options{Schema: schema})
		m := &f2fpay.Merchant{Name: "shared"}
		if err := a.CreateMerchant(ctx, m); err != nil {
			t.Fatal(err)
		}
		if got, err := b.FindMerchant(ctx, m.ID); err != nil || got.Name != "shared" {
			t.Fatalf("the second store does not see the first one's merchant: %+v, %v", got, err)
		}
	})
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname = $1", schema).Scan(&n); err != nil || n != 0 {
		t.Fatalf("schema %s still exists after its test (%d, %v)", schema, n, err)
	}
}
