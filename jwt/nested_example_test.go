package jwt_test

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
)

// The issuer signs with its key and encrypts to the service's public
// encryption key; the service validates with its private one. A validator
// without it, or anyone carrying the token, cannot read the claims.
func ExampleSignNested() {
	signer, _ := jose.GenerateKey(jose.ES256)
	service, _ := jose.GenerateEncryptionKey(jose.ECDHESA256KW, "") // held by the service
	servicePub, _ := service.Public()                               // registered with the issuer

	now := time.Now()
	token, _ := jwt.SignNested(signer, &jwt.Claims{
		Issuer:    "https://auth.example.com",
		Subject:   "user-1",
		Audience:  jwt.Audience{"orders"},
		ExpiresAt: now.Add(10 * time.Minute),
		IssuedAt:  now,
	}, jose.SignOptions{Type: jwt.TypeAccessToken}, servicePub, jose.EncryptOptions{})
	fmt.Println("segments:", strings.Count(token, ".")+1)

	pub, _ := signer.Public()
	keys, _ := jose.NewKeySet(pub)
	decryption, _ := jose.NewEncryptionKeySet(service)
	v, _ := jwt.NewValidator(keys, "https://auth.example.com", "orders",
		jwt.ValidatorOptions{Type: jwt.TypeAccessToken, Decryption: decryption})
	claims, err := v.Parse(token)
	fmt.Println(claims.Subject, err)

	blind, _ := jwt.NewValidator(keys, "https://auth.example.com", "orders", jwt.ValidatorOptions{})
	_, err = blind.Parse(token)
	fmt.Println(errors.Is(err, jwt.ErrEncrypted))
	// Output:
	// segments: 5
	// user-1 <nil>
	// true
}
