// Package postgres is the storage backend of the latch server for several
// server nodes that share one PostgreSQL database. It reaches the database
// through github.com/jackc/pgx/v5 with a bounded connection pool (pgxpool).
// One node alone is served as well by internal/store/sqlite, the default.
// It needs PostgreSQL 11 or later (it is tested with 15).
//
// # Schema
//
// The tables live in the first existing schema of the connections'
// search_path; name one in the connection string, as in
// "postgres://latch@db.example/latch?search_path=latch", to keep latch apart
// from other applications of the database. The schema's versions are the
// embedded migrations. Migrate applies those the database lacks, all in one
// transaction under a transaction-scoped advisory lock, so that nodes
// starting together migrate once. Open refuses a database whose schema is
// older (ErrUnmigrated) or newer (ErrNewerSchema) than this program, unless
// Options.Migrate asks it to migrate.
//
// # Concurrency
//
// Every read-modify-write (the Update methods, RevokeUser, RedeemAuthCode,
// BindAuthCode) runs in a READ COMMITTED transaction that first locks the
// record with SELECT ... FOR NO KEY UPDATE, so that concurrent changes of
// one record, from any node, run one after the other, each seeing the
// result of the one before. A throttle, which may not exist yet, is locked
// instead with a transaction-scoped advisory lock on its key, and a
// consent is merged in one INSERT ... ON CONFLICT statement. The signing
// keys are locked as a set: every key write first takes a
// transaction-scoped advisory lock on the key set, so that the function
// of UpdateKeys decides on keys that no node changes until it commits:
// of several nodes due to rotate a key, one does. A revocation's Seq is
// taken from a counter row whose lock the recording transaction holds
// until it commits, so that Seq order is commit order across nodes,
// as the revocation feed needs. A transaction that PostgreSQL aborts as a
// deadlock or a serialization failure is run again, up to three times in
// all: update functions may be called more than once. Concurrent
// UpdateSession calls of one DB share transactions (group commit, see
// group.go), which lock their sessions in one statement in the order of
// their IDs, so that the groups of several nodes do not deadlock.
//
// # Errors
//
// A lock held past Options.LockTimeout (by another node's long
// transaction, a migration, an operator's LOCK TABLE), a deadlock that
// persists, a database that is shutting down, starting up or out of
// connections, fail the call with store.ErrBusy. So does a database that
// cannot be reached, or a connection that breaks, with ErrUnavailable,
// which wraps store.ErrBusy. The server answers both with 503 and
// Retry-After; the pool opens new connections by itself once the database
// is back.
//
// # Revocations across nodes
//
// A transaction that records a revocation also sends NOTIFY
// latch_revocations, which PostgreSQL delivers only if it commits. Each DB
// listens on that channel with a dedicated connection outside the pool and
// calls Options.Notify when another DB (another node) has committed a
// revocation to the same schema, so that the feed subscribers of every node
// hear of it at once rather than at their next poll. Its own revocations a
// DB reports right after their commit, as the SQLite backend does. When the
// listening connection breaks, the DB connects again, first after 100 ms
// and then doubling the delay up to 5 s, and once listening again calls
// Options.Notify, since notifications sent meanwhile were lost. A
// connection that dies without a word (a network partition) is noticed
// only by TCP keepalives; the feed's polling covers that gap.
package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/groupcommit"
)

// DefaultMaxConns is the pool size of the zero Options when the connection
// string sets none.
const DefaultMaxConns = 10

// DefaultLockTimeout is the LockTimeout of the zero Options when the
// connection string sets no lock_timeout.
const DefaultLockTimeout = 5 * time.Second

// defaultConnectTimeout bounds a connection attempt when the connection
// string sets no connect_timeout, so that a database that does not answer
// fails calls instead of holding them for as long as their context allows.
const defaultConnectTimeout = 5 * time.Second

// pingInterval is how long Ping answers from its last check.
const pingInterval = time.Second

// attempts is how many times a transaction runs when PostgreSQL aborts it
// as a deadlock or a serialization failure.
const attempts = 3

// ErrUnavailable reports that the database could not be reached or that
// the connection to it broke. It wraps store.ErrBusy, so that the server
// answers 503 and the client tries again later. Unlike other busy errors,
// it may also report a write whose connection broke during its COMMIT:
// that write may have been committed.
var ErrUnavailable = fmt.Errorf("postgres: database unavailable: %w", store.ErrBusy)

// Options configure Open. The zero value is ready to use.
type Options struct {
	// Options are the settings every backend takes; see store.Options.
	store.Options

	// MaxConns bounds the connection pool. PostgreSQL serves a limited
	// number of connections (max_connections, 100 by default) to all the
	// nodes together, each one a server process, so that the pools of all
	// nodes must fit in it. Calls wait for a free connection for as long
	// as their context allows. Zero means the connection string's
	// pool_max_conns if it has one, else DefaultMaxConns; negative is an
	// error. The listening connection comes on top.
	MaxConns int

	// LockTimeout is how long a statement waits for a lock that another
	// transaction holds (PostgreSQL's lock_timeout) before the call fails
	// with store.ErrBusy. Zero means the connection string's lock_timeout
	// if it sets one, else DefaultLockTimeout; negative is an error.
	LockTimeout time.Duration

	// Migrate makes Open bring the schema up to date (see Migrate) instead
	// of refusing one that is older than this program.
	Migrate bool
}

// DB is a latch store in a PostgreSQL database. It implements store.Store
// and is safe for concurrent use, by any number of DBs on any number of
// nodes.
type DB struct {
	pool *pgxpool.Pool
	ttl  time.Duration
	// notify is Options.Notify, or nil.
	notify func()
	// schema is where the tables are: the current_schema() of the pool's
	// connections. Notifications name it, with id, this DB's own.
	schema string
	id     string

	// ping holds the last Ping check, its result and when it was made;
	// a Ping takes it from the channel, so that one check runs at a time.
	ping chan pingResult

	listener *listener

	// groups hands session updates to the committer (see group.go);
	// updates counts the UpdateSession calls under way.
	groups  *groupcommit.Queue[*groupOp]
	updates atomic.Int64
}

// pingResult is a Ping check: its error and when it was made.
type pingResult struct {
	err error
	at  time.Time
}

var _ store.Store = (*DB)(nil)

// Open connects to the database named by the connection string dsn (a
// postgres:// URL or keyword/value string, as libpq takes) and checks that
// its schema is the one this program knows: one that is older, or has no
// latch tables yet, is ErrUnmigrated unless opts.Migrate is set, one that
// is newer ErrNewerSchema. A database that cannot be reached is
// ErrUnavailable. A connection string without connect_timeout gets one of
// 5 seconds, and one without application_name "latch". Close the DB when
// done.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	ttl := opts.RevocationTTL
	if ttl == 0 {
		ttl = store.DefaultRevocationTTL
	}
	switch {
	case ttl < 0:
		return nil, errors.New("postgres: open: negative revocation TTL")
	case opts.MaxConns < 0:
		return nil, errors.New("postgres: open: negative pool size")
	case opts.MaxConns > 1<<20:
		return nil, errors.New("postgres: open: pool size too large")
	case opts.LockTimeout < 0:
		return nil, errors.New("postgres: open: negative lock timeout")
	}
	cfg, err := poolConfig(dsn, opts)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", storeError(ctx, err))
	}
	id := make([]byte, 8)
	rand.Read(id)
	db := &DB{pool: pool, ttl: ttl, notify: opts.Notify, id: hex.EncodeToString(id), ping: make(chan pingResult, 1)}
	db.ping <- pingResult{}
	if err := db.init(ctx, opts.Migrate); err != nil {
		pool.Close()
		return nil, err
	}
	db.groups = groupcommit.New(maxGroup, db.commitGroup)
	return db, nil
}

// poolConfig is the pool configuration for dsn and opts.
func poolConfig(dsn string, opts Options) (*pgxpool.Config, error) {
	// Parsed once to see what the connection string sets: pgxpool drops
	// pool_max_conns from the parameters it keeps.
	given, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, parseError(err)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, parseError(err)
	}
	_, sized := given.RuntimeParams["pool_max_conns"]
	switch {
	case opts.MaxConns > 0:
		cfg.MaxConns = int32(opts.MaxConns)
	case !sized:
		cfg.MaxConns = DefaultMaxConns
	}
	params := cfg.ConnConfig.RuntimeParams
	if _, ok := params["lock_timeout"]; opts.LockTimeout > 0 || !ok {
		timeout := opts.LockTimeout
		if timeout == 0 {
			timeout = DefaultLockTimeout
		}
		// In milliseconds, at least one: zero would wait for ever.
		params["lock_timeout"] = strconv.FormatInt(max(1, timeout.Milliseconds()), 10)
	}
	if _, ok := params["application_name"]; !ok {
		params["application_name"] = "latch"
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	return cfg, nil
}

// parseError is the error for a connection string that pgx cannot parse,
// without the string itself: it may hold a password.
func parseError(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) && pe.Unwrap() != nil {
		return fmt.Errorf("postgres: open: invalid connection string: %w", pe.Unwrap())
	}
	return errors.New("postgres: open: invalid connection string")
}

// init migrates the schema or checks its version, finds the schema the
// tables are in, and starts listening for other nodes' revocations.
func (db *DB) init(ctx context.Context, migrate bool) error {
	ms, err := migrations(migrationFiles)
	if err != nil {
		return fmt.Errorf("postgres: open: %w", err)
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("postgres: open: %w", storeError(ctx, err))
	}
	defer conn.Release()
	if migrate {
		if _, _, err := applyMigrations(ctx, conn.Conn(), ms); err != nil {
			return fmt.Errorf("postgres: open: %w", err)
		}
	} else if err := checkVersion(ctx, conn.Conn(), len(ms)); err != nil {
		return fmt.Errorf("postgres: open: %w", err)
	}
	if db.schema, err = currentSchema(ctx, conn.Conn()); err != nil {
		return fmt.Errorf("postgres: open: %w", err)
	}
	if db.listener, err = db.listen(ctx); err != nil {
		return fmt.Errorf("postgres: open: listening for revocations: %w", storeError(ctx, err))
	}
	return nil
}

// Ping checks that the database can be read and that a write commits: it
// increments the heartbeat row in a transaction of its own. A check stands
// for a second: until then Ping returns its result again without touching
// the database, so that readiness probes add at most one small write a
// second per node. While another transaction holds the heartbeat past the
// lock timeout, Ping fails with store.ErrBusy; while the database cannot
// be reached, with ErrUnavailable.
func (db *DB) Ping(ctx context.Context) error {
	var last pingResult
	select {
	case last = <-db.ping:
	case <-ctx.Done():
		return fmt.Errorf("postgres: ping: %w", ctx.Err())
	}
	if !last.at.IsZero() && time.Since(last.at) < pingInterval {
		db.ping <- last
		return last.err
	}
	err := db.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE heartbeat SET beats = beats + 1, at = now() WHERE id = 1`)
		return err
	})
	if err != nil {
		err = fmt.Errorf("postgres: ping: %w", storeError(ctx, err))
	}
	if ctx.Err() != nil {
		// The caller gave up: that says nothing of the database.
		db.ping <- last
		return err
	}
	db.ping <- pingResult{err: err, at: time.Now()}
	return err
}

// Close stops listening and closes the pool, waiting for the connections
// in use to be released, and for the session updates being committed.
// Operations after Close, and session updates still waiting for a group,
// return an error.
func (db *DB) Close() error {
	db.groups.Close()
	// Forget the last Ping check, so that a Ping after Close checks, and
	// fails.
	<-db.ping
	db.ping <- pingResult{}
	db.listener.stop()
	db.pool.Close()
	return nil
}

// write runs f in a transaction and commits it if f succeeds; it rolls
// back if f fails or panics. A transaction aborted as a deadlock or a
// serialization failure is run again, up to attempts times in all.
func (db *DB) write(ctx context.Context, f func(pgx.Tx) error) error {
	var err error
	for range attempts {
		if err = db.try(ctx, f); !retryable(err) || ctx.Err() != nil {
			break
		}
	}
	return err
}

// try is one run of write's transaction, READ COMMITTED whatever the
// server's default: each statement sees what committed before it, and a
// locked row what committed before the lock was granted.
func (db *DB) try(ctx context.Context, f func(pgx.Tx) error) error {
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) // after Commit, a no-op
	if err := f(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

// committed tells Options.Notify of a transaction that has committed, if
// it recorded a revocation. It is called once Commit has returned, so the
// connection is back in the pool and a slow Notify holds up no writer.
func (db *DB) committed(recorded bool) {
	if recorded && db.notify != nil {
		db.notify()
	}
}

// errFunc carries an error of an update function through write, so that
// update returns it as is and write does not take it for PostgreSQL's.
type errFunc struct{ err error }

func (e errFunc) Error() string { return e.err.Error() }

// update is the read-modify-write of one record behind every Update
// method: in one transaction, load reads and locks the current record, fn
// changes it, and save writes the result and returns it as stored. An
// error from fn is returned as is; others are wrapped for op, with
// pgx.ErrNoRows from load becoming store.ErrNotFound.
func update[T any](ctx context.Context, db *DB, op string, fn func(T) (T, error),
	load func(pgx.Tx) (T, error), save func(tx pgx.Tx, old, v T) (T, error),
) (T, error) {
	var zero, out T
	err := db.write(ctx, func(tx pgx.Tx) error {
		old, err := load(tx)
		if err != nil {
			return err
		}
		v, err := fn(old)
		if err != nil {
			return errFunc{err}
		}
		out, err = save(tx, old, v)
		return err
	})
	var fe errFunc
	switch {
	case errors.As(err, &fe):
		return zero, fe.err
	case err != nil:
		return zero, fmt.Errorf("postgres: %s: %w", op, storeError(ctx, err))
	}
	return out, nil
}

// retryable reports whether err aborted a transaction that may succeed if
// run again: a deadlock or a serialization failure.
func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// storeError translates the errors the contract names: no rows is
// store.ErrNotFound; a unique violation store.ErrConflict; a foreign-key
// violation (a session of an unknown user) store.ErrNotFound; a lock not
// granted within the lock timeout, a deadlock or serialization failure, a
// statement timeout, a server shutting down or starting up, or out of
// connections, store.ErrBusy; and a database that cannot be reached or a
// broken connection ErrUnavailable. When ctx is done, the error is the
// caller's giving up and is returned unchanged, as are others. Every error
// the store methods return, but those of update functions, goes through
// it.
func storeError(ctx context.Context, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	if ctx.Err() != nil {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%v: %w", err, store.ErrConflict)
		case "23503": // foreign_key_violation
			return fmt.Errorf("%v: %w", err, store.ErrNotFound)
		case "55P03", // lock_not_available: lock_timeout
			"40001", // serialization_failure
			"40P01", // deadlock_detected
			"57014", // query_canceled: statement_timeout
			"53300", // too_many_connections
			"57P01", // admin_shutdown
			"57P02", // crash_shutdown
			"57P03": // cannot_connect_now: starting up, in recovery
			return fmt.Errorf("%w: %v", store.ErrBusy, err)
		}
		if strings.HasPrefix(pe.Code, "08") { // connection_exception
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		return err
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, pgconn.ErrConnClosed) {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return err
}

// ts is t as a query argument: NULL for the zero time.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// fromTS is the time stored as v, in UTC; NULL is the zero time.
func fromTS(v pgtype.Timestamptz) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return v.Time.UTC()
}

// stored is t as it reads back after being stored: to the microsecond, in
// UTC (pgx truncates).
func stored(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Truncate(time.Microsecond).UTC()
}

// blob is b for a NOT NULL bytea column: nil would bind as NULL.
func blob(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// nullBlob is b for a nullable bytea column: NULL if empty.
func nullBlob(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

// list is v for a NOT NULL text[] column: nil would bind as NULL.
func list(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}

// nilIfEmpty is v, or nil if it is empty.
func nilIfEmpty(v []string) []string {
	if len(v) == 0 {
		return nil
	}
	return v
}
