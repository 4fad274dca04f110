package jose

import (
	"bytes"
	"crypto/ecdh"
	"errors"
	"testing"
)

// FuzzDecrypt: Decrypt never panics, every error is ErrDecryption, and a
// token it accepts decrypts to a plaintext that re-encrypts and decrypts
// to the same plaintext and header.
func FuzzDecrypt(f *testing.F) {
	var keys []*EncryptionKey
	for _, v := range loadJWEVectors(f) {
		k, err := ParseEncryptionJWK(v.Key, v.Alg, ContentEncryption(v.Enc))
		if err != nil {
			f.Fatal(err)
		}
		keys = append(keys, k)
		f.Add(v.Token)
	}
	xpriv, _ := ecdh.X25519().NewPrivateKey(bytes.Repeat([]byte{7}, 32))
	xkey, _ := NewECDHPrivateKey(ECDHESA256KW, xpriv)
	dir, _ := NewDirectKey(A256CBCHS512, bytes.Repeat([]byte{9}, 64))
	keys = append(keys, xkey, dir)
	for _, k := range []*EncryptionKey{xkey, dir} {
		tok, err := Encrypt([]byte(`{"sub":"fuzz"}`), k, EncryptOptions{ContentType: "JWT"})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(tok)
	}
	set, err := NewEncryptionKeySet(keys...)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, token string) {
		h, pt, err := Decrypt(token, set, DecryptOptions{})
		if err != nil {
			if !errors.Is(err, ErrDecryption) || pt != nil || h != (JWEHeader{}) {
				t.Fatalf("Decrypt = %+v, %q, %v: want zero results and ErrDecryption", h, pt, err)
			}
			return
		}
		key := set.Lookup(h.KeyID)
		to := key
		if !key.IsSymmetric() {
			to, _ = key.Public()
		}
		again, err := Encrypt(pt, to, EncryptOptions{Encryption: h.Encryption, Type: h.Type, ContentType: h.ContentType})
		if err != nil {
			t.Fatalf("Encrypt(accepted plaintext) = %v", err)
		}
		h2, pt2, err := Decrypt(again, set, DecryptOptions{})
		if err != nil || !bytes.Equal(pt2, pt) || h2 != h {
			t.Fatalf("re-encrypted: Decrypt = %+v, %q, %v; want %+v, %q", h2, pt2, err, h, pt)
		}
	})
}

// FuzzParseEncryptionJWK: the parser never panics, its errors are
// ErrInvalidKey or ErrMalformed, and an accepted key writes a JWK that
// parses back to the same key.
func FuzzParseEncryptionJWK(f *testing.F) {
	for _, v := range loadJWEVectors(f) {
		f.Add(string(v.Key), string(v.Alg), v.Enc)
	}
	for _, k := range testEncryptionKeys(f) {
		priv, err := k.PrivateJWK()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(priv), "", "")
	}
	f.Fuzz(func(t *testing.T, data, alg, enc string) {
		k, err := ParseEncryptionJWK([]byte(data), KeyManagement(alg), ContentEncryption(enc))
		if err != nil {
			if k != nil || !errors.Is(err, ErrInvalidKey) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupportedAlgorithm) {
				t.Fatalf("ParseEncryptionJWK = %v, %v", k, err)
			}
			return
		}
		out, err := k.PrivateJWK()
		if err != nil {
			out, err = k.PublicJWK()
		}
		if err != nil {
			t.Fatalf("JWK of accepted key %v: %v", k, err)
		}
		back, err := ParseEncryptionJWK(out, "", "")
		if err != nil || back.String() != k.String() || back.ContentEncryption() != k.ContentEncryption() {
			t.Fatalf("ParseEncryptionJWK(%s) = %v, %v; want %v", out, back, err, k)
		}
	})
}
