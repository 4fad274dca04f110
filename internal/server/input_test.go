package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/issuer"
	"github.com/latch-auth/latch/internal/session"
	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
)

// TestBadInput sends malformed and hostile requests. Each is refused with
// the documented status and error code and leaves the store as it was.
func TestBadInput(t *testing.T) {
	a := newAPI(t, options{})
	alice := a.addUser("alice@example.com")
	tk := a.login("alice@example.com")
	email, pw := `"email":"alice@example.com"`, `"password":"`+testPassword+`"`
	creds := "{" + email + "," + pw + "}"

	// Access tokens that are well formed but must not be accepted, each
	// for an active session of alice.
	u, err := a.db.UserByID(t.Context(), alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	s, err := a.db.SessionByID(t.Context(), tk.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(cfg issuer.Config) string {
		t.Helper()
		if cfg.Issuer == "" {
			cfg.Issuer = testIssuer
		}
		if cfg.Audience == nil {
			cfg.Audience = []string{testAudience}
		}
		iss, err := issuer.New(a.ring, cfg)
		if err != nil {
			t.Fatal(err)
		}
		tok, _, err := iss.Issue(u, s)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	expired := issue(issuer.Config{Now: func() time.Time { return time.Now().Add(-time.Hour) }})
	future := issue(issuer.Config{Now: func() time.Time { return time.Now().Add(time.Hour) }})
	wrongAud := issue(issuer.Config{Audience: []string{"https://other.example"}})
	wrongIss := issue(issuer.Config{Issuer: "https://evil.example"})
	foreignKey, err := jose.GenerateKey(jose.ES256)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	goodClaims := jwt.Claims{Issuer: testIssuer, Subject: alice.ID, Audience: []string{testAudience}, SessionID: tk.SessionID,
		IssuedAt: now, NotBefore: now, ExpiresAt: now.Add(time.Minute)}
	foreign, err := jwt.Sign(foreignKey, &goodClaims, jose.SignOptions{Type: jwt.TypeAccessToken})
	if err != nil {
		t.Fatal(err)
	}
	signer, err := a.ring.Signer()
	if err != nil {
		t.Fatal(err)
	}
	plainJWT, err := jwt.Sign(signer, &goodClaims, jose.SignOptions{Type: "JWT"})
	if err != nil {
		t.Fatal(err)
	}
	noSession := goodClaims
	noSession.SessionID = ""
	sessionless, err := jwt.Sign(signer, &noSession, jose.SignOptions{Type: jwt.TypeAccessToken})
	if err != nil {
		t.Fatal(err)
	}
	otherSession := goodClaims
	otherSession.SessionID = strings.Repeat("0", 32)
	unknownSession, err := jwt.Sign(signer, &otherSession, jose.SignOptions{Type: jwt.TypeAccessToken})
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tk.AccessToken, ".")
	noneAlg := "eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0." + parts[1] + "."

	// Refresh tokens that are not the session's.
	flipped := []byte(tk.RefreshToken)
	flipped[len(flipped)/2] ^= 1 // still base64url, no longer authentic
	if flipped[len(flipped)/2] == '-' || flipped[len(flipped)/2] == '_' {
		flipped[len(flipped)/2] = 'A'
	}

	type bearer struct {
		name, token string
		header      string // Authorization header instead of Bearer token
	}
	tests := []struct {
		name        string
		req         request
		wantStatus  int
		wantCode    string
		tokenOnWire string // a token the response must not echo
	}{
		// Request bodies.
		{name: "login malformed JSON", req: request{method: "POST", path: "/v1/login", body: `{"email":`}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "login invalid UTF-8", req: request{method: "POST", path: "/v1/login", body: "{\"email\":\"\xff\"," + pw + "}"}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "login wrong Content-Type", req: request{method: "POST", path: "/v1/login", body: creds, contentType: "text/plain"}, wantStatus: 415, wantCode: "invalid_request"},
		{name: "login form Content-Type", req: request{method: "POST", path: "/v1/login", body: "email=alice%40example.com", contentType: "application/x-www-form-urlencoded"}, wantStatus: 415, wantCode: "invalid_request"},
		{name: "login missing Content-Type", req: request{method: "POST", path: "/v1/login", body: creds, contentType: "-"}, wantStatus: 415, wantCode: "invalid_request"},
		{name: "login bad Content-Type parameters", req: request{method: "POST", path: "/v1/login", body: creds, contentType: "application/json; charset"}, wantStatus: 415, wantCode: "invalid_request"},
		{name: "login oversized body", req: request{method: "POST", path: "/v1/login", body: `{` + email + `,"password":"` + strings.Repeat("x", 70<<10) + `"}`}, wantStatus: 413, wantCode: "invalid_request"},
		{name: "login unknown field", req: request{method: "POST", path: "/v1/login", body: `{` + email + `,` + pw + `,"admin":true}`}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "login duplicate field", req: request{method: "POST", path: "/v1/login", body: `{"email":"mallory@example.com",` + email + `,` + pw + `}`}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "login duplicate field escaped", req: request{method: "POST", path: "/v1/login", body: `{` + email + `,"\u0065mail":"x@example.com",` + pw + `}`}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "login missing password", req: request{method: "POST", path: "/v1/login", body: `{` + email + `}`}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "login missing email", req: request{method: "POST", path: "/v1/login", body: `{` + pw + `}`}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "login empty object", req: request{method: "POST", path: "/v1/login", body: `{}`}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "login wrong type", req: request{method: "POST", path: "/v1/login", body: `{"email":["alice@example.com"],` + pw + `}`}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "login trailing object", req: request{method: "POST", path: "/v1/login", body: creds + ` {}`}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "login trailing garbage", req: request{method: "POST", path: "/v1/login", body: creds + `x`}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "login array", req: request{method: "POST", path: "/v1/login", body: `[` + creds + `]`}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "login string", req: request{method: "POST", path: "/v1/login", body: `"alice@example.com"`}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "login null", req: request{method: "POST", path: "/v1/login", body: `null`}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "login empty body", req: request{method: "POST", path: "/v1/login", body: "", contentType: "application/json"}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "login mode bogus", req: request{method: "POST", path: "/v1/login?mode=bogus", body: creds}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "refresh malformed JSON", req: request{method: "POST", path: "/v1/token/refresh", body: `{"refresh_token":`}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "refresh unknown field", req: request{method: "POST", path: "/v1/token/refresh", body: `{"refresh_token":"` + tk.RefreshToken + `","grant_type":"refresh_token"}`}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "refresh duplicate field", req: request{method: "POST", path: "/v1/token/refresh", body: `{"refresh_token":"x","refresh_token":"` + tk.RefreshToken + `"}`}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "refresh missing field", req: request{method: "POST", path: "/v1/token/refresh", body: `{}`}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "refresh null", req: request{method: "POST", path: "/v1/token/refresh", body: `null`}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "refresh wrong Content-Type", req: request{method: "POST", path: "/v1/token/refresh", body: `{"refresh_token":"` + tk.RefreshToken + `"}`, contentType: "text/plain"}, wantStatus: 415, wantCode: "invalid_request"},
		{name: "refresh mode bogus", req: request{method: "POST", path: "/v1/token/refresh?mode=bogus", body: `{"refresh_token":"` + tk.RefreshToken + `"}`}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "logout malformed JSON", req: request{method: "POST", path: "/v1/logout", bearer: tk.AccessToken, body: `{"scope":`}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "logout unknown scope", req: request{method: "POST", path: "/v1/logout", bearer: tk.AccessToken, body: `{"scope":"everyone"}`}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "logout unknown field", req: request{method: "POST", path: "/v1/logout", bearer: tk.AccessToken, body: `{"scope":"all","user":"bob"}`}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "logout null", req: request{method: "POST", path: "/v1/logout", bearer: tk.AccessToken, body: `null`}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "logout array", req: request{method: "POST", path: "/v1/logout", bearer: tk.AccessToken, body: `[]`}, wantStatus: 400, wantCode: "invalid_request"},
		{name: "logout wrong Content-Type", req: request{method: "POST", path: "/v1/logout", bearer: tk.AccessToken, body: `{"scope":"all"}`, contentType: "text/plain"}, wantStatus: 415, wantCode: "invalid_request"},
		{name: "logout mode bogus", req: request{method: "POST", path: "/v1/logout?mode=bogus", bearer: tk.AccessToken}, wantStatus: 400, wantCode: "invalid_request"},

		// Refresh tokens.
		{name: "refresh garbage", req: request{method: "POST", path: "/v1/token/refresh", body: `{"refresh_token":"garbage"}`}, wantStatus: 400, wantCode: "invalid_grant"},
		{name: "refresh right length, not base64url", req: request{method: "POST", path: "/v1/token/refresh", body: `{"refresh_token":"` + strings.Repeat("*", session.EncodedLen) + `"}`}, wantStatus: 400, wantCode: "invalid_grant"},
		{name: "refresh right length, zeros", req: request{method: "POST", path: "/v1/token/refresh", body: `{"refresh_token":"` + strings.Repeat("A", session.EncodedLen) + `"}`}, wantStatus: 400, wantCode: "invalid_grant"},
		{name: "refresh forged tag", req: request{method: "POST", path: "/v1/token/refresh", body: `{"refresh_token":"` + string(flipped) + `"}`}, wantStatus: 400, wantCode: "invalid_grant", tokenOnWire: string(flipped)},
		{name: "refresh with an access token", req: request{method: "POST", path: "/v1/token/refresh", body: `{"refresh_token":"` + tk.AccessToken + `"}`}, wantStatus: 400, wantCode: "invalid_grant", tokenOnWire: tk.AccessToken},
		{name: "refresh token with padding", req: request{method: "POST", path: "/v1/token/refresh", body: `{"refresh_token":"` + tk.RefreshToken + `="}`}, wantStatus: 400, wantCode: "invalid_grant", tokenOnWire: tk.RefreshToken},

		// Routing.
		{name: "unknown path", req: request{method: "GET", path: "/v1/nope"}, wantStatus: 404, wantCode: "not_found"},
		{name: "signup disabled", req: request{method: "POST", path: "/v1/signup", body: creds}, wantStatus: 404, wantCode: "not_found"},
		{name: "GET login", req: request{method: "GET", path: "/v1/login"}, wantStatus: 405, wantCode: "method_not_allowed"},
		{name: "PUT refresh", req: request{method: "PUT", path: "/v1/token/refresh", body: `{}`}, wantStatus: 405, wantCode: "method_not_allowed"},
		{name: "DELETE me", req: request{method: "DELETE", path: "/v1/me", bearer: tk.AccessToken}, wantStatus: 405, wantCode: "method_not_allowed"},
		{name: "POST sessions id", req: request{method: "POST", path: "/v1/sessions/" + tk.SessionID, bearer: tk.AccessToken}, wantStatus: 405, wantCode: "method_not_allowed"},
	}
	for _, b := range []bearer{
		{name: "missing", token: ""},
		{name: "garbage", token: "garbage"},
		{name: "two segments", token: parts[0] + "." + parts[1]},
		{name: "tampered payload", token: parts[0] + "." + parts[1] + "x." + parts[2]},
		{name: "alg none", token: noneAlg},
		{name: "expired", token: expired},
		{name: "not yet valid", token: future},
		{name: "wrong audience", token: wrongAud},
		{name: "wrong issuer", token: wrongIss},
		{name: "unknown signing key", token: foreign},
		{name: "not an access token", token: plainJWT},
		{name: "no session", token: sessionless},
		{name: "unknown session", token: unknownSession},
		{name: "refresh token", token: tk.RefreshToken},
		{name: "basic scheme", header: "Basic YWxpY2U6cGFzc3dvcmQ="},
		{name: "empty bearer", header: "Bearer "},
		{name: "bearer with spaces", header: "Bearer " + tk.AccessToken + " x"},
		{name: "no scheme", header: tk.AccessToken},
	} {
		req := request{method: "GET", path: "/v1/me", bearer: b.token}
		if b.header != "" {
			req.header = http.Header{"Authorization": {b.header}}
		}
		tok := b.token
		if tok == "" {
			tok = tk.AccessToken
		}
		tests = append(tests, struct {
			name        string
			req         request
			wantStatus  int
			wantCode    string
			tokenOnWire string
		}{name: "bearer " + b.name, req: req, wantStatus: 401, wantCode: "invalid_token", tokenOnWire: tok})
		logout := req
		logout.method, logout.path = "POST", "/v1/logout"
		tests = append(tests, struct {
			name        string
			req         request
			wantStatus  int
			wantCode    string
			tokenOnWire string
		}{name: "logout bearer " + b.name, req: logout, wantStatus: 401, wantCode: "invalid_token", tokenOnWire: tok})
	}

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := a.snapshot(alice)
			r := a.do(tt.req)
			e := wantError(t, r, tt.wantStatus, tt.wantCode)
			noCredential := tt.req.bearer == "" && tt.req.header == nil && tt.req.cookies == nil
			if tt.wantStatus == 401 && noCredential {
				// RFC 6750 §3.1: no error code in the challenge.
				if wa := r.header.Get("WWW-Authenticate"); wa != `Bearer realm="latch"` {
					t.Errorf("%s: WWW-Authenticate %q, want Bearer realm=\"latch\" alone", r.req, wa)
				}
			} else if tt.wantStatus == 401 {
				wantInvalidToken(t, r, tt.tokenOnWire)
			} else if tt.tokenOnWire != "" && strings.Contains(string(r.body), tt.tokenOnWire) {
				t.Errorf("%s = %v, echoes the token", r.req, r)
			}
			if strings.Contains(e.Description, testPassword) {
				t.Errorf("%s = %v, echoes the password", r.req, r)
			}
			if tt.wantStatus == 405 && r.header.Get("Allow") == "" {
				t.Errorf("%s = %v with no Allow header, want one", r.req, r)
			}
			if after := a.snapshot(alice); !after.equal(before) {
				t.Errorf("%s changed the store:\n got %+v\nwant %+v", r.req, after, before)
			}
		})
	}

	// After all that, alice's session is intact, and a media type with
	// parameters is still JSON.
	wantStatus(t, a.me(tk.AccessToken), http.StatusOK)
	wantStatus(t, a.refresh(tk.RefreshToken), http.StatusOK)
	wantStatus(t, a.do(request{method: "POST", path: "/v1/login", body: creds, contentType: "application/json; charset=utf-8"}), http.StatusOK)
}

func TestMethodNotAllowedAllow(t *testing.T) {
	a := newAPI(t, options{})
	for _, tt := range []struct {
		method, path, wantAllow string
	}{
		{"GET", "/v1/login", "POST"},
		{"POST", "/v1/me", "GET, HEAD"},
		{"POST", "/healthz", "GET, HEAD"},
	} {
		r := a.do(request{method: tt.method, path: tt.path, body: "{}"})
		wantError(t, r, http.StatusMethodNotAllowed, "method_not_allowed")
		if got := r.header.Get("Allow"); got != tt.wantAllow {
			t.Errorf("%s %s: Allow %q, want %q", tt.method, tt.path, got, tt.wantAllow)
		}
	}
}
