// Package jwt signs and validates JSON Web Tokens (RFC 7519) following the
// JWT best current practices (RFC 8725) and the access-token profile
// (RFC 9068).
//
// Validation expectations are not optional: a Validator cannot be built
// without the trusted keys, the expected issuer and the expected audience,
// and it requires "exp" unless told otherwise. Signature verification is
// done by package jose, so the algorithm is always the one the selected key
// is pinned to.
//
//	v, err := jwt.NewValidator(keys, "https://auth.example.com", "orders", jwt.ValidatorOptions{Type: jwt.TypeAccessToken})
//	claims, err := v.Parse(token)
//	switch {
//	case errors.Is(err, jwt.ErrExpired): // ask the client to refresh
//	case err != nil:                     // reject
//	}
//
// Registered, access-token and ID-token claims are decoded without
// reflection; other claims are read on demand with Claims.Decode.
//
// Nested JWTs (RFC 7519 §5.2, §11.2) keep claims confidential from
// whoever carries the token: SignNested signs, then encrypts to the
// recipient's jose.EncryptionKey (the JWE header says "cty": "JWT"). The
// recipient gives its own decryption keys to the Validator
// (ValidatorOptions.Decryption), which then decrypts and applies every
// check above to the signed JWT inside, and refuses tokens that were not
// encrypted (ErrNotEncrypted) unless told otherwise. A decryption failure
// is one error (ErrDecryption) whatever went wrong inside, and a Validator
// without decryption keys refuses encrypted tokens with ErrEncrypted.
package jwt

import (
	"errors"
	"fmt"
	"time"

	"github.com/latch-auth/latch/internal/strictjson"
	"github.com/latch-auth/latch/jose"
)

// Errors returned by Parse. Every error it returns matches exactly one of
// them. Signature-level failures are jose's kinds, re-exported here so
// callers need only this package; errors.Is matches either name (jose's
// ErrNonCanonical and ErrDuplicateMember refine ErrMalformed).
var (
	// ErrMalformed reports a token, header or claims set that is not well
	// formed (jose.ErrMalformed).
	ErrMalformed = jose.ErrMalformed
	// ErrTooLarge reports a token over the size limit (jose.ErrTooLarge).
	ErrTooLarge = jose.ErrTooLarge
	// ErrSignature reports a signature that does not verify
	// (jose.ErrSignature).
	ErrSignature = jose.ErrSignature
	// ErrAlgorithmMismatch reports a header alg other than the selected
	// key's (jose.ErrAlgorithmMismatch).
	ErrAlgorithmMismatch = jose.ErrAlgorithmMismatch
	// ErrUnknownKey reports a token whose key is not trusted
	// (jose.ErrUnknownKey).
	ErrUnknownKey = jose.ErrUnknownKey
	// ErrUnsupported reports an algorithm latch does not implement,
	// "none" included (jose.ErrUnsupportedAlgorithm).
	ErrUnsupported = jose.ErrUnsupportedAlgorithm
	// ErrCritical reports a header that needs an extension latch does not
	// implement: any "crit" entry, or "b64": false (jose.ErrCritical).
	ErrCritical = jose.ErrCritical

	// ErrExpired reports a token at or past its "exp" (plus leeway).
	ErrExpired = errors.New("jwt: token expired")
	// ErrNotYetValid reports a token before its "nbf" (minus leeway).
	ErrNotYetValid = errors.New("jwt: token not yet valid")
	// ErrIssuedInFuture reports an "iat" later than now plus leeway.
	ErrIssuedInFuture = errors.New("jwt: token issued in the future")
	// ErrTooOld reports a token whose "iat" is older than MaxAge.
	ErrTooOld = errors.New("jwt: token too old")
	// ErrMissingClaim reports a required claim that is absent.
	ErrMissingClaim = errors.New("jwt: required claim missing")
	// ErrIssuer reports an "iss" other than the expected issuer.
	ErrIssuer = errors.New("jwt: wrong issuer")
	// ErrAudience reports an "aud" that does not name the expected audience.
	ErrAudience = errors.New("jwt: wrong audience")
	// ErrType reports a header "typ" other than the required one, or a
	// JWE whose "cty" is not "JWT" (so not a nested JWT).
	ErrType = errors.New("jwt: wrong token type")

	// ErrDecryption reports a nested JWT that does not decrypt
	// (jose.ErrDecryption). Every failure that depends on a decryption
	// key is this error alone, with one message, so that a caller relaying
	// it cannot become a padding or tag oracle; failures decided from the
	// token's public parts (its size, its form, an unknown "kid") match a
	// more specific kind too.
	ErrDecryption = jose.ErrDecryption
	// ErrEncrypted reports an encrypted token (a compact JWE, five
	// segments) given to a Validator without decryption keys: only its
	// recipient can read it.
	ErrEncrypted = errors.New("jwt: token is encrypted")
	// ErrNotEncrypted reports a signed token that was not encrypted, given
	// to a Validator that expects nested JWTs (ValidatorOptions.Decryption
	// without AllowUnencrypted).
	ErrNotEncrypted = errors.New("jwt: token is not encrypted")
)

// TypeAccessToken is the "typ" of access tokens (RFC 9068 §2.1).
const TypeAccessToken = "at+jwt"

// DefaultLeeway is the clock skew tolerated on exp, nbf and iat when
// ValidatorOptions.Leeway is zero.
const DefaultLeeway = 30 * time.Second

// NoLeeway, as ValidatorOptions.Leeway, tolerates no clock skew at all.
const NoLeeway time.Duration = -1

// errorsIsDuplicate reports a duplicate-member rejection from strictjson.
func errorsIsDuplicate(err error) bool { return errors.Is(err, strictjson.ErrDuplicateName) }

// Sign encodes c and signs it with key. The header "typ" is opts.Type, or
// "JWT" when empty; "alg" and "kid" come from the key.
func Sign(key *jose.Key, c *Claims, opts jose.SignOptions) (string, error) {
	if c == nil {
		return "", fmt.Errorf("%w: nil claims", ErrMalformed)
	}
	if opts.Type == "" {
		opts.Type = "JWT"
	}
	var buf [1024]byte
	payload, err := c.appendJSON(buf[:0])
	if err != nil {
		return "", err
	}
	return jose.Sign(key, payload, opts)
}

// ValidatorOptions refine a Validator. The zero value is a sound default.
type ValidatorOptions struct {
	// Leeway is the clock skew tolerated on exp, nbf and iat. Zero means
	// DefaultLeeway; NoLeeway (or any negative value) means none.
	Leeway time.Duration
	// Type, when set, is the header "typ" the token must carry, compared
	// case-insensitively with an optional "application/" prefix
	// (RFC 8725 §3.11, RFC 9068 §4). Use TypeAccessToken for access tokens.
	Type string
	// MaxAge, when positive, refuses tokens whose "iat" is older; a token
	// without "iat" is then refused too.
	MaxAge time.Duration
	// AllowMissingExpiry accepts tokens without "exp". Leave it false for
	// anything that authorizes requests.
	AllowMissingExpiry bool
	// MaxTokenSize is the largest token accepted in bytes; zero means
	// jose.DefaultMaxTokenSize. For a nested JWT it bounds the encrypted
	// token as presented, and again the signed token inside it.
	MaxTokenSize int
	// Decryption holds decryption keys the caller owns, for nested JWTs
	// (RFC 7519 §5.2, §11.2: signed, then encrypted). With it, Parse
	// accepts a compact JWE with "cty" "JWT", decrypts it (see Decrypt:
	// the key decides the algorithms) and validates the signed JWT inside
	// as any other token; and it refuses a signed token that was not
	// encrypted (ErrNotEncrypted), unless AllowUnencrypted: a service
	// whose tokens carry confidential claims must not take a token whose
	// claims anyone could have read. Nil refuses encrypted tokens
	// (ErrEncrypted). Every key must be able to decrypt.
	Decryption *jose.EncryptionKeySet
	// AllowUnencrypted, with Decryption, accepts plain signed tokens too,
	// for a service moving to encrypted tokens.
	AllowUnencrypted bool
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Validator verifies tokens from one issuer for one audience. It is safe
// for concurrent use.
type Validator struct {
	keys     *jose.KeySet
	issuer   string
	audience string
	opts     ValidatorOptions
	leeway   time.Duration
	jopts    jose.VerifyOptions
}

// NewValidator returns a Validator that accepts tokens signed by one of
// keys, issued by issuer, for audience. All three are required.
func NewValidator(keys *jose.KeySet, issuer, audience string, opts ValidatorOptions) (*Validator, error) {
	switch {
	case keys == nil || keys.Len() == 0:
		return nil, errors.New("jwt: validator needs at least one trusted key")
	case issuer == "":
		return nil, errors.New("jwt: validator needs the expected issuer")
	case audience == "":
		return nil, errors.New("jwt: validator needs the expected audience")
	}
	if opts.Decryption != nil {
		if len(opts.Decryption.Keys()) == 0 {
			return nil, errors.New("jwt: validator's decryption key set is empty")
		}
		for _, k := range opts.Decryption.Keys() {
			if !k.CanDecrypt() {
				return nil, fmt.Errorf("jwt: decryption key %q is a public key: decryption needs the private key", truncate(k.KeyID()))
			}
		}
	}
	v := &Validator{keys: keys, issuer: issuer, audience: audience, opts: opts, leeway: opts.Leeway}
	switch {
	case v.leeway == 0:
		v.leeway = DefaultLeeway
	case v.leeway < 0:
		v.leeway = 0
	}
	v.jopts.MaxTokenSize = opts.MaxTokenSize
	return v, nil
}

// Parse verifies token and its claims and returns them. On error the
// claims are zero.
func (v *Validator) Parse(token string) (Claims, error) {
	_, c, err := v.ParseWithHeader(token)
	return c, err
}

// ParseWithHeader is Parse that also returns the verified JWS header, for
// callers that need to know which key signed the token (for a nested JWT,
// the header of the signed JWT inside). On error both are zero.
func (v *Validator) ParseWithHeader(token string) (jose.Header, Claims, error) {
	switch {
	case isEncrypted(token):
		if v.opts.Decryption == nil {
			return jose.Header{}, Claims{}, fmt.Errorf("%w (a JWE): this validator has no key to decrypt it", ErrEncrypted)
		}
		_, inner, err := Decrypt(token, v.opts.Decryption, jose.DecryptOptions{MaxTokenSize: v.opts.MaxTokenSize})
		if err != nil {
			return jose.Header{}, Claims{}, err
		}
		token = inner
	case v.opts.Decryption != nil && !v.opts.AllowUnencrypted:
		return jose.Header{}, Claims{}, fmt.Errorf("%w: a signed JWT where a nested (signed, then encrypted) JWT is required", ErrNotEncrypted)
	}
	hdr, payload, err := jose.Verify(token, v.keys, v.jopts)
	if err != nil {
		return jose.Header{}, Claims{}, err
	}
	if v.opts.Type != "" && !typeMatches(hdr.Type, v.opts.Type) {
		return jose.Header{}, Claims{}, fmt.Errorf("%w: typ %q, want %q", ErrType, truncate(hdr.Type), v.opts.Type)
	}
	c, err := parseClaims(payload)
	if err != nil {
		return jose.Header{}, Claims{}, err
	}
	if err := v.Validate(&c); err != nil {
		return jose.Header{}, Claims{}, err
	}
	return hdr, c, nil
}

// Validate applies the claim expectations (issuer, audience, exp, nbf,
// iat, max age) to claims whose signature was verified earlier, such as a
// cached token: time passes, so a token valid then may have expired now.
func (v *Validator) Validate(c *Claims) error {
	if c.Issuer != v.issuer {
		return fmt.Errorf("%w: token has %q, want %q", ErrIssuer, truncate(c.Issuer), v.issuer)
	}
	if !c.Audience.Contains(v.audience) {
		return fmt.Errorf("%w: token is not for %q", ErrAudience, v.audience)
	}
	now := time.Now
	if v.opts.Now != nil {
		now = v.opts.Now
	}
	t := now()
	switch {
	case c.ExpiresAt.IsZero():
		if !v.opts.AllowMissingExpiry {
			return fmt.Errorf("%w: exp", ErrMissingClaim)
		}
	case !t.Before(c.ExpiresAt.Add(v.leeway)):
		return fmt.Errorf("%w at %s", ErrExpired, c.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if !c.NotBefore.IsZero() && t.Add(v.leeway).Before(c.NotBefore) {
		return fmt.Errorf("%w until %s", ErrNotYetValid, c.NotBefore.UTC().Format(time.RFC3339))
	}
	if !c.IssuedAt.IsZero() && t.Add(v.leeway).Before(c.IssuedAt) {
		return fmt.Errorf("%w: iat %s", ErrIssuedInFuture, c.IssuedAt.UTC().Format(time.RFC3339))
	}
	if v.opts.MaxAge > 0 {
		if c.IssuedAt.IsZero() {
			return fmt.Errorf("%w: iat (needed for max age)", ErrMissingClaim)
		}
		if t.Sub(c.IssuedAt) > v.opts.MaxAge+v.leeway {
			return fmt.Errorf("%w: issued %s", ErrTooOld, c.IssuedAt.UTC().Format(time.RFC3339))
		}
	}
	return nil
}

// typeMatches compares typ values as RFC 7515 §4.1.9 says media types
// compare: case-insensitively, "application/" optional.
func typeMatches(got, want string) bool {
	const prefix = "application/"
	trim := func(s string) string {
		if len(s) > len(prefix) && equalFold(s[:len(prefix)], prefix) {
			return s[len(prefix):]
		}
		return s
	}
	return equalFold(trim(got), trim(want))
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
