package web_test

import (
	"crypto/tls"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/latch-auth/latch/internal/web"
)

var (
	csrfKey  = []byte("0123456789abcdef0123456789abcdef")
	otherKey = []byte("fedcba9876543210fedcba9876543210")
)

// issue gets a token for purpose from c in a browser without a binding
// cookie and returns it with the cookie the response set.
func issue(t *testing.T, c *web.CSRF, purpose string) (string, *http.Cookie) {
	t.Helper()
	w := httptest.NewRecorder()
	tok := c.Token(w, httptest.NewRequest(http.MethodGet, "/login", nil), purpose)
	cookies := w.Result().Cookies()
	if len(cookies) != 1 || cookies[0].Name != web.CSRFCookie {
		t.Fatalf("Token set cookies %v, want one %s", cookies, web.CSRFCookie)
	}
	return tok, cookies[0]
}

// post is a form post carrying cookies.
func post(cookies ...*http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/login", nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return r
}

func TestCSRFCheck(t *testing.T) {
	c := web.NewCSRF(csrfKey)
	tok, cookie := issue(t, c, web.PurposeLogin)
	otherTok, otherCookie := issue(t, c, web.PurposeLogin) // another browser
	otherKeyTok := web.NewCSRF(otherKey).Token(httptest.NewRecorder(), post(cookie), web.PurposeLogin)
	if tok == otherTok || cookie.Value == otherCookie.Value {
		t.Fatalf("two browsers got the same binding or token")
	}
	mac, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatalf("token %q is not base64url: %v", tok, err)
	}
	mac[0] ^= 1 // a well-formed token with one bit of its MAC flipped
	tampered := base64.RawURLEncoding.EncodeToString(mac)

	tests := []struct {
		name    string
		c       *web.CSRF
		r       *http.Request
		purpose string
		token   string
		wantErr bool
	}{
		{name: "right token", c: c, r: post(cookie), purpose: web.PurposeLogin, token: tok},
		{name: "another browser's right token", c: c, r: post(otherCookie), purpose: web.PurposeLogin, token: otherTok},
		{name: "a second cookie is ignored", c: c, r: post(cookie, otherCookie), purpose: web.PurposeLogin, token: tok},
		{name: "new key, same bytes", c: web.NewCSRF(append([]byte(nil), csrfKey...)), r: post(cookie), purpose: web.PurposeLogin, token: tok},
		{name: "wrong purpose", c: c, r: post(cookie), purpose: web.PurposeAccount, token: tok, wantErr: true},
		{name: "purpose with session appended", c: c, r: post(cookie), purpose: web.PurposeLogin + ":s1", token: tok, wantErr: true},
		{name: "other binding cookie", c: c, r: post(otherCookie), purpose: web.PurposeLogin, token: tok, wantErr: true},
		{name: "no cookie", c: c, r: post(), purpose: web.PurposeLogin, token: tok, wantErr: true},
		{name: "empty cookie", c: c, r: post(&http.Cookie{Name: web.CSRFCookie, Value: ""}), purpose: web.PurposeLogin, token: tok, wantErr: true},
		{name: "malformed cookie", c: c, r: post(&http.Cookie{Name: web.CSRFCookie, Value: "abc"}), purpose: web.PurposeLogin, token: tok, wantErr: true},
		{name: "cookie of another name", c: c, r: post(&http.Cookie{Name: "csrf", Value: cookie.Value}), purpose: web.PurposeLogin, token: tok, wantErr: true},
		{name: "tampered token", c: c, r: post(cookie), purpose: web.PurposeLogin, token: tampered, wantErr: true},
		{name: "truncated token", c: c, r: post(cookie), purpose: web.PurposeLogin, token: tok[:len(tok)-1], wantErr: true},
		{name: "padded token", c: c, r: post(cookie), purpose: web.PurposeLogin, token: tok + "=", wantErr: true},
		{name: "empty token", c: c, r: post(cookie), purpose: web.PurposeLogin, token: "", wantErr: true},
		{name: "binding value as token", c: c, r: post(cookie), purpose: web.PurposeLogin, token: cookie.Value, wantErr: true},
		{name: "token of another key", c: c, r: post(cookie), purpose: web.PurposeLogin, token: otherKeyTok, wantErr: true},
		{name: "key too short", c: web.NewCSRF(csrfKey[:web.MinCSRFKeySize-1]), r: post(cookie), purpose: web.PurposeLogin,
			token: web.NewCSRF(csrfKey[:web.MinCSRFKeySize-1]).Token(httptest.NewRecorder(), post(cookie), web.PurposeLogin), wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.c.Check(tc.r, tc.purpose, tc.token)
			switch {
			case tc.wantErr && !errors.Is(err, web.ErrCSRF):
				t.Errorf("Check(%q, %q) = %v, want ErrCSRF", tc.purpose, tc.token, err)
			case !tc.wantErr && err != nil:
				t.Errorf("Check(%q, %q) = %v, want nil", tc.purpose, tc.token, err)
			}
		})
	}
}

func TestCSRFCookie(t *testing.T) {
	tests := []struct {
		name       string
		secure     bool // CSRF.Secure
		tls        bool // the request came over TLS
		wantSecure bool
	}{
		{name: "plain http"},
		{name: "tls", tls: true, wantSecure: true},
		{name: "https public URL behind a proxy", secure: true, wantSecure: true},
		{name: "both", secure: true, tls: true, wantSecure: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := web.NewCSRF(csrfKey)
			c.Secure = tc.secure
			r := httptest.NewRequest(http.MethodGet, "/login", nil)
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			w := httptest.NewRecorder()
			c.Token(w, r, web.PurposeLogin)
			cookies := w.Result().Cookies()
			if len(cookies) != 1 {
				t.Fatalf("Token set %d cookies, want 1", len(cookies))
			}
			ck := cookies[0]
			if ck.Name != web.CSRFCookie || ck.Path != "/" || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Domain != "" {
				t.Errorf("cookie = %s, want %s with Path=/, HttpOnly, SameSite=Strict, no Domain", ck, web.CSRFCookie)
			}
			if ck.Secure != tc.wantSecure {
				t.Errorf("cookie Secure = %v, want %v", ck.Secure, tc.wantSecure)
			}
			if len(ck.Value) != 43 {
				t.Errorf("cookie value has %d characters, want 43 (32 bytes, base64url)", len(ck.Value))
			}
		})
	}
}

// TestCSRFTokenReusesBinding checks that a browser keeps its binding: a
// request with the cookie gets no new one, and several tokens made for
// one response share the cookie set for the first.
func TestCSRFTokenReusesBinding(t *testing.T) {
	c := web.NewCSRF(csrfKey)
	first, cookie := issue(t, c, web.PurposeLogin)

	w := httptest.NewRecorder()
	again := c.Token(w, post(cookie), web.PurposeLogin)
	if again != first {
		t.Errorf("Token with the cookie = %q, want the earlier %q", again, first)
	}
	if got := w.Header().Values("Set-Cookie"); len(got) != 0 {
		t.Errorf("Token with the cookie set %v, want nothing", got)
	}

	// One response, three forms, no cookie yet.
	w = httptest.NewRecorder()
	r := httptest.NewRequest(http.MethodGet, "/account", nil)
	purposes := []string{web.PurposeAccount, web.PurposeLogout, web.PurposeConsent}
	var tokens []string
	for _, p := range purposes {
		tokens = append(tokens, c.Token(w, r, p))
	}
	cookies := w.Result().Cookies()
	if len(cookies) != 1 {
		t.Fatalf("three Token calls set %d cookies, want 1", len(cookies))
	}
	seen := map[string]bool{}
	for i, p := range purposes {
		if err := c.Check(post(cookies[0]), p, tokens[i]); err != nil {
			t.Errorf("Check(%q) with the response's cookie = %v, want nil", p, err)
		}
		if seen[tokens[i]] {
			t.Errorf("purposes share token %q", tokens[i])
		}
		seen[tokens[i]] = true
	}
}

// TestNewCSRFCopiesKey checks that changing the caller's key slice
// afterwards changes nothing.
func TestNewCSRFCopiesKey(t *testing.T) {
	key := append([]byte(nil), csrfKey...)
	c := web.NewCSRF(key)
	tok, cookie := issue(t, c, web.PurposeLogin)
	key[0] ^= 0xff
	if err := c.Check(post(cookie), web.PurposeLogin, tok); err != nil {
		t.Errorf("Check after the caller changed its key slice = %v, want nil", err)
	}
}
