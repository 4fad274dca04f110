package server_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

const (
	accessCookie  = "__Host-latch_at"
	refreshCookie = "__Secure-latch_rt"
)

// wantCookie checks the attributes of a cookie a response sets.
func wantCookie(t *testing.T, r response, name, path string, sameSite http.SameSite) *http.Cookie {
	t.Helper()
	c := r.cookies()[name]
	switch {
	case c == nil:
		t.Fatalf("%s sets cookies %v, want %s", r.req, r.header.Values("Set-Cookie"), name)
	case !c.HttpOnly || !c.Secure || c.SameSite != sameSite || c.Path != path || c.Domain != "":
		t.Errorf("%s: cookie %s = %q, want HttpOnly, Secure, SameSite %v, Path %s, no Domain", r.req, name, c.Raw, sameSite, path)
	}
	return c
}

// wantNoTokensInBody checks that a cookie-mode body carries no token.
func wantNoTokensInBody(t *testing.T, r response) {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal(r.body, &body); err != nil {
		t.Fatalf("%s = %v, want JSON", r.req, r)
	}
	if _, ok := body["access_token"]; ok {
		t.Errorf("%s = %v, want no access_token in cookie mode", r.req, r)
	}
	if _, ok := body["refresh_token"]; ok {
		t.Errorf("%s = %v, want no refresh_token in cookie mode", r.req, r)
	}
	if body["token_type"] != "Bearer" || body["session_id"] == nil || body["expires_in"] == nil {
		t.Errorf("%s = %v, want token_type, expires_in and session_id", r.req, r)
	}
}

func TestCookieMode(t *testing.T) {
	a := newAPI(t, options{})
	a.addUser("alice@example.com")
	creds := jsonBody(map[string]string{"email": "alice@example.com", "password": testPassword})

	r := a.do(request{method: "POST", path: "/v1/login?mode=cookie", body: creds})
	wantStatus(t, r, http.StatusOK)
	wantNoTokensInBody(t, r)
	at := wantCookie(t, r, accessCookie, "/", http.SameSiteLaxMode)
	rt := wantCookie(t, r, refreshCookie, "/v1/token/refresh", http.SameSiteStrictMode)
	if at.MaxAge != int((10*time.Minute).Seconds()) || rt.MaxAge <= at.MaxAge {
		t.Errorf("cookie Max-Age: access %d, refresh %d, want 600 and the session lifetime", at.MaxAge, rt.MaxAge)
	}

	// The access cookie alone authenticates.
	wantStatus(t, a.do(request{method: "GET", path: "/v1/me", cookies: []*http.Cookie{{Name: accessCookie, Value: at.Value}}}), http.StatusOK)

	// Refresh reads the refresh cookie (no body) and rotates both.
	r = a.do(request{method: "POST", path: "/v1/token/refresh?mode=cookie", cookies: []*http.Cookie{{Name: refreshCookie, Value: rt.Value}}})
	wantStatus(t, r, http.StatusOK)
	wantNoTokensInBody(t, r)
	at2 := wantCookie(t, r, accessCookie, "/", http.SameSiteLaxMode)
	rt2 := wantCookie(t, r, refreshCookie, "/v1/token/refresh", http.SameSiteStrictMode)
	if rt2.Value == rt.Value || at2.Value == at.Value {
		t.Errorf("POST /v1/token/refresh?mode=cookie did not rotate the cookies")
	}
	wantError(t, a.do(request{method: "POST", path: "/v1/token/refresh?mode=cookie"}), http.StatusBadRequest, "invalid_request")

	// A cross-site logout is refused and changes nothing.
	cookie := []*http.Cookie{{Name: accessCookie, Value: at2.Value}}
	for _, h := range []http.Header{
		{"Sec-Fetch-Site": {"cross-site"}},
		{"Sec-Fetch-Site": {"same-site"}},
		{"Origin": {"https://evil.example"}},
	} {
		r := a.do(request{method: "POST", path: "/v1/logout?mode=cookie", cookies: cookie, header: h})
		wantError(t, r, http.StatusForbidden, "cross_origin_refused")
	}
	wantStatus(t, a.do(request{method: "GET", path: "/v1/me", cookies: cookie}), http.StatusOK)

	// A same-origin logout clears both cookies.
	r = a.do(request{method: "POST", path: "/v1/logout?mode=cookie", cookies: cookie, header: http.Header{"Sec-Fetch-Site": {"same-origin"}}})
	wantStatus(t, r, http.StatusOK)
	for name, path := range map[string]string{accessCookie: "/", refreshCookie: "/v1/token/refresh"} {
		c := r.cookies()[name]
		if c == nil || c.MaxAge >= 0 || c.Value != "" || c.Path != path {
			t.Errorf("POST /v1/logout?mode=cookie: cookie %s = %v, want it cleared on path %s", name, c, path)
		}
	}
	wantInvalidToken(t, a.do(request{method: "GET", path: "/v1/me", cookies: cookie}), at2.Value)
	r = a.do(request{method: "POST", path: "/v1/token/refresh?mode=cookie", cookies: []*http.Cookie{{Name: refreshCookie, Value: rt2.Value}}})
	wantError(t, r, http.StatusBadRequest, "invalid_grant")
	if c := r.cookies()[refreshCookie]; c == nil || c.MaxAge >= 0 {
		t.Errorf("refused cookie refresh: refresh cookie %v, want it cleared", c)
	}
}

// TestCrossOrigin checks that browsers cannot post to the API from another
// site, while same-origin pages and non-browser clients can.
func TestCrossOrigin(t *testing.T) {
	a := newAPI(t, options{})
	alice := a.addUser("alice@example.com")
	creds := jsonBody(map[string]string{"email": "alice@example.com", "password": testPassword})
	tk := a.login("alice@example.com")

	tests := []struct {
		name   string
		header http.Header
		refuse bool
	}{
		{name: "no browser headers", header: nil},
		{name: "same-origin fetch", header: http.Header{"Sec-Fetch-Site": {"same-origin"}}},
		{name: "user-typed navigation", header: http.Header{"Sec-Fetch-Site": {"none"}}},
		{name: "same-origin Origin", header: http.Header{"Origin": {a.url}}},
		{name: "cross-site fetch", header: http.Header{"Sec-Fetch-Site": {"cross-site"}}, refuse: true},
		{name: "same-site fetch", header: http.Header{"Sec-Fetch-Site": {"same-site"}}, refuse: true},
		{name: "foreign Origin", header: http.Header{"Origin": {"https://evil.example"}}, refuse: true},
		{name: "Origin on another port", header: http.Header{"Origin": {"http://127.0.0.1:1"}}, refuse: true},
		{name: "cross-site despite same Origin", header: http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {a.url}}, refuse: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := a.snapshot(alice)
			r := a.do(request{method: "POST", path: "/v1/login", body: creds, header: tt.header})
			if tt.refuse {
				wantError(t, r, http.StatusForbidden, "cross_origin_refused")
				r = a.do(request{method: "POST", path: "/v1/logout", bearer: tk.AccessToken, header: tt.header})
				wantError(t, r, http.StatusForbidden, "cross_origin_refused")
				r = a.do(request{method: "DELETE", path: "/v1/sessions/" + tk.SessionID, bearer: tk.AccessToken, header: tt.header})
				wantError(t, r, http.StatusForbidden, "cross_origin_refused")
				if after := a.snapshot(alice); !after.equal(before) {
					t.Errorf("refused cross-origin requests changed the store:\n got %+v\nwant %+v", after, before)
				}
				// Reading is not a state change.
				wantStatus(t, a.do(request{method: "GET", path: "/v1/me", bearer: tk.AccessToken, header: tt.header}), http.StatusOK)
				return
			}
			wantStatus(t, r, http.StatusOK)
			var got tokens
			decode(t, r, &got)
			wantStatus(t, a.do(request{method: "POST", path: "/v1/logout", bearer: got.AccessToken, header: tt.header}), http.StatusOK)
		})
	}
}
