package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/client"
	"github.com/latch-auth/latch/internal/feed"
	"github.com/latch-auth/latch/internal/issuer"
	"github.com/latch-auth/latch/internal/server"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/revocation"
)

// introspection is the answer of POST /oauth2/introspect, every member.
type introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope"`
	ClientID  string   `json:"client_id"`
	TokenType string   `json:"token_type"`
	Exp       int64    `json:"exp"`
	IAT       int64    `json:"iat"`
	NBF       int64    `json:"nbf"`
	Sub       string   `json:"sub"`
	Aud       any      `json:"aud"`
	Iss       string   `json:"iss"`
	JTI       string   `json:"jti"`
	Sid       string   `json:"sid"`
	Roles     []string `json:"roles"`
}

// introspectAPI is an API with the feed, and the credentials of a client
// that may introspect.
func introspectAPI(t *testing.T) (*api, http.Header) {
	t.Helper()
	a := newAPI(t, options{feed: &feed.Config{Poll: time.Hour}})
	return a, basicAuth(a.addClient("resource service", client.ScopeIntrospect))
}

// introspectRaw posts form to the introspection endpoint.
func (a *api) introspectRaw(auth http.Header, form url.Values) response {
	a.t.Helper()
	return a.do(request{method: "POST", path: "/oauth2/introspect", header: auth, body: form.Encode(), contentType: "application/x-www-form-urlencoded"})
}

// introspect introspects token with hint (none when empty) and parses
// the answer strictly; the answer never holds the token.
func (a *api) introspect(auth http.Header, token, hint string) introspection {
	a.t.Helper()
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	r := a.introspectRaw(auth, form)
	wantStatus(a.t, r, http.StatusOK)
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		a.t.Errorf("%s: Cache-Control %q, want no-store", r.req, cc)
	}
	if bytes.Contains(r.body, []byte(token)) {
		a.t.Errorf("%s: the answer echoes the token: %s", r.req, r.body)
	}
	var res introspection
	decode(a.t, r, &res)
	if !res.Active && string(r.body) != "{\"active\":false}\n" {
		a.t.Errorf("%s = %s, want exactly {\"active\":false} for an inactive token (RFC 7662 §2.2)", r.req, r.body)
	}
	return res
}

// wantInactive checks that token introspects as inactive.
func (a *api) wantInactive(auth http.Header, what, token string) {
	a.t.Helper()
	if res := a.introspect(auth, token, ""); res.Active {
		a.t.Errorf("introspect(%s) = %+v, want inactive", what, res)
	}
}

// sessionOf returns the user and session a login's tokens belong to.
func (a *api) sessionOf(tk tokens) (store.User, store.Session) {
	a.t.Helper()
	s, err := a.db.SessionByID(a.t.Context(), tk.SessionID)
	if err != nil {
		a.t.Fatal(err)
	}
	u, err := a.db.UserByID(a.t.Context(), s.UserID)
	if err != nil {
		a.t.Fatal(err)
	}
	return u, s
}

func TestIntrospectAccessToken(t *testing.T) {
	a, auth := introspectAPI(t)
	u := a.addUser("ann@example.com", "admin", "billing")
	tk := a.login("ann@example.com")
	for _, hint := range []string{"", "access_token", "refresh_token", "id_token"} {
		res := a.introspect(auth, tk.AccessToken, hint)
		want := introspection{
			Active: true, Scope: issuer.DefaultScope, ClientID: issuer.ClientID, TokenType: "Bearer",
			Sub: u.ID, Aud: testAudience, Iss: testIssuer, JTI: jti(t, tk.AccessToken), Sid: tk.SessionID,
			Roles: []string{"admin", "billing"},
		}
		got := res
		got.Exp, got.IAT, got.NBF = 0, 0, 0
		if !equalJSON(got, want) {
			t.Errorf("introspect(access token, hint %q) = %+v, want %+v", hint, res, want)
		}
		now := time.Now().Unix()
		if res.IAT < now-60 || res.IAT > now+2 || res.NBF > now || res.Exp != res.NBF+int64(issuer.DefaultAccessTTL/time.Second) {
			t.Errorf("introspect(access token) times iat %d nbf %d exp %d, want issued now for %v", res.IAT, res.NBF, res.Exp, issuer.DefaultAccessTTL)
		}
	}
}

func TestIntrospectRefreshToken(t *testing.T) {
	a, auth := introspectAPI(t)
	u := a.addUser("ann@example.com")
	tk := a.login("ann@example.com")
	_, sess := a.sessionOf(tk)
	for _, hint := range []string{"", "refresh_token", "access_token"} {
		res := a.introspect(auth, tk.RefreshToken, hint)
		want := introspection{
			Active: true, ClientID: issuer.ClientID, TokenType: "refresh_token", Sub: u.ID, Iss: testIssuer, Sid: tk.SessionID,
			IAT: sess.CreatedAt.Unix(), Exp: sess.LastUsedAt.Add(a.sessions.IdleTimeout()).Unix(),
		}
		if !equalJSON(res, want) {
			t.Errorf("introspect(refresh token, hint %q) = %+v, want %+v", hint, res, want)
		}
	}
	// The successor of a rotation is active; after logout neither is.
	r := a.refresh(tk.RefreshToken)
	wantStatus(t, r, http.StatusOK)
	var next tokens
	decode(t, r, &next)
	if res := a.introspect(auth, next.RefreshToken, ""); !res.Active || res.Sid != tk.SessionID {
		t.Errorf("introspect(rotated refresh token) = %+v, want active in session %s", res, tk.SessionID)
	}
	wantStatus(t, a.do(request{method: "POST", path: "/v1/logout", bearer: next.AccessToken, body: "{}"}), http.StatusOK)
	a.wantInactive(auth, "refresh token after logout", next.RefreshToken)
	a.wantInactive(auth, "access token after logout", next.AccessToken)
}

// TestIntrospectInactive checks every way a token is not active: each
// answer is {"active": false} and nothing else.
func TestIntrospectInactive(t *testing.T) {
	a, auth := introspectAPI(t)
	ctx := t.Context()

	t.Run("garbage", func(t *testing.T) {
		for _, tok := range []string{"x", "not.a.token", "eyJhbGciOiJub25lIn0.e30.", strings.Repeat("A", 20000), "a b", "\xff"} {
			a.wantInactive(auth, "garbage", tok)
		}
	})

	t.Run("tampered", func(t *testing.T) {
		a.addUser("tampered@example.com")
		tk := a.login("tampered@example.com")
		parts := strings.Split(tk.AccessToken, ".")
		sig := []byte(parts[2])
		sig[0] ^= 1
		a.wantInactive(auth, "access token with a flipped signature bit", parts[0]+"."+parts[1]+"."+string(sig))
		a.wantInactive(auth, "refresh token with a changed character", flip(tk.RefreshToken))
	})

	t.Run("expired", func(t *testing.T) {
		a.addUser("expired@example.com")
		u, s := a.sessionOf(a.login("expired@example.com"))
		past, err := issuer.New(a.ring, issuer.Config{Issuer: testIssuer, Audience: []string{testAudience}, Now: func() time.Time { return time.Now().Add(-time.Hour) }})
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := past.Issue(u, s)
		if err != nil {
			t.Fatal(err)
		}
		a.wantInactive(auth, "access token expired 50 minutes ago", tok)
	})

	t.Run("other issuer or audience", func(t *testing.T) {
		a.addUser("other@example.com")
		u, s := a.sessionOf(a.login("other@example.com"))
		for _, cfg := range []issuer.Config{
			{Issuer: "https://evil.test", Audience: []string{testAudience}},
			{Issuer: testIssuer, Audience: []string{"https://elsewhere.test"}},
		} {
			iss, err := issuer.New(a.ring, cfg)
			if err != nil {
				t.Fatal(err)
			}
			tok, _, err := iss.Issue(u, s)
			if err != nil {
				t.Fatal(err)
			}
			a.wantInactive(auth, "token of "+cfg.Issuer+" for "+cfg.Audience[0], tok)
		}
	})

	t.Run("a SET is not an access token", func(t *testing.T) {
		key, err := a.ring.Signer()
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now()
		set, err := feed.SignSET(key, revocation.Event{Seq: 1, Kind: revocation.KindToken, ID: "x", At: now, Expires: now.Add(time.Hour)},
			feed.SETParams{Issuer: testIssuer, Audience: testAudience, IssuedAt: now})
		if err != nil {
			t.Fatal(err)
		}
		a.wantInactive(auth, "a SET signed by the server's key", set)
	})

	t.Run("logout", func(t *testing.T) {
		a.addUser("logout@example.com")
		tk := a.login("logout@example.com")
		wantStatus(t, a.do(request{method: "POST", path: "/v1/logout", bearer: tk.AccessToken, body: "{}"}), http.StatusOK)
		a.wantInactive(auth, "access token after logout", tk.AccessToken)
		a.wantInactive(auth, "refresh token after logout", tk.RefreshToken)
	})

	t.Run("jti revoked", func(t *testing.T) {
		a.addUser("jti@example.com")
		tk := a.login("jti@example.com")
		if !a.introspect(auth, tk.AccessToken, "").Active {
			t.Fatal("the fresh access token is not active")
		}
		a.revoke(store.KindToken, jti(t, tk.AccessToken))
		eventually(t, 5*time.Second, "the access token is active after its jti was revoked", func() bool {
			return !a.introspect(auth, tk.AccessToken, "").Active
		})
		// One token is revoked, not the session.
		if !a.introspect(auth, tk.RefreshToken, "").Active {
			t.Errorf("the refresh token is inactive after one access token was revoked, want active")
		}
	})

	t.Run("subject revoked", func(t *testing.T) {
		u := a.addUser("subject@example.com")
		tk := a.login("subject@example.com")
		if _, _, err := a.db.RevokeUser(ctx, u.ID, store.ReasonRoleChange, time.Now(), false, nil); err != nil {
			t.Fatal(err)
		}
		// At once: the database says so before the deny list hears.
		a.wantInactive(auth, "access token after a role change", tk.AccessToken)
		if !a.introspect(auth, tk.RefreshToken, "").Active {
			t.Errorf("the refresh token is inactive after a role change, want active: it yields a token with the new roles")
		}
	})

	t.Run("disabled", func(t *testing.T) {
		u := a.addUser("disabled@example.com")
		tk := a.login("disabled@example.com")
		if _, err := a.db.UpdateUser(ctx, u.ID, func(u store.User) (store.User, error) { u.Disabled = true; return u, nil }); err != nil {
			t.Fatal(err)
		}
		a.wantInactive(auth, "access token of a disabled user", tk.AccessToken)
		a.wantInactive(auth, "refresh token of a disabled user", tk.RefreshToken)
	})
}

// flip changes the first character of s.
func flip(s string) string {
	b := []byte(s)
	if b[0] == 'A' {
		b[0] = 'B'
	} else {
		b[0] = 'A'
	}
	return string(b)
}

// TestIntrospectAudiences checks that introspection accepts the tokens of
// every audience the server is configured with, and only those.
func TestIntrospectAudiences(t *testing.T) {
	a, auth := introspectAPI(t)
	b := a.withConfig(server.Config{Audiences: []string{testAudience, "https://orders.latch.test"}})
	a.addUser("ann@example.com")
	u, s := a.sessionOf(a.login("ann@example.com"))
	for _, tt := range []struct {
		aud        []string
		wantActive bool
	}{
		{[]string{"https://orders.latch.test"}, true},
		{[]string{"https://billing.latch.test", "https://orders.latch.test"}, true},
		{[]string{testAudience}, true},
		{[]string{"https://billing.latch.test"}, false},
	} {
		iss, err := issuer.New(a.ring, issuer.Config{Issuer: testIssuer, Audience: tt.aud})
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := iss.Issue(u, s)
		if err != nil {
			t.Fatal(err)
		}
		res := b.introspect(auth, tok, "")
		if res.Active != tt.wantActive {
			t.Errorf("introspect(token for %v) = %+v, want active %v", tt.aud, res, tt.wantActive)
		}
		if res.Active {
			var want any = tt.aud[0]
			if len(tt.aud) > 1 {
				want = tt.aud
			}
			if !equalJSON(res.Aud, want) {
				t.Errorf("introspect(token for %v): aud %v, want %v", tt.aud, res.Aud, want)
			}
		}
	}
	// The default server knows only its own audience.
	iss, _ := issuer.New(a.ring, issuer.Config{Issuer: testIssuer, Audience: []string{"https://orders.latch.test"}})
	tok, _, _ := iss.Issue(u, s)
	a.wantInactive(auth, "token for an audience the server is not configured with", tok)
}

func TestIntrospectErrors(t *testing.T) {
	a, auth := introspectAPI(t)
	readerID, readerSecret := a.addClient("feed reader", client.ScopeRevocationsRead)
	introID, introSecret := a.addClient("other introspector", client.ScopeIntrospect)
	a.addUser("ann@example.com")
	tk := a.login("ann@example.com")
	good := url.Values{"token": {tk.AccessToken}}.Encode()
	const form = "application/x-www-form-urlencoded"

	tests := []struct {
		name        string
		method      string
		header      http.Header
		body        string
		contentType string
		status      int
		code        string
	}{
		{"no credentials", "POST", nil, good, form, http.StatusUnauthorized, "invalid_client"},
		{"the user's bearer token", "POST", http.Header{"Authorization": {"Bearer " + tk.AccessToken}}, good, form, http.StatusUnauthorized, "invalid_client"},
		{"wrong secret", "POST", basicAuth(introID, introSecret+"x"), good, form, http.StatusUnauthorized, "invalid_client"},
		{"another client's secret", "POST", basicAuth(introID, readerSecret), good, form, http.StatusUnauthorized, "invalid_client"},
		{"client without the scope", "POST", basicAuth(readerID, readerSecret), good, form, http.StatusForbidden, "insufficient_scope"},
		{"GET", "GET", auth, "", "-", http.StatusMethodNotAllowed, "method_not_allowed"},
		{"JSON body", "POST", auth, `{"token":"` + tk.AccessToken + `"}`, "application/json", http.StatusUnsupportedMediaType, "invalid_request"},
		{"no content type", "POST", auth, good, "-", http.StatusUnsupportedMediaType, "invalid_request"},
		{"no token", "POST", auth, "token_type_hint=access_token", form, http.StatusBadRequest, "invalid_request"},
		{"empty token", "POST", auth, "token=", form, http.StatusBadRequest, "invalid_request"},
		{"two tokens", "POST", auth, good + "&token=x", form, http.StatusBadRequest, "invalid_request"},
		{"two hints", "POST", auth, good + "&token_type_hint=a&token_type_hint=b", form, http.StatusBadRequest, "invalid_request"},
		{"malformed form", "POST", auth, "token=%zz", form, http.StatusBadRequest, "invalid_request"},
		{"too large", "POST", auth, "token=" + strings.Repeat("A", server.DefaultMaxBody), form, http.StatusRequestEntityTooLarge, "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.do(request{method: tt.method, path: "/oauth2/introspect", header: tt.header, body: tt.body, contentType: tt.contentType})
			wantError(t, r, tt.status, tt.code)
			if bytes.Contains(r.body, []byte(tk.AccessToken)) || strings.Contains(r.header.Get("WWW-Authenticate"), tk.AccessToken) {
				t.Errorf("%s: the answer echoes the token: %s", r.req, r.body)
			}
			if tt.status == http.StatusUnauthorized && r.header.Get("WWW-Authenticate") != `Basic realm="latch"` {
				t.Errorf("%s: WWW-Authenticate %q, want Basic realm=\"latch\"", r.req, r.header.Get("WWW-Authenticate"))
			}
		})
	}

	// The token travels in the body only: one in the URL is not read.
	r := a.do(request{method: "POST", path: "/oauth2/introspect?token=" + url.QueryEscape(tk.AccessToken), header: auth, body: "token_type_hint=access_token", contentType: form})
	wantError(t, r, http.StatusBadRequest, "invalid_request")

	t.Run("without clients", func(t *testing.T) {
		b := newAPI(t, options{})
		r := b.do(request{method: "POST", path: "/oauth2/introspect", header: auth, body: good, contentType: form})
		wantError(t, r, http.StatusNotFound, "not_found")
	})
}

// TestIntrospectRolesAreTheTokens checks that introspection describes
// the token, not the user as they are now.
func TestIntrospectRolesAreTheTokens(t *testing.T) {
	a, auth := introspectAPI(t)
	u := a.addUser("ann@example.com", "admin")
	tk := a.login("ann@example.com")
	if _, err := a.db.UpdateUser(t.Context(), u.ID, func(u store.User) (store.User, error) { u.Roles = []string{"viewer"}; return u, nil }); err != nil {
		t.Fatal(err)
	}
	res := a.introspect(auth, tk.AccessToken, "")
	if !res.Active || !slices.Equal(res.Roles, []string{"admin"}) {
		t.Errorf("introspect(token issued with role admin) = %+v, want active with roles [admin]", res)
	}
	// Introspection answers are never cached.
	r := a.introspectRaw(auth, url.Values{"token": {tk.AccessToken}})
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(r.body, &raw); err != nil || r.header.Get("Cache-Control") != "no-store" {
		t.Errorf("introspection answer %s, Cache-Control %q: want JSON, no-store", r.body, r.header.Get("Cache-Control"))
	}
}
