package web_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestStaticHandler(t *testing.T) {
	p := newPages(t)
	path := p.StylePath()
	if !regexp.MustCompile(`^/static/latch\.[0-9a-f]{16}\.css$`).MatchString(path) {
		t.Fatalf("StylePath() = %q, want /static/latch.<16 hex digits>.css", path)
	}
	h := p.StaticHandler()

	// The style sheet, and its path names its content.
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
	if w.Code != http.StatusOK {
		t.Fatalf("GET %s status = %d, want 200", path, w.Code)
	}
	css := w.Body.Bytes()
	sum := sha256.Sum256(css)
	if want := "/static/latch." + hex.EncodeToString(sum[:8]) + ".css"; path != want {
		t.Errorf("StylePath() = %q, want %q for the served content", path, want)
	}
	if !strings.Contains(string(css), ":focus-visible") {
		t.Errorf("style sheet has no :focus-visible rule")
	}
	for _, bad := range []string{"@import", "url(", "http:", "https:", "expression("} {
		if strings.Contains(string(css), bad) {
			t.Errorf("style sheet contains %q: it must load nothing", bad)
		}
	}
	headers := map[string]string{
		"Content-Type":  "text/css; charset=utf-8",
		"Cache-Control": "public, max-age=31536000, immutable",
		"ETag":          `"` + hex.EncodeToString(sum[:8]) + `"`,
	}
	for name, want := range headers {
		if got := w.Header().Get(name); got != want {
			t.Errorf("GET %s %s = %q, want %q", path, name, got, want)
		}
	}

	tests := []struct {
		name, method, path string
		header             map[string]string
		status             int
	}{
		{name: "head", method: http.MethodHead, path: path, status: http.StatusOK},
		{name: "revalidation", method: http.MethodGet, path: path, header: map[string]string{"If-None-Match": headers["ETag"]}, status: http.StatusNotModified},
		{name: "unhashed path", method: http.MethodGet, path: "/static/latch.css", status: http.StatusNotFound},
		{name: "other hash", method: http.MethodGet, path: "/static/latch.0123456789abcdef.css", status: http.StatusNotFound},
		{name: "directory", method: http.MethodGet, path: "/static/", status: http.StatusNotFound},
		{name: "suffix", method: http.MethodGet, path: path + "x", status: http.StatusNotFound},
		{name: "template", method: http.MethodGet, path: "/static/../templates/login.html", status: http.StatusNotFound},
		{name: "post", method: http.MethodPost, path: path, status: http.StatusMethodNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "/", nil)
			r.URL.Path = tc.path
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Errorf("%s %s status = %d, want %d", tc.method, tc.path, w.Code, tc.status)
			}
			if w.Code != http.StatusOK && strings.Contains(w.Body.String(), ":focus-visible") {
				t.Errorf("%s %s served the style sheet", tc.method, tc.path)
			}
			if tc.status == http.StatusMethodNotAllowed && w.Header().Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow = %q, want %q", w.Header().Get("Allow"), "GET, HEAD")
			}
			if tc.method == http.MethodHead && w.Body.Len() != 0 {
				t.Errorf("HEAD body has %d bytes, want none", w.Body.Len())
			}
		})
	}
}
