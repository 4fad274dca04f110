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
//
// The `latch` command (cmd/latch) is the command-line tool and, later, the
// server.
package latch
