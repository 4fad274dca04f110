package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Errors of a schema at a version other than this program's.
var (
	// ErrNewerSchema reports a database whose schema was migrated by a
	// newer version of latch than this one: using it could lose or
	// misread data.
	ErrNewerSchema = errors.New("postgres: database schema is newer than this program")
	// ErrUnmigrated reports a database whose schema is older than this
	// program, or that has no latch tables yet: Migrate, or Open with
	// Options.Migrate, brings it up to date.
	ErrUnmigrated = errors.New("postgres: database schema is older than this program")
)

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

// migrations returns the migrations in the folder migrations of fsys, in
// order.
func migrations(fsys fs.FS) ([]migration, error) {
	entries, err := fs.ReadDir(fsys, "migrations")
	if err != nil {
		return nil, err
	}
	ms := make([]migration, 0, len(entries))
	for i, e := range entries { // sorted by name
		num, _, ok := strings.Cut(e.Name(), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v != i+1 || !strings.HasSuffix(e.Name(), ".sql") {
			return nil, fmt.Errorf("migration %s is not numbered %04d", e.Name(), i+1)
		}
		b, err := fs.ReadFile(fsys, "migrations/"+e.Name())
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: e.Name(), sql: string(b)})
	}
	return ms, nil
}

// Migrate brings the schema of the database named by dsn (see Open) up to
// date, and returns its version before and after. Every migration it
// applies runs in one transaction, so that the schema is at the old version
// or the new one, never between. The transaction first takes an advisory
// lock for the schema, so that of several nodes starting at once one
// migrates and the others wait, then find nothing to do. A database at a
// newer version than this program is ErrNewerSchema, one that cannot be
// reached ErrUnavailable. A statement of a migration waits for the locks
// that running nodes hold for the connection string's lock_timeout, or
// DefaultLockTimeout, then fails with store.ErrBusy rather than hold up
// every query queued behind it.
func Migrate(ctx context.Context, dsn string) (from, to int, err error) {
	cfg, err := poolConfig(dsn, Options{})
	if err != nil {
		return 0, 0, err
	}
	conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig)
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: migrate: %w", storeError(ctx, err))
	}
	defer conn.Close(context.WithoutCancel(ctx))
	ms, err := migrations(migrationFiles)
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: migrate: %w", err)
	}
	from, to, err = applyMigrations(ctx, conn, ms)
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: migrate: %w", err)
	}
	return from, to, nil
}

// applyMigrations applies the migrations ms (all of them but in tests)
// that the schema lacks, in one transaction together with their rows in
// schema_migrations, and returns the version before and after. It refuses
// a schema that has a version it does not know.
func applyMigrations(ctx context.Context, conn *pgx.Conn, ms []migration) (from, to int, err error) {
	schema, err := currentSchema(ctx, conn)
	if err != nil {
		return 0, 0, err
	}
	table := pgx.Identifier{schema, "schema_migrations"}.Sanitize()
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		// The lock is waited for as long as ctx allows: another node is
		// migrating, and this one has nothing to do until it is done.
		if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = 0`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "latch schema migrations of "+schema); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout TO DEFAULT`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS `+table+` (
			version    integer     NOT NULL PRIMARY KEY,
			name       text        NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+table).Scan(&from); err != nil {
			return err
		}
		if from > len(ms) {
			return fmt.Errorf("%w: schema version %d, this program knows up to %d", ErrNewerSchema, from, len(ms))
		}
		for _, m := range ms[from:] {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO `+table+` (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
				return fmt.Errorf("migration %s: %w", m.name, err)
			}
		}
		return nil
	})
	if err != nil {
		if errors.Is(err, ErrNewerSchema) {
			return 0, 0, err
		}
		return 0, 0, storeError(ctx, err)
	}
	return from, len(ms), nil
}

// checkVersion fails unless the schema is at version known.
func checkVersion(ctx context.Context, conn *pgx.Conn, known int) error {
	schema, err := currentSchema(ctx, conn)
	if err != nil {
		return err
	}
	table := pgx.Identifier{schema, "schema_migrations"}.Sanitize()
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&exists); err != nil {
		return storeError(ctx, err)
	}
	if !exists {
		return fmt.Errorf("%w: schema %q has no latch tables", ErrUnmigrated, schema)
	}
	var version int
	if err := conn.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM `+table).Scan(&version); err != nil {
		return storeError(ctx, err)
	}
	switch {
	case version > known:
		return fmt.Errorf("%w: schema version %d, this program knows up to %d", ErrNewerSchema, version, known)
	case version < known:
		return fmt.Errorf("%w: schema version %d, this program needs %d", ErrUnmigrated, version, known)
	}
	return nil
}

// currentSchema returns the schema that unqualified table names of conn
// resolve to and new tables are created in: the first of its search_path
// that exists.
func currentSchema(ctx context.Context, conn *pgx.Conn) (string, error) {
	var schema *string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return "", storeError(ctx, err)
	}
	if schema == nil {
		return "", errors.New("no schema of the search_path exists")
	}
	return *schema, nil
}
