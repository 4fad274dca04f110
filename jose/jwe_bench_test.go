package jose

import (
	"crypto/ecdh"
	"testing"
)

// BenchmarkDecrypt measures decrypting a 1 KiB nested-JWT-sized payload,
// for the key management algorithms a verifier would use.
func BenchmarkDecrypt(b *testing.B) {
	payload := make([]byte, 1024)
	p256, _ := ecdh.P256().GenerateKey(nil)
	x25519, _ := ecdh.X25519().GenerateKey(nil)
	cases := []struct {
		name string
		key  func() (*EncryptionKey, error)
		enc  ContentEncryption
	}{
		{"dir/A256GCM", func() (*EncryptionKey, error) { return GenerateEncryptionKey(Direct, A256GCM) }, A256GCM},
		{"A256KW/A256GCM", func() (*EncryptionKey, error) { return GenerateEncryptionKey(A256KW, "") }, A256GCM},
		{"A256KW/A256CBC-HS512", func() (*EncryptionKey, error) { return GenerateEncryptionKey(A256KW, "") }, A256CBCHS512},
		{"ECDH-ES+A256KW/P-256/A256GCM", func() (*EncryptionKey, error) { return NewECDHPrivateKey(ECDHESA256KW, p256) }, A256GCM},
		{"ECDH-ES+A256KW/X25519/A256GCM", func() (*EncryptionKey, error) { return NewECDHPrivateKey(ECDHESA256KW, x25519) }, A256GCM},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			key, err := c.key()
			if err != nil {
				b.Fatal(err)
			}
			to := key
			if !key.IsSymmetric() {
				to, _ = key.Public()
			}
			tok, err := Encrypt(payload, to, EncryptOptions{Encryption: c.enc})
			if err != nil {
				b.Fatal(err)
			}
			keys := mustSet(b, key)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := Decrypt(tok, keys, DecryptOptions{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
