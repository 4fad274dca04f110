package jose_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/latch-auth/latch/jose"
)

// Sign makes a compact JWS; its header's "alg" and "kid" come from the
// key, which was built for one algorithm.
func ExampleSign() {
	key, err := jose.NewHMACKey(jose.HS256, []byte("an HS256 secret of 32 bytes or more"))
	if err != nil {
		fmt.Println(err)
		return
	}
	token, err := jose.Sign(key.WithKeyID("2024-10"), []byte(`{"msg":"hello"}`), jose.SignOptions{Type: "JWT"})
	if err != nil {
		fmt.Println(err)
		return
	}
	header, _, _ := strings.Cut(token, ".")
	decoded, _ := base64.RawURLEncoding.DecodeString(header)
	fmt.Println(string(decoded))
	// Output:
	// {"alg":"HS256","kid":"2024-10","typ":"JWT"}
}

// Verify accepts a token only from a trusted key, with that key's
// algorithm; its errors say why it refused one.
func ExampleVerify() {
	signer, _ := jose.GenerateKey(jose.ES256)
	token, _ := jose.Sign(signer, []byte(`{"msg":"hello"}`), jose.SignOptions{Type: "JWT"})

	// The verifying side trusts the public half only.
	public, _ := signer.Public()
	keys, _ := jose.NewKeySet(public)
	hdr, payload, err := jose.Verify(token, keys, jose.VerifyOptions{})
	fmt.Println(hdr.Algorithm, hdr.KeyID == signer.KeyID(), string(payload), err)

	// A changed payload no longer matches the signature.
	parts := strings.Split(token, ".")
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"msg":"HELLO"}`))
	_, _, err = jose.Verify(strings.Join(parts, "."), keys, jose.VerifyOptions{})
	fmt.Println(errors.Is(err, jose.ErrSignature))

	// A token from a key the set does not hold is refused before any
	// signature check.
	stranger, _ := jose.GenerateKey(jose.ES256)
	forged, _ := jose.Sign(stranger, []byte(`{"msg":"hello"}`), jose.SignOptions{})
	_, _, err = jose.Verify(forged, keys, jose.VerifyOptions{})
	fmt.Println(errors.Is(err, jose.ErrUnknownKey))
	// Output:
	// ES256 true {"msg":"hello"} <nil>
	// true
	// true
}
