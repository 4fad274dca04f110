package jose_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latch-auth/latch/jose"
)

func readPEM(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "pem", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestPEMRoundTrip(t *testing.T) {
	for _, alg := range []jose.Algorithm{jose.RS256, jose.PS512, jose.ES256, jose.ES384, jose.ES512, jose.EdDSA} {
		t.Run(string(alg), func(t *testing.T) {
			orig, err := jose.GenerateKey(alg)
			if err != nil {
				t.Fatal(err)
			}
			privPEM, err := orig.MarshalPEM()
			if err != nil {
				t.Fatalf("MarshalPEM() = %v", err)
			}
			if !bytes.HasPrefix(privPEM, []byte("-----BEGIN PRIVATE KEY-----\n")) {
				t.Errorf("MarshalPEM() of a private key = %.40q…, want a PRIVATE KEY block", privPEM)
			}
			priv, err := jose.ParsePEM(privPEM, alg)
			if err != nil {
				t.Fatalf("ParsePEM(MarshalPEM(), %s) = %v", alg, err)
			}
			if priv.Algorithm() != alg || !priv.IsPrivate() || priv.KeyID() != orig.KeyID() {
				t.Errorf("ParsePEM(MarshalPEM()) = %v, want %v", priv, orig)
			}

			pubPEM, err := mustPublic(t, orig).MarshalPEM()
			if err != nil {
				t.Fatalf("MarshalPEM() of the public key = %v", err)
			}
			if !bytes.HasPrefix(pubPEM, []byte("-----BEGIN PUBLIC KEY-----\n")) {
				t.Errorf("MarshalPEM() of a public key = %.40q…, want a PUBLIC KEY block", pubPEM)
			}
			pub, err := jose.ParsePEM(pubPEM, alg)
			if err != nil {
				t.Fatalf("ParsePEM(public MarshalPEM(), %s) = %v", alg, err)
			}
			if pub.Algorithm() != alg || pub.IsPrivate() || !bytes.Equal(pub.Thumbprint(), orig.Thumbprint()) {
				t.Errorf("ParsePEM(public MarshalPEM()) = %v, want public %v", pub, orig)
			}
			signVerify(t, priv, pub)
		})
	}
}

// TestPEMOpenSSL reads keys written by openssl (see testdata/pem/README.md)
// and checks that each private key's signatures verify with its public
// counterparts.
func TestPEMOpenSSL(t *testing.T) {
	tests := []struct {
		name    string
		private string
		public  []string
		alg     jose.Algorithm // passed to ParsePEM
		want    jose.Algorithm
	}{
		{"RSA PKCS#8 RS256", "rsa2048-pkcs8.pem", []string{"rsa2048-public.pem", "rsa2048-pkcs1-public.pem", "rsa2048-cert.pem"}, jose.RS256, jose.RS256},
		{"RSA PKCS#8 PS384", "rsa2048-pkcs8.pem", []string{"rsa2048-public.pem"}, jose.PS384, jose.PS384},
		{"RSA PKCS#1", "rsa2048-pkcs1.pem", []string{"rsa2048-public.pem", "rsa2048-pkcs1-public.pem"}, jose.RS512, jose.RS512},
		{"EC SEC 1 after EC PARAMETERS", "ec-p256-sec1.pem", []string{"ec-p256-public.pem"}, "", jose.ES256},
		{"EC with its alg", "ec-p256-sec1.pem", []string{"ec-p256-public.pem"}, jose.ES256, jose.ES256},
		{"Ed25519 PKCS#8", "ed25519-pkcs8.pem", []string{"ed25519-public.pem"}, "", jose.EdDSA},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			priv, err := jose.ParsePEM(readPEM(t, tc.private), tc.alg)
			if err != nil {
				t.Fatalf("ParsePEM(%s, %q) = %v", tc.private, tc.alg, err)
			}
			if priv.Algorithm() != tc.want || !priv.IsPrivate() {
				t.Errorf("ParsePEM(%s, %q) = %v, want a private %s key", tc.private, tc.alg, priv, tc.want)
			}
			for _, file := range tc.public {
				pub, err := jose.ParsePEM(readPEM(t, file), tc.alg)
				if err != nil {
					t.Fatalf("ParsePEM(%s, %q) = %v", file, tc.alg, err)
				}
				if pub.IsPrivate() || pub.Algorithm() != tc.want || pub.KeyID() != priv.KeyID() {
					t.Errorf("ParsePEM(%s, %q) = %v, want the public half of %v", file, tc.alg, pub, priv)
				}
				signVerify(t, priv, pub)
			}
		})
	}
}

func TestParsePEMRejects(t *testing.T) {
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block := func(typ string, der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	der := func(b []byte, err error) []byte {
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ecParams := "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
	rsaPKCS8 := string(readPEM(t, "rsa2048-pkcs8.pem"))

	tests := []struct {
		name string
		in   string
		alg  jose.Algorithm
		want error
	}{
		{"no PEM block", "not a key", "", jose.ErrMalformed},
		{"empty", "", "", jose.ErrMalformed},
		{"only EC PARAMETERS", ecParams, "", jose.ErrMalformed},
		{"RSA private without alg", rsaPKCS8, "", jose.ErrInvalidKey},
		{"RSA public without alg", string(readPEM(t, "rsa2048-public.pem")), "", jose.ErrInvalidKey},
		{"RSA certificate without alg", string(readPEM(t, "rsa2048-cert.pem")), "", jose.ErrInvalidKey},
		{"RSA with EC alg", rsaPKCS8, jose.ES256, jose.ErrInvalidKey},
		{"RSA with HMAC alg", rsaPKCS8, jose.HS256, jose.ErrInvalidKey},
		{"RSA with alg none", rsaPKCS8, "none", jose.ErrUnsupportedAlgorithm},
		{"EC with the wrong curve's alg", string(readPEM(t, "ec-p256-sec1.pem")), jose.ES384, jose.ErrInvalidKey},
		{"EC public with RSA alg", string(readPEM(t, "ec-p256-public.pem")), jose.RS256, jose.ErrInvalidKey},
		{"Ed25519 with ES256", string(readPEM(t, "ed25519-pkcs8.pem")), jose.ES256, jose.ErrInvalidKey},
		{"RSA 1024-bit", block("PRIVATE KEY", der(x509.MarshalPKCS8PrivateKey(rsa1024))), jose.RS256, jose.ErrInvalidKey},
		{"EC P-224", block("PRIVATE KEY", der(x509.MarshalPKCS8PrivateKey(p224))), "", jose.ErrInvalidKey},
		{"encrypted PKCS#8", block("ENCRYPTED PRIVATE KEY", []byte{0x30, 0}), "", jose.ErrInvalidKey},
		{"legacy encrypted", "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00000000000000000000000000000000\n\nAAAA\n-----END RSA PRIVATE KEY-----\n", jose.RS256, jose.ErrInvalidKey},
		{"unknown block type", block("OPENSSH PRIVATE KEY", []byte{1, 2, 3}), "", jose.ErrMalformed},
		{"garbage DER", block("PRIVATE KEY", []byte{0x30, 0x03, 1, 2, 3}), "", jose.ErrMalformed},
		{"public DER in private block", block("PRIVATE KEY", pemBytes(t, "ec-p256-public.pem")), "", jose.ErrMalformed},
		{"truncated block", strings.TrimSuffix(rsaPKCS8, "-----END PRIVATE KEY-----\n"), jose.RS256, jose.ErrMalformed},
		{"X25519 is for encryption", string(readPEM(t, "x25519-pkcs8.pem")), "", jose.ErrInvalidKey},
		{"X25519 public is for encryption", string(readPEM(t, "x25519-public.pem")), jose.EdDSA, jose.ErrInvalidKey},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := jose.ParsePEM([]byte(tc.in), tc.alg)
			checkJWKErr(t, fmt.Sprintf("ParsePEM(%.40q…, %q)", tc.in, tc.alg), err, tc.want)
			if k != nil {
				t.Errorf("ParsePEM(%.40q…) returned key %v with error %v", tc.in, k, err)
			}
		})
	}
}

// TestParseEncryptionPEM reads encryption keys written by openssl (see
// testdata/pem/README.md), one of every block type, and checks that what
// is encrypted to each public counterpart decrypts with the private key.
func TestParseEncryptionPEM(t *testing.T) {
	tests := []struct {
		name        string
		private     string
		public      []string
		alg         jose.KeyManagement // passed to ParseEncryptionPEM
		ecdhDefault jose.KeyManagement // passed to ParseEncryptionPEM
		want        jose.KeyManagement
	}{
		{
			name:    "RSA PKCS#8, alg implied",
			private: "rsa2048-pkcs8.pem",
			public:  []string{"rsa2048-public.pem", "rsa2048-pkcs1-public.pem", "rsa2048-cert.pem"},
			want:    jose.RSAOAEP256,
		},
		{
			name:    "RSA PKCS#1 with its alg",
			private: "rsa2048-pkcs1.pem",
			public:  []string{"rsa2048-public.pem", "rsa2048-pkcs1-public.pem"},
			alg:     jose.RSAOAEP256,
			want:    jose.RSAOAEP256,
		},
		{
			name:        "RSA ignores the ECDH default",
			private:     "rsa2048-pkcs8.pem",
			public:      []string{"rsa2048-cert.pem"},
			ecdhDefault: jose.ECDHESA256KW,
			want:        jose.RSAOAEP256,
		},
		{
			name:    "P-256 SEC 1 after EC PARAMETERS",
			private: "ec-p256-sec1.pem",
			public:  []string{"ec-p256-public.pem"},
			alg:     jose.ECDHES,
			want:    jose.ECDHES,
		},
		{
			name:        "P-384 SEC 1, ECDH default",
			private:     "ec-p384-sec1.pem",
			public:      []string{"ec-p384-public.pem"},
			ecdhDefault: jose.ECDHESA128KW,
			want:        jose.ECDHESA128KW,
		},
		{
			name:    "P-521 PKCS#8",
			private: "ec-p521-pkcs8.pem",
			public:  []string{"ec-p521-public.pem"},
			alg:     jose.ECDHESA256KW,
			want:    jose.ECDHESA256KW,
		},
		{
			name:        "X25519 PKCS#8, ECDH default",
			private:     "x25519-pkcs8.pem",
			public:      []string{"x25519-public.pem"},
			ecdhDefault: jose.ECDHESA256KW,
			want:        jose.ECDHESA256KW,
		},
		{
			name:        "alg wins over the ECDH default",
			private:     "x25519-pkcs8.pem",
			public:      []string{"x25519-public.pem"},
			alg:         jose.ECDHES,
			ecdhDefault: jose.ECDHESA256KW,
			want:        jose.ECDHES,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			priv, err := jose.ParseEncryptionPEM(readPEM(t, tc.private), tc.alg, tc.ecdhDefault)
			if err != nil {
				t.Fatalf("ParseEncryptionPEM(%s, %q, %q) = %v", tc.private, tc.alg, tc.ecdhDefault, err)
			}
			if priv.Algorithm() != tc.want || !priv.CanDecrypt() {
				t.Errorf("ParseEncryptionPEM(%s, %q, %q) = %v, want a private %s key", tc.private, tc.alg, tc.ecdhDefault, priv, tc.want)
			}
			set, err := jose.NewEncryptionKeySet(priv)
			if err != nil {
				t.Fatal(err)
			}
			for _, file := range tc.public {
				pub, err := jose.ParseEncryptionPEM(readPEM(t, file), tc.alg, tc.ecdhDefault)
				if err != nil {
					t.Fatalf("ParseEncryptionPEM(%s, %q, %q) = %v", file, tc.alg, tc.ecdhDefault, err)
				}
				if pub.CanDecrypt() || pub.Algorithm() != tc.want || pub.KeyID() != priv.KeyID() {
					t.Errorf("ParseEncryptionPEM(%s, %q, %q) = %v, want the public half of %v", file, tc.alg, tc.ecdhDefault, pub, priv)
				}
				plaintext := []byte("to " + file)
				tok, err := jose.Encrypt(plaintext, pub, jose.EncryptOptions{})
				if err != nil {
					t.Fatalf("Encrypt to %v (from %s) = %v", pub, file, err)
				}
				_, got, err := jose.Decrypt(tok, set, jose.DecryptOptions{})
				if err != nil || !bytes.Equal(got, plaintext) {
					t.Errorf("Decrypt with %v (from %s) = %q, %v, want %q", priv, tc.private, got, err, plaintext)
				}
			}
		})
	}
}

func TestParseEncryptionPEMRejects(t *testing.T) {
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block := func(typ string, der []byte) string {
		return string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	}
	der := func(b []byte, err error) []byte {
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	file := func(name string) string { return string(readPEM(t, name)) }
	ecParams := "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n"
	rsaPKCS8 := file("rsa2048-pkcs8.pem")

	tests := []struct {
		name             string
		in               string
		alg, ecdhDefault jose.KeyManagement
		want             error
	}{
		{name: "no PEM block", in: "not a key", want: jose.ErrMalformed},
		{name: "empty", in: "", ecdhDefault: jose.ECDHESA256KW, want: jose.ErrMalformed},
		{name: "only EC PARAMETERS", in: ecParams, ecdhDefault: jose.ECDHESA256KW, want: jose.ErrMalformed},
		{name: "unknown block type", in: block("OPENSSH PRIVATE KEY", []byte{1, 2, 3}), want: jose.ErrMalformed},
		{name: "garbage DER", in: block("PRIVATE KEY", []byte{0x30, 0x03, 1, 2, 3}), want: jose.ErrMalformed},
		{name: "public DER in private block", in: block("PRIVATE KEY", pemBytes(t, "x25519-public.pem")), ecdhDefault: jose.ECDHES, want: jose.ErrMalformed},
		{name: "truncated block", in: strings.TrimSuffix(rsaPKCS8, "-----END PRIVATE KEY-----\n"), want: jose.ErrMalformed},
		{name: "encrypted PKCS#8", in: block("ENCRYPTED PRIVATE KEY", []byte{0x30, 0}), ecdhDefault: jose.ECDHES, want: jose.ErrInvalidKey},
		{name: "legacy encrypted", in: "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00000000000000000000000000000000\n\nAAAA\n-----END RSA PRIVATE KEY-----\n", want: jose.ErrInvalidKey},
		{name: "Ed25519 private", in: file("ed25519-pkcs8.pem"), ecdhDefault: jose.ECDHESA256KW, want: jose.ErrInvalidKey},
		{name: "Ed25519 public", in: file("ed25519-public.pem"), alg: jose.ECDHES, want: jose.ErrInvalidKey},
		{name: "RSA with ECDH-ES", in: rsaPKCS8, alg: jose.ECDHES, want: jose.ErrInvalidKey},
		{name: "RSA public with ECDH-ES+A256KW", in: file("rsa2048-public.pem"), alg: jose.ECDHESA256KW, want: jose.ErrInvalidKey},
		{name: "RSA certificate with ECDH-ES", in: file("rsa2048-cert.pem"), alg: jose.ECDHES, want: jose.ErrInvalidKey},
		{name: "RSA 1024-bit", in: block("PRIVATE KEY", der(x509.MarshalPKCS8PrivateKey(rsa1024))), want: jose.ErrInvalidKey},
		{name: "EC without alg or default", in: file("ec-p256-sec1.pem"), want: jose.ErrInvalidKey},
		{name: "X25519 public without alg or default", in: file("x25519-public.pem"), want: jose.ErrInvalidKey},
		{name: "EC with RSA-OAEP-256", in: file("ec-p384-public.pem"), alg: jose.RSAOAEP256, want: jose.ErrInvalidKey},
		{name: "EC P-224", in: block("PRIVATE KEY", der(x509.MarshalPKCS8PrivateKey(p224))), alg: jose.ECDHES, want: jose.ErrInvalidKey},
		{name: "shared-secret alg dir", in: rsaPKCS8, alg: jose.Direct, want: jose.ErrInvalidKey},
		{name: "shared-secret alg A128KW", in: file("x25519-pkcs8.pem"), alg: jose.A128KW, want: jose.ErrInvalidKey},
		{name: "default that is not ECDH", in: file("x25519-pkcs8.pem"), ecdhDefault: jose.RSAOAEP256, want: jose.ErrInvalidKey},
		{name: "default that is not ECDH, RSA key", in: rsaPKCS8, ecdhDefault: jose.A256KW, want: jose.ErrInvalidKey},
		{name: "alg RSA1_5", in: rsaPKCS8, alg: "RSA1_5", want: jose.ErrUnsupportedAlgorithm},
		{name: "alg none", in: file("x25519-pkcs8.pem"), alg: "none", want: jose.ErrUnsupportedAlgorithm},
		{name: "alg a signature algorithm", in: file("ec-p256-sec1.pem"), alg: "ES256", want: jose.ErrUnsupportedAlgorithm},
		{name: "default PBES2", in: file("x25519-pkcs8.pem"), ecdhDefault: "PBES2-HS256+A128KW", want: jose.ErrUnsupportedAlgorithm},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, err := jose.ParseEncryptionPEM([]byte(tc.in), tc.alg, tc.ecdhDefault)
			checkJWKErr(t, fmt.Sprintf("ParseEncryptionPEM(%.40q…, %q, %q)", tc.in, tc.alg, tc.ecdhDefault), err, tc.want)
			if k != nil {
				t.Errorf("ParseEncryptionPEM(%.40q…) returned key %v with error %v", tc.in, k, err)
			}
		})
	}
}

// pemBytes returns the DER of the first block of testdata/pem/name.
func pemBytes(tb testing.TB, name string) []byte {
	tb.Helper()
	b, _ := pem.Decode(readPEM(tb, name))
	if b == nil {
		tb.Fatalf("%s: no PEM block", name)
	}
	return b.Bytes
}

func TestMarshalPEMHMAC(t *testing.T) {
	k, err := jose.GenerateKey(jose.HS256)
	if err != nil {
		t.Fatal(err)
	}
	out, err := k.MarshalPEM()
	checkJWKErr(t, "MarshalPEM() of an HMAC key", err, jose.ErrInvalidKey)
	if out != nil {
		t.Errorf("MarshalPEM() of an HMAC key = %q, want nil", out)
	}
}

// TestPEMToJWK checks that a key read from PEM and written as a JWK is the
// same key.
func TestPEMToJWK(t *testing.T) {
	k, err := jose.ParsePEM(readPEM(t, "ec-p256-sec1.pem"), "")
	if err != nil {
		t.Fatal(err)
	}
	jwk, err := k.PrivateJWK()
	if err != nil {
		t.Fatal(err)
	}
	back, err := jose.ParseJWK(jwk, "")
	if err != nil {
		t.Fatalf("ParseJWK(PrivateJWK() of a PEM key) = %v", err)
	}
	pemAgain, err := back.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	again, err := jose.ParsePEM(pemAgain, "")
	if err != nil || !bytes.Equal(again.Thumbprint(), k.Thumbprint()) || !again.IsPrivate() {
		t.Errorf("ParsePEM(MarshalPEM(ParseJWK(PrivateJWK()))) = %v, %v, want %v", again, err, k)
	}
}
