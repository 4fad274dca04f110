package jose_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/latch-auth/latch/jose"
)

// pemKinds are the kinds of a ParsePEM error; each rejection matches
// exactly one.
var pemKinds = []error{jose.ErrMalformed, jose.ErrInvalidKey, jose.ErrUnsupportedAlgorithm}

// FuzzParsePEM checks ParsePEM on any input and algorithm: either an
// error of exactly one of pemKinds and no key, or a key that round-trips.
// Its algorithm is the one asked for, its key ID is its RFC 7638
// thumbprint, and MarshalPEM then ParsePEM give back the same key, private
// or public as it was; a private key signs what its public half verifies.
// Seeds are the PEM files of testdata/pem (keys
// written by openssl), with and without the algorithm they need.
func FuzzParsePEM(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "pem", "*.pem"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds in testdata/pem: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, alg := range []string{"", "RS256", "PS384", "ES256", "EdDSA", "none"} {
			f.Add(b, alg)
		}
		f.Add(bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")), "")
		if i := bytes.Index(b, []byte("-----END")); i > 0 {
			f.Add(b[:i], "RS256") // a block cut short
		}
	}
	f.Add([]byte("-----BEGIN PRIVATE KEY-----\n-----END PRIVATE KEY-----\n"), "")
	f.Add([]byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"), "")
	f.Add([]byte("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"), "")
	f.Add([]byte("no PEM here"), "")
	f.Fuzz(func(t *testing.T, data []byte, alg string) {
		key, err := jose.ParsePEM(data, jose.Algorithm(alg))
		if err != nil {
			var ks []error
			for _, k := range pemKinds {
				if errors.Is(err, k) {
					ks = append(ks, k)
				}
			}
			if len(ks) != 1 {
				t.Fatalf("ParsePEM(%q, %q) = %v, matching kinds %v, want exactly one", data, alg, err, ks)
			}
			if key != nil {
				t.Fatalf("ParsePEM(%q, %q) = %v with error %v, want no key", data, alg, key, err)
			}
			return
		}
		if alg != "" && key.Algorithm() != jose.Algorithm(alg) {
			t.Fatalf("ParsePEM(%q, %q) algorithm = %s, want %s", data, alg, key.Algorithm(), alg)
		}
		if want := base64.RawURLEncoding.EncodeToString(key.Thumbprint()); key.KeyID() != want {
			t.Fatalf("ParsePEM(%q, %q) key ID = %q, want the thumbprint %q", data, alg, key.KeyID(), want)
		}
		out, err := key.MarshalPEM()
		if err != nil {
			t.Fatalf("MarshalPEM() of %v (from %q) = %v", key, data, err)
		}
		again, err := jose.ParsePEM(out, key.Algorithm())
		if err != nil {
			t.Fatalf("ParsePEM(MarshalPEM() of %v) = %v", key, err)
		}
		if again.Algorithm() != key.Algorithm() || again.IsPrivate() != key.IsPrivate() ||
			again.KeyID() != key.KeyID() || !bytes.Equal(again.Thumbprint(), key.Thumbprint()) {
			t.Fatalf("ParsePEM(MarshalPEM()) = %v, want %v", again, key)
		}
		if key.IsPrivate() {
			pub, err := key.Public()
			if err != nil {
				t.Fatalf("Public() of %v = %v", key, err)
			}
			set, err := jose.NewKeySet(pub)
			if err != nil {
				t.Fatalf("NewKeySet(%v) = %v", pub, err)
			}
			tok, err := jose.Sign(key, []byte("payload"), jose.SignOptions{})
			if err != nil {
				t.Fatalf("Sign with %v (from %q) = %v", key, data, err)
			}
			if _, _, err := jose.Verify(tok, set, jose.VerifyOptions{}); err != nil {
				t.Fatalf("Verify of %v's token with its public half = %v", key, err)
			}
		}
	})
}

// FuzzParseEncryptionPEM checks ParseEncryptionPEM on any input and pair of
// algorithms: either an error of exactly one of pemKinds and no key, or a
// key pinned to the algorithm asked for (alg, else RSA-OAEP-256 or
// ecdhDefault) with its default key ID, that round-trips through its JWK
// (PEM has no EncryptionKey writer) to the same key, private or public as
// it was; what is encrypted to a private key's public half decrypts with
// it. Seeds are the PEM files of testdata/pem, with and without an
// algorithm that fits them.
func FuzzParseEncryptionPEM(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "pem", "*.pem"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds in testdata/pem: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		for _, algs := range [][2]string{{"", ""}, {"", "ECDH-ES+A256KW"}, {"ECDH-ES", ""}, {"RSA-OAEP-256", "ECDH-ES+A128KW"}, {"dir", ""}, {"none", ""}} {
			f.Add(b, algs[0], algs[1])
		}
		f.Add(bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")), "", "ECDH-ES")
		if i := bytes.Index(b, []byte("-----END")); i > 0 {
			f.Add(b[:i], "", "ECDH-ES") // a block cut short
		}
	}
	f.Add([]byte("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n"), "", "")
	f.Add([]byte("no PEM here"), "", "")
	f.Fuzz(func(t *testing.T, data []byte, alg, ecdhDefault string) {
		key, err := jose.ParseEncryptionPEM(data, jose.KeyManagement(alg), jose.KeyManagement(ecdhDefault))
		if err != nil {
			var ks []error
			for _, k := range pemKinds {
				if errors.Is(err, k) {
					ks = append(ks, k)
				}
			}
			if len(ks) != 1 {
				t.Fatalf("ParseEncryptionPEM(%q, %q, %q) = %v, matching kinds %v, want exactly one", data, alg, ecdhDefault, err, ks)
			}
			if key != nil {
				t.Fatalf("ParseEncryptionPEM(%q, %q, %q) = %v with error %v, want no key", data, alg, ecdhDefault, key, err)
			}
			return
		}
		switch got := string(key.Algorithm()); {
		case alg != "" && got != alg,
			alg == "" && got != string(jose.RSAOAEP256) && got != ecdhDefault:
			t.Fatalf("ParseEncryptionPEM(%q, %q, %q) algorithm = %s", data, alg, ecdhDefault, got)
		}
		if want := key.WithKeyID("x").WithKeyID("").KeyID(); key.KeyID() != want {
			t.Fatalf("ParseEncryptionPEM(%q, %q, %q) key ID = %q, want the default %q", data, alg, ecdhDefault, key.KeyID(), want)
		}
		jwk, err := key.PublicJWK()
		if key.CanDecrypt() {
			jwk, err = key.PrivateJWK()
		}
		if err != nil {
			t.Fatalf("JWK of %v (from %q) = %v", key, data, err)
		}
		again, err := jose.ParseEncryptionJWK(jwk, "", "")
		if err != nil {
			t.Fatalf("ParseEncryptionJWK(JWK of %v) = %v", key, err)
		}
		pub, err := key.PublicJWK()
		if err != nil {
			t.Fatal(err)
		}
		pubAgain, err := again.PublicJWK()
		if err != nil {
			t.Fatal(err)
		}
		if again.Algorithm() != key.Algorithm() || again.CanDecrypt() != key.CanDecrypt() || !bytes.Equal(pubAgain, pub) {
			t.Fatalf("ParseEncryptionJWK(JWK of %v) = %v, public JWK %s, want %s", key, again, pubAgain, pub)
		}
		if key.CanDecrypt() {
			to, err := key.Public()
			if err != nil {
				t.Fatalf("Public() of %v = %v", key, err)
			}
			set, err := jose.NewEncryptionKeySet(key)
			if err != nil {
				t.Fatalf("NewEncryptionKeySet(%v) = %v", key, err)
			}
			tok, err := jose.Encrypt([]byte("payload"), to, jose.EncryptOptions{})
			if err != nil {
				t.Fatalf("Encrypt to %v (from %q) = %v", to, data, err)
			}
			if _, pt, err := jose.Decrypt(tok, set, jose.DecryptOptions{}); err != nil || string(pt) != "payload" {
				t.Fatalf("Decrypt with %v = %q, %v, want %q", key, pt, err, "payload")
			}
		}
	})
}
