package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/latch-auth/latch/internal/keyring"
	"github.com/latch-auth/latch/internal/store"
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

// addStoreFlags defines --data and --full-sync alone, for administration
// commands that neither sign nor revoke (user add, list, enable): the
// server's key and token settings keep their defaults, which opening the
// key ring only reads.
func addStoreFlags(fs *flag.FlagSet, d *dataFlags) {
	d.alg, d.tokenTTL, d.rotation, d.jwksMaxAge = string(defaultAlg), defaultAccessTTL, defaultRotation, defaultJWKSMaxAge
	fs.StringVar(&d.dir, "data", defaultData, "data `DIR`: database and master key (env LATCH_DATA)")
	fs.BoolVar(&d.fullSync, "full-sync", false, "sync every commit to disk, surviving power loss too (env LATCH_FULL_SYNC)")
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

// app is an opened data directory.
type app struct {
	db *sqlite.DB
	// revocationTTL is how long the revocations written through db stay
	// in the feed (store.Options.RevocationTTL).
	revocationTTL time.Duration
	ring          *keyring.Ring
	master        []byte
	masterNew     bool
	dbCreated     bool
	masterPath    string
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

// openApp opens the data directory, its database and its key ring. The
// server (d.server) creates what is missing; the other commands refuse a
// data directory that does not exist. The caller closes app.db. notify,
// when not nil, is store.Options.Notify.
func openApp(e *env, d dataFlags, notify func()) (*app, error) {
	alg, err := jose.ParseAlgorithm(d.alg)
	if err != nil {
		return nil, err
	}
	if d.tokenTTL <= 0 {
		return nil, errors.New("--access-ttl must be positive")
	}
	if d.server {
		if err := os.MkdirAll(d.dir, 0o700); err != nil {
			return nil, fmt.Errorf("creating data directory: %w", err)
		}
	} else if err := requireDataDir(d.dir); err != nil {
		return nil, err
	}
	dbPath := filepath.Join(d.dir, databaseFile)
	_, statErr := os.Stat(dbPath)
	a := &app{dbCreated: errors.Is(statErr, os.ErrNotExist), masterPath: filepath.Join(d.dir, keyring.MasterKeyFile)}
	a.master, a.masterNew, err = keyring.LoadMasterKey(d.dir, e.env("LATCH_MASTER_KEY"))
	if err != nil {
		return nil, err
	}
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
	a.db, err = sqlite.Open(ctx, dbPath, sqlite.Options{
		Options:  store.Options{RevocationTTL: a.revocationTTL, Notify: notify},
		FullSync: d.fullSync,
	})
	if err != nil {
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
		return nil, err
	}
	return a, nil
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
