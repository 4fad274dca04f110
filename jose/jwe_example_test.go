package jose_test

import (
	"errors"
	"fmt"

	"github.com/latch-auth/latch/jose"
)

// A nested JWT: signed by the issuer, then encrypted to the recipient's
// ECDH-ES+A256KW key, so that only the recipient can read the claims
// (RFC 7519 §11.2: sign, then encrypt).
func ExampleEncrypt() {
	signer, _ := jose.GenerateKey(jose.ES256)
	recipient, _ := jose.GenerateEncryptionKey(jose.ECDHESA256KW, "")

	// The issuer knows only the recipient's public key.
	to, _ := recipient.Public()
	jws, _ := jose.Sign(signer, []byte(`{"sub":"alice"}`), jose.SignOptions{Type: "JWT"})
	jwe, err := jose.Encrypt([]byte(jws), to, jose.EncryptOptions{ContentType: "JWT"})
	if err != nil {
		fmt.Println(err)
		return
	}

	// The recipient decrypts with its private key, then verifies.
	keys, _ := jose.NewEncryptionKeySet(recipient)
	h, inner, err := jose.Decrypt(jwe, keys, jose.DecryptOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	pub, _ := signer.Public()
	trusted, _ := jose.NewKeySet(pub)
	_, claims, err := jose.Verify(string(inner), trusted, jose.VerifyOptions{})
	fmt.Println(h.Algorithm, h.Encryption, h.ContentType, string(claims), err)

	// Any change to the token is one error, whatever it hit.
	tampered := []byte(jwe)
	if i := len(tampered) - 5; tampered[i] == 'A' {
		tampered[i] = 'B'
	} else {
		tampered[i] = 'A'
	}
	_, _, err = jose.Decrypt(string(tampered), keys, jose.DecryptOptions{})
	fmt.Println(errors.Is(err, jose.ErrDecryption))
	// Output:
	// ECDH-ES+A256KW A256GCM JWT {"sub":"alice"} <nil>
	// true
}

// A recipient's X25519 key pair written by openssl (genpkey -algorithm
// X25519, then pkey -pubout). PEM does not say which ECDH-ES algorithm the
// key is for, so the caller names it; an RSA key would be RSA-OAEP-256 on
// its own.
func ExampleParseEncryptionPEM() {
	priv := []byte(`-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VuBCIEIKhCf7BOGOuGC005jnwP3G0tnwWksBIouKaE9eq/ZAt5
-----END PRIVATE KEY-----
`)
	pub := []byte(`-----BEGIN PUBLIC KEY-----
MCowBQYDK2VuAyEAFFxPB1PZ8RGcdcVmEXE2Pg2muQoHX3wjulf1NNr+NUM=
-----END PUBLIC KEY-----
`)
	to, err := jose.ParseEncryptionPEM(pub, jose.ECDHESA256KW, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	jwe, _ := jose.Encrypt([]byte("for the recipient only"), to, jose.EncryptOptions{})

	key, err := jose.ParseEncryptionPEM(priv, jose.ECDHESA256KW, "")
	if err != nil {
		fmt.Println(err)
		return
	}
	keys, _ := jose.NewEncryptionKeySet(key)
	_, plaintext, err := jose.Decrypt(jwe, keys, jose.DecryptOptions{})
	fmt.Println(key.Algorithm(), key.KeyID() == to.KeyID(), string(plaintext), err)

	// Without an algorithm, an X25519 key is refused.
	_, err = jose.ParseEncryptionPEM(pub, "", "")
	fmt.Println(errors.Is(err, jose.ErrInvalidKey))
	// Output:
	// ECDH-ES+A256KW true for the recipient only <nil>
	// true
}
