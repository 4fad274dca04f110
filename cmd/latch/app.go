package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/latch-auth/latch/internal/keyring"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/postgres"
	"github.com/latch-auth/latch/internal/store/sqlite"
	"github.com/latch-auth/latch/jose"
)

// context returns the command's context: cancelled on SIGINT or SIGTERM.
func (e *env) context() context.Context {
	if e.ctx == nil {
		return context.Background()
	}
	return e.ctx
}

// env returns the environment variable name, or "".
func (e *env) env(name string) string {
	if e.getenv == nil {
		return ""
	}
	return e.getenv(name)
}

// dataFlags are the flags of every command that works on a data
// directory: the server and its administration commands.
type dataFlags struct {
	dir        string
	database   string // --database: a PostgreSQL URL, or "" for SQLite in dir
	alg        string
	tokenTTL   time.Duration
	rotation   time.Duration
	jwksMaxAge time.Duration
	fullSync   bool
	server     bool // set by serve: the access-token lifetime is the server's own
}

// defaults, each overridable by a LATCH_* environment variable and then a
// flag.
const (
	defaultData       = "./latch-data"
	defaultAddr       = "127.0.0.1:8080"
	defaultAlg        = jose.ES256
	defaultAccessTTL  = 10 * time.Minute
	defaultRotation   = 30 * 24 * time.Hour
	defaultJWKSMaxAge = 15 * time.Minute
)

// addDataFlags defines the store flags and the server's signing-key and
// access-token settings, for serve and the commands that create or retire
// keys (keys rotate, retire, revoke).
func addDataFlags(fs *flag.FlagSet, d *dataFlags) {
	addStoreFlags(fs, d)
	fs.StringVar(&d.alg, "alg", string(defaultAlg), "`ALG` of new signing keys: "+algorithmList()+" (env LATCH_ALG)")
	fs.DurationVar(&d.tokenTTL, "access-ttl", defaultAccessTTL, "access token lifetime `D` (env LATCH_ACCESS_TTL)")
	fs.DurationVar(&d.rotation, "key-rotation", defaultRotation, "signing key rotation period `D`, 0 to disable (env LATCH_KEY_ROTATION)")
	fs.DurationVar(&d.jwksMaxAge, "jwks-max-age", defaultJWKSMaxAge, "JWKS Cache-Control max-age `D`; new keys are published this long (plus 1m) before they sign (env LATCH_JWKS_MAX_AGE)")
}

// addStoreFlags defines --data, --database and --full-sync alone, for
// administration commands that neither sign nor revoke (user add, list,
// enable): the server's key and token settings keep their defaults, which
// opening the key ring only reads.
func addStoreFlags(fs *flag.FlagSet, d *dataFlags) {
	d.alg, d.tokenTTL, d.rotation, d.jwksMaxAge = string(defaultAlg), defaultAccessTTL, defaultRotation, defaultJWKSMaxAge
	fs.StringVar(&d.dir, "data", defaultData, "data `DIR`: SQLite database and master key; with --database, the master key only (env LATCH_DATA)")
	fs.StringVar(&d.database, "database", "", "PostgreSQL `URL` (postgres://...) shared by several server nodes, instead of SQLite in the data directory (env LATCH_DATABASE_URL)")
	fs.BoolVar(&d.fullSync, "full-sync", false, "sync every SQLite commit to disk, surviving power loss too (env LATCH_FULL_SYNC)")
}

// addRevocationFlags defines the flags of administration commands that
// revoke tokens (user passwd, disable): the store flags and the
// server's access-token lifetime, which bounds how long their revocations
// must stay in the feed.
func addRevocationFlags(fs *flag.FlagSet, d *dataFlags) {
	addStoreFlags(fs, d)
	fs.DurationVar(&d.tokenTTL, "access-ttl", defaultAccessTTL, "the server's access token lifetime `D`: revocations stay in the feed this long plus 5m, and at least a day (env LATCH_ACCESS_TTL)")
}

// envInUsage finds the "(env LATCH_X)" a flag's usage names.
var envInUsage = regexp.MustCompile(`\(env (LATCH_[A-Z_]+)\)`)

// applyEnv sets every flag of fs that was not given on the command line
// from the LATCH_* variable its usage names, so the precedence is: flag,
// then environment, then default. A malformed value is a usage error.
func applyEnv(c *command, e *env, fs *flag.FlagSet) error {
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		m := envInUsage.FindStringSubmatch(f.Usage)
		if err != nil || given[f.Name] || m == nil {
			return
		}
		if v := e.env(m[1]); v != "" {
			if setErr := fs.Set(f.Name, v); setErr != nil {
				err = usagef(c, "%s=%q: %v", m[1], v, setErr)
			}
		}
	})
	return err
}

// app is an opened data directory, or PostgreSQL database and master key.
type app struct {
	db store.Store
	// revocationTTL is how long the revocations written through db stay
	// in the feed (store.Options.RevocationTTL).
	revocationTTL time.Duration
	ring          *keyring.Ring
	master        []byte
	masterNew     bool
	dbCreated     bool
	masterPath    string
	// postgres is set when db is a PostgreSQL database (--database).
	postgres bool
}

// withApp applies the LATCH_* variables to fs, opens the data directory
// d, runs f on it and closes it: the frame of every command that works on
// the server's data.
func withApp(c *command, e *env, fs *flag.FlagSet, d *dataFlags, f func(a *app) error) error {
	if err := applyEnv(c, e, fs); err != nil {
		return err
	}
	a, err := openApp(e, *d, nil)
	if err != nil {
		return err
	}
	defer a.db.Close()
	return f(a)
}

// databaseFile is the SQLite database in the data directory.
const databaseFile = "latch.db"

// revocationMargin is added to the access-token lifetime for how long a
// revocation stays in the feed: verifiers' clock-skew leeway, with room.
const revocationMargin = 5 * time.Minute

// openApp opens the database and the key ring: SQLite in the data
// directory, or the PostgreSQL database of d.database, with the master key
// from LATCH_MASTER_KEY or the data directory. The server (d.server)
// creates what is missing; the other commands refuse a data directory that
// does not exist rather than create one, and, on PostgreSQL, a missing
// master key. The caller closes app.db. notify, when not nil, is
// store.Options.Notify.
func openApp(e *env, d dataFlags, notify func()) (*app, error) {
	alg, err := jose.ParseAlgorithm(d.alg)
	if err != nil {
		return nil, err
	}
	if d.tokenTTL <= 0 {
		return nil, errors.New("--access-ttl must be positive")
	}
	pg, err := isPostgresURL(d.database)
	if err != nil {
		return nil, err
	}
	envKey := e.env("LATCH_MASTER_KEY")
	// On PostgreSQL the data directory holds the master key alone, so
	// with LATCH_MASTER_KEY there is no need for one.
	if !pg || envKey == "" {
		if d.server {
			if err := os.MkdirAll(d.dir, 0o700); err != nil {
				return nil, fmt.Errorf("creating data directory: %w", err)
			}
		} else if err := requireDataDir(d.dir); err != nil {
			if pg {
				return nil, fmt.Errorf("%w (with --database it holds the master key alone, which LATCH_MASTER_KEY can give instead)", err)
			}
			return nil, err
		}
	}
	a := &app{postgres: pg, masterPath: filepath.Join(d.dir, keyring.MasterKeyFile)}
	ctx := e.context()
	// A revocation must outlive every access token it can cover, and no
	// more, so that the feed and the verifiers' deny lists stay small:
	// the server knows its access-token lifetime. An administration
	// command (latch revoke, user passwd, ...) may run without the
	// server's --access-ttl, so its few records are kept at least a day.
	a.revocationTTL = d.tokenTTL + revocationMargin
	if !d.server {
		a.revocationTTL = max(store.DefaultRevocationTTL, a.revocationTTL)
	}
	opts := store.Options{RevocationTTL: a.revocationTTL, Notify: notify}
	if pg {
		if a.db, err = openPostgres(ctx, d.database, opts); err != nil {
			return nil, err
		}
		a.master, a.masterNew, err = clusterMasterKey(ctx, a.db, d, envKey)
	} else {
		dbPath := filepath.Join(d.dir, databaseFile)
		_, statErr := os.Stat(dbPath)
		a.dbCreated = errors.Is(statErr, os.ErrNotExist)
		a.master, a.masterNew, err = keyring.LoadMasterKey(d.dir, envKey)
		if err != nil {
			return nil, err
		}
		a.db, err = sqlite.Open(ctx, dbPath, sqlite.Options{Options: opts, FullSync: d.fullSync})
		if err != nil {
			return nil, err
		}
	}
	if err != nil {
		a.db.Close()
		return nil, err
	}
	rotation := d.rotation
	if rotation == 0 {
		rotation = -1 // keyring: negative disables automatic rotation
	}
	a.ring, err = keyring.New(ctx, a.db, a.master, keyring.Config{
		Algorithm:      alg,
		RotationPeriod: rotation,
		JWKSMaxAge:     d.jwksMaxAge,
		TokenTTL:       d.tokenTTL,
		Now:            e.now,
	})
	if err != nil {
		a.db.Close()
		if pg && errors.Is(err, keyring.ErrSealed) {
			return nil, fmt.Errorf("%w: every node of a PostgreSQL database must use the same master key (LATCH_MASTER_KEY, or master.key in the data directory)", err)
		}
		return nil, err
	}
	return a, nil
}

// isPostgresURL reports whether url names a PostgreSQL database, and
// refuses what is neither that nor empty (SQLite). The error does not
// repeat the URL, which may hold a password.
func isPostgresURL(url string) (bool, error) {
	switch {
	case url == "":
		return false, nil
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return true, nil
	}
	return false, errors.New("--database (LATCH_DATABASE_URL) must be a postgres:// or postgresql:// URL; leave it empty for SQLite in the data directory")
}

// openPostgres opens the PostgreSQL database at url, refusing a schema
// that is not this program's with a message that says what to do.
func openPostgres(ctx context.Context, url string, opts store.Options) (*postgres.DB, error) {
	db, err := postgres.Open(ctx, url, postgres.Options{Options: opts})
	switch {
	case errors.Is(err, postgres.ErrUnmigrated):
		return nil, fmt.Errorf("%w: run \"latch migrate\" with the same --database (or LATCH_DATABASE_URL) to create or upgrade it", err)
	case errors.Is(err, postgres.ErrNewerSchema):
		return nil, fmt.Errorf("%w: a newer latch migrated it; run that version on this node", err)
	case err != nil:
		return nil, err
	}
	return db, nil
}

// clusterMasterKey returns the master key of the nodes sharing the
// PostgreSQL database db: LATCH_MASTER_KEY (envKey), or master.key in the
// data directory. Only the server creates one, and only while the
// database has no signing key yet, the first start of the first node:
// another node that made a key of its own could not decrypt the signing
// keys of the others. Every node must be given that same key.
func clusterMasterKey(ctx context.Context, db store.Keys, d dataFlags, envKey string) (key []byte, created bool, err error) {
	path := filepath.Join(d.dir, keyring.MasterKeyFile)
	if envKey == "" {
		switch _, err := os.Stat(path); {
		case errors.Is(err, os.ErrNotExist) && !d.server:
			return nil, false, fmt.Errorf("no master key: set LATCH_MASTER_KEY, or put the server nodes' %s in %s (--data)", keyring.MasterKeyFile, d.dir)
		case errors.Is(err, os.ErrNotExist):
			keys, err := db.ListKeys(ctx)
			if err != nil {
				return nil, false, err
			}
			if len(keys) > 0 {
				return nil, false, fmt.Errorf("the database has signing keys but this node has no master key: give every node the same one, as LATCH_MASTER_KEY or as %s in its data directory (%s)", keyring.MasterKeyFile, d.dir)
			}
		}
	}
	return keyring.LoadMasterKey(d.dir, envKey)
}

// requireDataDir checks that dir is an existing directory. Only the server
// creates one: an administration command run from the wrong working
// directory must not make a new, empty data directory (a new database and
// master key) that the server never reads.
func requireDataDir(dir string) error {
	where := dir
	if abs, err := filepath.Abs(dir); err == nil && abs != filepath.Clean(dir) {
		where = fmt.Sprintf("%s (%s)", dir, abs)
	}
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("data directory %s does not exist: point --data (or LATCH_DATA) at the server's; latch serve creates it on first start", where)
	case err != nil:
		return fmt.Errorf("data directory: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("data directory %s is not a directory", where)
	}
	return nil
}

// redactURL is a database URL for logs: its scheme, user, host and path,
// without the password and the parameters, which may hold one.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	if u.User != nil {
		r.User = url.User(u.User.Username())
	}
	return r.String()
}
