package main

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/latch-auth/latch/internal/feed"
	"github.com/latch-auth/latch/internal/gctune"
	"github.com/latch-auth/latch/internal/issuer"
	"github.com/latch-auth/latch/internal/keyring"
	"github.com/latch-auth/latch/internal/login"
	"github.com/latch-auth/latch/internal/oauth"
	"github.com/latch-auth/latch/internal/password"
	"github.com/latch-auth/latch/internal/server"
	"github.com/latch-auth/latch/internal/session"
	"github.com/latch-auth/latch/revocation"
)

func serveCommand() *command {
	return &command{name: "serve", args: "[flags]", setup: serve,
		summary: "run the auth server",
		detail: "serve runs the latch auth server: password login, refresh-token rotation,\n" +
			"logout and sessions, the JWKS and discovery documents, health and metrics.\n" +
			"With no flags it keeps its data in ./latch-data (SQLite database and master\n" +
			"key, created on first start with a first ES256 signing key) and listens on\n" +
			"127.0.0.1:8080. Every flag can also be set with the LATCH_* environment\n" +
			"variable named in its description; a flag wins over the variable.\n\n" +
			"The master key encrypts the signing keys at rest. It is read from\n" +
			"LATCH_MASTER_KEY (64 hex digits or base64 of 32 bytes) or from master.key in\n" +
			"the data directory, which is created on first start: back it up.\n\n" +
			"Several nodes share one PostgreSQL database with --database postgres://...\n" +
			"(LATCH_DATABASE_URL), after \"latch migrate\" created its schema. Every node\n" +
			"must have the same master key: the refresh-token secret and the CSRF key\n" +
			"derive from it. A node creates master.key only on an empty database.\n\n" +
			"With --tls-cert and --tls-key the server speaks HTTPS itself (TLS 1.2 or\n" +
			"later) and reads the files again when they change, so a renewed certificate\n" +
			"needs no restart; the default issuer is then https://<addr>.\n\n" +
			"SIGINT or SIGTERM stops the server gracefully: /readyz answers 503 at once,\n" +
			"so that load balancers stop sending requests, while requests are still\n" +
			"served for --drain-period, each response closing its connection; then\n" +
			"in-flight requests finish and the server exits. A second signal ends the\n" +
			"drain period early.",
	}
}

// serveFlags are the server's settings beyond the data directory.
type serveFlags struct {
	addr         string
	issuer       string
	audience     string
	allowSignup  bool
	sessionIdle  time.Duration
	sessionLife  time.Duration
	grace        time.Duration
	maxTokenSize int
	maxBody      int
	hashWorkers  int
	memoryLimit  byteSize // 0: GOMEMLIMIT when set, else none
	maxConns     int      // 0: no limit
	signupLimit  int
	trustProxy   bool // removed: an error when set
	proxies      proxyList
	tlsCert      string
	tlsKey       string
	drainPeriod  time.Duration
	logLevel     string
	dpopNonce    bool
}

// defaultDrainPeriod is --drain-period's default: long enough for a load
// balancer checking readiness every second or two to take the server out
// of rotation, short enough for an operator's Ctrl-C.
const defaultDrainPeriod = 5 * time.Second

func serve(c *command, fs *flag.FlagSet) func(*env, []string) error {
	var d dataFlags
	var s serveFlags
	addDataFlags(fs, &d)
	fs.StringVar(&s.addr, "addr", defaultAddr, "listen address `HOST:PORT` (env LATCH_ADDR)")
	fs.StringVar(&s.issuer, "issuer", "", "issuer `URL` in tokens and discovery (default http://<addr>) (env LATCH_ISSUER)")
	fs.StringVar(&s.audience, "audience", "", "token audience `AUD`, comma-separated for several; the first is what the server's own endpoints accept (default: the issuer URL) (env LATCH_AUDIENCE)")
	fs.BoolVar(&s.allowSignup, "allow-signup", false, "enable public sign-up at POST /v1/signup (env LATCH_ALLOW_SIGNUP)")
	fs.IntVar(&s.signupLimit, "signup-limit", login.DefaultSignupLimit, "sign-ups one client address may make per hour `N` before it is refused for an hour (env LATCH_SIGNUP_LIMIT)")
	fs.DurationVar(&s.sessionIdle, "session-idle", session.DefaultIdleTimeout, "end sessions not refreshed for `D` (env LATCH_SESSION_IDLE)")
	fs.DurationVar(&s.sessionLife, "session-lifetime", session.DefaultLifetime, "end sessions `D` after login (env LATCH_SESSION_LIFETIME)")
	fs.DurationVar(&s.grace, "refresh-grace", session.DefaultGrace, "window `D` in which a just-rotated refresh token returns the same successor (env LATCH_REFRESH_GRACE)")
	fs.IntVar(&s.maxTokenSize, "max-token-size", issuer.DefaultMaxTokenSize, "refuse to issue access and ID tokens over `N` bytes, and log a warning from 75% of it (env LATCH_MAX_TOKEN_SIZE)")
	fs.IntVar(&s.maxBody, "max-body", server.DefaultMaxBody, "request body limit `N` in bytes (env LATCH_MAX_BODY)")
	fs.IntVar(&s.hashWorkers, "hash-workers", 0, "concurrent password hashes `N`, bounding memory to N x 19 MiB (default: CPU count) (env LATCH_HASH_WORKERS)")
	fs.Var(&s.memoryLimit, "memory-limit", "soft memory limit `SIZE` of the Go runtime, e.g. 256MiB (units B, KiB, MiB, GiB, TiB), at least the hash workers' memory: the garbage collector runs sooner and returns memory to the system to stay under it, which bounds a login burst's memory but sheds more of its logins (default: GOMEMLIMIT, or none) (env LATCH_MEMORY_LIMIT)")
	fs.IntVar(&s.maxConns, "max-connections", 0, "serve at most `N` connections at once: at the limit a new one takes the place of the connection idle the longest, which is closed, or waits while none is idle; each open connection holds memory (default: no limit) (env LATCH_MAX_CONNECTIONS)")
	fs.BoolVar(&s.trustProxy, "trust-proxy", false, "removed, as it let any client choose its address: use --trusted-proxies (env LATCH_TRUST_PROXY)")
	fs.Var(&s.proxies, "trusted-proxies", "take client addresses from X-Forwarded-For when the peer is in one of the comma-separated networks `CIDRS` (the reverse proxies and load balancers in front of the server): the right-most address that is not a trusted proxy (env LATCH_TRUSTED_PROXIES)")
	fs.StringVar(&s.tlsCert, "tls-cert", "", "serve HTTPS with the PEM certificate chain in `FILE`, reloaded when it changes; needs --tls-key (env LATCH_TLS_CERT)")
	fs.StringVar(&s.tlsKey, "tls-key", "", "the PEM private key `FILE` of --tls-cert (env LATCH_TLS_KEY)")
	fs.DurationVar(&s.drainPeriod, "drain-period", defaultDrainPeriod, "on SIGTERM or SIGINT, answer /readyz 503 and keep serving for `D` before shutting down (env LATCH_DRAIN_PERIOD)")
	fs.StringVar(&s.logLevel, "log-level", "info", "log `LEVEL`: debug, info, warn, error (env LATCH_LOG_LEVEL)")
	fs.BoolVar(&s.dpopNonce, "dpop-nonce", false, "require a server-provided nonce in DPoP proofs (RFC 9449 §8), sent in DPoP-Nonce on every response of the token endpoints and of the server's own resources; every node derives the same nonces from the master key (env LATCH_DPOP_NONCE)")
	return func(e *env, args []string) error {
		if err := noArgs(c, args); err != nil {
			return err
		}
		if err := applyEnv(c, e, fs); err != nil {
			return err
		}
		if s.trustProxy {
			return usagef(c, "--trust-proxy (LATCH_TRUST_PROXY) is removed: it let any client that reaches the port choose its address; "+
				"list the networks of your proxies with --trusted-proxies (LATCH_TRUSTED_PROXIES), e.g. --trusted-proxies 10.0.0.0/8")
		}
		if (s.tlsCert == "") != (s.tlsKey == "") {
			return usagef(c, "--tls-cert and --tls-key go together")
		}
		if s.drainPeriod < 0 {
			return usagef(c, "--drain-period must not be negative")
		}
		if s.maxConns < 0 {
			return usagef(c, "--max-connections must not be negative")
		}
		if s.signupLimit < 1 {
			return usagef(c, "--signup-limit must be at least 1")
		}
		if s.memoryLimit != 0 {
			// The hasher's budget, for the check: building one hashes nothing.
			if h, err := password.New(password.Params{}, s.hashWorkers); err == nil && int64(s.memoryLimit) < h.MemoryBudget() {
				return usagef(c, "--memory-limit %v is below the %v the password hash workers use: raise it or lower --hash-workers",
					s.memoryLimit, byteSize(h.MemoryBudget()))
			}
		}
		return runServer(e, d, s, nil)
	}
}

// runServer starts the server and blocks until the context ends. ready,
// when not nil, receives the listening address once requests are served
// (for tests).
func runServer(e *env, d dataFlags, s serveFlags, ready chan<- string) error {
	log, err := newLogger(e.stderr, s.logLevel)
	if err != nil {
		return err
	}
	var certs *certFiles
	if s.tlsCert != "" {
		// Before anything is created: a bad pair changes nothing.
		if certs, err = loadCertFiles(s.tlsCert, s.tlsKey, log); err != nil {
			return err
		}
	}
	// Bind before anything is created: a port in use leaves no data
	// directory, master key or signing key behind.
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", s.addr, err)
	}
	// Closed here on every early return; once served, Shutdown has
	// closed it and this second Close does nothing.
	defer ln.Close()
	d.server = true
	// The store tells the feed of each revocation it commits; the hub is
	// built over the store, so the store looks it up when it calls.
	var hubRef atomic.Pointer[feed.Hub]
	a, err := openApp(e, d, func() {
		if h := hubRef.Load(); h != nil {
			h.Notify()
		}
	})
	if err != nil {
		return err
	}
	defer a.db.Close()
	ctx := e.context()
	if a.dbCreated {
		log.Info("created database", "path", d.dir+"/"+databaseFile)
	}
	if a.masterNew {
		if a.postgres {
			log.Warn("created master key: back it up, and give every other node this same key (LATCH_MASTER_KEY or this file): the signing keys cannot be decrypted without it", "path", a.masterPath)
		} else {
			log.Warn("created master key: back it up, the signing keys cannot be decrypted without it", "path", a.masterPath)
		}
	}
	created, err := a.ring.Ensure(ctx)
	if err != nil {
		return err
	}
	if created {
		key, _ := a.ring.Signer()
		idKey, _ := a.ring.IDTokenSigner()
		log.Info("signing keys ready", "kid", key.KeyID(), "alg", key.Algorithm(), "id_token_kid", idKey.KeyID(), "id_token_alg", idKey.Algorithm())
	}

	iss := s.issuer
	if iss == "" {
		scheme := "http://"
		if certs != nil {
			scheme = "https://"
		}
		iss = scheme + ln.Addr().String()
	}
	aud := s.audience
	if aud == "" {
		aud = iss
	}

	secret, err := keyring.RefreshSecret(a.master)
	if err != nil {
		ln.Close()
		return err
	}
	sessions, err := session.New(a.db, secret, session.Config{IdleTimeout: s.sessionIdle, Lifetime: s.sessionLife, Grace: s.grace})
	if err != nil {
		ln.Close()
		return err
	}
	hasher, err := password.New(password.Params{}, s.hashWorkers)
	if err != nil {
		ln.Close()
		return err
	}
	limit, source := applyMemoryLimit(e, s.memoryLimit)
	log.Info("memory limit", "limit", limit.String(), "source", source)
	if floor, ok := gcFloor(e, limit); ok {
		tuner := gctune.Start(uint64(floor))
		defer tuner.Stop()
		hasher.OnSaturated(tuner.SetBurst)
		log.Info("garbage collector", "heap_floor", floor.String())
	} else {
		log.Info("garbage collector", "GOGC", e.env("GOGC"))
	}
	iss2, err := issuer.New(a.ring, issuer.Config{
		Issuer: iss, Audience: strings.Split(aud, ","), AccessTTL: d.tokenTTL,
		MaxTokenSize: s.maxTokenSize, Logger: log, Clients: a.db,
	})
	if err != nil {
		ln.Close()
		return err
	}
	// The revocation feed: every revocation, from this process or from
	// an administration command on the same database, reaches the
	// server's own deny list and every subscribed service; a revoked
	// signing key stops signing here at once.
	hub, err := feed.New(a.db, feed.Config{
		Poll:   feedPoll,
		Logger: log,
		OnEvent: func(ev revocation.Event) {
			if ev.Kind != revocation.KindKey {
				return
			}
			if err := a.ring.Reload(ctx); err != nil {
				log.Error("reloading signing keys after a key revocation", "err", err)
			}
		},
	})
	if err != nil {
		ln.Close()
		return err
	}
	hubRef.Store(hub)
	hubCtx, stopHub := context.WithCancel(context.WithoutCancel(ctx))
	defer stopHub()
	hubErr := make(chan error, 1)
	go func() { hubErr <- hub.Run(hubCtx) }()
	select {
	case <-hub.Ready():
	case err := <-hubErr:
		ln.Close()
		return fmt.Errorf("loading the revocation feed: %w", err)
	case <-ctx.Done():
		ln.Close()
		return ctx.Err()
	}

	auth := login.New(a.db, a.db, hasher, login.Config{SignupLimit: s.signupLimit})
	provider, err := oauth.New(oauth.Config{Issuer: iss, Audience: strings.Split(aud, ",")}, oauth.Deps{
		Users:       a.db,
		Clients:     a.db,
		Codes:       a.db,
		Consents:    a.db,
		Sessions:    sessions,
		Issuer:      iss2,
		Login:       auth,
		Keys:        a.ring,
		Revocations: a.db,
	})
	if err != nil {
		ln.Close()
		return err
	}
	// The CSRF key of the browser pages' forms, derived from the master
	// key like the refresh secret, so every node has the same one.
	csrfKey, err := hkdf.Key(sha256.New, a.master, nil, "latch csrf", 32)
	if err != nil {
		ln.Close()
		return err
	}
	// The DPoP nonce key, derived from the master key too, so that every
	// node hands out and accepts the same nonces without shared state.
	var dpopNonceKey []byte
	if s.dpopNonce {
		if dpopNonceKey, err = hkdf.Key(sha256.New, a.master, nil, "latch dpop nonce", 32); err != nil {
			ln.Close()
			return err
		}
	}
	srv, err := server.New(server.Config{
		Issuer: iss, Audience: strings.Split(aud, ",")[0], Audiences: strings.Split(aud, ","), AllowSignup: s.allowSignup,
		MaxBody: int64(s.maxBody), TrustedProxies: s.proxies, Logger: log, CSRFKey: csrfKey, DPoPNonceKey: dpopNonceKey,
	}, server.Deps{
		Users:    a.db,
		Login:    auth,
		Sessions: sessions,
		Issuer:   iss2,
		Keys:     a.ring,
		Hasher:   hasher,
		Ready:    a.db.Ping,
		Clients:  a.db,
		Feed:     hub,
		OAuth:    provider,
	})
	if err != nil {
		ln.Close()
		return err
	}

	users, err := a.db.ListUsers(ctx)
	if err == nil && len(users) == 0 {
		if a.postgres {
			log.Info("no users yet; create the first one with: latch user add --database URL --email you@example.com --role admin")
		} else {
			log.Info("no users yet; create the first one with: latch user add --data " + d.dir + " --email you@example.com --role admin")
		}
	}

	httpSrv := srv.HTTPServer(s.addr)
	// Feed streams end only when the hub stops: stop it as shutdown
	// begins, or Shutdown would wait for them until its deadline.
	httpSrv.RegisterOnShutdown(stopHub)
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	go maintain(bg, a, auth, log)

	served := ln
	if s.maxConns > 0 {
		served = server.LimitConnections(httpSrv, ln, s.maxConns)
		log.Info("connection limit", "max_connections", s.maxConns)
	}
	errc := make(chan error, 1)
	if certs != nil {
		httpSrv.TLSConfig = tlsConfig(certs)
		go func() { errc <- httpSrv.ServeTLS(served, "", "") }()
	} else {
		go func() { errc <- httpSrv.Serve(served) }()
	}
	where := []any{"data", d.dir}
	if a.postgres {
		where = append(where, "database", redactURL(d.database))
	}
	log.Info("listening", append([]any{"addr", ln.Addr().String(), "tls", certs != nil, "issuer", iss, "audience", aud}, where...)...)
	if certs != nil {
		log.Info("TLS certificate", certAttrs(certs.cert.Load())...)
	}
	if ready != nil {
		ready <- ln.Addr().String()
	}
	select {
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	case <-ctx.Done():
	}
	if err := drain(srv, s.drainPeriod, errc, log); err != nil {
		return err
	}
	log.Info("shutting down: finishing in-flight requests")
	// Shutdown stops keep-alives, closes the listener and the connections
	// idle by now (no request on them since the drain began), and waits
	// for the requests in flight.
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := httpSrv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shutting down: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serving: %w", err)
	}
	log.Info("stopped")
	return nil
}

// drain is a graceful shutdown's drain period: the server fails its
// readiness check at once but goes on serving for period, each response
// closing its connection (Server.StartDrain), so that load balancers take
// it out of rotation and clients move to new connections elsewhere,
// before Shutdown. Closing idle keep-alive connections at once instead
// (http.Server.SetKeepAlivesEnabled(false), or Shutdown) loses the
// requests already sent on them that the server has not read yet. A
// second SIGINT or SIGTERM ends the period early.
func drain(srv *server.Server, period time.Duration, errc <-chan error, log *slog.Logger) error {
	srv.StartDrain()
	if period <= 0 {
		return nil
	}
	log.Info("draining: /readyz answers 503, requests are still served", "drain_period", period.String())
	again := make(chan os.Signal, 1)
	signal.Notify(again, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(again)
	t := time.NewTimer(period)
	defer t.Stop()
	select {
	case <-t.C:
	case <-again:
		log.Info("second signal: ending the drain period early")
	case err := <-errc:
		return fmt.Errorf("serving: %w", err)
	}
	return nil
}

// feedPoll is how often the feed reads the database for revocations
// written by another process (latch revoke, user and keys commands):
// in-process revocations are pushed at once.
const feedPoll = 200 * time.Millisecond

// maintain runs the periodic chores: key rotation and removal (and picking
// up keys rotated by the CLI or another node), and pruning ended sessions,
// expired revocations, expired authorization codes and stale throttles.
func maintain(ctx context.Context, a *app, auth *login.Authenticator, log *slog.Logger) {
	// Every 30 s: a key another node created is published at least a
	// minute before it signs (keyring.Config.PublishAhead is the JWKS
	// max-age plus a minute), and every node must serve it well within
	// that minute, so that no verifier caches a JWKS without it.
	keys := time.NewTicker(30 * time.Second)
	prune := time.NewTicker(10 * time.Minute)
	defer keys.Stop()
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-keys.C:
			if err := a.ring.Maintain(ctx); err != nil {
				log.Error("key maintenance", "err", err)
			}
		case <-prune.C:
			now := time.Now()
			if _, err := a.db.PruneSessions(ctx, now.Add(-24*time.Hour)); err != nil {
				log.Error("pruning sessions", "err", err)
			}
			if _, err := a.db.PruneRevocations(ctx, now); err != nil {
				log.Error("pruning revocations", "err", err)
			}
			// Kept an hour past their expiry, so that a code replayed
			// late still revokes what its redemption issued.
			if _, err := a.db.PruneAuthCodes(ctx, now.Add(-time.Hour)); err != nil {
				log.Error("pruning authorization codes", "err", err)
			}
			// The authenticator knows the longest window a throttle
			// counts over (sign-ups count per hour, logins per 15 min).
			if _, err := auth.PruneThrottles(ctx); err != nil {
				log.Error("pruning throttles", "err", err)
			}
		}
	}
}

// newLogger returns a JSON logger at level.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// applyMemoryLimit sets the Go runtime's soft memory limit
// (runtime/debug.SetMemoryLimit) to --memory-limit (or LATCH_MEMORY_LIMIT)
// when set, and returns the limit in force, as the runtime reports it,
// with where it came from: the flag, else GOMEMLIMIT, which the runtime
// read at start, else none ("off").
//
// There is no default limit because one costs logins: under 1,000
// concurrent logins on 2 CPUs (BENCHMARKS.md section 8), 64 MiB + 2 x the
// hash workers' memory (140 MiB) lowered the peak RSS from 195-197 to
// 158-170 MiB but served 7-29% fewer of the logins: memory returned to
// the system to stay under the limit was faulted in again by the next
// hash's 19 MiB allocation.
func applyMemoryLimit(e *env, set byteSize) (byteSize, string) {
	source := "none"
	switch {
	case set != 0:
		debug.SetMemoryLimit(int64(set))
		source = "--memory-limit"
	case e.env("GOMEMLIMIT") != "":
		source = "GOMEMLIMIT"
	}
	return byteSize(debug.SetMemoryLimit(-1)), source
}

// defaultGCFloor is the heap size below which latch serve's garbage
// collector does not run (package gctune).
const defaultGCFloor byteSize = 16 << 20

// gcFloor returns the heap floor of latch serve's garbage collector
// (package gctune): defaultGCFloor, or a quarter of the memory limit in
// force if that is less. It returns false, leaving the collector to the
// operator, when GOGC is set.
//
// With the Go default, GOGC=100, the collector ran about a hundred times
// a second under load, for a live heap of about 1 MB; with the floor, a
// refresh takes 13-19% less CPU (BENCHMARKS.md section 8). During a login burst
// the tuner collects more often instead: each hash allocates its Argon2
// memory (19 MiB) afresh, and the blocks in use are live at every
// collection, so with GOGC=100 finished blocks pile up to about twice the
// live heap before the next one. Under 1,000 concurrent logins on 2 CPUs,
// GOGC=50 for the burst lowered the median peak RSS from 198 to 161 MiB
// for 6% fewer logins served. Argon2 blocks hold no pointers, so
// collecting more often costs little more than scanning the stacks and
// the request state.
func gcFloor(e *env, limit byteSize) (byteSize, bool) {
	if e.env("GOGC") != "" {
		return 0, false
	}
	return min(defaultGCFloor, limit/4), true
}

// byteSize is a size in bytes written as GOMEMLIMIT writes it: a decimal
// integer with an optional unit B, KiB, MiB, GiB or TiB ("512MiB").
type byteSize int64

// byteUnits are byteSize's units, largest first.
var byteUnits = []struct {
	suffix string
	shift  uint
}{{"TiB", 40}, {"GiB", 30}, {"MiB", 20}, {"KiB", 10}, {"B", 0}}

// Set parses s. It refuses a sign, a fraction, another unit and a size
// over 8 EiB.
func (b *byteSize) Set(s string) error {
	num, shift := s, uint(0)
	for _, u := range byteUnits {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			num, shift = n, u.shift
			break
		}
	}
	n, err := strconv.ParseUint(num, 10, 63)
	if err != nil || n > 1<<(63-shift)-1 {
		return fmt.Errorf("%q is not a size: want an integer with an optional unit B, KiB, MiB, GiB or TiB, such as 512MiB", s)
	}
	*b = byteSize(n << shift)
	return nil
}

// String returns b in the largest unit that divides it, or "off" for
// the runtime's "no limit" (math.MaxInt64).
func (b byteSize) String() string {
	if b == 1<<63-1 {
		return "off"
	}
	for _, u := range byteUnits {
		if b != 0 && b%(1<<u.shift) == 0 {
			return strconv.FormatInt(int64(b>>u.shift), 10) + u.suffix
		}
	}
	return "0"
}
