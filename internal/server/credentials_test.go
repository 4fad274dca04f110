package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/client"
	"github.com/latch-auth/latch/internal/feed"
)

// TestAmbiguousCredentials sends requests whose credential is ambiguous:
// more than one Authorization header, an empty one, or an access token in
// both the header and the cookie that differ. Each is refused with 400
// invalid_request (RFC 6750 §2 and §3.1), for access tokens and client
// credentials alike, and changes nothing.
func TestAmbiguousCredentials(t *testing.T) {
	a := newAPI(t, options{feed: &feed.Config{Poll: time.Hour}})
	alice := a.addUser("alice@example.com")
	a.addUser("bob@example.com")
	tkA := a.login("alice@example.com")
	tkB := a.login("bob@example.com")
	basic := basicAuth(a.addClient("resource service", client.ScopeIntrospect, client.ScopeRevocationsRead)).Get("Authorization")
	cookie := func(tok string) *http.Cookie { return &http.Cookie{Name: "__Host-latch_at", Value: tok} }
	introspect := url.Values{"token": {tkA.AccessToken}}.Encode()

	tests := []struct {
		name    string
		method  string
		path    string
		body    string
		ctype   string
		auth    []string // Authorization header fields, in order
		cookies []*http.Cookie
		// wantStatus is 400 for the ambiguous requests; the others show
		// which requests stay accepted.
		wantStatus int
		bearer     bool // a Bearer challenge is expected with a 400
	}{
		{name: "two bearer tokens", method: "GET", path: "/v1/me", auth: []string{"Bearer " + tkA.AccessToken, "Bearer " + tkB.AccessToken}, wantStatus: 400, bearer: true},
		{name: "the same bearer token twice", method: "GET", path: "/v1/me", auth: []string{"Bearer " + tkA.AccessToken, "Bearer " + tkA.AccessToken}, wantStatus: 400, bearer: true},
		{name: "bearer then basic", method: "GET", path: "/v1/me", auth: []string{"Bearer " + tkA.AccessToken, basic}, wantStatus: 400, bearer: true},
		{name: "empty Authorization", method: "GET", path: "/v1/me", auth: []string{""}, wantStatus: 400, bearer: true},
		{name: "blank Authorization with a cookie", method: "GET", path: "/v1/me", auth: []string{" "}, cookies: []*http.Cookie{cookie(tkA.AccessToken)}, wantStatus: 400, bearer: true},
		{name: "header and cookie differ", method: "GET", path: "/v1/me", auth: []string{"Bearer " + tkB.AccessToken}, cookies: []*http.Cookie{cookie(tkA.AccessToken)}, wantStatus: 400, bearer: true},
		{name: "two cookies differ", method: "GET", path: "/v1/me", cookies: []*http.Cookie{cookie(tkA.AccessToken), cookie(tkB.AccessToken)}, wantStatus: 400, bearer: true},
		{name: "logout with two bearer tokens", method: "POST", path: "/v1/logout", auth: []string{"Bearer " + tkB.AccessToken, "Bearer " + tkA.AccessToken}, wantStatus: 400, bearer: true},
		{name: "two client credentials", method: "POST", path: "/oauth2/introspect", body: introspect, ctype: "application/x-www-form-urlencoded", auth: []string{basic, "Basic " + strings.Repeat("A", 12)}, wantStatus: 400},
		{name: "client credentials and a bearer token", method: "GET", path: "/v1/revocations", auth: []string{"Bearer " + tkA.AccessToken, basic}, wantStatus: 400},
		{name: "empty client credentials", method: "GET", path: "/v1/revocations", auth: []string{""}, wantStatus: 400},
		// Not ambiguous: one way, or the same token both ways.
		{name: "header and cookie agree", method: "GET", path: "/v1/me", auth: []string{"Bearer " + tkA.AccessToken}, cookies: []*http.Cookie{cookie(tkA.AccessToken)}, wantStatus: 200},
		{name: "cookie alone", method: "GET", path: "/v1/me", cookies: []*http.Cookie{cookie(tkA.AccessToken)}, wantStatus: 200},
		{name: "client credentials alone", method: "GET", path: "/v1/revocations", auth: []string{basic}, wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := a.snapshot(alice)
			rq := request{method: tt.method, path: tt.path, body: tt.body, contentType: tt.ctype, cookies: tt.cookies}
			if tt.auth != nil {
				rq.header = http.Header{"Authorization": tt.auth}
			}
			r := a.do(rq)
			if tt.wantStatus != http.StatusBadRequest {
				wantStatus(t, r, tt.wantStatus)
				return
			}
			wantError(t, r, http.StatusBadRequest, "invalid_request")
			wa := r.header.Get("WWW-Authenticate")
			if tt.bearer && !strings.HasPrefix(wa, `Bearer realm="latch", error="invalid_request", error_description=`) {
				t.Errorf("%s: WWW-Authenticate %q, want a Bearer challenge with error=\"invalid_request\"", r.req, wa)
			}
			if !tt.bearer && wa != "" {
				t.Errorf("%s: WWW-Authenticate %q, want none", r.req, wa)
			}
			for _, tok := range []string{tkA.AccessToken, tkB.AccessToken} {
				if strings.Contains(string(r.body)+wa, tok) {
					t.Errorf("%s = %v echoes a token", r.req, r)
				}
			}
			if after := a.snapshot(alice); !after.equal(before) {
				t.Errorf("%s changed the store:\n got %+v\nwant %+v", r.req, after, before)
			}
		})
	}
	// Both sessions survived the refused logout.
	wantStatus(t, a.me(tkA.AccessToken), http.StatusOK)
	wantStatus(t, a.me(tkB.AccessToken), http.StatusOK)
}

// TestNoCredentialsChallenge checks the answer to a request for a
// protected resource without any credential: 401 with a Bearer challenge
// that has no error code (RFC 6750 §3.1), and a JSON body that keeps
// invalid_token; while a request with a bad token gets the error code.
func TestNoCredentialsChallenge(t *testing.T) {
	a := newAPI(t, options{})
	a.addUser("alice@example.com")
	for _, rq := range []request{
		{method: "GET", path: "/v1/me"},
		{method: "GET", path: "/v1/sessions"},
		{method: "POST", path: "/v1/logout"},
		{method: "GET", path: "/v1/me", cookies: []*http.Cookie{{Name: "__Host-latch_at", Value: ""}}},
	} {
		r := a.do(rq)
		wantError(t, r, http.StatusUnauthorized, "invalid_token")
		if got := r.header.Values("WWW-Authenticate"); len(got) != 1 || got[0] != `Bearer realm="latch"` {
			t.Errorf("%s without credentials: WWW-Authenticate %q, want exactly %q", r.req, got, `Bearer realm="latch"`)
		}
	}
	wantInvalidToken(t, a.me("not-a-token"), "not-a-token")
}
