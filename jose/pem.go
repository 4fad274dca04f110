package jose

import (
	"crypto/ecdh"
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
// refused (ErrInvalidKey); decrypt them first. An X25519 key is for
// encryption: read it with ParseEncryptionPEM.
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
	key, err := decodePEMKey(data)
	if err != nil {
		return nil, err
	}
	return keyFromX509(key, alg)
}

// ParseEncryptionPEM returns the JWE key in the first key block of PEM
// data. It reads the block types ParsePEM reads, with the same rules
// ("EC PARAMETERS" skipped, encrypted keys refused, a CERTIFICATE's public
// key used without any verification), and these keys: RSA for
// RSA-OAEP-256; EC on P-256, P-384 or P-521 and X25519 (PKCS #8 and PKIX
// only: openssl's genpkey -algorithm X25519) for ECDH-ES, ECDH-ES+A128KW
// or ECDH-ES+A256KW. An Ed25519 or other key is ErrInvalidKey: it cannot
// encrypt.
//
// alg, when given, is the algorithm the key is pinned to, and must fit
// it (ErrInvalidKey): RSA-OAEP-256 for an RSA key, an ECDH-ES algorithm
// for an EC or X25519 key. When alg is empty, an RSA key is for
// RSA-OAEP-256, the one RSA algorithm offered, and an EC or X25519 key is
// for ecdhDefault. PEM does not say which of the three ECDH-ES algorithms
// a key serves and both parties must agree on it, so this package picks
// none on its own: an EC or X25519 key with neither alg nor ecdhDefault is
// ErrInvalidKey. (The latch CLI passes ECDH-ES+A256KW.) ecdhDefault must
// be empty or an ECDH-ES algorithm, whatever the key. A name that is not
// a supported algorithm is ErrUnsupportedAlgorithm, dir and AES key wrap
// are ErrInvalidKey (PEM holds no shared secrets).
//
// The key is checked as by NewRSAOAEPPrivateKey and the other
// constructors. Data without a PEM block, an unknown block type or DER
// that does not parse is ErrMalformed. The key ID is the default of
// EncryptionKey.KeyID.
func ParseEncryptionPEM(data []byte, alg, ecdhDefault KeyManagement) (*EncryptionKey, error) {
	for _, a := range []KeyManagement{alg, ecdhDefault} {
		if a == "" {
			continue
		}
		if _, err := ParseKeyManagement(string(a)); err != nil {
			return nil, err
		}
	}
	if alg != "" && alg != RSAOAEP256 && !alg.isECDH() {
		return nil, fmt.Errorf("%w: %s is for a shared secret, which PEM does not hold", ErrInvalidKey, alg)
	}
	if ecdhDefault != "" && !ecdhDefault.isECDH() {
		return nil, fmt.Errorf("%w: ECDH default %s is not an ECDH-ES algorithm", ErrInvalidKey, ecdhDefault)
	}
	key, err := decodePEMKey(data)
	if err != nil {
		return nil, err
	}
	return encryptionKeyFromX509(key, alg, ecdhDefault)
}

// decodePEMKey returns the key in the first key block of PEM data, as
// crypto/x509 parses it, for ParsePEM and ParseEncryptionPEM: "EC
// PARAMETERS" blocks are skipped, encrypted and multi-prime RSA keys are
// ErrInvalidKey, no key block, an unknown block type and DER that does not
// parse are ErrMalformed.
func decodePEMKey(data []byte) (any, error) {
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
		if k, ok := key.(*rsa.PrivateKey); ok && len(k.Primes) != 2 {
			return nil, fmt.Errorf("%w: multi-prime RSA key is not supported", ErrInvalidKey)
		}
		return key, nil
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
	case *ecdh.PrivateKey, *ecdh.PublicKey:
		return nil, fmt.Errorf("%w: an X25519 key is for encryption (ParseEncryptionPEM), not signatures", ErrInvalidKey)
	}
	return nil, fmt.Errorf("%w: unsupported key type %T", ErrInvalidKey, key)
}

// encryptionKeyFromX509 wraps a key returned by crypto/x509 as a JWE key
// (see ParseEncryptionPEM); alg and ecdhDefault are valid or empty.
func encryptionKeyFromX509(key any, alg, ecdhDefault KeyManagement) (*EncryptionKey, error) {
	const cannot = "JWE takes RSA, EC (P-256, P-384, P-521) and X25519 keys"
	switch key := key.(type) {
	case *rsa.PrivateKey:
		if err := checkRSAEncryptionAlg(alg); err != nil {
			return nil, err
		}
		return NewRSAOAEPPrivateKey(key)
	case *rsa.PublicKey:
		if err := checkRSAEncryptionAlg(alg); err != nil {
			return nil, err
		}
		return NewRSAOAEPPublicKey(key)
	case *ecdsa.PrivateKey:
		priv, err := key.ECDH()
		if err != nil {
			return nil, fmt.Errorf("%w: EC key on %s: %v; %s", ErrInvalidKey, key.Curve.Params().Name, err, cannot)
		}
		return ecdhEncryptionKey(priv, priv.PublicKey(), alg, ecdhDefault)
	case *ecdsa.PublicKey:
		pub, err := key.ECDH()
		if err != nil {
			return nil, fmt.Errorf("%w: EC key on %s: %v; %s", ErrInvalidKey, key.Curve.Params().Name, err, cannot)
		}
		return ecdhEncryptionKey(nil, pub, alg, ecdhDefault)
	case *ecdh.PrivateKey:
		return ecdhEncryptionKey(key, key.PublicKey(), alg, ecdhDefault)
	case *ecdh.PublicKey:
		return ecdhEncryptionKey(nil, key, alg, ecdhDefault)
	case ed25519.PrivateKey, ed25519.PublicKey:
		return nil, fmt.Errorf("%w: an Ed25519 key signs and cannot encrypt: %s", ErrInvalidKey, cannot)
	}
	return nil, fmt.Errorf("%w: a %T cannot encrypt: %s", ErrInvalidKey, key, cannot)
}

// checkRSAEncryptionAlg checks a caller's alg for an RSA encryption key.
func checkRSAEncryptionAlg(alg KeyManagement) error {
	if alg != "" && alg != RSAOAEP256 {
		return fmt.Errorf("%w: alg %s does not fit an RSA key (%s)", ErrInvalidKey, alg, RSAOAEP256)
	}
	return nil
}

// ecdhEncryptionKey pins the ECDH key pub, with its private half priv or
// nil, to alg, or to ecdhDefault when alg is empty.
func ecdhEncryptionKey(priv *ecdh.PrivateKey, pub *ecdh.PublicKey, alg, ecdhDefault KeyManagement) (*EncryptionKey, error) {
	curve := curveName(pub.Curve())
	if curve == "" {
		return nil, fmt.Errorf("%w: unsupported ECDH curve", ErrInvalidKey)
	}
	if alg == "" {
		if ecdhDefault == "" {
			return nil, fmt.Errorf("%w: the %s key needs an algorithm: pass %s, %s or %s", ErrInvalidKey, curve, ECDHES, ECDHESA128KW, ECDHESA256KW)
		}
		alg = ecdhDefault
	}
	if !alg.isECDH() {
		return nil, fmt.Errorf("%w: alg %s does not fit the %s key (%s, %s or %s)", ErrInvalidKey, alg, curve, ECDHES, ECDHESA128KW, ECDHESA256KW)
	}
	if priv != nil {
		return NewECDHPrivateKey(alg, priv)
	}
	return NewECDHPublicKey(alg, pub)
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
