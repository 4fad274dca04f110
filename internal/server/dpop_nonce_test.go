package server_test

import (
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/client"
	"github.com/latch-auth/latch/internal/issuer"
	"github.com/latch-auth/latch/internal/login"
	"github.com/latch-auth/latch/internal/oauth"
	"github.com/latch-auth/latch/internal/server"
	"github.com/latch-auth/latch/verifier"
)

var testNonceKey = []byte("latch test DPoP nonce key, 32 bytes or more")

// nonceAt is the nonce the server hands out at t, as any node with
// testNonceKey computes it; key overrides testNonceKey.
func nonceAt(t *testing.T, at time.Time, key []byte) string {
	t.Helper()
	if key == nil {
		key = testNonceKey
	}
	n, err := verifier.NewDPoPNonces(verifier.DPoPNonceConfig{Key: key, Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	return n.Nonce()
}

// awayFromTurn waits, if needed, until the nonce period is not about to
// turn, so that "the previous period's nonce" stays that for a request.
func awayFromTurn() {
	if d := time.Until(time.Now().Truncate(verifier.DefaultDPoPNoncePeriod).Add(verifier.DefaultDPoPNoncePeriod)); d < 2*time.Second {
		time.Sleep(d + 10*time.Millisecond)
	}
}

// proofWithNonce returns a proof for method and path carrying nonce.
func (c dpopClient) proofWithNonce(method, path, accessToken, nonce string) string {
	c.t.Helper()
	p, err := verifier.NewDPoPProof(c.key, verifier.DPoPProofClaims{Method: method, URL: testIssuer + path, AccessToken: accessToken, Nonce: nonce})
	if err != nil {
		c.t.Fatal(err)
	}
	return p
}

// nonceCases are the nonces a proof may carry, and whether the server
// accepts each (RFC 9449 §8).
func nonceCases(t *testing.T) []struct {
	name, nonce string
	ok          bool
} {
	now := time.Now()
	return []struct {
		name, nonce string
		ok          bool
	}{
		{"current period", nonceAt(t, now, nil), true},
		{"previous period", nonceAt(t, now.Add(-verifier.DefaultDPoPNoncePeriod), nil), true},
		{"missing", "", false},
		{"wrong", "AAAAAAAAAAAAAAAAAAAAAAAA", false},
		{"old period", nonceAt(t, now.Add(-2*verifier.DefaultDPoPNoncePeriod), nil), false},
		{"another server secret", nonceAt(t, now, []byte(strings.Repeat("x", 32))), false},
	}
}

// wantNonceHeader checks that r carries the current nonce.
func wantNonceHeader(t *testing.T, r response) {
	t.Helper()
	if got, want := r.header.Get("DPoP-Nonce"), nonceAt(t, time.Now(), nil); got != want {
		t.Errorf("%s: DPoP-Nonce = %q, want the current nonce %q", r.req, got, want)
	}
}

func TestDPoPNonceV1(t *testing.T) {
	awayFromTurn()
	a := newAPI(t, options{dpopNonceKey: testNonceKey})
	a.addUser("alice@example.com")
	c := newDPoPClient(t)
	login := func(nonce string) response {
		return a.do(request{method: "POST", path: "/v1/login", header: http.Header{"Dpop": {c.proofWithNonce("POST", "/v1/login", "", nonce)}},
			body: jsonBody(map[string]string{"email": "alice@example.com", "password": testPassword})})
	}
	var tk tokens
	for _, tt := range nonceCases(t) {
		t.Run("login/"+tt.name, func(t *testing.T) {
			r := login(tt.nonce)
			wantNonceHeader(t, r)
			if !tt.ok {
				wantError(t, r, http.StatusBadRequest, "use_dpop_nonce")
				return
			}
			wantStatus(t, r, http.StatusOK)
			decode(t, r, &tk)
			if tk.TokenType != "DPoP" || tokenJKT(t, tk.AccessToken) != c.jkt() {
				t.Errorf("login with a nonce = token_type %q, cnf.jkt %q; want DPoP, %s", tk.TokenType, tokenJKT(t, tk.AccessToken), c.jkt())
			}
		})
	}
	if tk.AccessToken == "" {
		t.Fatal("no login succeeded")
	}
	// The server's own resources: 401 with a DPoP challenge.
	for _, tt := range nonceCases(t) {
		t.Run("me/"+tt.name, func(t *testing.T) {
			r := a.do(request{method: "GET", path: "/v1/me", header: http.Header{
				"Authorization": {"DPoP " + tk.AccessToken}, "Dpop": {c.proofWithNonce("GET", "/v1/me", tk.AccessToken, tt.nonce)},
			}})
			wantNonceHeader(t, r)
			if tt.ok {
				wantStatus(t, r, http.StatusOK)
				return
			}
			wantError(t, r, http.StatusUnauthorized, "use_dpop_nonce")
			wantDPoPChallenge(t, r, "use_dpop_nonce")
		})
	}
	// Refresh, with a nonce learnt from the refusal, as a client does.
	refresh := func(nonce string) response {
		return a.do(request{method: "POST", path: "/v1/token/refresh", header: http.Header{"Dpop": {c.proofWithNonce("POST", "/v1/token/refresh", "", nonce)}},
			body: jsonBody(map[string]string{"refresh_token": tk.RefreshToken})})
	}
	r := refresh("")
	wantError(t, r, http.StatusBadRequest, "use_dpop_nonce")
	wantStatus(t, refresh(r.header.Get("DPoP-Nonce")), http.StatusOK)

	// Requests without DPoP need no nonce; responses of other routes
	// carry none.
	wantStatus(t, a.me(a.login("alice@example.com").AccessToken), http.StatusOK)
	if r := a.do(request{method: "GET", path: "/healthz"}); r.header.Get("DPoP-Nonce") != "" {
		t.Errorf("GET /healthz has DPoP-Nonce %q, want none", r.header.Get("DPoP-Nonce"))
	}
}

// TestDPoPNonceOff: without a nonce key, proofs need no nonce and no
// response carries one.
func TestDPoPNonceOff(t *testing.T) {
	a := newAPI(t, options{})
	a.addUser("alice@example.com")
	r := a.do(request{method: "POST", path: "/v1/login", header: newDPoPClient(t).header("POST", "/v1/login", ""),
		body: jsonBody(map[string]string{"email": "alice@example.com", "password": testPassword})})
	wantStatus(t, r, http.StatusOK)
	if got := r.header.Get("DPoP-Nonce"); got != "" {
		t.Errorf("DPoP-Nonce = %q without nonces, want none", got)
	}
}

func TestDPoPNonceTokenEndpoint(t *testing.T) {
	awayFromTurn()
	o := newNonceTokenAPI(t)
	svc, secret := o.register(client.Registration{Name: "svc", GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"orders:read"}})
	c := newDPoPClient(t)
	for _, tt := range nonceCases(t) {
		t.Run(tt.name, func(t *testing.T) {
			h := basicAuth(svc.ID, secret)
			h.Set("DPoP", c.proofWithNonce("POST", "/oauth2/token", "", tt.nonce))
			r := o.post("/oauth2/token", h, url.Values{"grant_type": {"client_credentials"}})
			wantNonceHeader(t, r)
			if !tt.ok {
				wantError(t, r, http.StatusBadRequest, "use_dpop_nonce")
				return
			}
			wantStatus(t, r, http.StatusOK)
			var tok oauthTokens
			decode(t, r, &tok)
			if tok.TokenType != "DPoP" || tokenJKT(t, tok.AccessToken) != c.jkt() {
				t.Errorf("client_credentials with a nonce = token_type %q, cnf.jkt %q; want DPoP, %s", tok.TokenType, tokenJKT(t, tok.AccessToken), c.jkt())
			}
		})
	}
}

// newNonceTokenAPI is newTokenAPI with a server that requires DPoP
// nonces.
func newNonceTokenAPI(t *testing.T) *tokenAPI {
	t.Helper()
	a := newAPI(t, options{})
	iss, err := issuer.New(a.ring, issuer.Config{Issuer: testIssuer, Audience: []string{testAudience}, Now: a.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	lg := login.New(a.db, a.db, a.hasher, login.Config{})
	p, err := oauth.New(oauth.Config{Issuer: testIssuer, Audience: []string{testAudience}, Now: a.clock.Now}, oauth.Deps{
		Users: a.db, Clients: a.db, Codes: a.db, Consents: a.db, Sessions: a.sessions,
		Issuer: iss, Login: lg, Keys: a.ring, Revocations: a.db,
	})
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	srv, err := server.New(server.Config{Issuer: testIssuer, Audience: testAudience, CSRFKey: key, DPoPNonceKey: testNonceKey}, server.Deps{
		Users: a.db, Login: lg, Sessions: a.sessions, Issuer: iss, Keys: a.ring, Hasher: a.hasher,
		Ready: a.db.Ping, Clients: a.db, OAuth: p,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	a.srv, a.url, a.client = srv, hs.URL, hs.Client()
	return &tokenAPI{api: a, p: p}
}

// TestIntrospectDPoP: a DPoP-bound access token introspects with
// token_type DPoP and its binding in cnf (RFC 9449 §6.2); a Bearer token
// has neither.
func TestIntrospectDPoP(t *testing.T) {
	a, auth := introspectAPI(t)
	a.addUser("alice@example.com")
	c := newDPoPClient(t)
	bound := a.dpopLogin(c, "alice@example.com")
	plain := a.login("alice@example.com")
	tests := []struct {
		name, token, wantType, wantJKT string
	}{
		{"DPoP-bound access token", bound.AccessToken, "DPoP", c.jkt()},
		{"Bearer access token", plain.AccessToken, "Bearer", ""},
		{"refresh token of a DPoP session", bound.RefreshToken, "refresh_token", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.introspectRaw(auth, url.Values{"token": {tt.token}})
			wantStatus(t, r, http.StatusOK)
			var res struct {
				Active    bool   `json:"active"`
				TokenType string `json:"token_type"`
				Cnf       *struct {
					JKT string `json:"jkt"`
				} `json:"cnf"`
			}
			if err := json.Unmarshal(r.body, &res); err != nil {
				t.Fatal(err)
			}
			gotJKT := ""
			if res.Cnf != nil {
				gotJKT = res.Cnf.JKT
			}
			if !res.Active || res.TokenType != tt.wantType || gotJKT != tt.wantJKT {
				t.Errorf("introspect = active %v, token_type %q, cnf.jkt %q; want true, %q, %q", res.Active, res.TokenType, gotJKT, tt.wantType, tt.wantJKT)
			}
		})
	}
}

// TestDiscoveryDPoPAlgs: the metadata names the proof algorithms the
// server accepts (RFC 9449 §5.1), asymmetric ones only.
func TestDiscoveryDPoPAlgs(t *testing.T) {
	a := newAPI(t, options{})
	r := a.do(request{method: "GET", path: "/.well-known/openid-configuration"})
	wantStatus(t, r, http.StatusOK)
	var doc struct {
		Algs []string `json:"dpop_signing_alg_values_supported"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(doc.Algs, "ES256") || slices.ContainsFunc(doc.Algs, func(a string) bool { return strings.HasPrefix(a, "HS") || a == "none" }) {
		t.Errorf("dpop_signing_alg_values_supported = %q, want ES256 and no symmetric algorithm", doc.Algs)
	}
}
