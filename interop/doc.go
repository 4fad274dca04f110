// Package interop checks latch against the Go JWT libraries people already
// use, and measures it against them.
//
// It is a separate module so that the peers (golang-jwt/jwt v5,
// lestrrat-go/jwx v3, go-jose v4, x/oauth2, go-oidc, chromedp) never
// appear in latch's own go.mod, which TestPeersOnlyInInterop in the root
// package's deps_test.go enforces. Everything here is tests and
// benchmarks:
//
//	cd interop && go test ./...          # interop in both directions
//	cd interop && ./bench.sh             # benchmarks, -count 5, summary table
//
// The tests show that every token latch signs verifies in each peer with
// the peer's strict settings (expected algorithm, issuer, audience) and
// yields the same claims; that every token a peer signs verifies in latch;
// that JWKs, JWK Sets, PEM keys and thumbprints agree in both directions;
// and that an unsecured ("alg": "none") or key-confused (RS256 key used as
// an HS256 secret) token from a peer is refused.
//
// End to end, the tests build cmd/latch, run "latch serve" on a fresh data
// directory and act as its relying parties with golang.org/x/oauth2 and
// coreos/go-oidc (default settings): the authorization code flow with PKCE
// through latch's login and consent pages in headless Chromium (chromedp),
// single sign-on across two clients, ID token and at_hash checks, refresh
// token rotation, and client_credentials tokens checked by latch's
// verifier. The browser test skips when Chromium is not installed; its
// screenshots go to $LATCH_SCREENSHOTS_DIR when set.
package interop
