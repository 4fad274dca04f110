package jwt

import (
	"crypto/ecdh"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/jose"
)

func mustEncKey(t testing.TB, alg jose.KeyManagement, enc jose.ContentEncryption) *jose.EncryptionKey {
	t.Helper()
	k, err := jose.GenerateEncryptionKey(alg, enc)
	if err != nil {
		t.Fatalf("GenerateEncryptionKey(%s, %s): %v", alg, enc, err)
	}
	return k
}

// recipient returns the key a sender encrypts to: the public half of an
// asymmetric key, the secret itself otherwise.
func recipient(t testing.TB, k *jose.EncryptionKey) *jose.EncryptionKey {
	t.Helper()
	if k.IsSymmetric() {
		return k
	}
	pub, err := k.Public()
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

func mustEncSet(t testing.TB, keys ...*jose.EncryptionKey) *jose.EncryptionKeySet {
	t.Helper()
	s, err := jose.NewEncryptionKeySet(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestNestedRoundTrip(t *testing.T) {
	signer := mustKey(t, jose.ES256)
	p256, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p256Key, err := jose.NewECDHPrivateKey(jose.ECDHES, p256)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  *jose.EncryptionKey
		enc  jose.ContentEncryption
	}{
		{name: "ECDH-ES+A256KW X25519 A256GCM", key: mustEncKey(t, jose.ECDHESA256KW, "")},
		{name: "ECDH-ES P-256 A256CBC-HS512", key: p256Key, enc: jose.A256CBCHS512},
		{name: "RSA-OAEP-256 A128GCM", key: mustEncKey(t, jose.RSAOAEP256, ""), enc: jose.A128GCM},
		{name: "A256KW A128CBC-HS256", key: mustEncKey(t, jose.A256KW, ""), enc: jose.A128CBCHS256},
		{name: "dir A256GCM", key: mustEncKey(t, jose.Direct, jose.A256GCM)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := SignNested(signer, accessClaims(), jose.SignOptions{Type: TypeAccessToken}, recipient(t, tt.key), jose.EncryptOptions{Encryption: tt.enc})
			if err != nil {
				t.Fatalf("SignNested: %v", err)
			}
			if n := strings.Count(tok, "."); n != 4 {
				t.Fatalf("SignNested gave %d dots, want a 5-part compact JWE", n)
			}
			if strings.Contains(tok, "user-1234567890") {
				t.Fatal("the nested token shows its subject in clear")
			}
			jh, inner, err := Decrypt(tok, mustEncSet(t, tt.key), jose.DecryptOptions{})
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if jh.ContentType != ContentTypeJWT || jh.Algorithm != tt.key.Algorithm() {
				t.Errorf("Decrypt header = %+v, want cty JWT and alg %s", jh, tt.key.Algorithm())
			}
			if strings.Count(inner, ".") != 2 {
				t.Errorf("Decrypt inner = %q, want a compact JWS", inner)
			}
			v := mustValidator(t, signer, ValidatorOptions{Type: TypeAccessToken, Decryption: mustEncSet(t, tt.key)})
			hdr, c, err := v.ParseWithHeader(tok)
			if err != nil {
				t.Fatalf("ParseWithHeader(nested): %v", err)
			}
			if hdr.KeyID != signer.KeyID() || hdr.Type != TypeAccessToken {
				t.Errorf("ParseWithHeader header = %+v, want the inner JWS's (kid %s, typ at+jwt)", hdr, signer.KeyID())
			}
			if !sameClaims(c, *accessClaims()) {
				t.Errorf("ParseWithHeader claims = %+v, want %+v", c, *accessClaims())
			}
		})
	}
}

// flipB64 changes a base64url character to another one.
func flipB64(c byte) byte {
	if c == 'A' {
		return 'B'
	}
	return 'A'
}

// nestedRaw encrypts any plaintext with the given cty, for the negative
// cases SignNested cannot produce.
func nestedRaw(t testing.TB, pt string, to *jose.EncryptionKey, cty string) string {
	t.Helper()
	tok, err := jose.Encrypt([]byte(pt), to, jose.EncryptOptions{ContentType: cty})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestNestedRejects(t *testing.T) {
	signer := mustKey(t, jose.ES256)
	stranger := mustKey(t, jose.ES256)
	dec := mustEncKey(t, jose.ECDHESA256KW, "")
	other := mustEncKey(t, jose.ECDHESA256KW, "")
	to := recipient(t, dec)
	nested := func(c *Claims, k *jose.Key, to *jose.EncryptionKey) string {
		tok, err := SignNested(k, c, jose.SignOptions{Type: TypeAccessToken}, to, jose.EncryptOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good := nested(accessClaims(), signer, to)
	signed, err := Sign(signer, accessClaims(), jose.SignOptions{Type: TypeAccessToken})
	if err != nil {
		t.Fatal(err)
	}
	expired := accessClaims()
	expired.ExpiresAt = epoch.Add(-10 * time.Minute)
	wrongAud := accessClaims()
	wrongAud.Audience = Audience{"billing"}
	// Flip a bit of the ciphertext (the fourth segment).
	segs := strings.Split(good, ".")
	ct := []byte(segs[3])
	ct[0] = flipB64(ct[0])
	tampered := strings.Join([]string{segs[0], segs[1], segs[2], string(ct), segs[4]}, ".")
	kidless := func() string {
		tok, err := SignNested(signer, accessClaims(), jose.SignOptions{Type: TypeAccessToken}, recipient(t, other), jose.EncryptOptions{OmitKeyID: true})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}()
	decSet := mustEncSet(t, dec)
	tests := []struct {
		name  string
		token string
		opts  ValidatorOptions
		want  []error
	}{
		{name: "encrypted token, validator without keys", token: good, want: []error{ErrEncrypted}},
		{name: "signed token where encryption is required", token: signed, opts: ValidatorOptions{Decryption: decSet}, want: []error{ErrNotEncrypted}},
		{name: "encrypted to another key (kid unknown)", token: nested(accessClaims(), signer, recipient(t, other)), opts: ValidatorOptions{Decryption: decSet}, want: []error{ErrDecryption, ErrUnknownKey}},
		{name: "encrypted to another key (no kid)", token: kidless, opts: ValidatorOptions{Decryption: decSet}, want: []error{ErrDecryption}},
		{name: "tampered ciphertext", token: tampered, opts: ValidatorOptions{Decryption: decSet}, want: []error{ErrDecryption}},
		{name: "no cty", token: nestedRaw(t, signed, to, ""), opts: ValidatorOptions{Decryption: decSet}, want: []error{ErrType}},
		{name: "cty not JWT", token: nestedRaw(t, signed, to, "json"), opts: ValidatorOptions{Decryption: decSet}, want: []error{ErrType}},
		{name: "content not a JWS", token: nestedRaw(t, `{"sub":"forged"}`, to, "JWT"), opts: ValidatorOptions{Decryption: decSet}, want: []error{ErrMalformed}},
		{name: "JWE inside JWE", token: nestedRaw(t, good, to, "JWT"), opts: ValidatorOptions{Decryption: decSet}, want: []error{ErrMalformed}},
		{name: "inner signed by an untrusted key", token: nested(accessClaims(), stranger, to), opts: ValidatorOptions{Decryption: decSet}, want: []error{ErrUnknownKey}},
		{name: "inner expired", token: nested(expired, signer, to), opts: ValidatorOptions{Decryption: decSet}, want: []error{ErrExpired}},
		{name: "inner for another audience", token: nested(wrongAud, signer, to), opts: ValidatorOptions{Decryption: decSet}, want: []error{ErrAudience}},
		{name: "inner of the wrong typ", token: nested(accessClaims(), signer, to), opts: ValidatorOptions{Decryption: decSet, Type: "id+jwt"}, want: []error{ErrType}},
		{name: "outer over the size limit", token: good, opts: ValidatorOptions{Decryption: decSet, MaxTokenSize: len(good) - 1}, want: []error{ErrDecryption, ErrTooLarge}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := mustValidator(t, signer, tt.opts)
			c, err := v.Parse(tt.token)
			if err == nil {
				t.Fatalf("Parse(%s) accepted the token: %+v", tt.name, c)
			}
			for _, want := range tt.want {
				if !errors.Is(err, want) {
					t.Errorf("Parse(%s) = %v, want an error matching %v", tt.name, err, want)
				}
			}
			if c.Subject != "" {
				t.Errorf("Parse(%s) returned claims with its error", tt.name)
			}
		})
	}
}

// TestNestedDecryptionErrorsAlike: a wrong key and a tampered ciphertext
// give the same error, message included, so the caller is no oracle.
func TestNestedDecryptionErrorsAlike(t *testing.T) {
	signer := mustKey(t, jose.ES256)
	dec := mustEncKey(t, jose.RSAOAEP256, "")
	other := mustEncKey(t, jose.RSAOAEP256, "").WithKeyID(dec.KeyID())
	tok, err := SignNested(signer, accessClaims(), jose.SignOptions{Type: TypeAccessToken}, recipient(t, other), jose.EncryptOptions{Encryption: jose.A256CBCHS512})
	if err != nil {
		t.Fatal(err)
	}
	good, err := SignNested(signer, accessClaims(), jose.SignOptions{Type: TypeAccessToken}, recipient(t, dec), jose.EncryptOptions{Encryption: jose.A256CBCHS512})
	if err != nil {
		t.Fatal(err)
	}
	segs := strings.Split(good, ".")
	tag := []byte(segs[4])
	tag[0] = flipB64(tag[0])
	badTag := strings.Join(append(segs[:4:4], string(tag)), ".")
	v := mustValidator(t, signer, ValidatorOptions{Decryption: mustEncSet(t, dec)})
	_, wrongKeyErr := v.Parse(tok)
	_, badTagErr := v.Parse(badTag)
	if wrongKeyErr == nil || badTagErr == nil || wrongKeyErr.Error() != badTagErr.Error() || !errors.Is(wrongKeyErr, ErrDecryption) {
		t.Errorf("wrong key: %v; bad tag: %v; want one and the same ErrDecryption", wrongKeyErr, badTagErr)
	}
}

func TestNestedAllowUnencrypted(t *testing.T) {
	signer := mustKey(t, jose.ES256)
	dec := mustEncKey(t, jose.A128KW, "")
	signed, err := Sign(signer, accessClaims(), jose.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v := mustValidator(t, signer, ValidatorOptions{Decryption: mustEncSet(t, dec), AllowUnencrypted: true})
	if _, err := v.Parse(signed); err != nil {
		t.Errorf("Parse(signed) with AllowUnencrypted = %v, want nil", err)
	}
}

func TestNewValidatorRefusesPublicDecryptionKey(t *testing.T) {
	signer := mustKey(t, jose.ES256)
	set, err := jose.NewKeySet(signer)
	if err != nil {
		t.Fatal(err)
	}
	pub := recipient(t, mustEncKey(t, jose.ECDHES, ""))
	if _, err := NewValidator(set, testIssuer, testAudience, ValidatorOptions{Decryption: mustEncSet(t, pub)}); err == nil {
		t.Error("NewValidator accepted a public key as a decryption key")
	}
}

// FuzzParseNested: a nested token either validates to the claims it was
// issued with or is refused with one of the documented kinds.
func FuzzParseNested(f *testing.F) {
	signer := mustKey(f, jose.ES256)
	dec := mustEncKey(f, jose.A256KW, "")
	tok, err := SignNested(signer, accessClaims(), jose.SignOptions{}, dec, jose.EncryptOptions{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(tok)
	f.Add(strings.Replace(tok, ".", "..", 1))
	v := mustValidator(f, signer, ValidatorOptions{Decryption: mustEncSet(f, dec)})
	f.Fuzz(func(t *testing.T, in string) {
		c, err := v.Parse(in)
		if err != nil {
			for _, kind := range documentedKinds {
				if errors.Is(err, kind) {
					return
				}
			}
			t.Fatalf("Parse(%q) = %v, matching no documented kind", in, err)
		}
		if !sameClaims(c, *accessClaims()) {
			t.Fatalf("Parse(%q) accepted claims %+v", in, c)
		}
	})
}
