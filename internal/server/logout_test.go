package server_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/issuer"
	"github.com/latch-auth/latch/internal/login"
	"github.com/latch-auth/latch/internal/server"
	"github.com/latch-auth/latch/internal/session"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/jose"
)

// logoutResponse is the body of a successful logout.
type logoutResponse struct {
	Revoked int `json:"revoked_sessions"`
}

// logoutBody is the JSON body of a logout: scope and refresh_token, each
// left out when empty.
func logoutBody(scope, refresh string) string {
	m := map[string]string{}
	if scope != "" {
		m["scope"] = scope
	}
	if refresh != "" {
		m["refresh_token"] = refresh
	}
	return jsonBody(m)
}

// setCookies returns the cookies named name that r sets, by path.
func setCookies(r response, name string) map[string]*http.Cookie {
	m := map[string]*http.Cookie{}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == name {
			m[c.Path] = c
		}
	}
	return m
}

// cookieLogin logs email in in cookie mode and returns the access cookie
// and the refresh cookie as a browser sends them to /v1/logout.
func (a *api) cookieLogin(email string) (access, refresh *http.Cookie) {
	a.t.Helper()
	r := a.do(request{method: "POST", path: "/v1/login?mode=cookie", body: jsonBody(map[string]string{"email": email, "password": testPassword})})
	wantStatus(a.t, r, http.StatusOK)
	at := r.cookies()[accessCookie]
	rts := setCookies(r, refreshCookie)
	rt, rtRefresh := rts["/v1/logout"], rts["/v1/token/refresh"]
	if at == nil || rt == nil || rtRefresh == nil || rt.Value != rtRefresh.Value || !rt.HttpOnly || !rt.Secure || rt.SameSite != http.SameSiteStrictMode {
		a.t.Fatalf("POST /v1/login?mode=cookie sets %q, want the access cookie and the refresh cookie on /v1/logout and /v1/token/refresh, HttpOnly, Secure, SameSite=Strict", r.header.Values("Set-Cookie"))
	}
	return &http.Cookie{Name: accessCookie, Value: at.Value}, &http.Cookie{Name: refreshCookie, Value: rt.Value}
}

// wantCookiesCleared checks that a cookie-mode logout cleared the token
// cookies on every path they are set on, or left them all alone.
func wantCookiesCleared(t *testing.T, r response, cleared bool) {
	t.Helper()
	got := map[string]bool{}
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if (c.Name == accessCookie || c.Name == refreshCookie) && c.MaxAge < 0 && c.Value == "" {
			got[c.Name+" "+c.Path] = true
		}
	}
	want := map[string]bool{}
	if cleared {
		want = map[string]bool{accessCookie + " /": true, refreshCookie + " /v1/logout": true, refreshCookie + " /v1/token/refresh": true}
	}
	if len(got) != len(want) || len(r.header.Values("Set-Cookie")) != len(want) {
		t.Errorf("%s sets %q, want the token cookies cleared %v", r.req, r.header.Values("Set-Cookie"), cleared)
	}
	for k := range want {
		if !got[k] {
			t.Errorf("%s does not clear cookie %s", r.req, k)
		}
	}
}

// TestLogoutWithRefreshToken logs out with a refresh token alone, in
// json mode (refresh_token in the body) and cookie mode (the refresh
// cookie, sent to /v1/logout), for each scope: the sessions the scope
// names end, the others live on, the refresh token of an ended session
// no longer refreshes, and cookie mode clears the cookies but for
// "others".
func TestLogoutWithRefreshToken(t *testing.T) {
	a := newAPI(t, options{})
	tests := []struct {
		scope       string // "" for no body (cookie mode) or none in it
		cookies     bool
		wantRevoked int
		// wantAlive says which of the caller's session, and the user's
		// two other sessions, survive.
		wantCallerAlive, wantOthersAlive bool
	}{
		{scope: "", wantRevoked: 1, wantOthersAlive: true},
		{scope: "session", wantRevoked: 1, wantOthersAlive: true},
		{scope: "others", wantRevoked: 2, wantCallerAlive: true},
		{scope: "all", wantRevoked: 3},
		{scope: "", cookies: true, wantRevoked: 1, wantOthersAlive: true},
		{scope: "session", cookies: true, wantRevoked: 1, wantOthersAlive: true},
		{scope: "others", cookies: true, wantRevoked: 2, wantCallerAlive: true},
		{scope: "all", cookies: true, wantRevoked: 3},
	}
	for i, tt := range tests {
		mode := "json"
		if tt.cookies {
			mode = "cookie"
		}
		t.Run(mode+" "+tt.scope, func(t *testing.T) {
			email := "user" + string(rune('a'+i)) + "@example.com"
			a.addUser(email)
			others := []tokens{a.login(email), a.login(email)}
			var rq request
			var callerAccess, callerRefresh string
			if tt.cookies {
				at, rt := a.cookieLogin(email)
				callerAccess, callerRefresh = at.Value, rt.Value
				rq = request{method: "POST", path: "/v1/logout?mode=cookie", cookies: []*http.Cookie{rt}}
				if tt.scope != "" {
					rq.body = logoutBody(tt.scope, "")
				}
			} else {
				tk := a.login(email)
				callerAccess, callerRefresh = tk.AccessToken, tk.RefreshToken
				rq = request{method: "POST", path: "/v1/logout", body: logoutBody(tt.scope, tk.RefreshToken)}
			}

			r := a.do(rq)
			wantStatus(t, r, http.StatusOK)
			var got logoutResponse
			decode(t, r, &got)
			if got.Revoked != tt.wantRevoked {
				t.Errorf("%s = %v, want revoked_sessions %d", r.req, r, tt.wantRevoked)
			}
			if tt.cookies {
				wantCookiesCleared(t, r, tt.scope != "others")
			}
			alive := func(at string) bool { return a.me(at).status == http.StatusOK }
			if got := alive(callerAccess); got != tt.wantCallerAlive {
				t.Errorf("after the logout, the caller's session is alive %v, want %v", got, tt.wantCallerAlive)
			}
			for _, o := range others {
				if got := alive(o.AccessToken); got != tt.wantOthersAlive {
					t.Errorf("after the logout, another session is alive %v, want %v", got, tt.wantOthersAlive)
				}
			}
			if !tt.wantCallerAlive {
				wantError(t, a.refresh(callerRefresh), http.StatusBadRequest, "invalid_grant")
			}
		})
	}
}

// TestLogoutWithRotatedRefreshToken checks which refresh tokens of a
// session a logout takes. Scope "session" takes the tokens a refresh
// redeems: the current one and the predecessor of an unused current one.
// "others" and "all" take the current one only: the predecessor is 401
// invalid_token and changes nothing, so that a copy of a token the client
// has refreshed since cannot log the user out everywhere. An older token
// is a reuse, as it is for a refresh: the session is revoked and the
// answer is 401.
func TestLogoutWithRotatedRefreshToken(t *testing.T) {
	a := newAPI(t, options{})
	alice := a.addUser("alice@example.com")
	rotate := func(rt string) tokens {
		t.Helper()
		r := a.refresh(rt)
		wantStatus(t, r, http.StatusOK)
		var tk tokens
		decode(t, r, &tk)
		return tk
	}

	t.Run("predecessor, others and all", func(t *testing.T) {
		other := a.login(alice.Email)
		tk0 := a.login(alice.Email)
		tk1 := rotate(tk0.RefreshToken)
		for _, scope := range []string{"others", "all"} {
			for _, after := range []time.Duration{0, time.Minute} { // within the grace window, and after it
				a.clock.Advance(after)
				before := a.snapshot(alice)
				r := a.do(request{method: "POST", path: "/v1/logout", body: logoutBody(scope, tk0.RefreshToken)})
				wantInvalidToken(t, r, tk0.RefreshToken)
				if after := a.snapshot(alice); !after.equal(before) {
					t.Errorf("%s with the predecessor (scope %s) changed the store:\n got %+v\nwant %+v", r.req, scope, after, before)
				}
			}
		}
		wantStatus(t, a.me(other.AccessToken), http.StatusOK)
		// The current token may.
		r := a.do(request{method: "POST", path: "/v1/logout", body: logoutBody("others", tk1.RefreshToken)})
		wantStatus(t, r, http.StatusOK)
		wantInvalidToken(t, a.me(other.AccessToken), other.AccessToken)
		wantStatus(t, a.me(tk1.AccessToken), http.StatusOK)
	})

	t.Run("predecessor, session", func(t *testing.T) {
		tk0 := a.login(alice.Email)
		tk1 := rotate(tk0.RefreshToken)
		r := a.do(request{method: "POST", path: "/v1/logout", body: logoutBody("session", tk0.RefreshToken)})
		wantStatus(t, r, http.StatusOK)
		wantInvalidToken(t, a.me(tk1.AccessToken), tk1.AccessToken)
		wantError(t, a.refresh(tk1.RefreshToken), http.StatusBadRequest, "invalid_grant")
	})

	for _, scope := range []string{"session", "others", "all"} {
		t.Run("reused token, "+scope, func(t *testing.T) {
			other := a.login(alice.Email)
			tk0 := a.login(alice.Email)
			tk1 := rotate(tk0.RefreshToken)
			tk2 := rotate(tk1.RefreshToken) // tk1's use retires tk0 for good
			reuses := metric(t, a.metrics(), "latch_refresh_reuse_detected_total")
			r := a.do(request{method: "POST", path: "/v1/logout", body: logoutBody(scope, tk0.RefreshToken)})
			e := wantError(t, r, http.StatusUnauthorized, "invalid_token")
			if !strings.Contains(e.Description, "reuse") {
				t.Errorf("%s with a reused token = %v, want it to say reuse", r.req, r)
			}
			s, err := a.db.SessionByID(t.Context(), tk0.SessionID)
			if err != nil || s.RevokeReason != store.ReasonReuse {
				t.Errorf("session after a logout with a reused token: revoked %v (%q), %v; want revoked for reuse", s.RevokedAt, s.RevokeReason, err)
			}
			if got := metric(t, a.metrics(), "latch_refresh_reuse_detected_total"); got != reuses+1 {
				t.Errorf("latch_refresh_reuse_detected_total = %v, want %v", got, reuses+1)
			}
			wantError(t, a.refresh(tk2.RefreshToken), http.StatusBadRequest, "invalid_grant")
			// Only the session the token belongs to.
			wantStatus(t, a.me(other.AccessToken), http.StatusOK)
		})
	}
}

// TestLogoutInvalidRefreshToken sends refresh tokens that are malformed,
// forged, of an ended or expired session, or of another kind of session:
// each is 401 invalid_token with one and the same description, echoes
// nothing, changes nothing (no session, revocation or throttle), and
// clears the cookies in cookie mode.
func TestLogoutInvalidRefreshToken(t *testing.T) {
	a := newAPI(t, options{})
	alice := a.addUser("alice@example.com")
	live := a.login(alice.Email)
	ended := a.login(alice.Email)
	wantStatus(t, a.do(request{method: "POST", path: "/v1/logout", bearer: ended.AccessToken}), http.StatusOK)
	forged := []byte(live.RefreshToken)
	if i := len(forged) - 5; forged[i] == 'A' {
		forged[i] = 'B'
	} else {
		forged[i] = 'A'
	}
	// The sessions of an OAuth client and of the browser sign-in are not
	// /v1 sessions: their refresh tokens do not log out here.
	_, oauthToken, err := a.sessions.StartGrant(t.Context(), alice.ID, session.Client{}, session.Grant{ClientID: "c_app"})
	if err != nil {
		t.Fatal(err)
	}
	_, browserToken, err := a.sessions.StartGrant(t.Context(), alice.ID, session.Client{}, session.Grant{ClientID: "latch:browser"})
	if err != nil {
		t.Fatal(err)
	}

	check := func(t *testing.T, tok string) {
		t.Helper()
		var first string
		for _, scope := range []string{"session", "all"} {
			for _, cookies := range []bool{false, true} {
				before := a.snapshot(alice)
				rq := request{method: "POST", path: "/v1/logout", body: logoutBody(scope, tok)}
				if cookies {
					rq = request{method: "POST", path: "/v1/logout?mode=cookie", body: logoutBody(scope, ""), cookies: []*http.Cookie{{Name: refreshCookie, Value: tok}}}
				}
				r := a.do(rq)
				wantInvalidToken(t, r, tok)
				e := wantError(t, r, http.StatusUnauthorized, "invalid_token")
				if first == "" {
					first = e.Description
				}
				if e.Description != "refresh token is invalid, expired or revoked" {
					t.Errorf("%s = %v, want the one description of an invalid refresh token", r.req, r)
				}
				if cookies {
					wantCookiesCleared(t, r, true)
				}
				if after := a.snapshot(alice); !after.equal(before) {
					t.Errorf("%s changed the store:\n got %+v\nwant %+v", r.req, after, before)
				}
			}
		}
	}
	for _, tt := range []struct{ name, tok string }{
		{"malformed", "nope"},
		{"forged", string(forged)},
		{"of an ended session", ended.RefreshToken},
		{"of an OAuth client's session", oauthToken},
		{"of a browser session", browserToken},
	} {
		t.Run(tt.name, func(t *testing.T) { check(t, tt.tok) })
	}
	wantStatus(t, a.me(live.AccessToken), http.StatusOK)
	t.Run("of an expired session", func(t *testing.T) {
		a.clock.Advance(session.DefaultIdleTimeout + time.Minute)
		check(t, live.RefreshToken)
	})
}

// TestLogoutWithBothTokens presents an access token and a refresh token:
// the refresh token decides, and an access token the server can verify
// must name the same session (else 400, nothing changes); one it cannot
// verify is ignored.
func TestLogoutWithBothTokens(t *testing.T) {
	a := newAPI(t, options{})
	alice := a.addUser("alice@example.com")
	bob := a.addUser("bob@example.com")
	bobs := a.login(bob.Email)

	t.Run("same session", func(t *testing.T) {
		tk := a.login(alice.Email)
		r := a.do(request{method: "POST", path: "/v1/logout", bearer: tk.AccessToken, body: logoutBody("", tk.RefreshToken)})
		wantStatus(t, r, http.StatusOK)
		wantInvalidToken(t, a.me(tk.AccessToken), tk.AccessToken)
	})
	t.Run("same session, cookie mode", func(t *testing.T) {
		at, rt := a.cookieLogin(alice.Email)
		r := a.do(request{method: "POST", path: "/v1/logout?mode=cookie", cookies: []*http.Cookie{at, rt}})
		wantStatus(t, r, http.StatusOK)
		wantCookiesCleared(t, r, true)
		wantInvalidToken(t, a.me(at.Value), at.Value)
	})
	for _, tt := range []struct {
		name    string
		cookies bool
		other   func() string // the access token of another session
	}{
		{name: "another session of the user", other: func() string { return a.login(alice.Email).AccessToken }},
		{name: "another user's session", other: func() string { return bobs.AccessToken }},
		{name: "another session, cookie mode", cookies: true, other: func() string { return a.login(alice.Email).AccessToken }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			other := tt.other()
			tk := a.login(alice.Email)
			before, beforeBob := a.snapshot(alice), a.snapshot(bob)
			rq := request{method: "POST", path: "/v1/logout", bearer: other, body: logoutBody("all", tk.RefreshToken)}
			if tt.cookies {
				rq = request{method: "POST", path: "/v1/logout?mode=cookie", body: logoutBody("all", ""),
					cookies: []*http.Cookie{{Name: accessCookie, Value: other}, {Name: refreshCookie, Value: tk.RefreshToken}}}
			}
			r := a.do(rq)
			wantError(t, r, http.StatusBadRequest, "invalid_request")
			if after, afterBob := a.snapshot(alice), a.snapshot(bob); !after.equal(before) || !afterBob.equal(beforeBob) {
				t.Errorf("%s with tokens of two sessions changed the store", r.req)
			}
			wantStatus(t, a.me(other), http.StatusOK)
			wantStatus(t, a.me(tk.AccessToken), http.StatusOK)
		})
	}
	t.Run("unreadable access token", func(t *testing.T) {
		tk := a.login(alice.Email)
		r := a.do(request{method: "POST", path: "/v1/logout", bearer: "not.a.token", body: logoutBody("session", tk.RefreshToken)})
		wantStatus(t, r, http.StatusOK)
		wantInvalidToken(t, a.me(tk.AccessToken), tk.AccessToken)
	})
	t.Run("ambiguous access token", func(t *testing.T) {
		tk := a.login(alice.Email)
		r := a.do(request{method: "POST", path: "/v1/logout", body: logoutBody("session", tk.RefreshToken),
			header: http.Header{"Authorization": {"Bearer " + tk.AccessToken, "Bearer " + bobs.AccessToken}}})
		wantError(t, r, http.StatusBadRequest, "invalid_request")
		wantStatus(t, a.me(tk.AccessToken), http.StatusOK)
	})
}

// TestLogoutRefreshTokenBadRequest sends logouts by refresh token that
// are malformed: each is a 400 JSON error and changes nothing.
func TestLogoutRefreshTokenBadRequest(t *testing.T) {
	a := newAPI(t, options{})
	alice := a.addUser("alice@example.com")
	tk := a.login(alice.Email)
	tk2 := a.login(alice.Email)
	for _, tt := range []struct {
		name string
		rq   request
	}{
		{"refresh_token not a string", request{method: "POST", path: "/v1/logout", body: `{"refresh_token":5}`}},
		{"unknown field", request{method: "POST", path: "/v1/logout", body: `{"refresh_token":"` + tk.RefreshToken + `","token":"x"}`}},
		{"duplicate refresh_token", request{method: "POST", path: "/v1/logout", body: `{"refresh_token":"` + tk.RefreshToken + `","refresh_token":"` + tk2.RefreshToken + `"}`}},
		{"unknown scope", request{method: "POST", path: "/v1/logout", body: logoutBody("everything", tk.RefreshToken)}},
		{"not an object", request{method: "POST", path: "/v1/logout", body: `"` + tk.RefreshToken + `"`}},
		{"refresh_token in cookie mode", request{method: "POST", path: "/v1/logout?mode=cookie", body: logoutBody("", tk.RefreshToken)}},
		{"two refresh cookies", request{method: "POST", path: "/v1/logout?mode=cookie", cookies: []*http.Cookie{
			{Name: refreshCookie, Value: tk.RefreshToken}, {Name: refreshCookie, Value: tk2.RefreshToken}}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := a.snapshot(alice)
			r := a.do(tt.rq)
			wantError(t, r, http.StatusBadRequest, "invalid_request")
			if strings.Contains(string(r.body), tk.RefreshToken) {
				t.Errorf("%s = %v echoes the refresh token", r.req, r)
			}
			if after := a.snapshot(alice); !after.equal(before) {
				t.Errorf("%s changed the store:\n got %+v\nwant %+v", r.req, after, before)
			}
		})
	}
	wantStatus(t, a.me(tk.AccessToken), http.StatusOK)
	wantStatus(t, a.me(tk2.AccessToken), http.StatusOK)
}

// TestLogoutEncryptedAccessToken is the case the refresh token is for: a
// resource service in the audience registered an encryption key, so the
// app's access tokens are nested JWTs encrypted to it, which latch
// cannot read. The app logs out with its refresh token, in json and in
// cookie mode, and that token no longer refreshes.
func TestLogoutEncryptedAccessToken(t *testing.T) {
	a := newAPI(t, options{})
	key, err := jose.GenerateEncryptionKey(jose.ECDHESA256KW, "")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := key.Public()
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := pub.PublicJWK()
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := a.db.CreateClient(t.Context(), store.Client{ID: "c_orders", Name: "orders", Type: store.ClientConfidential,
		AuthMethod: "client_secret_basic", Scopes: []string{"revocations:read"}, EncryptionKey: string(jwk), CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	// The API again, its issuer encrypting to the client "orders" names.
	iss, err := issuer.New(a.ring, issuer.Config{Issuer: testIssuer, Audience: []string{testAudience, "orders"}, Clients: a.db})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Issuer: testIssuer, Audience: testAudience}, server.Deps{
		Users: a.db, Login: login.New(a.db, a.db, a.hasher, login.Config{}), Sessions: a.sessions, Issuer: iss,
		Keys: a.ring, Hasher: a.hasher, Ready: a.db.Ping,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	a.srv, a.url, a.client = srv, hs.URL, hs.Client()
	alice := a.addUser("alice@example.com")

	t.Run("json", func(t *testing.T) {
		tk := a.login(alice.Email)
		if n := strings.Count(tk.AccessToken, ".") + 1; n != 5 {
			t.Fatalf("the access token has %d parts, want 5 (a JWE)", n)
		}
		// The access token cannot log out: latch cannot read it.
		r := a.do(request{method: "POST", path: "/v1/logout", bearer: tk.AccessToken})
		if e := wantError(t, r, http.StatusUnauthorized, "invalid_token"); !strings.Contains(e.Description, "encrypted") {
			t.Errorf("%s with the encrypted token = %v, want it to say the token is encrypted", r.req, r)
		}
		// The refresh token can, with the access token beside it.
		r = a.do(request{method: "POST", path: "/v1/logout", bearer: tk.AccessToken, body: logoutBody("", tk.RefreshToken)})
		wantStatus(t, r, http.StatusOK)
		var got logoutResponse
		if decode(t, r, &got); got.Revoked != 1 {
			t.Errorf("%s = %v, want revoked_sessions 1", r.req, r)
		}
		wantError(t, a.refresh(tk.RefreshToken), http.StatusBadRequest, "invalid_grant")
		s, err := a.db.SessionByID(t.Context(), tk.SessionID)
		if err != nil || s.RevokeReason != store.ReasonLogout {
			t.Errorf("session after the logout: revoked %v (%q), %v; want revoked by logout", s.RevokedAt, s.RevokeReason, err)
		}
	})
	t.Run("cookie", func(t *testing.T) {
		at, rt := a.cookieLogin(alice.Email)
		if n := strings.Count(at.Value, ".") + 1; n != 5 {
			t.Fatalf("the access cookie has %d parts, want 5 (a JWE)", n)
		}
		// What a browser sends to /v1/logout: both cookies.
		r := a.do(request{method: "POST", path: "/v1/logout?mode=cookie", cookies: []*http.Cookie{at, rt}, header: http.Header{"Sec-Fetch-Site": {"same-origin"}}})
		wantStatus(t, r, http.StatusOK)
		wantCookiesCleared(t, r, true)
		r = a.do(request{method: "POST", path: "/v1/token/refresh?mode=cookie", cookies: []*http.Cookie{rt}})
		wantError(t, r, http.StatusBadRequest, "invalid_grant")
	})
}

// TestLogoutDPoPBoundRefreshToken checks that the refresh token of a
// session started with DPoP logs out only with a proof of its key, as it
// refreshes only with one: a copy of the token alone ends nothing.
func TestLogoutDPoPBoundRefreshToken(t *testing.T) {
	a := newAPI(t, options{})
	alice := a.addUser("alice@example.com")
	c := newDPoPClient(t)
	tk := a.dpopLogin(c, alice.Email)
	for _, tt := range []struct {
		name   string
		header http.Header
		status int
		code   string
	}{
		{"no proof", nil, http.StatusBadRequest, "invalid_dpop_proof"},
		{"another key's proof", newDPoPClient(t).header("POST", "/v1/logout", ""), http.StatusUnauthorized, "invalid_token"},
		{"proof for another URL", c.header("POST", "/v1/token/refresh", ""), http.StatusBadRequest, "invalid_dpop_proof"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := a.snapshot(alice)
			r := a.do(request{method: "POST", path: "/v1/logout", header: tt.header, body: logoutBody("all", tk.RefreshToken)})
			wantError(t, r, tt.status, tt.code)
			if after := a.snapshot(alice); !after.equal(before) {
				t.Errorf("%s changed the store:\n got %+v\nwant %+v", r.req, after, before)
			}
		})
	}
	r := a.do(request{method: "POST", path: "/v1/logout", header: c.header("POST", "/v1/logout", ""), body: logoutBody("all", tk.RefreshToken)})
	wantStatus(t, r, http.StatusOK)
	wantError(t, a.do(request{method: "POST", path: "/v1/token/refresh", header: c.header("POST", "/v1/token/refresh", ""),
		body: jsonBody(map[string]string{"refresh_token": tk.RefreshToken})}), http.StatusBadRequest, "invalid_grant")
}
