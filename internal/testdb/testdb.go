// Package testdb opens the storage that end-to-end tests run on, so every scenario is
// proven on both implementations of f2fpay.Storage: SQLite in the test's temporary
// directory, and PostgreSQL in a fresh schema of the server named by
// F2FPAY_TEST_POSTGRES (CI always sets it; without it the PostgreSQL variants skip and
// say how to run them).
//
// A test runs its scenario on both with Run:
//
//	testdb.Run(t, func(t *testing.T, kind testdb.Kind) { b := setup(t, onDB(kind)); ... })
//
// which names the subtests "sqlite" and "postgres", so `go test -run '/postgres'`
// selects every PostgreSQL variant of a package; Bench does the same for benchmarks
// (`go test -bench '/postgres'`). Tests that only make sense on PostgreSQL (several
// instances sharing one database, which SQLite's file lock forbids) call DSN to skip
// without a server, and are named ...Postgres... (`-run 'Postgres|/postgres'`).
//
// Each PostgreSQL store gets a small pool (4 connections): the tests of several
// packages run at once against one server, whose default max_connections is 100.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/postgres"
	"github.com/f2fpay/f2fpay/sqlite"
)

// EnvPostgres names the environment variable holding the PostgreSQL DSN of the tests.
const EnvPostgres = "F2FPAY_TEST_POSTGRES"

// Kind names a storage implementation; it is also the subtest's name.
type Kind string

// The storage implementations.
const (
	SQLite   Kind = "sqlite"
	Postgres Kind = "postgres"
)

// Kinds returns every implementation, SQLite first.
func Kinds() []Kind { return []Kind{SQLite, Postgres} }

// Options tune Open.
type Options struct {
	// Clock stamps the store's CreatedAt, UpdatedAt and the like.
	Clock f2fpay.Clock
	// Schema, for PostgreSQL, opens an existing schema (one made by NewSchema) instead
	// of a fresh one: a second instance sharing the first one's database.
	Schema string
	// Dir, for SQLite, is the directory of the database file; a new temporary one when
	// empty.
	Dir string
}

// Run runs f as parallel subtests named after each kind. The PostgreSQL one skips,
// saying how to enable it, when F2FPAY_TEST_POSTGRES is unset.
func Run(t *testing.T, f func(t *testing.T, kind Kind)) {
	t.Helper()
	for _, k := range Kinds() {
		t.Run(string(k), func(t *testing.T) {
			if k == Postgres {
				DSN(t)
			}
			t.Parallel()
			f(t, k)
		})
	}
}

// Bench runs f as sub-benchmarks named after each kind, like Run.
func Bench(b *testing.B, f func(b *testing.B, kind Kind)) {
	b.Helper()
	for _, k := range Kinds() {
		b.Run(string(k), func(b *testing.B) {
			if k == Postgres {
				DSN(b)
			}
			f(b, k)
		})
	}
}

// DSN returns the PostgreSQL DSN of the tests, or skips tb when there is none.
func DSN(tb testing.TB) string {
	tb.Helper()
	d := os.Getenv(EnvPostgres)
	if d == "" {
		tb.Skip(EnvPostgres + " is not set: the PostgreSQL variant is skipped; set it to a DSN " +
			"(e.g. postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable) to run it, as CI does")
	}
	return d
}

// Open opens an empty store of kind, closed when tb ends: SQLite in a temporary
// directory, PostgreSQL in a fresh schema dropped when tb ends (or in opts.Schema).
// The embedded migrations are applied.
func Open(tb testing.TB, kind Kind, opts Options) f2fpay.Storage {
	tb.Helper()
	ctx := context.Background()
	var (
		db  f2fpay.Storage
		err error
	)
	switch kind {
	case SQLite, "":
		dir := opts.Dir
		if dir == "" {
			dir = tb.TempDir()
		}
		db, err = sqlite.Open(ctx, filepath.Join(dir, "f2fpay.db"), sqlite.Options{Clock: opts.Clock})
	case Postgres:
		schema := opts.Schema
		if schema == "" {
			schema = NewSchema(tb)
		}
		db, err = postgres.Open(ctx, DSN(tb), postgres.Options{Clock: opts.Clock, Schema: schema, MaxConns: 4})
	default:
		tb.Fatalf("testdb: unknown storage kind %q (want %q or %q)", kind, SQLite, Postgres)
	}
	if err != nil {
		tb.Fatalf("open %s store: %v", kind, err)
	}
	// Registered after NewSchema's cleanup, so it runs first: the pool is closed
	// before its schema is dropped.
	tb.Cleanup(func() { db.Close() })
	return db
}

// NewSchema creates an empty schema test_<random> on the tests' PostgreSQL server and
// drops it (with everything in it) when tb ends. It skips tb when there is no server.
func NewSchema(tb testing.TB) string {
	tb.Helper()
	dsn := DSN(tb)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Fatalf("connect to %s: %v", EnvPostgres, err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	schema := "test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema %s: %v", schema, err)
	}
	tb.Cleanup(func() {
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}
