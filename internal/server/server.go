// Package server is latch's HTTP API: login, refresh, logout, sessions,
// the JWKS and discovery documents, the revocation feed (as pages, as a
// Server-Sent Events stream, and as Security Event Tokens to poll for,
// RFC 8936), token introspection (RFC 7662), health and metrics.
//
// Every response is JSON, but for the feed's Server-Sent Events stream
// and the metrics; every error is `{"error": CODE,
// "error_description": TEXT}` with the status RFC 6749 and RFC 6750 give
// it, written in one place (writeError), but for the refused requests of
// the SET poll endpoint, which are `{"err": CODE, "description": TEXT}`
// as RFC 8936 §2.6 has them. Request bodies are limited in size, must be
// `application/json` (introspection's, as RFC 7662 wants, form-encoded),
// and may not hold unknown or duplicate fields. State-changing cross-site
// browser requests are refused (http.CrossOriginProtection). Every
// response carries the security headers of securityHeaders (nosniff, a
// Content-Security-Policy that allows nothing, no-store unless a public
// document says otherwise, HSTS over TLS). A credential must come one way
// only: two Authorization headers, or a bearer token and an access cookie
// that differ, are refused as ambiguous. The client address that logins
// are throttled by is the peer's, or the one trusted proxies forwarded
// (Config.TrustedProxies).
package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/latch-auth/latch/internal/client"
	"github.com/latch-auth/latch/internal/feed"
	"github.com/latch-auth/latch/internal/issuer"
	"github.com/latch-auth/latch/internal/keyring"
	"github.com/latch-auth/latch/internal/login"
	"github.com/latch-auth/latch/internal/oauth"
	"github.com/latch-auth/latch/internal/password"
	"github.com/latch-auth/latch/internal/session"
	"github.com/latch-auth/latch/internal/store"
)

// DefaultMaxBody is the request body limit when Config.MaxBody is zero.
const DefaultMaxBody = 64 << 10

// DefaultClientRecheck is Config.ClientRecheck's default.
const DefaultClientRecheck = 10 * time.Second

// DefaultHashQueueTimeout is Config.HashQueueTimeout's default, well under
// the server's 30 s write timeout.
const DefaultHashQueueTimeout = 10 * time.Second

// Config tunes the HTTP API.
type Config struct {
	// Issuer is the issuer URL, as in the tokens and discovery document.
	Issuer string
	// Audience is the audience of the tokens the server accepts on its own
	// endpoints (/v1/me, /v1/sessions, /v1/logout).
	Audience string
	// Audiences are every audience the server issues access tokens for
	// (issuer.Config.Audience): token introspection reports active a
	// token whose "aud" names any of them, or Audience. Default: Audience
	// alone.
	Audiences []string
	// PollWait bounds how long POST /v1/revocations/poll holds a long
	// poll (RFC 8936 "returnImmediately": false) that has no SET to
	// return. Default feed.DefaultPollWait (20 s), under HTTPServer's
	// 30 s write timeout.
	PollWait time.Duration
	// ClientRecheck is how often an open revocation stream checks that
	// its client still exists with the same secret and scope, so that
	// removing a client (or changing its secret) ends its streams too.
	// Default DefaultClientRecheck.
	ClientRecheck time.Duration
	// AllowSignup enables POST /v1/signup, throttled per client address
	// by Deps.Login (login.Config.SignupLimit).
	AllowSignup bool
	// MaxBody limits request bodies in bytes. Default 64 KiB.
	MaxBody int64
	// HashQueueTimeout bounds how long a sign-up waits for a free
	// password-hashing slot before it is answered 503 with Retry-After, so
	// a burst is shed instead of queueing past the write timeout (logins
	// have the same bound in login.Config.HashWait). Default
	// DefaultHashQueueTimeout.
	HashQueueTimeout time.Duration
	// TrustedProxies are the networks of the reverse proxies (load
	// balancers, CDNs) whose X-Forwarded-For the server believes. A
	// request from a peer in one of them has as its client address the
	// right-most address in X-Forwarded-For that is not a trusted proxy,
	// as nginx's real-IP module finds it with real_ip_recursive (see
	// forwardedClient); a request from any other peer has the peer's
	// address, whatever it sends. The client address is what logins (and
	// sign-ups) are throttled by and what the session list shows. Default
	// none: X-Forwarded-For is never read. Trust only the proxies in
	// front of the server: a trusted network that clients can reach the
	// server from lets them choose their address.
	TrustedProxies []netip.Prefix
	// CSRFKey keys the CSRF tokens of the browser pages' forms
	// (web.NewCSRF); at least 32 bytes, required with Deps.OAuth.
	CSRFKey []byte
	// DPoPNonceKey, when set (at least 32 bytes), makes every DPoP proof
	// carry a nonce the server handed out (RFC 9449 §8, §9): an HMAC of
	// the current minute under this key, accepted for that minute and
	// the next (verifier.DPoPNonces). Every node must have the same key.
	// The token-issuing endpoints and the server's own resources send the
	// nonce in DPoP-Nonce on every response; a proof without it is
	// refused with use_dpop_nonce. Default none: proofs need no nonce.
	DPoPNonceKey []byte
	// Logger receives request failures; nil discards.
	Logger *slog.Logger
}

// Deps are the components the API is wired from; cmd/latch assembles them.
type Deps struct {
	Users    store.Users
	Login    *login.Authenticator
	Sessions *session.Manager
	Issuer   *issuer.Issuer
	Keys     *keyring.Ring
	Hasher   *password.Hasher
	// Ready reports whether the database serves reads and commits writes,
	// for /readyz.
	Ready   func(context.Context) error
	Metrics *Metrics
	// Feed, when not nil, serves the revocation feed (GET
	// /v1/revocations and /v1/revocations/stream, and POST
	// /v1/revocations/poll as SETs) to the Clients holding the scope
	// revocations:read, and its deny list is checked on the server's own
	// authenticated endpoints and by introspection. Its Run must be
	// running.
	Feed *feed.Hub
	// Clients, when not nil, are the OAuth clients that may authenticate:
	// POST /oauth2/introspect serves those holding the scope introspect.
	// Required with Feed and OAuth.
	Clients store.Clients
	// OAuth, when not nil, serves the OAuth 2.0 and OpenID Connect
	// provider: /oauth2/token, /oauth2/revoke, /oauth2/userinfo, the
	// browser endpoints (/oauth2/authorize, /login, /consent, /account,
	// /oauth2/logout) and their discovery metadata, and runs the /v1
	// login and refresh grants. Without it, those run on a provider the
	// server makes for them alone, and the /oauth2 endpoints but
	// introspection are absent. Needs Clients and Config.CSRFKey.
	OAuth *oauth.Provider
}

// Server is the HTTP API.
type Server struct {
	cfg     Config
	d       Deps
	log     *slog.Logger
	mux     *http.ServeMux
	clients *client.Authenticator // nil without Clients
	// grants runs the /v1 login and refresh grants: Deps.OAuth, or a
	// provider of its own for them alone.
	grants *oauth.Provider
	poller *feed.Poller // nil without a Feed
	// audiences are those introspection accepts: Audience, then the
	// other Audiences.
	audiences []string
	// draining is set by StartDrain.
	draining atomic.Bool
	// validators caches accessValidators' validators for the last key set.
	validators atomic.Pointer[keyValidators]
	// dpop checks DPoP proofs (RFC 9449) and remembers their jti.
	dpop *dpopChecker
}

// New returns the API server.
func New(cfg Config, d Deps) (*Server, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("server: issuer and audience are required")
	}
	if d.Users == nil || d.Login == nil || d.Sessions == nil || d.Issuer == nil || d.Keys == nil || d.Hasher == nil || d.Ready == nil {
		return nil, errors.New("server: missing dependency")
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.HashQueueTimeout <= 0 {
		cfg.HashQueueTimeout = DefaultHashQueueTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if d.Feed != nil && d.Clients == nil {
		return nil, errors.New("server: the revocation feed needs the clients store")
	}
	if d.Metrics == nil {
		d.Metrics = NewMetrics()
	}
	if cfg.PollWait < 0 || cfg.ClientRecheck < 0 {
		return nil, errors.New("server: negative poll wait or client recheck")
	}
	if cfg.ClientRecheck == 0 {
		cfg.ClientRecheck = DefaultClientRecheck
	}
	proxies := make([]netip.Prefix, 0, len(cfg.TrustedProxies))
	for _, p := range cfg.TrustedProxies {
		if !p.IsValid() {
			return nil, errors.New("server: invalid trusted proxy network")
		}
		proxies = append(proxies, p.Masked())
	}
	cfg.TrustedProxies = proxies
	s := &Server{cfg: cfg, d: d, log: cfg.Logger, mux: http.NewServeMux(), audiences: []string{cfg.Audience}}
	for _, aud := range cfg.Audiences {
		if aud == "" {
			return nil, errors.New("server: empty audience")
		}
		if !slices.Contains(s.audiences, aud) {
			s.audiences = append(s.audiences, aud)
		}
	}
	dpop, err := s.newDPoPChecker()
	if err != nil {
		return nil, err
	}
	s.dpop = dpop
	if d.Clients != nil {
		s.clients = client.NewAuthenticator(d.Clients)
	}
	s.grants = d.OAuth
	if d.OAuth != nil {
		if d.Clients == nil {
			return nil, errors.New("server: the OAuth provider needs the clients store")
		}
		if len(cfg.CSRFKey) < 32 {
			return nil, errors.New("server: the OAuth provider needs a CSRF key of at least 32 bytes")
		}
	} else {
		p, err := oauth.New(oauth.Config{Issuer: cfg.Issuer, Audience: s.audiences},
			oauth.Deps{Users: d.Users, Sessions: d.Sessions, Issuer: d.Issuer, Login: d.Login})
		if err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		s.grants = p
	}
	if d.Feed != nil {
		if err := d.Metrics.registerFeed(d.Feed); err != nil {
			return nil, fmt.Errorf("server: registering the feed metrics: %w", err)
		}
		p, err := feed.NewPoller(d.Feed, feed.PollConfig{
			Issuer: cfg.Issuer, Keys: d.Keys, Clients: d.Clients, Wait: cfg.PollWait, Logger: cfg.Logger,
		})
		if err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		s.poller = p
	}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("POST /v1/login", s.handleLogin)
	m.HandleFunc("POST /v1/token/refresh", s.handleRefresh)
	m.HandleFunc("POST /v1/logout", s.handleLogout)
	m.HandleFunc("GET /v1/sessions", s.authed(s.handleSessions))
	m.HandleFunc("DELETE /v1/sessions/{id}", s.authed(s.handleEndSession))
	m.HandleFunc("GET /v1/me", s.authed(s.handleMe))
	if s.d.Feed != nil {
		m.HandleFunc("GET /v1/revocations", s.clientAuthed(client.ScopeRevocationsRead, s.handleRevocations))
		m.HandleFunc("GET /v1/revocations/stream", s.clientAuthed(client.ScopeRevocationsRead, s.handleRevocationStream))
		m.HandleFunc("POST /v1/revocations/poll", s.clientAuthed(client.ScopeRevocationsRead, s.handleRevocationPoll))
	}
	if s.clients != nil {
		m.HandleFunc("POST /oauth2/introspect", s.clientAuthed(client.ScopeIntrospect, s.handleIntrospect))
	}
	if s.cfg.AllowSignup {
		m.HandleFunc("POST /v1/signup", s.handleSignup)
	}
	m.HandleFunc("GET /.well-known/jwks.json", s.handleJWKS)
	m.HandleFunc("GET /.well-known/openid-configuration", s.handleDiscovery)
	m.HandleFunc("GET /.well-known/oauth-authorization-server", s.handleDiscovery)
	m.HandleFunc("GET /healthz", s.handleHealth)
	m.HandleFunc("GET /readyz", s.unlessDraining(s.handleReady))
	m.Handle("GET /metrics", s.d.Metrics.Handler())
	m.HandleFunc("GET /openapi.json", handleOpenAPI)
	if s.d.OAuth != nil {
		s.oauthRoutes(m)
		s.browserRoutes(m)
	}
}

// Handler returns the API with its middleware: the security headers
// (securityHeaders), connection closing while draining (StartDrain),
// panic recovery, metrics, JSON errors for unmatched routes, and
// cross-origin protection.
func (s *Server) Handler() http.Handler {
	cop := http.NewCrossOriginProtection()
	// Machine-to-machine endpoints that authenticate with client
	// credentials or a bearer token, never a cookie, which a browser
	// application of another origin may call (RFC 6749 §3.2, RFC 7009,
	// OpenID Connect Core §5.3), and RP-initiated logout, which a
	// relying party may POST from its own origin (OpenID Connect
	// RP-Initiated Logout §2): without an ID token hint for the signed-in
	// user it only shows a confirmation whose form needs this origin's
	// session-bound CSRF token. The browser forms (/login, /consent,
	// /account) stay protected.
	for _, p := range []string{"POST " + pathToken, "POST " + pathRevoke, "POST " + pathUserInfo, "POST " + logoutPath} {
		cop.AddInsecureBypassPattern(p)
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, &apiError{status: http.StatusForbidden, code: "cross_origin_refused", desc: "cross-origin request refused"})
	}))
	return securityHeaders(s.closeWhileDraining(s.recover(s.d.Metrics.instrument(s.mux, cop.Handler(http.HandlerFunc(s.dispatch))))))
}

// StartDrain begins a graceful shutdown's drain period: from now on
// GET /readyz answers 503 (code not_ready, "draining"), so that load
// balancers stop sending new requests, while every other request is
// still served as usual, each with "Connection: close" (for HTTP/2 a
// GOAWAY), so that clients move off the server's connections as they
// use them. Idle connections are not closed here: a request already on
// its way on one would be lost. The caller keeps serving for a drain
// period, then calls http.Server.Shutdown, which closes the connections
// idle by then and waits for the last requests. StartDrain cannot be
// undone; calling it again has no further effect.
func (s *Server) StartDrain() { s.draining.Store(true) }

// errDraining is readiness while draining.
var errDraining = &apiError{status: http.StatusServiceUnavailable, code: "not_ready", desc: "draining: the server is shutting down"}

// unlessDraining answers errDraining while the server drains, and
// otherwise lets h check readiness.
func (s *Server) unlessDraining(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			s.writeError(w, r, errDraining)
			return
		}
		h(w, r)
	}
}

// closeWhileDraining asks for each connection to be closed after the
// response it carries once the server drains: keep-alives off for
// connections as they are used, unlike http.Server.SetKeepAlivesEnabled,
// which also closes the idle ones at once.
func (s *Server) closeWhileDraining(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.draining.Load() {
			w.Header().Set("Connection", "close")
		}
		next.ServeHTTP(w, r)
	})
}

// dispatch serves matched routes and turns the mux's plain-text 404 and
// 405 answers into JSON errors.
func (s *Server) dispatch(w http.ResponseWriter, r *http.Request) {
	h, pattern := s.mux.Handler(r)
	if pattern != "" {
		// Through the mux, not h: ServeMux.ServeHTTP is what sets the
		// request's path values ({id}) and Pattern.
		s.setDPoPNonce(w, pattern)
		s.mux.ServeHTTP(w, r)
		return
	}
	rec := &discardWriter{header: http.Header{}}
	h.ServeHTTP(rec, r)
	if allow := rec.header.Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
	}
	switch rec.code {
	case http.StatusMethodNotAllowed:
		s.writeError(w, r, &apiError{status: rec.code, code: "method_not_allowed", desc: "method not allowed on this path"})
	default:
		s.writeError(w, r, errNotFound)
	}
}

// discardWriter keeps the status and headers of the mux's own 404 and 405
// answers and drops their plain-text body.
type discardWriter struct {
	header http.Header
	code   int
}

func (d *discardWriter) Header() http.Header         { return d.header }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(code int)        { d.code = code }

// recover turns a panic into a 500 instead of a dropped connection.
func (s *Server) recover(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.writeError(w, r, fmt.Errorf("panic: %v", v))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// decodeJSON reads the request body strictly into v: JSON content type,
// size limit, one object, no unknown fields, no trailing data.
func (s *Server) decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mt != "application/json" {
		return &apiError{status: http.StatusUnsupportedMediaType, code: "invalid_request", desc: "Content-Type must be application/json"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &apiError{status: http.StatusRequestEntityTooLarge, code: "invalid_request", desc: fmt.Sprintf("body larger than %d bytes", mbe.Limit)}
		}
		return badRequest("cannot read body")
	}
	if err := checkNoDuplicates(body); err != nil {
		return err
	}
	// encoding/json decodes null into a struct as a no-op, which would
	// make `null` stand for an empty object (a logout with the default
	// scope, say).
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) > 0 && t[0] != '{' {
		return badRequest("body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest(describeJSONError(err))
	}
	if dec.More() {
		return badRequest("body must hold one JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return badRequest("data after the JSON object")
	}
	return nil
}

// describeJSONError says what is wrong with a body without echoing it.
func describeJSONError(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("malformed JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q must be %s", te.Field, te.Type)
	case errors.Is(err, io.EOF):
		return "empty body"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return "unknown field " + strings.TrimPrefix(err.Error(), "json: unknown field ")
	}
	return "malformed JSON"
}

// HTTPServer returns an http.Server for addr with timeouts suitable for a
// public API.
func (s *Server) HTTPServer(addr string) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
}
