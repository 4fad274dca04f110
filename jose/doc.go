// Package jose signs and verifies JSON Web Signatures (RFC 7515) in the
// compact serialization, and reads and writes JSON Web Keys (RFC 7517,
// RFC 7518 §6, RFC 8037) and their thumbprints (RFC 7638). It is the layer
// every latch token passes through, written with the standard library
// only.
//
// # Security contract
//
// The algorithm belongs to the key. A Key is built for exactly one
// Algorithm, by a constructor that validates the key material for it
// (HMAC secrets at least as long as the hash, RSA moduli of 2048 to 8192
// bits without the ROCA fingerprint of CVE-2017-15361, EC points on their
// curve, consistent private halves). A KeySet holds either HMAC secrets or
// public keys, never both. Verify selects a trusted key from a KeySet, by
// the header's "kid" when present, and refuses a header "alg" that differs
// from the key's: the RS256 to HS256 confusion and every variant of it
// fail with ErrAlgorithmMismatch.
// The unsecured "none" algorithm has no Algorithm value and is refused in
// any letter case.
//
// Parsing is strict, so that no two parsers can disagree about a token:
// base64url must be canonical (no padding, no line breaks, zero trailing
// bits), the header must be a JSON object without duplicate members and
// with valid UTF-8, "crit" and "b64": false are refused, signatures must
// have their exact length and ECDSA scalars must lie in [1, n-1], and
// tokens are limited in size (DefaultMaxTokenSize). The header members
// "jwk", "jku", "x5u" and "x5c" are never used: keys come only from the
// caller.
//
// Errors are values to test with errors.Is: ErrMalformed, ErrTooLarge,
// ErrUnsupportedAlgorithm, ErrAlgorithmMismatch, ErrUnknownKey,
// ErrSignature, ErrCritical and ErrInvalidKey. On error every other
// result is zero.
//
// # Speed
//
// Verification of an HMAC token allocates only the payload: the header
// and signature are decoded into stack buffers and HMAC states are pooled
// per key. For the other algorithms the cost is the standard library's
// signature check.
package jose
