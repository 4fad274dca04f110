// Package sqlite is the embedded storage backend of the latch server: one
// SQLite database file, reached through the pure-Go driver
// modernc.org/sqlite so that the binary builds without cgo. Use it when one
// server node owns the data; several nodes share internal/store/postgres.
//
// Open creates the file with mode 0600 (it holds password hashes and
// sealed signing keys) and brings its schema up to date. The database runs
// in WAL mode, so readers see consistent snapshots and never block the
// writer. Every write is a BEGIN IMMEDIATE transaction on a single writer
// connection: concurrent writers of one process queue for that connection
// instead of failing with SQLITE_BUSY, each Update function runs with the
// write lock held, and revocations receive their Seq in commit order, which
// is what the revocation feed needs. A lock that another process holds
// past Options.BusyTimeout fails the call with store.ErrBusy.
//
// Session updates (refresh rotations) are group-committed: one goroutine
// runs those waiting at the same time one after the other in one shared
// transaction, each with its own outcome, so that concurrent refreshes do
// not queue one commit (and, with FullSync, one sync) each.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/groupcommit"
)

// DefaultBusyTimeout is the BusyTimeout of the zero Options.
const DefaultBusyTimeout = 5 * time.Second

// pingInterval is how long Ping answers from its last check.
const pingInterval = time.Second

// Options configure Open. The zero value is ready to use.
type Options struct {
	// Options are the settings every backend takes; see store.Options.
	store.Options

	// FullSync makes every commit wait until the write-ahead log is
	// synced to disk (PRAGMA synchronous=FULL), so that a committed
	// change survives a power loss or an operating-system crash too.
	//
	// The default, synchronous=NORMAL, syncs only at checkpoints. In WAL
	// mode that keeps the database consistent in every case and keeps
	// every committed change when the latch process itself crashes or is
	// killed, because the log is written before the commit returns; only
	// the last commits before a power loss can be lost. That is the
	// common trade-off for WAL databases; set FullSync where losing a
	// recent logout or revocation on power loss is not acceptable. Session
	// updates that commit together (see the package documentation) share
	// one sync.
	FullSync bool

	// BusyTimeout is how long a statement waits for a lock that another
	// process holds on the database (a backup tool, a second latch by
	// mistake) before it fails with store.ErrBusy. Zero means
	// DefaultBusyTimeout; negative is an error. The writers of this
	// process never wait for one another here: they queue for the one
	// writer connection, for as long as their context allows.
	BusyTimeout time.Duration
}

// DB is a latch store in one SQLite database file. It implements
// store.Store and is safe for concurrent use.
type DB struct {
	w   *sql.DB // the one writer connection: every write transaction
	r   *sql.DB // reader connections: single-statement reads
	ttl time.Duration
	// notify is Options.Notify, or nil.
	notify func()

	// Statements of the refresh path, prepared once: parsing SQL was a
	// fifth of a refresh's CPU. database/sql prepares them again on each
	// pooled connection as needed.
	stmtMu sync.Mutex
	stmts  map[stmtKey]*sql.Stmt

	// ping holds the last Ping check, its result and when it was made;
	// a Ping takes it from the channel, so that one check runs at a time.
	ping chan pingResult

	// groups hands session updates to the committer (see group.go).
	groups *groupcommit.Queue[*groupOp]
}

// pingResult is a Ping check: its error and when it was made.
type pingResult struct {
	err error
	at  time.Time
}

type stmtKey struct {
	writer bool
	query  string
}

// prepared returns query prepared on the writer (for use inside write
// transactions with tx.StmtContext) or on the reader pool.
func (db *DB) prepared(ctx context.Context, writer bool, query string) (*sql.Stmt, error) {
	k := stmtKey{writer, query}
	db.stmtMu.Lock()
	defer db.stmtMu.Unlock()
	if st := db.stmts[k]; st != nil {
		return st, nil
	}
	pool := db.r
	if writer {
		pool = db.w
	}
	st, err := pool.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if db.stmts == nil {
		db.stmts = make(map[stmtKey]*sql.Stmt)
	}
	db.stmts[k] = st
	return st, nil
}

// txStmt is query prepared for use in tx, a write transaction. The
// writer's statements are prepared when the DB opens: preparing one here
// would wait for the writer connection, which tx holds. A query that was
// not prepared then is prepared on tx's own connection.
func (db *DB) txStmt(ctx context.Context, tx *sql.Tx, query string) (*sql.Stmt, error) {
	db.stmtMu.Lock()
	st := db.stmts[stmtKey{true, query}]
	db.stmtMu.Unlock()
	if st == nil {
		return tx.PrepareContext(ctx, query)
	}
	return tx.StmtContext(ctx, st), nil
}

// writerStatements are prepared on the writer connection at Open.
var writerStatements = []string{selectSessionUserByID, updateSession, selectUserByID}

var _ store.Store = (*DB)(nil)

// Open opens the database file at path, creating it with mode 0600 if it
// does not exist, and migrates its schema to the newest version. A
// database migrated by a newer latch is refused with ErrNewerSchema.
// Close the DB when done.
func Open(ctx context.Context, path string, opts Options) (*DB, error) {
	ttl := opts.RevocationTTL
	switch {
	case ttl < 0:
		return nil, errors.New("sqlite: open: negative revocation TTL")
	case ttl == 0:
		ttl = store.DefaultRevocationTTL
	}
	busy := opts.BusyTimeout
	switch {
	case busy < 0:
		return nil, errors.New("sqlite: open: negative busy timeout")
	case busy == 0:
		busy = DefaultBusyTimeout
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	// SQLite would create the file with mode 0644 less the umask; create
	// it first so that it is private. SQLite gives the -wal and -shm
	// files the mode of the database file.
	f, err := os.OpenFile(abs, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}

	synchronous := "NORMAL"
	if opts.FullSync {
		synchronous = "FULL"
	}
	w, err := sql.Open("sqlite", dsn(abs, url.Values{
		"_busy_timeout": {fmt.Sprint(busy.Milliseconds())},
		"_foreign_keys": {"on"},
		"_journal_mode": {"WAL"},
		"_synchronous":  {synchronous},
		"_txlock":       {"immediate"}, // BeginTx runs BEGIN IMMEDIATE
	}))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	// One writer connection: writers of this process wait for it in
	// database/sql (honouring their context) rather than in SQLite's busy
	// handler, and never see SQLITE_BUSY from one another.
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	readers := max(4, runtime.NumCPU())
	r, err := sql.Open("sqlite", dsn(abs, url.Values{
		"_busy_timeout": {fmt.Sprint(busy.Milliseconds())},
		"_foreign_keys": {"on"},
		"_query_only":   {"on"},
	}))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)

	db := &DB{w: w, r: r, ttl: ttl, notify: opts.Notify, ping: make(chan pingResult, 1)}
	db.ping <- pingResult{}
	db.groups = groupcommit.New(maxGroup, db.commitGroup)
	err = db.init(ctx)
	for _, q := range writerStatements {
		if err != nil {
			break
		}
		_, err = db.prepared(ctx, true, q)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	return db, nil
}

// dsn is the driver's data source name for the file at the absolute path
// abs with the query parameters q, as a file: URI so that no character of
// the path is taken for a parameter.
func dsn(abs string, q url.Values) string {
	p := filepath.ToSlash(abs)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows drive letter
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}
	return u.String()
}

// init migrates the schema (which opens the writer connection and so
// switches the file to WAL) and checks that WAL mode took effect: it does
// not on file systems without shared memory, and the concurrency of this
// package depends on it.
func (db *DB) init(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	if err := db.migrate(ctx, ms); err != nil {
		return err
	}
	var mode string
	if err := db.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return err
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %q, not wal", mode)
	}
	return nil
}

// Ping checks that the database can be read and that a write commits: it
// reads the heartbeat row and rewrites it in a write transaction. A write
// in WAL mode appends to the log file when it commits, so the commit
// fails, and so Ping, while the disk is full or the file cannot be
// written; while another process holds the write lock past the busy
// timeout, Ping fails with store.ErrBusy. A check stands for a second:
// until then Ping returns its result again without touching the database,
// so that readiness probes add at most one small write a second.
func (db *DB) Ping(ctx context.Context) error {
	var last pingResult
	select {
	case last = <-db.ping:
	case <-ctx.Done():
		return fmt.Errorf("sqlite: ping: %w", ctx.Err())
	}
	if !last.at.IsZero() && time.Since(last.at) < pingInterval {
		db.ping <- last
		return last.err
	}
	err := db.checkWrite(ctx)
	if ctx.Err() != nil {
		// The caller gave up: that says nothing of the database.
		db.ping <- last
		return err
	}
	db.ping <- pingResult{err: err, at: time.Now()}
	return err
}

// checkWrite reads and rewrites the heartbeat row.
func (db *DB) checkWrite(ctx context.Context) error {
	var n int64
	if err := db.r.QueryRowContext(ctx, `SELECT beats FROM heartbeat WHERE id = 1`).Scan(&n); err != nil {
		return fmt.Errorf("sqlite: ping: reading: %w", storeError(err))
	}
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE heartbeat SET beats = beats + 1, at = ? WHERE id = 1`, time.Now().UnixMilli())
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: ping: writing: %w", storeError(err))
	}
	return nil
}

// Close closes the database. Operations after Close return an error.
func (db *DB) Close() error {
	// Forget the last Ping check, so that a Ping after Close checks, and
	// fails.
	<-db.ping
	db.ping <- pingResult{}
	db.groups.Close()
	db.stmtMu.Lock()
	var errs []error
	for _, st := range db.stmts {
		errs = append(errs, st.Close())
	}
	db.stmts = nil
	db.stmtMu.Unlock()
	if err := errors.Join(append(errs, db.r.Close(), db.w.Close())...); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}

// write runs f in a write transaction (BEGIN IMMEDIATE on the writer
// connection) and commits it if f succeeds. It rolls back if f fails or
// panics.
func (db *DB) write(ctx context.Context, f func(*sql.Tx) error) error {
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // after Commit, a no-op
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// committed tells Options.Notify of a write transaction that has
// committed, if it recorded a revocation. It is called once Commit has
// returned, so the writer connection is back in its pool and a slow
// Notify holds up no other writer.
func (db *DB) committed(recorded bool) {
	if recorded && db.notify != nil {
		db.notify()
	}
}

// update is the read-modify-write of one record behind every Update
// method: in one write transaction, load reads the current record, fn
// changes it, and save writes the result and returns it as stored. An
// error from fn is returned as is; others are wrapped for op, with
// sql.ErrNoRows from load becoming store.ErrNotFound.
func update[T any](ctx context.Context, db *DB, op string, fn func(T) (T, error),
	load func(*sql.Tx) (T, error), save func(tx *sql.Tx, old, v T) (T, error),
) (T, error) {
	var zero, out T
	var fnErr error
	err := db.write(ctx, func(tx *sql.Tx) error {
		old, err := load(tx)
		if err != nil {
			return err
		}
		v, err := fn(old)
		if err != nil {
			fnErr = err
			return err
		}
		out, err = save(tx, old, v)
		return err
	})
	switch {
	case fnErr != nil:
		return zero, fnErr
	case err != nil:
		return zero, fmt.Errorf("sqlite: %s: %w", op, storeError(err))
	}
	return out, nil
}

// storeError translates the errors the contract names: no rows is
// store.ErrNotFound, a unique or primary-key violation store.ErrConflict,
// a foreign-key violation (a session of an unknown user)
// store.ErrNotFound, and a lock that another connection held past the busy
// timeout (SQLITE_BUSY, SQLITE_LOCKED and their extended codes)
// store.ErrBusy. Others are returned unchanged. Every error the store
// methods return goes through it.
func storeError(err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	var e *sqlite.Error
	if errors.As(err, &e) {
		switch e.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%v: %w", err, store.ErrConflict)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%v: %w", err, store.ErrNotFound)
		}
		switch e.Code() & 0xff { // the primary result code
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return fmt.Errorf("%w: %v", store.ErrBusy, err)
		}
	}
	return err
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// millis is t as stored: unix milliseconds, or NULL for the zero time.
func millis(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

// fromMillis is the time stored as n, in UTC.
func fromMillis(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMilli(n.Int64).UTC()
}

// stored is t as it reads back after being stored.
func stored(t time.Time) time.Time {
	return fromMillis(millis(t))
}

// blob is b for a NOT NULL BLOB column: nil would bind as NULL.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// nullBlob is b for a nullable BLOB column: NULL if empty.
func nullBlob(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}
