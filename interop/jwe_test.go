package interop

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"testing"

	gojose "github.com/go-jose/go-jose/v4"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwe"

	"github.com/latch-auth/latch/jose"
)

// jweCase is one key of one key management algorithm, in latch's form and
// in the raw form the peers take.
type jweCase struct {
	name    string
	alg     jose.KeyManagement
	latch   *jose.EncryptionKey // private or secret
	private any                 // what the peer decrypts with
	public  any                 // what the peer encrypts to
	goJose  bool                // go-jose supports it (not X25519)
}

func jweCases(t *testing.T) []jweCase {
	t.Helper()
	var cases []jweCase
	must := func(k *jose.EncryptionKey, err error) *jose.EncryptionKey {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	for _, enc := range jose.ContentEncryptions() {
		cek := randomBytes(t, map[jose.ContentEncryption]int{jose.A128CBCHS256: 32, jose.A256CBCHS512: 64, jose.A128GCM: 16, jose.A256GCM: 32}[enc])
		k := must(jose.NewDirectKey(enc, cek))
		cases = append(cases, jweCase{name: "dir/" + string(enc), alg: jose.Direct, latch: k, private: cek, public: cek, goJose: true})
	}
	for _, alg := range []jose.KeyManagement{jose.A128KW, jose.A256KW} {
		kek := randomBytes(t, map[jose.KeyManagement]int{jose.A128KW: 16, jose.A256KW: 32}[alg])
		k := must(jose.NewKeyWrapKey(alg, kek))
		cases = append(cases, jweCase{name: string(alg), alg: alg, latch: k, private: kek, public: kek, goJose: true})
	}
	rsaPriv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, jweCase{name: "RSA-OAEP-256", alg: jose.RSAOAEP256, latch: must(jose.NewRSAOAEPPrivateKey(rsaPriv)),
		private: rsaPriv, public: &rsaPriv.PublicKey, goJose: true})
	for _, alg := range []jose.KeyManagement{jose.ECDHES, jose.ECDHESA128KW, jose.ECDHESA256KW} {
		for _, c := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
			priv, err := ecdsa.GenerateKey(c, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			ep, err := priv.ECDH()
			if err != nil {
				t.Fatal(err)
			}
			cases = append(cases, jweCase{name: string(alg) + "/" + c.Params().Name, alg: alg, latch: must(jose.NewECDHPrivateKey(alg, ep)),
				private: priv, public: &priv.PublicKey, goJose: true})
		}
		xp, err := ecdh.X25519().GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, jweCase{name: string(alg) + "/X25519", alg: alg, latch: must(jose.NewECDHPrivateKey(alg, xp)),
			private: xp, public: xp.PublicKey()})
	}
	return cases
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func TestJWEInterop(t *testing.T) {
	plaintext := []byte(`{"sub":"alice","aud":"bank"}`)
	for _, c := range jweCases(t) {
		for _, enc := range jose.ContentEncryptions() {
			if c.alg == jose.Direct && c.latch.ContentEncryption() != enc {
				continue
			}
			t.Run(fmt.Sprintf("%s/%s", c.name, enc), func(t *testing.T) {
				keys, err := jose.NewEncryptionKeySet(c.latch)
				if err != nil {
					t.Fatal(err)
				}
				to := c.latch
				if !to.IsSymmetric() {
					to, _ = c.latch.Public()
				}
				tok, err := jose.Encrypt(plaintext, to, jose.EncryptOptions{Encryption: enc, ContentType: "JWT"})
				if err != nil {
					t.Fatalf("jose.Encrypt = %v", err)
				}
				keyAlg, _ := jwa.LookupKeyEncryptionAlgorithm(string(c.alg))
				encAlg, _ := jwa.LookupContentEncryptionAlgorithm(string(enc))

				// latch -> jwx
				got, err := jwe.Decrypt([]byte(tok), jwe.WithKey(keyAlg, c.private))
				if err != nil || !bytes.Equal(got, plaintext) {
					t.Errorf("jwx Decrypt(latch token) = %q, %v", got, err)
				}
				// jwx -> latch
				jt, err := jwe.Encrypt(plaintext, jwe.WithKey(keyAlg, c.public), jwe.WithContentEncryption(encAlg), jwe.WithCompact())
				if err != nil {
					t.Fatalf("jwx Encrypt = %v", err)
				}
				if _, got, err := jose.Decrypt(string(jt), keys, jose.DecryptOptions{}); err != nil || !bytes.Equal(got, plaintext) {
					t.Errorf("jose.Decrypt(jwx token) = %q, %v", got, err)
				}
				if !c.goJose {
					return
				}
				// latch -> go-jose
				obj, err := gojose.ParseEncryptedCompact(tok, []gojose.KeyAlgorithm{gojose.KeyAlgorithm(c.alg)}, []gojose.ContentEncryption{gojose.ContentEncryption(enc)})
				if err != nil {
					t.Fatalf("go-jose ParseEncryptedCompact(latch token) = %v", err)
				}
				if got, err := obj.Decrypt(c.private); err != nil || !bytes.Equal(got, plaintext) {
					t.Errorf("go-jose Decrypt(latch token) = %q, %v", got, err)
				}
				// go-jose -> latch
				e, err := gojose.NewEncrypter(gojose.ContentEncryption(enc), gojose.Recipient{Algorithm: gojose.KeyAlgorithm(c.alg), Key: c.public}, nil)
				if err != nil {
					t.Fatalf("go-jose NewEncrypter = %v", err)
				}
				o, err := e.Encrypt(plaintext)
				if err != nil {
					t.Fatal(err)
				}
				gt, err := o.CompactSerialize()
				if err != nil {
					t.Fatal(err)
				}
				if _, got, err := jose.Decrypt(gt, keys, jose.DecryptOptions{}); err != nil || !bytes.Equal(got, plaintext) {
					t.Errorf("jose.Decrypt(go-jose token) = %q, %v", got, err)
				}
			})
		}
	}
}
