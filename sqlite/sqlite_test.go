package sqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/sqlite"
	"github.com/f2fpay/f2fpay/storetest"
)

func open(tb testing.TB) f2fpay.Storage {
	db, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "f2fpay.db"), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Error(err)
		}
	})
	return db
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) f2fpay.Storage { return open(t) })
}

func BenchmarkStore(b *testing.B) { storetest.Benchmark(b, open) }

// TestLockFile: a second Open of one database fails while the first is open, naming
// the holder, and succeeds once it is closed.
func TestLockFile(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "f2fpay.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path + ".lock")
	if err != nil || strings.TrimSpace(string(b)) != strconv.Itoa(os.Getpid()) {
		t.Errorf("lock file holds %q, %v; want this pid", b, err)
	}
	_, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err == nil {
		t.Fatal("a second Open of a database in use succeeded")
	}
	for _, want := range []string{"already open", "process " + strconv.Itoa(os.Getpid()), path + ".lock"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	db.Close()
}

func TestOpenRefusesNonFiles(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file:x.db?mode=memory", "a?b.db", "a#b.db"} {
		_, err := sqlite.Open(t.Context(), path, sqlite.Options{})
		if f2fpay.ErrorCode(err) != f2fpay.EINVALID {
			t.Errorf("Open(%q) = %v, want EINVALID", path, err)
		}
	}
}

// TestPragmas: every connection, of both pools, has the settings the durability
// argument of docs/storage.md rests on: synchronous=NORMAL, because the store flushes
// the WAL itself before a durable call returns (syncer.go; TestDurableCommit).
func TestPragmas(t *testing.T) {
	db := open(t).(*sqlite.DB)
	got, err := db.Pragmas(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"journal_mode": "wal", "synchronous": "1", "busy_timeout": "5000", "foreign_keys": "1"}
	for name, v := range want {
		if got[name] != v {
			t.Errorf("pragma %s = %q, want %q", name, got[name], v)
		}
	}
}

// TestMigrate: Open applies every migration once; Migrate again applies nothing;
// the version survives a reopen.
func TestMigrate(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "f2fpay.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{NoMigrate: true})
	if err != nil {
		t.Fatal(err)
	}
	if v, err := db.SchemaVersion(ctx); err != nil || v != 0 {
		t.Errorf("empty database: version %d, %v", v, err)
	}
	applied, err := db.Migrate(ctx)
	if err != nil || len(applied) == 0 || applied[0] != 1 {
		t.Fatalf("Migrate = %v, %v", applied, err)
	}
	latest := applied[len(applied)-1]
	if again, err := db.Migrate(ctx); err != nil || len(again) != 0 {
		t.Errorf("second Migrate = %v, %v; want nothing applied", again, err)
	}
	db.Close()
	db, err = sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if v, err := db.SchemaVersion(ctx); err != nil || v != latest {
		t.Errorf("after reopen: version %d, %v; want %d", v, err, latest)
	}
}

// TestAuditLogAppendOnly: the database itself refuses to change or remove an audit
// entry, whoever connects to it.
func TestAuditLogAppendOnly(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "f2fpay.db")
	db, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.AppendAudit(ctx, &f2fpay.AuditEntry{StaffLogin: "ada", Action: "refund", Detail: "1.00"}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, stmt := range []string{`UPDATE audit_log SET detail = '999.00'`, `DELETE FROM audit_log`} {
		if _, err := raw.ExecContext(ctx, stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want refused as append-only", stmt, err)
		}
	}
	var detail string
	if err := raw.QueryRowContext(ctx, `SELECT detail FROM audit_log`).Scan(&detail); err != nil || detail != "1.00" {
		t.Errorf("entry after the attempts: %q, %v", detail, err)
	}
}
