package interop

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	gojose "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwe"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
)

// nestedFixture is a signing key and a recipient's P-256 ECDH-ES+A256KW
// key, in latch's form and the peers'.
type nestedFixture struct {
	sig     *jose.Key
	sigPriv *ecdsa.PrivateKey
	sigPub  *ecdsa.PublicKey
	dec     *jose.EncryptionKey
	decPriv *ecdsa.PrivateKey
}

func newNestedFixture(t *testing.T) nestedFixture {
	t.Helper()
	sigPriv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sig, err := jose.NewECDSAPrivateKey(sigPriv)
	if err != nil {
		t.Fatal(err)
	}
	decPriv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ep, err := decPriv.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	dec, err := jose.NewECDHPrivateKey(jose.ECDHESA256KW, ep)
	if err != nil {
		t.Fatal(err)
	}
	return nestedFixture{sig: sig, sigPriv: sigPriv, sigPub: &sigPriv.PublicKey, dec: dec, decPriv: decPriv}
}

// TestNestedJWTInterop: a nested JWT (signed, then encrypted; RFC 7519
// §5.2) that latch issues is decrypted and verified by go-jose v4 and by
// jwx v3, and one go-jose issues is validated by latch.
func TestNestedJWTInterop(t *testing.T) {
	f := newNestedFixture(t)
	now := time.Now().Truncate(time.Second)
	claims := jwt.Claims{Issuer: "https://auth.example.com", Subject: "alice", Audience: jwt.Audience{"orders"},
		ExpiresAt: now.Add(10 * time.Minute), IssuedAt: now, NotBefore: now, ID: "jti-1", Scope: "orders:read"}
	pub, err := f.dec.Public()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.SignNested(f.sig, &claims, jose.SignOptions{Type: jwt.TypeAccessToken}, pub, jose.EncryptOptions{Encryption: jose.A256GCM})
	if err != nil {
		t.Fatalf("jwt.SignNested = %v", err)
	}

	t.Run("latch to go-jose", func(t *testing.T) {
		// go-jose's jwt.ParseSignedAndEncrypted refuses asymmetric key
		// management ("asymmetric encryption algorithms not supported for
		// JWT"), so its JWE and JWT layers are used one after the other,
		// as its ParseSignedAndEncrypted does for a shared key: cty must be
		// JWT, then the JWS inside is verified.
		enc, err := gojose.ParseEncryptedCompact(tok, []gojose.KeyAlgorithm{gojose.ECDH_ES_A256KW}, []gojose.ContentEncryption{gojose.A256GCM})
		if err != nil {
			t.Fatalf("go-jose ParseEncryptedCompact = %v", err)
		}
		if cty, _ := enc.Header.ExtraHeaders[gojose.HeaderContentType].(string); cty != "JWT" {
			t.Errorf("go-jose sees cty %q, want JWT", cty)
		}
		inner, err := enc.Decrypt(f.decPriv)
		if err != nil {
			t.Fatalf("go-jose Decrypt = %v", err)
		}
		signed, err := josejwt.ParseSigned(string(inner), []gojose.SignatureAlgorithm{gojose.ES256})
		if err != nil {
			t.Fatalf("go-jose ParseSigned = %v", err)
		}
		var got josejwt.Claims
		if err := signed.Claims(f.sigPub, &got); err != nil {
			t.Fatalf("go-jose Claims = %v", err)
		}
		if err := got.Validate(josejwt.Expected{Issuer: claims.Issuer, AnyAudience: josejwt.Audience{"orders"}, Time: now}); err != nil || got.Subject != "alice" {
			t.Errorf("go-jose claims = %+v, %v; want alice's, valid", got, err)
		}
	})

	t.Run("latch to jwx", func(t *testing.T) {
		inner, err := jwe.Decrypt([]byte(tok), jwe.WithKey(jwa.ECDH_ES_A256KW(), f.decPriv))
		if err != nil {
			t.Fatalf("jwx jwe.Decrypt = %v", err)
		}
		got, err := jwxjwt.Parse(inner, jwxjwt.WithKey(jwa.ES256(), f.sigPub), jwxjwt.WithIssuer(claims.Issuer), jwxjwt.WithAudience("orders"))
		if err != nil {
			t.Fatalf("jwx jwt.Parse = %v", err)
		}
		if sub, ok := got.Subject(); !ok || sub != "alice" {
			t.Errorf("jwx subject = %q, %v; want alice", sub, ok)
		}
	})

	t.Run("go-jose to latch", func(t *testing.T) {
		signer, err := gojose.NewSigner(gojose.SigningKey{Algorithm: gojose.ES256, Key: gojose.JSONWebKey{Key: f.sigPriv, KeyID: f.sig.KeyID()}},
			(&gojose.SignerOptions{}).WithType("at+jwt"))
		if err != nil {
			t.Fatal(err)
		}
		enc, err := gojose.NewEncrypter(gojose.A256GCM, gojose.Recipient{Algorithm: gojose.ECDH_ES_A256KW, Key: &f.decPriv.PublicKey},
			(&gojose.EncrypterOptions{}).WithContentType("JWT"))
		if err != nil {
			t.Fatal(err)
		}
		gt, err := josejwt.SignedAndEncrypted(signer, enc).Claims(josejwt.Claims{
			Issuer: claims.Issuer, Subject: "bob", Audience: josejwt.Audience{"orders"},
			Expiry: josejwt.NewNumericDate(now.Add(time.Minute)), IssuedAt: josejwt.NewNumericDate(now),
		}).Serialize()
		if err != nil {
			t.Fatalf("go-jose SignedAndEncrypted = %v", err)
		}
		if strings.Count(gt, ".") != 4 {
			t.Fatalf("go-jose nested token has %d dots, want 4", strings.Count(gt, "."))
		}
		pubSig, err := f.sig.Public()
		if err != nil {
			t.Fatal(err)
		}
		keys, err := jose.NewKeySet(pubSig)
		if err != nil {
			t.Fatal(err)
		}
		decs, err := jose.NewEncryptionKeySet(f.dec)
		if err != nil {
			t.Fatal(err)
		}
		v, err := jwt.NewValidator(keys, claims.Issuer, "orders", jwt.ValidatorOptions{Type: jwt.TypeAccessToken, Decryption: decs})
		if err != nil {
			t.Fatal(err)
		}
		c, err := v.Parse(gt)
		if err != nil || c.Subject != "bob" {
			t.Errorf("latch Parse(go-jose nested token) = %+v, %v; want bob", c, err)
		}
	})
}
