package jose

import (
	"bytes"
	"crypto/ecdh"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

type jweVector struct {
	Name      string          `json:"name"`
	Key       json.RawMessage `json:"key"`
	Alg       KeyManagement   `json:"alg"`
	Enc       string          `json:"enc"`
	Token     string          `json:"token"`
	Plaintext string          `json:"plaintext"`
}

func loadJWEVectors(t testing.TB) []jweVector {
	files, err := filepath.Glob("testdata/jwe/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no JWE vectors: %v", err)
	}
	var out []jweVector
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var v jweVector
		if err := json.Unmarshal(data, &v); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, v)
	}
	return out
}

func mustSet(t testing.TB, keys ...*EncryptionKey) *EncryptionKeySet {
	t.Helper()
	s, err := NewEncryptionKeySet(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestJWEVectors decrypts the RFC examples to their plaintext, then
// round-trips the plaintext with the same key.
func TestJWEVectors(t *testing.T) {
	for _, v := range loadJWEVectors(t) {
		t.Run(v.Name, func(t *testing.T) {
			key, err := ParseEncryptionJWK(v.Key, v.Alg, ContentEncryption(v.Enc))
			if err != nil {
				t.Fatalf("ParseEncryptionJWK = %v", err)
			}
			keys := mustSet(t, key)
			h, pt, err := Decrypt(v.Token, keys, DecryptOptions{})
			if err != nil {
				t.Fatalf("Decrypt = %v", err)
			}
			if string(pt) != v.Plaintext {
				t.Errorf("Decrypt plaintext = %q, want %q", pt, v.Plaintext)
			}
			tok, err := Encrypt(pt, key, EncryptOptions{Encryption: h.Encryption})
			if err != nil {
				t.Fatalf("Encrypt = %v", err)
			}
			h2, pt2, err := Decrypt(tok, keys, DecryptOptions{})
			if err != nil || !bytes.Equal(pt2, pt) || h2 != h {
				t.Errorf("round trip = %+v, %q, %v; want %+v, %q", h2, pt2, err, h, pt)
			}
		})
	}
}

// TestKeyWrapRFC3394 checks AES key wrap against RFC 3394 §4.1 and §4.6.
func TestKeyWrapRFC3394(t *testing.T) {
	tests := []struct{ name, kek, data, wrapped string }{
		{"4.1 128-bit KEK, 128-bit data", "000102030405060708090A0B0C0D0E0F", "00112233445566778899AABBCCDDEEFF",
			"1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5"},
		{"4.6 256-bit KEK, 256-bit data", "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F",
			"00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F",
			"28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kek, _ := hex.DecodeString(tt.kek)
			data, _ := hex.DecodeString(tt.data)
			want, _ := hex.DecodeString(tt.wrapped)
			got, err := keyWrap(kek, data)
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("keyWrap = %X, %v, want %X", got, err, want)
			}
			back, err := keyUnwrap(kek, got)
			if err != nil || !bytes.Equal(back, data) {
				t.Fatalf("keyUnwrap = %X, %v, want %X", back, err, data)
			}
			got[len(got)-1] ^= 1
			if _, err := keyUnwrap(kek, got); err == nil {
				t.Error("keyUnwrap(flipped) = nil error")
			}
		})
	}
}

// TestConcatKDFRFC7518 is the ECDH-ES example of RFC 7518 Appendix C.
func TestConcatKDFRFC7518(t *testing.T) {
	dec := func(s string) []byte {
		b, err := b64.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	alice, err := ecdh.P256().NewPrivateKey(dec("0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo"))
	if err != nil {
		t.Fatal(err)
	}
	bobPoint := append(append([]byte{4}, dec("weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ")...), dec("e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck")...)
	bob, err := ecdh.P256().NewPublicKey(bobPoint)
	if err != nil {
		t.Fatal(err)
	}
	z, err := alice.ECDH(bob)
	if err != nil {
		t.Fatal(err)
	}
	got := b64.EncodeToString(concatKDF(z, "A128GCM", []byte("Alice"), []byte("Bob"), 16))
	if want := "VqqN6vgjbSBcIijNcacQGg"; got != want {
		t.Errorf("concatKDF = %s, want %s", got, want)
	}
}

func testEncryptionKeys(t testing.TB) []*EncryptionKey {
	t.Helper()
	var keys []*EncryptionKey
	add := func(k *EncryptionKey, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	for _, enc := range ContentEncryptions() {
		add(GenerateEncryptionKey(Direct, enc))
	}
	add(GenerateEncryptionKey(A128KW, ""))
	add(GenerateEncryptionKey(A256KW, ""))
	add(GenerateEncryptionKey(RSAOAEP256, ""))
	for _, alg := range []KeyManagement{ECDHES, ECDHESA128KW, ECDHESA256KW} {
		for _, c := range []ecdh.Curve{ecdh.P256(), ecdh.P384(), ecdh.P521(), ecdh.X25519()} {
			priv, err := c.GenerateKey(nil)
			if err != nil {
				t.Fatal(err)
			}
			add(NewECDHPrivateKey(alg, priv))
		}
	}
	return keys
}

// TestJWERoundTrip encrypts to every kind of key with every content
// encryption and decrypts with the private key, by kid and without.
func TestJWERoundTrip(t *testing.T) {
	for _, key := range testEncryptionKeys(t) {
		for _, enc := range ContentEncryptions() {
			if key.alg == Direct && key.enc != enc {
				continue
			}
			name := string(key.alg) + "/" + string(enc)
			if key.ecdhPriv != nil {
				name += "/" + curveName(key.ecdhPriv.Curve())
			}
			t.Run(name, func(t *testing.T) {
				to := key
				if !to.IsSymmetric() {
					to, _ = key.Public()
				}
				for _, omit := range []bool{false, true} {
					for _, pt := range [][]byte{nil, []byte("x"), bytes.Repeat([]byte("sixteen bytes!!!"), 3)} {
						tok, err := Encrypt(pt, to, EncryptOptions{Encryption: enc, ContentType: "JWT", OmitKeyID: omit})
						if err != nil {
							t.Fatalf("Encrypt = %v", err)
						}
						h, got, err := Decrypt(tok, mustSet(t, key), DecryptOptions{})
						if err != nil || !bytes.Equal(got, pt) {
							t.Fatalf("Decrypt = %q, %v, want %q", got, err, pt)
						}
						want := JWEHeader{Algorithm: key.alg, Encryption: enc, KeyID: key.kid, ContentType: "JWT"}
						if h != want {
							t.Errorf("Decrypt header = %+v, want %+v", h, want)
						}
					}
				}
			})
		}
	}
}

// TestEncryptionJWKRoundTrip: PrivateJWK and PublicJWK parse back to the
// same key, and the public JWK encrypts to the private one.
func TestEncryptionJWKRoundTrip(t *testing.T) {
	for _, key := range testEncryptionKeys(t) {
		t.Run(key.String(), func(t *testing.T) {
			priv, err := key.PrivateJWK()
			if err != nil {
				t.Fatalf("PrivateJWK = %v", err)
			}
			back, err := ParseEncryptionJWK(priv, "", "")
			if err != nil {
				t.Fatalf("ParseEncryptionJWK(%s) = %v", priv, err)
			}
			if back.String() != key.String() || back.ContentEncryption() != key.ContentEncryption() {
				t.Errorf("ParseEncryptionJWK(PrivateJWK) = %v, want %v", back, key)
			}
			to := back
			if !key.IsSymmetric() {
				pub, err := key.PublicJWK()
				if err != nil {
					t.Fatalf("PublicJWK = %v", err)
				}
				if to, err = ParseEncryptionJWK(pub, "", ""); err != nil {
					t.Fatalf("ParseEncryptionJWK(%s) = %v", pub, err)
				}
				if to.CanDecrypt() || to.KeyID() != key.KeyID() {
					t.Errorf("ParseEncryptionJWK(PublicJWK) = %v", to)
				}
			} else if _, err := key.PublicJWK(); !errors.Is(err, ErrInvalidKey) {
				t.Errorf("PublicJWK(secret) = %v, want ErrInvalidKey", err)
			}
			tok, err := Encrypt([]byte("hi"), to, EncryptOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if _, pt, err := Decrypt(tok, mustSet(t, key), DecryptOptions{}); err != nil || string(pt) != "hi" {
				t.Errorf("Decrypt = %q, %v", pt, err)
			}
		})
	}
}
