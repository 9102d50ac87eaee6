package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/f2fpay/f2fpay"
	"github.com/f2fpay/f2fpay/postgres"
	"github.com/f2fpay/f2fpay/sqlite"
)

const migrateUsage = `Usage: f2fpay migrate -db DATABASE [-schema NAME]

Apply the database migrations embedded in this binary and print the schema version.
"f2fpay serve" applies them at start too; run this to upgrade ahead of a deploy or to
check what a database holds. Running it again applies nothing.

DATABASE is sqlite:PATH (the embedded default; the file is created if missing) or a
PostgreSQL URL, postgres://user:password@host:5432/dbname?sslmode=disable.
It defaults to $F2FPAY_DB.

Flags:
`

// database is what both stores offer beyond f2fpay.Storage.
type database interface {
	f2fpay.Storage
	Migrate(ctx context.Context) ([]int, error)
	SchemaVersion(ctx context.Context) (int, error)
}

// dbKind names the two stores.
type dbKind string

const (
	dbSQLite   dbKind = "sqlite"
	dbPostgres dbKind = "postgres"
)

// parseDB splits a -db value into its store and the path or DSN for it. The
// explicit prefix avoids guessing whether "f2fpay.db" or "db.example.com" is a file.
func parseDB(s string) (dbKind, string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", "", errors.New("no database given: use -db sqlite:PATH or -db postgres://user@host:5432/dbname (or set F2FPAY_DB)")
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		if _, err := url.Parse(s); err != nil {
			return "", "", fmt.Errorf("database URL is not a valid URL: %v", errors.Unwrap(err))
		}
		return dbPostgres, s, nil
	case strings.HasPrefix(s, "sqlite:"):
		path := strings.TrimPrefix(s, "sqlite:")
		if strings.HasPrefix(path, "//") { // sqlite:///abs/path, URL style
			path = strings.TrimPrefix(path, "//")
		}
		if path == "" {
			return "", "", errors.New("sqlite: needs a file path, as in -db sqlite:./f2fpay.db")
		}
		return dbSQLite, path, nil
	}
	return "", "", fmt.Errorf("database %q: want sqlite:PATH or postgres://user@host:5432/dbname", redactDB(s))
}

// redactDB hides a password in a database URL, for messages and logs.
func redactDB(s string) string {
	if u, err := url.Parse(s); err == nil && u.User != nil {
		return u.Redacted()
	}
	if i := strings.Index(s, "@"); i >= 0 { // not a URL, but may still carry user:password@
		return "…" + s[i:]
	}
	return s
}

// openDB opens the database named by a -db value; schema is PostgreSQL's search_path.
func openDB(ctx context.Context, db, schema string, migrate bool) (database, string, error) {
	kind, target, err := parseDB(db)
	if err != nil {
		return nil, "", &usageError{err.Error()}
	}
	switch kind {
	case dbSQLite:
		if schema != "" {
			return nil, "", &usageError{"-schema applies to PostgreSQL only"}
		}
		d, err := sqlite.Open(ctx, target, sqlite.Options{NoMigrate: !migrate})
		if err != nil {
			return nil, "", err
		}
		return d, "sqlite:" + d.Path(), nil
	default:
		d, err := postgres.Open(ctx, target, postgres.Options{Schema: schema, NoMigrate: !migrate})
		if err != nil {
			return nil, "", err
		}
		name := redactDB(target)
		if schema != "" {
			name += " (schema " + schema + ")"
		}
		return d, name, nil
	}
}

// runMigrate implements "f2fpay migrate".
func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, migrateUsage); fs.PrintDefaults() }
	dbFlag := fs.String("db", os.Getenv("F2FPAY_DB"), "`database`: sqlite:PATH or postgres://...")
	schema := fs.String("schema", "", "PostgreSQL `schema` (search_path) holding f2fpay's tables; default: the server's")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{"migrate: " + err.Error()}
	}
	if fs.NArg() > 0 {
		return &usageError{fmt.Sprintf("migrate: unexpected argument %q (give the database with -db)", fs.Arg(0))}
	}
	db, name, err := openDB(ctx, *dbFlag, *schema, false)
	if err != nil {
		var u *usageError
		if errors.As(err, &u) {
			fs.Usage()
			return &usageError{"migrate: " + u.msg}
		}
		return fmt.Errorf("migrate: %w", err)
	}
	defer db.Close()
	before, err := db.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	applied, err := db.Migrate(ctx)
	for _, v := range applied {
		fmt.Fprintf(stdout, "applied migration %d\n", v)
	}
	if err != nil {
		return fmt.Errorf("migrate: %s: %w", name, err)
	}
	after, err := db.SchemaVersion(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if len(applied) == 0 {
		fmt.Fprintf(stdout, "%s: schema is up to date at version %d\n", name, after)
	} else {
		fmt.Fprintf(stdout, "%s: schema version %d (was %d)\n", name, after, before)
	}
	return nil
}
