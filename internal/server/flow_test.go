package server_test

import (
	"encoding/json"
	"net/http"
	"net/netip"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/latch-auth/latch/internal/issuer"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
)

// TestFlow follows one user from login to logout.
func TestFlow(t *testing.T) {
	a := newAPI(t, options{})
	alice := a.addUser("alice@example.com", "admin", "billing")

	// Login normalizes the address.
	r := a.do(request{method: "POST", path: "/v1/login", body: `{"email":" Alice@Example.COM ","password":"` + testPassword + `"}`})
	wantStatus(t, r, http.StatusOK)
	var first tokens
	decode(t, r, &first)
	if first.TokenType != "Bearer" || first.ExpiresIn != int(issuer.DefaultAccessTTL.Seconds()) || first.AccessToken == "" || first.RefreshToken == "" {
		t.Fatalf("POST /v1/login = %v, want a Bearer pair expiring in %v", r, issuer.DefaultAccessTTL)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("POST /v1/login: Cache-Control %q, want no-store", cc)
	}

	// The access token verifies against the published key set alone.
	r = a.do(request{method: "GET", path: "/.well-known/jwks.json"})
	wantStatus(t, r, http.StatusOK)
	wantCC := "public, max-age=" + strconv.Itoa(int(a.ring.Config().JWKSMaxAge.Seconds()))
	if cc := r.header.Get("Cache-Control"); cc != wantCC {
		t.Errorf("GET /.well-known/jwks.json: Cache-Control %q, want %q", cc, wantCC)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/jwk-set+json" {
		t.Errorf("GET /.well-known/jwks.json: Content-Type %q, want application/jwk-set+json", ct)
	}
	keys, err := jose.ParseJWKSet(r.body)
	if err != nil {
		t.Fatalf("jose.ParseJWKSet(%s) = %v", r.body, err)
	}
	for _, k := range keys.Keys() {
		if k.IsPrivate() || k.IsSymmetric() {
			t.Errorf("JWKS publishes %v, want public keys only", k)
		}
	}
	v, err := jwt.NewValidator(keys, testIssuer, testAudience, jwt.ValidatorOptions{Type: jwt.TypeAccessToken})
	if err != nil {
		t.Fatal(err)
	}
	claims, err := v.Parse(first.AccessToken)
	if err != nil {
		t.Fatalf("Validator.Parse(access token) = %v, want nil", err)
	}
	if claims.Subject != alice.ID || claims.SessionID != first.SessionID || claims.ClientID != issuer.ClientID ||
		!slices.Equal(claims.Roles, alice.Roles) || claims.ID == "" {
		t.Errorf("access token claims = %+v, want sub %s, sid %s, roles %v, a jti", claims, alice.ID, first.SessionID, alice.Roles)
	}

	// Discovery points at the same documents.
	r = a.do(request{method: "GET", path: "/.well-known/openid-configuration"})
	wantStatus(t, r, http.StatusOK)
	var disc map[string]any
	if err := json.Unmarshal(r.body, &disc); err != nil {
		t.Fatal(err)
	}
	if disc["issuer"] != testIssuer || disc["jwks_uri"] != testIssuer+"/.well-known/jwks.json" || disc["registration_endpoint"] != nil {
		t.Errorf("GET /.well-known/openid-configuration = %s, want issuer, jwks_uri and no registration", r.body)
	}

	// /v1/me returns the claims and the profile.
	r = a.me(first.AccessToken)
	wantStatus(t, r, http.StatusOK)
	var me struct {
		Claims map[string]any `json:"claims"`
		User   struct {
			ID        string   `json:"id"`
			Email     string   `json:"email"`
			Roles     []string `json:"roles"`
			CreatedAt string   `json:"created_at"`
		} `json:"user"`
	}
	decode(t, r, &me)
	if me.Claims["sub"] != alice.ID || me.Claims["sid"] != first.SessionID || me.User.ID != alice.ID ||
		me.User.Email != alice.Email || !slices.Equal(me.User.Roles, alice.Roles) || me.User.CreatedAt == "" {
		t.Errorf("GET /v1/me = %v, want alice's claims and profile", r)
	}

	// Refresh: a new pair in the same session; the old access token is
	// still good until it expires.
	r = a.refresh(first.RefreshToken)
	wantStatus(t, r, http.StatusOK)
	var second tokens
	decode(t, r, &second)
	if second.SessionID != first.SessionID || second.RefreshToken == first.RefreshToken || second.AccessToken == first.AccessToken || second.AccessToken == "" {
		t.Fatalf("POST /v1/token/refresh = %v, want a new pair in session %s", r, first.SessionID)
	}
	if _, err := v.Parse(second.AccessToken); err != nil {
		t.Errorf("Validator.Parse(refreshed access token) = %v, want nil", err)
	}
	wantStatus(t, a.me(first.AccessToken), http.StatusOK)
	wantStatus(t, a.me(second.AccessToken), http.StatusOK)

	// Logout ends the session: its refresh tokens and, on this server, its
	// access tokens are refused at once.
	r = a.do(request{method: "POST", path: "/v1/logout", bearer: second.AccessToken})
	wantStatus(t, r, http.StatusOK)
	if string(r.body) != `{"revoked_sessions":1}`+"\n" {
		t.Errorf("POST /v1/logout = %v, want revoked_sessions 1", r)
	}
	for _, rt := range []string{first.RefreshToken, second.RefreshToken} {
		wantError(t, a.refresh(rt), http.StatusBadRequest, "invalid_grant")
	}
	for _, at := range []string{first.AccessToken, second.AccessToken} {
		r := a.me(at)
		wantInvalidToken(t, r, at)
		if e := wantError(t, r, http.StatusUnauthorized, "invalid_token"); e.Description != "session ended" {
			t.Errorf("GET /v1/me after logout = %v, want description \"session ended\"", r)
		}
	}
	// The tokens themselves are still well signed: only the session
	// check refuses them, and the revocation is on record for the feed.
	if _, err := v.Parse(second.AccessToken); err != nil {
		t.Errorf("Validator.Parse(access token after logout) = %v, want nil (stateless check)", err)
	}
	revs, err := a.db.RevocationsSince(t.Context(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != 1 || revs[0].Kind != store.KindSession || revs[0].Subject != first.SessionID || revs[0].Reason != store.ReasonLogout {
		t.Errorf("RevocationsSince(0) = %+v, want one logout of session %s", revs, first.SessionID)
	}
}

func TestLogoutScopes(t *testing.T) {
	a := newAPI(t, options{})
	alice := a.addUser("alice@example.com")
	bobUser := a.addUser("bob@example.com")
	s1, s2, s3 := a.login("alice@example.com"), a.login("alice@example.com"), a.login("alice@example.com")
	bob := a.login("bob@example.com")

	type view struct {
		ID      string `json:"id"`
		Current bool   `json:"current"`
		IP      string `json:"ip"`
	}
	list := func(at string) []view {
		t.Helper()
		r := a.do(request{method: "GET", path: "/v1/sessions", bearer: at})
		wantStatus(t, r, http.StatusOK)
		var body struct {
			Sessions []struct {
				view
				CreatedAt  string `json:"created_at"`
				LastUsedAt string `json:"last_used_at"`
				ExpiresAt  string `json:"expires_at"`
				UserAgent  string `json:"user_agent"`
			} `json:"sessions"`
		}
		decode(t, r, &body)
		var out []view
		for _, s := range body.Sessions {
			out = append(out, s.view)
		}
		return out
	}
	ids := func(vs []view) []string {
		var out []string
		for _, v := range vs {
			out = append(out, v.ID)
		}
		slices.Sort(out)
		return out
	}
	sorted := func(ids ...string) []string { slices.Sort(ids); return ids }

	got := list(s1.AccessToken)
	if !slices.Equal(ids(got), sorted(s1.SessionID, s2.SessionID, s3.SessionID)) {
		t.Fatalf("GET /v1/sessions = %+v, want alice's three sessions", got)
	}
	for _, v := range got {
		if v.Current != (v.ID == s1.SessionID) || v.IP != "127.0.0.1" {
			t.Errorf("GET /v1/sessions: %+v, want current only for %s and IP 127.0.0.1", v, s1.SessionID)
		}
	}

	t.Run("end one", func(t *testing.T) {
		r := a.do(request{method: "DELETE", path: "/v1/sessions/" + s2.SessionID, bearer: s1.AccessToken})
		if r.status != http.StatusNoContent || len(r.body) != 0 {
			t.Fatalf("DELETE /v1/sessions/{s2} = %v, want 204 and no body", r)
		}
		wantInvalidToken(t, a.me(s2.AccessToken), s2.AccessToken)
		wantError(t, a.refresh(s2.RefreshToken), http.StatusBadRequest, "invalid_grant")
		wantStatus(t, a.me(s1.AccessToken), http.StatusOK)
	})

	t.Run("not yours", func(t *testing.T) {
		before := []state{a.snapshot(alice), a.snapshot(bobUser)}
		for _, id := range []string{
			bob.SessionID,                      // another user's session
			"00000000000000000000000000000000", // no such session
			"xyz",                              // malformed
			"ABCDEF0123456789ABCDEF0123456789", // upper case
			s1.SessionID + "0",                 // too long
		} {
			r := a.do(request{method: "DELETE", path: "/v1/sessions/" + id, bearer: s1.AccessToken})
			wantError(t, r, http.StatusNotFound, "not_found")
		}
		if after := []state{a.snapshot(alice), a.snapshot(bobUser)}; !reflect.DeepEqual(after, before) {
			t.Errorf("refused DELETEs changed the store: %+v, want %+v", after, before)
		}
		wantStatus(t, a.me(bob.AccessToken), http.StatusOK)
	})

	t.Run("others", func(t *testing.T) {
		r := a.do(request{method: "POST", path: "/v1/logout", bearer: s1.AccessToken, body: `{"scope":"others"}`})
		wantStatus(t, r, http.StatusOK)
		if string(r.body) != `{"revoked_sessions":1}`+"\n" {
			t.Errorf("POST /v1/logout others = %v, want 1 revoked (s3)", r)
		}
		wantInvalidToken(t, a.me(s3.AccessToken), s3.AccessToken)
		wantStatus(t, a.me(s1.AccessToken), http.StatusOK)
		if got := list(s1.AccessToken); len(got) != 1 || got[0].ID != s1.SessionID || !got[0].Current {
			t.Errorf("GET /v1/sessions after logout others = %+v, want only the current one", got)
		}
	})

	t.Run("all", func(t *testing.T) {
		s4 := a.login("alice@example.com")
		r := a.do(request{method: "POST", path: "/v1/logout", bearer: s1.AccessToken, body: `{"scope":"all"}`})
		wantStatus(t, r, http.StatusOK)
		if string(r.body) != `{"revoked_sessions":2}`+"\n" {
			t.Errorf("POST /v1/logout all = %v, want 2 revoked", r)
		}
		for _, s := range []tokens{s1, s4} {
			wantInvalidToken(t, a.me(s.AccessToken), s.AccessToken)
			wantError(t, a.refresh(s.RefreshToken), http.StatusBadRequest, "invalid_grant")
		}
		wantStatus(t, a.me(bob.AccessToken), http.StatusOK)
	})

	t.Run("session", func(t *testing.T) {
		s5, s6 := a.login("alice@example.com"), a.login("alice@example.com")
		r := a.do(request{method: "POST", path: "/v1/logout", bearer: s5.AccessToken, body: `{"scope":"session"}`})
		wantStatus(t, r, http.StatusOK)
		wantInvalidToken(t, a.me(s5.AccessToken), s5.AccessToken)
		wantStatus(t, a.me(s6.AccessToken), http.StatusOK)
		// No body means scope "session".
		wantStatus(t, a.do(request{method: "POST", path: "/v1/logout", bearer: s6.AccessToken}), http.StatusOK)
		wantInvalidToken(t, a.me(s6.AccessToken), s6.AccessToken)
	})
}

// TestClientAddress checks which address a session records: the peer's,
// unless the peer is a trusted proxy (the test's peer is 127.0.0.1).
func TestClientAddress(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	tests := []struct {
		name    string
		proxies []netip.Prefix
		xff     string
		want    string
	}{
		{name: "direct", want: "127.0.0.1"},
		{name: "forged header ignored", xff: "203.0.113.7", want: "127.0.0.1"},
		{name: "behind a proxy", proxies: loopback, xff: "198.51.100.1, 203.0.113.7", want: "203.0.113.7"},
		{name: "behind a proxy, IPv6", proxies: loopback, xff: "2001:db8::1", want: "2001:db8::1"},
		{name: "behind a proxy, garbage", proxies: loopback, xff: "203.0.113.7, not-an-ip", want: "127.0.0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAPI(t, options{trustedProxies: tt.proxies})
			alice := a.addUser("alice@example.com")
			h := http.Header{"User-Agent": {"latch-test/1.0"}}
			if tt.xff != "" {
				h.Set("X-Forwarded-For", tt.xff)
			}
			wantStatus(t, a.do(request{method: "POST", path: "/v1/login", header: h,
				body: jsonBody(map[string]string{"email": "alice@example.com", "password": testPassword})}), http.StatusOK)
			list, err := a.db.ListSessions(t.Context(), alice.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != 1 || list[0].IP != tt.want || list[0].UserAgent != "latch-test/1.0" {
				t.Errorf("session after login with X-Forwarded-For %q = %+v, want IP %s and the User-Agent", tt.xff, list, tt.want)
			}
		})
	}
}
