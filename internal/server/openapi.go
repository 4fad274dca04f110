package server

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"net/http"
	"strings"
)

// openAPI is the OpenAPI 3.1 description of the HTTP API, served at
// GET /openapi.json. openapi_test.go drives the server through the
// operations it documents and checks every answer against it, and its
// paths against the routes, so a change to a route, a status or a field
// fails the tests until the document says the same.
//
//go:embed openapi.json
var openAPI []byte

// openAPIETag is the document's entity tag: the first 8 bytes of its
// SHA-256, which change with it.
var openAPIETag = func() string {
	sum := sha256.Sum256(openAPI)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}()

// handleOpenAPI serves the OpenAPI document, public and cacheable for an
// hour like the discovery document, with an ETag: a request whose
// If-None-Match names it is answered 304 Not Modified (RFC 9110 §13.1.2).
func handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Cache-Control", "public, max-age=3600")
	h.Set("ETag", openAPIETag)
	if etagListed(r.Header.Get("If-None-Match"), openAPIETag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", "application/json")
	w.Write(openAPI)
}

// etagListed reports whether an If-None-Match value lists etag or is "*",
// comparing weakly as RFC 9110 §13.1.2 has If-None-Match compare.
func etagListed(header, etag string) bool {
	for t := range strings.SplitSeq(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == etag {
			return true
		}
	}
	return false
}
