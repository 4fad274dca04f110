package oauth_test

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/client"
	"github.com/latch-auth/latch/internal/oauth"
	"github.com/latch-auth/latch/internal/store"
)

func TestErrorIs(t *testing.T) {
	err := error(&oauth.Error{Code: oauth.CodeInvalidGrant, Description: "expired", Err: store.ErrNotFound})
	if !errors.Is(err, oauth.ErrInvalidGrant) {
		t.Errorf("errors.Is(%v, ErrInvalidGrant) = false, want true", err)
	}
	if errors.Is(err, oauth.ErrInvalidRequest) {
		t.Errorf("errors.Is(%v, ErrInvalidRequest) = true, want false", err)
	}
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("errors.Is(%v, its cause) = false, want true", err)
	}
	if got, want := err.Error(), "oauth: invalid_grant: expired"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestParseAuthorizeRequest(t *testing.T) {
	q := url.Values{
		"client_id": {"c1"}, "redirect_uri": {"https://a/cb"}, "scope": {"openid"}, "state": {"s1", "s2"},
		"code_challenge": {"x"}, "request_uri": {"urn:x"}, "unknown": {"1", "2"},
	}
	r := oauth.ParseAuthorizeRequest(q)
	if r.ClientID != "c1" || r.RedirectURI != "https://a/cb" || r.Scope != "openid" || r.State != "s1" || r.RequestURI != "urn:x" {
		t.Errorf("ParseAuthorizeRequest(%v) = %+v, want the first values", q, r)
	}
	if !slices.Equal(r.Repeated, []string{"state"}) {
		t.Errorf("ParseAuthorizeRequest(%v).Repeated = %q, want [state] (unknown parameters ignored)", q, r.Repeated)
	}
}

func TestValidate(t *testing.T) {
	f := newFixture(t)
	web := f.webClient("web", testRedirect, "http://127.0.0.1:8400/cb")
	two := f.webClient("two", "https://a.example/cb", "https://b.example/cb")
	feedOnly, _, err := client.New("feed", []string{client.ScopeRevocationsRead}, f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := f.db.CreateClient(t.Context(), feedOnly); err != nil {
		t.Fatal(err)
	}
	withIntrospect := f.addClient(client.Registration{Name: "intro", RedirectURIs: []string{testRedirect},
		GrantTypes: []string{client.GrantAuthorizationCode}, Scopes: []string{"openid", client.ScopeIntrospect}})

	good := func(mod func(*oauth.AuthorizeRequest)) oauth.AuthorizeRequest {
		r := oauth.AuthorizeRequest{
			ClientID: web.ID, RedirectURI: testRedirect, ResponseType: "code", Scope: "openid email",
			State: "xyz", Nonce: "n", CodeChallenge: testChallenge, CodeChallengeMethod: "S256",
		}
		if mod != nil {
			mod(&r)
		}
		return r
	}
	tests := []struct {
		name       string
		req        oauth.AuthorizeRequest
		redirectOK bool
		code       string // "" for success
	}{
		{name: "valid", req: good(nil), redirectOK: true},
		{name: "unknown client", req: good(func(r *oauth.AuthorizeRequest) { r.ClientID = "c_nobody" }), code: oauth.CodeInvalidRequest},
		{name: "no client", req: good(func(r *oauth.AuthorizeRequest) { r.ClientID = "" }), code: oauth.CodeInvalidRequest},
		{name: "repeated client_id", req: good(func(r *oauth.AuthorizeRequest) { r.Repeated = []string{"client_id"} }), code: oauth.CodeInvalidRequest},
		{name: "repeated redirect_uri", req: good(func(r *oauth.AuthorizeRequest) { r.Repeated = []string{"redirect_uri"} }), code: oauth.CodeInvalidRequest},
		{name: "redirect prefix", req: good(func(r *oauth.AuthorizeRequest) { r.RedirectURI = "https://app.example.com/call" }), code: oauth.CodeInvalidRequest},
		{name: "redirect extra path", req: good(func(r *oauth.AuthorizeRequest) { r.RedirectURI = testRedirect + "/evil" }), code: oauth.CodeInvalidRequest},
		{name: "redirect case", req: good(func(r *oauth.AuthorizeRequest) { r.RedirectURI = "https://APP.example.com/callback" }), code: oauth.CodeInvalidRequest},
		{name: "redirect fragment", req: good(func(r *oauth.AuthorizeRequest) { r.RedirectURI = testRedirect + "#x" }), code: oauth.CodeInvalidRequest},
		{name: "redirect query added", req: good(func(r *oauth.AuthorizeRequest) { r.RedirectURI = testRedirect + "?next=evil" }), code: oauth.CodeInvalidRequest},
		{name: "redirect of another client", req: good(func(r *oauth.AuthorizeRequest) { r.RedirectURI = "https://a.example/cb" }), code: oauth.CodeInvalidRequest},
		{name: "loopback other port", req: good(func(r *oauth.AuthorizeRequest) { r.RedirectURI = "http://127.0.0.1:51234/cb" }), redirectOK: true},
		{name: "loopback other path", req: good(func(r *oauth.AuthorizeRequest) { r.RedirectURI = "http://127.0.0.1:8400/other" }), code: oauth.CodeInvalidRequest},
		{name: "redirect omitted, several registered", req: good(func(r *oauth.AuthorizeRequest) { r.ClientID, r.RedirectURI = two.ID, "" }), code: oauth.CodeInvalidRequest},
		{name: "client without redirect URIs", req: good(func(r *oauth.AuthorizeRequest) { r.ClientID, r.RedirectURI = feedOnly.ID, "" }), code: oauth.CodeInvalidRequest},
		{name: "repeated scope", req: good(func(r *oauth.AuthorizeRequest) { r.Repeated = []string{"scope"} }), redirectOK: true, code: oauth.CodeInvalidRequest},
		{name: "request object", req: good(func(r *oauth.AuthorizeRequest) { r.Request = "eyJ..." }), redirectOK: true, code: oauth.CodeRequestNotSupported},
		{name: "request_uri", req: good(func(r *oauth.AuthorizeRequest) { r.RequestURI = "urn:x" }), redirectOK: true, code: oauth.CodeRequestURINotSupported},
		{name: "registration", req: good(func(r *oauth.AuthorizeRequest) { r.Registration = "{}" }), redirectOK: true, code: oauth.CodeRegistrationNotSupported},
		{name: "no response_type", req: good(func(r *oauth.AuthorizeRequest) { r.ResponseType = "" }), redirectOK: true, code: oauth.CodeInvalidRequest},
		{name: "implicit", req: good(func(r *oauth.AuthorizeRequest) { r.ResponseType = "token" }), redirectOK: true, code: oauth.CodeUnsupportedResponseType},
		{name: "hybrid", req: good(func(r *oauth.AuthorizeRequest) { r.ResponseType = "code id_token" }), redirectOK: true, code: oauth.CodeUnsupportedResponseType},
		{name: "fragment response mode", req: good(func(r *oauth.AuthorizeRequest) { r.ResponseMode = "fragment" }), redirectOK: true, code: oauth.CodeInvalidRequest},
		{name: "query response mode", req: good(func(r *oauth.AuthorizeRequest) { r.ResponseMode = "query" }), redirectOK: true},
		{name: "no scope", req: good(func(r *oauth.AuthorizeRequest) { r.Scope = "" }), redirectOK: true, code: oauth.CodeInvalidScope},
		{name: "scope not registered", req: good(func(r *oauth.AuthorizeRequest) { r.Scope = "openid admin" }), redirectOK: true, code: oauth.CodeInvalidScope},
		{name: "service scope", req: good(func(r *oauth.AuthorizeRequest) { r.ClientID, r.Scope = withIntrospect.ID, "openid introspect" }), redirectOK: true, code: oauth.CodeInvalidScope},
		{name: "no PKCE", req: good(func(r *oauth.AuthorizeRequest) { r.CodeChallenge, r.CodeChallengeMethod = "", "" }), redirectOK: true, code: oauth.CodeInvalidRequest},
		{name: "PKCE method missing (plain)", req: good(func(r *oauth.AuthorizeRequest) { r.CodeChallengeMethod = "" }), redirectOK: true, code: oauth.CodeInvalidRequest},
		{name: "PKCE plain", req: good(func(r *oauth.AuthorizeRequest) { r.CodeChallengeMethod, r.CodeChallenge = "plain", testVerifier }), redirectOK: true, code: oauth.CodeInvalidRequest},
		{name: "PKCE challenge too short", req: good(func(r *oauth.AuthorizeRequest) { r.CodeChallenge = testChallenge[:42] }), redirectOK: true, code: oauth.CodeInvalidRequest},
		{name: "PKCE challenge not base64url", req: good(func(r *oauth.AuthorizeRequest) { r.CodeChallenge = strings.Repeat("+", 43) }), redirectOK: true, code: oauth.CodeInvalidRequest},
		{name: "prompt login consent", req: good(func(r *oauth.AuthorizeRequest) { r.Prompt = "login consent" }), redirectOK: true},
		{name: "prompt none with login", req: good(func(r *oauth.AuthorizeRequest) { r.Prompt = "none login" }), redirectOK: true, code: oauth.CodeInvalidRequest},
		{name: "prompt unknown", req: good(func(r *oauth.AuthorizeRequest) { r.Prompt = "select_account" }), redirectOK: true, code: oauth.CodeInvalidRequest},
		{name: "max_age negative", req: good(func(r *oauth.AuthorizeRequest) { r.MaxAge = "-1" }), redirectOK: true, code: oauth.CodeInvalidRequest},
		{name: "max_age not a number", req: good(func(r *oauth.AuthorizeRequest) { r.MaxAge = "1h" }), redirectOK: true, code: oauth.CodeInvalidRequest},
		{name: "state too long", req: good(func(r *oauth.AuthorizeRequest) { r.State = strings.Repeat("s", oauth.MaxStateLength+1) }), redirectOK: true, code: oauth.CodeInvalidRequest},
		{name: "nonce too long", req: good(func(r *oauth.AuthorizeRequest) { r.Nonce = strings.Repeat("n", oauth.MaxNonceLength+1) }), redirectOK: true, code: oauth.CodeInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, redirectOK, err := f.p.Validate(t.Context(), tc.req)
			if redirectOK != tc.redirectOK {
				t.Errorf("Validate() redirectOK = %v, want %v (err %v)", redirectOK, tc.redirectOK, err)
			}
			if tc.code == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				if a.Client.ID != tc.req.ClientID || a.RedirectURI != tc.req.RedirectURI || a.CodeChallenge != tc.req.CodeChallenge {
					t.Errorf("Validate() = %+v, want the request's client, redirect URI and challenge", a)
				}
				return
			}
			wantCode(t, "Validate()", err, tc.code)
			if redirectOK && (a.RedirectURI == "" || a.State != tc.req.State && len(tc.req.State) <= oauth.MaxStateLength) {
				t.Errorf("Validate() error redirect to %q with state %q, want the redirect URI and the state", a.RedirectURI, a.State)
			}
			if !redirectOK && a.RedirectURI != "" {
				t.Errorf("Validate() = redirect URI %q for an error that must not redirect", a.RedirectURI)
			}
		})
	}

	t.Run("redirect omitted, one registered", func(t *testing.T) {
		c := f.webClient("one")
		a, ok, err := f.p.Validate(t.Context(), oauth.AuthorizeRequest{ClientID: c.ID, ResponseType: "code", Scope: "openid",
			CodeChallenge: testChallenge, CodeChallengeMethod: "S256"})
		if err != nil || !ok || a.RedirectURI != testRedirect || a.RequestedRedirectURI != "" {
			t.Errorf("Validate(no redirect_uri) = %q (requested %q), %v, %v; want %q, not requested, true, nil",
				a.RedirectURI, a.RequestedRedirectURI, ok, err, testRedirect)
		}
	})
	t.Run("scopes sorted and deduplicated, max_age", func(t *testing.T) {
		a, _, err := f.p.Validate(t.Context(), good(func(r *oauth.AuthorizeRequest) { r.Scope, r.MaxAge = "email openid  email", "300" }))
		if err != nil || !slices.Equal(a.Scopes, []string{"email", "openid"}) || !a.HasMaxAge || a.MaxAge != 5*time.Minute {
			t.Errorf("Validate() = scopes %q, max age %v %v, %v; want [email openid], 5m true, nil", a.Scopes, a.MaxAge, a.HasMaxAge, err)
		}
	})
}

func TestMatchRedirectURI(t *testing.T) {
	registered := []string{"https://app.example.com/cb", "http://127.0.0.1/native", "http://[::1]:9000/native", "http://localhost:8080/cb", "com.example.app:/oauth"}
	tests := []struct {
		uri  string
		want bool
	}{
		{"https://app.example.com/cb", true},
		{"https://app.example.com/cb/", false},
		{"https://app.example.com/c", false},
		{"https://app.example.com/CB", false},
		{"https://app.example.com/cb#", false},
		{"https://app.example.com/cb?x=1", false},
		{"https://app.example.com:443/cb", false},
		{"http://app.example.com/cb", false},
		{"http://127.0.0.1/native", true},
		{"http://127.0.0.1:61000/native", true},
		{"http://127.0.0.1:61000/native?x", false},
		{"http://127.0.0.1:61000/other", false},
		{"http://127.0.0.10:61000/native", false},
		{"http://127.0.0.1:80@evil.example/native", false},
		{"http://127.0.0.1:x/native", false},
		{"http://[::1]/native", true},
		{"http://[::1]:1/native", true},
		{"http://127.0.0.1:9000/native", true},
		{"http://localhost:8080/cb", true},
		{"http://localhost:8081/cb", false}, // RFC 8252 §8.3: localhost matched exactly
		{"com.example.app:/oauth", true},
		{"com.example.app:/oauth2", false},
	}
	for _, tc := range tests {
		if got := oauth.MatchRedirectURI(registered, tc.uri); got != tc.want {
			t.Errorf("MatchRedirectURI(registered, %q) = %v, want %v", tc.uri, got, tc.want)
		}
	}
}

func TestS256Challenge(t *testing.T) {
	// RFC 7636 Appendix B.
	if got := oauth.S256Challenge(testVerifier); got != testChallenge {
		t.Errorf("S256Challenge(%q) = %q, want %q", testVerifier, got, testChallenge)
	}
}

func TestNeedsLogin(t *testing.T) {
	now := time.Now()
	b := store.Session{CreatedAt: now.Add(-time.Hour), AuthTime: now.Add(-10 * time.Minute)}
	tests := []struct {
		name string
		a    oauth.Authorization
		want bool
	}{
		{"no prompt, no max_age", oauth.Authorization{}, false},
		{"prompt login", oauth.Authorization{Prompt: "consent login"}, true},
		{"max_age not elapsed", oauth.Authorization{MaxAge: 11 * time.Minute, HasMaxAge: true}, false},
		{"max_age elapsed", oauth.Authorization{MaxAge: 9 * time.Minute, HasMaxAge: true}, true},
		{"max_age 0", oauth.Authorization{MaxAge: 0, HasMaxAge: true}, true},
	}
	for _, tc := range tests {
		if got := tc.a.NeedsLogin(b, now); got != tc.want {
			t.Errorf("%s: NeedsLogin = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestConsent(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	alice := f.addUser("alice@example.com")
	first := f.webClient("web")
	third := f.addClient(client.Registration{Name: "Shop", Type: store.ClientPublic, RedirectURIs: []string{testRedirect},
		GrantTypes: []string{client.GrantAuthorizationCode}, Scopes: []string{"openid", "email", "profile"}})
	validate := func(c store.Client, scope, prompt string) oauth.Authorization {
		t.Helper()
		a, _, err := f.p.Validate(ctx, oauth.AuthorizeRequest{ClientID: c.ID, ResponseType: "code", Scope: scope, Prompt: prompt,
			CodeChallenge: testChallenge, CodeChallengeMethod: "S256"})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	check := func(what string, a oauth.Authorization, want bool) {
		t.Helper()
		got, err := f.p.NeedsConsent(ctx, a, alice.ID)
		if err != nil || got != want {
			t.Errorf("NeedsConsent(%s) = %v, %v; want %v, nil", what, got, err, want)
		}
	}
	check("first-party client", validate(first, "openid email", ""), false)
	check("first-party client, prompt=consent", validate(first, "openid email", "consent"), false)
	check("third-party client, no consent", validate(third, "openid email", ""), true)
	if err := f.p.GrantConsent(ctx, validate(third, "openid email", ""), alice.ID); err != nil {
		t.Fatalf("GrantConsent = %v", err)
	}
	check("third-party client, consented scopes", validate(third, "openid", ""), false)
	check("third-party client, a new scope", validate(third, "openid profile", ""), true)
	check("third-party client, prompt=consent", validate(third, "openid", "consent"), true)
}
