package jose

import (
	"crypto/ecdh"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// jweHeaderToken builds a compact JWE with the given header JSON and
// segments, for tests that need a token latch would never produce.
func jweHeaderToken(header string, rest ...string) string {
	return strings.Join(append([]string{b64.EncodeToString([]byte(header))}, rest...), ".")
}

func TestDecryptRefusesHeaders(t *testing.T) {
	kw, _ := GenerateEncryptionKey(A128KW, "")
	keys := mustSet(t, kw)
	tok, err := Encrypt([]byte("hi"), kw, EncryptOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rest := strings.SplitN(tok, ".", 2)[1]
	parts := strings.Split(rest, ".")
	kid := kw.KeyID()
	tests := []struct {
		name, header string
		kind         error
	}{
		{"alg none", `{"alg":"none","enc":"A256GCM"}`, ErrUnsupportedAlgorithm},
		{"alg RSA1_5", `{"alg":"RSA1_5","enc":"A256GCM"}`, ErrUnsupportedAlgorithm},
		{"alg RSA-OAEP (SHA-1)", `{"alg":"RSA-OAEP","enc":"A256GCM"}`, ErrUnsupportedAlgorithm},
		{"alg PBES2", `{"alg":"PBES2-HS256+A128KW","enc":"A256GCM","p2s":"AAAAAAAAAAA","p2c":100000000}`, ErrUnsupportedAlgorithm},
		{"alg A128GCMKW", `{"alg":"A128GCMKW","enc":"A256GCM"}`, ErrUnsupportedAlgorithm},
		{"enc unknown", `{"alg":"A128KW","enc":"A192GCM"}`, ErrUnsupportedAlgorithm},
		{"zip", `{"alg":"A128KW","enc":"A256GCM","zip":"DEF","kid":"` + kid + `"}`, ErrCritical},
		{"crit", `{"alg":"A128KW","enc":"A256GCM","crit":["exp"],"exp":1}`, ErrCritical},
		{"duplicate alg", `{"alg":"A128KW","alg":"A128KW","enc":"A256GCM"}`, ErrDuplicateMember},
		{"no enc", `{"alg":"A128KW"}`, ErrMalformed},
		{"not an object", `["A128KW"]`, ErrMalformed},
		{"epk without ECDH", `{"alg":"A128KW","enc":"A256GCM","epk":{"kty":"OKP","crv":"X25519","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}`, ErrMalformed},
		{"other alg than the key", `{"alg":"A256KW","enc":"A256GCM","kid":"` + kid + `"}`, ErrAlgorithmMismatch},
		{"unknown kid", `{"alg":"A128KW","enc":"A256GCM","kid":"nope"}`, ErrUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, pt, err := Decrypt(jweHeaderToken(tt.header, parts...), keys, DecryptOptions{})
			if !errors.Is(err, tt.kind) || !errors.Is(err, ErrDecryption) || pt != nil {
				t.Errorf("Decrypt = %q, %v, want %v and ErrDecryption", pt, err, tt.kind)
			}
		})
	}
}

// TestDecryptInvalidCurve: an epk off the curve (the invalid-curve attack)
// or on another curve than the key's is refused.
func TestDecryptInvalidCurve(t *testing.T) {
	priv, _ := ecdh.P256().GenerateKey(nil)
	key, _ := NewECDHPrivateKey(ECDHES, priv)
	keys := mustSet(t, key)
	tok, _ := Encrypt([]byte("hi"), key, EncryptOptions{})
	rest := strings.SplitN(tok, ".", 2)[1]
	parts := strings.Split(rest, ".")
	// A point of small order on a twist: x=0, y=... not on P-256.
	off := `{"alg":"ECDH-ES","enc":"A256GCM","epk":{"kty":"EC","crv":"P-256","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE"}}`
	p384, _ := ecdh.P384().GenerateKey(nil)
	other := `{"alg":"ECDH-ES","enc":"A256GCM","epk":` + string(appendEPK(nil, p384.PublicKey())) + `}`
	x25519Zero := `{"alg":"ECDH-ES","enc":"A256GCM","epk":{"kty":"OKP","crv":"X25519","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}}`
	for name, h := range map[string]string{"off curve": off, "other curve": other, "X25519 low order": x25519Zero} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := Decrypt(jweHeaderToken(h, parts...), keys, DecryptOptions{}); !errors.Is(err, ErrDecryption) {
				t.Errorf("Decrypt = %v, want ErrDecryption", err)
			}
		})
	}
	xpriv, _ := ecdh.X25519().GenerateKey(nil)
	xkey, _ := NewECDHPrivateKey(ECDHES, xpriv)
	if _, _, err := Decrypt(jweHeaderToken(x25519Zero, parts...), mustSet(t, xkey), DecryptOptions{}); err != ErrDecryption {
		t.Errorf("Decrypt(X25519 all-zero epk) = %v, want exactly ErrDecryption", err)
	}
}

// TestDecryptTampering: lengths and bit flips past the header are exactly
// ErrDecryption, whatever the cause.
func TestDecryptTampering(t *testing.T) {
	for _, key := range testEncryptionKeys(t) {
		for _, enc := range ContentEncryptions() {
			if key.alg == Direct && key.enc != enc {
				continue
			}
			t.Run(key.String()+"/"+string(enc), func(t *testing.T) {
				t.Parallel()
				to := key
				if !key.IsSymmetric() {
					to, _ = key.Public()
				}
				tok, err := Encrypt([]byte("attack at dawn, bring snacks"), to, EncryptOptions{Encryption: enc})
				if err != nil {
					t.Fatal(err)
				}
				keys := mustSet(t, key)
				seg := strings.Split(tok, ".")
				mod := func(i int, f func([]byte) []byte) string {
					b, _ := b64.DecodeString(seg[i])
					s := append([]string(nil), seg...)
					s[i] = b64.EncodeToString(f(b))
					return strings.Join(s, ".")
				}
				cases := map[string]string{
					"truncated tag":  mod(4, func(b []byte) []byte { return b[:len(b)-1] }),
					"short tag":      mod(4, func(b []byte) []byte { return b[:8] }),
					"long tag":       mod(4, func(b []byte) []byte { return append(b, 0) }),
					"empty tag":      mod(4, func(b []byte) []byte { return nil }),
					"short IV":       mod(2, func(b []byte) []byte { return b[:len(b)-1] }),
					"long IV":        mod(2, func(b []byte) []byte { return append(b, 0) }),
					"truncated ct":   mod(3, func(b []byte) []byte { return b[:len(b)-1] }),
					"extra enc key":  mod(1, func(b []byte) []byte { return append(b, 1, 2, 3, 4, 5, 6, 7, 8) }),
					"short enc key":  mod(1, func(b []byte) []byte { return b[:len(b)/2] }),
					"other key size": mod(1, func(b []byte) []byte { return append(b, make([]byte, 8)...) }),
				}
				for i := 1; i < 5; i++ {
					b, _ := b64.DecodeString(seg[i])
					// At most about 40 flips per segment, spread over it.
					for bit := 0; bit < len(b)*8; bit += max(7, len(b)*8/40) {
						cases[fmt.Sprintf("flip segment %d bit %d", i, bit)] = mod(i, func(b []byte) []byte {
							b[bit/8] ^= 1 << (bit % 8)
							return b
						})
					}
				}
				// A flip in the header changes the AAD.
				hdr, _ := b64.DecodeString(seg[0])
				if i := strings.Index(string(hdr), `"enc"`); i > 0 {
					h2 := append([]byte(nil), hdr...)
					h2 = []byte(strings.Replace(string(h2), `"alg"`, `"typ":"x","alg"`, 1))
					cases["header member added"] = strings.Join(append([]string{b64.EncodeToString(h2)}, seg[1:]...), ".")
				}
				for name, bad := range cases {
					if bad == tok {
						continue
					}
					_, pt, err := Decrypt(bad, keys, DecryptOptions{})
					if err != ErrDecryption || pt != nil {
						t.Errorf("%s: Decrypt = %q, %v, want exactly ErrDecryption", name, pt, err)
					}
				}
			})
		}
	}
}

// TestDecryptCEKLength: a dir key or key-wrapped CEK of another length
// than enc's is refused.
func TestDecryptCEKLength(t *testing.T) {
	if _, err := NewDirectKey(A256GCM, make([]byte, 16)); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("NewDirectKey(A256GCM, 16 bytes) = %v, want ErrInvalidKey", err)
	}
	kek := randBytes(16)
	key, _ := NewKeyWrapKey(A128KW, kek)
	tok, _ := Encrypt([]byte("hi"), key, EncryptOptions{Encryption: A128GCM})
	seg := strings.Split(tok, ".")
	// Wrap a 32-byte CEK whose first 16 bytes are the real one: a lax
	// implementation would truncate it and succeed.
	wrapped, _ := b64.DecodeString(seg[1])
	cek, _ := keyUnwrap(kek, wrapped)
	long, _ := keyWrap(kek, append(cek, make([]byte, 16)...))
	seg[1] = b64.EncodeToString(long)
	if _, _, err := Decrypt(strings.Join(seg, "."), mustSet(t, key), DecryptOptions{}); err != ErrDecryption {
		t.Errorf("Decrypt(32-byte CEK for A128GCM) = %v, want ErrDecryption", err)
	}
}

// TestEncryptionJWKUse: a JWK for signatures is not an encryption key.
func TestEncryptionJWKUse(t *testing.T) {
	for _, jwk := range []string{
		`{"kty":"oct","use":"sig","alg":"A128KW","k":"GawgguFyGrWKav7AX4VKUg"}`,
		`{"kty":"oct","alg":"HS256","k":"GawgguFyGrWKav7AX4VKUg"}`,
		`{"kty":"oct","alg":"RSA1_5","k":"GawgguFyGrWKav7AX4VKUg"}`,
		`{"kty":"oct","k":"GawgguFyGrWKav7AX4VKUg"}`,
		`{"kty":"oct","alg":"A256KW","k":"GawgguFyGrWKav7AX4VKUg"}`,
	} {
		if _, err := ParseEncryptionJWK([]byte(jwk), "", ""); !errors.Is(err, ErrInvalidKey) {
			t.Errorf("ParseEncryptionJWK(%s) = %v, want ErrInvalidKey", jwk, err)
		}
	}
	if _, err := ParseJWK([]byte(`{"kty":"oct","use":"enc","alg":"A128KW","k":"GawgguFyGrWKav7AX4VKUg"}`), ""); !errors.Is(err, ErrInvalidKey) {
		t.Errorf("ParseJWK(enc key) = %v, want ErrInvalidKey", err)
	}
}
