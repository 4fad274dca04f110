package jose

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"
	"slices"

	"github.com/latch-auth/latch/internal/strictjson"
)

// MaxJWKSetKeys is the largest number of entries ParseJWKSet reads from the
// "keys" array, skipped entries included.
const MaxJWKSetKeys = 100

// ParseJWK parses one JSON Web Key (RFC 7517) into a Key pinned to one
// algorithm. It reads symmetric ("oct"), RSA, EC (P-256, P-384, P-521) and
// OKP (Ed25519, RFC 8037 §2) keys, public or private.
//
// The algorithm is the JWK's "alg" member if it has one, else the alg
// argument. EC and OKP keys imply theirs from "crv" (P-256: ES256, P-384:
// ES384, P-521: ES512, Ed25519: EdDSA), so for them both may be empty; an
// RSA or "oct" key with neither is refused, since its algorithm cannot be
// guessed safely. When the JWK's "alg" and the argument are both present
// they must be equal. An argument that is not a supported algorithm is
// ErrUnsupportedAlgorithm.
//
// Parsing is strict: the input must be one JSON object without duplicate
// member names (ErrDuplicateMember), binary members must be canonical
// unpadded base64url (ErrNonCanonical), and an RSA modulus or exponent must
// not start with a zero octet (RFC 7518 §2, ErrNonCanonical). Members latch
// does not use, including "x5c" and other certificate members, are
// ignored and never trusted. Beyond that, a JWK is refused with
// ErrInvalidKey when it
//   - has a "use" other than "sig", or "key_ops" with neither "sign" nor
//     "verify" (RFC 7517 §4.2, §4.3): it is not a signature key;
//   - has an "alg" that is not a JWS algorithm latch implements, such as
//     RSA-OAEP or "none";
//   - lacks a required member, or has EC coordinates or scalar, or Ed25519
//     values, that are not exactly the curve's length (RFC 7518 §6.2.1,
//     RFC 8037 §2), or an EC point that is not on its curve;
//   - has a private part ("d") that does not match its public part;
//   - is an RSA key outside MinRSABits..MaxRSABits, with an unusual
//     exponent or with the ROCA fingerprint (CVE-2017-15361), or an RSA
//     private key without its CRT parameters (p, q,
//     dp, dq, qi; RFC 7518 §6.3.2), or a multi-prime key ("oth");
//   - is an "oct" key shorter than its algorithm's hash output.
//
// Leading zero octets are tolerated in the RSA private members (d, p, q,
// dp, dq, qi), whose values are checked against each other. The Key keeps
// "kid", "use" and "key_ops" for PublicJWK and PrivateJWK. Without a
// "kid" (or with an empty one) the key ID is the RFC 7638 thumbprint.
func ParseJWK(data []byte, alg Algorithm) (*Key, error) {
	if alg != "" {
		if _, err := ParseAlgorithm(string(alg)); err != nil {
			return nil, err
		}
	}
	o := strictjson.NewObject(data)
	m, err := readJWK(data, &o, "jwk")
	if err != nil {
		return nil, err
	}
	return m.key(data, alg)
}

// ParseJWKSet parses a JWK Set (RFC 7517 §5): a JSON object whose "keys"
// member is an array of at most MaxJWKSetKeys JWKs. Other members are
// ignored. Each entry is read as by ParseJWK with an empty algorithm, so
// RSA and "oct" entries need an "alg" member.
//
// RFC 7517 §5 lets a reader ignore keys it does not understand, and the
// set's purpose is to publish verification keys next to others; so these
// entries are skipped, not refused: an unknown "kty"; an EC or OKP curve
// latch does not implement (such as secp256k1 or X25519); a "use" other
// than "sig", or "key_ops" without "sign" or "verify" (encryption keys); an
// "alg" that is not a JWS algorithm latch implements; an RSA or "oct" key
// without "alg".
//
// Every other entry must be a valid key: one malformed or refused entry of
// a known type fails the whole set (fail closed), as do two keys with the
// same key ID and a set that mixes HMAC ("oct") keys with public-key ones
// (see NewKeySet). The error is ErrMalformed for bad JSON or base64url, for
// a missing or non-array "keys" or for more than MaxJWKSetKeys entries, and
// ErrInvalidKey for refused key material, a duplicate key ID or a mixed
// set. A set in which every entry was skipped is empty, not an error.
func ParseJWKSet(data []byte) (*KeySet, error) {
	o := strictjson.NewObject(data)
	var list strictjson.Value
	for o.Next(data) {
		if string(o.Name(data)) == "keys" {
			list = o.Value()
		}
	}
	if err := o.Err(); err != nil {
		return nil, jsonErr("jwk set", err)
	}
	switch list.Kind {
	case strictjson.Invalid:
		return nil, fmt.Errorf(`%w: jwk set has no "keys" member`, ErrMalformed)
	case strictjson.ArrayKind:
	default:
		return nil, fmt.Errorf(`%w: jwk set "keys" is not an array`, ErrMalformed)
	}
	var keys []*Key
	a := strictjson.NewArrayAt(data, list)
	for i := 0; a.Next(data); i++ {
		if i == MaxJWKSetKeys {
			return nil, fmt.Errorf("%w: jwk set has more than %d keys", ErrMalformed, MaxJWKSetKeys)
		}
		v := a.Value()
		if v.Kind != strictjson.ObjectKind {
			return nil, fmt.Errorf("%w: jwk set keys[%d] is not an object", ErrMalformed, i)
		}
		eo := strictjson.NewObjectAt(data, v)
		m, err := readJWK(data, &eo, "jwk set key")
		if err != nil {
			return nil, fmt.Errorf("%w (keys[%d])", err, i)
		}
		k, err := m.key(data, "")
		var skip *unusableJWKError
		if errors.As(err, &skip) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%w (keys[%d])", err, i)
		}
		keys = append(keys, k)
	}
	if err := a.Err(); err != nil {
		return nil, jsonErr("jwk set", err)
	}
	return NewKeySet(keys...)
}

// unusableJWKError reports a JWK that is well formed for what it is but is
// not a JWS key latch can use: an unknown key type or curve, an encryption
// key, a non-JWS algorithm, or an RSA or oct key without an algorithm.
// ParseJWK returns it (it matches ErrInvalidKey); ParseJWKSet skips the
// entry.
type unusableJWKError struct{ reason string }

func (e *unusableJWKError) Error() string { return ErrInvalidKey.Error() + ": " + e.reason }
func (e *unusableJWKError) Unwrap() error { return ErrInvalidKey }

func unusable(format string, args ...any) error {
	return &unusableJWKError{reason: fmt.Sprintf(format, args...)}
}

// jwkMembers locates the members of one JWK that latch reads. A member
// that is absent has Kind strictjson.Invalid.
type jwkMembers struct {
	kty, kid, use, keyOps, alg, crv strictjson.Value
	k                               strictjson.Value // oct
	n, e, d, p, q, dp, dq, qi       strictjson.Value // RSA; d also EC and OKP
	x, y                            strictjson.Value // EC, OKP
	oth                             bool             // RSA multi-prime
}

// readJWK collects the members of the object o iterates over; duplicate
// names and invalid JSON are refused here, member types later.
func readJWK(data []byte, o *strictjson.Object, part string) (jwkMembers, error) {
	var m jwkMembers
	for o.Next(data) {
		v := o.Value()
		switch string(o.Name(data)) {
		case "kty":
			m.kty = v
		case "kid":
			m.kid = v
		case "use":
			m.use = v
		case "key_ops":
			m.keyOps = v
		case "alg":
			m.alg = v
		case "crv":
			m.crv = v
		case "k":
			m.k = v
		case "n":
			m.n = v
		case "e":
			m.e = v
		case "d":
			m.d = v
		case "p":
			m.p = v
		case "q":
			m.q = v
		case "dp":
			m.dp = v
		case "dq":
			m.dq = v
		case "qi":
			m.qi = v
		case "x":
			m.x = v
		case "y":
			m.y = v
		case "oth":
			m.oth = true
		}
	}
	if err := o.Err(); err != nil {
		return jwkMembers{}, jsonErr(part, err)
	}
	return m, nil
}

// jwkString returns the text of a string member and whether it is present.
func jwkString(data []byte, v strictjson.Value, name string) (string, bool, error) {
	switch v.Kind {
	case strictjson.Invalid:
		return "", false, nil
	case strictjson.String:
		return string(strictjson.Unquote(data, v, nil)), true, nil
	}
	return "", false, fmt.Errorf("%w: jwk %q is not a string", ErrMalformed, name)
}

// jwkBytes decodes a required base64url member.
func jwkBytes(data []byte, v strictjson.Value, kty, name string) ([]byte, error) {
	if v.Kind == strictjson.Invalid {
		return nil, fmt.Errorf("%w: %s jwk has no %q", ErrInvalidKey, kty, name)
	}
	if v.Kind != strictjson.String {
		return nil, fmt.Errorf("%w: jwk %q is not a string", ErrMalformed, name)
	}
	var buf [128]byte
	s := strictjson.Unquote(data, v, buf[:0])
	return decodeSegment(nil, string(s), "jwk "+name)
}

// jwkKeyOps reads "key_ops": an array of distinct strings (RFC 7517 §4.3).
func jwkKeyOps(data []byte, v strictjson.Value) ([]string, bool, error) {
	switch v.Kind {
	case strictjson.Invalid:
		return nil, false, nil
	case strictjson.ArrayKind:
	default:
		return nil, false, fmt.Errorf(`%w: jwk "key_ops" is not an array`, ErrMalformed)
	}
	ops := []string{}
	a := strictjson.NewArrayAt(data, v)
	for a.Next(data) {
		e := a.Value()
		if e.Kind != strictjson.String {
			return nil, false, fmt.Errorf(`%w: jwk "key_ops" has a non-string entry`, ErrMalformed)
		}
		ops = append(ops, string(strictjson.Unquote(data, e, nil)))
	}
	if err := a.Err(); err != nil {
		return nil, false, jsonErr("jwk key_ops", err)
	}
	sorted := slices.Clone(ops)
	slices.Sort(sorted)
	for i := 1; i < len(sorted); i++ {
		if sorted[i] == sorted[i-1] {
			return nil, false, fmt.Errorf(`%w: jwk "key_ops" repeats %q`, ErrMalformed, truncate(sorted[i], 32))
		}
	}
	return ops, true, nil
}

// key builds the Key the members describe. argAlg is ParseJWK's argument,
// already checked to be empty or supported.
func (m *jwkMembers) key(data []byte, argAlg Algorithm) (*Key, error) {
	kty, ok, err := jwkString(data, m.kty, "kty")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf(`%w: jwk has no "kty"`, ErrInvalidKey)
	}
	switch kty {
	case "oct", "RSA", "EC", "OKP":
	default:
		return nil, unusable("unsupported jwk kty %q", truncate(kty, 32))
	}

	use, hasUse, err := jwkString(data, m.use, "use")
	if err != nil {
		return nil, err
	}
	ops, hasOps, err := jwkKeyOps(data, m.keyOps)
	if err != nil {
		return nil, err
	}
	algName, hasAlg, err := jwkString(data, m.alg, "alg")
	if err != nil {
		return nil, err
	}
	kid, _, err := jwkString(data, m.kid, "kid")
	if err != nil {
		return nil, err
	}
	if hasUse && use != "sig" {
		return nil, unusable(`jwk use %q, not "sig"`, truncate(use, 32))
	}
	if hasOps && !slices.Contains(ops, "sign") && !slices.Contains(ops, "verify") {
		return nil, unusable(`jwk key_ops has neither "sign" nor "verify"`)
	}
	alg := argAlg
	if hasAlg {
		jwkAlg := Algorithm(algName)
		if jwkAlg.family() == famNone {
			return nil, unusable("jwk alg %q is not a JWS algorithm latch supports", truncate(algName, 32))
		}
		if argAlg != "" && argAlg != jwkAlg {
			return nil, fmt.Errorf("%w: jwk alg is %s, caller asked for %s", ErrInvalidKey, jwkAlg, argAlg)
		}
		alg = jwkAlg
	}

	var k *Key
	switch kty {
	case "oct":
		k, err = m.octKey(data, alg)
	case "RSA":
		k, err = m.rsaKey(data, alg)
	case "EC":
		k, err = m.ecKey(data, alg)
	default:
		k, err = m.okpKey(data, alg)
	}
	if err != nil {
		return nil, err
	}
	if kid != "" {
		k.kid = kid
	}
	if hasUse {
		k.use = use
	}
	if hasOps {
		k.ops = ops
	}
	return k, nil
}

func (m *jwkMembers) octKey(data []byte, alg Algorithm) (*Key, error) {
	if alg == "" {
		return nil, unusable("oct jwk has no alg: pass the algorithm (HS256, HS384 or HS512) to ParseJWK")
	}
	if alg.family() != famHMAC {
		return nil, fmt.Errorf("%w: alg %s does not fit kty oct", ErrInvalidKey, alg)
	}
	secret, err := jwkBytes(data, m.k, "oct", "k")
	if err != nil {
		return nil, err
	}
	defer clear(secret)
	return NewHMACKey(alg, secret)
}

func (m *jwkMembers) rsaKey(data []byte, alg Algorithm) (*Key, error) {
	if alg == "" {
		return nil, unusable("RSA jwk has no alg: pass the algorithm (RS256, PS256, ...) to ParseJWK")
	}
	if f := alg.family(); f != famRSA && f != famPSS {
		return nil, fmt.Errorf("%w: alg %s does not fit kty RSA", ErrInvalidKey, alg)
	}
	if m.oth {
		return nil, fmt.Errorf(`%w: multi-prime RSA key ("oth") is not supported`, ErrInvalidKey)
	}
	n, err := rsaUint(data, m.n, "n", true)
	if err != nil {
		return nil, err
	}
	eb, err := jwkBytes(data, m.e, "RSA", "e")
	if err != nil {
		return nil, err
	}
	if len(eb) > 0 && eb[0] == 0 {
		return nil, fmt.Errorf("%w: %w: RSA e has a leading zero octet", ErrMalformed, ErrNonCanonical)
	}
	if len(eb) == 0 || len(eb) > 4 {
		return nil, fmt.Errorf("%w: RSA public exponent is %d bytes", ErrInvalidKey, len(eb))
	}
	var e int64
	for _, b := range eb {
		e = e<<8 | int64(b)
	}
	if e > 1<<31-1 {
		return nil, fmt.Errorf("%w: RSA public exponent %d is too large", ErrInvalidKey, e)
	}
	pub := &rsa.PublicKey{N: n, E: int(e)}

	private := false
	for _, v := range []strictjson.Value{m.d, m.p, m.q, m.dp, m.dq, m.qi} {
		private = private || v.Kind != strictjson.Invalid
	}
	if !private {
		return NewRSAPublicKey(alg, pub)
	}
	// Check the public half first: it bounds the size of everything below.
	if err := checkRSA(alg, pub); err != nil {
		return nil, err
	}
	switch {
	case m.d.Kind == strictjson.Invalid:
		return nil, fmt.Errorf(`%w: RSA private jwk has no "d"`, ErrInvalidKey)
	case m.p.Kind == strictjson.Invalid || m.q.Kind == strictjson.Invalid:
		return nil, fmt.Errorf("%w: RSA private jwk has d but not p and q; latch needs the CRT parameters (p, q, dp, dq, qi) to check the key and sign safely", ErrInvalidKey)
	case m.dp.Kind == strictjson.Invalid || m.dq.Kind == strictjson.Invalid || m.qi.Kind == strictjson.Invalid:
		return nil, fmt.Errorf("%w: RSA private jwk lacks dp, dq or qi (RFC 7518 §6.3.2 requires all CRT parameters)", ErrInvalidKey)
	}
	vals := make([]*big.Int, 6)
	for i, f := range []struct {
		v    strictjson.Value
		name string
	}{{m.d, "d"}, {m.p, "p"}, {m.q, "q"}, {m.dp, "dp"}, {m.dq, "dq"}, {m.qi, "qi"}} {
		x, err := rsaUint(data, f.v, f.name, false)
		if err != nil {
			return nil, err
		}
		if x.Sign() == 0 || x.Cmp(n) >= 0 {
			return nil, fmt.Errorf("%w: RSA %s is out of range", ErrInvalidKey, f.name)
		}
		vals[i] = x
	}
	priv := &rsa.PrivateKey{
		PublicKey: *pub,
		D:         vals[0],
		Primes:    []*big.Int{vals[1], vals[2]},
		Precomputed: rsa.PrecomputedValues{
			Dp: vals[3], Dq: vals[4], Qinv: vals[5],
		},
	}
	return NewRSAPrivateKey(alg, priv)
}

// rsaUint decodes a Base64urlUInt member (RFC 7518 §2). Public members must
// use the minimum number of octets.
func rsaUint(data []byte, v strictjson.Value, name string, canonical bool) (*big.Int, error) {
	b, err := jwkBytes(data, v, "RSA", name)
	if err != nil {
		return nil, err
	}
	if len(b) == 0 {
		return nil, fmt.Errorf("%w: RSA %s is empty", ErrInvalidKey, name)
	}
	if canonical && b[0] == 0 {
		return nil, fmt.Errorf("%w: %w: RSA %s has a leading zero octet", ErrMalformed, ErrNonCanonical, name)
	}
	x := new(big.Int).SetBytes(b)
	clear(b)
	return x, nil
}

func (m *jwkMembers) ecKey(data []byte, alg Algorithm) (*Key, error) {
	crv, ok, err := jwkString(data, m.crv, "crv")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf(`%w: EC jwk has no "crv"`, ErrInvalidKey)
	}
	crvAlg, err := ecAlgorithm(crv)
	if err != nil {
		return nil, unusable("unsupported EC curve %q", truncate(crv, 32))
	}
	if alg != "" && alg != crvAlg {
		return nil, fmt.Errorf("%w: alg %s does not fit EC curve %s (%s)", ErrInvalidKey, alg, crv, crvAlg)
	}
	size := ecByteSize(crvAlg)
	x, err := fixedBytes(data, m.x, "EC", "x", crv, size)
	if err != nil {
		return nil, err
	}
	y, err := fixedBytes(data, m.y, "EC", "y", crv, size)
	if err != nil {
		return nil, err
	}
	point := make([]byte, 0, 1+2*size)
	point = append(append(append(point, 4), x...), y...)
	pub, err := newECDSAPoint(crvAlg, point)
	if err != nil {
		return nil, err
	}
	if m.d.Kind == strictjson.Invalid {
		return pub, nil
	}
	d, err := fixedBytes(data, m.d, "EC", "d", crv, size)
	if err != nil {
		return nil, err
	}
	defer clear(d)
	priv, err := ecdsa.ParseRawPrivateKey(crvAlg.curve(), d)
	if err != nil {
		return nil, fmt.Errorf("%w: EC d is not a valid %s scalar", ErrInvalidKey, crv)
	}
	derived, err := priv.PublicKey.Bytes()
	if err != nil || !bytes.Equal(derived, point) {
		return nil, fmt.Errorf("%w: EC d does not match x and y", ErrInvalidKey)
	}
	return NewECDSAPrivateKey(priv)
}

// fixedBytes decodes a required member that must be exactly size bytes.
func fixedBytes(data []byte, v strictjson.Value, kty, name, crv string, size int) ([]byte, error) {
	b, err := jwkBytes(data, v, kty, name)
	if err != nil {
		return nil, err
	}
	if len(b) != size {
		clear(b)
		return nil, fmt.Errorf("%w: %s %s is %d bytes, %s needs %d", ErrInvalidKey, kty, name, len(b), crv, size)
	}
	return b, nil
}

func (m *jwkMembers) okpKey(data []byte, alg Algorithm) (*Key, error) {
	crv, ok, err := jwkString(data, m.crv, "crv")
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf(`%w: OKP jwk has no "crv"`, ErrInvalidKey)
	}
	if crv != "Ed25519" {
		return nil, unusable("unsupported OKP curve %q", truncate(crv, 32))
	}
	if alg != "" && alg != EdDSA {
		return nil, fmt.Errorf("%w: alg %s does not fit curve Ed25519 (EdDSA)", ErrInvalidKey, alg)
	}
	x, err := fixedBytes(data, m.x, "OKP", "x", crv, ed25519.PublicKeySize)
	if err != nil {
		return nil, err
	}
	if m.d.Kind == strictjson.Invalid {
		return NewEd25519PublicKey(x)
	}
	d, err := fixedBytes(data, m.d, "OKP", "d", crv, ed25519.SeedSize)
	if err != nil {
		return nil, err
	}
	priv := ed25519.NewKeyFromSeed(d)
	clear(d)
	defer clear(priv)
	if !bytes.Equal(priv[ed25519.SeedSize:], x) {
		return nil, fmt.Errorf("%w: Ed25519 d does not match x", ErrInvalidKey)
	}
	return NewEd25519PrivateKey(priv)
}

// PublicJWK returns the public key as a compact JWK: "kty", "kid", "use"
// and "key_ops" (when the key has them), "alg", then the key's public
// members. Since a public key can only verify, "key_ops" is written as
// ["verify"]. An HMAC key has no public form: ErrInvalidKey.
func (k *Key) PublicJWK() ([]byte, error) {
	if k.secret != nil {
		return nil, fmt.Errorf("%w: an HMAC secret has no public JWK", ErrInvalidKey)
	}
	return k.appendJWK(nil, false)
}

// PrivateJWK returns the key with its private members as a compact JWK, in
// the member order of PublicJWK: "k" for HMAC; "n", "e", "d", "p", "q",
// "dp", "dq", "qi" for RSA; "crv", "x", "y", "d" (each the curve's full
// length) for EC; "crv", "x", "d" for Ed25519. A public key has no private
// form: ErrInvalidKey. The result is a secret.
func (k *Key) PrivateJWK() ([]byte, error) {
	if !k.IsPrivate() {
		return nil, fmt.Errorf("%w: a public key has no private JWK", ErrInvalidKey)
	}
	return k.appendJWK(nil, true)
}

// PublicJWKS returns the set's keys as a JWK Set, {"keys":[...]}, each as
// PublicJWK writes it, in the set's order. A set holding an HMAC key cannot
// be published: ErrInvalidKey.
func (s *KeySet) PublicJWKS() ([]byte, error) {
	out := []byte(`{"keys":[`)
	for i, k := range s.keys {
		if k.secret != nil {
			return nil, fmt.Errorf("%w: key %q is an HMAC secret and cannot be published", ErrInvalidKey, truncate(k.kid, 64))
		}
		if i > 0 {
			out = append(out, ',')
		}
		var err error
		if out, err = k.appendJWK(out, false); err != nil {
			return nil, err
		}
	}
	return append(out, "]}"...), nil
}

// appendJWK writes k as a JWK, with its private members if private.
func (k *Key) appendJWK(dst []byte, private bool) ([]byte, error) {
	var kty string
	switch {
	case k.secret != nil:
		kty = "oct"
	case k.rsaPub != nil:
		kty = "RSA"
	case k.ecPub != nil:
		kty = "EC"
	default:
		kty = "OKP"
	}
	dst = append(dst, `{"kty":"`...)
	dst = append(dst, kty...)
	dst = append(dst, `","kid":`...)
	var err error
	if dst, err = strictjson.AppendQuoted(dst, k.kid); err != nil {
		return nil, fmt.Errorf("%w: key ID is not valid UTF-8", ErrInvalidKey)
	}
	if k.use != "" {
		dst = append(dst, `,"use":`...)
		if dst, err = strictjson.AppendQuoted(dst, k.use); err != nil {
			return nil, fmt.Errorf("%w: jwk use is not valid UTF-8", ErrInvalidKey)
		}
	}
	if k.ops != nil {
		ops := k.ops
		if !private {
			ops = []string{"verify"}
		}
		dst = append(dst, `,"key_ops":[`...)
		for i, op := range ops {
			if i > 0 {
				dst = append(dst, ',')
			}
			if dst, err = strictjson.AppendQuoted(dst, op); err != nil {
				return nil, fmt.Errorf("%w: jwk key_ops is not valid UTF-8", ErrInvalidKey)
			}
		}
		dst = append(dst, ']')
	}
	dst = append(dst, `,"alg":"`...)
	dst = append(dst, k.alg...)
	dst = append(dst, '"')

	switch kty {
	case "oct":
		dst = appendB64Member(dst, "k", k.secret)
	case "RSA":
		var priv *rsa.PrivateKey
		if private {
			priv = k.rsaPriv
		}
		if dst, err = appendRSAMembers(dst, k.rsaPub, priv); err != nil {
			return nil, err
		}
	case "EC":
		dst = append(dst, `,"crv":"`...)
		dst = append(dst, k.ecPub.Curve.Params().Name...)
		dst = append(dst, '"')
		x, y := k.ecCoords()
		dst = appendB64Member(dst, "x", x)
		dst = appendB64Member(dst, "y", y)
		if private {
			d, err := k.ecPriv.Bytes()
			if err != nil {
				return nil, fmt.Errorf("%w: ECDSA private key: %v", ErrInvalidKey, err)
			}
			dst = appendB64Member(dst, "d", d)
			clear(d)
		}
	default:
		dst = append(dst, `,"crv":"Ed25519"`...)
		dst = appendB64Member(dst, "x", k.edPub)
		if private {
			dst = appendB64Member(dst, "d", k.edPriv.Seed())
		}
	}
	return append(dst, '}'), nil
}

// appendB64Member writes ,"name":"base64url(b)".
func appendB64Member(dst []byte, name string, b []byte) []byte {
	dst = append(dst, `,"`...)
	dst = append(dst, name...)
	dst = append(dst, `":"`...)
	dst = b64.AppendEncode(dst, b)
	return append(dst, '"')
}

// appendRSAMembers appends the JWK members of an RSA key (RFC 7518
// §6.3): n and e, and with priv the private members of a two-prime key
// with its CRT values, for signing and encryption keys alike.
func appendRSAMembers(dst []byte, pub *rsa.PublicKey, priv *rsa.PrivateKey) ([]byte, error) {
	dst = appendB64Member(dst, "n", pub.N.Bytes())
	dst = appendB64Member(dst, "e", big.NewInt(int64(pub.E)).Bytes())
	if priv == nil {
		return dst, nil
	}
	if len(priv.Primes) != 2 || priv.Precomputed.Dp == nil || priv.Precomputed.Dq == nil || priv.Precomputed.Qinv == nil {
		return nil, fmt.Errorf("%w: RSA key is not a two-prime key with CRT values", ErrInvalidKey)
	}
	dst = appendB64Member(dst, "d", priv.D.Bytes())
	dst = appendB64Member(dst, "p", priv.Primes[0].Bytes())
	dst = appendB64Member(dst, "q", priv.Primes[1].Bytes())
	dst = appendB64Member(dst, "dp", priv.Precomputed.Dp.Bytes())
	dst = appendB64Member(dst, "dq", priv.Precomputed.Dq.Bytes())
	dst = appendB64Member(dst, "qi", priv.Precomputed.Qinv.Bytes())
	return dst, nil
}
