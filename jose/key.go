package jose

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"io"
	"math/big"
	"sync"
)

// MinRSABits is the smallest RSA modulus accepted, for signing and for
// verification.
const MinRSABits = 2048

// MaxRSABits is the largest RSA modulus accepted. Larger keys make every
// verification slow enough to be a denial-of-service lever.
const MaxRSABits = 8192

// Key is a signing or verification key pinned to exactly one algorithm.
//
// A Key is built by one of the New…Key constructors, by GenerateKey, or by
// parsing a JWK or PEM; each checks the key material and its pairing with
// the algorithm, so a Key that exists is usable. Keys are immutable and safe
// for concurrent use. Formatting a Key with fmt prints its algorithm and key
// ID, never key material.
type Key struct {
	alg Algorithm
	kid string
	use string   // JWK "use", kept for round trips
	ops []string // JWK "key_ops", kept for round trips

	secret   []byte     // HMAC
	hmacPool *sync.Pool // of hash.Hash keyed with secret

	rsaPriv *rsa.PrivateKey
	rsaPub  *rsa.PublicKey

	ecPriv  *ecdsa.PrivateKey
	ecPub   *ecdsa.PublicKey
	ecPoint []byte // uncompressed public point 0x04 || X || Y

	edPriv ed25519.PrivateKey
	edPub  ed25519.PublicKey
}

// NewHMACKey returns a key for HS256, HS384 or HS512. The secret must be at
// least as long as the hash output (32, 48 or 64 bytes, RFC 7518 §3.2); it
// is copied.
func NewHMACKey(alg Algorithm, secret []byte) (*Key, error) {
	if alg.family() != famHMAC {
		return nil, fmt.Errorf("%w: %s is not an HMAC algorithm", ErrInvalidKey, alg)
	}
	if n := alg.hash().Size(); len(secret) < n {
		return nil, fmt.Errorf("%w: %s secret is %d bytes, need at least %d", ErrInvalidKey, alg, len(secret), n)
	}
	k := &Key{alg: alg, secret: append([]byte(nil), secret...)}
	newHash := alg.hash().New
	key := k.secret
	k.hmacPool = &sync.Pool{New: func() any { return &hmacState{h: hmac.New(newHash, key)} }}
	return k.withDefaultID(), nil
}

// NewRSAPrivateKey returns a signing key for an RS* or PS* algorithm. The
// modulus must be between MinRSABits and MaxRSABits and must not have the
// ROCA fingerprint (CVE-2017-15361, keys from Infineon's RSALib, which can
// be factored); the key is validated and its CRT values precomputed.
func NewRSAPrivateKey(alg Algorithm, priv *rsa.PrivateKey) (*Key, error) {
	if priv == nil {
		return nil, fmt.Errorf("%w: nil RSA key", ErrInvalidKey)
	}
	if err := checkRSA(alg, &priv.PublicKey); err != nil {
		return nil, err
	}
	// Work on a copy: the caller's key may change after this returns.
	priv = copyRSAPrivate(priv)
	if err := priv.Validate(); err != nil {
		return nil, fmt.Errorf("%w: inconsistent RSA private key: %v", ErrInvalidKey, err)
	}
	priv.Precompute()
	return (&Key{alg: alg, rsaPriv: priv, rsaPub: &priv.PublicKey}).withDefaultID(), nil
}

// NewRSAPublicKey returns a verification key for an RS* or PS* algorithm.
// The modulus is checked as by NewRSAPrivateKey: its size, and the ROCA
// fingerprint.
func NewRSAPublicKey(alg Algorithm, pub *rsa.PublicKey) (*Key, error) {
	if pub == nil {
		return nil, fmt.Errorf("%w: nil RSA key", ErrInvalidKey)
	}
	if err := checkRSA(alg, pub); err != nil {
		return nil, err
	}
	return (&Key{alg: alg, rsaPub: &rsa.PublicKey{N: new(big.Int).Set(pub.N), E: pub.E}}).withDefaultID(), nil
}

// copyRSAPrivate deep-copies the parts of an RSA key that define it.
func copyRSAPrivate(k *rsa.PrivateKey) *rsa.PrivateKey {
	c := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: new(big.Int).Set(k.N), E: k.E},
		D:         new(big.Int).Set(k.D),
	}
	for _, p := range k.Primes {
		c.Primes = append(c.Primes, new(big.Int).Set(p))
	}
	// Keep given CRT values, so that Validate checks them against the
	// primes rather than silently recomputing them.
	if pc := k.Precomputed; pc.Dp != nil && pc.Dq != nil && pc.Qinv != nil {
		c.Precomputed.Dp = new(big.Int).Set(pc.Dp)
		c.Precomputed.Dq = new(big.Int).Set(pc.Dq)
		c.Precomputed.Qinv = new(big.Int).Set(pc.Qinv)
	}
	return c
}

func checkRSA(alg Algorithm, pub *rsa.PublicKey) error {
	if f := alg.family(); f != famRSA && f != famPSS {
		return fmt.Errorf("%w: %s is not an RSA algorithm", ErrInvalidKey, alg)
	}
	if pub.N == nil || pub.N.Sign() <= 0 {
		return fmt.Errorf("%w: RSA modulus missing", ErrInvalidKey)
	}
	if bits := pub.N.BitLen(); bits < MinRSABits || bits > MaxRSABits {
		return fmt.Errorf("%w: RSA modulus is %d bits, need %d to %d", ErrInvalidKey, bits, MinRSABits, MaxRSABits)
	}
	if pub.E < 3 || pub.E&1 == 0 || pub.E > 1<<31-1 {
		return fmt.Errorf("%w: RSA public exponent %d", ErrInvalidKey, pub.E)
	}
	if pub.N.Bit(0) == 0 {
		return fmt.Errorf("%w: RSA modulus is even", ErrInvalidKey)
	}
	if hasROCAFingerprint(pub.N) {
		return fmt.Errorf("%w: RSA modulus has the ROCA fingerprint (CVE-2017-15361): it can be factored; generate a new key elsewhere than on the affected Infineon chip", ErrInvalidKey)
	}
	return nil
}

// NewECDSAPrivateKey returns a signing key; the algorithm follows from the
// curve (P-256: ES256, P-384: ES384, P-521: ES512).
func NewECDSAPrivateKey(priv *ecdsa.PrivateKey) (*Key, error) {
	if priv == nil {
		return nil, fmt.Errorf("%w: nil ECDSA key", ErrInvalidKey)
	}
	alg, err := ecAlgorithm(priv.Curve.Params().Name)
	if err != nil {
		return nil, err
	}
	raw, err := priv.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: ECDSA private key: %v", ErrInvalidKey, err)
	}
	// Re-derive the key from its scalar so that a private key whose public
	// half does not match is refused.
	clean, err := ecdsa.ParseRawPrivateKey(priv.Curve, raw)
	if err != nil {
		return nil, fmt.Errorf("%w: ECDSA private key: %v", ErrInvalidKey, err)
	}
	if !clean.PublicKey.Equal(&priv.PublicKey) {
		return nil, fmt.Errorf("%w: ECDSA public key does not match private scalar", ErrInvalidKey)
	}
	point, err := clean.PublicKey.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: ECDSA public key: %v", ErrInvalidKey, err)
	}
	return (&Key{alg: alg, ecPriv: clean, ecPub: &clean.PublicKey, ecPoint: point}).withDefaultID(), nil
}

// NewECDSAPublicKey returns a verification key; the point is checked to be
// on its curve.
func NewECDSAPublicKey(pub *ecdsa.PublicKey) (*Key, error) {
	if pub == nil || pub.Curve == nil {
		return nil, fmt.Errorf("%w: nil ECDSA key", ErrInvalidKey)
	}
	alg, err := ecAlgorithm(pub.Curve.Params().Name)
	if err != nil {
		return nil, err
	}
	point, err := pub.Bytes()
	if err != nil {
		return nil, fmt.Errorf("%w: ECDSA public key: %v", ErrInvalidKey, err)
	}
	return newECDSAPoint(alg, point)
}

// newECDSAPoint builds a verification key from an uncompressed point,
// checking that it lies on the algorithm's curve.
func newECDSAPoint(alg Algorithm, point []byte) (*Key, error) {
	pub, err := ecdsa.ParseUncompressedPublicKey(alg.curve(), point)
	if err != nil {
		return nil, fmt.Errorf("%w: ECDSA point is not on %s: %v", ErrInvalidKey, alg.curve().Params().Name, err)
	}
	return (&Key{alg: alg, ecPub: pub, ecPoint: append([]byte(nil), point...)}).withDefaultID(), nil
}

func ecAlgorithm(curve string) (Algorithm, error) {
	switch curve {
	case "P-256":
		return ES256, nil
	case "P-384":
		return ES384, nil
	case "P-521":
		return ES512, nil
	}
	return "", fmt.Errorf("%w: unsupported curve %q", ErrInvalidKey, curve)
}

// NewEd25519PrivateKey returns an EdDSA signing key.
func NewEd25519PrivateKey(priv ed25519.PrivateKey) (*Key, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, fmt.Errorf("%w: Ed25519 private key is %d bytes, want %d", ErrInvalidKey, len(priv), ed25519.PrivateKeySize)
	}
	clean := ed25519.NewKeyFromSeed(priv.Seed())
	if !clean.Equal(priv) {
		return nil, fmt.Errorf("%w: Ed25519 public half does not match seed", ErrInvalidKey)
	}
	return (&Key{alg: EdDSA, edPriv: clean, edPub: clean.Public().(ed25519.PublicKey)}).withDefaultID(), nil
}

// NewEd25519PublicKey returns an EdDSA verification key.
func NewEd25519PublicKey(pub ed25519.PublicKey) (*Key, error) {
	if len(pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: Ed25519 public key is %d bytes, want %d", ErrInvalidKey, len(pub), ed25519.PublicKeySize)
	}
	return (&Key{alg: EdDSA, edPub: append(ed25519.PublicKey(nil), pub...)}).withDefaultID(), nil
}

// GenerateKey creates a new private key for alg from crypto/rand: a 256-,
// 384- or 512-bit secret for HS*, a 2048-bit RSA key for RS* and PS*, a key
// on the algorithm's curve for ES*, an Ed25519 key for EdDSA.
func GenerateKey(alg Algorithm) (*Key, error) {
	switch alg.family() {
	case famHMAC:
		secret := make([]byte, alg.hash().Size())
		rand.Read(secret)
		return NewHMACKey(alg, secret)
	case famRSA, famPSS:
		priv, err := rsa.GenerateKey(rand.Reader, MinRSABits)
		if err != nil {
			return nil, fmt.Errorf("jose: generating RSA key: %w", err)
		}
		return NewRSAPrivateKey(alg, priv)
	case famECDSA:
		priv, err := ecdsa.GenerateKey(alg.curve(), rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("jose: generating ECDSA key: %w", err)
		}
		return NewECDSAPrivateKey(priv)
	case famEdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, fmt.Errorf("jose: generating Ed25519 key: %w", err)
		}
		return NewEd25519PrivateKey(priv)
	}
	_, err := ParseAlgorithm(string(alg))
	return nil, err
}

// Algorithm returns the one algorithm this key signs and verifies with.
func (k *Key) Algorithm() Algorithm { return k.alg }

// KeyID returns the key ID ("kid"). Unless set otherwise it is the RFC 7638
// thumbprint of the key.
func (k *Key) KeyID() string { return k.kid }

// WithKeyID returns a copy of k with key ID kid. An empty kid restores the
// thumbprint default.
func (k *Key) WithKeyID(kid string) *Key {
	c := *k
	c.kid = kid
	if kid == "" {
		return c.withDefaultID()
	}
	return &c
}

// IsPrivate reports whether k can sign: a private key or an HMAC secret.
func (k *Key) IsPrivate() bool {
	return k.secret != nil || k.rsaPriv != nil || k.ecPriv != nil || k.edPriv != nil
}

// IsSymmetric reports whether k is an HMAC secret.
func (k *Key) IsSymmetric() bool { return k.secret != nil }

// Public returns the public half of k with the same algorithm and key ID.
// HMAC keys have no public half: ErrInvalidKey.
func (k *Key) Public() (*Key, error) {
	switch {
	case k.secret != nil:
		return nil, fmt.Errorf("%w: an HMAC secret has no public half", ErrInvalidKey)
	case k.rsaPriv == nil && k.ecPriv == nil && k.edPriv == nil:
		return k, nil
	}
	c := *k
	c.rsaPriv, c.ecPriv, c.edPriv = nil, nil, nil
	return &c, nil
}

// Thumbprint returns the RFC 7638 JWK thumbprint of k with SHA-256. For an
// HMAC key it is a hash of the secret.
func (k *Key) Thumbprint() []byte {
	sum := sha256.Sum256(k.thumbprintInput())
	return sum[:]
}

// thumbprintInput is the JSON of the required members in lexicographic
// order, without white space (RFC 7638 §3.2).
func (k *Key) thumbprintInput() []byte {
	b64 := base64.RawURLEncoding
	switch {
	case k.secret != nil:
		return fmt.Appendf(nil, `{"k":"%s","kty":"oct"}`, b64.EncodeToString(k.secret))
	case k.rsaPub != nil:
		return fmt.Appendf(nil, `{"e":"%s","kty":"RSA","n":"%s"}`,
			b64.EncodeToString(big.NewInt(int64(k.rsaPub.E)).Bytes()), b64.EncodeToString(k.rsaPub.N.Bytes()))
	case k.ecPub != nil:
		x, y := k.ecCoords()
		return fmt.Appendf(nil, `{"crv":"%s","kty":"EC","x":"%s","y":"%s"}`,
			k.ecPub.Curve.Params().Name, b64.EncodeToString(x), b64.EncodeToString(y))
	default:
		return fmt.Appendf(nil, `{"crv":"Ed25519","kty":"OKP","x":"%s"}`, b64.EncodeToString(k.edPub))
	}
}

// ecCoords splits the uncompressed point into fixed-size X and Y.
func (k *Key) ecCoords() (x, y []byte) {
	n := (len(k.ecPoint) - 1) / 2
	return k.ecPoint[1 : 1+n], k.ecPoint[1+n:]
}

func (k *Key) withDefaultID() *Key {
	k.kid = base64.RawURLEncoding.EncodeToString(k.Thumbprint())
	return k
}

// String describes the key without its material. It has a value receiver
// so that formatting a Key value, not only a pointer, is safe too.
func (k Key) String() string {
	kind := "public"
	switch {
	case k.secret != nil:
		kind = "secret"
	case k.IsPrivate():
		kind = "private"
	}
	return fmt.Sprintf("jose.Key{%s %s kid=%q}", k.alg, kind, k.kid)
}

// GoString is String, so %#v cannot print key material either.
func (k Key) GoString() string { return k.String() }

// Format prints String for every verb (%v, %d, %x, %s, ...), so no
// formatting of a Key can print key material.
func (k Key) Format(f fmt.State, verb rune) { io.WriteString(f, k.String()) }

// hmacState is a pooled, pre-keyed HMAC with room for its output, so the
// hot path neither re-keys nor allocates.
type hmacState struct {
	h   hash.Hash
	sum [64]byte
}

// hmacDo computes the HMAC of data and passes it to use before the state
// returns to the pool.
func (k *Key) hmacDo(data []byte, use func(mac []byte) bool) bool {
	st := k.hmacPool.Get().(*hmacState)
	st.h.Reset()
	st.h.Write(data)
	ok := use(st.h.Sum(st.sum[:0]))
	k.hmacPool.Put(st)
	return ok
}
