package server_test

// The browser endpoints (browser.go), driven as a browser drives them: a
// cookie jar, form posts, and no redirect followed, so that each 303 is
// checked where it points.

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
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
	"github.com/latch-auth/latch/internal/web"
	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
)

// Redirect URIs of the test clients.
const (
	appCallback   = "https://app.example.com/cb"
	appLogoutBack = "https://app.example.com/signed-out"
)

// oidcAPI is the API with the OAuth provider and its browser pages.
type oidcAPI struct {
	*api
	provider *oauth.Provider
}

// newOIDCAPI starts the API of newAPI again, this time with Deps.OAuth
// and a CSRF key, over the same components, and points a.url at it. The
// provider and the issuer use the test clock, as the session manager
// does.
func newOIDCAPI(t *testing.T, o options) *oidcAPI {
	t.Helper()
	a := newAPI(t, o)
	iss, err := issuer.New(a.ring, issuer.Config{Issuer: testIssuer, Audience: []string{testAudience}, Now: a.clock.Now})
	if err != nil {
		t.Fatalf("issuer.New = %v, want nil", err)
	}
	lg := login.New(a.db, a.db, a.hasher, o.login)
	p, err := oauth.New(oauth.Config{Issuer: testIssuer, Audience: []string{testAudience}, Now: a.clock.Now}, oauth.Deps{
		Users: a.db, Clients: a.db, Codes: a.db, Consents: a.db, Sessions: a.sessions,
		Issuer: iss, Login: lg, Keys: a.ring, Revocations: a.db,
	})
	if err != nil {
		t.Fatalf("oauth.New = %v, want nil", err)
	}
	key := make([]byte, 32)
	rand.Read(key)
	srv, err := server.New(server.Config{Issuer: testIssuer, Audience: testAudience, CSRFKey: key}, server.Deps{
		Users: a.db, Login: lg, Sessions: a.sessions, Issuer: iss, Keys: a.ring, Hasher: a.hasher,
		Ready: a.db.Ping, Clients: a.db, OAuth: p,
	})
	if err != nil {
		t.Fatalf("server.New = %v, want nil", err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	a.srv, a.url, a.client = srv, hs.URL, hs.Client()
	return &oidcAPI{api: a, provider: p}
}

// clientOpts vary a test client's registration.
type clientOpts struct {
	firstParty   bool
	public       bool
	redirectURIs []string
}

// addApp registers an application that signs users in with the code
// flow: confidential (client_secret_basic) unless public, redirect URI
// appCallback unless others are given, post-logout URI appLogoutBack,
// scopes openid, profile, email and offline_access.
func (o *oidcAPI) addApp(name string, co clientOpts) (store.Client, string) {
	o.t.Helper()
	reg := client.Registration{
		Name:                   name,
		RedirectURIs:           co.redirectURIs,
		PostLogoutRedirectURIs: []string{appLogoutBack},
		GrantTypes:             []string{client.GrantAuthorizationCode, client.GrantRefreshToken},
		Scopes:                 []string{client.ScopeOpenID, client.ScopeProfile, client.ScopeEmail, client.ScopeOfflineAccess},
		FirstParty:             co.firstParty,
	}
	if reg.RedirectURIs == nil {
		reg.RedirectURIs = []string{appCallback}
	}
	if co.public {
		reg.Type = store.ClientPublic
	}
	c, secret, err := client.NewClient(reg, time.Now())
	if err != nil {
		o.t.Fatalf("client.NewClient(%s) = %v, want nil", name, err)
	}
	if err := o.db.CreateClient(o.t.Context(), c); err != nil {
		o.t.Fatalf("CreateClient(%s) = %v, want nil", name, err)
	}
	return c, secret
}

// pkce is a PKCE verifier and its S256 challenge (RFC 7636 §4.1, §4.2).
type pkce struct{ verifier, challenge string }

func newPKCE() pkce {
	b := make([]byte, 32)
	rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(v))
	return pkce{verifier: v, challenge: base64.RawURLEncoding.EncodeToString(sum[:])}
}

// authRequest is an authorization request and the secrets its client
// keeps.
type authRequest struct {
	q    url.Values
	pkce pkce
}

// newAuthRequest is a sound authorization request of c for appCallback:
// code, PKCE S256, scope "openid email", a state and a nonce.
func newAuthRequest(c store.Client) authRequest {
	pk := newPKCE()
	return authRequest{pkce: pk, q: url.Values{
		"response_type":         {"code"},
		"client_id":             {c.ID},
		"redirect_uri":          {appCallback},
		"scope":                 {"openid email"},
		"state":                 {"st-" + rand.Text()},
		"nonce":                 {"n-" + rand.Text()},
		"code_challenge":        {pk.challenge},
		"code_challenge_method": {"S256"},
	}}
}

// with returns the request with parameters set ("" deletes one).
func (ar authRequest) with(kv ...string) authRequest {
	q := url.Values{}
	for k, vs := range ar.q {
		q[k] = slices.Clone(vs)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	return authRequest{q: q, pkce: ar.pkce}
}

// path is the request's authorization endpoint URL path and query.
func (ar authRequest) path() string { return "/oauth2/authorize?" + ar.q.Encode() }

// browser is one browser: its own cookie jar, no redirect followed.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
}

// newBrowser returns a browser with an empty cookie jar.
func (o *oidcAPI) newBrowser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		o.t.Fatal(err)
	}
	return &browser{t: o.t, base: o.url, c: &http.Client{
		Jar:           jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *browser) send(req *http.Request) response {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("%s %s: reading body: %v", req.Method, req.URL.Path, err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body, req: req.Method + " " + req.URL.Path}
}

// get requests path (with its query).
func (b *browser) get(path string) response {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), "GET", b.base+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.send(req)
}

// post posts form to path as a browser posts a form.
func (b *browser) post(path string, form url.Values) response {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), "POST", b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.send(req)
}

// cookie returns the value of the jar's cookie name for the server, "" if
// none.
func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.base)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// inputRE finds an input element's name and value attributes, in the
// order internal/web's templates write them.
var inputRE = regexp.MustCompile(`<input [^>]*name="([^"]*)"[^>]*value="([^"]*)"`)

// formValue returns the value of the page's first input named name.
func formValue(t *testing.T, r response, name string) string {
	t.Helper()
	for _, m := range inputRE.FindAllStringSubmatch(string(r.body), -1) {
		if html.UnescapeString(m[1]) == name {
			return html.UnescapeString(m[2])
		}
	}
	t.Fatalf("%s: page has no input %q:\n%s", r.req, name, r.body)
	return ""
}

// wantPage checks that r is an HTML page with status and the headers of
// every page: a CSP that forbids framing and limits form targets, with
// formOrigins allowed besides 'self'; X-Frame-Options DENY; no caching.
func wantPage(t *testing.T, r response, status int, formOrigins ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s = %d, want %d page; body:\n%s", r.req, r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("%s: Content-Type %q, want text/html; charset=utf-8", r.req, ct)
	}
	wantFrameHeaders(t, r)
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s: Cache-Control %q, want no-store", r.req, cc)
	}
	csp := r.header.Get("Content-Security-Policy")
	want := strings.Join(append([]string{"form-action 'self'"}, formOrigins...), " ") + ";"
	if !strings.Contains(csp, want) {
		t.Errorf("%s: Content-Security-Policy %q, want %q", r.req, csp, want)
	}
	for _, d := range []string{"default-src 'none'", "style-src 'self'", "base-uri 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("%s: Content-Security-Policy %q lacks %q", r.req, csp, d)
		}
	}
	if r.header.Get("Location") != "" {
		t.Errorf("%s: page with Location %q", r.req, r.header.Get("Location"))
	}
}

// wantFrameHeaders checks the clickjacking defences: X-Frame-Options DENY
// and CSP frame-ancestors 'none', each once.
func wantFrameHeaders(t *testing.T, r response) {
	t.Helper()
	if got := r.header.Values("X-Frame-Options"); len(got) != 1 || got[0] != "DENY" {
		t.Errorf("%s (%d): X-Frame-Options %q, want DENY", r.req, r.status, got)
	}
	csps := r.header.Values("Content-Security-Policy")
	if len(csps) != 1 || !strings.Contains(csps[0], "frame-ancestors 'none'") {
		t.Errorf("%s (%d): Content-Security-Policy %q, want one with frame-ancestors 'none'", r.req, r.status, csps)
	}
}

// wantLoginPage checks that r is the sign-in page, carrying the
// authorization request raw (or none), and returns its form's fields
// with email and password filled in.
func wantLoginPage(t *testing.T, r response, status int, raw string, formOrigins ...string) url.Values {
	t.Helper()
	wantPage(t, r, status, formOrigins...)
	if !strings.Contains(string(r.body), `id="sign-in"`) {
		t.Fatalf("%s: not the sign-in page:\n%s", r.req, r.body)
	}
	form := url.Values{web.CSRFField: {formValue(t, r, web.CSRFField)}, web.EmailField: {"alice@example.com"}, web.PasswordField: {testPassword}}
	if raw != "" {
		if got := formValue(t, r, web.RequestField); got != raw {
			t.Errorf("%s: request field %q, want the authorization request %q", r.req, got, raw)
		}
		form.Set(web.RequestField, raw)
	} else if strings.Contains(string(r.body), `name="request"`) {
		t.Errorf("%s: sign-in page carries a request, want none", r.req)
	}
	return form
}

// location parses r's Location after checking r is a 303.
func location(t *testing.T, r response) *url.URL {
	t.Helper()
	if r.status != http.StatusSeeOther {
		t.Fatalf("%s = %d, want 303; body:\n%s", r.req, r.status, r.body)
	}
	u, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		t.Fatalf("%s: Location %q: %v", r.req, r.header.Get("Location"), err)
	}
	return u
}

// wantRedirectTo checks that r is a 303 to redirectURI (exactly, but for
// the query) and returns the query it carries.
func wantRedirectTo(t *testing.T, r response, redirectURI string) url.Values {
	t.Helper()
	u := location(t, r)
	q := u.Query()
	u.RawQuery = ""
	if u.String() != redirectURI {
		t.Fatalf("%s: redirect to %q, want to %q", r.req, r.header.Get("Location"), redirectURI)
	}
	// RFC 9207 §2: every authorization response names the issuer, so a
	// client talking to several cannot be mixed up.
	if got := q["iss"]; len(got) != 1 || got[0] != testIssuer {
		t.Errorf("%s: iss %q, want %q", r.req, got, testIssuer)
	}
	return q
}

// wantCode checks a successful authorization response (RFC 6749
// §4.1.2): 303 to the redirect URI with a code, the state exactly as
// sent and the issuer; it returns the code.
func wantCode(t *testing.T, r response, ar authRequest) string {
	t.Helper()
	q := wantRedirectTo(t, r, ar.q.Get("redirect_uri"))
	if q.Has("error") {
		t.Fatalf("%s: error response %q (%q), want a code", r.req, q.Get("error"), q.Get("error_description"))
	}
	if got, want := q["state"], ar.q["state"]; !slices.Equal(got, want) {
		t.Errorf("%s: state %q, want %q", r.req, got, want)
	}
	code := q.Get("code")
	if code == "" || len(q["code"]) != 1 {
		t.Fatalf("%s: code %q, want one", r.req, q["code"])
	}
	return code
}

// wantRedirectError checks an error response (RFC 6749 §4.1.2.1) sent
// to redirectURI with error code, the state and the issuer.
func wantRedirectError(t *testing.T, r response, redirectURI, state, code string) {
	t.Helper()
	q := wantRedirectTo(t, r, redirectURI)
	if got := q.Get("error"); got != code {
		t.Errorf("%s: error %q (%q), want %q", r.req, got, q.Get("error_description"), code)
	}
	if q.Has("code") {
		t.Errorf("%s: error response carries a code", r.req)
	}
	var want []string
	if state != "" {
		want = []string{state}
	}
	if got := q["state"]; !slices.Equal(got, want) {
		t.Errorf("%s: state %q, want %q", r.req, got, want)
	}
}

// wantErrorPage checks that r is the error page with status, and not a
// redirect.
func wantErrorPage(t *testing.T, r response, status int) {
	t.Helper()
	wantPage(t, r, status)
	if strings.Contains(string(r.body), `<form`) {
		t.Errorf("%s: error page with a form:\n%s", r.req, r.body)
	}
}

// signIn runs ar in b from the sign-in page: GET the authorization
// endpoint, which must show the sign-in page, then post alice's
// credentials. It returns the post's response.
func (b *browser) signIn(ar authRequest, formOrigins ...string) response {
	b.t.Helper()
	r := b.get(ar.path())
	form := wantLoginPage(b.t, r, http.StatusOK, ar.q.Encode(), formOrigins...)
	return b.post("/login", form)
}

// signInTo signs alice in to c in b from the sign-in page, as signIn
// does, and checks that a code comes back.
func (b *browser) signInTo(c store.Client, formOrigins ...string) {
	b.t.Helper()
	ar := newAuthRequest(c)
	wantCode(b.t, b.signIn(ar, formOrigins...), ar)
}

// tokenResponse is the token endpoint's answer (RFC 6749 §5.1).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Scope        string `json:"scope"`
}

// redeem exchanges code at the token endpoint as c.
func (o *oidcAPI) redeem(c store.Client, secret, code string, ar authRequest) tokenResponse {
	o.t.Helper()
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {ar.q.Get("redirect_uri")},
		"code_verifier": {ar.pkce.verifier},
	}
	r := o.do(request{method: "POST", path: "/oauth2/token", body: form.Encode(), contentType: "application/x-www-form-urlencoded", header: basicAuth(c.ID, secret)})
	if r.status != http.StatusOK {
		o.t.Fatalf("POST /oauth2/token = %v, want 200", r)
	}
	var tr tokenResponse
	if err := json.Unmarshal(r.body, &tr); err != nil {
		o.t.Fatalf("POST /oauth2/token = %v: %v", r, err)
	}
	if tr.AccessToken == "" || tr.TokenType != "Bearer" {
		o.t.Fatalf("POST /oauth2/token = %v, want a Bearer access token", r)
	}
	return tr
}

// idClaims verifies an ID token as a relying party would: the published
// keys, the issuer, the client as audience.
func (o *oidcAPI) idClaims(tok, clientID string) jwt.Claims {
	o.t.Helper()
	r := o.do(request{method: "GET", path: "/.well-known/jwks.json"})
	keys, err := jose.ParseJWKSet(r.body)
	if err != nil {
		o.t.Fatal(err)
	}
	v, err := jwt.NewValidator(keys, testIssuer, clientID, jwt.ValidatorOptions{Type: "JWT", Now: o.clock.Now})
	if err != nil {
		o.t.Fatal(err)
	}
	hdr, c, err := v.ParseWithHeader(tok)
	if err != nil {
		o.t.Fatalf("ID token: %v", err)
	}
	if hdr.Algorithm != jose.RS256 {
		o.t.Errorf("ID token alg %s, want RS256", hdr.Algorithm)
	}
	return c
}

// browserSessionOf returns the active browser session b is signed in
// with, by its latch_sso cookie.
func (o *oidcAPI) browserSessionOf(b *browser) store.Session {
	o.t.Helper()
	v := b.cookie("latch_sso")
	if v == "" {
		o.t.Fatal("browser has no latch_sso cookie")
	}
	s, _, err := o.provider.BrowserSession(o.t.Context(), v)
	if err != nil {
		o.t.Fatalf("BrowserSession(latch_sso) = %v, want the browser's session", err)
	}
	return s
}

// wantActive checks whether the session with id is active.
func (o *oidcAPI) wantActive(id string, active bool) {
	o.t.Helper()
	_, err := o.sessions.Active(o.t.Context(), id)
	switch {
	case active && err != nil:
		o.t.Errorf("session %s: Active = %v, want active", id, err)
	case !active && !errors.Is(err, session.ErrEnded):
		o.t.Errorf("session %s: Active = %v, want %v", id, err, session.ErrEnded)
	}
}

// TestBrowserCodeFlow is the authorization code flow by form posts: the
// authorization endpoint shows the sign-in page, whose post signs the
// user in, sets the single sign-on cookie, and answers with the code;
// the code redeems at the token endpoint for tokens whose ID token names
// the browser session.
func TestBrowserCodeFlow(t *testing.T) {
	o := newOIDCAPI(t, options{})
	alice := o.addUser("alice@example.com")
	app, secret := o.addApp("Example App", clientOpts{firstParty: true})
	b := o.newBrowser()
	ar := newAuthRequest(app)

	r := b.get(ar.path())
	form := wantLoginPage(t, r, http.StatusOK, ar.q.Encode(), "https://app.example.com")
	if !strings.Contains(string(r.body), "Example App") {
		t.Errorf("sign-in page does not name the application:\n%s", r.body)
	}
	if r.cookies()[web.CSRFCookie] == nil {
		t.Errorf("sign-in page sets cookies %q, want %s", r.header.Values("Set-Cookie"), web.CSRFCookie)
	}

	r = b.post("/login", form)
	code := wantCode(t, r, ar)
	sso := r.cookies()["latch_sso"]
	switch {
	case sso == nil:
		t.Fatalf("POST /login sets cookies %q, want latch_sso", r.header.Values("Set-Cookie"))
	case !sso.HttpOnly || !sso.Secure || sso.SameSite != http.SameSiteLaxMode || sso.Path != "/" || sso.Domain != "":
		// Secure: the issuer URL is https, so TLS ends in front of the
		// server even though this request came in plain HTTP.
		t.Errorf("latch_sso cookie %q, want HttpOnly, Secure, SameSite=Lax, Path=/, no Domain", sso.Raw)
	}
	browserSess := o.browserSessionOf(b)
	if browserSess.UserID != alice.ID {
		t.Errorf("browser session of user %s, want %s", browserSess.UserID, alice.ID)
	}

	tr := o.redeem(app, secret, code, ar)
	if tr.IDToken == "" || tr.RefreshToken == "" {
		t.Fatalf("token response %+v, want an ID token and a refresh token", tr)
	}
	c := o.idClaims(tr.IDToken, app.ID)
	if c.Subject != alice.ID || c.Nonce != ar.q.Get("nonce") || c.SessionID != browserSess.ID {
		t.Errorf("ID token sub %q nonce %q sid %q, want %q %q %q", c.Subject, c.Nonce, c.SessionID, alice.ID, ar.q.Get("nonce"), browserSess.ID)
	}

	// The code is single use.
	form2 := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {appCallback}, "code_verifier": {ar.pkce.verifier}}
	r = o.do(request{method: "POST", path: "/oauth2/token", body: form2.Encode(), contentType: "application/x-www-form-urlencoded", header: basicAuth(app.ID, secret)})
	wantError(t, r, http.StatusBadRequest, "invalid_grant")
}

// TestBrowserSSO: once signed in, a second client gets its code without
// a password: the authorization endpoint answers with the code at once.
func TestBrowserSSO(t *testing.T) {
	o := newOIDCAPI(t, options{})
	o.addUser("alice@example.com")
	first, _ := o.addApp("First", clientOpts{firstParty: true})
	second, secret := o.addApp("Second", clientOpts{firstParty: true})
	b := o.newBrowser()
	b.signInTo(first, "https://app.example.com")

	ar := newAuthRequest(second)
	code := wantCode(t, b.get(ar.path()), ar)
	tr := o.redeem(second, secret, code, ar)
	if c := o.idClaims(tr.IDToken, second.ID); c.SessionID != o.browserSessionOf(b).ID {
		t.Errorf("second client's ID token sid %q, want the browser session %q", c.SessionID, o.browserSessionOf(b).ID)
	}

	// Another browser has no session: it gets the sign-in page.
	wantLoginPage(t, o.newBrowser().get(ar.path()), http.StatusOK, ar.q.Encode(), "https://app.example.com")
}

// TestBrowserConsent: a third-party client needs the user's consent,
// asked once; deny answers access_denied and stores nothing; allow
// stores it and answers with the code; prompt=consent asks again.
func TestBrowserConsent(t *testing.T) {
	o := newOIDCAPI(t, options{})
	alice := o.addUser("alice@example.com")
	app, _ := o.addApp("Third <Party> App", clientOpts{})
	b := o.newBrowser()
	ar := newAuthRequest(app)

	r := b.signIn(ar, "https://app.example.com")
	wantPage(t, r, http.StatusOK, "https://app.example.com")
	body := string(r.body)
	for _, want := range []string{"Third &lt;Party&gt; App", "<code>openid</code>", "<code>email</code>", "https://app.example.com", "alice@example.com", `id="allow"`, `id="deny"`} {
		if !strings.Contains(body, want) {
			t.Errorf("consent page lacks %q:\n%s", want, body)
		}
	}
	consentForm := url.Values{web.CSRFField: {formValue(t, r, web.CSRFField)}, web.RequestField: {formValue(t, r, web.RequestField)}}
	if got := consentForm.Get(web.RequestField); got != ar.q.Encode() {
		t.Errorf("consent request field %q, want %q", got, ar.q.Encode())
	}

	deny := url.Values{web.DecisionField: {web.DecisionDeny}}
	for k, v := range consentForm {
		deny[k] = v
	}
	r = b.post("/consent", deny)
	wantRedirectError(t, r, appCallback, ar.q.Get("state"), "access_denied")
	if _, err := o.db.ConsentFor(t.Context(), alice.ID, app.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConsentFor after deny = %v, want %v", err, store.ErrNotFound)
	}

	// Asked again, then allowed.
	ar = newAuthRequest(app)
	r = b.get(ar.path())
	wantPage(t, r, http.StatusOK, "https://app.example.com")
	allow := url.Values{web.DecisionField: {web.DecisionAllow}, web.CSRFField: {formValue(t, r, web.CSRFField)}, web.RequestField: {formValue(t, r, web.RequestField)}}
	wantCode(t, b.post("/consent", allow), ar)
	if c, err := o.db.ConsentFor(t.Context(), alice.ID, app.ID); err != nil || !slices.Equal(c.Scopes, []string{"email", "openid"}) {
		t.Errorf("ConsentFor after allow = %+v, %v, want scopes [email openid]", c, err)
	}

	// Consent given: no page.
	ar = newAuthRequest(app)
	wantCode(t, b.get(ar.path()), ar)
	// More scopes than consented to: asked again.
	r = b.get(newAuthRequest(app).with("scope", "openid email profile").path())
	wantPage(t, r, http.StatusOK, "https://app.example.com")
	if !strings.Contains(string(r.body), "<code>profile</code>") {
		t.Errorf("consent page for a wider scope lacks profile:\n%s", r.body)
	}
	// prompt=consent asks even with consent given.
	r = b.get(newAuthRequest(app).with("prompt", "consent").path())
	wantPage(t, r, http.StatusOK, "https://app.example.com")
	if !strings.Contains(string(r.body), `id="allow"`) {
		t.Errorf("prompt=consent: not the consent page:\n%s", r.body)
	}

	// An unknown decision does nothing.
	r = b.get(newAuthRequest(app).with("prompt", "consent").path())
	bad := url.Values{web.DecisionField: {"maybe"}, web.CSRFField: {formValue(t, r, web.CSRFField)}, web.RequestField: {formValue(t, r, web.RequestField)}}
	wantErrorPage(t, b.post("/consent", bad), http.StatusBadRequest)
}

// TestBrowserPromptNone: prompt=none never shows a page (OpenID Connect
// Core 1.0 §3.1.2.1): login_required without a session, consent_required
// without consent, else the code.
func TestBrowserPromptNone(t *testing.T) {
	o := newOIDCAPI(t, options{})
	o.addUser("alice@example.com")
	first, _ := o.addApp("First", clientOpts{firstParty: true})
	third, _ := o.addApp("Third", clientOpts{})
	b := o.newBrowser()

	ar := newAuthRequest(first).with("prompt", "none")
	wantRedirectError(t, b.get(ar.path()), appCallback, ar.q.Get("state"), "login_required")

	b.signInTo(first, "https://app.example.com")
	wantCode(t, b.get(ar.path()), ar)

	ar = newAuthRequest(third).with("prompt", "none")
	wantRedirectError(t, b.get(ar.path()), appCallback, ar.q.Get("state"), "consent_required")
}

// TestBrowserMaxAge: max_age older than the browser session's sign-in,
// or prompt=login, shows the sign-in page despite the session (or, with
// prompt=none, login_required); signing in again answers with the code.
func TestBrowserMaxAge(t *testing.T) {
	o := newOIDCAPI(t, options{})
	o.addUser("alice@example.com")
	app, secret := o.addApp("App", clientOpts{firstParty: true})
	b := o.newBrowser()
	b.signInTo(app, "https://app.example.com")
	o.clock.Advance(10 * time.Minute)

	ar := newAuthRequest(app).with("max_age", "3600")
	wantCode(t, b.get(ar.path()), ar)

	for _, ar := range []authRequest{
		newAuthRequest(app).with("max_age", "60"),
		newAuthRequest(app).with("max_age", "0"),
		newAuthRequest(app).with("prompt", "login"),
	} {
		r := b.get(ar.path())
		form := wantLoginPage(t, r, http.StatusOK, ar.q.Encode(), "https://app.example.com")
		code := wantCode(t, b.post("/login", form), ar)
		tr := o.redeem(app, secret, code, ar)
		if c := o.idClaims(tr.IDToken, app.ID); !c.AuthTime.Equal(o.clock.Now().Truncate(time.Second)) {
			t.Errorf("%s: auth_time %v, want the new sign-in %v", ar.q.Encode(), c.AuthTime, o.clock.Now().Truncate(time.Second))
		}
		o.clock.Advance(10 * time.Minute)
	}

	ar = newAuthRequest(app).with("max_age", "60", "prompt", "none")
	wantRedirectError(t, b.get(ar.path()), appCallback, ar.q.Get("state"), "login_required")
}

// TestAuthorizeRedirectURIAttacks: a redirect URI that is not exactly a
// registered one, or an unknown client, is answered with an error page,
// never a redirect (RFC 6749 §4.1.2.1, RFC 9700 §2.1, §4.1): whatever
// else is wrong with the request, no error goes to an unregistered URI.
func TestAuthorizeRedirectURIAttacks(t *testing.T) {
	o := newOIDCAPI(t, options{})
	o.addUser("alice@example.com")
	app, _ := o.addApp("App", clientOpts{firstParty: true})
	two, _ := o.addApp("Two", clientOpts{firstParty: true, redirectURIs: []string{appCallback, "https://app.example.com/other"}})
	ar := newAuthRequest(app)

	tests := []struct {
		name string
		req  authRequest
	}{
		{"prefix of the registered", ar.with("redirect_uri", "https://app.example.com/c")},
		{"registered is a prefix", ar.with("redirect_uri", "https://app.example.com/cbx")},
		{"extra path", ar.with("redirect_uri", "https://app.example.com/cb/evil")},
		{"dot segments", ar.with("redirect_uri", "https://app.example.com/cb/../evil")},
		{"trailing slash", ar.with("redirect_uri", "https://app.example.com/cb/")},
		{"host case", ar.with("redirect_uri", "https://APP.example.com/cb")},
		{"path case", ar.with("redirect_uri", "https://app.example.com/CB")},
		{"percent-encoded path", ar.with("redirect_uri", "https://app.example.com/%63b")},
		{"fragment", ar.with("redirect_uri", "https://app.example.com/cb#x")},
		{"added query", ar.with("redirect_uri", "https://app.example.com/cb?next=https://evil.example")},
		{"other port", ar.with("redirect_uri", "https://app.example.com:8443/cb")},
		{"http downgrade", ar.with("redirect_uri", "http://app.example.com/cb")},
		{"userinfo naming the host", ar.with("redirect_uri", "https://app.example.com@evil.example/cb")},
		{"userinfo before the host", ar.with("redirect_uri", "https://evil.example@app.example.com/cb")},
		{"subdomain", ar.with("redirect_uri", "https://evil.app.example.com/cb")},
		{"other site", ar.with("redirect_uri", "https://evil.example/cb")},
		{"unknown client", ar.with("client_id", "c_00000000000000000000000000000000")},
		{"unknown client, other redirect", ar.with("client_id", "c_00000000000000000000000000000000", "redirect_uri", "https://evil.example/cb")},
		{"no client", ar.with("client_id", "")},
		{"mismatch and a bad response type", ar.with("redirect_uri", "https://evil.example/cb", "response_type", "token")},
		{"mismatch and no PKCE", ar.with("redirect_uri", "https://evil.example/cb", "code_challenge", "")},
		{"no redirect URI of several", newAuthRequest(two).with("redirect_uri", "")},
		{"malformed query", authRequest{q: url.Values{"client_id": {app.ID}, "x": {"%zz"}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := o.newBrowser()
			path := tt.req.path()
			if tt.name == "malformed query" {
				path = "/oauth2/authorize?client_id=" + app.ID + "&redirect_uri=" + url.QueryEscape(appCallback) + "&x=%zz"
			}
			r := b.get(path)
			wantErrorPage(t, r, http.StatusBadRequest)
			if strings.Contains(string(r.body), "evil.example") {
				t.Errorf("error page echoes the attacker's URI:\n%s", r.body)
			}
		})
	}

	// Signed in, the same: no code goes to a URI that is not registered.
	b := o.newBrowser()
	wantCode(t, b.signIn(ar, "https://app.example.com"), ar)
	r := b.get(ar.with("redirect_uri", "https://app.example.com/cb/evil").path())
	wantErrorPage(t, r, http.StatusBadRequest)
}

// TestAuthorizeLoopbackPort: a loopback redirect URI's port may vary
// (RFC 8252 §7.3), and the form-action of the pages allows the port the
// request named.
func TestAuthorizeLoopbackPort(t *testing.T) {
	o := newOIDCAPI(t, options{})
	o.addUser("alice@example.com")
	app, _ := o.addApp("Native", clientOpts{firstParty: true, public: true, redirectURIs: []string{"http://127.0.0.1/cb"}})
	ar := newAuthRequest(app).with("redirect_uri", "http://127.0.0.1:51234/cb")
	b := o.newBrowser()
	wantCode(t, b.signIn(ar, "http://127.0.0.1:51234"), ar)
}

// TestAuthorizeErrorRedirects: with a known client and a registered
// redirect URI, a bad request is answered at the redirect URI with its
// error code, the state exactly as sent and the issuer (RFC 6749
// §4.1.2.1, RFC 9207), whether or not the browser is signed in.
func TestAuthorizeErrorRedirects(t *testing.T) {
	o := newOIDCAPI(t, options{})
	o.addUser("alice@example.com")
	app, _ := o.addApp("App", clientOpts{firstParty: true})
	service, _ := o.addApp("No code", clientOpts{firstParty: true})
	if _, err := o.db.UpdateClient(t.Context(), service.ID, func(c store.Client) (store.Client, error) {
		c.GrantTypes = []string{client.GrantClientCredentials}
		return c, nil
	}); err != nil {
		t.Fatal(err)
	}
	state := `s t&a=t/e?é+%20"<>`
	ar := newAuthRequest(app).with("state", state)

	tests := []struct {
		name string
		req  authRequest
		code string
	}{
		{"no PKCE", ar.with("code_challenge", "", "code_challenge_method", ""), "invalid_request"},
		{"plain PKCE", ar.with("code_challenge_method", "plain", "code_challenge", ar.pkce.verifier), "invalid_request"},
		{"PKCE method missing", ar.with("code_challenge_method", ""), "invalid_request"},
		{"implicit", ar.with("response_type", "token"), "unsupported_response_type"},
		{"hybrid", ar.with("response_type", "code id_token"), "unsupported_response_type"},
		{"no response type", ar.with("response_type", ""), "invalid_request"},
		{"scope not allowed", ar.with("scope", "openid admin"), "invalid_scope"},
		{"request object", ar.with("request", "eyJhbGciOiJub25lIn0.e30."), "request_not_supported"},
		{"request_uri", ar.with("request_uri", "https://evil.example/r"), "request_uri_not_supported"},
		{"client without the code grant", newAuthRequest(service).with("state", state), "unauthorized_client"},
	}
	for _, signedIn := range []bool{false, true} {
		b := o.newBrowser()
		if signedIn {
			b.signInTo(app, "https://app.example.com")
		}
		for _, tt := range tests {
			r := b.get(tt.req.path())
			t.Run(tt.name, func(t *testing.T) {
				wantRedirectError(t, r, appCallback, state, tt.code)
				if strings.Contains(r.header.Get("Location"), "evil.example") {
					t.Errorf("Location %q carries the attacker's URI", r.header.Get("Location"))
				}
			})
		}
	}
}

// TestBrowserCSRF: a form post without the token of its form, or with
// one made for another form, browser or session, is refused with 403,
// and nothing happens.
func TestBrowserCSRF(t *testing.T) {
	o := newOIDCAPI(t, options{})
	alice := o.addUser("alice@example.com")
	third, _ := o.addApp("Third", clientOpts{})
	ctx := t.Context()

	t.Run("login", func(t *testing.T) {
		b := o.newBrowser()
		ar := newAuthRequest(third)
		good := wantLoginPage(t, b.get(ar.path()), http.StatusOK, ar.q.Encode(), "https://app.example.com")
		before := o.snapshot(alice)
		other := o.newBrowser()
		otherToken := formValue(t, other.get("/login"), web.CSRFField)
		for name, token := range map[string]string{
			"missing":       "",
			"malformed":     "not-a-token",
			"other browser": otherToken,
		} {
			form := url.Values{}
			for k, v := range good {
				form[k] = v
			}
			form.Set(web.CSRFField, token)
			if token == "" {
				form.Del(web.CSRFField)
			}
			r := b.post("/login", form)
			wantErrorPage(t, r, http.StatusForbidden)
			if r.cookies()["latch_sso"] != nil {
				t.Errorf("%s token: POST /login sets latch_sso", name)
			}
		}
		// Without the binding cookie, the right token is refused too.
		fresh := o.newBrowser()
		wantErrorPage(t, fresh.post("/login", good), http.StatusForbidden)
		if after := o.snapshot(alice); len(after.sessions) != len(before.sessions) || len(after.throttles) != len(before.throttles) {
			t.Errorf("refused sign-ins changed the store: sessions %d -> %d, throttles %d -> %d",
				len(before.sessions), len(after.sessions), len(before.throttles), len(after.throttles))
		}
	})

	// A signed-in browser at the consent page.
	b := o.newBrowser()
	ar := newAuthRequest(third)
	r := b.signIn(ar, "https://app.example.com")
	wantPage(t, r, http.StatusOK, "https://app.example.com")
	consentToken := formValue(t, r, web.CSRFField)
	loginToken := formValue(t, b.get(newAuthRequest(third).with("prompt", "login").path()), web.CSRFField)

	t.Run("consent", func(t *testing.T) {
		for name, token := range map[string]string{"missing": "", "login form's": loginToken, "malformed": "x"} {
			form := url.Values{web.DecisionField: {web.DecisionAllow}, web.RequestField: {ar.q.Encode()}}
			if token != "" {
				form.Set(web.CSRFField, token)
			}
			r := b.post("/consent", form)
			wantErrorPage(t, r, http.StatusForbidden)
			if _, err := o.db.ConsentFor(ctx, alice.ID, third.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("%s token: ConsentFor = %v, want %v", name, err, store.ErrNotFound)
			}
		}
	})

	t.Run("account", func(t *testing.T) {
		other := o.newBrowser()
		other.post("/login", wantLoginPage(t, other.get("/login"), http.StatusOK, ""))
		otherSess := o.browserSessionOf(other)
		page := other.get("/account")
		wantPage(t, page, http.StatusOK)
		// other's account token, carried to b with b's own binding
		// cookie would still be for other's session: refused.
		otherToken := formValue(t, page, web.CSRFField)
		for name, token := range map[string]string{"missing": "", "consent form's": consentToken, "other session's": otherToken} {
			form := url.Values{web.OpField: {web.OpLogoutOthers}}
			if token != "" {
				form.Set(web.CSRFField, token)
			}
			r := b.post("/account", form)
			if r.status != http.StatusForbidden {
				t.Errorf("%s token: POST /account = %d, want 403", name, r.status)
			}
			wantErrorPage(t, r, http.StatusForbidden)
			o.wantActive(otherSess.ID, true)
		}
	})

	t.Run("logout", func(t *testing.T) {
		sess := o.browserSessionOf(b)
		confirm := b.get("/oauth2/logout")
		wantPage(t, confirm, http.StatusOK)
		for name, token := range map[string]string{"malformed": "x", "consent form's": consentToken} {
			r := b.post("/oauth2/logout", url.Values{web.CSRFField: {token}})
			wantErrorPage(t, r, http.StatusForbidden)
			if r.cookies()["latch_sso"] != nil {
				t.Errorf("%s token: logout touches latch_sso", name)
			}
			o.wantActive(sess.ID, true)
		}
		// No token at all is not the confirmation: it asks for one.
		r := b.post("/oauth2/logout", url.Values{})
		wantPage(t, r, http.StatusOK)
		if !strings.Contains(string(r.body), `id="sign-out"`) {
			t.Errorf("POST /oauth2/logout without a token: not the confirmation page:\n%s", r.body)
		}
		o.wantActive(sess.ID, true)
	})
}

// TestBrowserClickjacking: every page forbids framing, with
// X-Frame-Options DENY and CSP frame-ancestors 'none' (RFC 9700 §4.16).
func TestBrowserClickjacking(t *testing.T) {
	o := newOIDCAPI(t, options{})
	o.addUser("alice@example.com")
	third, _ := o.addApp("Third", clientOpts{})
	b := o.newBrowser()
	ar := newAuthRequest(third)
	pages := map[string]response{"login (authorize)": b.get(ar.path())}
	pages["login (account)"] = o.newBrowser().get("/login")
	pages["wrong password"] = b.post("/login", url.Values{web.CSRFField: {formValue(t, pages["login (authorize)"], web.CSRFField)}, web.RequestField: {ar.q.Encode()}, web.EmailField: {"alice@example.com"}, web.PasswordField: {"wrong"}})
	pages["consent"] = b.signIn(ar, "https://app.example.com")
	pages["account"] = b.get("/account")
	pages["logout confirmation"] = b.get("/oauth2/logout")
	pages["error"] = b.get("/oauth2/authorize?client_id=nobody")
	pages["csrf refused"] = b.post("/account", url.Values{web.OpField: {web.OpLogoutOthers}})
	pages["signed out"] = b.post("/oauth2/logout", url.Values{web.CSRFField: {formValue(t, pages["logout confirmation"], web.CSRFField)}})
	for name, r := range pages {
		t.Run(name, func(t *testing.T) {
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Fatalf("%s = %d %s, want a page", r.req, r.status, ct)
			}
			wantFrameHeaders(t, r)
		})
	}
	if !strings.Contains(string(pages["signed out"].body), "signed out") {
		t.Errorf("logout confirmation post: not the signed-out page:\n%s", pages["signed out"].body)
	}
}

// TestBrowserLoginEnumeration: an unknown address and a wrong password
// get the same answer (status and page but for the address typed), and
// both count towards the throttle, as on POST /v1/login.
func TestBrowserLoginEnumeration(t *testing.T) {
	o := newOIDCAPI(t, options{login: login.Config{AccountLimit: 3, BaseLock: time.Minute}})
	o.addUser("alice@example.com")
	app, _ := o.addApp("App", clientOpts{firstParty: true})
	b := o.newBrowser()
	ar := newAuthRequest(app)
	form := wantLoginPage(t, b.get(ar.path()), http.StatusOK, ar.q.Encode(), "https://app.example.com")

	attempt := func(email, pw string) response {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		f.Set(web.EmailField, email)
		f.Set(web.PasswordField, pw)
		return b.post("/login", f)
	}
	unknown := attempt("nobody@example.com", testPassword)
	wrong := attempt("alice@example.com", "wrong password")
	wantLoginPage(t, unknown, http.StatusUnauthorized, ar.q.Encode(), "https://app.example.com")
	wantLoginPage(t, wrong, http.StatusUnauthorized, ar.q.Encode(), "https://app.example.com")
	u := strings.ReplaceAll(string(unknown.body), "nobody@example.com", "EMAIL")
	w := strings.ReplaceAll(string(wrong.body), "alice@example.com", "EMAIL")
	if u != w {
		t.Errorf("unknown address and wrong password differ:\n%s\n---\n%s", u, w)
	}
	if unknown.cookies()["latch_sso"] != nil || wrong.cookies()["latch_sso"] != nil {
		t.Error("a failed sign-in sets latch_sso")
	}

	// The throttle of /v1/login: the third failure locks the account,
	// then even the right password is refused.
	attempt("alice@example.com", "wrong again")
	wantLoginPage(t, attempt("alice@example.com", "wrong a third time"), http.StatusTooManyRequests, ar.q.Encode(), "https://app.example.com")
	r := attempt("alice@example.com", testPassword)
	wantLoginPage(t, r, http.StatusTooManyRequests, ar.q.Encode(), "https://app.example.com")
	if r.header.Get("Retry-After") == "" {
		t.Errorf("throttled sign-in without Retry-After")
	}
}

// TestBrowserLoginRequestRevalidated: the sign-in form's request field is
// validated again when posted: a tampered one gets no code for an
// unregistered redirect URI.
func TestBrowserLoginRequestRevalidated(t *testing.T) {
	o := newOIDCAPI(t, options{})
	o.addUser("alice@example.com")
	app, _ := o.addApp("App", clientOpts{firstParty: true})
	b := o.newBrowser()
	ar := newAuthRequest(app)
	form := wantLoginPage(t, b.get(ar.path()), http.StatusOK, ar.q.Encode(), "https://app.example.com")

	form.Set(web.RequestField, ar.with("redirect_uri", "https://evil.example/cb").q.Encode())
	r := b.post("/login", form)
	wantErrorPage(t, r, http.StatusBadRequest)
	if r.cookies()["latch_sso"] != nil {
		t.Error("POST /login with a tampered request signed the user in")
	}

	form.Set(web.RequestField, ar.with("code_challenge", "").q.Encode())
	wantRedirectError(t, b.post("/login", form), appCallback, ar.q.Get("state"), "invalid_request")

	// Without a request, the sign-in goes to the account page.
	form.Del(web.RequestField)
	if u := location(t, b.post("/login", form)); u.String() != "/account" {
		t.Errorf("POST /login without a request: Location %q, want /account", u)
	}
}

// TestBrowserAccount: the account page lists the user's sessions, logs
// out one (only the user's own) or the others (keeping this browser and
// the applications it signed in to), withdraws an application's consent
// and changes the password.
func TestBrowserAccount(t *testing.T) {
	o := newOIDCAPI(t, options{})
	alice := o.addUser("alice@example.com")
	o.addUser("bob@example.com")
	app, secret := o.addApp("Third App", clientOpts{})
	ctx := t.Context()

	// Signed out: to the sign-in page.
	if u := location(t, o.newBrowser().get("/account")); u.String() != "/login" {
		t.Errorf("GET /account signed out: Location %q, want /login", u)
	}

	// Browser b signs in to the app (consenting), so its browser
	// session has a child session.
	b := o.newBrowser()
	ar := newAuthRequest(app)
	r := b.signIn(ar, "https://app.example.com")
	allow := url.Values{web.DecisionField: {web.DecisionAllow}, web.CSRFField: {formValue(t, r, web.CSRFField)}, web.RequestField: {formValue(t, r, web.RequestField)}}
	tr := o.redeem(app, secret, wantCode(t, b.post("/consent", allow), ar), ar)
	current := o.browserSessionOf(b)
	child := o.idClaims(tr.IDToken, app.ID) // sid: the browser session
	if child.SessionID != current.ID {
		t.Fatalf("ID token sid %q, want %q", child.SessionID, current.ID)
	}
	childSess := findSession(t, o, alice.ID, func(s store.Session) bool { return s.ParentID == current.ID })
	// Signed in, the sign-in page sends the browser to its account.
	if u := location(t, b.get("/login")); u.String() != "/account" {
		t.Errorf("GET /login signed in: Location %q, want /account", u)
	}

	// Another device, a /v1 login, and bob's session.
	other := o.newBrowser()
	if u := location(t, other.post("/login", wantLoginPage(t, other.get("/login"), http.StatusOK, ""))); u.String() != "/account" {
		t.Fatalf("POST /login: Location %q, want /account", u)
	}
	otherSess := o.browserSessionOf(other)
	v1 := o.login("alice@example.com")
	bobs := o.login("bob@example.com")

	page := b.get("/account")
	wantPage(t, page, http.StatusOK)
	body := string(page.body)
	for _, want := range []string{"alice@example.com", current.ID, otherSess.ID, v1.SessionID, childSess.ID, "Third App (application)", "This device", `name="client" value="` + app.ID + `"`} {
		if !strings.Contains(body, want) {
			t.Errorf("account page lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, bobs.SessionID) {
		t.Errorf("account page lists bob's session %s", bobs.SessionID)
	}
	if n := strings.Count(body, "This device"); n != 1 {
		t.Errorf("account page marks %d sessions current, want 1", n)
	}
	token := formValue(t, page, web.CSRFField)
	post := func(kv ...string) response {
		form := url.Values{web.CSRFField: {token}}
		for i := 0; i+1 < len(kv); i += 2 {
			form.Set(kv[i], kv[i+1])
		}
		return b.post("/account", form)
	}

	// Bob's session is not alice's to end: 404, and it lives on.
	wantErrorPage(t, post(web.OpField, web.OpLogoutSession, web.SessionField, bobs.SessionID), http.StatusNotFound)
	o.wantActive(bobs.SessionID, true)
	wantErrorPage(t, post(web.OpField, web.OpLogoutSession, web.SessionField, "nonsense"), http.StatusNotFound)

	// Log out the /v1 session.
	if u := location(t, post(web.OpField, web.OpLogoutSession, web.SessionField, v1.SessionID)); u.String() != "/account?done=logout-session" {
		t.Errorf("logout-session: Location %q", u)
	}
	o.wantActive(v1.SessionID, false)
	if r := b.get("/account?done=logout-session"); !strings.Contains(string(r.body), "The device was logged out.") {
		t.Errorf("account page after logout-session lacks its confirmation:\n%s", r.body)
	}

	// Log out the others: the other browser goes, this one and its
	// application stay.
	v1 = o.login("alice@example.com")
	if u := location(t, post(web.OpField, web.OpLogoutOthers)); u.String() != "/account?done=logout-others" {
		t.Errorf("logout-others: Location %q", u)
	}
	o.wantActive(otherSess.ID, false)
	o.wantActive(v1.SessionID, false)
	o.wantActive(current.ID, true)
	o.wantActive(childSess.ID, true)
	o.wantActive(bobs.SessionID, true)
	if u := location(t, other.get("/account")); u.String() != "/login" {
		t.Errorf("logged-out browser: GET /account Location %q, want /login", u)
	}

	// Withdraw the app's consent: its sessions end too.
	wantErrorPage(t, post(web.OpField, web.OpRevokeApp, web.ClientField, "c_nobody"), http.StatusNotFound)
	if u := location(t, post(web.OpField, web.OpRevokeApp, web.ClientField, app.ID)); u.String() != "/account?done=revoke-app" {
		t.Errorf("revoke-app: Location %q", u)
	}
	if _, err := o.db.ConsentFor(ctx, alice.ID, app.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConsentFor after revoke-app = %v, want %v", err, store.ErrNotFound)
	}
	o.wantActive(childSess.ID, false)
	o.wantActive(current.ID, true)
	r = b.get(newAuthRequest(app).path())
	wantPage(t, r, http.StatusOK, "https://app.example.com")
	if !strings.Contains(string(r.body), `id="allow"`) {
		t.Errorf("after revoke-app: not the consent page:\n%s", r.body)
	}
}

// findSession returns the user's one active session that match says.
func findSession(t *testing.T, o *oidcAPI, userID string, match func(store.Session) bool) store.Session {
	t.Helper()
	list, err := o.sessions.List(t.Context(), userID)
	if err != nil {
		t.Fatal(err)
	}
	var found []store.Session
	for _, s := range list {
		if match(s) {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d matching sessions of %s, want 1", len(found), userID)
	}
	return found[0]
}

// TestBrowserChangePassword: the current password is checked, the new one
// against the policy; a change ends every other session and the old
// password, and keeps this browser signed in.
func TestBrowserChangePassword(t *testing.T) {
	o := newOIDCAPI(t, options{})
	o.addUser("alice@example.com")
	b := o.newBrowser()
	b.post("/login", wantLoginPage(t, b.get("/login"), http.StatusOK, ""))
	before := o.browserSessionOf(b)
	v1 := o.login("alice@example.com")
	page := b.get("/account")
	wantPage(t, page, http.StatusOK)
	token := formValue(t, page, web.CSRFField)
	change := func(current, next string) response {
		return b.post("/account", url.Values{web.CSRFField: {token}, web.OpField: {web.OpChangePassword}, web.CurrentPasswordField: {current}, web.NewPasswordField: {next}})
	}
	const newPassword = "a much better passphrase 42"

	tests := []struct {
		name, current, next string
		status              int
	}{
		{"wrong current password", "wrong password", newPassword, http.StatusUnauthorized},
		{"too short", testPassword, "short", http.StatusBadRequest},
		{"the e-mail address", testPassword, "alice@example.com", http.StatusBadRequest},
		{"common", testPassword, "password123", http.StatusBadRequest},
		{"empty", testPassword, "", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := change(tt.current, tt.next)
			wantPage(t, r, tt.status)
			if !strings.Contains(string(r.body), `role="alert"`) {
				t.Errorf("refused change without an alert:\n%s", r.body)
			}
			o.wantActive(v1.SessionID, true)
		})
	}
	o.login("alice@example.com") // the refused changes left the password

	r := change(testPassword, newPassword)
	if u := location(t, r); u.String() != "/account?done=change-password" {
		t.Errorf("change-password: Location %q", u)
	}
	o.wantActive(before.ID, false)
	o.wantActive(v1.SessionID, false)
	after := o.browserSessionOf(b) // a new one: still signed in here
	if after.ID == before.ID {
		t.Errorf("browser session %s kept across the change, want a new one", after.ID)
	}
	wantPage(t, b.get("/account"), http.StatusOK)

	wantError(t, o.do(request{method: "POST", path: "/v1/login", body: jsonBody(map[string]string{"email": "alice@example.com", "password": testPassword})}), http.StatusUnauthorized, "invalid_credentials")
	wantStatus(t, o.do(request{method: "POST", path: "/v1/login", body: jsonBody(map[string]string{"email": "alice@example.com", "password": newPassword})}), http.StatusOK)
}

// TestBrowserLogout is RP-initiated logout: with an ID token for the
// signed-in user, the browser session and its applications' sessions end
// at once and the browser returns to a registered post-logout URI with
// its state; a URI that is not registered, or a hint the server did not
// issue, is an error page and nothing ends.
func TestBrowserLogout(t *testing.T) {
	o := newOIDCAPI(t, options{})
	alice := o.addUser("alice@example.com")
	app, secret := o.addApp("App", clientOpts{firstParty: true})
	other, _ := o.addApp("Other", clientOpts{firstParty: true})

	signIn := func() (*browser, tokenResponse, store.Session) {
		b := o.newBrowser()
		ar := newAuthRequest(app)
		tr := o.redeem(app, secret, wantCode(t, b.signIn(ar, "https://app.example.com"), ar), ar)
		return b, tr, o.browserSessionOf(b)
	}
	b, tr, sess := signIn()
	child := findSession(t, o, alice.ID, func(s store.Session) bool { return s.ParentID == sess.ID })

	logout := func(q url.Values) response { return b.get("/oauth2/logout?" + q.Encode()) }
	refused := []struct {
		name string
		q    url.Values
	}{
		{"unregistered return", url.Values{"id_token_hint": {tr.IDToken}, "post_logout_redirect_uri": {"https://evil.example/"}}},
		{"redirect URI as return", url.Values{"id_token_hint": {tr.IDToken}, "post_logout_redirect_uri": {appCallback}}},
		{"return of another client", url.Values{"client_id": {other.ID}, "id_token_hint": {tr.IDToken}, "post_logout_redirect_uri": {appLogoutBack}}},
		{"return without a client", url.Values{"post_logout_redirect_uri": {appLogoutBack}}},
		{"unknown client", url.Values{"client_id": {"c_nobody"}}},
		{"tampered hint", url.Values{"id_token_hint": {flip(tr.IDToken)}}},
		{"access token as hint", url.Values{"id_token_hint": {tr.AccessToken}}},
		{"garbage hint", url.Values{"id_token_hint": {"x.y.z"}}},
		{"foreign hint", url.Values{"id_token_hint": {foreignIDToken(t, app.ID, alice.ID)}}},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			r := logout(tt.q)
			wantErrorPage(t, r, http.StatusBadRequest)
			if r.cookies()["latch_sso"] != nil {
				t.Errorf("refused logout touches latch_sso")
			}
			o.wantActive(sess.ID, true)
			o.wantActive(child.ID, true)
		})
	}

	// An expired ID token is a fine hint (RP-Initiated Logout 1.0 §2).
	o.clock.Advance(2 * time.Hour)
	state := "bye & see you"
	r := logout(url.Values{"id_token_hint": {tr.IDToken}, "post_logout_redirect_uri": {appLogoutBack}, "state": {state}})
	u := location(t, r)
	if got := u.Query()["state"]; len(got) != 1 || got[0] != state {
		t.Errorf("logout: state %q, want %q", got, state)
	}
	u.RawQuery = ""
	if u.String() != appLogoutBack {
		t.Errorf("logout: Location %q, want %s", r.header.Get("Location"), appLogoutBack)
	}
	if c := r.cookies()["latch_sso"]; c == nil || c.MaxAge >= 0 || c.Value != "" {
		t.Errorf("logout: latch_sso cookie %v, want it deleted", r.header.Values("Set-Cookie"))
	}
	o.wantActive(sess.ID, false)
	o.wantActive(child.ID, false)
	ar := newAuthRequest(app)
	wantLoginPage(t, b.get(ar.path()), http.StatusOK, ar.q.Encode(), "https://app.example.com")

	// Without a hint the user confirms first.
	b, _, sess = signIn()
	r = b.get("/oauth2/logout?" + url.Values{"client_id": {app.ID}, "post_logout_redirect_uri": {appLogoutBack}, "state": {state}}.Encode())
	wantPage(t, r, http.StatusOK, "https://app.example.com")
	o.wantActive(sess.ID, true)
	form := url.Values{web.CSRFField: {formValue(t, r, web.CSRFField)}, "client_id": {formValue(t, r, "client_id")}, "post_logout_redirect_uri": {formValue(t, r, "post_logout_redirect_uri")}, "state": {formValue(t, r, "state")}}
	r = b.post("/oauth2/logout", form)
	if got := location(t, r).Query().Get("state"); got != state {
		t.Errorf("confirmed logout: state %q, want %q", got, state)
	}
	o.wantActive(sess.ID, false)

	// A hint for another user than the signed-in one asks too.
	b, _, sess = signIn()
	_, bobTokens, _ := func() (*browser, tokenResponse, store.Session) {
		o.addUser("bob@example.com")
		bb := o.newBrowser()
		ar := newAuthRequest(app)
		r := bb.get(ar.path())
		form := wantLoginPage(t, r, http.StatusOK, ar.q.Encode(), "https://app.example.com")
		form.Set(web.EmailField, "bob@example.com")
		tr := o.redeem(app, secret, wantCode(t, bb.post("/login", form), ar), ar)
		return bb, tr, o.browserSessionOf(bb)
	}()
	r = b.get("/oauth2/logout?" + url.Values{"id_token_hint": {bobTokens.IDToken}}.Encode())
	wantPage(t, r, http.StatusOK)
	if !strings.Contains(string(r.body), `id="sign-out"`) {
		t.Errorf("logout with another user's hint: not the confirmation page:\n%s", r.body)
	}
	o.wantActive(sess.ID, true)
}

// foreignIDToken is an ID token for the test issuer signed by a key the
// server does not have.
func foreignIDToken(t *testing.T, clientID, subject string) string {
	t.Helper()
	k, err := jose.GenerateKey(jose.ES256)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tok, err := jwt.Sign(k, &jwt.Claims{Issuer: testIssuer, Subject: subject, Audience: jwt.Audience{clientID}, IssuedAt: now, ExpiresAt: now.Add(time.Hour)}, jose.SignOptions{Type: "JWT"})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestBrowserStatic: the style sheet the pages link to is served.
func TestBrowserStatic(t *testing.T) {
	o := newOIDCAPI(t, options{})
	page := o.newBrowser().get("/login")
	m := regexp.MustCompile(`href="(/static/latch\.[0-9a-f]+\.css)"`).FindSubmatch(page.body)
	if m == nil {
		t.Fatalf("sign-in page links no style sheet:\n%s", page.body)
	}
	r := o.newBrowser().get(string(m[1]))
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/css") {
		t.Errorf("GET %s = %d %s, want 200 text/css", m[1], r.status, r.header.Get("Content-Type"))
	}
	if r := o.newBrowser().get("/static/other.css"); r.status != http.StatusNotFound {
		t.Errorf("GET /static/other.css = %d, want 404", r.status)
	}
}
