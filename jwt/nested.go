package jwt

import (
	"fmt"
	"strings"

	"github.com/latch-auth/latch/jose"
)

// ContentTypeJWT is the JWE header "cty" of a nested JWT (RFC 7519 §5.2).
const ContentTypeJWT = "JWT"

// SignNested issues a nested JWT (RFC 7519 §5.2, §11.2): it signs c with
// key as Sign does, then encrypts the signed JWT to the recipient's key to
// with jose.Encrypt, whose algorithm decides the key management ("enc" is
// eopts.Encryption, default jose.DefaultContentEncryption). The JWE header
// "cty" is always "JWT", whatever eopts.ContentType says; "typ" is
// eopts.Type, omitted when empty: the signed JWT inside carries the
// token's type. Only the holder of to's private key (or secret) can read
// the claims; Validator.Parse, given that key, validates the token.
func SignNested(key *jose.Key, c *Claims, opts jose.SignOptions, to *jose.EncryptionKey, eopts jose.EncryptOptions) (string, error) {
	if to == nil {
		return "", fmt.Errorf("%w: nil encryption key", jose.ErrInvalidKey)
	}
	signed, err := Sign(key, c, opts)
	if err != nil {
		return "", err
	}
	eopts.ContentType = ContentTypeJWT
	return jose.Encrypt([]byte(signed), to, eopts)
}

// Decrypt opens a nested JWT: it decrypts the compact JWE token with one
// of keys (jose.Decrypt: a key is chosen by "kid", or by "alg" without one,
// and its algorithm must be the header's), requires the header "cty" to
// be "JWT" (compared as media types are: case-insensitively, with an
// optional "application/" prefix; ErrType otherwise), and returns the
// JWE header and the signed JWT inside, NOT yet verified: pass it to
// Validator.Parse, or give Validator the keys (ValidatorOptions.Decryption)
// and let it do both. The signed JWT must be a compact JWS (ErrMalformed
// for another JWE: one level of nesting only).
//
// opts.MaxTokenSize bounds token (ErrTooLarge), jose.DefaultMaxTokenSize
// when zero. Every decryption failure matches ErrDecryption (see there);
// on error the header and the JWT are zero.
func Decrypt(token string, keys *jose.EncryptionKeySet, opts jose.DecryptOptions) (jose.JWEHeader, string, error) {
	hdr, pt, err := jose.Decrypt(token, keys, opts)
	if err != nil {
		return jose.JWEHeader{}, "", err
	}
	if !typeMatches(hdr.ContentType, ContentTypeJWT) {
		return jose.JWEHeader{}, "", fmt.Errorf("%w: JWE cty %q, want %q: not a nested JWT", ErrType, truncate(hdr.ContentType), ContentTypeJWT)
	}
	inner := string(pt)
	if strings.Count(inner, ".") != 2 {
		return jose.JWEHeader{}, "", fmt.Errorf("%w: the content of a nested JWT must be a compact JWS", ErrMalformed)
	}
	return hdr, inner, nil
}

// isEncrypted reports whether token has the five segments of a compact
// JWE (RFC 7516 §7.1); a compact JWS has three.
func isEncrypted(token string) bool { return strings.Count(token, ".") == 4 }
