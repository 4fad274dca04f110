package server_test

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
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
	"github.com/latch-auth/latch/internal/session"
	"github.com/latch-auth/latch/internal/store"
)

// tokenAPI is the API with the OAuth provider, for the token endpoint
// tests.
type tokenAPI struct {
	*api
	p *oauth.Provider
}

// newTokenAPI starts the API of newAPI again with Deps.OAuth, over the
// same components.
func newTokenAPI(t *testing.T) *tokenAPI {
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
	srv, err := server.New(server.Config{Issuer: testIssuer, Audience: testAudience, CSRFKey: key}, server.Deps{
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

const tokenRedirect = "https://app.example.com/cb"

// register registers a client and returns it with its secret.
func (o *tokenAPI) register(reg client.Registration) (store.Client, string) {
	o.t.Helper()
	c, secret, err := client.NewClient(reg, time.Now())
	if err != nil {
		o.t.Fatalf("client.NewClient = %v", err)
	}
	if err := o.db.CreateClient(o.t.Context(), c); err != nil {
		o.t.Fatal(err)
	}
	return c, secret
}

// codeApp registers a first-party code-flow client with refresh tokens.
func (o *tokenAPI) codeApp(name, method string) (store.Client, string) {
	return o.register(client.Registration{
		Name: name, AuthMethod: method, RedirectURIs: []string{tokenRedirect}, FirstParty: true,
		GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken},
		Scopes:     []string{"openid", "email", "orders:read"},
	})
}

// code issues a code for c to u (in a new browser session) and returns
// it with its PKCE verifier.
func (o *tokenAPI) code(c store.Client, u store.User, scope string) (code, verifier string) {
	o.t.Helper()
	ctx := o.t.Context()
	b := make([]byte, 32)
	rand.Read(b)
	verifier = base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(verifier))
	a, _, err := o.p.Validate(ctx, oauth.AuthorizeRequest{
		ClientID: c.ID, RedirectURI: tokenRedirect, ResponseType: "code", Scope: scope, Nonce: "n1",
		CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]), CodeChallengeMethod: "S256",
	})
	if err != nil {
		o.t.Fatalf("Validate = %v", err)
	}
	browser, _, err := o.p.StartBrowserSession(ctx, u, session.Client{})
	if err != nil {
		o.t.Fatal(err)
	}
	code, err = o.p.IssueCode(ctx, a, u, browser)
	if err != nil {
		o.t.Fatal(err)
	}
	return code, verifier
}

// post posts a form to path with header.
func (o *tokenAPI) post(path string, header http.Header, form url.Values) response {
	o.t.Helper()
	return o.do(request{method: "POST", path: path, body: form.Encode(), contentType: "application/x-www-form-urlencoded", header: header})
}

// oauthTokens is a token response.
type oauthTokens struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Scope        string `json:"scope"`
}

// wantNoStore fails unless r forbids caching (RFC 6749 §5.1).
func wantNoStore(t *testing.T, r response) {
	t.Helper()
	if r.header.Get("Cache-Control") != "no-store" || r.header.Get("Pragma") != "no-cache" {
		t.Errorf("%s: Cache-Control %q, Pragma %q; want no-store, no-cache", r.req, r.header.Get("Cache-Control"), r.header.Get("Pragma"))
	}
}

func TestTokenEndpointCodeFlow(t *testing.T) {
	o := newTokenAPI(t)
	alice := o.addUser("alice@example.com")
	web, secret := o.codeApp("web", client.AuthClientSecretBasic)
	code, verifier := o.code(web, alice, "openid email")

	r := o.post("/oauth2/token", basicAuth(web.ID, secret), url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {tokenRedirect}, "code_verifier": {verifier},
	})
	wantStatus(t, r, http.StatusOK)
	wantNoStore(t, r)
	var tok oauthTokens
	decode(t, r, &tok)
	if tok.AccessToken == "" || tok.TokenType != "Bearer" || tok.ExpiresIn <= 0 || tok.RefreshToken == "" || tok.IDToken == "" || tok.Scope != "email openid" {
		t.Errorf("token response = %+v, want a Bearer access token, a refresh token, an ID token and scope \"email openid\"", tok)
	}

	// The same code again: invalid_grant, and the session is revoked.
	r = o.post("/oauth2/token", basicAuth(web.ID, secret), url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {tokenRedirect}, "code_verifier": {verifier},
	})
	wantError(t, r, http.StatusBadRequest, "invalid_grant")
	wantNoStore(t, r)
	r = o.post("/oauth2/token", basicAuth(web.ID, secret), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
	wantError(t, r, http.StatusBadRequest, "invalid_grant")

	// Refresh of a fresh session rotates.
	code, verifier = o.code(web, alice, "openid")
	r = o.post("/oauth2/token", basicAuth(web.ID, secret), url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {tokenRedirect}, "code_verifier": {verifier},
	})
	wantStatus(t, r, http.StatusOK)
	decode(t, r, &tok)
	r = o.post("/oauth2/token", basicAuth(web.ID, secret), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}})
	wantStatus(t, r, http.StatusOK)
	wantNoStore(t, r)
	var next oauthTokens
	decode(t, r, &next)
	if next.RefreshToken == "" || next.RefreshToken == tok.RefreshToken || next.IDToken == "" {
		t.Errorf("refresh_token grant = rotated %v, ID token %v; want both", next.RefreshToken != tok.RefreshToken, next.IDToken != "")
	}
	// Introspection names the client the session belongs to, and its
	// granted scope.
	rsID, rsSecret := o.addClient("resource service", client.ScopeIntrospect)
	if got := o.introspect(basicAuth(rsID, rsSecret), next.RefreshToken, "refresh_token"); !got.Active || got.ClientID != web.ID || got.Scope != "openid" {
		t.Errorf("introspection of the client's refresh token = %+v, want active, client_id %s, scope openid", got, web.ID)
	}
	// /v1 refuses it.
	r = o.refresh(next.RefreshToken)
	wantError(t, r, http.StatusBadRequest, "invalid_grant")
}

// TestTokenEndpointAuthRetry replays what golang.org/x/oauth2 does with
// an endpoint of unknown authentication style: it sends the client
// credentials with HTTP Basic and, refused, again in the form, with the
// same code. The client is authenticated before the code is touched, so
// the retry succeeds.
func TestTokenEndpointAuthRetry(t *testing.T) {
	o := newTokenAPI(t)
	alice := o.addUser("alice@example.com")
	post, secret := o.codeApp("post", client.AuthClientSecretPost)
	code, verifier := o.code(post, alice, "openid")
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {tokenRedirect}, "code_verifier": {verifier}}

	r := o.post("/oauth2/token", basicAuth(post.ID, secret), form)
	wantError(t, r, http.StatusUnauthorized, "invalid_client")
	form.Set("client_id", post.ID)
	form.Set("client_secret", secret)
	r = o.post("/oauth2/token", nil, form)
	wantStatus(t, r, http.StatusOK)

	// A public client: x/oauth2 first tries Basic with an empty secret.
	pub, _ := o.register(client.Registration{Name: "pub", Type: store.ClientPublic, RedirectURIs: []string{tokenRedirect},
		GrantTypes: []string{client.GrantAuthorizationCode}, Scopes: []string{"openid"}})
	code, verifier = o.code(pub, alice, "openid")
	form = url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {tokenRedirect}, "code_verifier": {verifier}}
	r = o.post("/oauth2/token", basicAuth(pub.ID, ""), form)
	wantError(t, r, http.StatusUnauthorized, "invalid_client")
	form.Set("client_id", pub.ID)
	r = o.post("/oauth2/token", nil, form)
	wantStatus(t, r, http.StatusOK)
	var tok oauthTokens
	decode(t, r, &tok)
	if tok.RefreshToken != "" || tok.IDToken == "" {
		t.Errorf("public client's tokens: refresh token %v, ID token %v; want no refresh token (no grant), an ID token", tok.RefreshToken != "", tok.IDToken != "")
	}
}

func TestTokenEndpointRefusals(t *testing.T) {
	o := newTokenAPI(t)
	web, secret := o.codeApp("web", client.AuthClientSecretBasic)
	auth := basicAuth(web.ID, secret)
	cc := url.Values{"grant_type": {"client_credentials"}}
	tests := []struct {
		name        string
		contentType string
		header      http.Header
		body        string
		status      int
		code        string
		challenge   string // the WWW-Authenticate scheme, if any
	}{
		{name: "JSON body", contentType: "application/json", header: auth, body: `{"grant_type":"client_credentials"}`, status: 415, code: "invalid_request"},
		{name: "no content type", contentType: "-", header: auth, body: cc.Encode(), status: 415, code: "invalid_request"},
		{name: "duplicate grant_type", header: auth, body: "grant_type=client_credentials&grant_type=client_credentials", status: 400, code: "invalid_request"},
		{name: "duplicate code", header: auth, body: "grant_type=authorization_code&code=a&code=b&code_verifier=x", status: 400, code: "invalid_request"},
		{name: "no grant_type", header: auth, body: "scope=x", status: 400, code: "invalid_request"},
		{name: "password grant", header: auth, body: "grant_type=password&username=a&password=b", status: 400, code: "unsupported_grant_type"},
		{name: "no client credentials", body: cc.Encode(), status: 401, code: "invalid_client", challenge: "Basic"},
		{name: "wrong secret", header: basicAuth(web.ID, "wrong"), body: cc.Encode(), status: 401, code: "invalid_client", challenge: "Basic"},
		{name: "unknown client", header: basicAuth("c_nobody", secret), body: cc.Encode(), status: 401, code: "invalid_client", challenge: "Basic"},
		{name: "two methods", header: auth, body: cc.Encode() + "&client_id=" + web.ID + "&client_secret=" + url.QueryEscape(secret), status: 401, code: "invalid_client", challenge: "Basic"},
		{name: "method not registered (post)", body: cc.Encode() + "&client_id=" + web.ID + "&client_secret=" + url.QueryEscape(secret), status: 401, code: "invalid_client", challenge: "Basic"},
		{name: "grant not registered", header: auth, body: cc.Encode(), status: 400, code: "unauthorized_client"},
		{name: "code grant without code", header: auth, body: "grant_type=authorization_code&code_verifier=x", status: 400, code: "invalid_request"},
		{name: "unknown code", header: auth, body: "grant_type=authorization_code&code=nope&code_verifier=" + strings.Repeat("a", 43), status: 400, code: "invalid_grant"},
		{name: "refresh without token", header: auth, body: "grant_type=refresh_token", status: 400, code: "invalid_request"},
		{name: "refresh with garbage", header: auth, body: "grant_type=refresh_token&refresh_token=garbage", status: 400, code: "invalid_grant"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ct := tc.contentType
			if ct == "" {
				ct = "application/x-www-form-urlencoded"
			}
			r := o.do(request{method: "POST", path: "/oauth2/token", body: tc.body, contentType: ct, header: tc.header})
			wantError(t, r, tc.status, tc.code)
			wantNoStore(t, r)
			got := r.header.Get("WWW-Authenticate")
			if tc.challenge != "" && !strings.HasPrefix(got, tc.challenge+" ") || tc.challenge == "" && got != "" {
				t.Errorf("WWW-Authenticate = %q, want scheme %q", got, tc.challenge)
			}
		})
	}
	t.Run("GET", func(t *testing.T) {
		r := o.do(request{method: "GET", path: "/oauth2/token"})
		wantError(t, r, http.StatusMethodNotAllowed, "method_not_allowed")
	})
}

func TestTokenEndpointClientCredentials(t *testing.T) {
	o := newTokenAPI(t)
	svc, secret := o.register(client.Registration{Name: "svc", GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"orders:read", "orders:write"}})
	r := o.post("/oauth2/token", basicAuth(svc.ID, secret), url.Values{"grant_type": {"client_credentials"}, "scope": {"orders:read"}})
	wantStatus(t, r, http.StatusOK)
	wantNoStore(t, r)
	var tok oauthTokens
	decode(t, r, &tok)
	if tok.AccessToken == "" || tok.RefreshToken != "" || tok.IDToken != "" || tok.Scope != "orders:read" {
		t.Errorf("client_credentials = %+v, want an access token of scope orders:read alone", tok)
	}
	r = o.post("/oauth2/token", basicAuth(svc.ID, secret), url.Values{"grant_type": {"client_credentials"}, "scope": {"orders:read admin"}})
	wantError(t, r, http.StatusBadRequest, "invalid_scope")
}

// TestOAuthCrossOrigin checks that the machine-to-machine endpoints are
// not behind the cross-origin protection: a browser application of
// another origin may call them.
func TestOAuthCrossOrigin(t *testing.T) {
	o := newTokenAPI(t)
	cross := http.Header{"Origin": {"https://app.example.com"}, "Sec-Fetch-Site": {"cross-site"}}
	for _, path := range []string{"/oauth2/token", "/oauth2/revoke", "/oauth2/userinfo", "/oauth2/logout"} {
		r := o.do(request{method: "POST", path: path, body: "x=1", contentType: "application/x-www-form-urlencoded", header: cross})
		var e apiError
		json.Unmarshal(r.body, &e)
		if r.status == http.StatusForbidden && e.Error == "cross_origin_refused" {
			t.Errorf("cross-origin POST %s = %v, want it past the cross-origin protection", path, r)
		}
	}
	r := o.do(request{method: "POST", path: "/v1/login", body: `{"email":"a@example.com","password":"x"}`, header: cross})
	wantError(t, r, http.StatusForbidden, "cross_origin_refused")
	// The browser forms stay protected.
	for _, path := range []string{"/login", "/consent", "/account"} {
		r := o.do(request{method: "POST", path: path, body: "x=1", contentType: "application/x-www-form-urlencoded", header: cross})
		wantError(t, r, http.StatusForbidden, "cross_origin_refused")
	}
}

func TestRevokeEndpoint(t *testing.T) {
	o := newTokenAPI(t)
	ctx := t.Context()
	alice := o.addUser("alice@example.com")
	web, secret := o.codeApp("web", client.AuthClientSecretBasic)
	code, verifier := o.code(web, alice, "openid")
	tok, err := o.p.ExchangeCode(ctx, web, code, tokenRedirect, verifier, session.Client{})
	if err != nil {
		t.Fatal(err)
	}
	r := o.post("/oauth2/revoke", basicAuth(web.ID, "wrong"), url.Values{"token": {tok.RefreshToken}})
	wantError(t, r, http.StatusUnauthorized, "invalid_client")
	if _, err := o.sessions.Active(ctx, tok.Session.ID); err != nil {
		t.Fatalf("session after a refused revocation = %v, want active", err)
	}
	r = o.post("/oauth2/revoke", basicAuth(web.ID, secret), url.Values{"token": {tok.RefreshToken}, "token_type_hint": {"refresh_token"}})
	wantStatus(t, r, http.StatusOK)
	wantNoStore(t, r)
	if _, err := o.sessions.Active(ctx, tok.Session.ID); err == nil {
		t.Errorf("session after revoking its refresh token: active, want ended")
	}
	r = o.post("/oauth2/revoke", basicAuth(web.ID, secret), url.Values{"token": {"unknown"}})
	wantStatus(t, r, http.StatusOK)
	r = o.post("/oauth2/revoke", basicAuth(web.ID, secret), url.Values{"token": {"a", "b"}})
	wantError(t, r, http.StatusBadRequest, "invalid_request")
}

func TestUserInfoEndpoint(t *testing.T) {
	o := newTokenAPI(t)
	ctx := t.Context()
	alice := o.addUser("alice@example.com")
	web, _ := o.codeApp("web", client.AuthClientSecretBasic)
	code, verifier := o.code(web, alice, "openid email")
	tok, err := o.p.ExchangeCode(ctx, web, code, tokenRedirect, verifier, session.Client{})
	if err != nil {
		t.Fatal(err)
	}
	for _, method := range []string{"GET", "POST"} {
		r := o.do(request{method: method, path: "/oauth2/userinfo", bearer: tok.AccessToken})
		wantStatus(t, r, http.StatusOK)
		var info map[string]any
		decode(t, r, &info)
		if info["sub"] != alice.ID || info["email"] != alice.Email {
			t.Errorf("%s /oauth2/userinfo = %v, want sub %s and email %s", method, info, alice.ID, alice.Email)
		}
	}

	code, verifier = o.code(web, alice, "orders:read")
	noOpenID, err := o.p.ExchangeCode(ctx, web, code, tokenRedirect, verifier, session.Client{})
	if err != nil {
		t.Fatal(err)
	}
	svc, secret := o.register(client.Registration{Name: "svc", GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"orders:read"}})
	r := o.post("/oauth2/token", basicAuth(svc.ID, secret), url.Values{"grant_type": {"client_credentials"}})
	var ct oauthTokens
	decode(t, r, &ct)

	tests := []struct {
		name      string
		bearer    string
		status    int
		code      string
		challenge string
	}{
		{name: "no token", status: 401, code: "invalid_token", challenge: `Bearer realm="latch"`},
		{name: "garbage", bearer: "garbage", status: 401, code: "invalid_token", challenge: `error="invalid_token"`},
		{name: "ID token", bearer: tok.IDToken, status: 401, code: "invalid_token", challenge: `error="invalid_token"`},
		{name: "client token", bearer: ct.AccessToken, status: 401, code: "invalid_token", challenge: `error="invalid_token"`},
		{name: "no openid scope", bearer: noOpenID.AccessToken, status: 403, code: "insufficient_scope", challenge: `error="insufficient_scope"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := o.do(request{method: "GET", path: "/oauth2/userinfo", bearer: tc.bearer})
			wantError(t, r, tc.status, tc.code)
			if got := r.header.Get("WWW-Authenticate"); !strings.Contains(got, tc.challenge) {
				t.Errorf("WWW-Authenticate = %q, want it to hold %q", got, tc.challenge)
			}
		})
	}
	t.Run("ended session", func(t *testing.T) {
		if err := o.sessions.End(ctx, tok.Session.ID, "", store.ReasonLogout); err != nil {
			t.Fatal(err)
		}
		r := o.do(request{method: "GET", path: "/oauth2/userinfo", bearer: tok.AccessToken})
		wantError(t, r, http.StatusUnauthorized, "invalid_token")
	})
}

func TestDiscoveryOAuth(t *testing.T) {
	o := newTokenAPI(t)
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		t.Run(path, func(t *testing.T) {
			r := o.do(request{method: "GET", path: path})
			wantStatus(t, r, http.StatusOK)
			var doc map[string]any
			if err := json.Unmarshal(r.body, &doc); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{
				"issuer":                                         testIssuer,
				"authorization_endpoint":                         testIssuer + "/oauth2/authorize",
				"token_endpoint":                                 testIssuer + "/oauth2/token",
				"userinfo_endpoint":                              testIssuer + "/oauth2/userinfo",
				"revocation_endpoint":                            testIssuer + "/oauth2/revoke",
				"introspection_endpoint":                         testIssuer + "/oauth2/introspect",
				"end_session_endpoint":                           testIssuer + "/oauth2/logout",
				"jwks_uri":                                       testIssuer + "/.well-known/jwks.json",
				"response_types_supported":                       []any{"code"},
				"response_modes_supported":                       []any{"query"},
				"grant_types_supported":                          []any{"authorization_code", "refresh_token", "client_credentials"},
				"subject_types_supported":                        []any{"public"},
				"id_token_signing_alg_values_supported":          []any{"RS256"},
				"token_endpoint_auth_methods_supported":          []any{"client_secret_basic", "client_secret_post", "none"},
				"code_challenge_methods_supported":               []any{"S256"},
				"authorization_response_iss_parameter_supported": true,
				"request_parameter_supported":                    false,
				"request_uri_parameter_supported":                false,
				"claims_parameter_supported":                     false,
				"prompt_values_supported":                        []any{"none", "login", "consent"},
			}
			for k, v := range want {
				if !equalJSON(doc[k], v) {
					t.Errorf("%s = %v, want %v", k, doc[k], v)
				}
			}
			for _, k := range []string{"scopes_supported", "claims_supported", "revocation_endpoint_auth_methods_supported", "introspection_endpoint_auth_methods_supported"} {
				if l, ok := doc[k].([]any); !ok || len(l) == 0 {
					t.Errorf("%s = %v, want a list", k, doc[k])
				}
			}
			if _, ok := doc["registration_endpoint"]; ok {
				t.Errorf("registration_endpoint = %v, want none (no dynamic client registration)", doc["registration_endpoint"])
			}
			if scopes, _ := doc["scopes_supported"].([]any); !slices.Contains(scopes, any("openid")) {
				t.Errorf("scopes_supported = %v, want openid among them", scopes)
			}
			// Everything listed is served: no endpoint answers 404.
			for k, v := range doc {
				u, ok := v.(string)
				if !ok || !strings.HasSuffix(k, "_endpoint") && k != "jwks_uri" {
					continue
				}
				p := strings.TrimPrefix(u, testIssuer)
				served := false
				for _, method := range []string{"GET", "POST"} {
					r := o.do(request{method: method, path: p, body: "x=1", contentType: "application/x-www-form-urlencoded"})
					served = served || r.status != http.StatusNotFound && r.status != http.StatusMethodNotAllowed
				}
				if !served {
					t.Errorf("%s = %s is not served (404 or 405 to GET and POST)", k, u)
				}
			}
		})
	}
}
