package server_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/client"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/verifier"
)

// dpopClient is a Go DPoP client: a key of its own, and proofs for the
// server's URLs (the issuer's, as the server compares "htu" with it).
type dpopClient struct {
	t   *testing.T
	key *jose.Key
}

func newDPoPClient(t *testing.T) dpopClient {
	t.Helper()
	k, err := jose.GenerateKey(jose.ES256)
	if err != nil {
		t.Fatal(err)
	}
	return dpopClient{t: t, key: k}
}

func (c dpopClient) jkt() string { return verifier.Thumbprint(c.key) }

// proof returns a proof for method and path, for accessToken if set.
func (c dpopClient) proof(method, path, accessToken string) string {
	c.t.Helper()
	p, err := verifier.NewDPoPProof(c.key, verifier.DPoPProofClaims{Method: method, URL: testIssuer + path, AccessToken: accessToken})
	if err != nil {
		c.t.Fatal(err)
	}
	return p
}

func (c dpopClient) header(method, path, accessToken string) http.Header {
	h := http.Header{"Dpop": {c.proof(method, path, accessToken)}}
	if accessToken != "" {
		h.Set("Authorization", "DPoP "+accessToken)
	}
	return h
}

// tokenJKT returns the cnf.jkt claim of an access token, unverified.
func tokenJKT(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("access token has %d parts", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Cnf struct {
			JKT string `json:"jkt"`
		} `json:"cnf"`
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c.Cnf.JKT
}

// wantDPoPChallenge checks the WWW-Authenticate header of a refusal.
func wantDPoPChallenge(t *testing.T, r response, code string) {
	t.Helper()
	if got := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(got, `DPoP error="`+code+`"`) {
		t.Errorf("%s: WWW-Authenticate = %q, want a DPoP challenge with %s", r.req, got, code)
	}
}

func (a *api) dpopLogin(c dpopClient, email string) tokens {
	a.t.Helper()
	r := a.do(request{method: "POST", path: "/v1/login", header: c.header("POST", "/v1/login", ""),
		body: jsonBody(map[string]string{"email": email, "password": testPassword})})
	wantStatus(a.t, r, http.StatusOK)
	var tk tokens
	decode(a.t, r, &tk)
	if tk.TokenType != "DPoP" || tokenJKT(a.t, tk.AccessToken) != c.jkt() {
		a.t.Fatalf("POST /v1/login with DPoP = token_type %q, cnf.jkt %q; want DPoP, %s", tk.TokenType, tokenJKT(a.t, tk.AccessToken), c.jkt())
	}
	return tk
}

func TestDPoPV1(t *testing.T) {
	a := newAPI(t, options{})
	a.addUser("alice@example.com")
	c := newDPoPClient(t)
	thief := newDPoPClient(t)
	tk := a.dpopLogin(c, "alice@example.com")

	sess, err := a.db.SessionByID(t.Context(), tk.SessionID)
	if err != nil || sess.DPoPJKT != c.jkt() {
		t.Fatalf("session of a DPoP login: DPoPJKT %q, %v; want %s", sess.DPoPJKT, err, c.jkt())
	}

	r := a.do(request{method: "GET", path: "/v1/me", header: c.header("GET", "/v1/me", tk.AccessToken)})
	wantStatus(t, r, http.StatusOK)

	replayed := c.proof("GET", "/v1/me", tk.AccessToken)
	wantStatus(t, a.do(request{method: "GET", path: "/v1/me", header: http.Header{"Authorization": {"DPoP " + tk.AccessToken}, "Dpop": {replayed}}}), http.StatusOK)

	attacks := []struct {
		name   string
		header http.Header
		code   string
	}{
		{"bound token as Bearer", http.Header{"Authorization": {"Bearer " + tk.AccessToken}}, "invalid_token"},
		{"no proof", http.Header{"Authorization": {"DPoP " + tk.AccessToken}}, "invalid_dpop_proof"},
		{"replayed proof", http.Header{"Authorization": {"DPoP " + tk.AccessToken}, "Dpop": {replayed}}, "invalid_dpop_proof"},
		{"proof for another URL", http.Header{"Authorization": {"DPoP " + tk.AccessToken}, "Dpop": {c.proof("GET", "/v1/sessions", tk.AccessToken)}}, "invalid_dpop_proof"},
		{"proof for another method", http.Header{"Authorization": {"DPoP " + tk.AccessToken}, "Dpop": {c.proof("POST", "/v1/me", tk.AccessToken)}}, "invalid_dpop_proof"},
		{"token moved to another key", thief.header("GET", "/v1/me", tk.AccessToken), "invalid_token"},
	}
	for _, tt := range attacks {
		t.Run(tt.name, func(t *testing.T) {
			r := a.do(request{method: "GET", path: "/v1/me", header: tt.header})
			wantError(t, r, http.StatusUnauthorized, tt.code)
			wantDPoPChallenge(t, r, tt.code)
		})
	}

	refresh := func(h http.Header) response {
		return a.do(request{method: "POST", path: "/v1/token/refresh", header: h, body: jsonBody(map[string]string{"refresh_token": tk.RefreshToken})})
	}
	// A stolen refresh token is useless without the key, and using it
	// rotates nothing.
	wantError(t, refresh(nil), http.StatusBadRequest, "invalid_dpop_proof")
	wantError(t, refresh(thief.header("POST", "/v1/token/refresh", "")), http.StatusBadRequest, "invalid_grant")
	wantError(t, refresh(http.Header{"Dpop": {c.proof("POST", "/v1/login", "")}}), http.StatusBadRequest, "invalid_dpop_proof")
	r = refresh(c.header("POST", "/v1/token/refresh", ""))
	wantStatus(t, r, http.StatusOK)
	var next tokens
	decode(t, r, &next)
	if next.TokenType != "DPoP" || tokenJKT(t, next.AccessToken) != c.jkt() {
		t.Errorf("refresh with DPoP = token_type %q, cnf.jkt %q; want DPoP, %s", next.TokenType, tokenJKT(t, next.AccessToken), c.jkt())
	}

	// An unbound login still gets Bearer tokens, which work as before.
	plain := a.login("alice@example.com")
	wantStatus(t, a.me(plain.AccessToken), http.StatusOK)
	wantError(t, a.do(request{method: "GET", path: "/v1/me", header: c.header("GET", "/v1/me", plain.AccessToken)}), http.StatusUnauthorized, "invalid_token")
}

func TestDPoPLoginRefusesBadProofs(t *testing.T) {
	a := newAPI(t, options{})
	a.addUser("alice@example.com")
	c := newDPoPClient(t)
	stale, err := verifier.NewDPoPProof(c.key, verifier.DPoPProofClaims{Method: "POST", URL: testIssuer + "/v1/login", IssuedAt: time.Now().Add(-10 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	hs, err := jose.NewHMACKey(jose.HS256, []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	hsProof, err := jose.Sign(hs, []byte(`{"jti":"a","htm":"POST","htu":"`+testIssuer+`/v1/login","iat":`+jsonInt(time.Now().Unix())+`}`), jose.SignOptions{Type: "dpop+jwt"})
	if err != nil {
		t.Fatal(err)
	}
	none := base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"dpop+jwt","alg":"none"}`)) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(`{"jti":"b","htm":"POST","htu":"`+testIssuer+`/v1/login","iat":`+jsonInt(time.Now().Unix())+`}`)) + "."
	for _, tt := range []struct{ name, proof string }{
		{"stale iat", stale},
		{"HS256", hsProof},
		{"alg none", none},
		{"another URL", c.proof("POST", "/v1/signup", "")},
		{"garbage", "not.a.proof"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := a.snapshot(store.User{})
			r := a.do(request{method: "POST", path: "/v1/login", header: http.Header{"Dpop": {tt.proof}},
				body: jsonBody(map[string]string{"email": "alice@example.com", "password": testPassword})})
			wantError(t, r, http.StatusBadRequest, "invalid_dpop_proof")
			if !a.snapshot(store.User{}).equal(before) {
				t.Errorf("a refused DPoP login changed the database")
			}
		})
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestDPoPTokenEndpoint(t *testing.T) {
	o := newTokenAPI(t)
	alice := o.addUser("alice@example.com")
	c := newDPoPClient(t)
	thief := newDPoPClient(t)
	app, _ := o.register(client.Registration{
		Name: "spa", Type: store.ClientPublic, AuthMethod: client.AuthNone, RedirectURIs: []string{tokenRedirect}, FirstParty: true,
		GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken}, Scopes: []string{"openid"},
	})
	code, pkce := o.code(app, alice, "openid")
	r := o.post("/oauth2/token", c.header("POST", "/oauth2/token", ""), url.Values{
		"grant_type": {"authorization_code"}, "client_id": {app.ID}, "code": {code}, "redirect_uri": {tokenRedirect}, "code_verifier": {pkce},
	})
	wantStatus(t, r, http.StatusOK)
	var tok oauthTokens
	decode(t, r, &tok)
	if tok.TokenType != "DPoP" || tokenJKT(t, tok.AccessToken) != c.jkt() {
		t.Fatalf("code grant with DPoP = token_type %q, cnf.jkt %q; want DPoP, %s", tok.TokenType, tokenJKT(t, tok.AccessToken), c.jkt())
	}
	// userinfo takes the bound token with its proof only.
	wantStatus(t, o.do(request{method: "GET", path: "/oauth2/userinfo", header: c.header("GET", "/oauth2/userinfo", tok.AccessToken)}), http.StatusOK)
	wantError(t, o.do(request{method: "GET", path: "/oauth2/userinfo", bearer: tok.AccessToken}), http.StatusUnauthorized, "invalid_token")

	refresh := func(h http.Header) response {
		return o.post("/oauth2/token", h, url.Values{"grant_type": {"refresh_token"}, "client_id": {app.ID}, "refresh_token": {tok.RefreshToken}})
	}
	wantError(t, refresh(nil), http.StatusBadRequest, "invalid_dpop_proof")
	wantError(t, refresh(thief.header("POST", "/oauth2/token", "")), http.StatusBadRequest, "invalid_grant")
	r = refresh(c.header("POST", "/oauth2/token", ""))
	wantStatus(t, r, http.StatusOK)
	var next oauthTokens
	decode(t, r, &next)
	if next.TokenType != "DPoP" || tokenJKT(t, next.AccessToken) != c.jkt() {
		t.Errorf("refresh with DPoP = token_type %q, cnf.jkt %q; want DPoP, %s", next.TokenType, tokenJKT(t, next.AccessToken), c.jkt())
	}

	// Client credentials with a proof: a bound token. A client that must
	// use DPoP is refused without one.
	svc, secret := o.register(client.Registration{Name: "svc", GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"orders:read"}})
	h := c.header("POST", "/oauth2/token", "")
	for k, v := range basicAuth(svc.ID, secret) {
		h[k] = v
	}
	r = o.post("/oauth2/token", h, url.Values{"grant_type": {"client_credentials"}})
	wantStatus(t, r, http.StatusOK)
	decode(t, r, &tok)
	if tok.TokenType != "DPoP" || tokenJKT(t, tok.AccessToken) != c.jkt() {
		t.Errorf("client_credentials with DPoP = token_type %q, cnf.jkt %q; want DPoP, %s", tok.TokenType, tokenJKT(t, tok.AccessToken), c.jkt())
	}
	strict, strictSecret := o.register(client.Registration{Name: "strict", GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"orders:read"}})
	if _, err := o.db.UpdateClient(t.Context(), strict.ID, func(old store.Client) (store.Client, error) {
		old.RequireDPoP = true
		return old, nil
	}); err != nil {
		t.Fatal(err)
	}
	r = o.post("/oauth2/token", basicAuth(strict.ID, strictSecret), url.Values{"grant_type": {"client_credentials"}})
	wantError(t, r, http.StatusBadRequest, "invalid_dpop_proof")
	wantDPoPChallenge(t, r, "invalid_dpop_proof")
	h = c.header("POST", "/oauth2/token", "")
	for k, v := range basicAuth(strict.ID, strictSecret) {
		h[k] = v
	}
	wantStatus(t, o.post("/oauth2/token", h, url.Values{"grant_type": {"client_credentials"}}), http.StatusOK)
}
