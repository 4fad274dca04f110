package jose_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"math/big"
	"slices"
	"strings"
	"testing"

	"github.com/latch-auth/latch/jose"
)

// fuzzKeys returns deterministic private keys, one per algorithm, so that
// tokens signed by one fuzzing process verify in the others: the RFC keys
// where an RFC example exists, fixed material otherwise.
func fuzzKeys(t testing.TB) []*jose.Key {
	t.Helper()
	must := func(k *jose.Key, err error) *jose.Key {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	var a2 map[string]string
	for _, v := range loadRFCVectors(t) {
		if v.file == "rfc7515-a2-rs256.json" {
			a2 = v.Key
		}
	}
	num := func(name string) *big.Int { return new(big.Int).SetBytes(decodeSegment(t, a2[name])) }
	rsaKey := func() *rsa.PrivateKey {
		return &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: num("n"), E: 65537}, D: num("d"), Primes: []*big.Int{num("p"), num("q")}}
	}
	scalar := func(c elliptic.Curve, n int) *ecdsa.PrivateKey {
		d := make([]byte, n)
		for i := range d {
			d[i] = byte(i + 1)
		}
		d[0] = 1 // below the order of every curve
		priv, err := ecdsa.ParseRawPrivateKey(c, d)
		if err != nil {
			t.Fatal(err)
		}
		return priv
	}
	secret := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(0xA0 + i)
		}
		return b
	}
	keys := []*jose.Key{
		must(jose.NewHMACKey(jose.HS256, secret(32))).WithKeyID("fuzz-hs256"),
		must(jose.NewHMACKey(jose.HS384, secret(48))).WithKeyID("fuzz-hs384"),
		must(jose.NewHMACKey(jose.HS512, secret(64))).WithKeyID("fuzz-hs512"),
		must(jose.NewECDSAPrivateKey(scalar(elliptic.P256(), 32))).WithKeyID("fuzz-es256"),
		must(jose.NewECDSAPrivateKey(scalar(elliptic.P384(), 48))).WithKeyID("fuzz-es384"),
		must(jose.NewECDSAPrivateKey(scalar(elliptic.P521(), 66))).WithKeyID("fuzz-es512"),
		must(jose.NewEd25519PrivateKey(ed25519.NewKeyFromSeed(secret(32)))).WithKeyID("fuzz-eddsa"),
	}
	for _, alg := range []jose.Algorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512} {
		keys = append(keys, must(jose.NewRSAPrivateKey(alg, rsaKey())).WithKeyID("fuzz-"+strings.ToLower(string(alg))))
	}
	return keys
}

// FuzzVerify checks the verifier's contract on any input: either an error
// of exactly one documented kind with zero results, or a token that is
// canonical (its segments re-encode to the input byte for byte) whose
// payload is its decoded middle segment.
func FuzzVerify(f *testing.F) {
	private := fuzzKeys(f)
	trusted := slices.Clone(private)
	seen := make(map[string]bool)
	for _, k := range trusted {
		seen[k.KeyID()] = true
	}
	// The RFC example keys, as the examples name them, and as the attack
	// vectors name them.
	for _, v := range loadRFCVectors(f) {
		if v.Expect != "valid" {
			continue
		}
		k := jwkKey(f, v.Key, jose.Algorithm(v.Alg))
		if !seen[k.KeyID()] { // RFC 7520 signs with one "bilbo" kid for three keys
			seen[k.KeyID()] = true
			trusted = append(trusted, k)
		}
		f.Add(v.Token)
	}
	for _, k := range rfcKeys(f) {
		trusted = append(trusted, k)
	}
	secrets, public := trustSets(f, trusted...)

	for _, v := range loadAttackVectors(f) {
		f.Add(v.Token)
	}
	for _, k := range private {
		f.Add(signOrFail(f, k, []byte(`{"sub":"user-1","exp":4102444800}`), jose.SignOptions{Type: "JWT"}))
		f.Add(signOrFail(f, k, []byte("\x00\xff"), jose.SignOptions{OmitKeyID: true, ContentType: "x"}))
	}

	f.Fuzz(func(t *testing.T, token string) {
		for _, set := range []*jose.KeySet{secrets, public} {
			checkVerify(t, token, set)
		}
	})
}

// checkVerify checks FuzzVerify's property for one token and key set.
func checkVerify(t *testing.T, token string, set *jose.KeySet) {
	t.Helper()
	h, p, err := jose.Verify(token, set, jose.VerifyOptions{})
	if err != nil {
		if ks := kindsOf(err); len(ks) != 1 {
			t.Fatalf("Verify(%q) = %v, matching kinds %v, want exactly one", token, err, ks)
		}
		if h != (jose.Header{}) || p != nil {
			t.Fatalf("Verify(%q) = %+v, %q with error %v, want zero values", token, h, p, err)
		}
		return
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("Verify accepted %q, which has %d segments", token, len(parts))
	}
	decoded := make([][]byte, 3)
	for i, s := range parts {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || base64.RawURLEncoding.EncodeToString(b) != s {
			t.Fatalf("Verify accepted %q, whose segment %d %q is not canonical base64url", token, i, s)
		}
		decoded[i] = b
	}
	if !bytes.Equal(p, decoded[1]) {
		t.Fatalf("Verify(%q) payload = %q, want the decoded middle segment %q", token, p, decoded[1])
	}
	var hdr map[string]any
	if err := json.Unmarshal(decoded[0], &hdr); err != nil {
		t.Fatalf("Verify accepted %q, whose header %q encoding/json cannot read: %v", token, decoded[0], err)
	}
	if hdr["alg"] != string(h.Algorithm) || !slices.Contains(jose.Algorithms(), h.Algorithm) {
		t.Fatalf("Verify(%q) alg = %q, header says %v", token, h.Algorithm, hdr["alg"])
	}
	// KeyID names the trusted key that verified the token: the header's
	// kid when it has one, otherwise a key of the header's alg.
	k := set.Lookup(h.KeyID)
	if k == nil || k.Algorithm() != h.Algorithm {
		t.Fatalf("Verify(%q) = %+v, trusted key %v", token, h, k)
	}
	if kid, ok := hdr["kid"]; ok && kid != h.KeyID {
		t.Fatalf("Verify(%q) = %+v; header kid %v", token, h, kid)
	}
	if _, ok := hdr["crit"]; ok {
		t.Fatalf("Verify accepted %q with a crit header", token)
	}
	if b64, ok := hdr["b64"]; ok && b64 != true {
		t.Fatalf("Verify accepted %q with b64 %v", token, b64)
	}
}

// FuzzVerifyHeader reaches the header parser with a valid signature: any
// header and payload, HMAC'd with a trusted key. Verify must accept only a
// header that is one JSON object without duplicate names, with that key's
// alg, its kid or none, no crit and no b64 other than true; and it must
// report what the header says.
func FuzzVerifyHeader(f *testing.F) {
	secret := bytes.Repeat([]byte{0x5a}, 32)
	key, err := jose.NewHMACKey(jose.HS256, secret)
	if err != nil {
		f.Fatal(err)
	}
	set := trustSet(f, key.WithKeyID("trusted"), signingKey(f, jose.HS384, "hs384"))
	for _, h := range []string{
		`{"alg":"HS256"}`,
		`{"alg":"HS256","kid":"trusted","typ":"JWT","cty":"JWT"}`,
		`{"alg":"HS256","b64":true,"x5c":["AAAA"],"jwk":{"kty":"oct"}}`,
		`{"alg":"HS256","kid":"tr\u0075sted","typ":"at+jwt"}`,
		`{"alg":"HS256","crit":["exp"]}`,
		`{"alg":"HS256","kid":"hs384"}`,
	} {
		f.Add([]byte(h), []byte(`{"sub":"user-1"}`))
	}
	for _, v := range loadAttackVectors(f) {
		if v.Header != "" {
			f.Add([]byte(v.Header), []byte("payload"))
		}
	}
	f.Fuzz(func(t *testing.T, header, payload []byte) {
		in := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(in))
		token := in + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))

		h, p, err := jose.Verify(token, set, jose.VerifyOptions{})
		if err != nil {
			if ks := kindsOf(err); len(ks) != 1 {
				t.Fatalf("Verify(header %q) = %v, matching kinds %v, want exactly one", header, err, ks)
			}
			if h != (jose.Header{}) || p != nil {
				t.Fatalf("Verify(header %q) = %+v, %q with error %v, want zero values", header, h, p, err)
			}
			var hdr struct {
				Alg string  `json:"alg"`
				Kid *string `json:"kid"`
			}
			hmacd := json.Unmarshal(header, &hdr) == nil && hdr.Alg == "HS256" && (hdr.Kid == nil || *hdr.Kid == "trusted")
			if hmacd && errors.Is(err, jose.ErrSignature) || errors.Is(err, jose.ErrTooLarge) && len(token) <= jose.DefaultMaxTokenSize {
				t.Fatalf("Verify(header %q) = %v for a token with a valid HMAC", header, err)
			}
			return
		}
		if !bytes.Equal(p, payload) {
			t.Fatalf("Verify(header %q) payload = %q, want %q", header, p, payload)
		}
		if dup, err := duplicateName(json.NewDecoder(bytes.NewReader(header))); err != nil || dup != "" {
			t.Fatalf("Verify accepted header %q: duplicate name %q, encoding/json error %v", header, dup, err)
		}
		var hdr map[string]any
		if err := json.Unmarshal(header, &hdr); err != nil {
			t.Fatalf("Verify accepted header %q, which encoding/json cannot read as an object: %v", header, err)
		}
		if hdr["alg"] != "HS256" || h.Algorithm != jose.HS256 {
			t.Fatalf("Verify accepted header %q as %+v", header, h)
		}
		// The one trusted key verified it, whether "kid" named it or not.
		if kid, ok := hdr["kid"]; ok && kid != "trusted" || h.KeyID != "trusted" {
			t.Fatalf("Verify accepted header %q as %+v", header, h)
		}
		if typ, ok := hdr["typ"]; ok && typ != h.Type || !ok && h.Type != "" {
			t.Fatalf("Verify(header %q) Type = %q", header, h.Type)
		}
		if cty, ok := hdr["cty"]; ok && cty != h.ContentType || !ok && h.ContentType != "" {
			t.Fatalf("Verify(header %q) ContentType = %q", header, h.ContentType)
		}
		if _, ok := hdr["crit"]; ok {
			t.Fatalf("Verify accepted header %q with crit", header)
		}
		if b64, ok := hdr["b64"]; ok && b64 != true {
			t.Fatalf("Verify accepted header %q with b64 %v", header, b64)
		}
	})
}

// duplicateName walks one JSON value with encoding/json's tokenizer and
// returns a member name that occurs twice in one object, if any.
func duplicateName(dec *json.Decoder) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", err
	}
	switch tok {
	case json.Delim('{'):
		seen := make(map[string]bool)
		for dec.More() {
			name, err := dec.Token()
			if err != nil {
				return "", err
			}
			if seen[name.(string)] {
				return name.(string), nil
			}
			seen[name.(string)] = true
			if dup, err := duplicateName(dec); err != nil || dup != "" {
				return dup, err
			}
		}
		_, err = dec.Token()
	case json.Delim('['):
		for dec.More() {
			if dup, err := duplicateName(dec); err != nil || dup != "" {
				return dup, err
			}
		}
		_, err = dec.Token()
	}
	if err == io.EOF {
		err = nil
	}
	return "", err
}
