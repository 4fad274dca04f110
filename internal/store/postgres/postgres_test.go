package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/storetest"
)

// dsnVar names the environment variable with the connection string of the
// PostgreSQL database the tests use. Each test works in a schema of its
// own, created for it and dropped after it.
const dsnVar = "LATCH_TEST_POSTGRES_DSN"

// testDSN returns the test database's connection string, or skips the test
// when none is set.
func testDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(dsnVar)
	if dsn == "" {
		t.Skip(dsnVar + " is not set: set it to a PostgreSQL connection string, as .ci/run does, to run the PostgreSQL tests")
	}
	return dsn
}

// withParams is dsn with the parameters params set, in its form: a URL's
// query, or keyword/value pairs, where a later one wins. Host and port are
// the URL's.
func withParams(t *testing.T, dsn string, params map[string]string) string {
	t.Helper()
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("url.Parse(%s) = %v", dsnVar, err)
		}
		q := u.Query()
		for k, v := range params {
			switch k {
			case "host":
				u.Host = net.JoinHostPort(v, u.Port())
			case "port":
				u.Host = net.JoinHostPort(u.Hostname(), v)
			default:
				q.Set(k, v)
			}
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	for k, v := range params {
		dsn += fmt.Sprintf(" %s='%s'", k, v)
	}
	return dsn
}

// randomName is prefix followed by random hex digits.
func randomName(prefix string) string {
	b := make([]byte, 6)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// newSchema creates a schema for the test, dropped with everything in it
// when the test ends, and returns the test database's connection string
// with search_path set to it, and the schema's name.
func newSchema(t *testing.T) (dsn, schema string) {
	t.Helper()
	base := testDSN(t)
	schema = randomName("latch_test_")
	admin := func(query string) error {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, query)
		return err
	}
	if err := admin("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("CREATE SCHEMA %s = %v, want nil", schema, err)
	}
	t.Cleanup(func() {
		if err := admin("DROP SCHEMA " + schema + " CASCADE"); err != nil {
			t.Errorf("DROP SCHEMA %s CASCADE = %v, want nil", schema, err)
		}
	})
	return withParams(t, base, map[string]string{"search_path": schema}), schema
}

// openDSN opens the database at dsn, closed when the test ends.
func openDSN(t *testing.T, dsn string, opts Options) *DB {
	t.Helper()
	db, err := Open(t.Context(), dsn, opts)
	if err != nil {
		t.Fatalf("Open(%s) = %v, want nil", redact(dsn), err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// openTest opens a new, migrated store in a schema of its own.
func openTest(t *testing.T, opts Options) (*DB, string) {
	t.Helper()
	dsn, _ := newSchema(t)
	opts.Migrate = true
	return openDSN(t, dsn, opts), dsn
}

// redact is dsn without its password, for messages.
func redact(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.User != nil {
		return u.Redacted()
	}
	return dsn
}

func TestConformance(t *testing.T) {
	testDSN(t) // skip once, not in every subtest
	storetest.Run(t, func(t *testing.T, opts store.Options) store.Store {
		db, _ := openTest(t, Options{Options: opts})
		return db
	})
}

// TestConformanceBusy runs the busy suite while another connection holds
// every table of the store's schema in EXCLUSIVE mode, which lets others
// read but not write, as a long transaction or a migration on another
// node would.
func TestConformanceBusy(t *testing.T) {
	testDSN(t)
	dsns := make(map[*DB]string)
	storetest.RunBusy(t, func(t *testing.T, opts store.Options) store.Store {
		db, dsn := openTest(t, Options{Options: opts, LockTimeout: 100 * time.Millisecond})
		dsns[db] = dsn
		return db
	}, func(t *testing.T, st store.Store) func() {
		return lockTables(t, dsns[st.(*DB)], st.(*DB).schema)
	})
}

// lockTables locks every table of schema in EXCLUSIVE mode from a new
// connection to dsn, and returns the function that releases them; the
// test's end does too.
func lockTables(t *testing.T, dsn, schema string) (release func()) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connecting to lock the tables: %v", err)
	}
	var tables []string
	rows, err := conn.Query(ctx, `SELECT tablename FROM pg_tables WHERE schemaname = $1`, schema)
	if err == nil {
		tables, err = pgx.CollectRows(rows, pgx.RowTo[string])
	}
	if err != nil || len(tables) == 0 {
		conn.Close(ctx)
		t.Fatalf("listing the tables of %s = %q, %v, want some, nil", schema, tables, err)
	}
	tx, err := conn.Begin(ctx)
	if err == nil {
		_, err = tx.Exec(ctx, `LOCK TABLE `+strings.Join(tables, ", ")+` IN EXCLUSIVE MODE`)
	}
	if err != nil {
		conn.Close(ctx)
		t.Fatalf("LOCK TABLE ... IN EXCLUSIVE MODE = %v, want nil", err)
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			tx.Rollback(ctx)
			conn.Close(ctx)
		})
	}
	t.Cleanup(release)
	return release
}

// schemaVersions returns the versions recorded in schema_migrations.
func schemaVersions(t *testing.T, dsn string) []int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("pgx.Connect() = %v, want nil", err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(t.Context(), `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatalf("reading schema_migrations: %v", err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		t.Fatalf("reading schema_migrations: %v", err)
	}
	return vs
}

// exec runs query on a new connection to dsn.
func exec(t *testing.T, dsn, query string, args ...any) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatalf("pgx.Connect() = %v, want nil", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), query, args...); err != nil {
		t.Fatalf("%s = %v, want nil", query, err)
	}
}

// upTo returns 1, 2, ..., n.
func upTo(n int) []int {
	vs := make([]int, n)
	for i := range vs {
		vs[i] = i + 1
	}
	return vs
}

func equalInts(a, b []int) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func TestMigrate(t *testing.T) {
	dsn, _ := newSchema(t)
	ctx := t.Context()
	ms, err := migrations(migrationFiles)
	if err != nil || len(ms) == 0 {
		t.Fatalf("migrations() = %d, %v, want some, nil", len(ms), err)
	}

	// A schema without latch's tables is refused, not set up behind the
	// operator's back.
	if db, err := Open(ctx, dsn, Options{}); !errors.Is(err, ErrUnmigrated) || db != nil {
		if db != nil {
			db.Close()
		}
		t.Errorf("Open(empty schema) = %v, %v, want nil, %v", db, err, ErrUnmigrated)
	}

	from, to, err := Migrate(ctx, dsn)
	if err != nil || from != 0 || to != len(ms) {
		t.Fatalf("Migrate(empty schema) = %d, %d, %v, want 0, %d, nil", from, to, err, len(ms))
	}
	from, to, err = Migrate(ctx, dsn)
	if err != nil || from != len(ms) || to != len(ms) {
		t.Errorf("Migrate(migrated schema) = %d, %d, %v, want %d, %d, nil", from, to, err, len(ms), len(ms))
	}
	if got := schemaVersions(t, dsn); !equalInts(got, upTo(len(ms))) {
		t.Errorf("schema_migrations after migrating twice = %v, want %v", got, upTo(len(ms)))
	}

	db := openDSN(t, dsn, Options{})
	if err := db.CreateUser(ctx, store.User{ID: "u1", Email: "alice@example.com"}); err != nil {
		t.Errorf("CreateUser(u1) on the migrated schema = %v, want nil", err)
	}
	// Opening with Migrate set again changes nothing and keeps the data.
	again := openDSN(t, dsn, Options{Migrate: true})
	if _, err := again.UserByID(ctx, "u1"); err != nil {
		t.Errorf("UserByID(u1) after Open with Migrate again = %v, want nil", err)
	}
	if got := schemaVersions(t, dsn); !equalInts(got, upTo(len(ms))) {
		t.Errorf("schema_migrations after Open with Migrate = %v, want %v", got, upTo(len(ms)))
	}
}

func TestMigrateSteps(t *testing.T) {
	dsn, _ := newSchema(t)
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("pgx.Connect() = %v, want nil", err)
	}
	defer conn.Close(context.Background())
	fsys := fstest.MapFS{
		"migrations/0001_a.sql": {Data: []byte(`CREATE TABLE a (x integer);`)},
		"migrations/0002_b.sql": {Data: []byte(`CREATE TABLE b (x integer); INSERT INTO a VALUES (2);`)},
		"migrations/0003_c.sql": {Data: []byte(`CREATE TABLE c (x integer);`)},
		"migrations/0004_bad.sql": {Data: []byte(`CREATE TABLE d (x integer);
			INSERT INTO no_such_table VALUES (1);`)},
	}
	ms, err := migrations(fsys)
	if err != nil || len(ms) != 4 {
		t.Fatalf("migrations(fsys) = %d, %v, want 4, nil", len(ms), err)
	}
	for _, tc := range []struct {
		apply    int
		from, to int
	}{
		{1, 0, 1},
		{3, 1, 3},
		{3, 3, 3},
	} {
		from, to, err := applyMigrations(ctx, conn, ms[:tc.apply])
		if err != nil || from != tc.from || to != tc.to {
			t.Errorf("applying %d migrations = %d, %d, %v, want %d, %d, nil", tc.apply, from, to, err, tc.from, tc.to)
		}
	}
	// A migration that fails leaves the schema as it was.
	if _, _, err := applyMigrations(ctx, conn, ms); err == nil || !strings.Contains(err.Error(), "0004_bad.sql") {
		t.Errorf("applying a failing migration = %v, want an error naming it", err)
	}
	if got := schemaVersions(t, dsn); !equalInts(got, upTo(3)) {
		t.Errorf("schema_migrations after a failed migration = %v, want %v", got, upTo(3))
	}
	var d *string
	if err := conn.QueryRow(ctx, `SELECT to_regclass('d')::text`).Scan(&d); err != nil || d != nil {
		t.Errorf("table d of the failed migration = %v, %v, want none", d, err)
	}
	// Migration 0002 ran once.
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM a`).Scan(&n); err != nil || n != 1 {
		t.Errorf("rows in a = %d, %v, want 1, nil", n, err)
	}
	// Three is newer than the first two.
	if _, _, err := applyMigrations(ctx, conn, ms[:2]); !errors.Is(err, ErrNewerSchema) {
		t.Errorf("applying 2 migrations to a schema at 3 = %v, want %v", err, ErrNewerSchema)
	}
}

// TestMigrateOAuthSessions checks that migration 0002 gives the sessions
// of a schema at version 1 no client, no scopes and no auth time, and
// that they update as others do.
func TestMigrateOAuthSessions(t *testing.T) {
	dsn, _ := newSchema(t)
	ctx := t.Context()
	ms, err := migrations(migrationFiles)
	if err != nil || len(ms) < 2 {
		t.Fatalf("migrations() = %d, %v, want at least 2, nil", len(ms), err)
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, _, err := applyMigrations(ctx, conn, ms[:1]); err != nil {
		t.Fatalf("migrating to version 1 = %v, want nil", err)
	}
	exec(t, dsn, `INSERT INTO users (id, email, password_hash) VALUES ('u1', 'alice@example.com', 'hash')`)
	exec(t, dsn, `INSERT INTO sessions (id, user_id, token_hash, generation, expires_at, user_agent, ip)
		VALUES ('s1', 'u1', '\x01', 2, now() + interval '1 day', 'curl', '192.0.2.1')`)

	db := openDSN(t, dsn, Options{Migrate: true})
	s, err := db.SessionByID(ctx, "s1")
	if err != nil || s.ClientID != "" || s.Scopes != nil || !s.AuthTime.IsZero() || s.Generation != 2 {
		t.Fatalf("SessionByID(s1) after the migration = %+v, %v, want generation 2 and no client, scopes or auth time", s, err)
	}
	s, err = db.UpdateSession(ctx, "s1", func(s store.Session) (store.Session, error) {
		s.Generation++
		return s, nil
	})
	if err != nil || s.Generation != 3 {
		t.Errorf("UpdateSession(s1, generation+1) = %+v, %v, want generation 3, nil", s, err)
	}
}

func TestMigrationsNumbered(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string
		ok    bool
	}{
		{"in order", []string{"0001_a.sql", "0002_b.sql"}, true},
		{"gap", []string{"0001_a.sql", "0003_b.sql"}, false},
		{"not from one", []string{"0002_a.sql"}, false},
		{"no number", []string{"init.sql"}, false},
		{"not sql", []string{"0001_a.txt"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := fstest.MapFS{}
			for _, f := range tc.files {
				fsys["migrations/"+f] = &fstest.MapFile{Data: []byte("SELECT 1;")}
			}
			_, err := migrations(fsys)
			if (err == nil) != tc.ok {
				t.Errorf("migrations(%q) = %v, want ok %v", tc.files, err, tc.ok)
			}
		})
	}
	ms, err := migrations(migrationFiles)
	if err != nil || len(ms) == 0 {
		t.Errorf("migrations(embedded) = %d, %v, want some, nil", len(ms), err)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	_, dsn := openTest(t, Options{})
	ctx := t.Context()
	exec(t, dsn, `INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future.sql')`)
	for _, migrate := range []bool{false, true} {
		db, err := Open(ctx, dsn, Options{Migrate: migrate})
		if db != nil {
			db.Close()
		}
		if !errors.Is(err, ErrNewerSchema) || db != nil {
			t.Errorf("Open(schema at 9999, Migrate %v) = %v, %v, want nil, %v", migrate, db, err, ErrNewerSchema)
		}
	}
	if _, _, err := Migrate(ctx, dsn); !errors.Is(err, ErrNewerSchema) {
		t.Errorf("Migrate(schema at 9999) = %v, want %v", err, ErrNewerSchema)
	}
}

func TestOlderSchemaRefused(t *testing.T) {
	_, dsn := openTest(t, Options{})
	ms, err := migrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	exec(t, dsn, `DELETE FROM schema_migrations WHERE version = $1`, len(ms))
	db, err := Open(t.Context(), dsn, Options{})
	if db != nil {
		db.Close()
	}
	if !errors.Is(err, ErrUnmigrated) {
		t.Errorf("Open(schema one version behind) = %v, want %v", err, ErrUnmigrated)
	}
}

// TestMigrateConcurrently starts several nodes on one new schema at once:
// some with `latch migrate` (Migrate), some with Open and Options.Migrate,
// each with its own connection or pool. Exactly one migrates; the others
// wait for it and find the schema up to date.
func TestMigrateConcurrently(t *testing.T) {
	dsn, _ := newSchema(t)
	ctx := t.Context()
	ms, err := migrations(migrationFiles)
	if err != nil {
		t.Fatal(err)
	}
	const migrators, openers = 4, 2
	start := make(chan struct{})
	froms := make([]int, migrators)
	errs := make([]error, migrators+openers)
	var wg sync.WaitGroup
	for i := range migrators + openers {
		wg.Go(func() {
			<-start
			if i < migrators {
				froms[i], _, errs[i] = Migrate(ctx, dsn)
				return
			}
			var db *DB
			if db, errs[i] = Open(ctx, dsn, Options{Migrate: true}); db != nil {
				db.Close()
			}
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: migrating = %v, want nil", i, err)
		}
	}
	if got := schemaVersions(t, dsn); !equalInts(got, upTo(len(ms))) {
		t.Errorf("schema_migrations after concurrent migrations = %v, want %v", got, upTo(len(ms)))
	}
	fresh := 0
	for _, from := range froms {
		if from == 0 {
			fresh++
		}
	}
	if fresh > 1 {
		t.Errorf("Migrate calls that found an empty schema: %d (versions before: %v), want at most 1", fresh, froms)
	}
}

// counter counts Notify calls and lets a test wait for them.
type counter struct {
	n  atomic.Int64
	ch chan struct{}
}

func newCounter() *counter { return &counter{ch: make(chan struct{}, 1000)} }

func (c *counter) notify() {
	c.n.Add(1)
	select {
	case c.ch <- struct{}{}:
	default:
	}
}

// waitFor waits up to d for the count to reach want.
func (c *counter) waitFor(want int64, d time.Duration) bool {
	deadline := time.After(d)
	for c.n.Load() < want {
		select {
		case <-c.ch:
		case <-deadline:
			return c.n.Load() >= want
		}
	}
	return true
}

// TestNotifyReachesOtherNodes checks that a revocation committed by one
// DB reaches the Notify of another on the same schema within a second,
// once per revoking transaction, and that neither a DB's own revocations
// (which it reports itself) nor another schema's reach it.
func TestNotifyReachesOtherNodes(t *testing.T) {
	ctx := t.Context()
	dsn, _ := newSchema(t)
	ca, cb := newCounter(), newCounter()
	a := openDSN(t, dsn, Options{Options: store.Options{Notify: ca.notify}, Migrate: true})
	b := openDSN(t, dsn, Options{Options: store.Options{Notify: cb.notify}})
	other, _ := openTest(t, Options{})

	must := func(call string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s = %v, want nil", call, err)
		}
	}
	now := time.Now()
	must("a.CreateUser(u1)", a.CreateUser(ctx, store.User{ID: "u1", Email: "alice@example.com"}))
	must("a.CreateSession(s1)", a.CreateSession(ctx, store.Session{ID: "s1", UserID: "u1", TokenHash: []byte{1}, ExpiresAt: now.Add(time.Hour)}))
	_, err := other.AddRevocation(ctx, store.Revocation{Kind: store.KindToken, Subject: "elsewhere", At: now, Expires: now.Add(time.Hour)})
	must("other.AddRevocation", err)

	for i, step := range []struct {
		name string
		do   func() error
	}{
		{"a.AddRevocation", func() error {
			_, err := a.AddRevocation(ctx, store.Revocation{Kind: store.KindToken, Subject: "jti-1", At: now, Expires: now.Add(time.Hour)})
			return err
		}},
		{"a.UpdateSession(revoke)", func() error {
			_, err := a.UpdateSession(ctx, "s1", func(s store.Session) (store.Session, error) {
				s.RevokedAt, s.RevokeReason = now, store.ReasonLogout
				return s, nil
			})
			return err
		}},
		{"a.RevokeUser", func() error {
			_, _, err := a.RevokeUser(ctx, "u1", store.ReasonAdmin, now, true, nil)
			return err
		}},
	} {
		sent := time.Now()
		must(step.name, step.do())
		if !cb.waitFor(int64(i+1), time.Second) {
			t.Fatalf("after %s: b's Notify calls = %d within a second, want %d", step.name, cb.n.Load(), i+1)
		}
		t.Logf("%s reached b's Notify in %v", step.name, time.Since(sent))
	}
	// Anything pending would have arrived by now.
	time.Sleep(200 * time.Millisecond)
	if n := ca.n.Load(); n != 3 {
		t.Errorf("a's Notify calls after its 3 revoking commits = %d, want 3 (its own, not echoed)", n)
	}
	if n := cb.n.Load(); n != 3 {
		t.Errorf("b's Notify calls after a's 3 revoking commits = %d, want 3 (none from another schema)", n)
	}
	// And back.
	_, err = b.AddRevocation(ctx, store.Revocation{Kind: store.KindToken, Subject: "jti-2", At: now, Expires: now.Add(time.Hour)})
	must("b.AddRevocation", err)
	if !ca.waitFor(4, time.Second) {
		t.Errorf("after b.AddRevocation: a's Notify calls = %d within a second, want 4", ca.n.Load())
	}
}

// TestRotationAcrossNodes races refreshes of one session on two DBs, as
// two server nodes behind a load balancer: exactly one rotation wins.
func TestRotationAcrossNodes(t *testing.T) {
	ctx := t.Context()
	dsn, _ := newSchema(t)
	nodes := []*DB{openDSN(t, dsn, Options{Migrate: true}), openDSN(t, dsn, Options{})}
	if err := nodes[0].CreateUser(ctx, store.User{ID: "u1", Email: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	if err := nodes[0].CreateSession(ctx, store.Session{ID: "s1", UserID: "u1", TokenHash: []byte("t0"), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	errStale := errors.New("already rotated")
	const perNode = 20
	start := make(chan struct{})
	var wg sync.WaitGroup
	var won atomic.Int64
	errs := make(chan error, 2*perNode)
	for i := range 2 * perNode {
		wg.Go(func() {
			<-start
			_, err := nodes[i%2].UpdateSession(ctx, "s1", func(s store.Session) (store.Session, error) {
				if string(s.TokenHash) != "t0" {
					return s, errStale
				}
				s.PrevHash, s.TokenHash = s.TokenHash, fmt.Appendf(nil, "t1 by %d", i)
				s.Generation++
				return s, nil
			})
			switch {
			case err == nil:
				won.Add(1)
			case err != errStale:
				errs <- err
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("UpdateSession(s1, rotate) = %v, want nil or the stale error as is", err)
	}
	if n := won.Load(); n != 1 {
		t.Errorf("rotations that won across two nodes = %d, want 1", n)
	}
	if s, err := nodes[1].SessionByID(ctx, "s1"); err != nil || s.Generation != 1 || string(s.PrevHash) != "t0" {
		t.Errorf("SessionByID(s1) = generation %d, previous %q, %v, want 1, t0, nil", s.Generation, s.PrevHash, err)
	}
}

// proxy forwards TCP connections from a loopback port to the database, so
// that a test can make the database unreachable and bring it back.
type proxy struct {
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// startProxy starts a proxy to target (host:port), stopped when the test
// ends.
func startProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("net.Listen = %v, want nil", err)
	}
	p := &proxy{target: target, addr: ln.Addr().String(), conns: make(map[net.Conn]bool)}
	p.serve(ln)
	t.Cleanup(p.down)
	return p
}

// serve accepts connections on ln until it is closed.
func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			d, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[d] = true, true
			p.mu.Unlock()
			for _, pair := range [][2]net.Conn{{c, d}, {d, c}} {
				p.wg.Go(func() {
					io.Copy(pair[0], pair[1])
					pair[0].Close()
					pair[1].Close()
				})
			}
		}
	})
}

// down stops listening and breaks every connection, as a database that
// went away.
func (p *proxy) down() {
	p.mu.Lock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
	p.mu.Unlock()
	p.wg.Wait()
}

// up listens again on the same address.
func (p *proxy) up(t *testing.T) {
	t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatalf("listening again on %s = %v, want nil", p.addr, err)
	}
	p.serve(ln)
}

// TestDatabaseGoesAway opens a DB through a proxy, takes the proxy down
// and brings it back: while the database is away every call fails with
// ErrUnavailable, which is store.ErrBusy, and so does Open; once it is back
// the DB recovers by itself, its listener too, which reports the gap with
// a Notify call and then hears other nodes' revocations again.
func TestDatabaseGoesAway(t *testing.T) {
	ctx := t.Context()
	dsn, _ := newSchema(t)
	cfg, err := pgconn.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := startProxy(t, net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port)))
	host, port, _ := net.SplitHostPort(p.addr)
	proxied := withParams(t, dsn, map[string]string{"host": host, "port": port})

	direct := openDSN(t, dsn, Options{Migrate: true})
	c := newCounter()
	db := openDSN(t, proxied, Options{Options: store.Options{Notify: c.notify}})
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("Ping() through the proxy = %v, want nil", err)
	}
	if err := db.CreateUser(ctx, store.User{ID: "u1", Email: "alice@example.com"}); err != nil {
		t.Fatalf("CreateUser(u1) = %v, want nil", err)
	}

	p.down()
	time.Sleep(pingInterval) // Ping checks again
	calls := []struct {
		name string
		call func() error
	}{
		{"Ping", func() error { return db.Ping(ctx) }},
		{"UserByID", func() error { _, err := db.UserByID(ctx, "u1"); return err }},
		{"CreateUser", func() error { return db.CreateUser(ctx, store.User{ID: "u2", Email: "bob@example.com"}) }},
		{"UpdateUser", func() error {
			_, err := db.UpdateUser(ctx, "u1", func(u store.User) (store.User, error) { u.Disabled = true; return u, nil })
			return err
		}},
		{"AddRevocation", func() error {
			_, err := db.AddRevocation(ctx, store.Revocation{Kind: store.KindToken, Subject: "jti"})
			return err
		}},
		{"Open", func() error {
			other, err := Open(ctx, proxied, Options{})
			if other != nil {
				other.Close()
			}
			return err
		}},
	}
	for _, c := range calls {
		err := c.call()
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, store.ErrBusy) {
			t.Errorf("%s while the database is away = %v, want %v and %v", c.name, err, ErrUnavailable, store.ErrBusy)
		}
	}
	if _, err := direct.UserByID(ctx, "u2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UserByID(u2) = %v, want %v: CreateUser failed", err, store.ErrNotFound)
	}

	before := c.n.Load()
	p.up(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := db.Ping(ctx)
		if err == nil {
			break
		}
		if !errors.Is(err, store.ErrBusy) || time.Now().After(deadline) {
			t.Fatalf("Ping() after the database came back = %v, want nil within 10 s", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := db.CreateUser(ctx, store.User{ID: "u2", Email: "bob@example.com"}); err != nil {
		t.Errorf("CreateUser(u2) after the database came back = %v, want nil", err)
	}
	// The listener connects again within its longest delay, and reports
	// what it may have missed.
	if !c.waitFor(before+1, maxListenDelay+5*time.Second) {
		t.Fatalf("Notify calls after the database came back = %d, want a call for the gap", c.n.Load())
	}
	time.Sleep(100 * time.Millisecond)
	before = c.n.Load()
	if _, err := direct.AddRevocation(ctx, store.Revocation{Kind: store.KindToken, Subject: "jti-2"}); err != nil {
		t.Fatalf("direct.AddRevocation = %v, want nil", err)
	}
	if !c.waitFor(before+1, time.Second) {
		t.Errorf("Notify calls after another node's revocation = %d within a second, want %d", c.n.Load(), before+1)
	}
}

// TestBackendsTerminated terminates every server process of a DB's pool
// and listener, as a database restart or an operator would: the calls
// that meet a dead connection fail with store.ErrBusy and nothing else,
// the DB recovers by itself, and its listener hears revocations again.
func TestBackendsTerminated(t *testing.T) {
	ctx := t.Context()
	dsn, _ := newSchema(t)
	app := randomName("latch_test_app_")
	c := newCounter()
	direct := openDSN(t, dsn, Options{Migrate: true})
	db := openDSN(t, withParams(t, dsn, map[string]string{"application_name": app}), Options{Options: store.Options{Notify: c.notify}})
	// Fill the pool with a few connections.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { db.Ping(ctx); db.ListUsers(ctx) })
	}
	wg.Wait()

	var killed int
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	// Materialized, so that only the DB's processes are terminated.
	err = conn.QueryRow(ctx, `WITH a AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE application_name = $1)
		SELECT count(*) FROM a WHERE pg_terminate_backend(a.pid)`, app).Scan(&killed)
	conn.Close(context.Background())
	if err != nil || killed < 2 {
		t.Fatalf("terminating the DB's server processes = %d, %v, want at least 2 (pool and listener), nil", killed, err)
	}

	failed := 0
	for i := range 20 {
		err := db.CreateUser(ctx, store.User{ID: fmt.Sprint("u", i), Email: fmt.Sprintf("u%d@example.com", i)})
		switch {
		case err == nil:
		case errors.Is(err, store.ErrBusy):
			failed++
		default:
			t.Errorf("CreateUser(u%d) after the server processes were terminated = %v, want nil or %v", i, err, store.ErrBusy)
		}
	}
	if failed > 10 {
		t.Errorf("CreateUser calls that failed after the server processes were terminated: %d of 20, want the pool to recover", failed)
	}
	t.Logf("%d server processes terminated; %d of 20 calls failed with ErrBusy", killed, failed)
	if !c.waitFor(1, maxListenDelay+5*time.Second) {
		t.Fatalf("Notify calls after the listener was terminated = %d, want a call for the gap", c.n.Load())
	}
	time.Sleep(100 * time.Millisecond)
	before := c.n.Load()
	if _, err := direct.AddRevocation(ctx, store.Revocation{Kind: store.KindToken, Subject: "jti"}); err != nil {
		t.Fatalf("direct.AddRevocation = %v, want nil", err)
	}
	if !c.waitFor(before+1, time.Second) {
		t.Errorf("Notify calls after another node's revocation = %d within a second, want %d", c.n.Load(), before+1)
	}
}

// TestPingRateLimited checks that Ping writes its heartbeat at most once a
// second however often it is called.
func TestPingRateLimited(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx := t.Context()
	beats := func() int64 {
		t.Helper()
		var n int64
		if err := db.pool.QueryRow(ctx, `SELECT beats FROM heartbeat WHERE id = 1`).Scan(&n); err != nil {
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
	db.Close()
	if err := db.Ping(ctx); err == nil {
		t.Errorf("Ping() after Close = nil, want an error")
	}
}

func TestOpenErrors(t *testing.T) {
	dsn, _ := newSchema(t)
	missing := withParams(t, testDSN(t), map[string]string{"search_path": randomName("latch_missing_")})
	for _, tc := range []struct {
		name string
		dsn  string
		opts Options
	}{
		{"negative revocation TTL", dsn, Options{Options: store.Options{RevocationTTL: -time.Second}, Migrate: true}},
		{"negative pool size", dsn, Options{MaxConns: -1, Migrate: true}},
		{"negative lock timeout", dsn, Options{LockTimeout: -time.Second, Migrate: true}},
		{"unparsable", "postgres://latch:s3cret-pw@localhost:notaport/db", Options{Migrate: true}},
		{"search_path names no schema", missing, Options{Migrate: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := Open(t.Context(), tc.dsn, tc.opts)
			if db != nil {
				db.Close()
				t.Errorf("Open(%s) returned a DB", tc.name)
			}
			if err == nil {
				t.Fatalf("Open(%s) = nil, want an error", tc.name)
			}
			if strings.Contains(err.Error(), "s3cret-pw") {
				t.Errorf("Open(%s) = %q, want an error without the password", tc.name, err)
			}
		})
	}
}

// TestPoolConfig checks how Options and the connection string set the
// pool: Options first, then the string, then the defaults.
func TestPoolConfig(t *testing.T) {
	const base = "postgres://latch@db.example:5432/latch"
	for _, tc := range []struct {
		name        string
		dsn         string
		opts        Options
		maxConns    int32
		lockTimeout string
		app         string
		connect     time.Duration
	}{
		{"defaults", base, Options{}, DefaultMaxConns, "5000", "latch", defaultConnectTimeout},
		{"options", base, Options{MaxConns: 3, LockTimeout: 250 * time.Millisecond}, 3, "250", "latch", defaultConnectTimeout},
		{"sub-millisecond lock timeout", base, Options{LockTimeout: time.Microsecond}, DefaultMaxConns, "1", "latch", defaultConnectTimeout},
		{"connection string", base + "?pool_max_conns=7&lock_timeout=2s&application_name=node1&connect_timeout=9", Options{}, 7, "2s", "node1", 9 * time.Second},
		{"options over connection string", base + "?pool_max_conns=7&lock_timeout=2s", Options{MaxConns: 2, LockTimeout: time.Second}, 2, "1000", "latch", defaultConnectTimeout},
		{"keyword/value", "host=db.example user=latch pool_max_conns=4", Options{}, 4, "5000", "latch", defaultConnectTimeout},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := poolConfig(tc.dsn, tc.opts)
			if err != nil {
				t.Fatalf("poolConfig(%q) = %v, want nil", tc.dsn, err)
			}
			params := cfg.ConnConfig.RuntimeParams
			if cfg.MaxConns != tc.maxConns || params["lock_timeout"] != tc.lockTimeout ||
				params["application_name"] != tc.app || cfg.ConnConfig.ConnectTimeout != tc.connect {
				t.Errorf("poolConfig(%q) = MaxConns %d, lock_timeout %q, application_name %q, connect timeout %v; want %d, %q, %q, %v",
					tc.dsn, cfg.MaxConns, params["lock_timeout"], params["application_name"], cfg.ConnConfig.ConnectTimeout,
					tc.maxConns, tc.lockTimeout, tc.app, tc.connect)
			}
			if _, ok := params["pool_max_conns"]; ok {
				t.Errorf("poolConfig(%q) sends pool_max_conns to the server", tc.dsn)
			}
		})
	}
}

// TestStoreError checks the translation of PostgreSQL's errors into the
// contract's.
func TestStoreError(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tc := range []struct {
		name string
		ctx  context.Context
		err  error
		want []error
		not  []error
	}{
		{"no rows", t.Context(), pgx.ErrNoRows, []error{store.ErrNotFound}, nil},
		{"unique", t.Context(), &pgconn.PgError{Code: "23505"}, []error{store.ErrConflict}, []error{store.ErrBusy}},
		{"foreign key", t.Context(), &pgconn.PgError{Code: "23503"}, []error{store.ErrNotFound}, nil},
		{"lock timeout", t.Context(), &pgconn.PgError{Code: "55P03"}, []error{store.ErrBusy}, []error{ErrUnavailable}},
		{"deadlock", t.Context(), &pgconn.PgError{Code: "40P01"}, []error{store.ErrBusy}, nil},
		{"serialization", t.Context(), &pgconn.PgError{Code: "40001"}, []error{store.ErrBusy}, nil},
		{"statement timeout", t.Context(), &pgconn.PgError{Code: "57014"}, []error{store.ErrBusy}, nil},
		{"statement canceled by the caller", canceled, &pgconn.PgError{Code: "57014"}, nil, []error{store.ErrBusy}},
		{"too many connections", t.Context(), &pgconn.PgError{Code: "53300"}, []error{store.ErrBusy}, nil},
		{"admin shutdown", t.Context(), &pgconn.PgError{Code: "57P01"}, []error{store.ErrBusy}, nil},
		{"starting up", t.Context(), &pgconn.PgError{Code: "57P03"}, []error{store.ErrBusy}, nil},
		{"connection exception", t.Context(), &pgconn.PgError{Code: "08006"}, []error{ErrUnavailable, store.ErrBusy}, nil},
		{"connection refused", t.Context(), &net.OpError{Op: "dial", Err: errors.New("connection refused")}, []error{ErrUnavailable, store.ErrBusy}, nil},
		{"EOF", t.Context(), fmt.Errorf("receiving: %w", io.ErrUnexpectedEOF), []error{ErrUnavailable, store.ErrBusy}, nil},
		{"syntax", t.Context(), &pgconn.PgError{Code: "42601"}, nil, []error{store.ErrBusy, store.ErrConflict, store.ErrNotFound}},
		{"caller gave up", canceled, context.Canceled, []error{context.Canceled}, []error{store.ErrBusy}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := storeError(tc.ctx, tc.err)
			for _, want := range tc.want {
				if !errors.Is(got, want) {
					t.Errorf("storeError(%v) = %v, want %v", tc.err, got, want)
				}
			}
			for _, not := range tc.not {
				if errors.Is(got, not) {
					t.Errorf("storeError(%v) = %v, want not %v", tc.err, got, not)
				}
			}
		})
	}
}
