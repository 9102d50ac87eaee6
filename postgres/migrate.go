package postgres

import (
	"context"
	"embed"
	"fmt"

	"github.com/f2fpay/f2fpay/internal/migration"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrations returns the embedded migrations in version order.
func migrations() ([]migration.Migration, error) { return migration.Load(migrationFiles) }

// migrateLock serialises migrations of one schema across instances: two `serve`
// processes starting at once both run Migrate, and without the lock both would see
// version N missing and the second would fail half way. The transaction-scoped
// advisory lock is released by COMMIT or ROLLBACK, even if the process dies.
const migrateLock = `SELECT pg_advisory_xact_lock(hashtext('f2fpay.migrate.' || coalesce(current_schema(), '')))`

// Migrate applies the embedded migrations the database has not seen yet, each in its
// own transaction together with its row in schema_migrations, and returns the
// versions it applied. Running it again, or concurrently, applies nothing twice.
func (db *DB) Migrate(ctx context.Context) (applied []int, err error) {
	defer db.Wrap(&err, "migrate")
	ms, err := migrations()
	if err != nil {
		return nil, err
	}
	err = db.inTx(ctx, func(tx querier) error {
		if _, err := tx.Exec(ctx, migrateLock); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    integer     PRIMARY KEY,
	name       text        NOT NULL,
	applied_at timestamptz NOT NULL
)`)
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		err := db.inTx(ctx, func(tx querier) error {
			if _, err := tx.Exec(ctx, migrateLock); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			// No arguments: pgx sends the file with the simple protocol, which runs
			// several statements.
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("%s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.Version, m.Name, db.Now()); err != nil {
				return err
			}
			applied = append(applied, m.Version)
			return nil
		})
		if err != nil {
			return applied, err
		}
	}
	return applied, nil
}

// SchemaVersion returns the highest applied migration, 0 for an empty schema.
func (db *DB) SchemaVersion(ctx context.Context) (v int, err error) {
	defer db.Wrap(&err, "schema version")
	var exists bool
	if err := db.pool.QueryRow(ctx, `SELECT to_regclass('schema_migrations') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, err
	}
	if !exists {
		return 0, nil
	}
	err = db.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}
