package server_test

// Hardening of login and sign-up input: over-long passwords, common
// passwords, e-mail addresses with control or format characters or in
// another width or case, and the sign-up rate limit.

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/login"
	"github.com/latch-auth/latch/internal/password"
	"github.com/latch-auth/latch/internal/store"
)

// throttle reads the throttle stored under key.
func (a *api) throttle(key string) store.Throttle {
	a.t.Helper()
	th, err := a.db.UpdateThrottle(a.t.Context(), key, func(t store.Throttle) (store.Throttle, error) { return t, nil })
	if err != nil {
		a.t.Fatal(err)
	}
	return th
}

// TestLoginTooLongPassword checks that a password longer than any account
// can have is answered like a wrong password (401 invalid_credentials,
// the same body for a known and an unknown address, so that nothing tells
// whether the account exists) and counts as a failed attempt against the
// account and the client address, up to a lock.
func TestLoginTooLongPassword(t *testing.T) {
	const limit = 3
	a := newAPI(t, options{login: login.Config{AccountLimit: limit, BaseLock: time.Minute}})
	a.addUser("alice@example.com")
	tooLong := strings.Repeat("x", 2000)
	attempt := func(email, pw string) response {
		return a.do(request{method: "POST", path: "/v1/login", body: jsonBody(map[string]string{"email": email, "password": pw})})
	}
	wrong := attempt("carol@example.com", "wrong password!")
	for i := 1; i < limit; i++ {
		known := attempt("alice@example.com", tooLong)
		unknown := attempt("bob@example.com", tooLong)
		wantError(t, known, http.StatusUnauthorized, "invalid_credentials")
		if !bytes.Equal(known.body, unknown.body) || !bytes.Equal(known.body, wrong.body) {
			t.Errorf("attempt %d: %d-byte password for a known address = %v, for an unknown one = %v, a wrong password = %v; want identical answers",
				i, len(tooLong), known, unknown, wrong)
		}
	}
	for _, key := range []string{"account:alice@example.com", "account:bob@example.com"} {
		if got := a.throttle(key).Failures; got != limit-1 {
			t.Errorf("throttle %s: %d failures after %d over-long passwords, want %d", key, got, limit-1, limit-1)
		}
	}
	if got, want := a.throttle("address:127.0.0.1").Failures, 2*(limit-1)+1; got != want {
		t.Errorf("throttle address:127.0.0.1: %d failures, want %d", got, want)
	}
	r := attempt("alice@example.com", tooLong)
	wantError(t, r, http.StatusTooManyRequests, "too_many_requests")
	if r.header.Get("Retry-After") == "" {
		t.Errorf("POST /v1/login locking the account = %v with no Retry-After, want one", r)
	}
	scrape := a.metrics()
	if got := metric(t, scrape, `latch_logins_total{outcome="error"}`); got != 0 {
		t.Errorf(`latch_logins_total{outcome="error"} = %v, want 0`, got)
	}
	if got := metric(t, scrape, `latch_http_request_duration_seconds_count{code="500",route="POST /v1/login"}`); got != 0 {
		t.Errorf("POST /v1/login answered 500 %v times, want never", got)
	}
}

// TestSignupPasswordPolicy checks that sign-up applies the whole policy:
// length, the common-password list and the account's own address.
func TestSignupPasswordPolicy(t *testing.T) {
	a := newAPI(t, options{signup: true})
	tests := []struct {
		name, email, password string
		wantDesc              string
	}{
		{name: "too long", email: "long@example.com", password: strings.Repeat("x", 2000), wantDesc: "too long"},
		{name: "one byte too long", email: "long@example.com", password: strings.Repeat("x", password.MaxBytes+1), wantDesc: "too long"},
		{name: "password1", email: "p1@example.com", password: "Password1", wantDesc: "too common"},
		{name: "digits", email: "p2@example.com", password: "12345678", wantDesc: "too common"},
		{name: "keyboard", email: "p3@example.com", password: "qwertyuiop", wantDesc: "too common"},
		{name: "iloveyou in capitals", email: "p4@example.com", password: "ILOVEYOU", wantDesc: "too common"},
		{name: "the address", email: "alice.liddell@example.com", password: "Alice.Liddell@example.com", wantDesc: "e-mail address"},
		{name: "the local part", email: "alice.liddell@example.com", password: "alice.liddell", wantDesc: "e-mail address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.do(request{method: "POST", path: "/v1/signup", body: jsonBody(map[string]string{"email": tt.email, "password": tt.password})})
			e := wantError(t, r, http.StatusBadRequest, "weak_password")
			if !strings.Contains(e.Description, tt.wantDesc) || strings.Contains(e.Description, tt.password) {
				t.Errorf("POST /v1/signup = %v, want a description saying %q without the password", r, tt.wantDesc)
			}
		})
	}
	if users, _ := a.db.ListUsers(t.Context()); len(users) != 0 {
		t.Errorf("users after refused sign-ups = %d, want none", len(users))
	}
}

// forbiddenInEmail are characters of the Unicode categories Cc and Cf,
// which an e-mail address must not hold: they rewrite terminals (ESC),
// hide text (zero-width characters) or reorder it (bidi controls).
var forbiddenInEmail = []struct {
	name string
	r    string
}{
	{"NUL", "\x00"}, {"BEL", "\a"}, {"BS", "\b"}, {"ESC", "\x1b"}, {"DEL", "\x7f"},
	{"CSI (C1)", "\u009b"}, {"soft hyphen", "\u00ad"},
	{"zero-width space", "\u200b"}, {"zero-width non-joiner", "\u200c"}, {"zero-width joiner", "\u200d"},
	{"left-to-right mark", "\u200e"}, {"right-to-left override", "\u202e"}, {"first strong isolate", "\u2068"},
	{"word joiner", "\u2060"}, {"byte order mark", "\ufeff"}, {"tag space", "\U000e0020"},
}

func TestSignupEmail(t *testing.T) {
	a := newAPI(t, options{signup: true})
	signup := func(email string) response {
		return a.do(request{method: "POST", path: "/v1/signup", body: jsonBody(map[string]string{"email": email, "password": testPassword})})
	}
	for _, c := range forbiddenInEmail {
		for _, email := range []string{"ali" + c.r + "ce@example.com", "alice@exam" + c.r + "ple.com", c.r + "alice@example.com"} {
			t.Run(c.name, func(t *testing.T) {
				r := signup(email)
				wantError(t, r, http.StatusBadRequest, "invalid_request")
			})
		}
	}
	if users, _ := a.db.ListUsers(t.Context()); len(users) != 0 {
		t.Fatalf("users after sign-ups with control characters = %q, want none", users[0].Email)
	}

	// One account, whatever the width or case of the address.
	wantStatus(t, signup("Alice@Example.com"), http.StatusCreated)
	if _, err := a.db.UserByEmail(t.Context(), "alice@example.com"); err != nil {
		t.Fatalf("UserByEmail(alice@example.com) after signing up as Alice@Example.com = %v", err)
	}
	for _, variant := range []string{"ＡＬＩＣＥ@ＥＸＡＭＰＬＥ.ＣＯＭ", "alice@example.com", "ALICE@EXAMPLE.COM", "ａｌｉｃｅ@example.com"} {
		wantError(t, signup(variant), http.StatusConflict, "conflict")
	}
	if users, _ := a.db.ListUsers(t.Context()); len(users) != 1 {
		t.Errorf("users after sign-ups with variants of one address = %d, want 1", len(users))
	}
	a.login("ＡＬＩＣＥ@ＥＸＡＭＰＬＥ.ＣＯＭ")

	// At login, such an address just fails, like an unknown one.
	for _, c := range forbiddenInEmail {
		r := a.do(request{method: "POST", path: "/v1/login", body: jsonBody(map[string]string{"email": "alice@example.com" + c.r, "password": testPassword})})
		wantError(t, r, http.StatusUnauthorized, "invalid_credentials")
	}
}

// TestSignupThrottle checks the per-address sign-up limit (OWASP ASVS
// 4.0.3 V11.1.4, anti-automation) at its default: ten sign-ups an hour
// from one address, whether they create an account or find it taken.
func TestSignupThrottle(t *testing.T) {
	a := newAPI(t, options{signup: true})
	signup := func(email string) response {
		return a.do(request{method: "POST", path: "/v1/signup", body: jsonBody(map[string]string{"email": email, "password": testPassword})})
	}
	wantStatus(t, signup("user0@example.com"), http.StatusCreated)
	wantError(t, signup("user0@example.com"), http.StatusConflict, "conflict")
	for i := 3; i <= 10; i++ {
		wantStatus(t, signup("user"+strconv.Itoa(i)+"@example.com"), http.StatusCreated)
	}
	r := signup("user11@example.com")
	wantError(t, r, http.StatusTooManyRequests, "too_many_requests")
	if ra, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || ra < 3000 || ra > 3600 {
		t.Errorf("POST /v1/signup over the limit: Retry-After %q, want about an hour", r.header.Get("Retry-After"))
	}
	if _, err := a.db.UserByEmail(t.Context(), "user11@example.com"); err == nil {
		t.Errorf("a throttled sign-up created its account")
	}
	// Logins from the same address are not affected.
	a.login("user3@example.com")
}
