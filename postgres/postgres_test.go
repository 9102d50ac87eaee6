package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/postgres"
	"github.com/f2fpay/f2fpay/storetest"
)

// dsn is the server the tests use; they skip without it (CI always sets it).
func dsn(tb testing.TB) string {
	tb.Helper()
	d := os.Getenv("F2FPAY_TEST_POSTGRES")
	if d == "" {
		tb.Skip("F2FPAY_TEST_POSTGRES is not set; set it to a PostgreSQL DSN (e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable) to run the PostgreSQL store tests")
	}
	return d
}

// newSchema creates an empty schema test_<random> and drops it at cleanup.
func newSchema(tb testing.TB) string {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn(tb))
	if err != nil {
		tb.Fatalf("connect to F2FPAY_TEST_POSTGRES: %v", err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	schema := "test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		conn, err := pgx.Connect(ctx, dsn(tb))
		if err != nil {
			tb.Error(err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Error(err)
		}
	})
	return schema
}

func open(tb testing.TB) f2fpay.Storage {
	return openOpts(tb, postgres.Options{Schema: newSchema(tb)})
}

func openOpts(tb testing.TB, opts postgres.Options) *postgres.DB {
	tb.Helper()
	db, err := postgres.Open(context.Background(), dsn(tb), opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() }) // registered after the schema's: runs before the DROP
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) f2fpay.Storage { return open(t) })
}

func BenchmarkStore(b *testing.B) { storetest.Benchmark(b, open) }

// TestMigrateConcurrently: instances starting at once on an empty schema all succeed,
// and every migration is applied exactly once between them.
func TestMigrateConcurrently(t *testing.T) {
	schema := newSchema(t)
	const instances = 6
	var wg sync.WaitGroup
	applied := make([][]int, instances)
	errs := make([]error, instances)
	for i := range instances {
		db := openOpts(t, postgres.Options{Schema: schema, NoMigrate: true})
		wg.Add(1)
		go func() {
			defer wg.Done()
			applied[i], errs[i] = db.Migrate(t.Context())
		}()
	}
	wg.Wait()
	count := map[int]int{}
	for i := range instances {
		if errs[i] != nil {
			t.Errorf("instance %d: %v", i, errs[i])
		}
		for _, v := range applied[i] {
			count[v]++
		}
	}
	if len(count) == 0 || count[1] != 1 {
		t.Errorf("migrations applied: %v; want each exactly once", count)
	}
	for v, n := range count {
		if n != 1 {
			t.Errorf("migration %d applied %d times", v, n)
		}
	}
	// The schema's version is the highest migration's: numbers may skip (one
	// engineer's 0005 can land before another's 0004).
	latest := 0
	for v := range count {
		latest = max(latest, v)
	}
	db := openOpts(t, postgres.Options{Schema: schema})
	if v, err := db.SchemaVersion(t.Context()); err != nil || v != latest {
		t.Errorf("SchemaVersion = %d, %v; want %d", v, err, latest)
	}
	if again, err := db.Migrate(t.Context()); err != nil || len(again) != 0 {
		t.Errorf("Migrate on a current schema = %v, %v", again, err)
	}
}

func TestOpenBadDSN(t *testing.T) {
	_, err := postgres.Open(t.Context(), "postgres://[::1", postgres.Options{})
	if f2fpay.ErrorCode(err) != f2fpay.EINVALID {
		t.Errorf("Open(bad DSN) = %v, want EINVALID", err)
	}
}

// TestAuditLogAppendOnly: the database itself refuses to change or remove an audit
// entry, whoever connects to it.
func TestAuditLogAppendOnly(t *testing.T) {
	ctx := t.Context()
	schema := newSchema(t)
	db := openOpts(t, postgres.Options{Schema: schema})
	if err := db.AppendAudit(ctx, &f2fpay.AuditEntry{StaffLogin: "ada", Action: "refund", Detail: "1.00"}); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, dsn(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	for _, stmt := range []string{"UPDATE %s.audit_log SET detail = '999.00'", "DELETE FROM %s.audit_log", "TRUNCATE %s.audit_log"} {
		q := fmt.Sprintf(stmt, schema)
		if _, err := conn.Exec(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want refused as append-only", q, err)
		}
	}
	var detail string
	if err := conn.QueryRow(ctx, "SELECT detail FROM "+schema+".audit_log").Scan(&detail); err != nil || detail != "1.00" {
		t.Errorf("entry after the attempts: %q, %v", detail, err)
	}
}
