package jose_test

import (
	"bytes"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/latch-auth/latch/jose"
)

// jwkErrKinds are the sentinels of which every error of package jose
// matches exactly one (ErrNonCanonical and ErrDuplicateMember refine
// ErrMalformed).
var jwkErrKinds = []error{
	jose.ErrMalformed, jose.ErrTooLarge, jose.ErrUnsupportedAlgorithm, jose.ErrAlgorithmMismatch,
	jose.ErrUnknownKey, jose.ErrSignature, jose.ErrCritical, jose.ErrInvalidKey,
}

// checkJWKErr reports unless err matches want and exactly one kind.
func checkJWKErr(t *testing.T, call string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s = %v, want %v", call, err, want)
		return
	}
	n := 0
	for _, kind := range jwkErrKinds {
		if errors.Is(err, kind) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%s = %v, which matches %d error kinds, want exactly 1", call, err, n)
	}
}

// vectorKeyJSON returns the "key" member of testdata/vectors/name.
func vectorKeyJSON(tb testing.TB, name string) string {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "vectors", name))
	if err != nil {
		tb.Fatal(err)
	}
	var v struct{ Key json.RawMessage }
	if err := json.Unmarshal(b, &v); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return string(v.Key)
}

// jwkEdit returns the JWK base with members changed: a nil value deletes
// the member.
func jwkEdit(tb testing.TB, base string, edits map[string]any) string {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(base), &m); err != nil {
		tb.Fatal(err)
	}
	for name, v := range edits {
		if v == nil {
			delete(m, name)
		} else {
			m[name] = v
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// b64Edit decodes the member name of JWK base, applies f, re-encodes it.
func b64Edit(tb testing.TB, base, name string, f func([]byte) []byte) string {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(base), &m); err != nil {
		tb.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(m[name].(string))
	if err != nil {
		tb.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(f(raw))
}

func mustPublic(tb testing.TB, k *jose.Key) *jose.Key {
	tb.Helper()
	if k.IsSymmetric() {
		return k
	}
	pub, err := k.Public()
	if err != nil {
		tb.Fatalf("%v.Public(): %v", k, err)
	}
	return pub
}

func mustSet(tb testing.TB, keys ...*jose.Key) *jose.KeySet {
	tb.Helper()
	s, err := jose.NewKeySet(keys...)
	if err != nil {
		tb.Fatalf("NewKeySet: %v", err)
	}
	return s
}

// signVerify signs with signer and verifies with verifier.
func signVerify(t *testing.T, signer, verifier *jose.Key) {
	t.Helper()
	payload := []byte(`{"sub":"round-trip"}`)
	tok, err := jose.Sign(signer, payload, jose.SignOptions{Type: "JWT"})
	if err != nil {
		t.Fatalf("Sign(%v) = %v", signer, err)
	}
	hdr, got, err := jose.Verify(tok, mustSet(t, verifier), jose.VerifyOptions{})
	if err != nil {
		t.Fatalf("Verify(token of %v) with %v = %v", signer, verifier, err)
	}
	if !bytes.Equal(got, payload) || hdr.Algorithm != signer.Algorithm() {
		t.Errorf("Verify(token of %v) = %s, %q, want %s, %q", signer, hdr.Algorithm, got, signer.Algorithm(), payload)
	}
}

func TestJWKRoundTrip(t *testing.T) {
	for _, alg := range jose.Algorithms() {
		t.Run(string(alg), func(t *testing.T) {
			orig, err := jose.GenerateKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			priv, err := orig.PrivateJWK()
			if err != nil {
				t.Fatalf("PrivateJWK() = %v", err)
			}
			parsed, err := jose.ParseJWK(priv, "")
			if err != nil {
				t.Fatalf("ParseJWK(PrivateJWK()) = %v", err)
			}
			if parsed.Algorithm() != alg || parsed.KeyID() != orig.KeyID() || !parsed.IsPrivate() {
				t.Errorf("ParseJWK(PrivateJWK()) = %v, want %v", parsed, orig)
			}
			if !bytes.Equal(parsed.Thumbprint(), orig.Thumbprint()) {
				t.Errorf("ParseJWK(PrivateJWK()).Thumbprint() = %x, want %x", parsed.Thumbprint(), orig.Thumbprint())
			}
			if again, err := parsed.PrivateJWK(); err != nil || !bytes.Equal(again, priv) {
				t.Errorf("PrivateJWK() after a round trip = %s, %v, want %s", again, err, priv)
			}
			signVerify(t, parsed, mustPublic(t, orig))

			if orig.IsSymmetric() {
				if _, err := orig.PublicJWK(); !errors.Is(err, jose.ErrInvalidKey) {
					t.Errorf("PublicJWK() of an HMAC key = %v, want ErrInvalidKey", err)
				}
				return
			}
			pubJSON, err := orig.PublicJWK()
			if err != nil {
				t.Fatalf("PublicJWK() = %v", err)
			}
			for _, member := range []string{`"d"`, `"p"`, `"q"`, `"dp"`, `"dq"`, `"qi"`, `"k"`} {
				if bytes.Contains(pubJSON, []byte(member)) {
					t.Errorf("PublicJWK() = %s, which contains private member %s", pubJSON, member)
				}
			}
			pub, err := jose.ParseJWK(pubJSON, "")
			if err != nil {
				t.Fatalf("ParseJWK(PublicJWK()) = %v", err)
			}
			if pub.IsPrivate() || pub.Algorithm() != alg || pub.KeyID() != orig.KeyID() ||
				!bytes.Equal(pub.Thumbprint(), orig.Thumbprint()) {
				t.Errorf("ParseJWK(PublicJWK()) = %v, want public %v", pub, orig)
			}
			signVerify(t, orig, pub)
			if _, err := pub.PrivateJWK(); !errors.Is(err, jose.ErrInvalidKey) {
				t.Errorf("PrivateJWK() of a public key = %v, want ErrInvalidKey", err)
			}
		})
	}
}

// TestJWKMembers pins the serialization: member order, kid, use and
// key_ops kept, key_ops of the public form, fixed-length EC members.
func TestJWKMembers(t *testing.T) {
	const (
		x = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
		d = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"
	)
	tests := []struct {
		name        string
		in          string
		wantPrivate string
		wantPublic  string
	}{{
		name:        "ed25519 with kid use key_ops",
		in:          `{"d":"` + d + `","x":"` + x + `","crv":"Ed25519","key_ops":["sign"],"use":"sig","kid":"k<1>","kty":"OKP","x5c":["ignored"]}`,
		wantPrivate: `{"kty":"OKP","kid":"k\u003c1\u003e","use":"sig","key_ops":["sign"],"alg":"EdDSA","crv":"Ed25519","x":"` + x + `","d":"` + d + `"}`,
		wantPublic:  `{"kty":"OKP","kid":"k\u003c1\u003e","use":"sig","key_ops":["verify"],"alg":"EdDSA","crv":"Ed25519","x":"` + x + `"}`,
	}, {
		name:        "ed25519 without kid gets thumbprint",
		in:          `{"kty":"OKP","crv":"Ed25519","x":"` + x + `","d":"` + d + `"}`,
		wantPrivate: `{"kty":"OKP","kid":"kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k","alg":"EdDSA","crv":"Ed25519","x":"` + x + `","d":"` + d + `"}`,
		wantPublic:  `{"kty":"OKP","kid":"kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k","alg":"EdDSA","crv":"Ed25519","x":"` + x + `"}`,
	}, {
		name:        "empty kid gets thumbprint",
		in:          `{"kty":"OKP","kid":"","crv":"Ed25519","x":"` + x + `"}`,
		wantPublic:  `{"kty":"OKP","kid":"kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k","alg":"EdDSA","crv":"Ed25519","x":"` + x + `"}`,
		wantPrivate: "",
	}, {
		name:        "escaped member names and values",
		in:          `{"kty":"O\u004bP","\u0063rv":"Ed25519","x":"` + x + `","kid":"caf\u00e9"}`,
		wantPublic:  `{"kty":"OKP","kid":"café","alg":"EdDSA","crv":"Ed25519","x":"` + x + `"}`,
		wantPrivate: "",
	}, {
		name: "P-521 coordinates keep their leading zero octets",
		in:   vectorKeyJSON(t, "rfc7515-a4-es512.json"),
		wantPrivate: `{"kty":"EC","kid":"u5YUSjQ2-2chBi51NSk3t3g7IM4o2KYcnPqPtCNGd3U","alg":"ES512","crv":"P-521",` +
			`"x":"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk",` +
			`"y":"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2",` +
			`"d":"AY5pb7A0UFiB3RELSD64fTLOSV_jazdF7fLYyuTw8lOfRhWg6Y6rUrPAxerEzgdRhajnu0ferB0d53vM9mE15j2C"}`,
		wantPublic: `{"kty":"EC","kid":"u5YUSjQ2-2chBi51NSk3t3g7IM4o2KYcnPqPtCNGd3U","alg":"ES512","crv":"P-521",` +
			`"x":"AekpBQ8ST8a8VcfVOTNl353vSrDCLLJXmPk06wTjxrrjcBpXp5EOnYG_NjFZ6OvLFV1jSfS9tsz4qUxcWceqwQGk",` +
			`"y":"ADSmRA43Z1DSNx_RvcLI87cdL07l6jQyyBXMoxVg_l2Th-x3S1WDhjDly79ajL4Kkd0AZMaZmh9ubmf63e3kyMj2"}`,
	}, {
		name:        "oct",
		in:          vectorKeyJSON(t, "rfc7520-4.4-hs256.json"),
		wantPrivate: `{"kty":"oct","kid":"018c0ae5-4d9b-471b-bfd6-eef314bc7037","use":"sig","alg":"HS256","k":"hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg"}`,
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := jose.ParseJWK([]byte(tc.in), "")
			if err != nil {
				t.Fatalf("ParseJWK(%s) = %v", tc.in, err)
			}
			if tc.wantPrivate != "" {
				got, err := k.PrivateJWK()
				if err != nil || string(got) != tc.wantPrivate {
					t.Errorf("PrivateJWK() = %s, %v, want %s", got, err, tc.wantPrivate)
				}
			}
			if tc.wantPublic != "" {
				got, err := k.PublicJWK()
				if err != nil || string(got) != tc.wantPublic {
					t.Errorf("PublicJWK() = %s, %v, want %s", got, err, tc.wantPublic)
				}
			}
		})
	}
}

func TestJWKThumbprintVectors(t *testing.T) {
	tests := []struct {
		name    string
		file    string
		alg     jose.Algorithm
		want    string // base64url SHA-256 thumbprint
		wantKID string
	}{
		// RFC 7638 §3.1. (Its value is NzbLsXh8…, as the RFC states and
		// as SHA-256 of the §3.1 JSON gives.)
		{"RFC 7638 3.1", "rfc7638-3.1-rsa.json", "", "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", "2011-04-29"},
		{"RFC 7638 3.1 with argument", "rfc7638-3.1-rsa.json", jose.RS256, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs", "2011-04-29"},
		// RFC 8037 A.3: no kid, so the key ID is the thumbprint.
		{"RFC 8037 A.3", "rfc8037-a2-ed25519-public.json", "", "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k", "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "jwk", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			k, err := jose.ParseJWK(data, tc.alg)
			if err != nil {
				t.Fatalf("ParseJWK(%s) = %v", tc.file, err)
			}
			if got := base64.RawURLEncoding.EncodeToString(k.Thumbprint()); got != tc.want {
				t.Errorf("ParseJWK(%s).Thumbprint() = %s, want %s", tc.file, got, tc.want)
			}
			if got := k.KeyID(); got != tc.wantKID {
				t.Errorf("ParseJWK(%s).KeyID() = %s, want %s", tc.file, got, tc.wantKID)
			}
			// The thumbprint does not depend on the serialization.
			pub, err := k.PublicJWK()
			if err != nil {
				t.Fatal(err)
			}
			again, err := jose.ParseJWK(pub, "")
			if err != nil || !bytes.Equal(again.Thumbprint(), k.Thumbprint()) {
				t.Errorf("ParseJWK(PublicJWK()) = %v, %v, want thumbprint %s", again, err, tc.want)
			}
		})
	}
}

// TestRFC7517PrivateEC checks the private EC key of RFC 7517 A.2: refused
// as is ("use": "enc"), and consistent once it is a signature key.
func TestRFC7517PrivateEC(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "jwk", "rfc7517-a2-ec-private.json"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = jose.ParseJWK(data, "")
	checkJWKErr(t, "ParseJWK(RFC 7517 A.2 EC, use enc)", err, jose.ErrInvalidKey)

	sig := jwkEdit(t, string(data), map[string]any{"use": "sig"})
	k, err := jose.ParseJWK([]byte(sig), "")
	if err != nil {
		t.Fatalf("ParseJWK(RFC 7517 A.2 EC, use sig) = %v", err)
	}
	if k.Algorithm() != jose.ES256 || k.KeyID() != "1" || !k.IsPrivate() {
		t.Errorf("ParseJWK(RFC 7517 A.2 EC, use sig) = %v, want ES256 private key 1", k)
	}
	signVerify(t, k, mustPublic(t, k))
}

func TestParseJWKAlgorithm(t *testing.T) {
	rsaNoAlg := jwkEdit(t, vectorKeyJSON(t, "rfc7515-a2-rs256.json"), map[string]any{"alg": nil})
	octNoAlg := jwkEdit(t, vectorKeyJSON(t, "rfc7515-a1-hs256.json"), map[string]any{"alg": nil})
	ec := vectorKeyJSON(t, "rfc7515-a3-es256.json")
	ecNoAlg := jwkEdit(t, ec, map[string]any{"alg": nil})
	es512NoAlg := jwkEdit(t, vectorKeyJSON(t, "rfc7515-a4-es512.json"), map[string]any{"alg": nil})
	edNoAlg := jwkEdit(t, vectorKeyJSON(t, "rfc8037-a4-eddsa.json"), map[string]any{"alg": nil})
	tests := []struct {
		name string
		jwk  string
		alg  jose.Algorithm
		want jose.Algorithm
	}{
		{"RSA takes the argument", rsaNoAlg, jose.PS256, jose.PS256},
		{"RSA alg equal to argument", vectorKeyJSON(t, "rfc7515-a2-rs256.json"), jose.RS256, jose.RS256},
		{"RSA alg alone", vectorKeyJSON(t, "rfc7515-a2-rs256.json"), "", jose.RS256},
		{"oct takes the argument", octNoAlg, jose.HS512, jose.HS512},
		{"EC implied by P-256", ecNoAlg, "", jose.ES256},
		{"EC implied by P-521", es512NoAlg, "", jose.ES512},
		{"EC argument equal to curve", ecNoAlg, jose.ES256, jose.ES256},
		{"EC alg equal to curve", ec, "", jose.ES256},
		{"OKP implied by Ed25519", edNoAlg, "", jose.EdDSA},
		{"OKP argument EdDSA", edNoAlg, jose.EdDSA, jose.EdDSA},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := jose.ParseJWK([]byte(tc.jwk), tc.alg)
			if err != nil {
				t.Fatalf("ParseJWK(%q) = %v", tc.alg, err)
			}
			if got := k.Algorithm(); got != tc.want {
				t.Errorf("ParseJWK(%q).Algorithm() = %s, want %s", tc.alg, got, tc.want)
			}
		})
	}
}

func TestParseJWKRejects(t *testing.T) {
	rsaKey := vectorKeyJSON(t, "rfc7515-a2-rs256.json")
	rsaPub := jwkEdit(t, rsaKey, map[string]any{"d": nil, "p": nil, "q": nil, "dp": nil, "dq": nil, "qi": nil})
	ecKey := vectorKeyJSON(t, "rfc7515-a3-es256.json")
	ecPub := jwkEdit(t, ecKey, map[string]any{"d": nil})
	edKey := vectorKeyJSON(t, "rfc8037-a4-eddsa.json")
	octKey := vectorKeyJSON(t, "rfc7520-4.4-hs256.json")

	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	b64 := base64.RawURLEncoding.EncodeToString
	small := fmt.Sprintf(`{"kty":"RSA","alg":"RS256","n":"%s","e":"AQAB"}`, b64(rsa1024.N.Bytes()))
	flipLast := func(b []byte) []byte { b[len(b)-1] ^= 0x02; return b }
	dropFirst := func(b []byte) []byte { return b[1:] }
	zeroFirst := func(b []byte) []byte { return append([]byte{0}, b...) }

	tests := []struct {
		name string
		jwk  string
		alg  jose.Algorithm
		want error
	}{
		// Missing members.
		{"missing kty", jwkEdit(t, ecPub, map[string]any{"kty": nil}), "", jose.ErrInvalidKey},
		{"missing n", jwkEdit(t, rsaPub, map[string]any{"n": nil}), "", jose.ErrInvalidKey},
		{"missing e", jwkEdit(t, rsaPub, map[string]any{"e": nil}), "", jose.ErrInvalidKey},
		{"missing x", jwkEdit(t, ecPub, map[string]any{"x": nil}), "", jose.ErrInvalidKey},
		{"missing y", jwkEdit(t, ecPub, map[string]any{"y": nil}), "", jose.ErrInvalidKey},
		{"missing EC crv", jwkEdit(t, ecPub, map[string]any{"crv": nil}), "", jose.ErrInvalidKey},
		{"missing OKP crv", jwkEdit(t, edKey, map[string]any{"crv": nil}), "", jose.ErrInvalidKey},
		{"missing OKP x", jwkEdit(t, edKey, map[string]any{"x": nil}), "", jose.ErrInvalidKey},
		{"missing k", jwkEdit(t, octKey, map[string]any{"k": nil}), "", jose.ErrInvalidKey},

		// EC material.
		{"EC x too short", jwkEdit(t, ecPub, map[string]any{"x": b64Edit(t, ecPub, "x", dropFirst)}), "", jose.ErrInvalidKey},
		{"EC x with leading zero", jwkEdit(t, ecPub, map[string]any{"x": b64Edit(t, ecPub, "x", zeroFirst)}), "", jose.ErrInvalidKey},
		{"EC y too short", jwkEdit(t, ecPub, map[string]any{"y": b64Edit(t, ecPub, "y", dropFirst)}), "", jose.ErrInvalidKey},
		{"EC point not on curve", jwkEdit(t, ecPub, map[string]any{"y": b64Edit(t, ecPub, "y", flipLast)}), "", jose.ErrInvalidKey},
		{"EC P-256 point as P-384", jwkEdit(t, ecPub, map[string]any{"crv": "P-384", "alg": nil}), "", jose.ErrInvalidKey},
		{"EC d not matching", jwkEdit(t, ecKey, map[string]any{"d": "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE"}), "", jose.ErrInvalidKey},
		{"EC d too short", jwkEdit(t, ecKey, map[string]any{"d": b64Edit(t, ecKey, "d", dropFirst)}), "", jose.ErrInvalidKey},
		{"EC d zero", jwkEdit(t, ecKey, map[string]any{"d": b64(make([]byte, 32))}), "", jose.ErrInvalidKey},
		{"EC d is the order", jwkEdit(t, ecKey, map[string]any{"d": b64(elliptic.P256().Params().N.Bytes())}), "", jose.ErrInvalidKey},

		// Ed25519 material.
		{"Ed25519 d not matching x", jwkEdit(t, edKey, map[string]any{"d": "870MB6gfuTJ4HtUnUvYMyJpr5eUZNP4Bk43bVdj3eAE"}), "", jose.ErrInvalidKey},
		{"Ed25519 x too short", jwkEdit(t, edKey, map[string]any{"d": nil, "x": b64Edit(t, edKey, "x", dropFirst)}), "", jose.ErrInvalidKey},
		{"Ed25519 d too long", jwkEdit(t, edKey, map[string]any{"d": b64Edit(t, edKey, "d", zeroFirst)}), "", jose.ErrInvalidKey},

		// RSA material.
		{"RSA q changed", jwkEdit(t, rsaKey, map[string]any{"q": b64Edit(t, rsaKey, "q", flipLast)}), "", jose.ErrInvalidKey},
		{"RSA dp changed", jwkEdit(t, rsaKey, map[string]any{"dp": b64Edit(t, rsaKey, "dp", flipLast)}), "", jose.ErrInvalidKey},
		{"RSA qi changed", jwkEdit(t, rsaKey, map[string]any{"qi": b64Edit(t, rsaKey, "qi", flipLast)}), "", jose.ErrInvalidKey},
		{"RSA d changed", jwkEdit(t, rsaKey, map[string]any{"d": b64Edit(t, rsaKey, "d", flipLast)}), "", jose.ErrInvalidKey},
		{"RSA p and q swapped", jwkEdit(t, rsaKey, map[string]any{"p": b64Edit(t, rsaKey, "q", slices.Clone), "q": b64Edit(t, rsaKey, "p", slices.Clone)}), "", jose.ErrInvalidKey},
		{"RSA with only d", jwkEdit(t, rsaKey, map[string]any{"p": nil, "q": nil, "dp": nil, "dq": nil, "qi": nil}), "", jose.ErrInvalidKey},
		{"RSA without dp", jwkEdit(t, rsaKey, map[string]any{"dp": nil}), "", jose.ErrInvalidKey},
		{"RSA without d", jwkEdit(t, rsaKey, map[string]any{"d": nil}), "", jose.ErrInvalidKey},
		{"RSA multi-prime", jwkEdit(t, rsaKey, map[string]any{"oth": []any{map[string]any{"r": "AQAB", "d": "AQAB", "t": "AQAB"}}}), "", jose.ErrInvalidKey},
		{"RSA 1024-bit", small, "", jose.ErrInvalidKey},
		{"RSA n with leading zero", jwkEdit(t, rsaPub, map[string]any{"n": b64Edit(t, rsaPub, "n", zeroFirst)}), "", jose.ErrNonCanonical},
		{"RSA e with leading zero", jwkEdit(t, rsaPub, map[string]any{"e": "AAEAAQ"}), "", jose.ErrNonCanonical},
		{"RSA e even", jwkEdit(t, rsaPub, map[string]any{"e": "AQAA"}), "", jose.ErrInvalidKey},
		{"RSA e one", jwkEdit(t, rsaPub, map[string]any{"e": "AQ"}), "", jose.ErrInvalidKey},
		{"RSA e over 31 bits", jwkEdit(t, rsaPub, map[string]any{"e": "gAAAAQ"}), "", jose.ErrInvalidKey},
		{"RSA e five octets", jwkEdit(t, rsaPub, map[string]any{"e": "AQAAAAE"}), "", jose.ErrInvalidKey},
		{"RSA n empty", jwkEdit(t, rsaPub, map[string]any{"n": ""}), "", jose.ErrInvalidKey},

		// Symmetric material.
		{"oct shorter than hash", jwkEdit(t, octKey, map[string]any{"k": b64Edit(t, octKey, "k", dropFirst)}), "", jose.ErrInvalidKey},
		{"oct 32 bytes for HS512", jwkEdit(t, octKey, map[string]any{"alg": "HS512"}), "", jose.ErrInvalidKey},
		{"oct empty", jwkEdit(t, octKey, map[string]any{"k": ""}), "", jose.ErrInvalidKey},

		// Purpose and algorithm.
		{"use enc", jwkEdit(t, ecPub, map[string]any{"use": "enc"}), "", jose.ErrInvalidKey},
		{"use unknown", jwkEdit(t, ecPub, map[string]any{"use": "tls"}), "", jose.ErrInvalidKey},
		{"key_ops encrypt", jwkEdit(t, ecPub, map[string]any{"key_ops": []any{"encrypt", "wrapKey"}}), "", jose.ErrInvalidKey},
		{"key_ops empty", jwkEdit(t, ecPub, map[string]any{"key_ops": []any{}}), "", jose.ErrInvalidKey},
		{"alg differs from argument", rsaKey, jose.PS256, jose.ErrInvalidKey},
		{"EC alg differs from curve", jwkEdit(t, ecPub, map[string]any{"alg": "ES384"}), "", jose.ErrInvalidKey},
		{"EC argument differs from curve", jwkEdit(t, ecPub, map[string]any{"alg": nil}), jose.ES512, jose.ErrInvalidKey},
		{"EC argument of another family", jwkEdit(t, ecPub, map[string]any{"alg": nil}), jose.RS256, jose.ErrInvalidKey},
		{"RSA with EC alg", jwkEdit(t, rsaPub, map[string]any{"alg": "ES256"}), "", jose.ErrInvalidKey},
		{"RSA with HMAC alg", jwkEdit(t, rsaPub, map[string]any{"alg": "HS256"}), "", jose.ErrInvalidKey},
		{"oct with RSA alg", jwkEdit(t, octKey, map[string]any{"alg": "RS256"}), "", jose.ErrInvalidKey},
		{"OKP with ES256", jwkEdit(t, edKey, map[string]any{"alg": "ES256"}), "", jose.ErrInvalidKey},
		{"alg RSA-OAEP", jwkEdit(t, rsaPub, map[string]any{"alg": "RSA-OAEP"}), "", jose.ErrInvalidKey},
		{"alg none", jwkEdit(t, octKey, map[string]any{"alg": "none"}), "", jose.ErrInvalidKey},
		{"alg lower case", jwkEdit(t, rsaPub, map[string]any{"alg": "rs256"}), "", jose.ErrInvalidKey},
		{"RSA without alg", jwkEdit(t, rsaPub, map[string]any{"alg": nil}), "", jose.ErrInvalidKey},
		{"oct without alg", jwkEdit(t, octKey, map[string]any{"alg": nil}), "", jose.ErrInvalidKey},
		{"argument none", ecPub, "none", jose.ErrUnsupportedAlgorithm},
		{"argument unknown", ecPub, "ES256K", jose.ErrUnsupportedAlgorithm},
		{"unknown kty", jwkEdit(t, ecPub, map[string]any{"kty": "EC2"}), "", jose.ErrInvalidKey},
		{"OKP X25519", `{"kty":"OKP","crv":"X25519","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}`, "", jose.ErrInvalidKey},
		{"EC secp256k1", jwkEdit(t, ecPub, map[string]any{"crv": "secp256k1", "alg": nil}), "", jose.ErrInvalidKey},

		// Syntax.
		{"duplicate member", `{"kty":"OKP","crv":"Ed25519","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`, "", jose.ErrDuplicateMember},
		{"duplicate member by escape", `{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","\u0078":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`, "", jose.ErrDuplicateMember},
		{"duplicate in ignored member", `{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","ext":{"a":1,"a":2}}`, "", jose.ErrDuplicateMember},
		{"duplicate key_ops", jwkEdit(t, ecPub, map[string]any{"key_ops": []any{"verify", "verify"}}), "", jose.ErrMalformed},
		{"key_ops not an array", jwkEdit(t, ecPub, map[string]any{"key_ops": "verify"}), "", jose.ErrMalformed},
		{"key_ops with a number", jwkEdit(t, ecPub, map[string]any{"key_ops": []any{"verify", 1}}), "", jose.ErrMalformed},
		{"padded base64", jwkEdit(t, octKey, map[string]any{"k": "hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYg="}), "", jose.ErrNonCanonical},
		{"standard alphabet", jwkEdit(t, octKey, map[string]any{"k": "hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG+Onbc6mxCcYg"}), "", jose.ErrNonCanonical},
		{"non-zero trailing bits", jwkEdit(t, octKey, map[string]any{"k": "hJtXIZ2uSN5kbQfbtTNWbpdmhkV8FJG-Onbc6mxCcYh"}), "", jose.ErrNonCanonical},
		{"line break in base64", jwkEdit(t, octKey, map[string]any{"k": "hJtXIZ2uSN5kbQfbtTNWbpdm\nhkV8FJG-Onbc6mxCcYg"}), "", jose.ErrNonCanonical},
		{"kty not a string", jwkEdit(t, ecPub, map[string]any{"kty": 1}), "", jose.ErrMalformed},
		{"kid not a string", jwkEdit(t, ecPub, map[string]any{"kid": []any{"a"}}), "", jose.ErrMalformed},
		{"kid null", jwkEdit(t, ecPub, map[string]any{"kid": json.RawMessage("null")}), "", jose.ErrMalformed},
		{"x not a string", jwkEdit(t, ecPub, map[string]any{"x": 7}), "", jose.ErrMalformed},
		{"alg not a string", jwkEdit(t, ecPub, map[string]any{"alg": true}), "", jose.ErrMalformed},
		{"not an object", `["kty","oct"]`, "", jose.ErrMalformed},
		{"trailing data", ecPub + `{}`, "", jose.ErrMalformed},
		{"truncated", ecPub[:len(ecPub)-1], "", jose.ErrMalformed},
		{"invalid UTF-8", `{"kty":"OKP","crv":"Ed25519","kid":"` + "\xff" + `","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`, "", jose.ErrMalformed},
		{"empty input", "", "", jose.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := jose.ParseJWK([]byte(tc.jwk), tc.alg)
			checkJWKErr(t, fmt.Sprintf("ParseJWK(%.80s…, %q)", tc.jwk, tc.alg), err, tc.want)
			if k != nil {
				t.Errorf("ParseJWK(%.80s…) returned key %v with error %v", tc.jwk, k, err)
			}
		})
	}
}

// TestParseJWKRSAOnlyDMessage checks that the refusal of a key without CRT
// parameters says what is missing.
func TestParseJWKRSAOnlyDMessage(t *testing.T) {
	onlyD := jwkEdit(t, vectorKeyJSON(t, "rfc7515-a2-rs256.json"), map[string]any{"p": nil, "q": nil, "dp": nil, "dq": nil, "qi": nil})
	_, err := jose.ParseJWK([]byte(onlyD), "")
	if err == nil || !strings.Contains(err.Error(), "CRT") {
		t.Errorf("ParseJWK(RSA with only d) = %v, want an error naming the CRT parameters", err)
	}
	rsaNoAlg := jwkEdit(t, onlyD, map[string]any{"d": nil, "alg": nil})
	_, err = jose.ParseJWK([]byte(rsaNoAlg), "")
	if err == nil || !strings.Contains(err.Error(), "pass the algorithm") {
		t.Errorf("ParseJWK(RSA without alg) = %v, want an error asking for an algorithm", err)
	}
}

func TestParseJWKSet(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", "jwk", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	ecPub := jwkEdit(t, vectorKeyJSON(t, "rfc7515-a3-es256.json"), map[string]any{"d": nil})
	edPub := jwkEdit(t, vectorKeyJSON(t, "rfc8037-a4-eddsa.json"), map[string]any{"d": nil})
	hs := vectorKeyJSON(t, "rfc7520-4.4-hs256.json")
	set := func(keys ...string) string { return `{"keys":[` + strings.Join(keys, ",") + `]}` }
	tooMany := make([]string, jose.MaxJWKSetKeys+1)
	for i := range tooMany {
		tooMany[i] = `{"kty":"unknown"}`
	}

	tests := []struct {
		name     string
		in       string
		wantKIDs []string
		wantErr  error
	}{
		{name: "RFC 7517 A.1 skips the enc key", in: read("rfc7517-a1-set.json"), wantKIDs: []string{"2011-04-29"}},
		{name: "mixed set skips what is not understood", in: read("mixed-set.json"), wantKIDs: []string{"es256", "eddsa", "2011-04-29"}},
		{name: "empty", in: `{"keys":[]}`, wantKIDs: []string{}},
		{name: "private keys", in: set(vectorKeyJSON(t, "rfc7515-a3-es256.json"), vectorKeyJSON(t, "rfc8037-a4-eddsa.json")), wantKIDs: []string{ecThumbprint(t), edThumbprint(t)}},
		{name: "symmetric keys", in: set(hs, jwkEdit(t, hs, map[string]any{"kid": "second"})), wantKIDs: []string{"018c0ae5-4d9b-471b-bfd6-eef314bc7037", "second"}},
		{name: "symmetric key skipped without alg", in: set(ecPub, jwkEdit(t, hs, map[string]any{"alg": nil})), wantKIDs: []string{ecThumbprint(t)}},
		{name: "exactly the limit", in: set(tooMany[:jose.MaxJWKSetKeys]...), wantKIDs: []string{}},

		{name: "malformed known key fails the set", in: set(ecPub, jwkEdit(t, edPub, map[string]any{"x": "AAAA"})), wantErr: jose.ErrInvalidKey},
		{name: "EC point off curve fails the set", in: set(jwkEdit(t, ecPub, map[string]any{"y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a4"})), wantErr: jose.ErrInvalidKey},
		{name: "non-canonical base64 fails the set", in: set(edPub, jwkEdit(t, ecPub, map[string]any{"kid": "b", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU="})), wantErr: jose.ErrNonCanonical},
		{name: "alg that does not fit the key fails the set", in: set(jwkEdit(t, ecPub, map[string]any{"alg": "RS256"})), wantErr: jose.ErrInvalidKey},
		{name: "RSA 1024 fails the set", in: set(fmt.Sprintf(`{"kty":"RSA","alg":"RS256","n":"%s","e":"AQAB"}`, strings.Repeat("w", 171)+"E")), wantErr: jose.ErrInvalidKey},
		{name: "Wycheproof MixedKeySet: secret and public key", in: read("wycheproof-mixed-symmetry-set.json"), wantErr: jose.ErrInvalidKey},
		{name: "private and symmetric keys", in: set(vectorKeyJSON(t, "rfc7515-a3-es256.json"), hs), wantErr: jose.ErrInvalidKey},
		{name: "symmetric key among public keys", in: set(ecPub, edPub, hs), wantErr: jose.ErrInvalidKey},
		{name: "duplicate kid", in: set(jwkEdit(t, ecPub, map[string]any{"kid": "a"}), jwkEdit(t, edPub, map[string]any{"kid": "a"})), wantErr: jose.ErrInvalidKey},
		{name: "same key twice", in: set(ecPub, ecPub), wantErr: jose.ErrInvalidKey},
		{name: "duplicate member in entry", in: `{"keys":[{"kty":"OKP","kty":"OKP"}]}`, wantErr: jose.ErrDuplicateMember},
		{name: "duplicate member in skipped entry", in: `{"keys":[{"kty":"future","a":1,"a":1}]}`, wantErr: jose.ErrDuplicateMember},
		{name: "duplicate keys member", in: `{"keys":[],"keys":[]}`, wantErr: jose.ErrDuplicateMember},
		{name: "wrong type in known entry", in: set(jwkEdit(t, ecPub, map[string]any{"x": 1})), wantErr: jose.ErrMalformed},
		{name: "entry without kty", in: set(`{"crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`), wantErr: jose.ErrInvalidKey},
		{name: "entry not an object", in: set(`"key"`), wantErr: jose.ErrMalformed},
		{name: "no keys member", in: `{"key":[]}`, wantErr: jose.ErrMalformed},
		{name: "keys not an array", in: `{"keys":{}}`, wantErr: jose.ErrMalformed},
		{name: "a bare JWK", in: ecPub, wantErr: jose.ErrMalformed},
		{name: "too many keys", in: set(tooMany...), wantErr: jose.ErrMalformed},
		{name: "trailing comma", in: `{"keys":[` + ecPub + `,]}`, wantErr: jose.ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, err := jose.ParseJWKSet([]byte(tc.in))
			if tc.wantErr != nil {
				checkJWKErr(t, fmt.Sprintf("ParseJWKSet(%.80s…)", tc.in), err, tc.wantErr)
				if s != nil {
					t.Errorf("ParseJWKSet(%.80s…) returned a set with error %v", tc.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseJWKSet(%.80s…) = %v", tc.in, err)
			}
			got := []string{}
			for _, k := range s.Keys() {
				got = append(got, k.KeyID())
			}
			if !slices.Equal(got, tc.wantKIDs) {
				t.Errorf("ParseJWKSet(%.80s…) key IDs = %q, want %q", tc.in, got, tc.wantKIDs)
			}
		})
	}
}

// edThumbprint is the key ID of the RFC 8037 A.4 key, which has no kid.
func edThumbprint(tb testing.TB) string {
	tb.Helper()
	k, err := jose.ParseJWK([]byte(vectorKeyJSON(tb, "rfc8037-a4-eddsa.json")), "")
	if err != nil {
		tb.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(k.Thumbprint())
}

// ecThumbprint is the key ID of the RFC 7515 A.3 key, which has no kid.
func ecThumbprint(tb testing.TB) string {
	tb.Helper()
	k, err := jose.ParseJWK([]byte(vectorKeyJSON(tb, "rfc7515-a3-es256.json")), "")
	if err != nil {
		tb.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(k.Thumbprint())
}

func TestPublicJWKS(t *testing.T) {
	var keys []*jose.Key
	for _, alg := range []jose.Algorithm{jose.RS256, jose.PS384, jose.ES256, jose.ES384, jose.ES512, jose.EdDSA} {
		k, err := jose.GenerateKey(alg)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.WithKeyID("key-"+string(alg)))
	}
	set := mustSet(t, keys...)
	out, err := set.PublicJWKS()
	if err != nil {
		t.Fatalf("PublicJWKS() = %v", err)
	}
	if bytes.Contains(out, []byte(`"d"`)) {
		t.Errorf("PublicJWKS() = %s, which contains a private member", out)
	}
	parsed, err := jose.ParseJWKSet(out)
	if err != nil {
		t.Fatalf("ParseJWKSet(PublicJWKS()) = %v", err)
	}
	if parsed.Len() != len(keys) {
		t.Fatalf("ParseJWKSet(PublicJWKS()).Len() = %d, want %d", parsed.Len(), len(keys))
	}
	for i, k := range parsed.Keys() {
		want := keys[i]
		if k.KeyID() != want.KeyID() || k.Algorithm() != want.Algorithm() || k.IsPrivate() ||
			!bytes.Equal(k.Thumbprint(), want.Thumbprint()) {
			t.Errorf("ParseJWKSet(PublicJWKS()) key %d = %v, want public %v", i, k, want)
		}
	}
	// A token from each private key verifies against the published set.
	for _, k := range keys {
		tok, err := jose.Sign(k, []byte("p"), jose.SignOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := jose.Verify(tok, parsed, jose.VerifyOptions{}); err != nil {
			t.Errorf("Verify(token of %v, published set) = %v", k, err)
		}
	}

	empty, err := mustSet(t).PublicJWKS()
	if err != nil || string(empty) != `{"keys":[]}` {
		t.Errorf("PublicJWKS() of an empty set = %s, %v, want {\"keys\":[]}", empty, err)
	}
	hs, err := jose.GenerateKey(jose.HS256)
	if err != nil {
		t.Fatal(err)
	}
	_, err = mustSet(t, hs).PublicJWKS()
	checkJWKErr(t, "PublicJWKS() with an HMAC key", err, jose.ErrInvalidKey)
}

// FuzzParseJWK checks that every input is either refused as malformed or
// invalid, or parses to a key whose JWK parses back to the same key.
func FuzzParseJWK(f *testing.F) {
	for _, seed := range jwkSeeds(f) {
		f.Add(seed, uint8(0))
	}
	algs := append([]jose.Algorithm{""}, jose.Algorithms()...)
	f.Fuzz(func(t *testing.T, data []byte, algIndex uint8) {
		alg := algs[int(algIndex)%len(algs)]
		k, err := jose.ParseJWK(data, alg)
		if err != nil {
			if !errors.Is(err, jose.ErrMalformed) && !errors.Is(err, jose.ErrInvalidKey) {
				t.Fatalf("ParseJWK(%q, %q) = %v, want ErrMalformed or ErrInvalidKey", data, alg, err)
			}
			if errors.Is(err, jose.ErrMalformed) && errors.Is(err, jose.ErrInvalidKey) {
				t.Fatalf("ParseJWK(%q, %q) = %v, which is both ErrMalformed and ErrInvalidKey", data, alg, err)
			}
			if k != nil {
				t.Fatalf("ParseJWK(%q, %q) returned a key with error %v", data, alg, err)
			}
			return
		}
		checkJWKRoundTrip(t, data, k)
	})
}

// checkJWKRoundTrip checks that k's JWK parses back to an equal key and
// serializes identically.
func checkJWKRoundTrip(t *testing.T, in []byte, k *jose.Key) {
	t.Helper()
	out, err := k.PublicJWK()
	if k.IsPrivate() {
		out, err = k.PrivateJWK()
	}
	if err != nil {
		t.Fatalf("serializing %v parsed from %q: %v", k, in, err)
	}
	again, err := jose.ParseJWK(out, "")
	if err != nil {
		t.Fatalf("ParseJWK(%s) (re-encoded from %q) = %v", out, in, err)
	}
	if again.Algorithm() != k.Algorithm() || again.KeyID() != k.KeyID() || again.IsPrivate() != k.IsPrivate() ||
		!bytes.Equal(again.Thumbprint(), k.Thumbprint()) {
		t.Fatalf("round trip of %q: got %v, want %v", in, again, k)
	}
	out2, err := again.PublicJWK()
	if again.IsPrivate() {
		out2, err = again.PrivateJWK()
	}
	if err != nil || !bytes.Equal(out2, out) {
		t.Fatalf("second serialization of %q = %s, %v, want %s", in, out2, err, out)
	}
}

// FuzzParseJWKSet checks the set parser with the same property, and that
// a set of public keys survives PublicJWKS.
func FuzzParseJWKSet(f *testing.F) {
	for _, seed := range jwkSeeds(f) {
		if bytes.Contains(seed, []byte(`"keys"`)) {
			f.Add(seed)
		} else {
			f.Add([]byte(`{"keys":[` + string(seed) + `]}`))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := jose.ParseJWKSet(data)
		if err != nil {
			if !errors.Is(err, jose.ErrMalformed) && !errors.Is(err, jose.ErrInvalidKey) {
				t.Fatalf("ParseJWKSet(%q) = %v, want ErrMalformed or ErrInvalidKey", data, err)
			}
			if s != nil {
				t.Fatalf("ParseJWKSet(%q) returned a set with error %v", data, err)
			}
			return
		}
		if s.Len() > jose.MaxJWKSetKeys {
			t.Fatalf("ParseJWKSet(%q) has %d keys", data, s.Len())
		}
		symmetric := 0
		for _, k := range s.Keys() {
			checkJWKRoundTrip(t, data, k)
			if k.IsSymmetric() {
				symmetric++
			}
		}
		if symmetric != 0 && symmetric != s.Len() {
			t.Fatalf("ParseJWKSet(%q) mixes %d HMAC secrets with %d public keys", data, symmetric, s.Len()-symmetric)
		}
		if symmetric != 0 {
			return
		}
		out, err := s.PublicJWKS()
		if err != nil {
			t.Fatalf("PublicJWKS() of set %q = %v", data, err)
		}
		again, err := jose.ParseJWKSet(out)
		if err != nil {
			t.Fatalf("ParseJWKSet(%s) (published from %q) = %v", out, data, err)
		}
		if again.Len() != s.Len() {
			t.Fatalf("ParseJWKSet(PublicJWKS()) has %d keys, want %d", again.Len(), s.Len())
		}
		for i, k := range again.Keys() {
			if want := s.Keys()[i]; k.KeyID() != want.KeyID() || !bytes.Equal(k.Thumbprint(), want.Thumbprint()) {
				t.Fatalf("ParseJWKSet(PublicJWKS()) key %d = %v, want %v", i, k, want)
			}
		}
	})
}

// jwkSeeds returns the "key" member of every testdata/vectors file and
// every file of testdata/jwk.
func jwkSeeds(tb testing.TB) [][]byte {
	tb.Helper()
	var seeds [][]byte
	vectors, _ := filepath.Glob(filepath.Join("testdata", "vectors", "*.json"))
	for _, file := range vectors {
		seeds = append(seeds, []byte(vectorKeyJSON(tb, filepath.Base(file))))
	}
	jwks, _ := filepath.Glob(filepath.Join("testdata", "jwk", "*.json"))
	for _, file := range jwks {
		b, err := os.ReadFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	if len(vectors) == 0 || len(jwks) == 0 {
		tb.Fatalf("no seeds: %d vectors, %d JWK files", len(vectors), len(jwks))
	}
	return seeds
}

func ExampleParseJWK() {
	// RFC 8037 A.2: an Ed25519 public key. Its algorithm follows from the
	// curve; without "kid" its key ID is the RFC 7638 thumbprint.
	key, err := jose.ParseJWK([]byte(`{"kty":"OKP","crv":"Ed25519",
		"x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`), "")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(key.Algorithm(), key.KeyID(), key.IsPrivate())

	// An RSA key without "alg" needs the algorithm from the caller.
	_, err = jose.ParseJWK([]byte(`{"kty":"RSA","n":"AQAB","e":"AQAB"}`), "")
	fmt.Println(errors.Is(err, jose.ErrInvalidKey))
	// Output:
	// EdDSA kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k false
	// true
}

func ExampleParseJWKSet() {
	set, err := jose.ParseJWKSet([]byte(`{"keys":[
		{"kty":"OKP","crv":"Ed25519","kid":"2025-01","use":"sig",
		 "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
		{"kty":"OKP","crv":"X25519","kid":"ecdh",
		 "x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	// The X25519 key agreement key is skipped.
	for _, k := range set.Keys() {
		fmt.Println(k.KeyID(), k.Algorithm())
	}
	// Output: 2025-01 EdDSA
}

func ExampleKey_PublicJWK() {
	key, err := jose.ParseJWK([]byte(`{"kty":"OKP","crv":"Ed25519","kid":"2025-01",
		"d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",
		"x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`), "")
	if err != nil {
		fmt.Println(err)
		return
	}
	pub, err := key.PublicJWK()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(string(pub))
	// Output: {"kty":"OKP","kid":"2025-01","alg":"EdDSA","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
}
