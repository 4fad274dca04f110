package jose

import (
	"crypto/ecdh"
	"fmt"
	"strings"
)

// KeyManagement is a JWE key management algorithm, the header's "alg"
// (RFC 7518 §4). Only the algorithms declared below exist: RSA1_5
// (Bleichenbacher's padding oracle), RSA-OAEP with SHA-1, AES-GCM key
// wrap and PBES2 are not offered.
type KeyManagement string

// The supported key management algorithms.
const (
	Direct       KeyManagement = "dir"            // a shared CEK (RFC 7518 §4.5)
	A128KW       KeyManagement = "A128KW"         // AES Key Wrap with a 128-bit key (RFC 7518 §4.4)
	A256KW       KeyManagement = "A256KW"         // AES Key Wrap with a 256-bit key
	ECDHES       KeyManagement = "ECDH-ES"        // ECDH-ES direct key agreement (RFC 7518 §4.6)
	ECDHESA128KW KeyManagement = "ECDH-ES+A128KW" // ECDH-ES, then A128KW
	ECDHESA256KW KeyManagement = "ECDH-ES+A256KW" // ECDH-ES, then A256KW
	RSAOAEP256   KeyManagement = "RSA-OAEP-256"   // RSAES-OAEP with SHA-256 and MGF1-SHA-256 (RFC 7518 §4.3)
)

// KeyManagements lists every supported key management algorithm.
func KeyManagements() []KeyManagement {
	return []KeyManagement{Direct, A128KW, A256KW, ECDHES, ECDHESA128KW, ECDHESA256KW, RSAOAEP256}
}

// kwSize is the AES key wrap key size, or zero when alg does not wrap.
func (a KeyManagement) kwSize() int {
	switch a {
	case A128KW, ECDHESA128KW:
		return 16
	case A256KW, ECDHESA256KW:
		return 32
	}
	return 0
}

func (a KeyManagement) isECDH() bool {
	return a == ECDHES || a == ECDHESA128KW || a == ECDHESA256KW
}

func (a KeyManagement) valid() bool {
	switch a {
	case Direct, A128KW, A256KW, ECDHES, ECDHESA128KW, ECDHESA256KW, RSAOAEP256:
		return true
	}
	return false
}

// ParseKeyManagement returns the KeyManagement named s. "none", RSA1_5,
// RSA-OAEP, PBES2-* and unknown names are ErrUnsupportedAlgorithm.
func ParseKeyManagement(s string) (KeyManagement, error) {
	a := KeyManagement(s)
	if !a.valid() {
		switch {
		case s == "RSA1_5":
			return "", fmt.Errorf("%w: RSA1_5 is not offered (Bleichenbacher padding oracle)", ErrUnsupportedAlgorithm)
		case strings.HasPrefix(s, "PBES2"):
			return "", fmt.Errorf("%w: %s: password-based encryption is not offered", ErrUnsupportedAlgorithm, truncate(s, 32))
		}
		return "", fmt.Errorf("%w: key management %q", ErrUnsupportedAlgorithm, truncate(s, 32))
	}
	return a, nil
}

// ContentEncryption is a JWE content encryption algorithm, the header's
// "enc" (RFC 7518 §5).
type ContentEncryption string

// The supported content encryption algorithms.
const (
	A128CBCHS256 ContentEncryption = "A128CBC-HS256" // AES-128-CBC with HMAC-SHA-256, 128-bit tag (RFC 7518 §5.2.3)
	A256CBCHS512 ContentEncryption = "A256CBC-HS512" // AES-256-CBC with HMAC-SHA-512, 256-bit tag (RFC 7518 §5.2.5)
	A128GCM      ContentEncryption = "A128GCM"       // AES-128-GCM (RFC 7518 §5.3)
	A256GCM      ContentEncryption = "A256GCM"       // AES-256-GCM
)

// DefaultContentEncryption is the "enc" Encrypt uses when none is given.
const DefaultContentEncryption = A256GCM

// ContentEncryptions lists every supported content encryption algorithm.
func ContentEncryptions() []ContentEncryption {
	return []ContentEncryption{A128CBCHS256, A256CBCHS512, A128GCM, A256GCM}
}

// keySize is the length of the CEK in bytes; zero for an unknown enc.
func (e ContentEncryption) keySize() int {
	switch e {
	case A128CBCHS256:
		return 32
	case A256CBCHS512:
		return 64
	case A128GCM:
		return 16
	case A256GCM:
		return 32
	}
	return 0
}

func (e ContentEncryption) isCBC() bool { return e == A128CBCHS256 || e == A256CBCHS512 }

// ivSize and tagSize are the exact IV and tag lengths the RFC mandates.
func (e ContentEncryption) ivSize() int {
	if e.isCBC() {
		return 16
	}
	return 12
}

func (e ContentEncryption) tagSize() int {
	if e == A256CBCHS512 {
		return 32
	}
	return 16
}

// ParseContentEncryption returns the ContentEncryption named s, or
// ErrUnsupportedAlgorithm.
func ParseContentEncryption(s string) (ContentEncryption, error) {
	e := ContentEncryption(s)
	if e.keySize() == 0 {
		return "", fmt.Errorf("%w: content encryption %q", ErrUnsupportedAlgorithm, truncate(s, 32))
	}
	return e, nil
}

// curveName is the JWK "crv" of an ECDH curve.
func curveName(c ecdh.Curve) string {
	switch c {
	case ecdh.P256():
		return "P-256"
	case ecdh.P384():
		return "P-384"
	case ecdh.P521():
		return "P-521"
	case ecdh.X25519():
		return "X25519"
	}
	return ""
}

func curveByName(name string) ecdh.Curve {
	switch name {
	case "P-256":
		return ecdh.P256()
	case "P-384":
		return ecdh.P384()
	case "P-521":
		return ecdh.P521()
	case "X25519":
		return ecdh.X25519()
	}
	return nil
}
