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
