package server

import "net/http"

// The security headers every response carries (securityHeaders).
const (
	// apiCSP allows a response nothing: no script, style, frame or fetch,
	// and no framing by any page. An API response is data, never a page;
	// should one be rendered (a browser opening a URL), nothing in it
	// runs. OWASP REST Security Cheat Sheet, ASVS V14.4.
	apiCSP = "default-src 'none'; frame-ancestors 'none'"
	// hsts is the Strict-Transport-Security of a response over TLS: a
	// year, this host only (a subdomain may be served by something else).
	hsts = "max-age=31536000"
)

// securityHeaders sets on every response, before the handler runs:
//
//   - X-Content-Type-Options: nosniff (ASVS V14.4.4), so that a browser
//     never reads a response as another type than the one it declares.
//   - Content-Security-Policy: default-src 'none'; frame-ancestors
//     'none', and X-Frame-Options: DENY for browsers without CSP level 2.
//   - Referrer-Policy: no-referrer: the server's URLs go nowhere else.
//   - Cross-Origin-Resource-Policy: same-origin: no other site's page may
//     load a response as a subresource (an image, a script: "no-cors"
//     requests). This does not touch services fetching the JWKS or the
//     discovery document (CORP is a browser rule, and server-side HTTP
//     clients do not apply it), nor browsers' CORS requests, which CORS
//     governs.
//   - Cache-Control: no-store, since responses carry tokens and user
//     data; handlers of public documents (the JWKS, the discovery
//     document) replace it with their own caching.
//   - Strict-Transport-Security, when the request came over TLS (the
//     server terminates TLS itself: --tls-cert). Behind a proxy that
//     terminates TLS, the proxy sets it.
//
// The handler runs after, so it may replace any of them: an HTML page
// sets its own Content-Security-Policy (its style sheet, form-action),
// the JWKS its Cache-Control.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", apiCSP)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		if r.TLS != nil {
			h.Set("Strict-Transport-Security", hsts)
		}
		next.ServeHTTP(w, r)
	})
}
