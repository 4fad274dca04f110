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
