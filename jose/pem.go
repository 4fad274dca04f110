package jose

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
)

// ParsePEM returns the key in the first key block of PEM data. It reads
// these block types:
//
//	PRIVATE KEY       PKCS #8 (RSA, ECDSA or Ed25519)
//	PUBLIC KEY        PKIX SubjectPublicKeyInfo (RSA, ECDSA or Ed25519)
//	RSA PRIVATE KEY   PKCS #1
//	RSA PUBLIC KEY    PKCS #1
//	EC PRIVATE KEY    SEC 1
//	CERTIFICATE       X.509; only its public key is used
//
// "EC PARAMETERS" blocks, as openssl writes before a SEC 1 key, are
// skipped. A certificate is not verified in any way (issuer, validity,
// usage): pass only certificates you already trust. Encrypted keys are
// refused (ErrInvalidKey); decrypt them first.
//
// alg is required for RSA keys (ErrInvalidKey without it), since one RSA
// key serves RS256 as well as PS512. ECDSA and Ed25519 keys imply their
// algorithm from the curve; when alg is given it must be that one
// (ErrInvalidKey). An alg that is not a supported algorithm is
// ErrUnsupportedAlgorithm. The key is checked as by the New…Key
// constructors. Data without a PEM block, an unknown block type or DER
// that does not parse is ErrMalformed. The key ID is the RFC 7638
// thumbprint.
func ParsePEM(data []byte, alg Algorithm) (*Key, error) {
	if alg != "" {
		if _, err := ParseAlgorithm(string(alg)); err != nil {
			return nil, err
		}
	}
	rest := data
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, fmt.Errorf("%w: no PEM key block", ErrMalformed)
		}
		if block.Type == "EC PARAMETERS" {
			continue
		}
		if strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") || block.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, fmt.Errorf("%w: encrypted PEM keys are not supported; decrypt the key first", ErrInvalidKey)
		}
		var (
			key any
			err error
		)
		switch block.Type {
		case "PRIVATE KEY":
			key, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PRIVATE KEY":
			key, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "EC PRIVATE KEY":
			key, err = x509.ParseECPrivateKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
				key = cert.PublicKey
			}
		default:
			return nil, fmt.Errorf("%w: unsupported PEM block type %q", ErrMalformed, truncate(block.Type, 32))
		}
		if err != nil {
			return nil, fmt.Errorf("%w: PEM %s: %v", ErrMalformed, block.Type, err)
		}
		return keyFromX509(key, alg)
	}
}

// keyFromX509 wraps a key returned by crypto/x509 with its algorithm.
func keyFromX509(key any, alg Algorithm) (*Key, error) {
	const needAlg = "%w: an RSA key needs an algorithm: pass RS256, RS384, RS512, PS256, PS384 or PS512"
	switch key := key.(type) {
	case *rsa.PrivateKey:
		if alg == "" {
			return nil, fmt.Errorf(needAlg, ErrInvalidKey)
		}
		if len(key.Primes) != 2 {
			return nil, fmt.Errorf("%w: multi-prime RSA key is not supported", ErrInvalidKey)
		}
		return NewRSAPrivateKey(alg, key)
	case *rsa.PublicKey:
		if alg == "" {
			return nil, fmt.Errorf(needAlg, ErrInvalidKey)
		}
		return NewRSAPublicKey(alg, key)
	case *ecdsa.PrivateKey:
		if err := checkImpliedAlg(alg, key.Curve.Params().Name); err != nil {
			return nil, err
		}
		return NewECDSAPrivateKey(key)
	case *ecdsa.PublicKey:
		if err := checkImpliedAlg(alg, key.Curve.Params().Name); err != nil {
			return nil, err
		}
		return NewECDSAPublicKey(key)
	case ed25519.PrivateKey:
		if err := checkImpliedAlg(alg, "Ed25519"); err != nil {
			return nil, err
		}
		return NewEd25519PrivateKey(key)
	case ed25519.PublicKey:
		if err := checkImpliedAlg(alg, "Ed25519"); err != nil {
			return nil, err
		}
		return NewEd25519PublicKey(key)
	}
	return nil, fmt.Errorf("%w: unsupported key type %T", ErrInvalidKey, key)
}

// checkImpliedAlg checks a caller's alg against the one a curve implies.
func checkImpliedAlg(alg Algorithm, curve string) error {
	implied := EdDSA
	if curve != "Ed25519" {
		var err error
		if implied, err = ecAlgorithm(curve); err != nil {
			return err
		}
	}
	if alg != "" && alg != implied {
		return fmt.Errorf("%w: alg %s does not fit a %s key (%s)", ErrInvalidKey, alg, curve, implied)
	}
	return nil
}

// MarshalPEM encodes k as PEM: a private key as PKCS #8 ("PRIVATE KEY"), a
// public key as PKIX ("PUBLIC KEY"). PEM carries neither the algorithm nor
// the key ID; pass the algorithm to ParsePEM again for RSA keys, and set a
// key ID that is not the thumbprint with WithKeyID. An HMAC secret has no
// PEM form: ErrInvalidKey.
func (k *Key) MarshalPEM() ([]byte, error) {
	var (
		typ string
		der []byte
		err error
	)
	switch {
	case k.secret != nil:
		return nil, fmt.Errorf("%w: an HMAC secret has no PEM form", ErrInvalidKey)
	case k.rsaPriv != nil:
		typ = "PRIVATE KEY"
		der, err = x509.MarshalPKCS8PrivateKey(k.rsaPriv)
	case k.ecPriv != nil:
		typ = "PRIVATE KEY"
		der, err = x509.MarshalPKCS8PrivateKey(k.ecPriv)
	case k.edPriv != nil:
		typ = "PRIVATE KEY"
		der, err = x509.MarshalPKCS8PrivateKey(k.edPriv)
	case k.rsaPub != nil:
		typ = "PUBLIC KEY"
		der, err = x509.MarshalPKIXPublicKey(k.rsaPub)
	case k.ecPub != nil:
		typ = "PUBLIC KEY"
		der, err = x509.MarshalPKIXPublicKey(k.ecPub)
	default:
		typ = "PUBLIC KEY"
		der, err = x509.MarshalPKIXPublicKey(k.edPub)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: encoding %s: %v", ErrInvalidKey, typ, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), nil
}
