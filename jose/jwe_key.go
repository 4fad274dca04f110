package jose

import (
	"crypto/ecdh"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"io"

	"github.com/latch-auth/latch/internal/strictjson"
)

// EncryptionKey is a JWE key pinned to exactly one key management
// algorithm (and, for "dir", to one content encryption algorithm).
//
// Encryption keys are a type apart from the JWS Key: a key is used for
// signatures or for encryption, never both (RFC 7517 §4.2). A public or
// secret EncryptionKey can encrypt; a private or secret one can decrypt.
// Keys are immutable and safe for concurrent use; formatting one prints
// its algorithm and key ID, never key material.
type EncryptionKey struct {
	alg KeyManagement
	enc ContentEncryption // pinned for dir; empty otherwise
	kid string

	secret []byte // dir: the CEK; A*KW: the KEK

	rsaPriv *rsa.PrivateKey
	rsaPub  *rsa.PublicKey

	ecdhPriv *ecdh.PrivateKey
	ecdhPub  *ecdh.PublicKey
}

// NewDirectKey returns a "dir" key: cek is the content encryption key
// itself, shared by both parties, and must have exactly enc's key length
// (32 bytes for A128CBC-HS256, 64 for A256CBC-HS512, 16 for A128GCM, 32
// for A256GCM). It is copied.
func NewDirectKey(enc ContentEncryption, cek []byte) (*EncryptionKey, error) {
	n := enc.keySize()
	if n == 0 {
		return nil, fmt.Errorf("%w: content encryption %q", ErrInvalidKey, truncate(string(enc), 32))
	}
	if len(cek) != n {
		return nil, fmt.Errorf("%w: dir key for %s is %d bytes, need %d", ErrInvalidKey, enc, len(cek), n)
	}
	return (&EncryptionKey{alg: Direct, enc: enc, secret: append([]byte(nil), cek...)}).withDefaultID(), nil
}

// NewKeyWrapKey returns an A128KW (16-byte kek) or A256KW (32-byte kek)
// key. kek is copied.
func NewKeyWrapKey(alg KeyManagement, kek []byte) (*EncryptionKey, error) {
	if alg != A128KW && alg != A256KW {
		return nil, fmt.Errorf("%w: %s is not an AES key wrap algorithm", ErrInvalidKey, alg)
	}
	if len(kek) != alg.kwSize() {
		return nil, fmt.Errorf("%w: %s key is %d bytes, need %d", ErrInvalidKey, alg, len(kek), alg.kwSize())
	}
	return (&EncryptionKey{alg: alg, secret: append([]byte(nil), kek...)}).withDefaultID(), nil
}

// NewECDHPrivateKey returns a decryption key for ECDH-ES, ECDH-ES+A128KW or
// ECDH-ES+A256KW on P-256, P-384, P-521 or X25519.
func NewECDHPrivateKey(alg KeyManagement, priv *ecdh.PrivateKey) (*EncryptionKey, error) {
	if priv == nil {
		return nil, fmt.Errorf("%w: nil ECDH key", ErrInvalidKey)
	}
	if err := checkECDH(alg, priv.Curve()); err != nil {
		return nil, err
	}
	return (&EncryptionKey{alg: alg, ecdhPriv: priv, ecdhPub: priv.PublicKey()}).withDefaultID(), nil
}

// NewECDHPublicKey returns an encryption key for ECDH-ES, ECDH-ES+A128KW or
// ECDH-ES+A256KW on P-256, P-384, P-521 or X25519.
func NewECDHPublicKey(alg KeyManagement, pub *ecdh.PublicKey) (*EncryptionKey, error) {
	if pub == nil {
		return nil, fmt.Errorf("%w: nil ECDH key", ErrInvalidKey)
	}
	if err := checkECDH(alg, pub.Curve()); err != nil {
		return nil, err
	}
	return (&EncryptionKey{alg: alg, ecdhPub: pub}).withDefaultID(), nil
}

func checkECDH(alg KeyManagement, c ecdh.Curve) error {
	if !alg.isECDH() {
		return fmt.Errorf("%w: %s is not an ECDH-ES algorithm", ErrInvalidKey, alg)
	}
	if curveName(c) == "" {
		return fmt.Errorf("%w: unsupported ECDH curve", ErrInvalidKey)
	}
	return nil
}

// NewRSAOAEPPrivateKey returns an RSA-OAEP-256 decryption key, checked as
// NewRSAPrivateKey checks signing keys (size, exponent, ROCA).
func NewRSAOAEPPrivateKey(priv *rsa.PrivateKey) (*EncryptionKey, error) {
	k, err := NewRSAPrivateKey(PS256, priv)
	if err != nil {
		return nil, err
	}
	return (&EncryptionKey{alg: RSAOAEP256, rsaPriv: k.rsaPriv, rsaPub: k.rsaPub}).withDefaultID(), nil
}

// NewRSAOAEPPublicKey returns an RSA-OAEP-256 encryption key, checked as
// NewRSAPublicKey checks verification keys.
func NewRSAOAEPPublicKey(pub *rsa.PublicKey) (*EncryptionKey, error) {
	k, err := NewRSAPublicKey(PS256, pub)
	if err != nil {
		return nil, err
	}
	return (&EncryptionKey{alg: RSAOAEP256, rsaPub: k.rsaPub}).withDefaultID(), nil
}

// GenerateEncryptionKey creates a new key from crypto/rand: a 2048-bit RSA
// key for RSA-OAEP-256, an X25519 key for the ECDH-ES algorithms, a key
// wrap key for A128KW and A256KW. For "dir", enc says the CEK length; it
// is ignored otherwise.
func GenerateEncryptionKey(alg KeyManagement, enc ContentEncryption) (*EncryptionKey, error) {
	switch {
	case alg == Direct:
		if enc.keySize() == 0 {
			return nil, fmt.Errorf("%w: dir needs a content encryption algorithm", ErrInvalidKey)
		}
		return NewDirectKey(enc, randBytes(enc.keySize()))
	case alg.kwSize() > 0 && !alg.isECDH():
		return NewKeyWrapKey(alg, randBytes(alg.kwSize()))
	case alg.isECDH():
		priv, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("jose: generating X25519 key: %w", err)
		}
		return NewECDHPrivateKey(alg, priv)
	case alg == RSAOAEP256:
		priv, err := rsa.GenerateKey(rand.Reader, MinRSABits)
		if err != nil {
			return nil, fmt.Errorf("jose: generating RSA key: %w", err)
		}
		return NewRSAOAEPPrivateKey(priv)
	}
	_, err := ParseKeyManagement(string(alg))
	return nil, err
}

func randBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// Algorithm returns the key management algorithm the key is pinned to.
func (k *EncryptionKey) Algorithm() KeyManagement { return k.alg }

// ContentEncryption returns the content encryption a "dir" key is pinned
// to, and "" for other keys, which accept every supported "enc".
func (k *EncryptionKey) ContentEncryption() ContentEncryption { return k.enc }

// KeyID returns the key ID ("kid"); unless set otherwise, a SHA-256 hash of
// the public key or secret, base64url-encoded.
func (k *EncryptionKey) KeyID() string { return k.kid }

// WithKeyID returns a copy of k with key ID kid. An empty kid restores the
// default.
func (k *EncryptionKey) WithKeyID(kid string) *EncryptionKey {
	c := *k
	c.kid = kid
	if kid == "" {
		return c.withDefaultID()
	}
	return &c
}

// CanDecrypt reports whether k holds a private key or secret.
func (k *EncryptionKey) CanDecrypt() bool {
	return k.secret != nil || k.rsaPriv != nil || k.ecdhPriv != nil
}

// IsSymmetric reports whether k is a shared secret (dir or AES key wrap).
func (k *EncryptionKey) IsSymmetric() bool { return k.secret != nil }

// Public returns the public half of k with the same algorithm and key ID.
// Secret keys have no public half: ErrInvalidKey.
func (k *EncryptionKey) Public() (*EncryptionKey, error) {
	if k.secret != nil {
		return nil, fmt.Errorf("%w: a secret key has no public half", ErrInvalidKey)
	}
	c := *k
	c.rsaPriv, c.ecdhPriv = nil, nil
	return &c, nil
}

func (k *EncryptionKey) withDefaultID() *EncryptionKey {
	h := sha256.New()
	switch {
	case k.secret != nil:
		fmt.Fprintf(h, "oct:%s:", k.alg)
		h.Write(k.secret)
	case k.rsaPub != nil:
		fmt.Fprintf(h, "RSA:%d:", k.rsaPub.E)
		h.Write(k.rsaPub.N.Bytes())
	default:
		fmt.Fprintf(h, "%s:", curveName(k.ecdhPub.Curve()))
		h.Write(k.ecdhPub.Bytes())
	}
	k.kid = b64.EncodeToString(h.Sum(nil))
	return k
}

// String describes the key without its material.
func (k EncryptionKey) String() string {
	kind := "public"
	switch {
	case k.secret != nil:
		kind = "secret"
	case k.CanDecrypt():
		kind = "private"
	}
	return fmt.Sprintf("jose.EncryptionKey{%s %s kid=%q}", k.alg, kind, k.kid)
}

// GoString is String.
func (k EncryptionKey) GoString() string { return k.String() }

// Format prints String for every verb.
func (k EncryptionKey) Format(f fmt.State, verb rune) { io.WriteString(f, k.String()) }

// ParseEncryptionJWK parses a JWK for JWE (RFC 7517) as strictly as
// ParseJWK parses signature keys. The algorithm comes from the JWK's "alg"
// or, when it has none, from alg; a JWK "alg" that differs from a
// non-empty alg is ErrInvalidKey. "use", when present, must be "enc".
// For "dir", the JWK "alg" is the content encryption (RFC 7520 §5.6 writes
// {"alg":"A128GCM"}), or pass Direct and a JWK whose "k" length says the
// content encryption with enc.
//
// Accepted: "oct" for dir, A128KW, A256KW; "EC" (P-256, P-384, P-521) and
// "OKP" (X25519) for the ECDH-ES algorithms; "RSA" for RSA-OAEP-256.
func ParseEncryptionJWK(data []byte, alg KeyManagement, enc ContentEncryption) (*EncryptionKey, error) {
	o := strictjson.NewObject(data)
	m, err := readJWK(data, &o, "jwk")
	if err != nil {
		return nil, err
	}
	kty, ok, err := jwkString(data, m.kty, "kty")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf(`%w: jwk has no "kty"`, ErrInvalidKey)
	}
	use, hasUse, err := jwkString(data, m.use, "use")
	if err != nil {
		return nil, err
	}
	if hasUse && use != "enc" {
		return nil, unusable(`jwk use %q, not "enc"`, truncate(use, 32))
	}
	kid, _, err := jwkString(data, m.kid, "kid")
	if err != nil {
		return nil, err
	}
	algName, hasAlg, err := jwkString(data, m.alg, "alg")
	if err != nil {
		return nil, err
	}
	if hasAlg {
		jwkAlg, jwkEnc := KeyManagement(algName), enc
		if kty == "oct" && ContentEncryption(algName).keySize() != 0 {
			jwkAlg, jwkEnc = Direct, ContentEncryption(algName)
		} else if _, err := ParseKeyManagement(algName); err != nil {
			return nil, unusable("jwk alg %q is not a JWE algorithm latch supports", truncate(algName, 32))
		}
		if alg != "" && alg != jwkAlg {
			return nil, fmt.Errorf("%w: jwk alg is %s, caller asked for %s", ErrInvalidKey, truncate(algName, 32), alg)
		}
		if enc != "" && enc != jwkEnc {
			return nil, fmt.Errorf("%w: jwk alg is %s, caller asked for %s", ErrInvalidKey, truncate(algName, 32), enc)
		}
		alg, enc = jwkAlg, jwkEnc
	}
	if alg == "" {
		return nil, unusable("jwk has no alg: pass the key management algorithm to ParseEncryptionJWK")
	}
	var k *EncryptionKey
	switch kty {
	case "oct":
		secret, err := jwkBytes(data, m.k, "oct", "k")
		if err != nil {
			return nil, err
		}
		defer clear(secret)
		if alg == Direct {
			k, err = NewDirectKey(enc, secret)
		} else {
			k, err = NewKeyWrapKey(alg, secret)
		}
		if err != nil {
			return nil, err
		}
	case "RSA":
		if alg != RSAOAEP256 {
			return nil, fmt.Errorf("%w: alg %s does not fit kty RSA", ErrInvalidKey, alg)
		}
		sk, err := m.rsaKey(data, PS256)
		if err != nil {
			return nil, err
		}
		k = &EncryptionKey{alg: RSAOAEP256, rsaPriv: sk.rsaPriv, rsaPub: sk.rsaPub}
	case "EC":
		sk, err := m.ecKey(data, "")
		if err != nil {
			return nil, err
		}
		if sk.ecPriv != nil {
			priv, err := sk.ecPriv.ECDH()
			if err != nil {
				return nil, fmt.Errorf("%w: EC key: %v", ErrInvalidKey, err)
			}
			k, err = NewECDHPrivateKey(alg, priv)
			if err != nil {
				return nil, err
			}
		} else {
			pub, err := sk.ecPub.ECDH()
			if err != nil {
				return nil, fmt.Errorf("%w: EC key: %v", ErrInvalidKey, err)
			}
			if k, err = NewECDHPublicKey(alg, pub); err != nil {
				return nil, err
			}
		}
	case "OKP":
		crv, _, err := jwkString(data, m.crv, "crv")
		if err != nil {
			return nil, err
		}
		if crv != "X25519" {
			return nil, unusable("unsupported OKP curve %q for encryption", truncate(crv, 32))
		}
		x, err := fixedBytes(data, m.x, "OKP", "x", crv, 32)
		if err != nil {
			return nil, err
		}
		pub, err := ecdh.X25519().NewPublicKey(x)
		if err != nil {
			return nil, fmt.Errorf("%w: X25519 x: %v", ErrInvalidKey, err)
		}
		if m.d.Kind == strictjson.Invalid {
			if k, err = NewECDHPublicKey(alg, pub); err != nil {
				return nil, err
			}
			break
		}
		d, err := fixedBytes(data, m.d, "OKP", "d", crv, 32)
		if err != nil {
			return nil, err
		}
		defer clear(d)
		priv, err := ecdh.X25519().NewPrivateKey(d)
		if err != nil {
			return nil, fmt.Errorf("%w: X25519 d: %v", ErrInvalidKey, err)
		}
		if !priv.PublicKey().Equal(pub) {
			return nil, fmt.Errorf("%w: X25519 d does not match x", ErrInvalidKey)
		}
		if k, err = NewECDHPrivateKey(alg, priv); err != nil {
			return nil, err
		}
	default:
		return nil, unusable("unsupported jwk kty %q", truncate(kty, 32))
	}
	k = k.withDefaultID()
	if kid != "" {
		k.kid = kid
	}
	return k, nil
}

// EncryptionKeySet is an immutable set of decryption keys, each with a
// distinct key ID. It is safe for concurrent use.
type EncryptionKeySet struct {
	keys []*EncryptionKey
	byID map[string]*EncryptionKey
}

// NewEncryptionKeySet returns a set of the given keys; two keys with the
// same key ID are refused (ErrInvalidKey).
func NewEncryptionKeySet(keys ...*EncryptionKey) (*EncryptionKeySet, error) {
	s := &EncryptionKeySet{byID: make(map[string]*EncryptionKey, len(keys))}
	for _, k := range keys {
		if k == nil {
			return nil, fmt.Errorf("%w: nil key in set", ErrInvalidKey)
		}
		if _, dup := s.byID[k.kid]; dup {
			return nil, fmt.Errorf("%w: duplicate key id %q in set", ErrInvalidKey, truncate(k.kid, 64))
		}
		s.byID[k.kid] = k
		s.keys = append(s.keys, k)
	}
	return s, nil
}

// Keys returns the keys in the order they were given.
func (s *EncryptionKeySet) Keys() []*EncryptionKey { return append([]*EncryptionKey(nil), s.keys...) }

// Lookup returns the key with ID kid, or nil.
func (s *EncryptionKeySet) Lookup(kid string) *EncryptionKey { return s.byID[kid] }
