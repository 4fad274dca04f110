package server

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestSecurityHeadersEdgeCases checks the security headers where the
// public routes cannot reach: a panic turned into a 500, a response over
// TLS, and a handler that sets its own Content-Security-Policy, as the
// HTML pages will.
func TestSecurityHeadersEdgeCases(t *testing.T) {
	s := &Server{d: Deps{Metrics: NewMetrics()}, log: slog.New(slog.DiscardHandler), mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	const pageCSP = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'"
	s.mux.HandleFunc("GET /page", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", pageCSP)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte("<!doctype html><title>page</title>"))
	})
	h := s.Handler()

	tests := []struct {
		name     string
		path     string
		tls      bool
		status   int
		wantCSP  string
		wantHSTS string
	}{
		{name: "panic", path: "/panic", status: 500, wantCSP: apiCSP},
		{name: "panic over TLS", path: "/panic", tls: true, status: 500, wantCSP: apiCSP, wantHSTS: "max-age=31536000"},
		{name: "not found over TLS", path: "/nope", tls: true, status: 404, wantCSP: apiCSP, wantHSTS: "max-age=31536000"},
		{name: "page with its own policy", path: "/page", status: 200, wantCSP: pageCSP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", tt.path, nil)
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.status {
				t.Fatalf("GET %s = %d %s, want %d", tt.path, w.Code, w.Body, tt.status)
			}
			want := map[string]string{
				"X-Content-Type-Options":       "nosniff",
				"Content-Security-Policy":      tt.wantCSP,
				"X-Frame-Options":              "DENY",
				"Referrer-Policy":              "no-referrer",
				"Cross-Origin-Resource-Policy": "same-origin",
				"Cache-Control":                "no-store",
				"Strict-Transport-Security":    tt.wantHSTS,
			}
			for k, v := range want {
				if got := w.Header().Get(k); got != v || len(w.Header().Values(k)) > 1 {
					t.Errorf("GET %s: %s %q, want %q", tt.path, k, w.Header().Values(k), v)
				}
			}
		})
	}
}
