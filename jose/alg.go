package jose

import (
	"crypto"
	"crypto/elliptic"
	"fmt"
	"strings"
)

// Algorithm is a JWS signature algorithm (RFC 7518 §3, RFC 8037 §3.1).
// Only the algorithms declared below exist; "none" cannot be expressed.
type Algorithm string

// The supported algorithms.
const (
	HS256 Algorithm = "HS256" // HMAC with SHA-256
	HS384 Algorithm = "HS384" // HMAC with SHA-384
	HS512 Algorithm = "HS512" // HMAC with SHA-512
	RS256 Algorithm = "RS256" // RSASSA-PKCS1-v1_5 with SHA-256
	RS384 Algorithm = "RS384" // RSASSA-PKCS1-v1_5 with SHA-384
	RS512 Algorithm = "RS512" // RSASSA-PKCS1-v1_5 with SHA-512
	PS256 Algorithm = "PS256" // RSASSA-PSS with SHA-256, salt length 32
	PS384 Algorithm = "PS384" // RSASSA-PSS with SHA-384, salt length 48
	PS512 Algorithm = "PS512" // RSASSA-PSS with SHA-512, salt length 64
	ES256 Algorithm = "ES256" // ECDSA with P-256 and SHA-256
	ES384 Algorithm = "ES384" // ECDSA with P-384 and SHA-384
	ES512 Algorithm = "ES512" // ECDSA with P-521 and SHA-512
	EdDSA Algorithm = "EdDSA" // Ed25519 (RFC 8037)
)

// Algorithms lists every supported algorithm.
func Algorithms() []Algorithm {
	return []Algorithm{HS256, HS384, HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, ES512, EdDSA}
}

// family groups algorithms by key type.
type family uint8

const (
	famNone family = iota
	famHMAC
	famRSA
	famPSS
	famECDSA
	famEdDSA
)

func (a Algorithm) family() family {
	switch a {
	case HS256, HS384, HS512:
		return famHMAC
	case RS256, RS384, RS512:
		return famRSA
	case PS256, PS384, PS512:
		return famPSS
	case ES256, ES384, ES512:
		return famECDSA
	case EdDSA:
		return famEdDSA
	}
	return famNone
}

// hash is the digest the algorithm signs; zero for EdDSA.
func (a Algorithm) hash() crypto.Hash {
	switch a {
	case HS256, RS256, PS256, ES256:
		return crypto.SHA256
	case HS384, RS384, PS384, ES384:
		return crypto.SHA384
	case HS512, RS512, PS512, ES512:
		return crypto.SHA512
	}
	return 0
}

// curve is the curve an ECDSA algorithm is defined on.
func (a Algorithm) curve() elliptic.Curve {
	switch a {
	case ES256:
		return elliptic.P256()
	case ES384:
		return elliptic.P384()
	case ES512:
		return elliptic.P521()
	}
	return nil
}

// ParseAlgorithm returns the Algorithm named s (case-sensitive, as the
// registry spells it). "none" in any case and unknown names are refused
// with ErrUnsupportedAlgorithm.
func ParseAlgorithm(s string) (Algorithm, error) {
	a := Algorithm(s)
	if a.family() == famNone {
		if strings.EqualFold(s, "none") {
			return "", fmt.Errorf("%w: unsecured JWS (alg %q) is never accepted", ErrUnsupportedAlgorithm, s)
		}
		return "", fmt.Errorf("%w: %q", ErrUnsupportedAlgorithm, truncate(s, 32))
	}
	return a, nil
}

// algFromBytes maps header bytes to a supported Algorithm without
// allocating.
func algFromBytes(b []byte) (Algorithm, error) {
	switch string(b) {
	case "HS256":
		return HS256, nil
	case "HS384":
		return HS384, nil
	case "HS512":
		return HS512, nil
	case "RS256":
		return RS256, nil
	case "RS384":
		return RS384, nil
	case "RS512":
		return RS512, nil
	case "PS256":
		return PS256, nil
	case "PS384":
		return PS384, nil
	case "PS512":
		return PS512, nil
	case "ES256":
		return ES256, nil
	case "ES384":
		return ES384, nil
	case "ES512":
		return ES512, nil
	case "EdDSA":
		return EdDSA, nil
	}
	return ParseAlgorithm(string(b))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}
