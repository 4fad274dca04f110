package jose

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"strings"
	"unsafe"

	"github.com/latch-auth/latch/internal/strictjson"
)

// DefaultMaxTokenSize is the size limit applied to a compact JWS when
// VerifyOptions.MaxTokenSize is zero.
const DefaultMaxTokenSize = 16 << 10

// Header is the protected header of a verified JWS, reduced to the members
// latch acts on.
//
// Other registered members are accepted as JSON but never acted on: "jwk",
// "jku", "x5u" and "x5c" are ignored, so a token can never bring or point to
// its own key; verification keys come only from the caller's KeySet.
type Header struct {
	Algorithm   Algorithm // the selected key's algorithm, equal to the header's "alg"
	KeyID       string    // the ID of the key that verified it, also when the header had no "kid" and the key was found by "alg"
	Type        string    // "typ", if present
	ContentType string    // "cty", if present
}

// SignOptions are the optional protected-header members of a new JWS. The
// "alg" and "kid" members always come from the signing key.
type SignOptions struct {
	Type        string // "typ", e.g. "JWT" or "at+jwt"; omitted when empty
	ContentType string // "cty"; omitted when empty
	// OmitKeyID leaves "kid" out of the header. Verifiers then pick a key
	// by algorithm alone.
	OmitKeyID bool
	// EmbedJWK writes the key's public JWK into the header as "jwk", as a
	// DPoP proof carries it (RFC 9449 §4.2). Verify never uses a "jwk"
	// header to find a key: a recipient that trusts it must parse it
	// itself (verifier.DPoPChecker does).
	EmbedJWK bool
}

// VerifyOptions tune Verify. The zero value applies the defaults.
type VerifyOptions struct {
	// MaxTokenSize is the largest token accepted, in bytes. Zero means
	// DefaultMaxTokenSize.
	MaxTokenSize int
}

// Sign returns the compact serialization (RFC 7515 §7.1) of payload signed
// by key with key's algorithm.
func Sign(key *Key, payload []byte, opts SignOptions) (string, error) {
	if key == nil || !key.IsPrivate() {
		return "", fmt.Errorf("%w: signing needs a private key or secret", ErrInvalidKey)
	}
	var hbuf [256]byte
	hdr, err := appendHeader(hbuf[:0], key, opts)
	if err != nil {
		return "", err
	}
	sigLen := key.signatureSize()
	hLen, pLen := b64.EncodedLen(len(hdr)), b64.EncodedLen(len(payload))
	out := make([]byte, hLen+1+pLen+1+b64.EncodedLen(sigLen))
	b64.Encode(out, hdr)
	out[hLen] = '.'
	b64.Encode(out[hLen+1:], payload)
	signed := hLen + 1 + pLen
	out[signed] = '.'
	if key.secret != nil {
		key.hmacDo(out[:signed], func(mac []byte) bool {
			b64.Encode(out[signed+1:], mac)
			return true
		})
	} else {
		sig, err := key.sign(out[:signed])
		if err != nil {
			return "", err
		}
		b64.Encode(out[signed+1:], sig)
	}
	return unsafe.String(&out[0], len(out)), nil
}

// appendHeaderNames appends the header members "kid", "typ" and "cty"
// that JWS and JWE headers share, each left out when empty; a value that
// is not valid UTF-8 is ErrMalformed.
func appendHeaderNames(dst []byte, kid, typ, cty string) ([]byte, error) {
	for _, m := range [...]struct{ name, v string }{{"kid", kid}, {"typ", typ}, {"cty", cty}} {
		if m.v == "" {
			continue
		}
		dst = append(dst, `,"`...)
		dst = append(dst, m.name...)
		dst = append(dst, `":`...)
		var err error
		if dst, err = strictjson.AppendQuoted(dst, m.v); err != nil {
			return nil, fmt.Errorf("%w: header value is not valid UTF-8", ErrMalformed)
		}
	}
	return dst, nil
}

// appendHeader writes the protected header JSON.
func appendHeader(dst []byte, key *Key, opts SignOptions) ([]byte, error) {
	dst = append(dst, `{"alg":"`...)
	dst = append(dst, key.alg...)
	dst = append(dst, '"')
	kid := key.kid
	if opts.OmitKeyID {
		kid = ""
	}
	dst, err := appendHeaderNames(dst, kid, opts.Type, opts.ContentType)
	if err != nil {
		return nil, err
	}
	if opts.EmbedJWK {
		pub, err := key.Public()
		if err != nil {
			return nil, err
		}
		if dst, err = pub.appendJWK(append(dst, `,"jwk":`...), false); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

// Verify checks a compact JWS against the trusted keys and returns its
// header and payload.
//
// A key is selected by the header's "kid" when present (ErrUnknownKey if no
// such key is trusted); without "kid", the keys pinned to the header's
// "alg" are tried. The selected key's algorithm must equal the header's
// "alg" (ErrAlgorithmMismatch). The token must be strictly canonical:
// exactly three segments of unpadded base64url with zero trailing bits, a
// header that is a JSON object without duplicate members, no "crit" and no
// "b64": false. The payload is decoded only after the signature verifies.
// On error the header and payload are zero.
//
// opts is passed by value, as Sign's are; the zero VerifyOptions applies
// the defaults.
func Verify(token string, keys *KeySet, opts VerifyOptions) (Header, []byte, error) {
	max := DefaultMaxTokenSize
	if opts.MaxTokenSize > 0 {
		max = opts.MaxTokenSize
	}
	if len(token) > max {
		return Header{}, nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(token), max)
	}
	if keys == nil {
		return Header{}, nil, fmt.Errorf("%w: no trusted keys", ErrUnknownKey)
	}
	i := strings.IndexByte(token, '.')
	if i < 0 {
		return Header{}, nil, fmt.Errorf("%w: not a compact JWS (no '.')", ErrMalformed)
	}
	j := strings.IndexByte(token[i+1:], '.')
	if j < 0 {
		return Header{}, nil, fmt.Errorf("%w: not a compact JWS (one '.')", ErrMalformed)
	}
	j += i + 1
	if strings.IndexByte(token[j+1:], '.') >= 0 {
		return Header{}, nil, fmt.Errorf("%w: more than three segments (a JWE or garbage)", ErrMalformed)
	}
	// Tokens signed by one key nearly always share their header bytes, so
	// the result of strictly parsing the last header that verified is kept
	// and reused for a byte-identical header segment.
	seg := token[:i]
	var alg Algorithm
	var h rawHeader
	var typ, cty string
	memo := keys.memo.Load()
	if memo != nil && memo.seg == seg {
		alg, typ, cty = memo.alg, memo.typ, memo.cty
		h.kid, h.hasKid = bytesOf(memo.kid), memo.hasKid
	} else {
		memo = nil
		var hbuf [512]byte
		hraw, err := decodeSegment(hbuf[:0], seg, "header")
		if err != nil {
			return Header{}, nil, err
		}
		if alg, h, err = parseHeader(hraw); err != nil {
			return Header{}, nil, err
		}
		typ, cty = internName(h.typ), internName(h.cty)
	}
	var sbuf [1024]byte
	sig, err := decodeSegment(sbuf[:0], token[j+1:], "signature")
	if err != nil {
		return Header{}, nil, err
	}
	signed := bytesOf(token[:j])
	var key *Key
	if memo != nil && memo.key != nil {
		// The header names a kid that resolved to this key, of this
		// algorithm, when it was remembered; the set never changes.
		key = memo.key
		err = key.verify(signed, sig)
	} else {
		key, err = selectKey(keys, alg, h.kid, h.hasKid, signed, sig)
	}
	if err != nil {
		return Header{}, nil, err
	}
	payload, err := decodeSegment(nil, token[i+1:j], "payload")
	if err != nil {
		return Header{}, nil, err
	}
	// KeyID names the key that verified the token even when the header
	// had no "kid", so that what is decided per key (a key revocation)
	// cannot be dodged by leaving "kid" out.
	out := Header{Algorithm: key.alg, KeyID: key.kid, Type: typ, ContentType: cty}
	if memo == nil && len(seg) <= maxMemoHeader {
		m := &headerMemo{seg: strings.Clone(seg), alg: alg, kid: string(h.kid), hasKid: h.hasKid, typ: typ, cty: cty}
		if h.hasKid {
			m.key = key
		}
		keys.memo.Store(m)
	}
	return out, payload, nil
}

// maxMemoHeader is the longest encoded header Verify remembers.
const maxMemoHeader = 512

// headerMemo is the parse of one encoded header segment, remembered by a
// KeySet after a token with that header verified against it.
type headerMemo struct {
	seg      string
	alg      Algorithm
	kid      string
	hasKid   bool
	typ, cty string
	// key is the key kid selects, when the header has a kid: a KeySet is
	// immutable, so the lookup need not be repeated.
	key *Key
}

// selectKey finds the trusted key for h and checks the signature with it.
// Its parameters are separate values, not a rawHeader, so that the
// header buffer they point into stays on the caller's stack.
func selectKey(keys *KeySet, alg Algorithm, kid []byte, hasKid bool, signed, sig []byte) (*Key, error) {
	if hasKid {
		key := keys.lookupBytes(kid)
		if key == nil {
			return nil, fmt.Errorf("%w: kid %q", ErrUnknownKey, truncate(string(kid), 64))
		}
		if key.alg != alg {
			return nil, fmt.Errorf("%w: header alg %s, key %q is %s", ErrAlgorithmMismatch, alg, truncate(key.kid, 64), key.alg)
		}
		if err := key.verify(signed, sig); err != nil {
			return nil, err
		}
		return key, nil
	}
	var tried bool
	for _, key := range keys.keys {
		if key.alg != alg {
			continue
		}
		tried = true
		if key.verify(signed, sig) == nil {
			return key, nil
		}
	}
	if !tried {
		if keys.Len() == 0 {
			return nil, fmt.Errorf("%w: no trusted keys", ErrUnknownKey)
		}
		return nil, fmt.Errorf("%w: no trusted %s key", ErrAlgorithmMismatch, alg)
	}
	return nil, ErrSignature
}

// rawHeader is a parsed protected header whose byte fields alias the
// decoded header buffer. The algorithm travels separately (see parseHeader).
type rawHeader struct {
	kid    []byte
	hasKid bool
	typ    []byte
	cty    []byte
}

// parseHeader reads the protected header strictly. The algorithm is a
// separate result so that escape analysis can see it does not point into
// data, which lets the caller keep the header buffer on its stack.
func parseHeader(data []byte) (Algorithm, rawHeader, error) {
	var h rawHeader
	var alg Algorithm
	o := strictjson.NewObject(data)
	var hasAlg bool
	for o.Next(data) {
		v := o.Value()
		switch string(o.Name(data)) {
		case "alg":
			s, err := stringValue(data, v, "alg")
			if err != nil {
				return "", rawHeader{}, err
			}
			if alg, err = algFromBytes(s); err != nil {
				return "", rawHeader{}, err
			}
			hasAlg = true
		case "kid":
			s, err := stringValue(data, v, "kid")
			if err != nil {
				return "", rawHeader{}, err
			}
			h.kid, h.hasKid = s, true
		case "typ":
			s, err := stringValue(data, v, "typ")
			if err != nil {
				return "", rawHeader{}, err
			}
			h.typ = s
		case "cty":
			s, err := stringValue(data, v, "cty")
			if err != nil {
				return "", rawHeader{}, err
			}
			h.cty = s
		case "crit":
			// RFC 7515 §4.1.11: recipients must reject extensions they do
			// not understand. latch implements none.
			return "", rawHeader{}, fmt.Errorf("%w: crit %s", ErrCritical, truncate(string(v.Raw(data)), 64))
		case "b64":
			if v.Kind != strictjson.True {
				return "", rawHeader{}, fmt.Errorf("%w: b64 %s (RFC 7797 unencoded payload)", ErrCritical, truncate(string(v.Raw(data)), 16))
			}
		}
	}
	if err := o.Err(); err != nil {
		return "", rawHeader{}, jsonErr("header", err)
	}
	if !hasAlg {
		return "", rawHeader{}, fmt.Errorf("%w: header has no alg", ErrMalformed)
	}
	return alg, h, nil
}

// stringValue returns the text of a string member, allocating only when it
// has escapes.
func stringValue(data []byte, v strictjson.Value, name string) ([]byte, error) {
	if v.Kind != strictjson.String {
		return nil, fmt.Errorf("%w: header %s is not a string", ErrMalformed, name)
	}
	return strictjson.Unquote(data, v, nil), nil
}

// jsonErr maps a strictjson rejection to this package's kinds.
func jsonErr(part string, err error) error {
	if strictjsonDuplicate(err) {
		return fmt.Errorf("%w: %w: %s: %v", ErrMalformed, ErrDuplicateMember, part, err)
	}
	return fmt.Errorf("%w: %s: %v", ErrMalformed, part, err)
}

// internName returns common typ/cty values without allocating.
func internName(b []byte) string {
	switch string(b) {
	case "":
		return ""
	case "JWT":
		return "JWT"
	case "at+jwt":
		return "at+jwt"
	case "application/at+jwt":
		return "application/at+jwt"
	case "dpop+jwt":
		return "dpop+jwt"
	}
	return string(b)
}

// signatureSize is the length of this key's signatures in bytes.
func (k *Key) signatureSize() int {
	switch k.alg.family() {
	case famHMAC:
		return k.alg.hash().Size()
	case famRSA, famPSS:
		return k.rsaPub.Size()
	case famECDSA:
		return 2 * ecByteSize(k.alg)
	default:
		return ed25519.SignatureSize
	}
}

func ecByteSize(alg Algorithm) int {
	return (alg.curve().Params().BitSize + 7) / 8
}

// digest hashes data with the algorithm's hash into buf.
func digest(alg Algorithm, data []byte, buf *[64]byte) []byte {
	switch alg.hash().Size() {
	case 32:
		*(*[32]byte)(buf[:32]) = sha256.Sum256(data)
		return buf[:32]
	case 48:
		*(*[48]byte)(buf[:48]) = sha512.Sum384(data)
		return buf[:48]
	default:
		*buf = sha512.Sum512(data)
		return buf[:64]
	}
}

var pssOptions = rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}

// sign returns the signature of data.
func (k *Key) sign(data []byte) ([]byte, error) {
	var dbuf [64]byte
	switch k.alg.family() {
	case famHMAC:
		var mac []byte
		k.hmacDo(data, func(m []byte) bool { mac = append(mac, m...); return true })
		return mac, nil
	case famRSA:
		sig, err := rsa.SignPKCS1v15(nil, k.rsaPriv, k.alg.hash(), digest(k.alg, data, &dbuf))
		if err != nil {
			return nil, fmt.Errorf("jose: RSA signing: %w", err)
		}
		return sig, nil
	case famPSS:
		opts := pssOptions
		sig, err := rsa.SignPSS(rand.Reader, k.rsaPriv, k.alg.hash(), digest(k.alg, data, &dbuf), &opts)
		if err != nil {
			return nil, fmt.Errorf("jose: RSA-PSS signing: %w", err)
		}
		return sig, nil
	case famECDSA:
		r, s, err := ecdsa.Sign(rand.Reader, k.ecPriv, digest(k.alg, data, &dbuf))
		if err != nil {
			return nil, fmt.Errorf("jose: ECDSA signing: %w", err)
		}
		n := ecByteSize(k.alg)
		sig := make([]byte, 2*n)
		r.FillBytes(sig[:n])
		s.FillBytes(sig[n:])
		return sig, nil
	default:
		return ed25519.Sign(k.edPriv, data), nil
	}
}

// verify checks sig over data with k's algorithm.
func (k *Key) verify(data, sig []byte) error {
	if len(sig) != k.signatureSize() {
		return fmt.Errorf("%w: %d-byte signature, %s needs %d", ErrSignature, len(sig), k.alg, k.signatureSize())
	}
	if k.secret != nil {
		if !k.hmacDo(data, func(mac []byte) bool { return hmac.Equal(mac, sig) }) {
			return ErrSignature
		}
		return nil
	}
	if k.alg.family() == famEdDSA {
		if k.edPub == nil || !ed25519.Verify(k.edPub, data, sig) {
			return ErrSignature
		}
		return nil
	}
	var dbuf [64]byte
	switch k.alg.family() {
	case famRSA:
		if rsa.VerifyPKCS1v15(k.rsaPub, k.alg.hash(), digest(k.alg, data, &dbuf), sig) != nil {
			return ErrSignature
		}
	case famPSS:
		opts := pssOptions
		if rsa.VerifyPSS(k.rsaPub, k.alg.hash(), digest(k.alg, data, &dbuf), sig, &opts) != nil {
			return ErrSignature
		}
	case famECDSA:
		n := len(sig) / 2
		order := curveOrder(k.alg)
		if !scalarInRange(sig[:n], order) || !scalarInRange(sig[n:], order) {
			return fmt.Errorf("%w: ECDSA r or s outside [1, n-1]", ErrSignature)
		}
		var der [160]byte
		if !ecdsa.VerifyASN1(k.ecPub, digest(k.alg, data, &dbuf), appendDERSignature(der[:0], sig[:n], sig[n:])) {
			return ErrSignature
		}
	}
	return nil
}
