// Package jose signs and verifies JSON Web Signatures (RFC 7515) in the
// compact serialization, encrypts and decrypts compact JSON Web Encryption
// (RFC 7516), and reads and writes JSON Web Keys (RFC 7517, RFC 7518 §6,
// RFC 8037) and their thumbprints (RFC 7638). It is the layer every latch
// token passes through, written with the standard library only.
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
// # Encryption
//
// JWE follows the same contract with its own key type: an EncryptionKey is
// pinned to one key management algorithm (dir, A128KW, A256KW, ECDH-ES,
// ECDH-ES+A128KW, ECDH-ES+A256KW on P-256, P-384, P-521 or X25519, and
// RSA-OAEP-256), and Decrypt refuses a header "alg" that differs. RSA1_5,
// RSA-OAEP with SHA-1 and PBES2 are not offered, "zip" and "crit" are
// refused, an ephemeral public key must lie on the recipient's curve, and
// the CEK, IV and tag must have their exact lengths. Every failure of
// Decrypt matches ErrDecryption, and every failure that involves a key
// (unwrap, tag, padding) is that error alone, so that no caller can become
// a padding or tag oracle; CBC tags are compared in constant time before
// anything is decrypted. Use Encrypt with ContentType "JWT" around a
// signed token for a nested JWT, and Verify the plaintext after Decrypt.
//
// # Speed
//
// Verification of an HMAC token allocates only the payload: the header
// and signature are decoded into stack buffers and HMAC states are pooled
// per key. For the other algorithms the cost is the standard library's
// signature check.
package jose
