package server_test

// The tests of this package drive the API over real HTTP (httptest) with
// every component wired as cmd/latch wires it, on a SQLite database in
// t.TempDir(). The only departure is the session manager's clock, which a
// test advances to step past the refresh grace window without sleeping.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/feed"
	"github.com/latch-auth/latch/internal/issuer"
	"github.com/latch-auth/latch/internal/keyring"
	"github.com/latch-auth/latch/internal/keyring/keyringtest"
	"github.com/latch-auth/latch/internal/login"
	"github.com/latch-auth/latch/internal/password"
	"github.com/latch-auth/latch/internal/server"
	"github.com/latch-auth/latch/internal/session"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/sqlite"
	"github.com/latch-auth/latch/internal/testclock"
)

// clock is the shared settable test clock.
type clock = testclock.Clock

const (
	testIssuer   = "https://auth.latch.test"
	testAudience = "https://api.latch.test"
	testPassword = "correct horse battery staple"
)

// options vary the API under test.
type options struct {
	signup bool
	// trustedProxies is server.Config.TrustedProxies.
	trustedProxies []netip.Prefix
	grace          time.Duration // refresh grace window; default session.DefaultGrace
	// busyTimeout is sqlite.Options.BusyTimeout.
	busyTimeout time.Duration
	login       login.Config
	// hashParams, hashSlots and hashQueue override the cheap hashing the
	// tests normally use.
	hashParams password.Params
	hashSlots  int
	hashQueue  time.Duration
	// feed, when not nil, serves the revocation feed from a hub with this
	// configuration, running until the test ends.
	feed *feed.Config
	// clientRecheck is server.Config.ClientRecheck.
	clientRecheck time.Duration
	// listener, when not nil, wraps the test server's listener.
	listener func(net.Listener) net.Listener
	// httpServer, when not nil, adjusts the test's http.Server.
	httpServer func(*http.Server)
	// dpopNonceKey is server.Config.DPoPNonceKey.
	dpopNonceKey []byte
	// logger is server.Config.Logger; nil: none.
	logger *slog.Logger
	// maxTokenSize is issuer.Config.MaxTokenSize.
	maxTokenSize int
}

// api is a running server and the components behind it.
type api struct {
	t        *testing.T
	url      string
	srv      *server.Server
	db       *sqlite.DB
	ring     *keyring.Ring
	hasher   *password.Hasher
	sessions *session.Manager
	clock    *clock
	client   *http.Client
	dbPath   string    // the database file, for a second handle on it
	hub      *feed.Hub // with options.feed
	stopHub  func()    // ends the hub's Run and waits for it
}

// newAPI starts the API over a fresh database, wired like cmd/latch's
// runServer but with cheap password hashing.
func newAPI(t *testing.T, o options) *api {
	t.Helper()
	ctx := t.Context()
	// The store tells the hub of each revocation it commits, as
	// cmd/latch wires it.
	var hubRef atomic.Pointer[feed.Hub]
	dbPath := filepath.Join(t.TempDir(), "latch.db")
	db, err := sqlite.Open(ctx, dbPath, sqlite.Options{BusyTimeout: o.busyTimeout, Options: store.Options{Notify: func() {
		if h := hubRef.Load(); h != nil {
			h.Notify()
		}
	}}})
	if err != nil {
		t.Fatalf("sqlite.Open = %v, want nil", err)
	}
	t.Cleanup(func() { db.Close() })

	master := make([]byte, keyring.MasterKeySize)
	rand.Read(master)
	// One RSA key per test binary for the ID-token lifecycle: RSA
	// generation would dominate the package's run time.
	ring, err := keyring.New(ctx, db, master, keyring.Config{GenerateKey: keyringtest.GenerateKey})
	if err != nil {
		t.Fatalf("keyring.New = %v, want nil", err)
	}
	if _, err := ring.Ensure(ctx); err != nil {
		t.Fatalf("Ring.Ensure = %v, want nil", err)
	}
	secret, err := keyring.RefreshSecret(master)
	if err != nil {
		t.Fatal(err)
	}
	clk := testclock.New(time.Now())
	sessions, err := session.New(db, secret, session.Config{Grace: o.grace, Now: clk.Now})
	if err != nil {
		t.Fatalf("session.New = %v, want nil", err)
	}
	// The smallest cost the hasher accepts: tests log in often.
	params := password.Params{Memory: 8 * 1024, Time: 1}
	if o.hashParams != (password.Params{}) {
		params = o.hashParams
	}
	hasher, err := password.New(params, o.hashSlots)
	if err != nil {
		t.Fatalf("password.New = %v, want nil", err)
	}
	iss, err := issuer.New(ring, issuer.Config{Issuer: testIssuer, Audience: []string{testAudience}, MaxTokenSize: o.maxTokenSize, Logger: o.logger})
	if err != nil {
		t.Fatalf("issuer.New = %v, want nil", err)
	}
	deps := server.Deps{
		Users:    db,
		Login:    login.New(db, db, hasher, o.login),
		Sessions: sessions,
		Issuer:   iss,
		Keys:     ring,
		Hasher:   hasher,
		Ready:    db.Ping,
	}
	a := &api{t: t, db: db, ring: ring, hasher: hasher, sessions: sessions, clock: clk, dbPath: dbPath, stopHub: func() {}}
	if o.feed != nil {
		hub, err := feed.New(db, *o.feed)
		if err != nil {
			t.Fatalf("feed.New = %v, want nil", err)
		}
		hubRef.Store(hub)
		hubCtx, cancel := context.WithCancel(context.Background())
		hubDone := make(chan error, 1)
		go func() { hubDone <- hub.Run(hubCtx) }()
		select {
		case <-hub.Ready():
		case err := <-hubDone:
			t.Fatalf("Hub.Run = %v before it was ready", err)
		case <-time.After(5 * time.Second):
			t.Fatal("the hub was not ready 5 s after Run started")
		}
		deps.Feed, deps.Clients = hub, db
		a.hub = hub
		var once sync.Once
		a.stopHub = func() {
			once.Do(func() {
				cancel()
				if err := <-hubDone; err != nil {
					t.Errorf("Hub.Run = %v, want nil", err)
				}
			})
		}
	}
	srv, err := server.New(server.Config{Issuer: testIssuer, Audience: testAudience, AllowSignup: o.signup, TrustedProxies: o.trustedProxies, HashQueueTimeout: o.hashQueue, ClientRecheck: o.clientRecheck, DPoPNonceKey: o.dpopNonceKey, Logger: o.logger}, deps)
	if err != nil {
		t.Fatalf("server.New = %v, want nil", err)
	}
	a.srv = srv
	hs := httptest.NewUnstartedServer(srv.Handler())
	if o.listener != nil {
		hs.Listener = o.listener(hs.Listener)
	}
	if o.httpServer != nil {
		o.httpServer(hs.Config)
	}
	hs.Start()
	t.Cleanup(hs.Close)
	// The hub stops before the server closes, which waits for the
	// streams' handlers, and after which the database closes.
	t.Cleanup(a.stopHub)
	a.url, a.client = hs.URL, hs.Client()
	return a
}

// addUser creates a user with testPassword and returns it.
func (a *api) addUser(email string, roles ...string) store.User {
	a.t.Helper()
	hash, err := a.hasher.Hash(a.t.Context(), testPassword)
	if err != nil {
		a.t.Fatal(err)
	}
	now := time.Now()
	u := store.User{ID: server.NewUserID(), Email: email, PasswordHash: hash, Roles: roles, CreatedAt: now, UpdatedAt: now}
	if err := a.db.CreateUser(a.t.Context(), u); err != nil {
		a.t.Fatalf("CreateUser(%s) = %v, want nil", email, err)
	}
	return u
}

// request describes one HTTP request. A body is sent as application/json
// unless contentType says otherwise ("-" for none).
type request struct {
	method      string
	path        string
	body        string
	contentType string
	bearer      string
	header      http.Header
	cookies     []*http.Cookie
}

// response is a completed response.
type response struct {
	status int
	header http.Header
	body   []byte
	req    string // "METHOD PATH", for messages
}

func (r response) String() string {
	return strconv.Itoa(r.status) + " " + strings.TrimSpace(string(r.body))
}

// cookies returns the cookies the response sets, by name.
func (r response) cookies() map[string]*http.Cookie {
	m := map[string]*http.Cookie{}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		m[c.Name] = c
	}
	return m
}

func (a *api) do(rq request) response {
	a.t.Helper()
	var body io.Reader
	if rq.body != "" {
		body = strings.NewReader(rq.body)
	}
	req, err := http.NewRequestWithContext(a.t.Context(), rq.method, a.url+rq.path, body)
	if err != nil {
		a.t.Fatal(err)
	}
	switch {
	case rq.contentType == "-":
	case rq.contentType != "":
		req.Header.Set("Content-Type", rq.contentType)
	case rq.body != "":
		req.Header.Set("Content-Type", "application/json")
	}
	if rq.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+rq.bearer)
	}
	for k, vs := range rq.header {
		req.Header[k] = vs
	}
	for _, c := range rq.cookies {
		req.AddCookie(c)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", rq.method, rq.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		a.t.Fatalf("%s %s: reading body: %v", rq.method, rq.path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b, req: rq.method + " " + rq.path}
}

// tokens is the body of a successful login, signup or refresh.
type tokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	SessionID    string `json:"session_id"`
}

// apiError is the body of every error response.
type apiError struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

// decode parses the JSON body of r into v.
func decode(t *testing.T, r response, v any) {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s: Content-Type %q, want application/json; body %q", r.req, ct, r.body)
	}
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: body %q does not decode into %T: %v", r.req, r.body, v, err)
	}
}

// wantStatus fails the test unless r has status want.
func wantStatus(t *testing.T, r response, want int) {
	t.Helper()
	if r.status != want {
		t.Fatalf("%s = %v, want %d", r.req, r, want)
	}
}

// wantError checks that r is a JSON error with the status and code.
func wantError(t *testing.T, r response, status int, code string) apiError {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s = %v, want %d %s", r.req, r, status, code)
	}
	var e apiError
	decode(t, r, &e)
	if e.Error != code || e.Description == "" {
		t.Fatalf("%s = %v, want error %q with a description", r.req, r, code)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s: Cache-Control %q, want no-store", r.req, cc)
	}
	return e
}

// wantInvalidToken checks an RFC 6750 refusal of an access token that
// does not echo the token anywhere.
func wantInvalidToken(t *testing.T, r response, token string) {
	t.Helper()
	wantError(t, r, http.StatusUnauthorized, "invalid_token")
	wa := r.header.Get("WWW-Authenticate")
	if !strings.HasPrefix(wa, `Bearer realm="latch", error="invalid_token"`) {
		t.Errorf("%s: WWW-Authenticate %q, want Bearer with error=\"invalid_token\"", r.req, wa)
	}
	if token != "" && (bytes.Contains(r.body, []byte(token)) || strings.Contains(wa, token)) {
		t.Errorf("%s: response echoes the token: %q / %q", r.req, r.body, wa)
	}
}

func jsonBody(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

// login logs email in with testPassword and returns the tokens.
func (a *api) login(email string) tokens {
	a.t.Helper()
	r := a.do(request{method: "POST", path: "/v1/login", body: jsonBody(map[string]string{"email": email, "password": testPassword})})
	wantStatus(a.t, r, http.StatusOK)
	var tk tokens
	decode(a.t, r, &tk)
	if tk.AccessToken == "" || tk.RefreshToken == "" || tk.SessionID == "" || tk.TokenType != "Bearer" {
		a.t.Fatalf("POST /v1/login = %v, want a Bearer token pair and a session", r)
	}
	return tk
}

// refresh exchanges a refresh token.
func (a *api) refresh(rt string) response {
	a.t.Helper()
	return a.do(request{method: "POST", path: "/v1/token/refresh", body: jsonBody(map[string]string{"refresh_token": rt})})
}

// me calls GET /v1/me with an access token.
func (a *api) me(at string) response {
	a.t.Helper()
	return a.do(request{method: "GET", path: "/v1/me", bearer: at})
}

// state is what a refused request must leave unchanged.
type state struct {
	users       int
	sessions    []store.Session
	revocations []store.Revocation
	throttles   []store.Throttle
}

// snapshot reads the store's state as far as userID (and its e-mail
// address, for throttles) is concerned.
func (a *api) snapshot(u store.User) state {
	a.t.Helper()
	ctx := a.t.Context()
	users, err := a.db.ListUsers(ctx)
	if err != nil {
		a.t.Fatal(err)
	}
	sessions, err := a.db.ListSessions(ctx, u.ID)
	if err != nil {
		a.t.Fatal(err)
	}
	revs, err := a.db.RevocationsSince(ctx, 0, 1000)
	if err != nil {
		a.t.Fatal(err)
	}
	s := state{users: len(users), sessions: sessions, revocations: revs}
	for _, k := range []string{"account:" + u.Email, "address:127.0.0.1"} {
		th, err := a.db.UpdateThrottle(ctx, k, func(t store.Throttle) (store.Throttle, error) { return t, nil })
		if err != nil {
			a.t.Fatal(err)
		}
		s.throttles = append(s.throttles, th)
	}
	return s
}

func (s state) equal(o state) bool { return reflect.DeepEqual(s, o) }

// metrics scrapes /metrics.
func (a *api) metrics() string {
	a.t.Helper()
	r := a.do(request{method: "GET", path: "/metrics"})
	wantStatus(a.t, r, http.StatusOK)
	return string(r.body)
}

// metric returns the value of the sample named series (name plus labels,
// exactly as exposed) in a scrape, or 0 if it is absent.
func metric(t *testing.T, scrape, series string) float64 {
	t.Helper()
	for _, line := range strings.Split(scrape, "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %q: %v", series, line, err)
			}
			return f
		}
	}
	return 0
}
