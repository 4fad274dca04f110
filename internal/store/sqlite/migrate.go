package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"
)

// ErrNewerSchema reports a database whose schema was migrated by a newer
// version of latch than this one: using it could lose or misread data.
var ErrNewerSchema = errors.New("sqlite: database schema is newer than this program")

// The schema migrations, named NNNN_what.sql and numbered from 1 without
// gaps. A migration, once released, never changes: a new schema version
// is a new file.
//
//go:embed migrations/*.sql
var migrationFiles embed.FS

// A migration brings the schema from version-1 to version.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations in order.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	ms := make([]migration, 0, len(entries))
	for i, e := range entries { // sorted by name
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v != i+1 {
			return nil, fmt.Errorf("migration %s is not numbered %04d", e.Name(), i+1)
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	return ms, nil
}

// migrate applies the migrations ms (all of them but in tests) that the
// database lacks, each in its own write transaction together with its row
// in schema_migrations, so that a crash leaves the schema at a known
// version. It refuses a database that has a version it does not know.
func (db *DB) migrate(ctx context.Context, ms []migration) error {
	if _, err := db.w.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER NOT NULL PRIMARY KEY,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	for _, m := range ms {
		err := db.write(ctx, func(tx *sql.Tx) error {
			// Checked in every transaction: another process may be
			// migrating the same file.
			var newest int
			if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&newest); err != nil {
				return err
			}
			if newest > len(ms) {
				return fmt.Errorf("database has schema version %d, this program knows up to %d: %w", newest, len(ms), ErrNewerSchema)
			}
			if newest >= m.version {
				return nil
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`,
				m.version, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			if errors.Is(err, ErrNewerSchema) {
				return err
			}
			return fmt.Errorf("migration %s: %w", m.name, err)
		}
	}
	return nil
}
