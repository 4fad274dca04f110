// Package latch is stateless JWT authentication for Go: an auth server that
// issues short-lived access tokens and rotating refresh tokens, and a
// verifier that any service imports to check them locally.
//
// This root package holds no code; the public API lives in its
// subpackages:
//
//   - jose: JWS compact signing and verification, JWK and JWK Sets, with
//     every key pinned to one algorithm.
//   - jwt: claims, signing and validation with mandatory issuer, audience
//     and expiry checks.
//   - revocation: revocation events, the feed's wire format, the in-memory
//     deny list and the feed client.
//   - verifier: what a resource service imports: the JWKS cache, token
//     verification, the revocation feed and net/http middleware.
//
// The latch command (cmd/latch) is the auth server (latch serve), the
// commands that administer its data, and a command-line tool for keys,
// JWS and JWT. The server's own packages are under internal/.
package latch
