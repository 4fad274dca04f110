package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"net/http"
	"time"
)

//go:embed static/latch.css
var styleFS embed.FS

// styleFile is the style sheet in styleFS.
const styleFile = "static/latch.css"

// stylePath is where the style sheet is served: /static/latch.<hash>.css,
// the hash being the first 8 bytes of its SHA-256 in hex. A changed style
// sheet gets a new path, so a cached one never goes stale.
func stylePath(style []byte) string {
	sum := sha256.Sum256(style)
	return "/static/latch." + hex.EncodeToString(sum[:8]) + ".css"
}

// StylePath returns the path of the style sheet, which every page links
// to, such as "/static/latch.0123456789abcdef.css".
func (p *Pages) StylePath() string {
	return p.stylePath
}

// StaticHandler serves the style sheet at StylePath, with caching for a
// year (immutable: its path changes with its content). It answers 404 for
// any other path and 405 for a method other than GET and HEAD. Mount it
// at "/static/" without stripping the prefix.
func (p *Pages) StaticHandler() http.Handler {
	etag := `"` + p.stylePath[len("/static/latch."):len(p.stylePath)-len(".css")] + `"`
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != p.stylePath {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/css; charset=utf-8")
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
		h.Set("ETag", etag)
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(p.style))
	})
}
