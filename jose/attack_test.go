package jose_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"maps"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latch-auth/latch/jose"
)

// attack is one negative vector: Verify(token, keys, opts) must fail with an
// error matching every sentinel in want (exactly one of them a documented
// kind), a zero Header and a nil payload.
type attack struct {
	name  string
	token string
	keys  *jose.KeySet
	opts  jose.VerifyOptions
	want  []error
	// control, when set, is the same token crafted the same way minus the
	// attack; it must verify, which shows the crafting is sound and the
	// attack alone causes the rejection.
	control string
}

// errorsByName maps the sentinel names used in testdata/attacks.
var errorsByName = map[string]error{
	"ErrMalformed":            jose.ErrMalformed,
	"ErrNonCanonical":         jose.ErrNonCanonical,
	"ErrDuplicateMember":      jose.ErrDuplicateMember,
	"ErrTooLarge":             jose.ErrTooLarge,
	"ErrUnsupportedAlgorithm": jose.ErrUnsupportedAlgorithm,
	"ErrAlgorithmMismatch":    jose.ErrAlgorithmMismatch,
	"ErrUnknownKey":           jose.ErrUnknownKey,
	"ErrSignature":            jose.ErrSignature,
	"ErrCritical":             jose.ErrCritical,
}

// attackFile is one file of testdata/attacks; see its README.
type attackFile struct {
	Description string         `json:"description"`
	Vectors     []attackVector `json:"vectors"`
}

type attackVector struct {
	Name   string   `json:"name"`
	Header string   `json:"header"`
	Token  string   `json:"token"`
	Keys   []string `json:"keys"`
	MAC    string   `json:"mac"`
	Want   []string `json:"want"`
}

// loadAttackVectors reads testdata/attacks/*.json, keyed by "file/name".
func loadAttackVectors(t testing.TB) map[string]attackVector {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "attacks", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no vectors in testdata/attacks: %v", err)
	}
	vs := make(map[string]attackVector)
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var f attackFile
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, v := range f.Vectors {
			name := strings.TrimSuffix(filepath.Base(file), ".json") + "/" + v.Name
			if _, dup := vs[name]; dup {
				t.Fatalf("%s: two vectors named %q", file, v.Name)
			}
			vs[name] = v
		}
	}
	return vs
}

// rfcKeys returns the trusted keys the attack files name, built from the
// RFC examples in testdata/vectors.
func rfcKeys(t testing.TB) map[string]*jose.Key {
	t.Helper()
	byFile := make(map[string]rfcVector)
	for _, v := range loadRFCVectors(t) {
		byFile[v.file] = v
	}
	key := func(file, kid string) *jose.Key {
		v := byFile[file]
		return publicHalf(t, jwkKey(t, v.Key, jose.Algorithm(v.Alg))).WithKeyID(kid)
	}
	return map[string]*jose.Key{
		"rfc7515-a1": key("rfc7515-a1-hs256.json", "rfc7515-a1"),
		"rfc7515-a2": key("rfc7515-a2-rs256.json", "rfc7515-a2"),
		"rfc7515-a3": key("rfc7515-a3-es256.json", "rfc7515-a3"),
	}
}

// macSecrets returns the HMAC secrets the attack files name.
func macSecrets(t testing.TB) map[string][]byte {
	t.Helper()
	byFile := make(map[string]rfcVector)
	for _, v := range loadRFCVectors(t) {
		byFile[v.file] = v
	}
	a2 := byFile["rfc7515-a2-rs256.json"].Key
	pub := &rsa.PublicKey{N: new(big.Int).SetBytes(decodeSegment(t, a2["n"])), E: 65537}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	a3 := byFile["rfc7515-a3-es256.json"].Key
	return map[string][]byte{
		"rfc7515-a1":          decodeSegment(t, byFile["rfc7515-a1-hs256.json"].Key["k"]),
		"rfc7515-a2-pkix-pem": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
		"rfc7515-a2-modulus":  pub.N.Bytes(),
		"rfc7515-a3-point":    slices.Concat([]byte{4}, decodeSegment(t, a3["x"]), decodeSegment(t, a3["y"])),
		"empty":               {},
	}
}

// lenientDecode decodes a segment the way a careless verifier would:
// ignoring white space, padding, the alphabet and trailing bits.
func lenientDecode(seg string) ([]byte, error) {
	seg = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n', '=':
			return -1
		case '+':
			return '-'
		case '/':
			return '_'
		}
		return r
	}, seg)
	return base64.RawURLEncoding.DecodeString(seg)
}

// TestAttackVectorsAreWellFormed checks testdata/attacks against itself:
// each header is what the token carries, each mac is a valid HMAC of the
// token's signing input, and each want is a known sentinel.
func TestAttackVectorsAreWellFormed(t *testing.T) {
	keys := rfcKeys(t)
	secrets := macSecrets(t)
	for name, v := range loadAttackVectors(t) {
		t.Run(name, func(t *testing.T) {
			if v.Header != "" {
				got, err := lenientDecode(strings.Split(v.Token, ".")[0])
				if err != nil || string(got) != v.Header {
					t.Errorf("header segment decodes to %q, %v; the file says %q", got, err, v.Header)
				}
			}
			if v.MAC != "" {
				secret, ok := secrets[v.MAC]
				if !ok {
					t.Fatalf("unknown mac secret %q", v.MAC)
				}
				dot := strings.LastIndexByte(v.Token, '.')
				sig, err := lenientDecode(v.Token[dot+1:])
				m := hmac.New(sha256.New, secret)
				m.Write([]byte(v.Token[:dot]))
				if err != nil || !hmac.Equal(sig, m.Sum(nil)) {
					t.Errorf("signature is not the HMAC of the signing input under %q", v.MAC)
				}
			}
			for _, k := range v.Keys {
				if keys[k] == nil {
					t.Errorf("unknown key %q", k)
				}
			}
			if len(v.Want) == 0 {
				t.Errorf("no expected error")
			}
			for _, w := range v.Want {
				if errorsByName[w] == nil {
					t.Errorf("unknown error %q", w)
				}
			}
		})
	}
}

// craft returns the compact JWS of a raw header JSON and a payload, with
// the signature that sign computes over the signing input.
func craft(header string, payload []byte, sign func(signingInput []byte) []byte) string {
	in := base64.RawURLEncoding.EncodeToString([]byte(header)) + "." + base64.RawURLEncoding.EncodeToString(payload)
	return in + "." + base64.RawURLEncoding.EncodeToString(sign([]byte(in)))
}

// withSig replaces the signature of a token by raw.
func withSig(tok string, raw []byte) string {
	return tok[:strings.LastIndexByte(tok, '.')+1] + base64.RawURLEncoding.EncodeToString(raw)
}

func hmacSigner(secret []byte) func([]byte) []byte {
	return func(in []byte) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(in)
		return m.Sum(nil)
	}
}

func fixedSig(sig []byte) func([]byte) []byte { return func([]byte) []byte { return sig } }

// ecdsaSigner signs with the JWS encoding (RFC 7518 §3.4): r || s, each
// the curve's byte length, over the hash matching the curve.
func ecdsaSigner(priv *ecdsa.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte {
		r, s, err := ecdsa.Sign(rand.Reader, priv, ecHash(priv.Curve, in))
		if err != nil {
			panic(err)
		}
		n := (priv.Curve.Params().BitSize + 7) / 8
		sig := make([]byte, 2*n)
		r.FillBytes(sig[:n])
		s.FillBytes(sig[n:])
		return sig
	}
}

func ecHash(c elliptic.Curve, in []byte) []byte {
	switch c.Params().BitSize {
	case 256:
		h := sha256.Sum256(in)
		return h[:]
	case 384:
		h := sha512.Sum384(in)
		return h[:]
	}
	h := sha512.Sum512(in)
	return h[:]
}

// derSigner signs with ASN.1 DER, what crypto/ecdsa and X.509 use and JWS
// does not.
func derSigner(priv *ecdsa.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte {
		sig, err := ecdsa.SignASN1(rand.Reader, priv, ecHash(priv.Curve, in))
		if err != nil {
			panic(err)
		}
		return sig
	}
}

// mutate returns a signer that post-processes another's signature.
func mutate(sign func([]byte) []byte, f func(sig []byte) []byte) func([]byte) []byte {
	return func(in []byte) []byte { return f(sign(in)) }
}

func ed25519Signer(priv ed25519.PrivateKey) func([]byte) []byte {
	return func(in []byte) []byte { return ed25519.Sign(priv, in) }
}

// ed25519Order is L, the order of the Ed25519 base point, little-endian as
// the S half of a signature is encoded.
var ed25519Order = func() []byte {
	l, _ := new(big.Int).SetString("7237005577332262213973186563042994240857116359379907606001950938285454250989", 10)
	b := l.FillBytes(make([]byte, 32))
	slices.Reverse(b)
	return b
}()

// addOrderToS returns sig with L added to S: the same point equation, a
// non-canonical encoding that RFC 8032 §5.1.7 requires verifiers to refuse.
func addOrderToS(sig []byte) []byte {
	out := slices.Clone(sig)
	carry := 0
	for i := range 32 {
		v := int(out[32+i]) + int(ed25519Order[i]) + carry
		out[32+i], carry = byte(v), v>>8
	}
	return out
}

// addOrderToR returns an ES512 signature with n added to r: the same
// residue, out of the range [1, n-1] that verifiers must enforce.
func addOrderToR(sig []byte) []byte {
	n := elliptic.P521().Params().N
	size := len(sig) / 2
	r := new(big.Int).SetBytes(sig[:size])
	r.Add(r, n)
	out := slices.Clone(sig)
	r.FillBytes(out[:size])
	return out
}

func flipBit(b []byte) []byte {
	out := slices.Clone(b)
	out[len(out)/2] ^= 0x01
	return out
}

// ecJWK is the public JWK of k.
func ecJWK(pub *ecdsa.PublicKey) string {
	point, err := pub.Bytes()
	if err != nil {
		panic(err)
	}
	n := (len(point) - 1) / 2
	b64 := base64.RawURLEncoding.EncodeToString
	return `{"kty":"EC","crv":"P-256","x":"` + b64(point[1:1+n]) + `","y":"` + b64(point[1+n:]) + `"}`
}

// TestAttacks is the table of known attacks on JWS verifiers. Each must be
// rejected, and for the documented reason.
func TestAttacks(t *testing.T) {
	// Trusted keys, fresh for every run.
	hsSecret := make([]byte, 32)
	rand.Read(hsSecret)
	hsKey, err := jose.NewHMACKey(jose.HS256, hsSecret)
	if err != nil {
		t.Fatal(err)
	}
	hsKey = hsKey.WithKeyID("hs256")
	es256Priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	es384Priv, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	es512Priv, _ := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	keyOf := func(k *jose.Key, err error) *jose.Key {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	es256Key := keyOf(jose.NewECDSAPrivateKey(es256Priv)).WithKeyID("es256")
	es384Key := keyOf(jose.NewECDSAPrivateKey(es384Priv)).WithKeyID("es384")
	es512Key := keyOf(jose.NewECDSAPrivateKey(es512Priv)).WithKeyID("es512")
	edKey := keyOf(jose.NewEd25519PrivateKey(edPriv)).WithKeyID("ed")
	rs256Key := signingKey(t, jose.RS256, "rs256")
	ps256Key := signingKey(t, jose.PS256, "ps256")
	// HMAC secrets and public keys cannot share a set: the mixed set is
	// itself refused (Wycheproof "MixedKeySet"), so each attack runs
	// against the set its target key belongs to.
	if s, err := jose.NewKeySet(hsKey, publicHalf(t, es256Key), publicHalf(t, rs256Key)); !errors.Is(err, jose.ErrInvalidKey) {
		t.Errorf("NewKeySet(HMAC secret, ES256 and RS256 public keys) = %v, %v; want rejection with %v", s, err, jose.ErrInvalidKey)
	}
	secrets := trustSet(t, hsKey)
	public := trustSet(t, es256Key, es384Key, es512Key, edKey, rs256Key, ps256Key)
	es256Point, _ := es256Priv.PublicKey.Bytes()

	// The attacker's keys.
	evilES256, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	evilES384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	_, evilEd, _ := ed25519.GenerateKey(rand.Reader)
	certDER, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "latch-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}, &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "latch-test"}}, &evilES256.PublicKey, evilES256)
	if err != nil {
		t.Fatal(err)
	}
	// A server with the attacker's keys, for jku and x5u: nothing may
	// ever fetch from it.
	var fetched atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetched.Add(1)
		w.Write([]byte(`{"keys":[` + ecJWK(&evilES256.PublicKey) + `]}`))
	}))
	t.Cleanup(srv.Close)

	claims := []byte(`{"sub":"admin","exp":4102444800}`)
	userTok := signOrFail(t, hsKey, []byte(`{"sub":"user"}`), jose.SignOptions{})
	adminTok := signOrFail(t, hsKey, []byte(`{"sub":"admin"}`), jose.SignOptions{})
	typTok := signOrFail(t, hsKey, []byte(`{"sub":"user"}`), jose.SignOptions{Type: "JWT"})
	esUser := signOrFail(t, es256Key, []byte(`{"sub":"user"}`), jose.SignOptions{})
	esAdmin := signOrFail(t, es256Key, []byte(`{"sub":"admin"}`), jose.SignOptions{})
	seg := func(tok string, i int) string { return strings.Split(tok, ".")[i] }
	sigOf := func(tok string) []byte { return decodeSegment(t, seg(tok, 2)) }
	flipped := func(k *jose.Key) string {
		tok := signOrFail(t, k, claims, jose.SignOptions{})
		return withSig(tok, flipBit(sigOf(tok)))
	}
	es256Order := elliptic.P256().Params().N.FillBytes(make([]byte, 32))
	hsTrusted := hmacSigner(hsSecret)
	es256Valid := ecdsaSigner(es256Priv)
	es512Valid := ecdsaSigner(es512Priv)
	bigKid := strings.Repeat("k", 10<<10)
	hugeKid := strings.Repeat("k", 13<<10)
	pss := func(in []byte) []byte {
		h := sha256.Sum256(in)
		sig, err := rsa.SignPSS(rand.Reader, testRSA(), crypto.SHA256, h[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		if err != nil {
			panic(err)
		}
		return sig
	}
	empty := mustNewKeySet(t)

	attacks := []attack{
		// ECDSA signature values (CVE-2022-21449 and kin).
		{name: "ES256 r = s = 0 (psychic signature)",
			token: craft(`{"alg":"ES256","kid":"es256"}`, claims, fixedSig(make([]byte, 64))), keys: public, want: []error{jose.ErrSignature},
			control: craft(`{"alg":"ES256","kid":"es256"}`, claims, es256Valid)},
		{name: "ES256 r = s = 0 without kid",
			token: craft(`{"alg":"ES256"}`, claims, fixedSig(make([]byte, 64))), keys: public, want: []error{jose.ErrSignature},
			control: craft(`{"alg":"ES256"}`, claims, es256Valid)},
		{name: "ES256 r = s = n",
			token: craft(`{"alg":"ES256","kid":"es256"}`, claims, fixedSig(slices.Concat(es256Order, es256Order))), keys: public, want: []error{jose.ErrSignature}},
		{name: "ES256 r = 0, valid s",
			token: craft(`{"alg":"ES256","kid":"es256"}`, claims, mutate(es256Valid, func(s []byte) []byte { clear(s[:32]); return s })), keys: public, want: []error{jose.ErrSignature}},
		{name: "ES256 valid r, s = n",
			token: craft(`{"alg":"ES256","kid":"es256"}`, claims, mutate(es256Valid, func(s []byte) []byte { copy(s[32:], es256Order); return s })), keys: public, want: []error{jose.ErrSignature}},
		{name: "ES256 r = s = 1",
			token: craft(`{"alg":"ES256","kid":"es256"}`, claims, fixedSig(slices.Concat(make([]byte, 31), []byte{1}, make([]byte, 31), []byte{1}))), keys: public, want: []error{jose.ErrSignature}},
		{name: "ES256 r = s = 2^256 - 1",
			token: craft(`{"alg":"ES256","kid":"es256"}`, claims, fixedSig(bytes.Repeat([]byte{0xff}, 64))), keys: public, want: []error{jose.ErrSignature}},
		{name: "ES256 r and s swapped",
			token: craft(`{"alg":"ES256","kid":"es256"}`, claims, mutate(es256Valid, func(s []byte) []byte { return slices.Concat(s[32:], s[:32]) })), keys: public, want: []error{jose.ErrSignature}},
		{name: "ES256 signature of 63 bytes",
			token: craft(`{"alg":"ES256","kid":"es256"}`, claims, mutate(es256Valid, func(s []byte) []byte { return s[:63] })), keys: public, want: []error{jose.ErrSignature}},
		{name: "ES256 signature of 65 bytes",
			token: craft(`{"alg":"ES256","kid":"es256"}`, claims, mutate(es256Valid, func(s []byte) []byte { return append(s, 0) })), keys: public, want: []error{jose.ErrSignature}},
		{name: "ES256 signature of 64 zero-padded bytes per scalar",
			token: craft(`{"alg":"ES256","kid":"es256"}`, claims, mutate(es256Valid, func(s []byte) []byte {
				return slices.Concat(make([]byte, 32), s[:32], make([]byte, 32), s[32:])
			})), keys: public, want: []error{jose.ErrSignature}},
		{name: "ES256 ASN.1 DER signature",
			token: craft(`{"alg":"ES256","kid":"es256"}`, claims, derSigner(es256Priv)), keys: public, want: []error{jose.ErrSignature}},
		{name: "ES256 empty signature",
			token: craft(`{"alg":"ES256","kid":"es256"}`, claims, fixedSig(nil)), keys: public, want: []error{jose.ErrSignature}},
		{name: "ES384 r = s = 0",
			token: craft(`{"alg":"ES384","kid":"es384"}`, claims, fixedSig(make([]byte, 96))), keys: public, want: []error{jose.ErrSignature},
			control: craft(`{"alg":"ES384","kid":"es384"}`, claims, ecdsaSigner(es384Priv))},
		{name: "ES512 r = s = 0",
			token: craft(`{"alg":"ES512","kid":"es512"}`, claims, fixedSig(make([]byte, 132))), keys: public, want: []error{jose.ErrSignature},
			control: craft(`{"alg":"ES512","kid":"es512"}`, claims, es512Valid)},
		{name: "ES512 r + n (unreduced scalar)",
			token: craft(`{"alg":"ES512","kid":"es512"}`, claims, mutate(es512Valid, addOrderToR)), keys: public, want: []error{jose.ErrSignature},
			control: craft(`{"alg":"ES512","kid":"es512"}`, claims, es512Valid)},

		// Ed25519 signature values.
		{name: "EdDSA S + L (malleable signature)",
			token: craft(`{"alg":"EdDSA","kid":"ed"}`, claims, mutate(ed25519Signer(edPriv), addOrderToS)), keys: public, want: []error{jose.ErrSignature},
			control: craft(`{"alg":"EdDSA","kid":"ed"}`, claims, ed25519Signer(edPriv))},
		{name: "EdDSA all-zero signature",
			token: craft(`{"alg":"EdDSA","kid":"ed"}`, claims, fixedSig(make([]byte, 64))), keys: public, want: []error{jose.ErrSignature}},
		{name: "EdDSA signature of 63 bytes",
			token: craft(`{"alg":"EdDSA","kid":"ed"}`, claims, mutate(ed25519Signer(edPriv), func(s []byte) []byte { return s[:63] })), keys: public, want: []error{jose.ErrSignature}},

		// The token brings or points to its own key.
		{name: "embedded jwk, attacker's kid",
			token: craft(`{"alg":"ES256","kid":"attacker","jwk":`+ecJWK(&evilES256.PublicKey)+`}`, claims, ecdsaSigner(evilES256)), keys: public, want: []error{jose.ErrUnknownKey}},
		{name: "embedded jwk, trusted kid",
			token: craft(`{"alg":"ES256","kid":"es256","jwk":`+ecJWK(&evilES256.PublicKey)+`}`, claims, ecdsaSigner(evilES256)), keys: public, want: []error{jose.ErrSignature},
			control: craft(`{"alg":"ES256","kid":"es256","jwk":`+ecJWK(&evilES256.PublicKey)+`}`, claims, es256Valid)},
		{name: "embedded jwk, no kid",
			token: craft(`{"alg":"ES256","jwk":`+ecJWK(&evilES256.PublicKey)+`}`, claims, ecdsaSigner(evilES256)), keys: public, want: []error{jose.ErrSignature}},
		{name: "embedded jwk of the trusted key, attacker's signature",
			token: craft(`{"alg":"ES256","kid":"es256","jwk":`+ecJWK(&es256Priv.PublicKey)+`}`, claims, ecdsaSigner(evilES256)), keys: public, want: []error{jose.ErrSignature}},
		{name: "jku to the attacker's JWKS, attacker's kid",
			token: craft(`{"alg":"ES256","kid":"attacker","jku":"`+srv.URL+`/jwks.json"}`, claims, ecdsaSigner(evilES256)), keys: public, want: []error{jose.ErrUnknownKey}},
		{name: "jku to the attacker's JWKS, trusted kid",
			token: craft(`{"alg":"ES256","kid":"es256","jku":"`+srv.URL+`/jwks.json"}`, claims, ecdsaSigner(evilES256)), keys: public, want: []error{jose.ErrSignature}},
		{name: "jku, no kid",
			token: craft(`{"alg":"ES256","jku":"`+srv.URL+`/jwks.json"}`, claims, ecdsaSigner(evilES256)), keys: public, want: []error{jose.ErrSignature}},
		{name: "x5u to the attacker's certificate, attacker's kid",
			token: craft(`{"alg":"ES256","kid":"attacker","x5u":"`+srv.URL+`/cert.pem"}`, claims, ecdsaSigner(evilES256)), keys: public, want: []error{jose.ErrUnknownKey}},
		{name: "x5u to the attacker's certificate, trusted kid",
			token: craft(`{"alg":"ES256","kid":"es256","x5u":"`+srv.URL+`/cert.pem"}`, claims, ecdsaSigner(evilES256)), keys: public, want: []error{jose.ErrSignature}},
		{name: "x5c with the attacker's self-signed certificate, trusted kid",
			token: craft(`{"alg":"ES256","kid":"es256","x5c":["`+base64.StdEncoding.EncodeToString(certDER)+`"]}`, claims, ecdsaSigner(evilES256)), keys: public, want: []error{jose.ErrSignature}},
		{name: "x5c with the attacker's self-signed certificate, no kid",
			token: craft(`{"alg":"ES256","x5c":["`+base64.StdEncoding.EncodeToString(certDER)+`"]}`, claims, ecdsaSigner(evilES256)), keys: public, want: []error{jose.ErrSignature}},

		// The header's alg disagrees with the key the kid selects.
		{name: "HS256 with the ES256 key's kid, HMAC keyed with its public point",
			token: craft(`{"alg":"HS256","kid":"es256"}`, claims, hmacSigner(es256Point)), keys: public, want: []error{jose.ErrAlgorithmMismatch}},
		{name: "HS256 without kid in a set without HMAC keys, HMAC keyed with a public point",
			token: craft(`{"alg":"HS256"}`, claims, hmacSigner(es256Point)), keys: trustSet(t, es256Key, edKey), want: []error{jose.ErrAlgorithmMismatch}},
		{name: "EdDSA with the HMAC key's kid",
			token: craft(`{"alg":"EdDSA","kid":"hs256"}`, claims, ed25519Signer(evilEd)), keys: secrets, want: []error{jose.ErrAlgorithmMismatch}},
		{name: "HS256 with the EdDSA key's kid, HMAC keyed with the public key",
			token: craft(`{"alg":"HS256","kid":"ed"}`, claims, hmacSigner(edPriv.Public().(ed25519.PublicKey))), keys: public, want: []error{jose.ErrAlgorithmMismatch}},
		{name: "ES384 with the ES256 key's kid",
			token: craft(`{"alg":"ES384","kid":"es256"}`, claims, ecdsaSigner(evilES384)), keys: public, want: []error{jose.ErrAlgorithmMismatch}},
		{name: "PS256 with the RS256 key's kid, PSS signature by that RSA key",
			token: craft(`{"alg":"PS256","kid":"rs256"}`, claims, pss), keys: public, want: []error{jose.ErrAlgorithmMismatch},
			control: craft(`{"alg":"PS256","kid":"ps256"}`, claims, pss)},
		{name: "algorithm no trusted key has, no kid",
			token: craft(`{"alg":"PS512"}`, claims, fixedSig(make([]byte, 256))), keys: public, want: []error{jose.ErrAlgorithmMismatch}},

		// Key IDs and sizes.
		{name: "kid of 10 KiB",
			token: craft(`{"alg":"HS256","kid":"`+bigKid+`"}`, claims, hsTrusted), keys: secrets, want: []error{jose.ErrUnknownKey},
			control: craft(`{"alg":"HS256","kid":"hs256"}`, claims, hsTrusted)},
		{name: "kid of 13 KiB, token over 16 KiB",
			token: craft(`{"alg":"HS256","kid":"`+hugeKid+`"}`, claims, hsTrusted), keys: secrets, want: []error{jose.ErrTooLarge}},
		{name: "trusted kid spelled with escapes",
			token: craft(`{"alg":"HS256","kid":"\u0068s256"}`, claims, fixedSig(make([]byte, 32))), keys: secrets, want: []error{jose.ErrSignature},
			control: craft(`{"alg":"HS256","kid":"\u0068s256"}`, claims, hsTrusted)},
		{name: "valid token of 16 KiB + 1 byte",
			token: tokenOfLength(t, hsKey, jose.DefaultMaxTokenSize+1), keys: secrets, want: []error{jose.ErrTooLarge},
			control: tokenOfLength(t, hsKey, jose.DefaultMaxTokenSize)},
		{name: "1 MiB of dots",
			token: strings.Repeat(".", 1<<20), keys: secrets, want: []error{jose.ErrTooLarge}},
		{name: "valid token over a custom MaxTokenSize",
			token: tokenOfLength(t, hsKey, 257), keys: secrets, opts: jose.VerifyOptions{MaxTokenSize: 256}, want: []error{jose.ErrTooLarge}},
		{name: "valid token over a custom MaxTokenSize below the default",
			token: tokenOfLength(t, hsKey, 4096), keys: secrets, opts: jose.VerifyOptions{MaxTokenSize: 1024}, want: []error{jose.ErrTooLarge}},

		// Parts of valid tokens recombined.
		{name: "payload swapped from another valid token",
			token: seg(userTok, 0) + "." + seg(adminTok, 1) + "." + seg(userTok, 2), keys: secrets, want: []error{jose.ErrSignature}},
		{name: "payload swapped from another valid ES256 token",
			token: seg(esUser, 0) + "." + seg(esAdmin, 1) + "." + seg(esUser, 2), keys: public, want: []error{jose.ErrSignature}},
		{name: "signature from another valid token",
			token: seg(userTok, 0) + "." + seg(userTok, 1) + "." + seg(adminTok, 2), keys: secrets, want: []error{jose.ErrSignature}},
		{name: "header from another valid token",
			token: seg(typTok, 0) + "." + seg(userTok, 1) + "." + seg(userTok, 2), keys: secrets, want: []error{jose.ErrSignature}},
		{name: "payload bit flipped",
			token: seg(userTok, 0) + "." + base64.RawURLEncoding.EncodeToString(flipBit([]byte(`{"sub":"user"}`))) + "." + seg(userTok, 2), keys: secrets, want: []error{jose.ErrSignature}},
		{name: "HS256 signature bit flipped", token: flipped(hsKey), keys: secrets, want: []error{jose.ErrSignature}},
		{name: "ES256 signature bit flipped", token: flipped(es256Key), keys: public, want: []error{jose.ErrSignature}},
		{name: "ES512 signature bit flipped", token: flipped(es512Key), keys: public, want: []error{jose.ErrSignature}},
		{name: "EdDSA signature bit flipped", token: flipped(edKey), keys: public, want: []error{jose.ErrSignature}},
		{name: "RS256 signature bit flipped", token: flipped(rs256Key), keys: public, want: []error{jose.ErrSignature}},
		{name: "PS256 signature bit flipped", token: flipped(ps256Key), keys: public, want: []error{jose.ErrSignature}},

		// No trusted keys.
		{name: "empty key set", token: userTok, keys: empty, want: []error{jose.ErrUnknownKey}},
		{name: "empty key set, no kid", token: signOrFail(t, hsKey, claims, jose.SignOptions{OmitKeyID: true}), keys: empty, want: []error{jose.ErrUnknownKey}},
		{name: "nil key set", token: userTok, keys: nil, want: []error{jose.ErrUnknownKey}},
	}

	// The crafted tokens of testdata/attacks, with the RFC keys.
	keys := rfcKeys(t)
	files := loadAttackVectors(t)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		v := files[name]
		var set []*jose.Key
		for _, k := range v.Keys {
			set = append(set, keys[k])
		}
		a := attack{name: name, token: v.Token, keys: mustNewKeySet(t, set...)}
		for _, w := range v.Want {
			a.want = append(a.want, errorsByName[w])
		}
		attacks = append(attacks, a)
	}

	for _, tt := range attacks {
		t.Run(tt.name, func(t *testing.T) {
			if tt.control != "" {
				if _, _, err := jose.Verify(tt.control, tt.keys, tt.opts); err != nil {
					t.Fatalf("control token without the attack does not verify: %v", err)
				}
			}
			h, p, err := jose.Verify(tt.token, tt.keys, tt.opts)
			if err == nil {
				t.Fatalf("Verify(%.80q) = %+v, %q, nil; want rejection with %v", tt.token, h, p, tt.want)
			}
			for _, w := range tt.want {
				if !errors.Is(err, w) {
					t.Errorf("Verify(%.80q) = %v, want %v", tt.token, err, w)
				}
			}
			if ks := kindsOf(err); len(ks) != 1 {
				t.Errorf("Verify(%.80q) = %v, matching kinds %v, want exactly one", tt.token, err, ks)
			}
			if h != (jose.Header{}) || p != nil {
				t.Errorf("Verify(%.80q) = %+v, %q with error %v, want zero values", tt.token, h, p, err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "jose: ") {
				t.Errorf("error text %q does not start with \"jose: \"", msg)
			}
			if parts := strings.Split(tt.token, "."); len(parts) == 3 {
				for _, s := range parts[1:] {
					if len(s) >= 16 && strings.Contains(msg, s) {
						t.Errorf("error text %q contains a token segment", msg)
					}
				}
			}
		})
	}
	if n := fetched.Load(); n != 0 {
		t.Errorf("Verify fetched %d URLs named in token headers, want none", n)
	}
}
