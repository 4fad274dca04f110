// Package interop checks latch against the Go JWT libraries people already
// use, and measures it against them.
//
// It is a separate module so that the peers (golang-jwt/jwt v5,
// lestrrat-go/jwx v3, go-jose v4) never appear in latch's own go.mod
// (STYLE.md rule 10). Everything here is tests and benchmarks:
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
package interop
