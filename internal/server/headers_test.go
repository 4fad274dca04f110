package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/feed"
)

// securityHeaders are the headers every response carries, whatever its
// route or status (headers.go).
var securityHeaders = map[string]string{
	"X-Content-Type-Options":       "nosniff",
	"Content-Security-Policy":      "default-src 'none'; frame-ancestors 'none'",
	"X-Frame-Options":              "DENY",
	"Referrer-Policy":              "no-referrer",
	"Cross-Origin-Resource-Policy": "same-origin",
}

// wantSecurityHeaders checks r's security headers and its Cache-Control.
func wantSecurityHeaders(t *testing.T, r response, cacheControl string) {
	t.Helper()
	for k, v := range securityHeaders {
		if got := r.header.Values(k); len(got) != 1 || got[0] != v {
			t.Errorf("%s (%d): %s %q, want %q", r.req, r.status, k, got, v)
		}
	}
	if got := r.header.Get("Cache-Control"); got != cacheControl {
		t.Errorf("%s (%d): Cache-Control %q, want %q", r.req, r.status, got, cacheControl)
	}
	if got := r.header.Get("Strict-Transport-Security"); got != "" {
		t.Errorf("%s (%d): Strict-Transport-Security %q over plain HTTP, want none", r.req, r.status, got)
	}
}

// TestSecurityHeaders checks the security headers on a sample of every
// kind of response: success and error, JSON and not, matched and not,
// public documents that keep their own caching.
func TestSecurityHeaders(t *testing.T) {
	a := newAPI(t, options{feed: &feed.Config{Poll: time.Hour}})
	a.addUser("alice@example.com")
	tk := a.login("alice@example.com")
	auth := basicAuth(a.addClient("feed reader", "revocations:read"))
	creds := jsonBody(map[string]string{"email": "alice@example.com", "password": testPassword})

	tests := []struct {
		name         string
		req          request
		status       int
		cacheControl string
	}{
		{name: "login", req: request{method: "POST", path: "/v1/login", body: creds}, status: 200, cacheControl: "no-store"},
		{name: "login refused", req: request{method: "POST", path: "/v1/login", body: "{}"}, status: 400, cacheControl: "no-store"},
		{name: "me", req: request{method: "GET", path: "/v1/me", bearer: tk.AccessToken}, status: 200, cacheControl: "no-store"},
		{name: "me without token", req: request{method: "GET", path: "/v1/me"}, status: 401, cacheControl: "no-store"},
		{name: "end session", req: request{method: "DELETE", path: "/v1/sessions/" + tk.SessionID, bearer: a.login("alice@example.com").AccessToken}, status: 204, cacheControl: "no-store"},
		{name: "feed page", req: request{method: "GET", path: "/v1/revocations", header: auth}, status: 200, cacheControl: "no-store"},
		{name: "feed without client", req: request{method: "GET", path: "/v1/revocations"}, status: 401, cacheControl: "no-store"},
		{name: "JWKS", req: request{method: "GET", path: "/.well-known/jwks.json"}, status: 200, cacheControl: "public, max-age=900"},
		{name: "discovery", req: request{method: "GET", path: "/.well-known/openid-configuration"}, status: 200, cacheControl: "public, max-age=3600"},
		{name: "health", req: request{method: "GET", path: "/healthz"}, status: 200, cacheControl: "no-store"},
		{name: "readiness", req: request{method: "GET", path: "/readyz"}, status: 200, cacheControl: "no-store"},
		{name: "metrics", req: request{method: "GET", path: "/metrics"}, status: 200, cacheControl: "no-store"},
		{name: "not found", req: request{method: "GET", path: "/nope"}, status: 404, cacheControl: "no-store"},
		{name: "method not allowed", req: request{method: "PUT", path: "/healthz"}, status: 405, cacheControl: "no-store"},
		{name: "cross-origin refused", req: request{method: "POST", path: "/v1/login", body: creds, header: http.Header{"Sec-Fetch-Site": {"cross-site"}}}, status: 403, cacheControl: "no-store"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := a.do(tt.req)
			wantStatus(t, r, tt.status)
			wantSecurityHeaders(t, r, tt.cacheControl)
		})
	}
}
