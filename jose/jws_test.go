package jose_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/latch-auth/latch/jose"
)

// verifyKinds are the documented kinds of a Verify error; each rejection
// matches exactly one.
var verifyKinds = []error{
	jose.ErrMalformed, jose.ErrTooLarge, jose.ErrUnsupportedAlgorithm, jose.ErrAlgorithmMismatch,
	jose.ErrUnknownKey, jose.ErrSignature, jose.ErrCritical,
}

// kindsOf returns the verifyKinds err matches.
func kindsOf(err error) []error {
	var ks []error
	for _, k := range verifyKinds {
		if errors.Is(err, k) {
			ks = append(ks, k)
		}
	}
	return ks
}

// testRSA is one 2048-bit RSA key shared by the RS* and PS* tests, so that
// the suite does not generate six.
var testRSA = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// signingKey returns a new private key (or secret) for alg with key ID kid.
func signingKey(t testing.TB, alg jose.Algorithm, kid string) *jose.Key {
	t.Helper()
	var k *jose.Key
	var err error
	switch alg {
	case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
		k, err = jose.NewRSAPrivateKey(alg, testRSA())
	default:
		k, err = jose.GenerateKey(alg)
	}
	if err != nil {
		t.Fatalf("new %s key: %v", alg, err)
	}
	return k.WithKeyID(kid)
}

// publicHalf returns what a verifier holds for k: the public key, or the
// secret itself for HMAC.
func publicHalf(t testing.TB, k *jose.Key) *jose.Key {
	t.Helper()
	if k.IsSymmetric() {
		return k
	}
	pub, err := k.Public()
	if err != nil {
		t.Fatalf("%v.Public(): %v", k, err)
	}
	return pub
}

// trustSet returns a key set of the public halves of keys.
func trustSet(t testing.TB, keys ...*jose.Key) *jose.KeySet {
	t.Helper()
	pubs := make([]*jose.Key, len(keys))
	for i, k := range keys {
		pubs[i] = publicHalf(t, k)
	}
	s, err := jose.NewKeySet(pubs...)
	if err != nil {
		t.Fatalf("NewKeySet: %v", err)
	}
	return s
}

// trustSets splits keys into a set of the HMAC secrets and a set of the
// public halves of the others: the two kinds cannot share a set.
func trustSets(t testing.TB, keys ...*jose.Key) (secrets, public *jose.KeySet) {
	t.Helper()
	var sym, asym []*jose.Key
	for _, k := range keys {
		if k.IsSymmetric() {
			sym = append(sym, k)
		} else {
			asym = append(asym, k)
		}
	}
	return trustSet(t, sym...), trustSet(t, asym...)
}

func signOrFail(t testing.TB, k *jose.Key, payload []byte, opts jose.SignOptions) string {
	t.Helper()
	tok, err := jose.Sign(k, payload, opts)
	if err != nil {
		t.Fatalf("Sign(%v, %q, %+v): %v", k, payload, opts, err)
	}
	return tok
}

// segments splits a compact JWS into its three segments.
func segments(t testing.TB, tok string) (header, payload, sig string) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q has %d segments, want 3", tok, len(parts))
	}
	return parts[0], parts[1], parts[2]
}

func decodeSegment(t testing.TB, seg string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil {
		t.Fatalf("decoding segment %q: %v", seg, err)
	}
	return b
}

// signatureSize is the length of an alg signature made with testRSA or a
// generated key.
func signatureSize(alg jose.Algorithm) int {
	switch alg {
	case jose.HS256:
		return 32
	case jose.HS384:
		return 48
	case jose.HS512, jose.ES256, jose.EdDSA:
		return 64
	case jose.ES384:
		return 96
	case jose.ES512:
		return 132
	}
	return 256 // RSA-2048
}

// rfcVector is one published example of testdata/vectors.
type rfcVector struct {
	file          string
	Name          string            `json:"name"`
	Key           map[string]string `json:"key"`
	Token         string            `json:"token"`
	Payload       string            `json:"payload"`
	Alg           string            `json:"alg"`
	Deterministic bool              `json:"deterministic"`
	Expect        string            `json:"expect"`
}

func loadRFCVectors(t testing.TB) []rfcVector {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "vectors", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no vectors in testdata/vectors: %v", err)
	}
	var vs []rfcVector
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var v rfcVector
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		v.file = filepath.Base(f)
		vs = append(vs, v)
	}
	return vs
}

// jwkKey builds the key a vector's JWK describes with the standard library
// and the jose constructors (not ParseJWK, which has its own tests): the
// private key when "d" is present, else the public key. The JWK's "kid"
// becomes the key ID.
func jwkKey(t testing.TB, jwk map[string]string, alg jose.Algorithm) *jose.Key {
	t.Helper()
	num := func(name string) *big.Int { return new(big.Int).SetBytes(decodeSegment(t, jwk[name])) }
	var k *jose.Key
	var err error
	switch jwk["kty"] {
	case "oct":
		k, err = jose.NewHMACKey(alg, decodeSegment(t, jwk["k"]))
	case "RSA":
		pub := rsa.PublicKey{N: num("n"), E: int(num("e").Int64())}
		if jwk["d"] == "" {
			k, err = jose.NewRSAPublicKey(alg, &pub)
			break
		}
		k, err = jose.NewRSAPrivateKey(alg, &rsa.PrivateKey{PublicKey: pub, D: num("d"), Primes: []*big.Int{num("p"), num("q")}})
	case "EC":
		curve := map[string]elliptic.Curve{"P-256": elliptic.P256(), "P-384": elliptic.P384(), "P-521": elliptic.P521()}[jwk["crv"]]
		point := append([]byte{4}, decodeSegment(t, jwk["x"])...)
		point = append(point, decodeSegment(t, jwk["y"])...)
		if jwk["d"] == "" {
			pub, perr := ecdsa.ParseUncompressedPublicKey(curve, point)
			if perr != nil {
				t.Fatalf("EC point: %v", perr)
			}
			k, err = jose.NewECDSAPublicKey(pub)
			break
		}
		priv, perr := ecdsa.ParseRawPrivateKey(curve, decodeSegment(t, jwk["d"]))
		if perr != nil {
			t.Fatalf("EC scalar: %v", perr)
		}
		if got, _ := priv.PublicKey.Bytes(); !bytes.Equal(got, point) {
			t.Fatalf("EC JWK: d does not match x, y")
		}
		k, err = jose.NewECDSAPrivateKey(priv)
	case "OKP":
		if jwk["d"] == "" {
			k, err = jose.NewEd25519PublicKey(decodeSegment(t, jwk["x"]))
			break
		}
		priv := ed25519.NewKeyFromSeed(decodeSegment(t, jwk["d"]))
		if !bytes.Equal(priv.Public().(ed25519.PublicKey), decodeSegment(t, jwk["x"])) {
			t.Fatalf("OKP JWK: d does not match x")
		}
		k, err = jose.NewEd25519PrivateKey(priv)
	default:
		t.Fatalf("unsupported kty %q", jwk["kty"])
	}
	if err != nil {
		t.Fatalf("building %s key: %v", jwk["kty"], err)
	}
	if kid := jwk["kid"]; kid != "" {
		k = k.WithKeyID(kid)
	}
	return k
}

// TestSignReproducesRFCTokens signs the payload of every deterministic
// RFC example whose header is the one Sign writes ({"alg":…} or
// {"alg":…,"kid":…}) and expects the RFC's token byte for byte.
func TestSignReproducesRFCTokens(t *testing.T) {
	reproduced := 0
	for _, v := range loadRFCVectors(t) {
		if !v.Deterministic || v.Expect != "valid" {
			continue
		}
		t.Run(v.file, func(t *testing.T) {
			key := jwkKey(t, v.Key, jose.Algorithm(v.Alg))
			tok := signOrFail(t, key, []byte(v.Payload), jose.SignOptions{OmitKeyID: v.Key["kid"] == ""})
			if gh, _, _ := segments(t, tok); gh != strings.Split(v.Token, ".")[0] {
				t.Skipf("the RFC header %s has members or spacing Sign does not write", decodeSegment(t, strings.Split(v.Token, ".")[0]))
			}
			reproduced++
			if tok != v.Token {
				t.Errorf("Sign(%s) = %s, want the RFC token %s", v.Name, tok, v.Token)
			}
			h, p, err := jose.Verify(tok, trustSet(t, key), jose.VerifyOptions{})
			if err != nil || string(p) != v.Payload || h.Algorithm != key.Algorithm() {
				t.Errorf("Verify(%s) = %+v, %q, %v, want alg %s, payload %q", v.Name, h, p, err, key.Algorithm(), v.Payload)
			}
		})
	}
	if reproduced < 4 {
		t.Errorf("Sign reproduced %d RFC tokens, want 4 (RFC 7515 A.2, RFC 7520 4.1 and 4.4, RFC 8037 A.4)", reproduced)
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	for _, alg := range jose.Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			kid := "key-" + string(alg)
			key := signingKey(t, alg, kid)
			payload := []byte(`{"sub":"user-1","scope":"orders:read"}`)
			tok := signOrFail(t, key, payload, jose.SignOptions{Type: "JWT"})

			hseg, pseg, sseg := segments(t, tok)
			wantHeader := `{"alg":"` + string(alg) + `","kid":"` + kid + `","typ":"JWT"}`
			if got := decodeSegment(t, hseg); string(got) != wantHeader {
				t.Errorf("Sign header = %s, want %s", got, wantHeader)
			}
			if got := decodeSegment(t, pseg); !bytes.Equal(got, payload) {
				t.Errorf("Sign payload segment = %q, want %q", got, payload)
			}
			if got := len(decodeSegment(t, sseg)); got != signatureSize(alg) {
				t.Errorf("Sign signature is %d bytes, want %d", got, signatureSize(alg))
			}

			want := jose.Header{Algorithm: alg, KeyID: kid, Type: "JWT"}
			for name, set := range map[string]*jose.KeySet{
				"public key":  trustSet(t, key),
				"private key": mustNewKeySet(t, key),
			} {
				h, p, err := jose.Verify(tok, set, jose.VerifyOptions{})
				if err != nil {
					t.Fatalf("Verify with the %s: %v", name, err)
				}
				if h != want || !bytes.Equal(p, payload) {
					t.Errorf("Verify with the %s = %+v, %q, want %+v, %q", name, h, p, want, payload)
				}
			}
		})
	}
}

func mustNewKeySet(t testing.TB, keys ...*jose.Key) *jose.KeySet {
	t.Helper()
	s, err := jose.NewKeySet(keys...)
	if err != nil {
		t.Fatalf("NewKeySet: %v", err)
	}
	return s
}

func TestSignHeader(t *testing.T) {
	key := signingKey(t, jose.HS256, "k1")
	tests := []struct {
		name   string
		opts   jose.SignOptions
		header string
		want   jose.Header
	}{
		{"defaults", jose.SignOptions{},
			`{"alg":"HS256","kid":"k1"}`, jose.Header{Algorithm: jose.HS256, KeyID: "k1"}},
		{"type", jose.SignOptions{Type: "at+jwt"},
			`{"alg":"HS256","kid":"k1","typ":"at+jwt"}`, jose.Header{Algorithm: jose.HS256, KeyID: "k1", Type: "at+jwt"}},
		{"type and content type", jose.SignOptions{Type: "JWT", ContentType: "JWT"},
			`{"alg":"HS256","kid":"k1","typ":"JWT","cty":"JWT"}`,
			jose.Header{Algorithm: jose.HS256, KeyID: "k1", Type: "JWT", ContentType: "JWT"}},
		// Without "kid" the key is found by "alg", and KeyID still names it.
		{"omit key ID", jose.SignOptions{OmitKeyID: true, Type: "JWT"},
			`{"alg":"HS256","typ":"JWT"}`, jose.Header{Algorithm: jose.HS256, KeyID: "k1", Type: "JWT"}},
		{"unusual type", jose.SignOptions{Type: "application/example+jwt"},
			`{"alg":"HS256","kid":"k1","typ":"application/example+jwt"}`,
			jose.Header{Algorithm: jose.HS256, KeyID: "k1", Type: "application/example+jwt"}},
		{"type needing escapes", jose.SignOptions{Type: "a\"b\\<c>\n"},
			`{"alg":"HS256","kid":"k1","typ":"a\"b\\\u003cc\u003e\n"}`,
			jose.Header{Algorithm: jose.HS256, KeyID: "k1", Type: "a\"b\\<c>\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := signOrFail(t, key, []byte("payload"), tt.opts)
			hseg, _, _ := segments(t, tok)
			if got := decodeSegment(t, hseg); string(got) != tt.header {
				t.Errorf("Sign(%+v) header = %s, want %s", tt.opts, got, tt.header)
			}
			h, _, err := jose.Verify(tok, trustSet(t, key), jose.VerifyOptions{})
			if err != nil || h != tt.want {
				t.Errorf("Verify(Sign(%+v)) = %+v, %v, want %+v", tt.opts, h, err, tt.want)
			}
		})
	}
}

func TestSignRefusesInvalidUTF8Header(t *testing.T) {
	key := signingKey(t, jose.HS256, "k1")
	for _, opts := range []jose.SignOptions{{Type: "JWT\xff"}, {ContentType: "\xc0\xaf"}} {
		tok, err := jose.Sign(key, []byte("p"), opts)
		if !errors.Is(err, jose.ErrMalformed) || tok != "" {
			t.Errorf("Sign(%+v) = %q, %v, want rejection with %v", opts, tok, err, jose.ErrMalformed)
		}
	}
	key = key.WithKeyID("kid\xff")
	if tok, err := jose.Sign(key, []byte("p"), jose.SignOptions{}); !errors.Is(err, jose.ErrMalformed) || tok != "" {
		t.Errorf("Sign with kid %q = %q, %v, want rejection with %v", key.KeyID(), tok, err, jose.ErrMalformed)
	}
}

func TestVerifyWithoutKeyIDPicksKeyByAlgorithm(t *testing.T) {
	hsA := signingKey(t, jose.HS256, "hs-a")
	hsB := signingKey(t, jose.HS256, "hs-b")
	es := signingKey(t, jose.ES256, "es")
	ed := signingKey(t, jose.EdDSA, "ed")
	// HMAC secrets and public keys cannot share a set (NewKeySet).
	secrets, public := trustSet(t, hsA, hsB), trustSet(t, es, ed)
	setFor := func(k *jose.Key) *jose.KeySet {
		if k.IsSymmetric() {
			return secrets
		}
		return public
	}
	for _, key := range []*jose.Key{hsA, hsB, es, ed} {
		t.Run(key.KeyID(), func(t *testing.T) {
			tok := signOrFail(t, key, []byte("hello"), jose.SignOptions{OmitKeyID: true})
			h, p, err := jose.Verify(tok, setFor(key), jose.VerifyOptions{})
			// KeyID names the key that verified it: the one that signed.
			want := jose.Header{Algorithm: key.Algorithm(), KeyID: key.KeyID()}
			if err != nil || h != want || string(p) != "hello" {
				t.Errorf("Verify(no kid, signed by %s) = %+v, %q, %v, want %+v, %q", key.KeyID(), h, p, err, want, "hello")
			}
		})
	}

	rejections := []struct {
		name string
		key  *jose.Key
		want error
	}{
		{"untrusted key of a trusted algorithm", signingKey(t, jose.HS256, "other"), jose.ErrSignature},
		{"untrusted key of a trusted public-key algorithm", signingKey(t, jose.ES256, "other"), jose.ErrSignature},
		{"algorithm no trusted key has", signingKey(t, jose.HS384, "hs384"), jose.ErrAlgorithmMismatch},
		{"public-key algorithm no trusted key has", signingKey(t, jose.ES384, "es384"), jose.ErrAlgorithmMismatch},
	}
	for _, tt := range rejections {
		t.Run(tt.name, func(t *testing.T) {
			tok := signOrFail(t, tt.key, []byte("hello"), jose.SignOptions{OmitKeyID: true})
			h, p, err := jose.Verify(tok, setFor(tt.key), jose.VerifyOptions{})
			if !errors.Is(err, tt.want) || h != (jose.Header{}) || p != nil {
				t.Errorf("Verify = %+v, %q, %v, want rejection with %v", h, p, err, tt.want)
			}
		})
	}
}

func TestVerifyPayloads(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	random := make([]byte, 10<<10)
	rand.Read(random)
	tests := []struct {
		name    string
		payload []byte
	}{
		{"nil", nil},
		{"empty", []byte{}},
		{"every byte value", all},
		{"NUL bytes", []byte{0, 0, 0}},
		{"not JSON", []byte(`{"unterminated": `)},
		{"dots", []byte("a.b.c")},
		{"invalid UTF-8", []byte("\xff\xfe\xfd")},
		{"10 KiB of random bytes", random},
	}
	key := signingKey(t, jose.HS256, "k1")
	edKey := signingKey(t, jose.EdDSA, "k2")
	for _, tt := range tests {
		for _, k := range []*jose.Key{key, edKey} {
			t.Run(tt.name+"/"+string(k.Algorithm()), func(t *testing.T) {
				tok := signOrFail(t, k, tt.payload, jose.SignOptions{})
				_, p, err := jose.Verify(tok, trustSet(t, k), jose.VerifyOptions{})
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if !bytes.Equal(p, tt.payload) {
					t.Errorf("Verify payload = %q, want %q", p, tt.payload)
				}
			})
		}
	}
}

func TestVerifySelectsKeyByKeyID(t *testing.T) {
	k1 := signingKey(t, jose.HS256, "k1")
	k2 := signingKey(t, jose.HS256, "k2")
	k3 := signingKey(t, jose.ES256, "k3")
	k4 := signingKey(t, jose.EdDSA, "k4")
	k5 := signingKey(t, jose.PS256, "k5")
	// HMAC secrets and public keys cannot share a set (NewKeySet).
	secrets, public := trustSet(t, k1, k2), trustSet(t, k3, k4, k5)
	for _, key := range []*jose.Key{k1, k2, k3, k4, k5} {
		set := public
		if key.IsSymmetric() {
			set = secrets
		}
		tok := signOrFail(t, key, []byte("p"), jose.SignOptions{})
		h, _, err := jose.Verify(tok, set, jose.VerifyOptions{})
		want := jose.Header{Algorithm: key.Algorithm(), KeyID: key.KeyID()}
		if err != nil || h != want {
			t.Errorf("Verify(signed by %s) = %+v, %v, want %+v", key.KeyID(), h, err, want)
		}
	}

	rejections := []struct {
		name string
		set  *jose.KeySet
		key  *jose.Key // signs, with its key ID in the header
		want error
	}{
		{"another trusted key's kid", secrets, k1.WithKeyID("k2"), jose.ErrSignature},
		{"another trusted key's kid, other algorithm", secrets, signingKey(t, jose.ES256, "k1"), jose.ErrAlgorithmMismatch},
		{"another trusted public key's kid, other algorithm", public, signingKey(t, jose.ES256, "k4"), jose.ErrAlgorithmMismatch},
		{"kid of a trusted key, same algorithm, untrusted key", public, signingKey(t, jose.EdDSA, "k4"), jose.ErrSignature},
		{"secret's kid in a set of public keys", public, k1, jose.ErrUnknownKey},
		{"unknown kid", secrets, signingKey(t, jose.HS256, "k9"), jose.ErrUnknownKey},
		{"kid differing in case", secrets, k1.WithKeyID("K1"), jose.ErrUnknownKey},
	}
	for _, tt := range rejections {
		t.Run(tt.name, func(t *testing.T) {
			tok := signOrFail(t, tt.key, []byte("p"), jose.SignOptions{})
			h, p, err := jose.Verify(tok, tt.set, jose.VerifyOptions{})
			if !errors.Is(err, tt.want) || h != (jose.Header{}) || p != nil {
				t.Errorf("Verify = %+v, %q, %v, want rejection with %v", h, p, err, tt.want)
			}
		})
	}
}

func TestPublicHalf(t *testing.T) {
	for _, alg := range jose.Algorithms() {
		key := signingKey(t, alg, "kid-"+string(alg))
		if key.IsSymmetric() {
			continue
		}
		t.Run(string(alg), func(t *testing.T) {
			pub, err := key.Public()
			if err != nil {
				t.Fatalf("Public(): %v", err)
			}
			if pub.Algorithm() != alg || pub.KeyID() != key.KeyID() || pub.IsPrivate() || !key.IsPrivate() {
				t.Errorf("Public() = %v (private %v), want public %s key %q", pub, pub.IsPrivate(), alg, key.KeyID())
			}
			if again, err := pub.Public(); err != nil || again.KeyID() != pub.KeyID() || again.IsPrivate() {
				t.Errorf("Public().Public() = %v, %v, want the public key", again, err)
			}
			tok := signOrFail(t, key, []byte("p"), jose.SignOptions{})
			if _, _, err := jose.Verify(tok, mustNewKeySet(t, pub), jose.VerifyOptions{}); err != nil {
				t.Errorf("Verify with the public half: %v", err)
			}
			if tok, err := jose.Sign(pub, []byte("p"), jose.SignOptions{}); !errors.Is(err, jose.ErrInvalidKey) || tok != "" {
				t.Errorf("Sign(public key) = %q, %v, want rejection with %v", tok, err, jose.ErrInvalidKey)
			}
		})
	}
}

func TestHMACKeyHasNoPublicHalf(t *testing.T) {
	for _, alg := range []jose.Algorithm{jose.HS256, jose.HS384, jose.HS512} {
		key := signingKey(t, alg, "k")
		pub, err := key.Public()
		if !errors.Is(err, jose.ErrInvalidKey) || pub != nil {
			t.Errorf("%s Public() = %v, %v, want rejection with %v", alg, pub, err, jose.ErrInvalidKey)
		}
	}
}

func TestSignRefusesNilKey(t *testing.T) {
	tok, err := jose.Sign(nil, []byte("p"), jose.SignOptions{})
	if !errors.Is(err, jose.ErrInvalidKey) || tok != "" {
		t.Errorf("Sign(nil) = %q, %v, want rejection with %v", tok, err, jose.ErrInvalidKey)
	}
}

func TestHMACSecretLengths(t *testing.T) {
	for _, tt := range []struct {
		alg jose.Algorithm
		min int
	}{{jose.HS256, 32}, {jose.HS384, 48}, {jose.HS512, 64}} {
		t.Run(string(tt.alg), func(t *testing.T) {
			for _, n := range []int{0, 16, tt.min - 1} {
				k, err := jose.NewHMACKey(tt.alg, make([]byte, n))
				if !errors.Is(err, jose.ErrInvalidKey) || k != nil {
					t.Errorf("NewHMACKey(%s, %d bytes) = %v, %v, want rejection with %v", tt.alg, n, k, err, jose.ErrInvalidKey)
				}
			}
			for _, n := range []int{tt.min, tt.min + 1, 256} {
				if _, err := jose.NewHMACKey(tt.alg, make([]byte, n)); err != nil {
					t.Errorf("NewHMACKey(%s, %d bytes): %v", tt.alg, n, err)
				}
			}
		})
	}
}

func TestNewHMACKeyCopiesSecret(t *testing.T) {
	secret := bytes.Repeat([]byte{7}, 32)
	key, err := jose.NewHMACKey(jose.HS256, secret)
	if err != nil {
		t.Fatal(err)
	}
	tok := signOrFail(t, key, []byte("p"), jose.SignOptions{})
	secret[0] ^= 1
	if _, _, err := jose.Verify(tok, mustNewKeySet(t, key), jose.VerifyOptions{}); err != nil {
		t.Errorf("Verify after the caller changed its secret buffer: %v", err)
	}
}

func TestKeyConstructionRefusals(t *testing.T) {
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ecA, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecB, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	_, edA, _ := ed25519.GenerateKey(rand.Reader)
	edBPub, _, _ := ed25519.GenerateKey(rand.Reader)
	badRSA := *testRSA()
	badRSA.D = new(big.Int).Add(badRSA.D, big.NewInt(2))
	badRSA.Precomputed = rsa.PrecomputedValues{}

	tests := []struct {
		name  string
		build func() (*jose.Key, error)
		want  error
	}{
		{"HMAC with RS256", func() (*jose.Key, error) { return jose.NewHMACKey(jose.RS256, make([]byte, 64)) }, jose.ErrInvalidKey},
		{"HMAC with none", func() (*jose.Key, error) { return jose.NewHMACKey("none", make([]byte, 64)) }, jose.ErrInvalidKey},
		{"HMAC with nil secret", func() (*jose.Key, error) { return jose.NewHMACKey(jose.HS256, nil) }, jose.ErrInvalidKey},
		{"RSA 1024-bit RS256", func() (*jose.Key, error) { return jose.NewRSAPrivateKey(jose.RS256, rsa1024) }, jose.ErrInvalidKey},
		{"RSA 1024-bit PS256", func() (*jose.Key, error) { return jose.NewRSAPrivateKey(jose.PS256, rsa1024) }, jose.ErrInvalidKey},
		{"RSA 1024-bit public", func() (*jose.Key, error) { return jose.NewRSAPublicKey(jose.RS256, &rsa1024.PublicKey) }, jose.ErrInvalidKey},
		{"RSA with HS256", func() (*jose.Key, error) { return jose.NewRSAPrivateKey(jose.HS256, testRSA()) }, jose.ErrInvalidKey},
		{"RSA with ES256", func() (*jose.Key, error) { return jose.NewRSAPrivateKey(jose.ES256, testRSA()) }, jose.ErrInvalidKey},
		{"RSA with EdDSA", func() (*jose.Key, error) { return jose.NewRSAPrivateKey(jose.EdDSA, testRSA()) }, jose.ErrInvalidKey},
		{"RSA with none", func() (*jose.Key, error) { return jose.NewRSAPrivateKey("none", testRSA()) }, jose.ErrInvalidKey},
		{"RSA public with ES256", func() (*jose.Key, error) { return jose.NewRSAPublicKey(jose.ES256, &testRSA().PublicKey) }, jose.ErrInvalidKey},
		{"RSA nil", func() (*jose.Key, error) { return jose.NewRSAPrivateKey(jose.RS256, nil) }, jose.ErrInvalidKey},
		{"RSA inconsistent private exponent", func() (*jose.Key, error) { return jose.NewRSAPrivateKey(jose.RS256, &badRSA) }, jose.ErrInvalidKey},
		{"RSA public exponent 1", func() (*jose.Key, error) {
			return jose.NewRSAPublicKey(jose.RS256, &rsa.PublicKey{N: testRSA().N, E: 1})
		}, jose.ErrInvalidKey},
		{"ECDSA public key not on the curve", func() (*jose.Key, error) {
			//lint:ignore SA1019 only the deprecated big.Int fields can build the invalid key this case feeds the constructor
			return jose.NewECDSAPublicKey(&ecdsa.PublicKey{Curve: elliptic.P256(), X: big.NewInt(1), Y: big.NewInt(1)})
		}, jose.ErrInvalidKey},
		{"ECDSA public key of another curve's coordinates", func() (*jose.Key, error) {
			p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
			//lint:ignore SA1019 only the deprecated big.Int fields can build the invalid key this case feeds the constructor
			return jose.NewECDSAPublicKey(&ecdsa.PublicKey{Curve: elliptic.P256(), X: p384.X, Y: p384.Y})
		}, jose.ErrInvalidKey},
		{"ECDSA private scalar with another key's public half", func() (*jose.Key, error) {
			//lint:ignore SA1019 only the deprecated big.Int fields can build the invalid key this case feeds the constructor
			return jose.NewECDSAPrivateKey(&ecdsa.PrivateKey{PublicKey: ecB.PublicKey, D: ecA.D})
		}, jose.ErrInvalidKey},
		{"ECDSA P-224", func() (*jose.Key, error) { return jose.NewECDSAPrivateKey(ec224) }, jose.ErrInvalidKey},
		{"ECDSA P-224 public", func() (*jose.Key, error) { return jose.NewECDSAPublicKey(&ec224.PublicKey) }, jose.ErrInvalidKey},
		{"ECDSA nil", func() (*jose.Key, error) { return jose.NewECDSAPrivateKey(nil) }, jose.ErrInvalidKey},
		{"Ed25519 private key of 63 bytes", func() (*jose.Key, error) { return jose.NewEd25519PrivateKey(edA[:63]) }, jose.ErrInvalidKey},
		{"Ed25519 seed instead of private key", func() (*jose.Key, error) { return jose.NewEd25519PrivateKey(edA.Seed()) }, jose.ErrInvalidKey},
		{"Ed25519 empty private key", func() (*jose.Key, error) { return jose.NewEd25519PrivateKey(nil) }, jose.ErrInvalidKey},
		{"Ed25519 private key with another public half", func() (*jose.Key, error) {
			return jose.NewEd25519PrivateKey(append(append(ed25519.PrivateKey{}, edA.Seed()...), edBPub...))
		}, jose.ErrInvalidKey},
		{"Ed25519 public key of 31 bytes", func() (*jose.Key, error) { return jose.NewEd25519PublicKey(edBPub[:31]) }, jose.ErrInvalidKey},
		{"Ed25519 public key of 33 bytes", func() (*jose.Key, error) {
			return jose.NewEd25519PublicKey(append(append(ed25519.PublicKey{}, edBPub...), 0))
		}, jose.ErrInvalidKey},
		{"generate none", func() (*jose.Key, error) { return jose.GenerateKey("none") }, jose.ErrUnsupportedAlgorithm},
		{"generate HS1", func() (*jose.Key, error) { return jose.GenerateKey("HS1") }, jose.ErrUnsupportedAlgorithm},
		{"generate empty algorithm", func() (*jose.Key, error) { return jose.GenerateKey("") }, jose.ErrUnsupportedAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := tt.build()
			if !errors.Is(err, tt.want) || k != nil {
				t.Errorf("got %v, %v, want rejection with %v", k, err, tt.want)
			}
		})
	}
}

func TestGenerateKey(t *testing.T) {
	for _, alg := range jose.Algorithms() {
		if strings.HasPrefix(string(alg), "RS") && alg != jose.RS256 || strings.HasPrefix(string(alg), "PS") {
			continue // one RSA key generation is enough
		}
		t.Run(string(alg), func(t *testing.T) {
			k, err := jose.GenerateKey(alg)
			if err != nil {
				t.Fatalf("GenerateKey(%s): %v", alg, err)
			}
			if k.Algorithm() != alg || !k.IsPrivate() || k.KeyID() == "" {
				t.Errorf("GenerateKey(%s) = %v, want a private %s key with a key ID", alg, k, alg)
			}
			tok := signOrFail(t, k, []byte("p"), jose.SignOptions{})
			if _, _, err := jose.Verify(tok, trustSet(t, k), jose.VerifyOptions{}); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

func TestNewKeySetRefusals(t *testing.T) {
	hs := signingKey(t, jose.HS256, "hs")
	hs384 := signingKey(t, jose.HS384, "hs384")
	es := signingKey(t, jose.ES256, "es")
	esPub := publicHalf(t, es)
	rs := signingKey(t, jose.RS256, "rs")
	ed := signingKey(t, jose.EdDSA, "ed")
	tests := []struct {
		name    string
		keys    []*jose.Key
		wantMsg string // a substring of the error; empty: the set is built
	}{
		{name: "two keys with one kid", keys: []*jose.Key{es, ed.WithKeyID("es")}, wantMsg: "duplicate key id"},
		{name: "nil key", keys: []*jose.Key{es, nil}, wantMsg: "nil key"},
		// Wycheproof MixedKeySet: a set of secrets and public keys is
		// ambiguous (which kind a token may use is up to the token).
		{name: "HMAC secret and EC public key", keys: []*jose.Key{hs, esPub}, wantMsg: "mixes"},
		{name: "EC private key and HMAC secret", keys: []*jose.Key{es, hs}, wantMsg: "mixes"},
		{name: "HMAC secret among RSA and Ed25519 keys", keys: []*jose.Key{rs, ed, hs384}, wantMsg: "mixes"},
		{name: "HMAC secrets only", keys: []*jose.Key{hs, hs384}},
		{name: "public-key algorithms only", keys: []*jose.Key{esPub, rs, ed}},
		{name: "empty", keys: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := jose.NewKeySet(tt.keys...)
			if tt.wantMsg == "" {
				if err != nil || s == nil || s.Len() != len(tt.keys) {
					t.Errorf("NewKeySet(%v) = %v, %v; want a set of %d keys", tt.keys, s, err, len(tt.keys))
				}
				return
			}
			if !errors.Is(err, jose.ErrInvalidKey) || s != nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("NewKeySet(%v) = %v, %v; want rejection with %v (%q)", tt.keys, s, err, jose.ErrInvalidKey, tt.wantMsg)
			}
		})
	}
}

func TestMaxTokenSize(t *testing.T) {
	key := signingKey(t, jose.HS256, "k1")
	set := trustSet(t, key)
	tests := []struct {
		name string
		size int
		opts jose.VerifyOptions
	}{
		{"zero options mean the default", jose.DefaultMaxTokenSize, jose.VerifyOptions{}},
		{"custom limit exactly", 200, jose.VerifyOptions{MaxTokenSize: 200}},
		{"custom limit above the default", 40 << 10, jose.VerifyOptions{MaxTokenSize: 64 << 10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := tokenOfLength(t, key, tt.size)
			if _, _, err := jose.Verify(tok, set, tt.opts); err != nil {
				t.Errorf("Verify(%d-byte token, %+v): %v", len(tok), tt.opts, err)
			}
		})
	}
}

// tokenOfLength returns a valid token signed by key that is exactly n bytes
// long.
func tokenOfLength(t testing.TB, key *jose.Key, n int) string {
	t.Helper()
	for p := max(0, n*3/4-120); p < n; p++ {
		for typ := range 4 {
			opts := jose.SignOptions{Type: strings.Repeat("x", typ)}
			tok := signOrFail(t, key, bytes.Repeat([]byte{'a'}, p), opts)
			if len(tok) == n {
				return tok
			}
		}
	}
	t.Fatalf("no token of exactly %d bytes", n)
	return ""
}

// secretEncodings are the ways key material could show up in text.
func secretEncodings(secret []byte) []string {
	chunk := secret[:12]
	dec := fmt.Sprint(chunk)
	goSyntax := fmt.Sprintf("%#v", chunk)
	return []string{
		base64.RawURLEncoding.EncodeToString(secret),
		base64.StdEncoding.EncodeToString(secret),
		base64.RawURLEncoding.EncodeToString(chunk),
		base64.RawStdEncoding.EncodeToString(chunk),
		hex.EncodeToString(chunk),
		strings.ToUpper(hex.EncodeToString(chunk)),
		string(chunk),
		dec[1 : len(dec)-1], // 12 34 56 …
		goSyntax[strings.IndexByte(goSyntax, '{')+1 : len(goSyntax)-1], // 0xc, 0x22, …
	}
}

func TestKeyFormattingHidesKeyMaterial(t *testing.T) {
	secret := make([]byte, 32)
	rand.Read(secret)
	hmacKey, err := jose.NewHMACKey(jose.HS256, secret)
	if err != nil {
		t.Fatal(err)
	}
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	edKey, err := jose.NewEd25519PrivateKey(edPriv)
	if err != nil {
		t.Fatal(err)
	}
	ecPriv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecKey, err := jose.NewECDSAPrivateKey(ecPriv)
	if err != nil {
		t.Fatal(err)
	}
	ecScalar, err := ecPriv.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	keys := []struct {
		name   string
		key    *jose.Key
		secret []byte
	}{
		{"HMAC secret", hmacKey, secret},
		{"Ed25519 seed", edKey, edPriv.Seed()},
		{"ECDSA scalar", ecKey, ecScalar},
	}
	for _, k := range keys {
		outputs := map[string]string{
			"String()":   k.key.String(),
			"GoString()": k.key.GoString(),
		}
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
			outputs[verb] = fmt.Sprintf(verb, k.key)
		}
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			outputs[verb+" of a struct holding the key"] = fmt.Sprintf(verb, struct{ K *jose.Key }{k.key})
			outputs[verb+" of the Key value"] = fmt.Sprintf(verb, *k.key)
		}
		for how, out := range outputs {
			for _, enc := range secretEncodings(k.secret) {
				if strings.Contains(out, enc) {
					t.Errorf("%s key formatted with %s = %s, which contains the key material (%s)", k.name, how, out, enc)
					break
				}
			}
		}
		if s := k.key.String(); !strings.Contains(s, string(k.key.Algorithm())) || !strings.Contains(s, k.key.KeyID()) {
			t.Errorf("%s String() = %s, want the algorithm and key ID", k.name, s)
		}
	}
}
