package sqlite

import (
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/storetest"
)

// openTemp opens a new database in t.TempDir, closed when the test ends.
func openTemp(t *testing.T, opts Options) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "latch.db")
	db, err := Open(t.Context(), path, opts)
	if err != nil {
		t.Fatalf("Open(%s) = %v, want nil", path, err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, opts store.Options) store.Store {
		db, _ := openTemp(t, Options{Options: opts})
		return db
	})
}

func TestPragmas(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     Options
		wantSync int // PRAGMA synchronous: 1 NORMAL, 2 FULL
	}{
		{"default", Options{}, 1},
		{"FullSync", Options{FullSync: true}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := openTemp(t, tc.opts)
			ctx := t.Context()
			for _, pool := range []struct {
				name string
				db   *sql.DB
			}{{"writer", db.w}, {"reader", db.r}} {
				var mode string
				if err := pool.db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
					t.Errorf("%s: PRAGMA journal_mode = %q, %v, want wal, nil", pool.name, mode, err)
				}
				var fk int
				if err := pool.db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil || fk != 1 {
					t.Errorf("%s: PRAGMA foreign_keys = %d, %v, want 1, nil", pool.name, fk, err)
				}
				var timeout int64
				if err := pool.db.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&timeout); err != nil || timeout != busyTimeout.Milliseconds() {
					t.Errorf("%s: PRAGMA busy_timeout = %d, %v, want %d, nil", pool.name, timeout, err, busyTimeout.Milliseconds())
				}
			}
			var sync int
			if err := db.w.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil || sync != tc.wantSync {
				t.Errorf("writer: PRAGMA synchronous = %d, %v, want %d, nil", sync, err, tc.wantSync)
			}
			if _, err := db.r.ExecContext(ctx, "DELETE FROM users"); err == nil {
				t.Errorf("reader: DELETE FROM users = nil, want an error (query_only)")
			}
		})
	}
}

func TestFileMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix file modes")
	}
	db, path := openTemp(t, Options{})
	// Write something so that the WAL file exists too.
	if err := db.CreateUser(t.Context(), store.User{ID: "u1", Email: "alice@example.com"}); err != nil {
		t.Fatalf("CreateUser(u1) = %v, want nil", err)
	}
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(name)
		if err != nil {
			t.Errorf("Stat(%s) = %v, want nil", filepath.Base(name), err)
			continue
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("mode of %s = %v, want %v", filepath.Base(name), got, os.FileMode(0o600))
		}
	}
}

func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "latch.db")
	ctx := t.Context()
	ms, err := migrations()
	if err != nil {
		t.Fatalf("migrations() = %v, want nil", err)
	}
	u := store.User{ID: "u1", Email: "alice@example.com", CreatedAt: time.UnixMilli(1_700_000_000_123).UTC()}
	for i := range 3 {
		db, err := Open(ctx, path, Options{})
		if err != nil {
			t.Fatalf("Open #%d = %v, want nil", i+1, err)
		}
		if i == 0 {
			if err := db.CreateUser(ctx, u); err != nil {
				t.Fatalf("CreateUser(u1) = %v, want nil", err)
			}
		}
		if got, err := db.UserByID(ctx, "u1"); err != nil || !got.CreatedAt.Equal(u.CreatedAt) {
			t.Errorf("Open #%d: UserByID(u1) = %+v, %v, want %+v, nil", i+1, got, err, u)
		}
		var n, newest int
		err = db.r.QueryRowContext(ctx, "SELECT count(*), max(version) FROM schema_migrations").Scan(&n, &newest)
		if err != nil || n != len(ms) || newest != len(ms) {
			t.Errorf("Open #%d: schema_migrations has %d rows up to %d, %v, want %d up to %d, nil", i+1, n, newest, err, len(ms), len(ms))
		}
		if err := db.Close(); err != nil {
			t.Fatalf("Close #%d = %v, want nil", i+1, err)
		}
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	db, path := openTemp(t, Options{})
	ctx := t.Context()
	if _, err := db.w.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (9999, 0)"); err != nil {
		t.Fatalf("recording schema version 9999: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatalf("Close() = %v, want nil", err)
	}
	db, err := Open(ctx, path, Options{})
	if err == nil {
		db.Close()
	}
	if !errors.Is(err, ErrNewerSchema) {
		t.Errorf("Open(database at schema 9999) = %v, want %v", err, ErrNewerSchema)
	}
	if db != nil {
		t.Errorf("Open(database at schema 9999) returned a DB with its error")
	}
}

func TestMigrationsNumbered(t *testing.T) {
	ms, err := migrations()
	if err != nil {
		t.Fatalf("migrations() = %v, want nil", err)
	}
	if len(ms) == 0 {
		t.Fatalf("migrations() = none, want at least one")
	}
	for i, m := range ms {
		if m.version != i+1 {
			t.Errorf("migration %s has version %d, want %d", m.name, m.version, i+1)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		path string
		opts Options
	}{
		{"negative revocation TTL", filepath.Join(dir, "a.db"), Options{Options: store.Options{RevocationTTL: -time.Second}}},
		{"directory", dir, Options{}},
		{"missing parent directory", filepath.Join(dir, "missing", "latch.db"), Options{}},
		{"not a database", writeFile(t, filepath.Join(dir, "junk.db"), "this is not an SQLite database, just text long enough"), Options{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Open(t.Context(), tc.path, tc.opts)
			if err == nil {
				db.Close()
				t.Errorf("Open(%s) = nil, want an error", tc.name)
			}
			if db != nil {
				t.Errorf("Open(%s) returned a DB with its error", tc.name)
			}
		})
	}
}

func TestPathWithURICharacters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "odd ?name#with%chars&_txlock=deferred.db")
	db, err := Open(t.Context(), path, Options{})
	if err != nil {
		t.Fatalf("Open(%q) = %v, want nil", path, err)
	}
	defer db.Close()
	if _, err := os.Stat(path); err != nil {
		t.Errorf("Stat(%q) = %v, want the database there", path, err)
	}
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
