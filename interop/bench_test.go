package interop

// Benchmarks of latch against golang-jwt v5, jwx v3, go-jose v4 and the
// bare standard-library primitive, on one realistic access token per
// algorithm. Run them all at once with
//
//	go test -run '^$' -bench . -benchmem
//
// or ./bench.sh for -count 5 and a summary table (cmd/benchtable).
//
// BenchmarkVerify/<alg>/<lib> measures what a resource server does per
// request: verify the signature, check the claims (iss, aud, exp, nbf, iat,
// with 30s leeway) and decode them into a struct that has scope and roles.
// Each library runs in its fastest correct configuration, with everything
// that does not depend on the token built once outside the loop:
//   - latch: jwt.Validator.Parse (which also requires typ "at+jwt"); all
//     claims, scope and roles included, are decoded by Parse.
//   - golang-jwt: one Parser (WithValidMethods, WithIssuer, WithAudience,
//     WithExpirationRequired, WithIssuedAt, WithLeeway) reused across
//     iterations, ParseWithClaims into a struct embedding RegisteredClaims.
//   - jwx: jwt.Parse with a prebuilt option list (WithKey, WithIssuer,
//     WithAudience, WithRequiredClaim("exp"), WithAcceptableSkew); a single
//     WithKey takes jwx's VerifyCompactFast path. Scope and roles are read
//     with Token.Get ("roles" arrives as []any and is converted).
//   - jwx-jws: jwx's signature check alone (jws.VerifyCompactFast), then
//     encoding/json into a struct and the same claim checks written by
//     hand. Faster than jwt.Parse, but the validation is not jwx's: the
//     line shows what a jwx user can get by leaving its JWT layer.
//   - go-jose: jwt.ParseSigned with the one expected algorithm,
//     Claims(key, &c) into one struct embedding jwt.Claims,
//     ValidateWithLeeway, and an explicit check that exp is present.
//   - stdlib: the signature check alone, over the signing input with the
//     signature already decoded: hmac.New+Write+Sum+Equal (HS256),
//     sha256 + rsa.VerifyPKCS1v15 (RS256), sha256 + rsa.VerifyPSS (PS256),
//     sha256 + ecdsa.VerifyASN1 with a pre-encoded DER signature (ES256),
//     ed25519.Verify (EdDSA). No parsing, no claims: the floor.
//
// BenchmarkSign/<alg>/<lib> measures issuing: build the claims in the
// library's own representation and produce the compact token (signer
// objects that do not depend on the claims are built once). The stdlib
// line is the signature primitive over the signing input alone.

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	josev4 "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	gjwt "github.com/golang-jwt/jwt/v5"
	"github.com/lestrrat-go/jwx/v3/jws"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
)

// benchAlgs are the algorithms benchmarked: one per key type.
var benchAlgs = []jose.Algorithm{jose.HS256, jose.RS256, jose.PS256, jose.ES256, jose.EdDSA}

// benchClaims is the benchmark token's claims set: a 287-byte payload
// (iss, sub, aud, exp, nbf, iat, jti, client_id, scope, roles), valid for
// an hour.
func benchClaims(tb testing.TB) accessClaims {
	c := newAccessClaims(tb)
	c.Subject = "3f6c2a9e-8d41-4b7a-9c55-0e2f1a7b6d33"
	c.ExpiresAt = c.IssuedAt + 3600
	c.Tenant, c.MFA = "", false
	return c
}

// latchBenchClaims is c as latch Claims, without Extra (the benchmark
// token has no custom claims).
func latchBenchClaims(c accessClaims) jwt.Claims {
	return jwt.Claims{
		Issuer:    c.Issuer,
		Subject:   c.Subject,
		Audience:  c.Audience,
		ExpiresAt: time.Unix(c.ExpiresAt, 0),
		NotBefore: time.Unix(c.NotBefore, 0),
		IssuedAt:  time.Unix(c.IssuedAt, 0),
		ID:        c.ID,
		ClientID:  c.ClientID,
		Scope:     c.Scope,
		Roles:     c.Roles,
	}
}

// benchToken returns a fixture for alg, the benchmark claims and the
// access token latch signs with them.
func benchToken(b *testing.B, alg jose.Algorithm) (*fixture, accessClaims, string) {
	f := newFixture(b, alg)
	want := benchClaims(b)
	lc := latchBenchClaims(want)
	token, err := jwt.Sign(f.signer, &lc, jose.SignOptions{Type: jwt.TypeAccessToken})
	if err != nil {
		b.Fatalf("jwt.Sign: %v", err)
	}
	return f, want, token
}

// sink keeps benchmark results alive.
var sink any

func BenchmarkVerify(b *testing.B) {
	for _, alg := range benchAlgs {
		f, want, token := benchToken(b, alg)
		check := func(b *testing.B, scope string, roles []string) {
			if scope != want.Scope || len(roles) != 2 || roles[1] != "support" {
				b.Fatalf("decoded scope %q roles %q, want %q %q", scope, roles, want.Scope, want.Roles)
			}
		}

		b.Run(string(alg)+"/latch", func(b *testing.B) {
			v := f.validator(b)
			for b.Loop() {
				c, err := v.Parse(token)
				if err != nil {
					b.Fatal(err)
				}
				check(b, c.Scope, c.Roles)
			}
		})

		b.Run(string(alg)+"/golang-jwt", func(b *testing.B) {
			parser := golangJWTParser(alg)
			keyFunc := func(*gjwt.Token) (any, error) { return f.pub, nil }
			for b.Loop() {
				var c golangJWTClaims
				if _, err := parser.ParseWithClaims(token, &c, keyFunc); err != nil {
					b.Fatal(err)
				}
				check(b, c.Scope, c.Roles)
			}
		})

		b.Run(string(alg)+"/jwx", func(b *testing.B) {
			raw := []byte(token)
			opts := []jwxjwt.ParseOption{
				jwxjwt.WithKey(jwxAlg(alg), f.pub),
				jwxjwt.WithIssuer(issuer),
				jwxjwt.WithAudience(audience),
				jwxjwt.WithRequiredClaim(jwxjwt.ExpirationKey),
				jwxjwt.WithAcceptableSkew(leeway),
			}
			for b.Loop() {
				tok, err := jwxjwt.Parse(raw, opts...)
				if err != nil {
					b.Fatal(err)
				}
				var c struct {
					Scope string
					Roles []string
				}
				if err := tok.Get("scope", &c.Scope); err != nil {
					b.Fatal(err)
				}
				var roles []any
				if err := tok.Get("roles", &roles); err != nil {
					b.Fatal(err)
				}
				c.Roles = make([]string, len(roles))
				for i, r := range roles {
					c.Roles[i], _ = r.(string)
				}
				check(b, c.Scope, c.Roles)
			}
		})

		b.Run(string(alg)+"/jwx-jws", func(b *testing.B) {
			raw := []byte(token)
			jalg := jwxAlg(alg)
			for b.Loop() {
				payload, err := jws.VerifyCompactFast(f.pub, raw, jalg)
				if err != nil {
					b.Fatal(err)
				}
				var c jwsClaims
				if err := json.Unmarshal(payload, &c); err != nil {
					b.Fatal(err)
				}
				if err := c.validate(time.Now()); err != nil {
					b.Fatal(err)
				}
				check(b, c.Scope, c.Roles)
			}
		})

		b.Run(string(alg)+"/go-jose", func(b *testing.B) {
			algs := []josev4.SignatureAlgorithm{josev4.SignatureAlgorithm(alg)}
			expected := josejwt.Expected{Issuer: issuer, AnyAudience: josejwt.Audience{audience}}
			for b.Loop() {
				tok, err := josejwt.ParseSigned(token, algs)
				if err != nil {
					b.Fatal(err)
				}
				var c goJoseClaims
				if err := tok.Claims(f.pub, &c); err != nil {
					b.Fatal(err)
				}
				if err := c.ValidateWithLeeway(expected, leeway); err != nil {
					b.Fatal(err)
				}
				if c.Expiry == nil {
					b.Fatal(errNoExpiry)
				}
				check(b, c.Scope, c.Roles)
			}
		})

		b.Run(string(alg)+"/stdlib", func(b *testing.B) {
			dot := strings.LastIndexByte(token, '.')
			input := []byte(token[:dot])
			sig, err := base64.RawURLEncoding.DecodeString(token[dot+1:])
			if err != nil {
				b.Fatal(err)
			}
			verify := stdlibVerifier(b, f, sig)
			for b.Loop() {
				if !verify(input) {
					b.Fatal("signature does not verify")
				}
			}
		})
	}
}

// jwsClaims is the hand-written half of the jwx-jws configuration: the
// claims decoded with encoding/json and checked like the others do.
type jwsClaims struct {
	Issuer    string      `json:"iss"`
	Audience  jwsAudience `json:"aud"`
	ExpiresAt *int64      `json:"exp"`
	NotBefore *int64      `json:"nbf"`
	IssuedAt  *int64      `json:"iat"`
	Scope     string      `json:"scope"`
	Roles     []string    `json:"roles"`
}

var errJWSClaims = errors.New("jwx-jws: claims rejected")

func (c *jwsClaims) validate(now time.Time) error {
	t, skew := now.Unix(), int64(leeway/time.Second)
	switch {
	case c.Issuer != issuer, !slices.Contains(c.Audience, audience):
		return errJWSClaims
	case c.ExpiresAt == nil || t >= *c.ExpiresAt+skew:
		return errJWSClaims
	case c.NotBefore != nil && t+skew < *c.NotBefore, c.IssuedAt != nil && t+skew < *c.IssuedAt:
		return errJWSClaims
	}
	return nil
}

// jwsAudience reads "aud" as a string or an array of strings.
type jwsAudience []string

func (a *jwsAudience) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*a = jwsAudience{s}
		return nil
	}
	return json.Unmarshal(b, (*[]string)(a))
}

// stdlibVerifier returns the bare signature check for f's algorithm.
func stdlibVerifier(b *testing.B, f *fixture, sig []byte) func(input []byte) bool {
	switch f.alg {
	case jose.HS256:
		secret := f.pub.([]byte)
		return func(input []byte) bool {
			m := hmac.New(sha256.New, secret)
			m.Write(input)
			return hmac.Equal(m.Sum(nil), sig)
		}
	case jose.RS256:
		pub := f.pub.(*rsa.PublicKey)
		return func(input []byte) bool {
			d := sha256.Sum256(input)
			return rsa.VerifyPKCS1v15(pub, crypto.SHA256, d[:], sig) == nil
		}
	case jose.PS256:
		pub := f.pub.(*rsa.PublicKey)
		opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}
		return func(input []byte) bool {
			d := sha256.Sum256(input)
			return rsa.VerifyPSS(pub, crypto.SHA256, d[:], sig, opts) == nil
		}
	case jose.ES256:
		pub := f.pub.(*ecdsa.PublicKey)
		der := derSignature(sig)
		return func(input []byte) bool {
			d := sha256.Sum256(input)
			return ecdsa.VerifyASN1(pub, d[:], der)
		}
	case jose.EdDSA:
		pub := f.pub.(ed25519.PublicKey)
		return func(input []byte) bool { return ed25519.Verify(pub, input, sig) }
	}
	b.Fatalf("no stdlib verifier for %s", f.alg)
	return nil
}

// derSignature converts a JWS ECDSA signature (r || s) to ASN.1 DER.
func derSignature(sig []byte) []byte {
	n := len(sig) / 2
	r, s := new(big.Int).SetBytes(sig[:n]), new(big.Int).SetBytes(sig[n:])
	integer := func(x *big.Int) []byte {
		b := x.Bytes()
		if len(b) == 0 || b[0]&0x80 != 0 {
			b = append([]byte{0}, b...)
		}
		return append([]byte{0x02, byte(len(b))}, b...)
	}
	body := append(integer(r), integer(s)...)
	return append([]byte{0x30, byte(len(body))}, body...)
}

func BenchmarkSign(b *testing.B) {
	for _, alg := range benchAlgs {
		f := newFixture(b, alg)
		c := benchClaims(b)
		kid := f.signer.KeyID()

		b.Run(string(alg)+"/latch", func(b *testing.B) {
			opts := jose.SignOptions{Type: jwt.TypeAccessToken}
			for b.Loop() {
				lc := latchBenchClaims(c)
				tok, err := jwt.Sign(f.signer, &lc, opts)
				if err != nil {
					b.Fatal(err)
				}
				sink = tok
			}
		})

		b.Run(string(alg)+"/golang-jwt", func(b *testing.B) {
			method := gjwt.GetSigningMethod(string(alg))
			for b.Loop() {
				tok := gjwt.NewWithClaims(method, golangJWTClaims{
					RegisteredClaims: gjwt.RegisteredClaims{
						Issuer:    c.Issuer,
						Subject:   c.Subject,
						Audience:  c.Audience,
						ExpiresAt: gjwt.NewNumericDate(time.Unix(c.ExpiresAt, 0)),
						NotBefore: gjwt.NewNumericDate(time.Unix(c.NotBefore, 0)),
						IssuedAt:  gjwt.NewNumericDate(time.Unix(c.IssuedAt, 0)),
						ID:        c.ID,
					},
					ClientID: c.ClientID,
					Scope:    c.Scope,
					Roles:    c.Roles,
				})
				tok.Header["typ"] = jwt.TypeAccessToken
				tok.Header["kid"] = kid
				s, err := tok.SignedString(f.priv)
				if err != nil {
					b.Fatal(err)
				}
				sink = s
			}
		})

		b.Run(string(alg)+"/jwx", func(b *testing.B) {
			hdr := jws.NewHeaders()
			if err := hdr.Set(jws.TypeKey, jwt.TypeAccessToken); err != nil {
				b.Fatal(err)
			}
			if err := hdr.Set(jws.KeyIDKey, kid); err != nil {
				b.Fatal(err)
			}
			key := jwxjwt.WithKey(jwxAlg(alg), f.priv, jws.WithProtectedHeaders(hdr))
			for b.Loop() {
				tok := jwxjwt.New()
				for _, m := range [...]struct {
					name string
					v    any
				}{
					{jwxjwt.IssuerKey, c.Issuer},
					{jwxjwt.SubjectKey, c.Subject},
					{jwxjwt.AudienceKey, c.Audience},
					{jwxjwt.ExpirationKey, time.Unix(c.ExpiresAt, 0)},
					{jwxjwt.NotBeforeKey, time.Unix(c.NotBefore, 0)},
					{jwxjwt.IssuedAtKey, time.Unix(c.IssuedAt, 0)},
					{jwxjwt.JwtIDKey, c.ID},
					{"client_id", c.ClientID},
					{"scope", c.Scope},
					{"roles", c.Roles},
				} {
					if err := tok.Set(m.name, m.v); err != nil {
						b.Fatal(err)
					}
				}
				s, err := jwxjwt.Sign(tok, key)
				if err != nil {
					b.Fatal(err)
				}
				sink = s
			}
		})

		b.Run(string(alg)+"/go-jose", func(b *testing.B) {
			signer, err := josev4.NewSigner(josev4.SigningKey{Algorithm: josev4.SignatureAlgorithm(alg), Key: f.priv},
				(&josev4.SignerOptions{}).WithType(jwt.TypeAccessToken).WithHeader("kid", kid))
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				s, err := josejwt.Signed(signer).Claims(goJoseClaims{
					Claims: josejwt.Claims{
						Issuer:    c.Issuer,
						Subject:   c.Subject,
						Audience:  c.Audience,
						Expiry:    josejwt.NewNumericDate(time.Unix(c.ExpiresAt, 0)),
						NotBefore: josejwt.NewNumericDate(time.Unix(c.NotBefore, 0)),
						IssuedAt:  josejwt.NewNumericDate(time.Unix(c.IssuedAt, 0)),
						ID:        c.ID,
					},
					ClientID: c.ClientID,
					Scope:    c.Scope,
					Roles:    c.Roles,
				}).Serialize()
				if err != nil {
					b.Fatal(err)
				}
				sink = s
			}
		})

		b.Run(string(alg)+"/stdlib", func(b *testing.B) {
			lc := latchBenchClaims(c)
			tok, err := jwt.Sign(f.signer, &lc, jose.SignOptions{Type: jwt.TypeAccessToken})
			if err != nil {
				b.Fatal(err)
			}
			input := []byte(tok[:strings.LastIndexByte(tok, '.')])
			sign := stdlibSigner(b, f)
			for b.Loop() {
				sink = sign(input)
			}
		})
	}
}

// stdlibSigner returns the bare signature primitive for f's algorithm.
func stdlibSigner(b *testing.B, f *fixture) func(input []byte) []byte {
	switch f.alg {
	case jose.HS256:
		secret := f.priv.([]byte)
		return func(input []byte) []byte {
			m := hmac.New(sha256.New, secret)
			m.Write(input)
			return m.Sum(nil)
		}
	case jose.RS256:
		priv := f.priv.(*rsa.PrivateKey)
		return func(input []byte) []byte {
			d := sha256.Sum256(input)
			sig, err := rsa.SignPKCS1v15(nil, priv, crypto.SHA256, d[:])
			if err != nil {
				b.Fatal(err)
			}
			return sig
		}
	case jose.PS256:
		priv := f.priv.(*rsa.PrivateKey)
		opts := &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}
		return func(input []byte) []byte {
			d := sha256.Sum256(input)
			sig, err := rsa.SignPSS(rand.Reader, priv, crypto.SHA256, d[:], opts)
			if err != nil {
				b.Fatal(err)
			}
			return sig
		}
	case jose.ES256:
		priv := f.priv.(*ecdsa.PrivateKey)
		return func(input []byte) []byte {
			d := sha256.Sum256(input)
			sig, err := ecdsa.SignASN1(rand.Reader, priv, d[:])
			if err != nil {
				b.Fatal(err)
			}
			return sig
		}
	case jose.EdDSA:
		priv := f.priv.(ed25519.PrivateKey)
		return func(input []byte) []byte { return ed25519.Sign(priv, input) }
	}
	b.Fatalf("no stdlib signer for %s", f.alg)
	return nil
}

// TestBenchToken pins the shape of the benchmark token, so the numbers
// keep measuring the token the comments describe.
func TestBenchToken(t *testing.T) {
	f := newFixture(t, jose.HS256)
	lc := latchBenchClaims(benchClaims(t))
	token, err := jwt.Sign(f.signer, &lc, jose.SignOptions{Type: jwt.TypeAccessToken})
	if err != nil {
		t.Fatalf("jwt.Sign: %v", err)
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	if n := len(payload); n < 250 || n > 320 {
		t.Errorf("benchmark payload is %d bytes, want about 300: %s", n, payload)
	}
	t.Logf("payload %d bytes: %s", len(payload), payload)
}
