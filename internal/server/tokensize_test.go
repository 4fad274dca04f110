package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/latch-auth/latch/internal/store"
)

// logBuffer is a log destination that handlers may write concurrently.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// records returns the JSON log records at level.
func (b *logBuffer) records(t *testing.T, level string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["level"] == level {
			out = append(out, rec)
		}
	}
	return out
}

// setClaims replaces the custom claims of the user with e-mail email.
func (a *api) setClaims(email string, claims map[string]json.RawMessage) {
	a.t.Helper()
	u, err := a.db.UserByEmail(a.t.Context(), email)
	if err != nil {
		a.t.Fatal(err)
	}
	if _, err := a.db.UpdateUser(a.t.Context(), u.ID, func(u store.User) (store.User, error) {
		u.Claims = claims
		return u, nil
	}); err != nil {
		a.t.Fatal(err)
	}
}

// bigClaims are custom claims within the issuer's limits whose access
// token is over 4096 bytes, and well under the 8 KiB token budget. The
// value of "notes" is a marker that must never reach a log.
var bigClaims = map[string]json.RawMessage{
	"notes":  json.RawMessage(`"` + strings.Repeat("TOPSECRET ", 100) + `"`),
	"notes2": json.RawMessage(`"` + strings.Repeat("y", 900) + `"`),
	"notes3": json.RawMessage(`"` + strings.Repeat("z", 900) + `"`),
	"dept":   json.RawMessage(`"sales"`),
}

// TestCookieTooLarge: in cookie mode the server never sets a cookie a
// browser would drop (over 4096 bytes): a login or refresh whose access
// token is too large fails with 500 token_too_large, sets no token
// cookie (it clears them), ends the session it started or refreshed, and
// logs an ERROR naming the claims that take the room, without their
// values. JSON mode, where the 8 KiB budget applies, still works.
func TestCookieTooLarge(t *testing.T) {
	var logs logBuffer
	a := newAPI(t, options{logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	alice := a.addUser("alice@example.com", "admin")
	a.setClaims("alice@example.com", bigClaims)
	creds := jsonBody(map[string]string{"email": "alice@example.com", "password": testPassword})

	// JSON mode: the token fits the budget.
	r := a.do(request{method: "POST", path: "/v1/login", body: creds})
	wantStatus(t, r, http.StatusOK)
	var tk tokens
	decode(t, r, &tk)
	if len(tk.AccessToken) <= 4096 || len(tk.AccessToken) > 8192 {
		t.Fatalf("access token of %d bytes, want the test's claims to make it 4-8 KiB", len(tk.AccessToken))
	}
	jsonSession := tk.SessionID

	wantRefused := func(t *testing.T, r response) {
		t.Helper()
		e := wantError(t, r, http.StatusInternalServerError, "token_too_large")
		if !strings.Contains(e.Description, "4096") {
			t.Errorf("%s: error_description %q, want it to name the 4096-byte limit", r.req, e.Description)
		}
		for _, c := range r.cookies() {
			if c.Value != "" || c.MaxAge >= 0 {
				t.Errorf("%s sets cookie %s = %d bytes, Max-Age %d; want token cookies cleared only", r.req, c.Name, len(c.Value), c.MaxAge)
			}
		}
		for _, h := range r.header.Values("Set-Cookie") {
			if len(h) > 4096 {
				t.Errorf("%s sends a Set-Cookie of %d bytes", r.req, len(h))
			}
		}
		errs := logs.records(t, "ERROR")
		if len(errs) == 0 {
			t.Fatalf("%s logged no ERROR; logs:\n%s", r.req, logs.String())
		}
		msg, _ := errs[len(errs)-1]["err"].(string)
		for _, want := range []string{"__Host-latch_at", "over the 4096 bytes", "notes:1010", "notes2:", alice.ID} {
			if !strings.Contains(msg, want) {
				t.Errorf("ERROR log err %q, want it to name %q", msg, want)
			}
		}
		if strings.Contains(logs.String(), "TOPSECRET") {
			t.Errorf("the log holds a claim's value:\n%s", logs.String())
		}
	}
	wantOnlySession := func(t *testing.T, want string) {
		t.Helper()
		live, err := a.sessions.List(t.Context(), alice.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(live) != 1 || live[0].ID != want {
			t.Errorf("live sessions = %+v, want %s alone", live, want)
		}
	}

	t.Run("login", func(t *testing.T) {
		r := a.do(request{method: "POST", path: "/v1/login?mode=cookie", body: creds})
		wantRefused(t, r)
		wantOnlySession(t, jsonSession) // the cookie login's session was ended
	})

	t.Run("refresh", func(t *testing.T) {
		a.setClaims("alice@example.com", map[string]json.RawMessage{"dept": json.RawMessage(`"sales"`)})
		r := a.do(request{method: "POST", path: "/v1/login?mode=cookie", body: creds})
		wantStatus(t, r, http.StatusOK)
		rt := r.cookies()[refreshCookie]
		var body tokens
		decode(t, r, &body)
		// The operator adds claims: the next refresh cannot be a cookie.
		a.setClaims("alice@example.com", bigClaims)
		r = a.do(request{method: "POST", path: "/v1/token/refresh?mode=cookie", cookies: []*http.Cookie{{Name: refreshCookie, Value: rt.Value}}})
		wantRefused(t, r)
		wantOnlySession(t, jsonSession)
		s, err := a.db.SessionByID(t.Context(), body.SessionID)
		if err != nil || s.RevokeReason != store.ReasonUndeliverable {
			t.Errorf("session after the refused refresh: %+v, %v; want revoked for %s", s, err, store.ReasonUndeliverable)
		}
	})

	scrape := a.metrics()
	for series, want := range map[string]float64{
		`latch_logins_total{outcome="token_too_large"}`:        1,
		`latch_refreshes_total{outcome="token_too_large"}`:     1,
		`latch_sessions_revoked_total{reason="undeliverable"}`: 2,
	} {
		if got := metric(t, scrape, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
}

// TestTokenSizeHistogram: /metrics has the sizes of the tokens issued, by
// kind, access tokens of /v1 and of the token endpoint, and ID tokens.
func TestTokenSizeHistogram(t *testing.T) {
	o := newOIDCAPI(t, options{})
	alice := o.addUser("alice@example.com")
	o.setClaims(alice.Email, map[string]json.RawMessage{"dept": json.RawMessage(`"sales"`)})
	app, secret := o.addApp("app", clientOpts{firstParty: true})

	tk := o.login("alice@example.com")
	b := o.newBrowser()
	ar := newAuthRequest(app).with("scope", "openid profile")
	tr := o.redeem(app, secret, wantCode(t, b.signIn(ar, "https://app.example.com"), ar), ar)

	// The custom claim is in the access token, the ID token (scope
	// profile) and UserInfo.
	payload := func(tok string) map[string]json.RawMessage {
		t.Helper()
		parts := strings.Split(tok, ".")
		data, err := base64.RawURLEncoding.DecodeString(parts[1])
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	o.idClaims(tr.IDToken, app.ID) // verifies it
	for what, tok := range map[string]string{"/v1 access token": tk.AccessToken, "code flow access token": tr.AccessToken, "ID token": tr.IDToken} {
		if got := string(payload(tok)["dept"]); got != `"sales"` {
			t.Errorf("%s has dept %s, want \"sales\"", what, got)
		}
	}
	r := o.do(request{method: "GET", path: "/oauth2/userinfo", bearer: tr.AccessToken})
	wantStatus(t, r, http.StatusOK)
	var info map[string]any
	decode(t, r, &info)
	if info["dept"] != "sales" || info["sub"] != alice.ID {
		t.Errorf("GET /oauth2/userinfo = %v, want sub and dept", info)
	}

	scrape := o.metrics()
	wantAccess := float64(len(tk.AccessToken) + len(tr.AccessToken))
	for series, want := range map[string]float64{
		`latch_token_size_bytes_count{kind="access"}`:             2,
		`latch_token_size_bytes_sum{kind="access"}`:               wantAccess,
		`latch_token_size_bytes_count{kind="id"}`:                 1,
		`latch_token_size_bytes_sum{kind="id"}`:                   float64(len(tr.IDToken)),
		`latch_token_size_bytes_bucket{kind="access",le="16384"}`: 2,
		`latch_token_size_bytes_bucket{kind="access",le="256"}`:   0,
	} {
		if got := metric(t, scrape, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
}
