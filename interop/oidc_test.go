package interop

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/verifier"
)

// These tests run the latch binary as an OAuth 2.0 authorization server
// and OpenID provider and talk to it with the libraries relying parties
// use: golang.org/x/oauth2 and github.com/coreos/go-oidc/v3 with their
// default settings, and a real browser (headless Chromium) for the pages.

// The user who signs in.
const (
	aliceEmail    = "alice@example.com"
	alicePassword = "correct horse battery staple"
)

// httpContext returns a context whose HTTP client (for x/oauth2 and
// go-oidc) has a timeout.
func httpContext(t *testing.T) context.Context {
	return oidc.ClientContext(t.Context(), &http.Client{Timeout: 10 * time.Second})
}

// discovery is the part of the provider metadata (OIDC Discovery 1.0,
// RFC 8414) that go-oidc does not check itself.
type discovery struct {
	JWKSURI           string   `json:"jwks_uri"`
	PKCEMethods       []string `json:"code_challenge_methods_supported"`
	IssParameter      bool     `json:"authorization_response_iss_parameter_supported"`
	IDTokenAlgorithms []string `json:"id_token_signing_alg_values_supported"`
	ResponseTypes     []string `json:"response_types_supported"`
	SubjectTypes      []string `json:"subject_types_supported"`
}

// idClaims are the ID token claims go-oidc's IDToken does not expose.
type idClaims struct {
	SessionID       string   `json:"sid"`
	AuthTime        int64    `json:"auth_time"`
	AuthorizedParty string   `json:"azp"`
	AMR             []string `json:"amr"`
	Email           string   `json:"email"`
}

// jwsHeader decodes the protected header of a compact JWS.
func jwsHeader(t *testing.T, token string) (alg, typ string) {
	t.Helper()
	first, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(first)
	var h struct{ Alg, Typ string }
	if err == nil {
		err = json.Unmarshal(raw, &h)
	}
	if err != nil {
		t.Fatalf("JWS header of %.20s…: %v", token, err)
	}
	return h.Alg, h.Typ
}

// TestOIDCCodeFlowChromium signs a user in through latch's login page in
// headless Chromium with the authorization code flow and PKCE, as a
// first-party confidential client ("web", no consent screen), then as a
// third-party public client ("Shop") in the same browser (single sign-on:
// no password, a consent screen), and checks the tokens with go-oidc and
// latch's verifier, the refresh token rotation, and the account page.
func TestOIDCCodeFlowChromium(t *testing.T) {
	cb := newRedirectCatcher(t)
	b := newBrowser(t, cb.uri()) // skips when Chromium is absent
	d := startLatch(t)
	aliceID := d.addUser(t, aliceEmail, alicePassword)
	web := d.addClient(t, "--name", "web", "--redirect-uri", cb.uri(),
		"--grant-type", "authorization_code", "--grant-type", "refresh_token",
		"--scope", "openid,profile,email,offline_access", "--first-party")
	shop := d.addClient(t, "--name", "Shop", "--public", "--redirect-uri", cb.uri(),
		"--grant-type", "authorization_code", "--scope", "openid,profile,email")
	if web.Secret == "" || web.Type != "confidential" {
		t.Fatalf("latch client add: client %s of type %q, secret present %v; want a confidential client with a client_secret", web.ID, web.Type, web.Secret != "")
	}
	if shop.Secret != "" || shop.Type != "public" {
		t.Errorf("latch client add --public: client %s of type %q, secret present %v; want a public client without a secret", shop.ID, shop.Type, shop.Secret != "")
	}
	ctx := httpContext(t)

	// Discovery, with go-oidc's checks (issuer match).
	provider, err := oidc.NewProvider(ctx, d.issuer)
	if err != nil {
		t.Fatalf("discovery: oidc.NewProvider(%s): %v", d.issuer, err)
	}
	endpoint := provider.Endpoint()
	var meta discovery
	if err := provider.Claims(&meta); err != nil {
		t.Fatal(err)
	}
	for _, e := range []struct{ name, got, want string }{
		{"authorization_endpoint", endpoint.AuthURL, d.issuer + "/oauth2/authorize"},
		{"token_endpoint", endpoint.TokenURL, d.issuer + "/oauth2/token"},
		{"userinfo_endpoint", provider.UserInfoEndpoint(), d.issuer + "/oauth2/userinfo"},
	} {
		if e.got != e.want {
			t.Errorf("discovery: %s = %q, want %q", e.name, e.got, e.want)
		}
	}
	if endpoint.AuthURL == "" || endpoint.TokenURL == "" || meta.JWKSURI == "" {
		t.Fatalf("discovery: authorization_endpoint %q, token_endpoint %q, jwks_uri %q: cannot go on without all three",
			endpoint.AuthURL, endpoint.TokenURL, meta.JWKSURI)
	}
	if !slices.Contains(meta.PKCEMethods, "S256") {
		t.Errorf("discovery: code_challenge_methods_supported = %q, want S256 (RFC 8414 §2: without it clients must assume no PKCE)", meta.PKCEMethods)
	}
	if !meta.IssParameter {
		t.Errorf("discovery: authorization_response_iss_parameter_supported is not true (RFC 9207 §3)")
	}
	if !slices.Contains(meta.IDTokenAlgorithms, "RS256") || !slices.Contains(meta.ResponseTypes, "code") || !slices.Contains(meta.SubjectTypes, "public") {
		t.Errorf("discovery: id_token_signing_alg_values_supported %q, response_types_supported %q, subject_types_supported %q; want RS256, code and public among them (OIDC Discovery §3)",
			meta.IDTokenAlgorithms, meta.ResponseTypes, meta.SubjectTypes)
	}

	// 1. First-party client, signed-out browser: login page, no consent.
	webConf := &oauth2.Config{
		ClientID: web.ID, ClientSecret: web.Secret, Endpoint: endpoint, RedirectURL: cb.uri(),
		Scopes: []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, oidc.ScopeOfflineAccess},
	}
	state, nonce, pkce := rand.Text(), rand.Text(), oauth2.GenerateVerifier()
	start := time.Now().Truncate(time.Second)
	b.navigate("open the authorization URL",
		webConf.AuthCodeURL(state, oauth2.S256ChallengeOption(pkce), oidc.Nonce(nonce)))
	b.wantPage("authorization request from a signed-out browser", pageLogin)
	for _, id := range []string{"email", "password"} {
		if !b.has(`label[for="` + id + `"]`) {
			t.Errorf("login page: no <label for=%q>; every field needs a label", id)
		}
	}
	b.screenshot("login")
	b.do("fill in the login form",
		chromedp.SendKeys(chromedp.CSS(selEmail), aliceEmail),
		chromedp.SendKeys(chromedp.CSS(selPassword), alicePassword))
	b.click("submit the login form", selSignIn)
	b.wantPage("after signing in for a first-party client", pageCallback)
	code := authorizationCode(t, cb.wait(t), state, d.issuer)

	tok, err := webConf.Exchange(ctx, code, oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatalf("token request (authorization_code, PKCE) at %s: %v", endpoint.TokenURL, err)
	}
	if tok.Type() != "Bearer" || tok.RefreshToken == "" || !tok.Expiry.After(time.Now()) {
		t.Errorf("token response: token_type %q, refresh token present %v, expiry %v; want Bearer, a refresh token (offline_access), a future expiry",
			tok.Type(), tok.RefreshToken != "", tok.Expiry)
	}

	// The ID token, with go-oidc's default checks (RS256, iss, aud, exp).
	ids := provider.Verifier(&oidc.Config{ClientID: web.ID})
	rawID, _ := tok.Extra("id_token").(string)
	if rawID == "" {
		t.Fatal("token response has no id_token (scope openid)")
	}
	if alg, typ := jwsHeader(t, rawID); alg != "RS256" || typ != "JWT" {
		t.Errorf("ID token header: alg %q, typ %q; want RS256, JWT", alg, typ)
	}
	idTok, err := ids.Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("go-oidc: verify the ID token: %v", err)
	}
	if idTok.Nonce != nonce {
		t.Errorf("ID token nonce = %q, want %q", idTok.Nonce, nonce)
	}
	if idTok.Subject != aliceID {
		t.Errorf("ID token sub = %q, want %q (the user ID)", idTok.Subject, aliceID)
	}
	if idTok.AccessTokenHash == "" {
		t.Error("ID token has no at_hash")
	} else if err := idTok.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("ID token at_hash does not match the access token: %v", err)
	}
	var webID idClaims
	if err := idTok.Claims(&webID); err != nil {
		t.Fatal(err)
	}
	authTime := time.Unix(webID.AuthTime, 0)
	if webID.SessionID == "" || authTime.Before(start) || authTime.After(time.Now().Add(time.Second)) ||
		!slices.Contains(webID.AMR, "pwd") || webID.Email != aliceEmail {
		t.Errorf("ID token: sid %q, auth_time %v, amr %q, email %q; want a sid, auth_time since %v, amr with pwd, email %s",
			webID.SessionID, authTime, webID.AMR, webID.Email, start, aliceEmail)
	}

	// The access token, with latch's verifier (RFC 9068). It fetches the
	// JWKS now, so that it holds the ID token's key too.
	access, err := verifier.New(ctx, verifier.Config{Issuers: []verifier.Issuer{{
		Issuer: d.issuer, Audience: d.audience, JWKSURL: meta.JWKSURI,
	}}})
	if err != nil {
		t.Fatalf("verifier.New(%s): %v", meta.JWKSURI, err)
	}
	t.Cleanup(access.Close)
	claims, err := access.Verify(ctx, tok.AccessToken)
	if err != nil {
		t.Fatalf("verifier: the access token of the code flow: %v", err)
	}
	if claims.Subject != aliceID || claims.ClientID != web.ID || claims.SessionID == "" || !claims.HasScope("openid") || !claims.HasScope("email") {
		t.Errorf("access token: sub %q, client_id %q, sid %q, scope %q; want %s, %s, a session, openid and email",
			claims.Subject, claims.ClientID, claims.SessionID, claims.Scope, aliceID, web.ID)
	}

	// An ID token is not an access token (RFC 9068 §4: typ at+jwt).
	if _, err := access.Verify(ctx, rawID); !errors.Is(err, jwt.ErrType) {
		t.Errorf("verifier: the ID token as an access token: error %v, want %v", err, jwt.ErrType)
	}

	// UserInfo (OIDC Core §5.3) with the access token.
	info, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("go-oidc: userinfo at %s: %v", provider.UserInfoEndpoint(), err)
	}
	if info.Subject != aliceID || info.Email != aliceEmail {
		t.Errorf("userinfo: sub %q, email %q; want %s, %s", info.Subject, info.Email, aliceID, aliceEmail)
	}

	// Refresh: x/oauth2 refreshes an expired token; the refresh token
	// rotates and the new access token belongs to the same session.
	expired := &oauth2.Token{AccessToken: tok.AccessToken, TokenType: tok.TokenType, RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Minute)}
	refreshed, err := webConf.TokenSource(ctx, expired).Token()
	if err != nil {
		t.Fatalf("refresh_token grant at %s: %v", endpoint.TokenURL, err)
	}
	if refreshed.RefreshToken == "" || refreshed.RefreshToken == tok.RefreshToken {
		t.Error("refresh_token grant: the refresh token did not change; want rotation (RFC 9700 §4.14.2)")
	}
	if refreshed.AccessToken == tok.AccessToken {
		t.Error("refresh_token grant: the access token did not change")
	}
	again, err := access.Verify(ctx, refreshed.AccessToken)
	if err != nil {
		t.Fatalf("verifier: the refreshed access token: %v", err)
	}
	if again.Subject != aliceID || again.ClientID != web.ID || again.SessionID != claims.SessionID {
		t.Errorf("refreshed access token: sub %q, client_id %q, sid %q; want %s, %s, %s",
			again.Subject, again.ClientID, again.SessionID, aliceID, web.ID, claims.SessionID)
	}
	if rawID, _ := refreshed.Extra("id_token").(string); rawID != "" {
		idTok, err := ids.Verify(ctx, rawID)
		if err != nil {
			t.Errorf("go-oidc: verify the ID token of the refresh: %v", err)
		} else if idTok.Subject != aliceID {
			t.Errorf("ID token of the refresh: sub %q, want %s", idTok.Subject, aliceID)
		}
	}

	// 2. Third-party public client in the same browser: single sign-on
	// (no password), then the consent screen.
	shopEndpoint := endpoint
	shopEndpoint.AuthStyle = oauth2.AuthStyleInParams // a public client sends only client_id
	shopConf := &oauth2.Config{
		ClientID: shop.ID, Endpoint: shopEndpoint, RedirectURL: cb.uri(),
		Scopes: []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail},
	}
	state, nonce, pkce = rand.Text(), rand.Text(), oauth2.GenerateVerifier()
	b.navigate("open the second client's authorization URL",
		shopConf.AuthCodeURL(state, oauth2.S256ChallengeOption(pkce), oidc.Nonce(nonce)))
	switch page := b.settle(); page {
	case pageConsent:
	case pageLogin:
		t.Fatalf("single sign-on: the browser signed in for %s was asked for a password again by %s", web.ID, shop.ID)
	default:
		t.Fatalf("browser: authorization request of a third-party client: landed on the %s page, want the consent page\n%s", page, b.describe())
	}
	if text := b.text(); !strings.Contains(text, "Shop") || !strings.Contains(text, "email") {
		t.Errorf("consent page does not name the client (Shop) and the scope email:\n%s", text)
	}
	b.screenshot("consent")
	b.click("approve on the consent page", selAllow)
	b.wantPage("after approving", pageCallback)
	code = authorizationCode(t, cb.wait(t), state, d.issuer)

	shopTok, err := shopConf.Exchange(ctx, code, oauth2.VerifierOption(pkce))
	if err != nil {
		t.Fatalf("token request (public client, PKCE) at %s: %v", endpoint.TokenURL, err)
	}
	if shopTok.RefreshToken != "" {
		t.Errorf("token response to %s: a refresh token, but the client is not registered for refresh_token", shop.ID)
	}
	rawID, _ = shopTok.Extra("id_token").(string)
	shopIDTok, err := provider.Verifier(&oidc.Config{ClientID: shop.ID}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("go-oidc: verify the second client's ID token: %v", err)
	}
	var shopID idClaims
	if err := shopIDTok.Claims(&shopID); err != nil {
		t.Fatal(err)
	}
	if shopIDTok.Nonce != nonce || shopIDTok.Subject != aliceID {
		t.Errorf("second ID token: nonce %q, sub %q; want %q, %s", shopIDTok.Nonce, shopIDTok.Subject, nonce, aliceID)
	}
	if shopID.SessionID != webID.SessionID || shopID.AuthTime != webID.AuthTime {
		t.Errorf("second ID token: sid %q, auth_time %d; want the first's %q, %d (one browser session, one password login)",
			shopID.SessionID, shopID.AuthTime, webID.SessionID, webID.AuthTime)
	}
	if err := shopIDTok.VerifyAccessToken(shopTok.AccessToken); err != nil {
		t.Errorf("second ID token: at_hash: %v", err)
	}

	// 3. The account page, signed in by the same browser session.
	b.navigate("open the account page", d.issuer+"/account")
	b.wantPage("account page of a signed-in browser", pageAccount)
	if !strings.Contains(b.text(), aliceEmail) {
		t.Errorf("account page does not show %s:\n%s", aliceEmail, b.describe())
	}
	if !b.has(selLogoutSession) {
		t.Errorf("account page lists no session to log out (%s)", selLogoutSession)
	}
	b.screenshot("account")
}

// TestClientCredentials gets a service token with x/oauth2's
// clientcredentials (RFC 6749 §4.4) and verifies it with latch's verifier
// and its scope middleware; the token endpoint refuses a scope the client
// was not registered for, a wrong secret, and a client not registered for
// the grant.
func TestClientCredentials(t *testing.T) {
	d := startLatch(t)
	svc := d.addClient(t, "--name", "orders-svc", "--grant-type", "client_credentials", "--scope", "orders:read")
	web := d.addClient(t, "--name", "web", "--redirect-uri", "http://127.0.0.1:8080/callback",
		"--grant-type", "authorization_code", "--scope", "openid,orders:read")
	ctx := httpContext(t)
	tokenURL := d.issuer + "/oauth2/token"
	conf := func(c registeredClient, scopes ...string) *clientcredentials.Config {
		return &clientcredentials.Config{ClientID: c.ID, ClientSecret: c.Secret, TokenURL: tokenURL,
			Scopes: scopes, AuthStyle: oauth2.AuthStyleInHeader} // client_secret_basic, the default method
	}

	tok, err := conf(svc, "orders:read").Token(ctx)
	if err != nil {
		t.Fatalf("client_credentials grant at %s: %v", tokenURL, err)
	}
	if tok.Type() != "Bearer" || tok.RefreshToken != "" || !tok.Expiry.After(time.Now()) {
		t.Errorf("token response: token_type %q, refresh token present %v, expiry %v; want Bearer, none (RFC 6749 §4.4.3), a future expiry",
			tok.Type(), tok.RefreshToken != "", tok.Expiry)
	}

	v, err := verifier.New(ctx, verifier.Config{Issuers: []verifier.Issuer{{
		Issuer: d.issuer, Audience: d.audience, JWKSURL: d.issuer + "/.well-known/jwks.json",
	}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	claims, err := v.Verify(ctx, tok.AccessToken)
	if err != nil {
		t.Fatalf("verifier: the client_credentials token: %v", err)
	}
	if claims.Subject != svc.ID || claims.ClientID != svc.ID || claims.SessionID != "" || claims.Scope != "orders:read" || len(claims.Roles) != 0 {
		t.Errorf("client token: sub %q, client_id %q, sid %q, scope %q, roles %q; want %s, %s, no sid, orders:read, no roles",
			claims.Subject, claims.ClientID, claims.SessionID, claims.Scope, claims.Roles, svc.ID, svc.ID)
	}

	// A resource service guards its routes with the verifier's middleware.
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := verifier.FromContext(r.Context())
		w.Write([]byte(c.ClientID))
	})
	mux := http.NewServeMux()
	mux.Handle("GET /orders", v.Require(verifier.RequireScope("orders:read")(ok)))
	mux.Handle("POST /orders", v.Require(verifier.RequireScope("orders:write")(ok)))
	api := httptest.NewServer(mux)
	t.Cleanup(api.Close)
	for _, tc := range []struct {
		method, token string
		want          int
	}{
		{method: "GET", token: tok.AccessToken, want: http.StatusOK},
		{method: "POST", token: tok.AccessToken, want: http.StatusForbidden}, // lacks orders:write
		{method: "GET", token: "", want: http.StatusUnauthorized},
	} {
		req, _ := http.NewRequestWithContext(ctx, tc.method, api.URL+"/orders", nil)
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("%s /orders (token %v) = %d, want %d", tc.method, tc.token != "", res.StatusCode, tc.want)
		}
	}

	// Refusals at the token endpoint (RFC 6749 §5.2).
	wrong := svc
	wrong.Secret = "not-the-secret"
	for _, tc := range []struct {
		name       string
		conf       *clientcredentials.Config
		wantCode   string
		wantStatus int
	}{
		{name: "scope not registered", conf: conf(svc, "orders:write"), wantCode: "invalid_scope", wantStatus: http.StatusBadRequest},
		{name: "scope partly registered", conf: conf(svc, "orders:read", "orders:write"), wantCode: "invalid_scope", wantStatus: http.StatusBadRequest},
		{name: "wrong secret", conf: conf(wrong, "orders:read"), wantCode: "invalid_client", wantStatus: http.StatusUnauthorized},
		{name: "grant not registered", conf: conf(web, "orders:read"), wantCode: "unauthorized_client", wantStatus: http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := tc.conf.Token(ctx)
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) {
				t.Fatalf("Token() = %v, %v; want a *oauth2.RetrieveError %s", tok != nil, err, tc.wantCode)
			}
			if re.ErrorCode != tc.wantCode || re.Response.StatusCode != tc.wantStatus {
				t.Errorf("Token() error %q (HTTP %d), want %q (HTTP %d)", re.ErrorCode, re.Response.StatusCode, tc.wantCode, tc.wantStatus)
			}
		})
	}
}
