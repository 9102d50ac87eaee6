package sqlite

import (
	"context"
	"embed"
	"fmt"
	"strings"

	"github.com/f2fpay/f2fpay/internal/migration"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations returns the embedded migrations in version order.
func migrations() ([]migration.Migration, error) { return migration.Load(migrationFiles) }

// Migrate applies the embedded migrations the database has not seen yet, each in its
// own transaction together with its row in schema_migrations, and returns the
// versions it applied. Running it again applies nothing. The lock file keeps other
// processes out, and BEGIN IMMEDIATE serialises callers within this one.
func (db *DB) Migrate(ctx context.Context) (applied []int, err error) {
	defer db.Wrap(&err, "migrate")
	ms, err := migrations()
	if err != nil {
		return nil, err
	}
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT    NOT NULL,
	applied_at INTEGER NOT NULL
)`); err != nil {
		return nil, err
	}
	for _, m := range ms {
		if err := db.migrateOne(ctx, m, &applied); err != nil {
			return applied, err
		}
	}
	if len(applied) > 0 {
		if err := db.w.flush(); err != nil {
			return applied, err
		}
	}
	return applied, nil
}

// foreignKeysOff is the first line of a migration that rebuilds a table others
// reference (SQLite cannot drop a constraint in place). Foreign keys cannot be switched
// off inside a transaction, so it is done on the write connection (the only one)
// before the migration's transaction, and the references are checked with
// foreign_key_check before it commits: a migration that broke one fails whole.
const foreignKeysOff = "-- migrate: foreign_keys=off"

func (db *DB) migrateOne(ctx context.Context, m migration.Migration, applied *[]int) error {
	if strings.HasPrefix(m.SQL, foreignKeysOff) {
		if _, err := db.write.ExecContext(ctx, `PRAGMA foreign_keys = OFF`); err != nil {
			return err
		}
		defer db.write.ExecContext(context.WithoutCancel(ctx), `PRAGMA foreign_keys = ON`)
	}
	{
		err := db.inTx(ctx, func(ctx context.Context, tx *wtx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?1`, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.Tx.ExecContext(ctx, m.SQL); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			if strings.HasPrefix(m.SQL, foreignKeysOff) {
				rows, err := tx.Tx.QueryContext(ctx, `PRAGMA foreign_key_check`)
				if err != nil {
					return err
				}
				broken := rows.Next()
				rows.Close()
				if broken {
					return fmt.Errorf("%s: leaves a foreign key reference broken (PRAGMA foreign_key_check)", m.Name)
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)`,
				m.Version, m.Name, db.Now().UnixMicro()); err != nil {
				return err
			}
			*applied = append(*applied, m.Version)
			return nil
		})
		return err
	}
}

// SchemaVersion returns the highest applied migration, 0 for an empty database.
func (db *DB) SchemaVersion(ctx context.Context) (v int, err error) {
	defer db.Wrap(&err, "schema version")
	var exists int
	if err := db.read.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`).Scan(&exists); err != nil {
		return 0, err
	}
	if exists == 0 {
		return 0, nil
	}
	err = db.read.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}
