package server_test

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/login"
	"github.com/latch-auth/latch/internal/store"
)

func TestLoginThrottling(t *testing.T) {
	const limit = 3
	a := newAPI(t, options{login: login.Config{AccountLimit: limit, BaseLock: time.Minute}})
	a.addUser("alice@example.com")
	attempt := func(email, pw string) response {
		return a.do(request{method: "POST", path: "/v1/login", body: jsonBody(map[string]string{"email": email, "password": pw})})
	}

	// An existing account with a wrong password and an unknown address
	// are told apart neither by status nor by body, at every step.
	for i := 1; i <= limit+1; i++ {
		known := attempt("alice@example.com", "wrong password!")
		unknown := attempt("nobody@example.com", "wrong password!")
		if known.status != unknown.status || !bytes.Equal(known.body, unknown.body) {
			t.Errorf("attempt %d: wrong password = %v, unknown e-mail = %v, want identical answers", i, known, unknown)
		}
		if i < limit {
			wantError(t, known, http.StatusUnauthorized, "invalid_credentials")
			continue
		}
		// The limit-th failure locks the account; later attempts are
		// refused before the password is checked.
		wantError(t, known, http.StatusTooManyRequests, "too_many_requests")
		ra, err := strconv.Atoi(known.header.Get("Retry-After"))
		if err != nil || ra < 1 || ra > 60 {
			t.Errorf("attempt %d: Retry-After %q, want 1..60 seconds", i, known.header.Get("Retry-After"))
		}
	}
	// Locked even for the right password.
	r := attempt("alice@example.com", testPassword)
	wantError(t, r, http.StatusTooManyRequests, "too_many_requests")
	if r.header.Get("Retry-After") == "" {
		t.Errorf("POST /v1/login while locked = %v with no Retry-After, want one", r)
	}
	// The lock is per account: another user is not affected.
	a.addUser("bob@example.com")
	a.login("bob@example.com")

	scrape := a.metrics()
	for series, want := range map[string]float64{
		`latch_logins_total{outcome="invalid_credentials"}`: 2 * (limit - 1),
		`latch_logins_total{outcome="throttled"}`:           2*2 + 1,
		`latch_logins_total{outcome="success"}`:             1,
	} {
		if got := metric(t, scrape, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
}

func TestSignup(t *testing.T) {
	t.Run("off by default", func(t *testing.T) {
		a := newAPI(t, options{})
		r := a.do(request{method: "POST", path: "/v1/signup", body: `{"email":"new@example.com","password":"` + testPassword + `"}`})
		wantError(t, r, http.StatusNotFound, "not_found")
		if users, _ := a.db.ListUsers(t.Context()); len(users) != 0 {
			t.Errorf("users after refused signup = %v, want none", users)
		}
	})

	a := newAPI(t, options{signup: true})
	signup := func(email, pw string) response {
		return a.do(request{method: "POST", path: "/v1/signup", body: jsonBody(map[string]string{"email": email, "password": pw})})
	}
	r := signup(" New@Example.com", testPassword)
	wantStatus(t, r, http.StatusCreated)
	var tk tokens
	decode(t, r, &tk)
	if tk.AccessToken == "" || tk.RefreshToken == "" || tk.SessionID == "" {
		t.Fatalf("POST /v1/signup = %v, want tokens", r)
	}
	u, err := a.db.UserByEmail(t.Context(), "new@example.com")
	if err != nil {
		t.Fatalf("UserByEmail(new@example.com) after signup = %v", err)
	}
	if len(u.Roles) != 0 || u.Disabled {
		t.Errorf("signed-up user = %+v, want no roles, enabled", u)
	}
	wantStatus(t, a.me(tk.AccessToken), http.StatusOK)
	a.login("new@example.com")

	r = a.do(request{method: "GET", path: "/.well-known/openid-configuration"})
	// Account sign-up is not OAuth dynamic client registration (RFC
	// 7591): it has a name of its own, and registration_endpoint, which
	// relying parties would register themselves at, is absent.
	if !strings.Contains(string(r.body), `"signup_endpoint":"`+testIssuer+`/v1/signup"`) || strings.Contains(string(r.body), "registration_endpoint") {
		t.Errorf("discovery with signup on = %s, want signup_endpoint and no registration_endpoint", r.body)
	}

	tests := []struct {
		name, email, password string
		wantStatus            int
		wantCode              string
	}{
		{name: "weak password", email: "weak@example.com", password: "s3cr3t!", wantStatus: 400, wantCode: "weak_password"},
		{name: "blank password", email: "weak@example.com", password: "         ", wantStatus: 400, wantCode: "weak_password"},
		{name: "long password", email: "weak@example.com", password: strings.Repeat("x", 1025), wantStatus: 400, wantCode: "weak_password"},
		{name: "duplicate", email: "new@example.com", password: testPassword, wantStatus: 409, wantCode: "conflict"},
		{name: "duplicate other case", email: "NEW@example.com", password: testPassword, wantStatus: 409, wantCode: "conflict"},
		{name: "bad e-mail", email: "not-an-address", password: testPassword, wantStatus: 400, wantCode: "invalid_request"},
		{name: "two @", email: "a@b@example.com", password: testPassword, wantStatus: 400, wantCode: "invalid_request"},
		{name: "empty e-mail", email: "", password: testPassword, wantStatus: 400, wantCode: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := a.snapshot(u)
			r := signup(tt.email, tt.password)
			e := wantError(t, r, tt.wantStatus, tt.wantCode)
			if tt.password != "" && strings.Contains(e.Description, tt.password) {
				t.Errorf("POST /v1/signup = %v, echoes the password", r)
			}
			if after := a.snapshot(u); !after.equal(before) {
				t.Errorf("refused signup changed the store:\n got %+v\nwant %+v", after, before)
			}
		})
	}
}

func TestDisabledUser(t *testing.T) {
	a := newAPI(t, options{})
	alice := a.addUser("alice@example.com")
	tk := a.login("alice@example.com")
	if _, err := a.db.UpdateUser(t.Context(), alice.ID, func(u store.User) (store.User, error) {
		u.Disabled = true
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}

	r := a.do(request{method: "POST", path: "/v1/login", body: jsonBody(map[string]string{"email": "alice@example.com", "password": testPassword})})
	wantError(t, r, http.StatusForbidden, "account_disabled")
	// A wrong password says nothing about the account's state.
	r = a.do(request{method: "POST", path: "/v1/login", body: jsonBody(map[string]string{"email": "alice@example.com", "password": "wrong password!"})})
	wantError(t, r, http.StatusUnauthorized, "invalid_credentials")

	// The session started before is ended at its next refresh.
	wantError(t, a.refresh(tk.RefreshToken), http.StatusBadRequest, "invalid_grant")
	s, err := a.db.SessionByID(t.Context(), tk.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	if s.RevokedAt.IsZero() || s.RevokeReason != store.ReasonDisabled {
		t.Errorf("session of a disabled user after refresh: revoked %v, reason %q, want %q", s.RevokedAt, s.RevokeReason, store.ReasonDisabled)
	}
	wantInvalidToken(t, a.me(tk.AccessToken), tk.AccessToken)
	if got := metric(t, a.metrics(), `latch_logins_total{outcome="disabled"}`); got != 1 {
		t.Errorf(`latch_logins_total{outcome="disabled"} = %v, want 1`, got)
	}
}

func TestHealth(t *testing.T) {
	a := newAPI(t, options{})
	r := a.do(request{method: "GET", path: "/healthz"})
	wantStatus(t, r, http.StatusOK)
	if string(r.body) != `{"status":"ok"}`+"\n" {
		t.Errorf("GET /healthz = %v, want status ok", r)
	}
	wantStatus(t, a.do(request{method: "GET", path: "/readyz"}), http.StatusOK)

	if err := a.db.Close(); err != nil {
		t.Fatal(err)
	}
	wantError(t, a.do(request{method: "GET", path: "/readyz"}), http.StatusServiceUnavailable, "not_ready")
	// Liveness does not depend on the database.
	wantStatus(t, a.do(request{method: "GET", path: "/healthz"}), http.StatusOK)
	// Nor do the published keys; but what needs the store now fails
	// cleanly.
	wantStatus(t, a.do(request{method: "GET", path: "/.well-known/jwks.json"}), http.StatusOK)
	r = a.do(request{method: "POST", path: "/v1/login", body: `{"email":"alice@example.com","password":"x"}`})
	if r.status < 500 || !strings.Contains(r.header.Get("Content-Type"), "json") || strings.Contains(string(r.body), "sql") {
		t.Errorf("POST /v1/login with the store closed = %v, want a 5xx JSON error without internals", r)
	}
}

func TestMetrics(t *testing.T) {
	a := newAPI(t, options{})
	a.addUser("alice@example.com")
	tk := a.login("alice@example.com")
	wantStatus(t, a.refresh(tk.RefreshToken), http.StatusOK)
	wantError(t, a.refresh("garbage"), http.StatusBadRequest, "invalid_grant")
	wantError(t, a.do(request{method: "POST", path: "/v1/login", body: `{"email":"alice@example.com","password":"wrong password!"}`}), http.StatusUnauthorized, "invalid_credentials")
	wantError(t, a.do(request{method: "POST", path: "/v1/login", body: `{}`}), http.StatusBadRequest, "invalid_request")
	wantStatus(t, a.do(request{method: "DELETE", path: "/v1/sessions/" + tk.SessionID, bearer: tk.AccessToken}), http.StatusNoContent)
	wantError(t, a.do(request{method: "GET", path: "/nope/" + tk.SessionID}), http.StatusNotFound, "not_found")

	r := a.do(request{method: "GET", path: "/metrics"})
	wantStatus(t, r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("GET /metrics: Content-Type %q, want text/plain", ct)
	}
	scrape := string(r.body)
	for series, want := range map[string]float64{
		`latch_logins_total{outcome="success"}`:                                                  1,
		`latch_logins_total{outcome="invalid_credentials"}`:                                      1,
		`latch_logins_total{outcome="bad_request"}`:                                              1,
		`latch_refreshes_total{outcome="success"}`:                                               1,
		`latch_refreshes_total{outcome="invalid"}`:                                               1,
		`latch_access_tokens_issued_total`:                                                       2,
		`latch_sessions_revoked_total{reason="logout"}`:                                          1,
		`latch_http_request_duration_seconds_count{code="200",route="POST /v1/login"}`:           1,
		`latch_http_request_duration_seconds_count{code="401",route="POST /v1/login"}`:           1,
		`latch_http_request_duration_seconds_count{code="204",route="DELETE /v1/sessions/{id}"}`: 1,
		`latch_http_request_duration_seconds_count{code="404",route="unmatched"}`:                1,
	} {
		if got := metric(t, scrape, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	// Route labels are patterns: no session ID leaks into the label set.
	if strings.Contains(scrape, tk.SessionID) {
		t.Errorf("GET /metrics exposes a session ID")
	}
	for _, name := range []string{"latch_http_request_duration_seconds_bucket", "go_goroutines", "process_cpu_seconds_total"} {
		if !strings.Contains(scrape, name) {
			t.Errorf("GET /metrics has no %s", name)
		}
	}
}
