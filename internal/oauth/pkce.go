package oauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// PKCE code verifier bounds (RFC 7636 §4.1).
const (
	MinVerifierLength = 43
	MaxVerifierLength = 128
)

// challengeLength is the length of an S256 code challenge: the unpadded
// base64url of a SHA-256 hash.
var challengeLength = base64.RawURLEncoding.EncodedLen(sha256.Size)

// validVerifier reports whether v is a PKCE code verifier: 43 to 128
// characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~" (RFC 7636
// §4.1).
func validVerifier(v string) bool {
	if len(v) < MinVerifierLength || len(v) > MaxVerifierLength {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !unreserved(v[i]) {
			return false
		}
	}
	return true
}

// validChallenge reports whether c can be an S256 code challenge.
func validChallenge(c string) bool {
	if len(c) != challengeLength {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(c)
	return err == nil
}

func unreserved(b byte) bool {
	return 'A' <= b && b <= 'Z' || 'a' <= b && b <= 'z' || '0' <= b && b <= '9' ||
		b == '-' || b == '.' || b == '_' || b == '~'
}

// S256Challenge returns the S256 code challenge of a verifier (RFC 7636
// §4.2): BASE64URL(SHA256(ASCII(verifier))).
func S256Challenge(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// verifierMatches reports, in constant time, whether verifier is a
// well-formed verifier whose S256 challenge is challenge.
func verifierMatches(verifier, challenge string) bool {
	if !validVerifier(verifier) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(S256Challenge(verifier)), []byte(challenge)) == 1
}
