package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
)

// migrationNumbers are the numbers of a store's migrations ("sqlite" or "postgres"),
// from the files the binary embeds, in order. They may skip one: another branch's
// migration can be merged after a later-numbered one.
func migrationNumbers(t *testing.T, store string) []int {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", store, "migrations", "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations of %s found: %v", store, err)
	}
	var out []int
	for _, f := range files {
		var v int
		if _, err := fmt.Sscanf(filepath.Base(f), "%d_", &v); err != nil {
			t.Fatalf("migration %s: %v", f, err)
		}
		out = append(out, v)
	}
	return out // Glob sorts, and the numbers are zero-padded
}

// latestMigration is the number of the newest migration of a store.
func latestMigration(t *testing.T, store string) int {
	t.Helper()
	ns := migrationNumbers(t, store)
	return ns[len(ns)-1]
}

func TestMigrateSQLite(t *testing.T) {
	latest := latestMigration(t, "sqlite")
	path := filepath.Join(t.TempDir(), "f2fpay.db")
	r := runF2fpay(t, "", "migrate", "-db", "sqlite:"+path)
	if r.err != nil || !strings.Contains(r.stdout, fmt.Sprintf("schema version %d (was 0)", latest)) {
		t.Fatalf("first migrate: %s", r.all())
	}
	for _, v := range migrationNumbers(t, "sqlite") {
		if !strings.Contains(r.stdout, fmt.Sprintf("applied migration %d\n", v)) {
			t.Fatalf("first migrate did not apply migration %d: %s", v, r.all())
		}
	}
	r = runF2fpay(t, "", "migrate", "-db", "sqlite:"+path)
	if r.err != nil || strings.Contains(r.stdout, "applied") || !strings.Contains(r.stdout, fmt.Sprintf("up to date at version %d", latest)) {
		t.Fatalf("second migrate: %s", r.all())
	}
	t.Setenv("F2FPAY_DB", "sqlite:"+path)
	if r = runF2fpay(t, "", "migrate"); r.err != nil || !strings.Contains(r.stdout, "up to date") {
		t.Errorf("migrate with F2FPAY_DB: %s", r.all())
	}
}

func TestMigrateUsage(t *testing.T) {
	t.Setenv("F2FPAY_DB", "")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no database", []string{"migrate"}, "no database given"},
		{"bare path", []string{"migrate", "-db", "f2fpay.db"}, "want sqlite:PATH or postgres://"},
		{"mysql", []string{"migrate", "-db", "mysql://root:hunter2@db/x"}, "want sqlite:PATH"},
		{"empty sqlite path", []string{"migrate", "-db", "sqlite:"}, "needs a file path"},
		{"schema on sqlite", []string{"migrate", "-db", "sqlite:x.db", "-schema", "s"}, "PostgreSQL only"},
		{"extra argument", []string{"migrate", "-db", "sqlite:x.db", "now"}, "unexpected argument"},
		{"unknown flag", []string{"migrate", "-force"}, "-force"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runF2fpay(t, "", tc.args...)
			if exitCode(r.err) != 2 || !strings.Contains(r.all(), tc.want) {
				t.Errorf("exit %d, output %q; want exit 2 and %q", exitCode(r.err), r.all(), tc.want)
			}
			if strings.Contains(r.all(), "hunter2") {
				t.Errorf("the password was printed: %q", r.all())
			}
		})
	}
}

func TestMigrateSQLiteInUse(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f2fpay.db")
	db, _, err := openDB(t.Context(), "sqlite:"+path, "", true)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := runF2fpay(t, "", "migrate", "-db", "sqlite:"+path)
	if exitCode(r.err) != 1 || !strings.Contains(r.all(), "already open in another f2fpay process") {
		t.Errorf("migrate of a database in use: exit %d, %q", exitCode(r.err), r.all())
	}
}

// TestMigratePostgres runs the command against F2FPAY_TEST_POSTGRES in a fresh schema.
func TestMigratePostgres(t *testing.T) {
	dsn := os.Getenv("F2FPAY_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("F2FPAY_TEST_POSTGRES is not set; set it to a PostgreSQL DSN to run this test")
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	schema := "test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	defer conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
	latest := latestMigration(t, "postgres")
	r := runF2fpay(t, "", "migrate", "-db", dsn, "-schema", schema)
	if r.err != nil || !strings.Contains(r.stdout, fmt.Sprintf("schema version %d (was 0)", latest)) || !strings.Contains(r.stdout, "(schema "+schema+")") {
		t.Fatalf("migrate: %s", r.all())
	}
	if r = runF2fpay(t, "", "migrate", "-db", dsn, "-schema", schema); r.err != nil || !strings.Contains(r.stdout, fmt.Sprintf("up to date at version %d", latest)) {
		t.Fatalf("second migrate: %s", r.all())
	}
}

func TestParseDB(t *testing.T) {
	for _, tc := range []struct {
		in     string
		kind   dbKind
		target string
	}{
		{"sqlite:./f2fpay.db", dbSQLite, "./f2fpay.db"},
		{"sqlite:/var/lib/f2fpay/f2fpay.db", dbSQLite, "/var/lib/f2fpay/f2fpay.db"},
		{"sqlite:///var/lib/f2fpay.db", dbSQLite, "/var/lib/f2fpay.db"},
		{" sqlite:data/f.db ", dbSQLite, "data/f.db"},
		{"postgres://u:p@h:5432/db?sslmode=disable", dbPostgres, "postgres://u:p@h:5432/db?sslmode=disable"},
		{"postgresql://h/db", dbPostgres, "postgresql://h/db"},
	} {
		kind, target, err := parseDB(tc.in)
		if err != nil || kind != tc.kind || target != tc.target {
			t.Errorf("parseDB(%q) = %q, %q, %v; want %q, %q", tc.in, kind, target, err, tc.kind, tc.target)
		}
	}
	for _, in := range []string{"", "sqlite:", "sqlite://", "f2fpay.db", "postgres://[::1", "mysql://x", "SQLITE:x"} {
		if _, _, err := parseDB(in); err == nil {
			t.Errorf("parseDB(%q) accepted", in)
		}
	}
}

func TestRedactDB(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:hunter2@h/db":      "postgres://u:xxxxx@h/db",
		"postgres://h/db":                "postgres://h/db",
		"user=u password=hunter2@x":      "…@x",
		"sqlite:/tmp/x.db":               "sqlite:/tmp/x.db",
		"postgres://u@h/db?sslmode=none": "postgres://u@h/db?sslmode=none",
	} {
		if got := redactDB(in); got != want {
			t.Errorf("redactDB(%q) = %q, want %q", in, got, want)
		}
	}
}

// FuzzParseDB: any -db value is either refused with a message or split into a store
// and a non-empty target, and a password never survives redaction.
func FuzzParseDB(f *testing.F) {
	for _, s := range []string{"sqlite:./f2fpay.db", "sqlite:///x", "postgres://u:p@h:5432/db?sslmode=disable", "postgresql://h", "", "x", "postgres://[::1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kind, target, err := parseDB(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if (kind != dbSQLite && kind != dbPostgres) || target == "" {
			t.Fatalf("parseDB(%q) = %q, %q", s, kind, target)
		}
		if u, err := url.Parse(target); kind == dbPostgres && err == nil && u.User != nil {
			pw, ok := u.User.Password()
			red := redactDB(target)
			// The password must be gone from the user info. (It may still appear as part of
			// the host or database name — "postgres://u:0000@h/00000" — which is not it.)
			if ru, err := url.Parse(red); err == nil && ru.User != nil {
				if rpw, has := ru.User.Password(); ok && has && rpw != "xxxxx" {
					t.Fatalf("redactDB(%q) = %q kept the password", target, red)
				}
			} else if ok && len(pw) > 5 && strings.Contains(red, pw) {
				t.Fatalf("redactDB(%q) = %q kept the password", target, red)
			}
		}
	})
}
