package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"sync"
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

// TestConformanceBusy runs the busy suite with a second connection to the
// file in a BEGIN IMMEDIATE transaction, as another process in a long
// write transaction would hold it.
func TestConformanceBusy(t *testing.T) {
	storetest.RunBusy(t, func(t *testing.T, opts store.Options) store.Store {
		db, _ := openTemp(t, Options{Options: opts, BusyTimeout: 100 * time.Millisecond})
		return db
	}, func(t *testing.T, st store.Store) func() {
		return holdWriteLock(t, st.(*DB))
	})
}

// holdWriteLock begins a write transaction on a new connection to db's
// file, as another process would, and returns the function that rolls it
// back; the test's end does too.
func holdWriteLock(t *testing.T, db *DB) (release func()) {
	t.Helper()
	ctx := t.Context()
	var path string
	if err := db.r.QueryRowContext(ctx, `SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&path); err != nil {
		t.Fatalf("finding the database file: %v", err)
	}
	other, err := sql.Open("sqlite", dsn(path, url.Values{"_txlock": {"immediate"}}))
	if err != nil {
		t.Fatalf("sql.Open(%s) = %v, want nil", path, err)
	}
	tx, err := other.BeginTx(ctx, nil)
	if err != nil {
		other.Close()
		t.Fatalf("BEGIN IMMEDIATE on a second connection = %v, want nil", err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			tx.Rollback()
			other.Close()
		})
	}
	t.Cleanup(release)
	return release
}

func TestPragmas(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     Options
		wantSync int           // PRAGMA synchronous: 1 NORMAL, 2 FULL
		wantBusy time.Duration // PRAGMA busy_timeout
	}{
		{"default", Options{}, 1, DefaultBusyTimeout},
		{"FullSync", Options{FullSync: true}, 2, DefaultBusyTimeout},
		{"BusyTimeout", Options{BusyTimeout: 250 * time.Millisecond}, 1, 250 * time.Millisecond},
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
				if err := pool.db.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&timeout); err != nil || timeout != tc.wantBusy.Milliseconds() {
					t.Errorf("%s: PRAGMA busy_timeout = %d, %v, want %d, nil", pool.name, timeout, err, tc.wantBusy.Milliseconds())
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

// openAtVersion creates a database at path with the schema of the first
// version migrations only, and returns its writer connection, closed when
// the test ends.
func openAtVersion(t *testing.T, path string, version int) *sql.DB {
	t.Helper()
	ms, err := migrations()
	if err != nil {
		t.Fatalf("migrations() = %v, want nil", err)
	}
	w, err := sql.Open("sqlite", dsn(path, url.Values{"_journal_mode": {"WAL"}, "_txlock": {"immediate"}}))
	if err != nil {
		t.Fatalf("sql.Open(%s) = %v, want nil", path, err)
	}
	t.Cleanup(func() { w.Close() })
	w.SetMaxOpenConns(1)
	old := &DB{w: w}
	if err := old.migrate(t.Context(), ms[:version]); err != nil {
		t.Fatalf("migrating %s to version %d = %v, want nil", path, version, err)
	}
	return w
}

func TestMigrateFromVersion2(t *testing.T) {
	for _, tc := range []struct {
		name       string
		added      int     // revocations recorded at version 2, Seq 1 to added
		kept       []int64 // the Seqs of those not pruned at version 2
		wantPruned int64
	}{
		{"no revocations", 0, nil, 0},
		{"none pruned", 3, []int64{1, 2, 3}, 0},
		{"oldest pruned", 3, []int64{2, 3}, 1},
		{"middle pruned", 3, []int64{1, 3}, 2},
		{"two middle pruned", 5, []int64{1, 4, 5}, 3},
		{"newest pruned", 3, []int64{1, 2}, 3},
		{"all pruned", 3, nil, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := t.Context()
			path := filepath.Join(t.TempDir(), "latch.db")
			w := openAtVersion(t, path, 2)
			exec := func(query string, args ...any) {
				t.Helper()
				if _, err := w.ExecContext(ctx, query, args...); err != nil {
					t.Fatalf("at version 2: %s = %v, want nil", query, err)
				}
			}
			exec(`INSERT INTO users (id, email, password_hash, roles, disabled, created_at, updated_at)
				VALUES ('u1', 'alice@example.com', 'hash', '["admin"]', 0, 1000, 2000)`)
			exec(`INSERT INTO signing_keys (id, algorithm, sealed, public, created_at, activate_at)
				VALUES ('k1', 'EdDSA', x'00', x'7b7d', 1000, 1000)`)
			for seq := 1; seq <= tc.added; seq++ {
				kind := "user"
				if seq%2 == 0 {
					kind = "session"
				}
				exec(`INSERT INTO revocations (kind, subject, user_id, reason, at, expires) VALUES (?, ?, 'u1', 'logout', 1000, 5000)`,
					kind, fmt.Sprint("subject ", seq))
			}
			exec(`DELETE FROM revocations WHERE seq NOT IN (SELECT value FROM json_each(?))`, jsonInts(tc.kept))
			if err := w.Close(); err != nil {
				t.Fatalf("Close() at version 2 = %v, want nil", err)
			}

			db, err := Open(ctx, path, Options{})
			if err != nil {
				t.Fatalf("Open(database at version 2) = %v, want nil", err)
			}
			defer db.Close()
			var newest int
			ms, err := migrations()
			if err != nil {
				t.Fatalf("migrations() = %v, want nil", err)
			}
			if err := db.r.QueryRowContext(ctx, "SELECT max(version) FROM schema_migrations").Scan(&newest); err != nil || newest != len(ms) {
				t.Errorf("schema version after Open = %d, %v, want %d, nil", newest, err, len(ms))
			}

			rs, err := db.RevocationsSince(ctx, 0, 100)
			if err != nil {
				t.Fatalf("RevocationsSince(0, 100) = %v, want nil", err)
			}
			var seqs []int64
			for _, r := range rs {
				seqs = append(seqs, r.Seq)
				want := store.KindSubject
				if r.Seq%2 == 0 {
					want = store.KindSession
				}
				if r.Kind != want {
					t.Errorf("RevocationsSince(0, 100): Seq %d has Kind %q, want %q", r.Seq, r.Kind, want)
				}
			}
			if !slices.Equal(seqs, tc.kept) {
				t.Errorf("RevocationsSince(0, 100) = Seqs %v, want %v", seqs, tc.kept)
			}
			pruned, head, err := db.RevocationBounds(ctx)
			if err != nil || pruned != tc.wantPruned || head != int64(tc.added) {
				t.Errorf("RevocationBounds() = %d, %d, %v, want %d, %d, nil", pruned, head, err, tc.wantPruned, tc.added)
			}

			u, err := db.UserByID(ctx, "u1")
			if err != nil || !u.TokensRevokedAt.IsZero() || !slices.Equal(u.Roles, []string{"admin"}) {
				t.Errorf("UserByID(u1) = %+v, %v, want roles [admin], no TokensRevokedAt, nil", u, err)
			}
			ks, err := db.ListKeys(ctx)
			if err != nil || len(ks) != 1 || !ks[0].RevokedAt.IsZero() {
				t.Errorf("ListKeys() = %+v, %v, want k1 not revoked, nil", ks, err)
			}
			if cs, err := db.ListClients(ctx); err != nil || len(cs) != 0 {
				t.Errorf("ListClients() = %+v, %v, want none, nil", cs, err)
			}
		})
	}
}

// TestMigrateSETCursor checks that migration 0004 gives the clients
// registered before it a SET cursor of zero: none of the feed's SETs
// acknowledged, so a poll delivers them all.
func TestMigrateSETCursor(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "latch.db")
	w := openAtVersion(t, path, 3)
	if _, err := w.ExecContext(ctx, `INSERT INTO clients (id, name, secret_hash, scopes, created_at, updated_at)
		VALUES ('c1', 'orders service', x'00ff', '["revocations:read"]', 1000, 2000)`); err != nil {
		t.Fatalf("at version 3: inserting a client = %v, want nil", err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close() at version 3 = %v, want nil", err)
	}
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("Open(database at version 3) = %v, want nil", err)
	}
	defer db.Close()
	c, err := db.ClientByID(ctx, "c1")
	if err != nil || c.SETCursor != 0 || c.Name != "orders service" || !slices.Equal(c.Scopes, []string{"revocations:read"}) {
		t.Fatalf("ClientByID(c1) after the migration = %+v, %v, want the client with SETCursor 0, nil", c, err)
	}
	c, err = db.UpdateClient(ctx, "c1", func(c store.Client) (store.Client, error) {
		c.SETCursor = 42
		return c, nil
	})
	if err != nil || c.SETCursor != 42 {
		t.Errorf("UpdateClient(c1, SETCursor 42) = %+v, %v, want SETCursor 42, nil", c, err)
	}
	if c, err := db.ClientByID(ctx, "c1"); err != nil || c.SETCursor != 42 {
		t.Errorf("ClientByID(c1) = %+v, %v, want SETCursor 42, nil", c, err)
	}
}

// TestMigrateToLossFreeRotation checks that migrations 0005 and 0006 give
// a database of version 4 the heartbeat Ping writes and its sessions a
// Reissues of zero that updates keep.
func TestMigrateToLossFreeRotation(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "latch.db")
	w := openAtVersion(t, path, 4)
	for _, q := range []string{
		`INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES ('u1', 'alice@example.com', 'hash', 1000, 1000)`,
		`INSERT INTO sessions (id, user_id, token_hash, prev_hash, generation, rotated_at, created_at, last_used_at, expires_at, user_agent, ip, revoke_reason)
			VALUES ('s1', 'u1', x'01', x'02', 3, 2000, 1000, 2000, 9000000000000, 'curl', '192.0.2.1', '')`,
	} {
		if _, err := w.ExecContext(ctx, q); err != nil {
			t.Fatalf("at version 4: %s = %v, want nil", q, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close() at version 4 = %v, want nil", err)
	}
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("Open(database at version 4) = %v, want nil", err)
	}
	defer db.Close()
	if err := db.Ping(ctx); err != nil {
		t.Errorf("Ping() after the migration = %v, want nil", err)
	}
	s, err := db.SessionByID(ctx, "s1")
	if err != nil || s.Reissues != 0 || s.Generation != 3 {
		t.Fatalf("SessionByID(s1) after the migration = %+v, %v, want generation 3, Reissues 0, nil", s, err)
	}
	s, err = db.UpdateSession(ctx, "s1", func(s store.Session) (store.Session, error) {
		s.Reissues++
		return s, nil
	})
	if err != nil || s.Reissues != 1 {
		t.Errorf("UpdateSession(s1, Reissues+1) = %+v, %v, want Reissues 1, nil", s, err)
	}
	if s, err := db.SessionByID(ctx, "s1"); err != nil || s.Reissues != 1 {
		t.Errorf("SessionByID(s1) = %+v, %v, want Reissues 1, nil", s, err)
	}
}

// TestMigrateToOAuth checks that migration 0007 keeps the clients and
// sessions of a database of version 6 what they were: confidential feed
// clients authenticating with HTTP Basic, without grant types, redirect
// URIs or first-party status, and sessions without a parent; and that
// they take part in the new tables.
func TestMigrateToOAuth(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "latch.db")
	w := openAtVersion(t, path, 6)
	for _, q := range []string{
		`INSERT INTO users (id, email, password_hash, created_at, updated_at) VALUES ('u1', 'alice@example.com', 'hash', 1000, 1000)`,
		`INSERT INTO sessions (id, user_id, token_hash, generation, created_at, last_used_at, expires_at, user_agent, ip, revoke_reason)
			VALUES ('s1', 'u1', x'01', 0, 1000, 2000, 9000000000000, 'curl', '192.0.2.1', '')`,
		`INSERT INTO clients (id, name, secret_hash, scopes, set_cursor, created_at, updated_at)
			VALUES ('c1', 'orders service', x'00ff', '["revocations:read"]', 5, 1000, 2000)`,
	} {
		if _, err := w.ExecContext(ctx, q); err != nil {
			t.Fatalf("at version 6: %s = %v, want nil", q, err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatalf("Close() at version 6 = %v, want nil", err)
	}
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("Open(database at version 6) = %v, want nil", err)
	}
	defer db.Close()

	want := store.Client{
		ID: "c1", Name: "orders service", SecretHash: []byte{0, 0xff},
		Type: store.ClientConfidential, AuthMethod: "client_secret_basic",
		Scopes: []string{"revocations:read"}, SETCursor: 5,
		CreatedAt: time.UnixMilli(1000).UTC(), UpdatedAt: time.UnixMilli(2000).UTC(),
	}
	c, err := db.ClientByID(ctx, "c1")
	if err != nil || !reflect.DeepEqual(c, want) {
		t.Fatalf("ClientByID(c1) after the migration = %+v, %v, want %+v, nil", c, err, want)
	}
	s, err := db.SessionByID(ctx, "s1")
	if err != nil || s.ParentID != "" || s.UserID != "u1" {
		t.Errorf("SessionByID(s1) after the migration = %+v, %v, want no ParentID, nil", s, err)
	}
	code := store.AuthCode{Hash: []byte("h"), ClientID: "c1", UserID: "u1", ExpiresAt: time.UnixMilli(5000)}
	if err := db.CreateAuthCode(ctx, code); err != nil {
		t.Errorf("CreateAuthCode(for migrated c1) = %v, want nil", err)
	}
	if err := db.GrantConsent(ctx, store.Consent{UserID: "u1", ClientID: "c1", Scopes: []string{"openid"}}); err != nil {
		t.Errorf("GrantConsent(u1, migrated c1) = %v, want nil", err)
	}
	if err := db.DeleteClient(ctx, "c1"); err != nil {
		t.Errorf("DeleteClient(migrated c1) = %v, want nil", err)
	}
	if _, err := db.RedeemAuthCode(ctx, []byte("h"), time.UnixMilli(3000)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("RedeemAuthCode(code of deleted c1) = %v, want %v", err, store.ErrNotFound)
	}
	if _, err := db.ConsentFor(ctx, "u1", "c1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConsentFor(u1, deleted c1) = %v, want %v", err, store.ErrNotFound)
	}
}

// TestRedeemAuthCodeZeroTime checks that a redemption at the zero time,
// which would store no redemption, is refused and leaves the code
// redeemable once.
func TestRedeemAuthCodeZeroTime(t *testing.T) {
	db, _ := openTemp(t, Options{})
	ctx := t.Context()
	now := time.Now()
	if err := db.CreateUser(ctx, store.User{ID: "u1", Email: "a@example.com", CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateClient(ctx, store.Client{ID: "c1", Name: "app", SecretHash: []byte{1}, CreatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateAuthCode(ctx, store.AuthCode{Hash: []byte("h"), ClientID: "c1", UserID: "u1", ExpiresAt: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := db.RedeemAuthCode(ctx, []byte("h"), time.Time{}); err == nil {
		t.Errorf("RedeemAuthCode(h, zero time) = nil, want an error")
	}
	if _, err := db.RedeemAuthCode(ctx, []byte("h"), now); err != nil {
		t.Errorf("RedeemAuthCode(h, now) = %v, want nil", err)
	}
	if _, err := db.RedeemAuthCode(ctx, []byte("h"), now); !errors.Is(err, store.ErrCodeReplayed) {
		t.Errorf("RedeemAuthCode(h, now) again = %v, want %v", err, store.ErrCodeReplayed)
	}
	if err := db.BindAuthCode(ctx, []byte("h"), ""); err == nil || errors.Is(err, store.ErrCodeReplayed) {
		t.Errorf("BindAuthCode(h, empty session) = %v, want an error other than %v", err, store.ErrCodeReplayed)
	}
}

// jsonInts is v as a JSON array.
func jsonInts(v []int64) string {
	b := []byte("[")
	for i, n := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = fmt.Append(b, n)
	}
	return string(append(b, ']'))
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
		{"negative busy timeout", filepath.Join(dir, "b.db"), Options{BusyTimeout: -time.Second}},
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

// TestPingRateLimited checks that Ping writes its heartbeat at most once a
// second however often it is called, so that readiness probes cannot
// become write load.
func TestPingRateLimited(t *testing.T) {
	db, _ := openTemp(t, Options{})
	ctx := t.Context()
	beats := func() int64 {
		t.Helper()
		var n int64
		if err := db.r.QueryRowContext(ctx, `SELECT beats FROM heartbeat WHERE id = 1`).Scan(&n); err != nil {
			t.Fatalf("reading the heartbeat: %v", err)
		}
		return n
	}
	before := beats()
	start := time.Now()
	const calls = 100
	for i := range calls {
		if err := db.Ping(ctx); err != nil {
			t.Fatalf("Ping() #%d = %v, want nil", i+1, err)
		}
	}
	elapsed := time.Since(start)
	if got, limit := beats()-before, int64(elapsed/pingInterval)+1; got < 1 || got > limit {
		t.Errorf("%d Pings in %v wrote the heartbeat %d times, want 1 to %d", calls, elapsed, got, limit)
	}
	time.Sleep(pingInterval)
	n := beats()
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("Ping() a second later = %v, want nil", err)
	}
	if got := beats(); got != n+1 {
		t.Errorf("a Ping a second after the last wrote the heartbeat %d times, want 1", got-n)
	}
}
