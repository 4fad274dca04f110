package server_test

// Benchmarks of the OAuth 2.0 token endpoint and of the authorization
// code flow, over real HTTP (httptest) against the server wired as
// cmd/latch's serve wires it: SQLite in b.TempDir(), ES256 access tokens,
// RS256 ID tokens, the OAuth provider and its browser pages, every
// middleware of Server.Handler. The only departures are the revocation
// feed, which none of these requests touches, and the test RSA key of
// keyringtest (the same 2048-bit size the server generates).
//
// Each benchmark runs c closed-loop workers (c requests or flows in
// flight at most, as latchload does) and reports throughput in its own
// unit beside ns/op (wall time per operation at that concurrency). The
// client runs in the same process and on the same cores as the server,
// so throughput is a lower bound of the server's on its own; latchload
// with -pid measures the server's CPU alone (BENCHMARKS.md).
//
//	go test ./internal/server -run '^$' -bench 'ClientCredentials|CodeFlow' -benchtime 5s

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/client"
	"github.com/latch-auth/latch/internal/issuer"
	"github.com/latch-auth/latch/internal/keyring"
	"github.com/latch-auth/latch/internal/keyring/keyringtest"
	"github.com/latch-auth/latch/internal/login"
	"github.com/latch-auth/latch/internal/oauth"
	"github.com/latch-auth/latch/internal/password"
	"github.com/latch-auth/latch/internal/server"
	"github.com/latch-auth/latch/internal/session"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/sqlite"
	"github.com/latch-auth/latch/internal/web"
)

// benchServer is a running server for the benchmarks.
type benchServer struct {
	url    string
	db     *sqlite.DB
	hasher *password.Hasher
	// transport keeps a connection per worker alive: http.DefaultTransport
	// keeps only two idle connections per host, and the others would be
	// redialled on every request.
	transport *http.Transport
}

// newBenchServer starts the server with password hashes of params
// (password.Params{} is the server's default argon2id cost).
func newBenchServer(b *testing.B, params password.Params) *benchServer {
	b.Helper()
	ctx := b.Context()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "latch.db"), sqlite.Options{})
	if err != nil {
		b.Fatalf("sqlite.Open = %v, want nil", err)
	}
	b.Cleanup(func() { db.Close() })
	master := make([]byte, keyring.MasterKeySize)
	rand.Read(master)
	ring, err := keyring.New(ctx, db, master, keyring.Config{GenerateKey: keyringtest.GenerateKey})
	if err != nil {
		b.Fatalf("keyring.New = %v, want nil", err)
	}
	if _, err := ring.Ensure(ctx); err != nil {
		b.Fatalf("Ring.Ensure = %v, want nil", err)
	}
	secret, err := keyring.RefreshSecret(master)
	if err != nil {
		b.Fatal(err)
	}
	sessions, err := session.New(db, secret, session.Config{})
	if err != nil {
		b.Fatalf("session.New = %v, want nil", err)
	}
	hasher, err := password.New(params, 0)
	if err != nil {
		b.Fatalf("password.New = %v, want nil", err)
	}
	iss, err := issuer.New(ring, issuer.Config{Issuer: testIssuer, Audience: []string{testAudience}})
	if err != nil {
		b.Fatalf("issuer.New = %v, want nil", err)
	}
	lg := login.New(db, db, hasher, login.Config{})
	p, err := oauth.New(oauth.Config{Issuer: testIssuer, Audience: []string{testAudience}}, oauth.Deps{
		Users: db, Clients: db, Codes: db, Consents: db, Sessions: sessions,
		Issuer: iss, Login: lg, Keys: ring, Revocations: db,
	})
	if err != nil {
		b.Fatalf("oauth.New = %v, want nil", err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	srv, err := server.New(server.Config{Issuer: testIssuer, Audience: testAudience, CSRFKey: key}, server.Deps{
		Users: db, Login: lg, Sessions: sessions, Issuer: iss, Keys: ring, Hasher: hasher,
		Ready: db.Ping, Clients: db, OAuth: p,
	})
	if err != nil {
		b.Fatalf("server.New = %v, want nil", err)
	}
	hs := httptest.NewServer(srv.Handler())
	b.Cleanup(hs.Close)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	b.Cleanup(tr.CloseIdleConnections)
	return &benchServer{url: hs.URL, db: db, hasher: hasher, transport: tr}
}

// addClient registers a client and returns it with its secret.
func (s *benchServer) addClient(b *testing.B, reg client.Registration) (store.Client, string) {
	b.Helper()
	c, secret, err := client.NewClient(reg, time.Now())
	if err != nil {
		b.Fatalf("client.NewClient = %v, want nil", err)
	}
	if err := s.db.CreateClient(b.Context(), c); err != nil {
		b.Fatalf("CreateClient = %v, want nil", err)
	}
	return c, secret
}

// runWorkers runs op b.N times in all, from c goroutines each calling it
// in a loop, and reports the throughput as unit per second. The first
// error stops the benchmark.
func runWorkers(b *testing.B, c int, unit string, op func(worker int) error) {
	b.Helper()
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
	)
	b.ResetTimer()
	for w := range c {
		wg.Go(func() {
			for next.Add(1) <= int64(b.N) {
				if err := op(w); err != nil {
					errOnce.Do(func() { first = err })
					next.Store(int64(b.N)) // the others stop too
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	if first != nil {
		b.Fatal(first)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit+"/s")
}

// tokenRequest posts form to the token endpoint as client id with
// client_secret_basic and returns the decoded answer.
func (s *benchServer) tokenRequest(ctx context.Context, hc *http.Client, id, secret string, form url.Values) (tokenResponse, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", s.url+"/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return tokenResponse{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := hc.Do(req)
	if err != nil {
		return tokenResponse{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return tokenResponse{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return tokenResponse{}, fmt.Errorf("POST /oauth2/token = %d %s, want 200", resp.StatusCode, body)
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil {
		return tokenResponse{}, fmt.Errorf("POST /oauth2/token: %v", err)
	}
	if tr.AccessToken == "" || tr.TokenType != "Bearer" {
		return tokenResponse{}, fmt.Errorf("POST /oauth2/token = %s, want a Bearer access token", body)
	}
	return tr, nil
}

// BenchmarkClientCredentials: POST /oauth2/token with grant_type
// client_credentials, scope orders:read, client_secret_basic, as
// latchload's client_credentials scenario sends it: one client
// authentication and one ES256 access token per request.
func BenchmarkClientCredentials(b *testing.B) {
	for _, c := range []int{1, 8} {
		b.Run(fmt.Sprintf("c=%d", c), func(b *testing.B) {
			s := newBenchServer(b, password.Params{Memory: 8 * 1024, Time: 1})
			svc, secret := s.addClient(b, client.Registration{
				Name: "svc", GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"orders:read"},
			})
			hc := &http.Client{Transport: s.transport}
			form := url.Values{"grant_type": {"client_credentials"}, "scope": {"orders:read"}}
			runWorkers(b, c, "tokens", func(int) error {
				_, err := s.tokenRequest(b.Context(), hc, svc.ID, secret, form)
				return err
			})
		})
	}
}

// BenchmarkCodeFlow: the authorization code flow with PKCE of a
// first-party confidential client, as a browser and the client's back
// end run it: GET /oauth2/authorize, then (password) the sign-in page's
// POST /login, then the back end's POST /oauth2/token exchange (an ES256
// access token and an RS256 ID token).
//
//   - password: a new browser each flow, so every flow signs in with the
//     password: one argon2id verification at the server's default cost
//     (m=19456 KiB, t=2, p=1), which dominates.
//   - sso: each worker's browser signed in once during set-up, so every
//     flow is what a further application's sign-in costs: the
//     authorization endpoint answers with a code at once, no password
//     hash.
func BenchmarkCodeFlow(b *testing.B) {
	for _, bc := range []struct {
		name string
		sso  bool
		c    int
	}{
		{name: "password/c=8", c: 8},
		{name: "sso/c=1", sso: true, c: 1},
		{name: "sso/c=8", sso: true, c: 8},
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := newBenchServer(b, password.Params{})
			hash, err := s.hasher.Hash(b.Context(), testPassword)
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now()
			u := store.User{ID: server.NewUserID(), Email: "alice@example.com", PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
			if err := s.db.CreateUser(b.Context(), u); err != nil {
				b.Fatalf("CreateUser = %v, want nil", err)
			}
			app, secret := s.addClient(b, client.Registration{
				Name:         "app",
				RedirectURIs: []string{appCallback},
				GrantTypes:   []string{client.GrantAuthorizationCode, client.GrantRefreshToken},
				Scopes:       []string{client.ScopeOpenID, client.ScopeProfile, client.ScopeEmail, client.ScopeOfflineAccess},
				FirstParty:   true,
			})
			backEnd := &http.Client{Transport: s.transport}
			browsers := make([]*benchBrowser, bc.c)
			for w := range browsers {
				browsers[w] = s.newBrowser(b)
				if bc.sso {
					if err := browsers[w].flow(b.Context(), app, secret, backEnd); err != nil {
						b.Fatalf("signing in worker %d: %v", w, err)
					}
				}
			}
			runWorkers(b, bc.c, "flows", func(w int) error {
				br := browsers[w]
				if !bc.sso {
					br = s.newBrowser(b)
				}
				return br.flow(b.Context(), app, secret, backEnd)
			})
		})
	}
}

// benchBrowser is a browser of BenchmarkCodeFlow: a cookie jar, no
// redirect followed.
type benchBrowser struct {
	base string
	hc   *http.Client
	s    *benchServer
}

func (s *benchServer) newBrowser(b *testing.B) *benchBrowser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	return &benchBrowser{base: s.url, s: s, hc: &http.Client{
		Transport:     s.transport,
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// benchInputRE finds a hidden input's name and value on the sign-in
// page, as inputRE does.
var benchInputRE = regexp.MustCompile(`<input [^>]*name="([^"]*)"[^>]*value="([^"]*)"`)

// flow runs one authorization code flow of app: authorize, sign in with
// alice's password if the browser has no session, redeem the code.
func (br *benchBrowser) flow(ctx context.Context, app store.Client, secret string, backEnd *http.Client) error {
	ar := newAuthRequest(app)
	status, loc, body, err := br.send(ctx, "GET", ar.path(), nil)
	if err != nil {
		return err
	}
	if status == http.StatusOK {
		form := url.Values{web.EmailField: {"alice@example.com"}, web.PasswordField: {testPassword}}
		for _, m := range benchInputRE.FindAllStringSubmatch(body, -1) {
			if name := html.UnescapeString(m[1]); name == web.CSRFField || name == web.RequestField {
				form.Set(name, html.UnescapeString(m[2]))
			}
		}
		if status, loc, body, err = br.send(ctx, "POST", "/login", form); err != nil {
			return err
		}
	}
	if status != http.StatusSeeOther {
		return fmt.Errorf("sign-in = %d, want 303 to the client:\n%s", status, body)
	}
	u, err := url.Parse(loc)
	if err != nil {
		return err
	}
	q := u.Query()
	if code := q.Get("code"); code == "" || q.Get("state") != ar.q.Get("state") {
		return fmt.Errorf("redirect to %q, want a code and the state", loc)
	}
	tr, err := br.s.tokenRequest(ctx, backEnd, app.ID, secret, url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {q.Get("code")},
		"redirect_uri":  {appCallback},
		"code_verifier": {ar.pkce.verifier},
	})
	if err != nil {
		return err
	}
	if tr.IDToken == "" {
		return errors.New("token response without an ID token")
	}
	return nil
}

// send sends a request (a form post when form is not nil) and returns the
// status, the Location and the body.
func (br *benchBrowser) send(ctx context.Context, method, path string, form url.Values) (int, string, string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, br.base+path, body)
	if err != nil {
		return 0, "", "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := br.hc.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", "", err
	}
	return resp.StatusCode, resp.Header.Get("Location"), string(b), nil
}

// TestClientCredentialsChangeBound checks, over HTTP, the token
// endpoint's bound on a client change that its client cache
// (client.CacheTTL) allows: a client removed, or given a new secret, gets
// no token from a request sent client.CacheTTL after the change, nor
// from any later one.
func TestClientCredentialsChangeBound(t *testing.T) {
	for _, change := range []string{"removed", "new secret"} {
		t.Run(change, func(t *testing.T) {
			o := newTokenAPI(t)
			svc, secret := o.register(client.Registration{Name: "svc", GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"orders:read"}})
			grant := url.Values{"grant_type": {"client_credentials"}}
			// Tokens in a loop, so the client is cached when it changes.
			for range 3 {
				wantStatus(t, o.post("/oauth2/token", basicAuth(svc.ID, secret), grant), http.StatusOK)
			}
			var err error
			if change == "removed" {
				err = o.db.DeleteClient(t.Context(), svc.ID)
			} else {
				_, hash, herr := client.NewSecret()
				if herr != nil {
					t.Fatal(herr)
				}
				_, err = o.db.UpdateClient(t.Context(), svc.ID, func(c store.Client) (store.Client, error) {
					c.SecretHash = hash
					return c, nil
				})
			}
			if err != nil {
				t.Fatal(err)
			}
			changed := time.Now()
			time.Sleep(time.Until(changed.Add(client.CacheTTL)))
			for range 3 {
				r := o.post("/oauth2/token", basicAuth(svc.ID, secret), grant)
				wantError(t, r, http.StatusUnauthorized, "invalid_client")
			}
		})
	}
}
