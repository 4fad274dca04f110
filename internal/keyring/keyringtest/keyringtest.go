// Package keyringtest helps tests that run a keyring.Ring: generating an
// RSA key takes from tens of milliseconds to seconds, and every ring keeps
// an RS256 key for ID tokens.
//
//	ring, err := keyring.New(ctx, db, master, keyring.Config{GenerateKey: keyringtest.GenerateKey})
package keyringtest

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"

	"github.com/latch-auth/latch/jose"
)

// rsaKey is the RSA key every RSA key GenerateKey returns is made of,
// generated on first use.
var rsaKey = sync.OnceValues(func() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, jose.MinRSABits)
})

// GenerateKey is a keyring.Config.GenerateKey for tests. For an RSA
// algorithm (RS256, PS256, ...) it returns one RSA key of the process,
// created once, under a new random key ID each time: distinct keys to the
// ring, which tells keys apart by ID, but not to cryptography, so a test
// must tell them apart by key ID too. Other algorithms get a new key from
// jose.GenerateKey. Never use it outside tests.
func GenerateKey(alg jose.Algorithm) (*jose.Key, error) {
	if !strings.HasPrefix(string(alg), "RS") && !strings.HasPrefix(string(alg), "PS") {
		return jose.GenerateKey(alg)
	}
	priv, err := rsaKey()
	if err != nil {
		return nil, fmt.Errorf("keyringtest: %w", err)
	}
	key, err := jose.NewRSAPrivateKey(alg, priv)
	if err != nil {
		return nil, fmt.Errorf("keyringtest: %w", err)
	}
	var kid [16]byte
	rand.Read(kid[:])
	return key.WithKeyID(base64.RawURLEncoding.EncodeToString(kid[:])), nil
}
