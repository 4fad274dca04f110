package main

// End-to-end tests of the revocation feed: "latch serve" as a separate
// process, administered with the CLI, and resource services built on the
// verifier package following its feed over real HTTP.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/sqlite"
	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/revocation"
	"github.com/latch-auth/latch/verifier"
)

// propagationBound is how long a revocation may take to reach a
// following verifier in these tests: generous for a loaded CI machine,
// and still far below the access tokens' ten-minute lifetime. (The
// propagation benchmark measures the real figure.)
const propagationBound = 5 * time.Second

var clientLines = regexp.MustCompile(`(?m)^client_id:\s+(\S+)\nclient_secret:\s+(\S+)$`)

// addClient runs "latch client add" and returns the credentials it
// printed.
func addClient(t *testing.T, data, name string, scopes ...string) (id, secret string) {
	t.Helper()
	args := []string{"client", "add", "--data", data, "--name", name}
	for _, s := range scopes {
		args = append(args, "--scope", s)
	}
	out := mustCLI(t, "", args...)
	m := clientLines.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("latch %s = %q, want client_id and client_secret lines", strings.Join(args, " "), out)
	}
	return m[1], m[2]
}

// feedFixture is a running server with a user and a service client.
type feedFixture struct {
	d              *daemon
	data           string
	aliceID        string
	clientID       string
	clientSecret   string
	alice, bobMail string
}

func newFeedFixture(t *testing.T, args ...string) *feedFixture {
	t.Helper()
	data := t.TempDir()
	f := &feedFixture{data: data, alice: "alice@example.com", bobMail: "bob@example.com"}
	f.aliceID = addUser(t, data, f.alice, alicePassword, "admin")
	addUser(t, data, f.bobMail, alicePassword)
	f.clientID, f.clientSecret = addClient(t, data, "orders", "revocations:read")
	f.d = startDaemon(t, data, nil, append([]string{"--addr", "127.0.0.1:0"}, args...)...)
	return f
}

// newVerifier returns a verifier of the fixture's server, following its
// feed through the address feedAddr (the server's, or a proxy's).
func (f *feedFixture) newVerifier(t *testing.T, feedAddr string, cfg verifier.Config) *verifier.Verifier {
	t.Helper()
	cfg.Issuers = []verifier.Issuer{{
		Issuer: f.d.issuer, Audience: f.d.audience,
		JWKSURL:  f.d.url + "/.well-known/jwks.json",
		ClientID: f.clientID, ClientSecret: f.clientSecret,
		RevocationsURL: "http://" + feedAddr + "/v1/revocations",
	}}
	ctx, cancel := context.WithTimeout(t.Context(), daemonTimeout)
	defer cancel()
	v, err := verifier.New(ctx, cfg)
	if err != nil {
		t.Fatalf("verifier.New following %s: %v", f.d.url, err)
	}
	t.Cleanup(v.Close)
	return v
}

// waitRevoked waits until v refuses tok as revoked and returns how long
// that took; it fails the test past propagationBound.
func waitRevoked(t *testing.T, v *verifier.Verifier, tok string) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		_, err := v.Verify(t.Context(), tok)
		if errors.Is(err, revocation.ErrRevoked) {
			return time.Since(start)
		}
		if err != nil {
			t.Fatalf("Verify(token) = %v while waiting for revocation, want nil or %v", err, revocation.ErrRevoked)
		}
		if time.Since(start) > propagationBound {
			t.Fatalf("token still accepted %v after its revocation", propagationBound)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func mustVerify(t *testing.T, v *verifier.Verifier, tok, what string) jwt.Claims {
	t.Helper()
	c, err := v.Verify(t.Context(), tok)
	if err != nil {
		t.Fatalf("Verify(%s) = %v, want it valid", what, err)
	}
	return c
}

// TestRevocationReachesVerifier revokes tokens through every source the
// server has and checks that a verifier following the feed refuses them
// well before they expire, and keeps accepting the tokens that were not
// revoked.
func TestRevocationReachesVerifier(t *testing.T) {
	t.Parallel()
	f := newFeedFixture(t, "--refresh-grace", "1ms")
	d := f.d
	v := f.newVerifier(t, d.addr, verifier.Config{})

	tests := []struct {
		name string
		// revoke revokes the token of login a (b is another login of the
		// same user) and returns the tokens that must stay valid.
		revoke func(t *testing.T, a, b serveTokens) []string
	}{
		{"logout", func(t *testing.T, a, b serveTokens) []string {
			d.mustCall(http.StatusOK, "POST", "/v1/logout", "", a.AccessToken)
			return []string{b.AccessToken}
		}},
		{"logout others", func(t *testing.T, a, b serveTokens) []string {
			d.mustCall(http.StatusOK, "POST", "/v1/logout", `{"scope":"others"}`, b.AccessToken)
			return []string{b.AccessToken}
		}},
		{"logout all", func(t *testing.T, a, b serveTokens) []string {
			d.mustCall(http.StatusOK, "POST", "/v1/logout", `{"scope":"all"}`, b.AccessToken)
			return nil
		}},
		{"delete session", func(t *testing.T, a, b serveTokens) []string {
			d.mustCall(http.StatusNoContent, "DELETE", "/v1/sessions/"+a.SessionID, "", b.AccessToken)
			return []string{b.AccessToken}
		}},
		{"refresh token reuse", func(t *testing.T, a, b serveTokens) []string {
			var next serveTokens
			if err := json.Unmarshal(d.mustCall(http.StatusOK, "POST", "/v1/token/refresh", refreshBody(a.RefreshToken), ""), &next); err != nil {
				t.Fatal(err)
			}
			// Once its successor is used, the first token is a reuse.
			d.mustCall(http.StatusOK, "POST", "/v1/token/refresh", refreshBody(next.RefreshToken), "")
			time.Sleep(5 * time.Millisecond) // past the 1 ms grace window
			d.wantErrorCode(http.StatusBadRequest, "invalid_grant", "POST", "/v1/token/refresh", refreshBody(a.RefreshToken), "")
			return []string{b.AccessToken}
		}},
		{"admin revoke jti", func(t *testing.T, a, b serveTokens) []string {
			c := mustVerify(t, v, a.AccessToken, "token a")
			mustCLI(t, "", "revoke", "--data", f.data, "--jti", c.ID)
			return []string{b.AccessToken}
		}},
		{"admin revoke sid", func(t *testing.T, a, b serveTokens) []string {
			mustCLI(t, "", "revoke", "--data", f.data, "--sid", a.SessionID)
			return []string{b.AccessToken}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := d.login(f.bobMail, alicePassword), d.login(f.bobMail, alicePassword)
			mustVerify(t, v, a.AccessToken, "token a before revocation")
			kept := tt.revoke(t, a, b)
			took := waitRevoked(t, v, a.AccessToken)
			t.Logf("%s: refused %v after the revoking call returned", tt.name, took)
			for _, tok := range kept {
				mustVerify(t, v, tok, "the other session's token")
			}
		})
	}
}

// TestRevocationOfUser covers the sources that revoke every token of a
// user: password change, disabling, an operator's revoke --sub, and a
// role change, after which a refresh yields an accepted token with the
// new roles.
func TestRevocationOfUser(t *testing.T) {
	t.Parallel()
	f := newFeedFixture(t)
	d := f.d
	v := f.newVerifier(t, d.addr, verifier.Config{})

	t.Run("role change", func(t *testing.T) {
		a := d.login(f.alice, alicePassword)
		if c := mustVerify(t, v, a.AccessToken, "token with role admin"); !c.HasRole("admin") {
			t.Fatalf("roles = %v, want admin", c.Roles)
		}
		mustCLI(t, "", "user", "roles", "--data", f.data, "--email", f.alice, "--set", "viewer")
		waitRevoked(t, v, a.AccessToken)
		var next serveTokens
		if err := json.Unmarshal(d.mustCall(http.StatusOK, "POST", "/v1/token/refresh", refreshBody(a.RefreshToken), ""), &next); err != nil {
			t.Fatal(err)
		}
		c := mustVerify(t, v, next.AccessToken, "the refreshed token")
		if c.HasRole("admin") || !c.HasRole("viewer") {
			t.Errorf("refreshed token roles = %v, want [viewer]", c.Roles)
		}
	})
	t.Run("admin revoke sub", func(t *testing.T) {
		a := d.login(f.alice, alicePassword)
		mustCLI(t, "", "revoke", "--data", f.data, "--sub", f.aliceID)
		waitRevoked(t, v, a.AccessToken)
		d.wantErrorCode(http.StatusBadRequest, "invalid_grant", "POST", "/v1/token/refresh", refreshBody(a.RefreshToken), "")
	})
	t.Run("password change", func(t *testing.T) {
		a := d.login(f.alice, alicePassword)
		mustCLI(t, alicePassword+"\n", "user", "passwd", "--data", f.data, "--email", f.alice, "--password-stdin")
		waitRevoked(t, v, a.AccessToken)
	})
	t.Run("disable", func(t *testing.T) {
		a := d.login(f.alice, alicePassword)
		mustCLI(t, "", "user", "disable", "--data", f.data, "--email", f.alice)
		waitRevoked(t, v, a.AccessToken)
	})
}

// TestRevocationOfKey revokes the signing key: its tokens are refused at
// once, and the server signs with a replacement that verifiers accept.
func TestRevocationOfKey(t *testing.T) {
	t.Parallel()
	f := newFeedFixture(t)
	d := f.d
	v := f.newVerifier(t, d.addr, verifier.Config{})
	a := d.login(f.alice, alicePassword)
	kid := tokenKid(t, a.AccessToken)
	out := mustCLI(t, "", "keys", "revoke", "--data", f.data, "--kid", kid)
	if !strings.Contains(out, "revoked key "+kid) || !strings.Contains(out, "it signs now") {
		t.Fatalf("latch keys revoke = %q, want the key revoked and a replacement", out)
	}
	waitRevoked(t, v, a.AccessToken)
	// The server stops signing with it as soon as it sees the event.
	deadline := time.Now().Add(propagationBound)
	for {
		b := d.login(f.alice, alicePassword)
		if tokenKid(t, b.AccessToken) != kid {
			mustVerify(t, v, b.AccessToken, "a token of the replacement key")
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server still signs with the revoked key %s after %v", kid, propagationBound)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var jwks struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(d.mustCall(http.StatusOK, "GET", "/.well-known/jwks.json", "", ""), &jwks); err != nil {
		t.Fatal(err)
	}
	for _, k := range jwks.Keys {
		if k.Kid == kid {
			t.Errorf("JWKS still publishes the revoked key %s", kid)
		}
	}
}

// tokenKid reads the "kid" of a token's header.
func tokenKid(t *testing.T, tok string) string {
	t.Helper()
	var h struct {
		Kid string `json:"kid"`
	}
	hdr, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err == nil {
		err = json.Unmarshal(hdr, &h)
	}
	if err != nil || h.Kid == "" {
		t.Fatalf("token header: %v, want a kid", err)
	}
	return h.Kid
}

// cutProxy forwards TCP connections to a target until it is cut: then it
// drops every connection and refuses new ones until restored, as a
// network partition would.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]bool
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); p.setCut(true) })
	go p.serve()
	return p
}

func (p *cutProxy) addr() string { return p.ln.Addr().String() }

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[up] = true, true
		p.mu.Unlock()
		go func() { io.Copy(up, c); up.Close() }()
		go func() { io.Copy(c, up); c.Close() }()
	}
}

func (p *cutProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

// TestRevocationCatchUpAfterPartition cuts a verifier off its feed,
// revokes a token meanwhile, and checks that the verifier refuses it once
// it reconnects, resuming from its cursor.
func TestRevocationCatchUpAfterPartition(t *testing.T) {
	t.Parallel()
	f := newFeedFixture(t)
	d := f.d
	proxy := newCutProxy(t, d.addr)
	v := f.newVerifier(t, proxy.addr(), verifier.Config{})
	a := d.login(f.alice, alicePassword)
	mustVerify(t, v, a.AccessToken, "token before the partition")
	before := v.Stats().Issuers[0].Feed.Reconnects

	proxy.setCut(true)
	d.mustCall(http.StatusOK, "POST", "/v1/logout", "", a.AccessToken)
	// Cut off, the verifier cannot know yet, and within its staleness
	// budget it keeps accepting the token.
	time.Sleep(300 * time.Millisecond)
	mustVerify(t, v, a.AccessToken, "token during the partition")

	proxy.setCut(false)
	waitRevoked(t, v, a.AccessToken)
	if st := v.Stats().Issuers[0].Feed; st.Reconnects <= before || st.Lag != 0 {
		t.Errorf("feed stats after the partition = %+v, want more than %d reconnects and no lag", st, before)
	}
}

// TestFeedRefusesUnauthenticated checks that the feed reveals nothing
// without a client credential that has the scope.
func TestFeedRefusesUnauthenticated(t *testing.T) {
	t.Parallel()
	f := newFeedFixture(t)
	d := f.d
	otherID, otherSecret := addClient(t, f.data, "reports", "introspect")
	for _, tt := range []struct {
		name         string
		id, secret   string
		status       int
		code, header string
	}{
		{"no credentials", "", "", http.StatusUnauthorized, "invalid_client", `Basic realm="latch"`},
		{"wrong secret", f.clientID, f.clientSecret + "x", http.StatusUnauthorized, "invalid_client", `Basic realm="latch"`},
		{"unknown client", "c_0000", f.clientSecret, http.StatusUnauthorized, "invalid_client", `Basic realm="latch"`},
		{"client without the scope", otherID, otherSecret, http.StatusForbidden, "insufficient_scope", ""},
	} {
		for _, path := range []string{"/v1/revocations", "/v1/revocations/stream"} {
			t.Run(tt.name+" "+path, func(t *testing.T) {
				req, _ := http.NewRequest("GET", d.url+path, nil)
				if tt.id != "" {
					req.SetBasicAuth(tt.id, tt.secret)
				}
				resp, err := httpClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var e struct {
					Error string `json:"error"`
				}
				json.NewDecoder(resp.Body).Decode(&e)
				if resp.StatusCode != tt.status || e.Error != tt.code {
					t.Errorf("GET %s = %d %q, want %d %q", path, resp.StatusCode, e.Error, tt.status, tt.code)
				}
				if got := resp.Header.Get("WWW-Authenticate"); tt.header != "" && got != tt.header {
					t.Errorf("WWW-Authenticate = %q, want %q", got, tt.header)
				}
			})
		}
	}
	t.Run("verifier with a wrong secret fails fast", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), daemonTimeout)
		defer cancel()
		_, err := verifier.New(ctx, verifier.Config{FetchTimeout: time.Second, Issuers: []verifier.Issuer{{
			Issuer: d.issuer, Audience: d.audience, JWKSURL: d.url + "/.well-known/jwks.json",
			ClientID: f.clientID, ClientSecret: "wrong",
		}}})
		if err == nil || !strings.Contains(err.Error(), "revocation feed") {
			t.Errorf("verifier.New with a wrong secret = %v, want a revocation feed error", err)
		}
	})
}

// TestTokenVerifyAtIssuer checks "latch token verify --issuer-url" with
// the feed: a revoked token is refused from the command line too.
func TestTokenVerifyAtIssuer(t *testing.T) {
	t.Parallel()
	f := newFeedFixture(t)
	d := f.d
	a := d.login(f.alice, alicePassword)
	args := []string{"token", "verify", "--issuer-url", d.url, "--aud", d.audience, "--client-id", f.clientID, "--client-secret-stdin", a.AccessToken}
	r := cli(t, f.clientSecret+"\n", nil, args...)
	if r.code != 0 || !strings.Contains(r.stdout, f.aliceID) {
		t.Fatalf("latch token verify --issuer-url (valid token) = exit %d, %q, %q; want 0 and the claims", r.code, r.stdout, r.stderr)
	}
	d.mustCall(http.StatusOK, "POST", "/v1/logout", "", a.AccessToken)
	r = cli(t, f.clientSecret+"\n", nil, args...)
	if r.code != 1 || !strings.Contains(r.stderr, "revoked") {
		t.Errorf("latch token verify --issuer-url (revoked token) = exit %d, %q; want 1 and \"revoked\"", r.code, r.stderr)
	}
	// Without the feed the same command only checks the signature.
	r = cli(t, "", nil, "token", "verify", "--issuer-url", d.url, "--aud", d.audience, a.AccessToken)
	if r.code != 0 {
		t.Errorf("latch token verify --issuer-url without --client-id = exit %d, %q; want 0", r.code, r.stderr)
	}
	wantCLI(t, 2, "--client-secret-stdin needs --client-id", "token", "verify", "--issuer-url", d.url, "--aud", "x", "--client-secret-stdin", "t.t.t")
	wantCLI(t, 2, "not both", "token", "verify", "--issuer-url", d.url, "--key", "k.json", "--aud", "x", "t.t.t")
}

// TestRevocationSnapshotAfterPruning cuts a verifier off, lets the
// server prune a record past the verifier's cursor while a logout is
// recorded, and checks that the verifier, on reconnecting, reads the
// snapshot of every revocation in force and refuses the token.
func TestRevocationSnapshotAfterPruning(t *testing.T) {
	t.Parallel()
	f := newFeedFixture(t)
	d := f.d
	proxy := newCutProxy(t, d.addr)
	v := f.newVerifier(t, proxy.addr(), verifier.Config{})
	a := d.login(f.alice, alicePassword)
	mustVerify(t, v, a.AccessToken, "token before the partition")

	proxy.setCut(true)
	// A second handle on the server's database, as an operator's tool
	// would open it: a record that expires at once, then the logout, then
	// the pruning the server runs periodically.
	db, err := sqlite.Open(t.Context(), filepath.Join(f.data, databaseFile), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Now()
	if _, err := db.AddRevocation(t.Context(), store.Revocation{
		Kind: store.KindToken, Subject: "expired-jti", Reason: store.ReasonAdmin, At: now.Add(-time.Hour), Expires: now.Add(-time.Minute),
	}); err != nil {
		t.Fatal(err)
	}
	d.mustCall(http.StatusOK, "POST", "/v1/logout", "", a.AccessToken)
	if n, err := db.PruneRevocations(t.Context(), now); err != nil || n != 1 {
		t.Fatalf("PruneRevocations(now) = %d, %v, want 1, nil", n, err)
	}
	snapshots := v.Stats().Issuers[0].Feed.Snapshots

	proxy.setCut(false)
	waitRevoked(t, v, a.AccessToken)
	if st := v.Stats().Issuers[0].Feed; st.Snapshots != snapshots+1 {
		t.Errorf("feed snapshots after reconnecting = %d, want %d: the cursor was pruned", st.Snapshots, snapshots+1)
	}
}

// TestRequireFreshAgainstServer checks the per-route strict mode with the
// real introspection endpoint: with the feed cut off, a logged-out token
// still passes Require (within the staleness budget) but RequireFresh
// refuses it at once.
func TestRequireFreshAgainstServer(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	addUser(t, data, "alice@example.com", alicePassword)
	id, secret := addClient(t, data, "payments", "revocations:read", "introspect")
	d := startDaemon(t, data, nil, "--addr", "127.0.0.1:0")
	proxy := newCutProxy(t, d.addr)
	ctx, cancel := context.WithTimeout(t.Context(), daemonTimeout)
	defer cancel()
	v, err := verifier.New(ctx, verifier.Config{Issuers: []verifier.Issuer{{
		Issuer: d.issuer, Audience: d.audience, JWKSURL: d.url + "/.well-known/jwks.json",
		ClientID: id, ClientSecret: secret,
		RevocationsURL:   "http://" + proxy.addr() + "/v1/revocations",
		IntrospectionURL: d.url + "/oauth2/introspect",
	}}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) })
	mux := http.NewServeMux()
	mux.Handle("GET /orders", v.Require(ok))
	mux.Handle("POST /payments", v.RequireFresh(ok))
	svc := httptest.NewServer(mux)
	defer svc.Close()
	call := func(method, path, tok string) int {
		req, _ := http.NewRequest(method, svc.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	a := d.login("alice@example.com", alicePassword)
	if got := call("POST", "/payments", a.AccessToken); got != http.StatusOK {
		t.Fatalf("RequireFresh route with a valid token = %d, want 200", got)
	}
	proxy.setCut(true)
	d.mustCall(http.StatusOK, "POST", "/v1/logout", "", a.AccessToken)
	if got := call("GET", "/orders", a.AccessToken); got != http.StatusOK {
		t.Errorf("Require route, feed cut off, logged-out token = %d, want 200 (the feed cannot tell yet)", got)
	}
	if got := call("POST", "/payments", a.AccessToken); got != http.StatusUnauthorized {
		t.Errorf("RequireFresh route, logged-out token = %d, want 401 at once", got)
	}
}

// TestClientAndRevokeCommands covers the administration commands' own
// behaviour: listing without secrets, removal, and refusals.
func TestClientAndRevokeCommands(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	addUser(t, data, "alice@example.com", alicePassword)
	id, secret := addClient(t, data, "orders", "revocations:read,introspect")
	out := mustCLI(t, "", "client", "list", "--data", data, "--json")
	var list []struct {
		ID     string   `json:"client_id"`
		Name   string   `json:"name"`
		Scopes []string `json:"scopes"`
	}
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 1 || list[0].ID != id || list[0].Name != "orders" || len(list[0].Scopes) != 2 {
		t.Fatalf("latch client list --json = %q, %v; want the one client with two scopes", out, err)
	}
	if strings.Contains(out, secret) {
		t.Error("latch client list shows the secret")
	}
	for _, tt := range []struct {
		name    string
		code    int
		pattern string
		args    []string
	}{
		{"duplicate name", 1, "already exists", []string{"client", "add", "--data", data, "--name", "orders", "--scope", "introspect"}},
		{"no scope", 2, "--scope is required", []string{"client", "add", "--data", data, "--name", "x"}},
		{"unknown scope", 1, "scope", []string{"client", "add", "--data", data, "--name", "x", "--scope", "admin:all"}},
		{"revoke two kinds", 2, "exactly one of", []string{"revoke", "--data", data, "--jti", "a", "--sid", "b"}},
		{"revoke nothing", 2, "exactly one of", []string{"revoke", "--data", data}},
		{"revoke unknown session", 1, "no session", []string{"revoke", "--data", data, "--sid", "0123456789abcdef0123456789abcdef"}},
		{"revoke unknown user", 1, "no user", []string{"revoke", "--data", data, "--sub", "u_nobody"}},
		{"roles without --set", 2, "--set is required", []string{"user", "roles", "--data", data, "--email", "alice@example.com"}},
		{"roles with a bad role", 1, "role", []string{"user", "roles", "--data", data, "--email", "alice@example.com", "--set", "a b"}},
		{"keys revoke unknown", 1, "unknown key", []string{"keys", "revoke", "--data", data, "--kid", "nope"}},
	} {
		t.Run(tt.name, func(t *testing.T) { wantCLI(t, tt.code, tt.pattern, tt.args...) })
	}
	out = mustCLI(t, "", "client", "remove", "--data", data, "--id", id)
	if !strings.Contains(out, "removed client "+id) {
		t.Errorf("latch client remove = %q", out)
	}
	wantCLI(t, 1, "no client with ID", "client", "remove", "--data", data, "--id", id)
	if out := mustCLI(t, "", "client", "list", "--data", data, "--json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("latch client list after remove = %q, want []", out)
	}
}
