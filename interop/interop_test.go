package interop

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	josev4 "github.com/go-jose/go-jose/v4"
	josejwt "github.com/go-jose/go-jose/v4/jwt"
	gjwt "github.com/golang-jwt/jwt/v5"
	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jws"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"

	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
)

// The expectations every verifier in these tests is built with.
const (
	issuer   = "https://auth.example.com"
	audience = "orders"
	leeway   = 30 * time.Second
)

// accessClaims is the claims set of a realistic access token, in a form
// every library's output can be converted to and compared.
type accessClaims struct {
	Issuer    string
	Subject   string
	Audience  []string
	ExpiresAt int64 // Unix seconds
	NotBefore int64
	IssuedAt  int64
	ID        string
	ClientID  string
	Scope     string
	Roles     []string
	Tenant    string // custom claim "tenant"
	MFA       bool   // custom claim "mfa"
}

// customClaims are the claims beyond the registered and access-token ones.
type customClaims struct {
	Tenant string `json:"tenant,omitempty"`
	MFA    bool   `json:"mfa,omitempty"`
}

// newAccessClaims returns a fresh claims set valid for the next 15 minutes.
func newAccessClaims(tb testing.TB) accessClaims {
	tb.Helper()
	now := time.Now().Unix()
	jti := make([]byte, 16)
	rand.Read(jti)
	return accessClaims{
		Issuer:    issuer,
		Subject:   "user-4f1c9a2e",
		Audience:  []string{audience},
		ExpiresAt: now + 15*60,
		NotBefore: now,
		IssuedAt:  now,
		ID:        hex.EncodeToString(jti),
		ClientID:  "orders-web",
		Scope:     "orders:read orders:write billing:read",
		Roles:     []string{"admin", "support"},
		Tenant:    "acme-corp",
		MFA:       true,
	}
}

// fixture is one algorithm's key material, as latch keys and as the raw
// crypto values the peers take.
type fixture struct {
	alg     jose.Algorithm
	signer  *jose.Key    // latch private key or secret
	trusted *jose.KeySet // latch verification keys: the public half, or the secret
	priv    any          // []byte, *rsa.PrivateKey, *ecdsa.PrivateKey or ed25519.PrivateKey
	pub     any          // []byte, *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey
}

// rsaKey is shared by the RS* and PS* fixtures: generating 2048-bit keys
// dominates the run time otherwise.
var rsaKey = sync.OnceValues(func() (*rsa.PrivateKey, error) {
	return rsa.GenerateKey(rand.Reader, 2048)
})

func newFixture(tb testing.TB, alg jose.Algorithm) *fixture {
	tb.Helper()
	f := &fixture{alg: alg}
	var err error
	switch alg {
	case jose.HS256, jose.HS384, jose.HS512:
		secret := make([]byte, map[jose.Algorithm]int{jose.HS256: 32, jose.HS384: 48, jose.HS512: 64}[alg])
		rand.Read(secret)
		f.priv, f.pub = secret, secret
		f.signer, err = jose.NewHMACKey(alg, secret)
	case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
		priv, gerr := rsaKey()
		if gerr != nil {
			tb.Fatalf("rsa.GenerateKey: %v", gerr)
		}
		f.priv, f.pub = priv, &priv.PublicKey
		f.signer, err = jose.NewRSAPrivateKey(alg, priv)
	case jose.ES256, jose.ES384, jose.ES512:
		curve := map[jose.Algorithm]elliptic.Curve{jose.ES256: elliptic.P256(), jose.ES384: elliptic.P384(), jose.ES512: elliptic.P521()}[alg]
		priv, gerr := ecdsa.GenerateKey(curve, rand.Reader)
		if gerr != nil {
			tb.Fatalf("ecdsa.GenerateKey: %v", gerr)
		}
		f.priv, f.pub = priv, &priv.PublicKey
		f.signer, err = jose.NewECDSAPrivateKey(priv)
	case jose.EdDSA:
		pub, priv, gerr := ed25519.GenerateKey(rand.Reader)
		if gerr != nil {
			tb.Fatalf("ed25519.GenerateKey: %v", gerr)
		}
		f.priv, f.pub = priv, pub
		f.signer, err = jose.NewEd25519PrivateKey(priv)
	default:
		tb.Fatalf("no fixture for %s", alg)
	}
	if err != nil {
		tb.Fatalf("latch key for %s: %v", alg, err)
	}
	verifyKey := f.signer
	if !f.signer.IsSymmetric() {
		if verifyKey, err = f.signer.Public(); err != nil {
			tb.Fatalf("%v.Public(): %v", f.signer, err)
		}
	}
	if f.trusted, err = jose.NewKeySet(verifyKey); err != nil {
		tb.Fatalf("jose.NewKeySet: %v", err)
	}
	return f
}

// validator is how a resource server running latch checks access tokens.
func (f *fixture) validator(tb testing.TB) *jwt.Validator {
	tb.Helper()
	v, err := jwt.NewValidator(f.trusted, issuer, audience, jwt.ValidatorOptions{Type: jwt.TypeAccessToken, Leeway: leeway})
	if err != nil {
		tb.Fatalf("jwt.NewValidator: %v", err)
	}
	return v
}

// latchSign issues c as an access token with latch.
func latchSign(key *jose.Key, c accessClaims) (string, error) {
	return jwt.Sign(key, &jwt.Claims{
		Issuer:    c.Issuer,
		Subject:   c.Subject,
		Audience:  c.Audience,
		ExpiresAt: fromUnix(c.ExpiresAt),
		NotBefore: fromUnix(c.NotBefore),
		IssuedAt:  fromUnix(c.IssuedAt),
		ID:        c.ID,
		ClientID:  c.ClientID,
		Scope:     c.Scope,
		Roles:     c.Roles,
		Extra:     customClaims{Tenant: c.Tenant, MFA: c.MFA},
	}, jose.SignOptions{Type: jwt.TypeAccessToken})
}

// latchParse verifies token with v and reads every claim, the custom ones
// through Claims.Decode.
func latchParse(v *jwt.Validator, token string) (accessClaims, error) {
	c, err := v.Parse(token)
	if err != nil {
		return accessClaims{}, err
	}
	var custom customClaims
	if err := c.Decode(&custom); err != nil {
		return accessClaims{}, err
	}
	return accessClaims{
		Issuer:    c.Issuer,
		Subject:   c.Subject,
		Audience:  c.Audience,
		ExpiresAt: unix(c.ExpiresAt),
		NotBefore: unix(c.NotBefore),
		IssuedAt:  unix(c.IssuedAt),
		ID:        c.ID,
		ClientID:  c.ClientID,
		Scope:     c.Scope,
		Roles:     c.Roles,
		Tenant:    custom.Tenant,
		MFA:       custom.MFA,
	}, nil
}

// fromUnix is time.Unix with 0 meaning "absent".
func fromUnix(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0)
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

// peer is a JWT library reduced to the two operations the tests need.
// key is a raw crypto key, or the library's own JWK type; kid, when not
// empty, goes into the header.
type peer struct {
	name   string
	sign   func(alg jose.Algorithm, key any, kid string, c accessClaims) (string, error)
	verify func(alg jose.Algorithm, key any, token string) (accessClaims, error)
}

var peers = []peer{
	{"golang-jwt", golangJWTSign, golangJWTVerify},
	{"jwx", jwxSign, jwxVerify},
	{"go-jose", goJoseSign, goJoseVerify},
}

// golangJWTClaims is the claims struct golang-jwt users write.
type golangJWTClaims struct {
	gjwt.RegisteredClaims
	ClientID string   `json:"client_id,omitempty"`
	Scope    string   `json:"scope,omitempty"`
	Roles    []string `json:"roles,omitempty"`
	Tenant   string   `json:"tenant,omitempty"`
	MFA      bool     `json:"mfa,omitempty"`
}

func golangJWTSign(alg jose.Algorithm, key any, kid string, c accessClaims) (string, error) {
	tok := gjwt.NewWithClaims(gjwt.GetSigningMethod(string(alg)), golangJWTClaims{
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
		Tenant:   c.Tenant,
		MFA:      c.MFA,
	})
	tok.Header["typ"] = jwt.TypeAccessToken
	if kid != "" {
		tok.Header["kid"] = kid
	}
	return tok.SignedString(key)
}

// golangJWTParser is golang-jwt at its strictest: one algorithm, issuer,
// audience, exp required.
func golangJWTParser(alg jose.Algorithm) *gjwt.Parser {
	return gjwt.NewParser(
		gjwt.WithValidMethods([]string{string(alg)}),
		gjwt.WithIssuer(issuer),
		gjwt.WithAudience(audience),
		gjwt.WithExpirationRequired(),
		gjwt.WithIssuedAt(),
		gjwt.WithLeeway(leeway),
	)
}

func golangJWTVerify(alg jose.Algorithm, key any, token string) (accessClaims, error) {
	var c golangJWTClaims
	if _, err := golangJWTParser(alg).ParseWithClaims(token, &c, func(*gjwt.Token) (any, error) { return key, nil }); err != nil {
		return accessClaims{}, err
	}
	date := func(d *gjwt.NumericDate) int64 {
		if d == nil {
			return 0
		}
		return d.Unix()
	}
	return accessClaims{
		Issuer:    c.Issuer,
		Subject:   c.Subject,
		Audience:  c.Audience,
		ExpiresAt: date(c.ExpiresAt),
		NotBefore: date(c.NotBefore),
		IssuedAt:  date(c.IssuedAt),
		ID:        c.ID,
		ClientID:  c.ClientID,
		Scope:     c.Scope,
		Roles:     c.Roles,
		Tenant:    c.Tenant,
		MFA:       c.MFA,
	}, nil
}

func jwxAlg(alg jose.Algorithm) jwa.SignatureAlgorithm {
	a, ok := jwa.LookupSignatureAlgorithm(string(alg))
	if !ok {
		panic("jwx does not know " + alg)
	}
	return a
}

func jwxSign(alg jose.Algorithm, key any, kid string, c accessClaims) (string, error) {
	tok, err := jwxjwt.NewBuilder().
		Issuer(c.Issuer).
		Subject(c.Subject).
		Audience(c.Audience).
		Expiration(time.Unix(c.ExpiresAt, 0)).
		NotBefore(time.Unix(c.NotBefore, 0)).
		IssuedAt(time.Unix(c.IssuedAt, 0)).
		JwtID(c.ID).
		Claim("client_id", c.ClientID).
		Claim("scope", c.Scope).
		Claim("roles", c.Roles).
		Claim("tenant", c.Tenant).
		Claim("mfa", c.MFA).
		Build()
	if err != nil {
		return "", err
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.TypeKey, jwt.TypeAccessToken); err != nil {
		return "", err
	}
	if kid != "" {
		if err := hdr.Set(jws.KeyIDKey, kid); err != nil {
			return "", err
		}
	}
	out, err := jwxjwt.Sign(tok, jwxjwt.WithKey(jwxAlg(alg), key, jws.WithProtectedHeaders(hdr)))
	return string(out), err
}

func jwxVerify(alg jose.Algorithm, key any, token string) (accessClaims, error) {
	tok, err := jwxjwt.Parse([]byte(token),
		jwxjwt.WithKey(jwxAlg(alg), key),
		jwxjwt.WithValidate(true),
		jwxjwt.WithIssuer(issuer),
		jwxjwt.WithAudience(audience),
		jwxjwt.WithRequiredClaim(jwxjwt.ExpirationKey),
		jwxjwt.WithAcceptableSkew(leeway),
	)
	if err != nil {
		return accessClaims{}, err
	}
	return jwxClaims(tok)
}

// jwxClaims reads a parsed jwx token. Private claims arrive as the
// encoding/json types, so "roles" is a []any.
func jwxClaims(tok jwxjwt.Token) (accessClaims, error) {
	var c accessClaims
	c.Issuer, _ = tok.Issuer()
	c.Subject, _ = tok.Subject()
	c.Audience, _ = tok.Audience()
	c.ID, _ = tok.JwtID()
	for _, d := range []struct {
		get func() (time.Time, bool)
		dst *int64
	}{{tok.Expiration, &c.ExpiresAt}, {tok.NotBefore, &c.NotBefore}, {tok.IssuedAt, &c.IssuedAt}} {
		if t, ok := d.get(); ok {
			*d.dst = t.Unix()
		}
	}
	if err := tok.Get("client_id", &c.ClientID); err != nil {
		return accessClaims{}, fmt.Errorf("jwx client_id: %w", err)
	}
	if err := tok.Get("scope", &c.Scope); err != nil {
		return accessClaims{}, fmt.Errorf("jwx scope: %w", err)
	}
	var roles []any
	if err := tok.Get("roles", &roles); err != nil {
		return accessClaims{}, fmt.Errorf("jwx roles: %w", err)
	}
	for _, r := range roles {
		s, ok := r.(string)
		if !ok {
			return accessClaims{}, fmt.Errorf("jwx roles: %T in array", r)
		}
		c.Roles = append(c.Roles, s)
	}
	if err := tok.Get("tenant", &c.Tenant); err != nil {
		return accessClaims{}, fmt.Errorf("jwx tenant: %w", err)
	}
	if err := tok.Get("mfa", &c.MFA); err != nil {
		return accessClaims{}, fmt.Errorf("jwx mfa: %w", err)
	}
	return c, nil
}

// goJoseClaims is the claims struct go-jose users write: one struct, so
// the payload is unmarshalled once.
type goJoseClaims struct {
	josejwt.Claims
	ClientID string   `json:"client_id,omitempty"`
	Scope    string   `json:"scope,omitempty"`
	Roles    []string `json:"roles,omitempty"`
	Tenant   string   `json:"tenant,omitempty"`
	MFA      bool     `json:"mfa,omitempty"`
}

func goJoseSign(alg jose.Algorithm, key any, kid string, c accessClaims) (string, error) {
	opts := (&josev4.SignerOptions{}).WithType(jwt.TypeAccessToken)
	if k, ok := key.(josev4.JSONWebKey); ok && kid == "" {
		// go-jose takes "kid" from a JWK's public half, and an "oct" key
		// has none: name it explicitly.
		kid = k.KeyID
	}
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	signer, err := josev4.NewSigner(josev4.SigningKey{Algorithm: josev4.SignatureAlgorithm(alg), Key: key}, opts)
	if err != nil {
		return "", err
	}
	return josejwt.Signed(signer).Claims(goJoseClaims{
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
		Tenant:   c.Tenant,
		MFA:      c.MFA,
	}).Serialize()
}

// errNoExpiry is go-jose's missing piece: Validate checks "exp" only when
// present, so the callers below require it themselves.
var errNoExpiry = errors.New("go-jose: token has no exp")

func goJoseVerify(alg jose.Algorithm, key any, token string) (accessClaims, error) {
	tok, err := josejwt.ParseSigned(token, []josev4.SignatureAlgorithm{josev4.SignatureAlgorithm(alg)})
	if err != nil {
		return accessClaims{}, err
	}
	var c goJoseClaims
	if err := tok.Claims(key, &c); err != nil {
		return accessClaims{}, err
	}
	if err := c.ValidateWithLeeway(josejwt.Expected{Issuer: issuer, AnyAudience: josejwt.Audience{audience}, Time: time.Now()}, leeway); err != nil {
		return accessClaims{}, err
	}
	if c.Expiry == nil {
		return accessClaims{}, errNoExpiry
	}
	date := func(d *josejwt.NumericDate) int64 {
		if d == nil {
			return 0
		}
		return d.Time().Unix()
	}
	return accessClaims{
		Issuer:    c.Issuer,
		Subject:   c.Subject,
		Audience:  c.Audience,
		ExpiresAt: date(c.Expiry),
		NotBefore: date(c.NotBefore),
		IssuedAt:  date(c.IssuedAt),
		ID:        c.ID,
		ClientID:  c.ClientID,
		Scope:     c.Scope,
		Roles:     c.Roles,
		Tenant:    c.Tenant,
		MFA:       c.MFA,
	}, nil
}

func TestLatchTokensVerifyInPeers(t *testing.T) {
	for _, alg := range jose.Algorithms() {
		f := newFixture(t, alg)
		for _, p := range peers {
			t.Run(string(alg)+"/"+p.name, func(t *testing.T) {
				want := newAccessClaims(t)
				token, err := latchSign(f.signer, want)
				if err != nil {
					t.Fatalf("jwt.Sign(%v) error: %v", f.signer, err)
				}
				got, err := p.verify(alg, f.pub, token)
				if err != nil {
					t.Fatalf("%s verify(latch %s token) error: %v\ntoken: %s", p.name, alg, err, token)
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%s verify(latch %s token) = %+v, want %+v", p.name, alg, got, want)
				}
			})
		}
	}
}

func TestPeerTokensVerifyInLatch(t *testing.T) {
	for _, alg := range jose.Algorithms() {
		f := newFixture(t, alg)
		v := f.validator(t)
		for _, p := range peers {
			for _, kid := range []string{f.signer.KeyID(), ""} {
				name := string(alg) + "/" + p.name + "/kid"
				if kid == "" {
					name = string(alg) + "/" + p.name + "/no-kid"
				}
				t.Run(name, func(t *testing.T) {
					want := newAccessClaims(t)
					token, err := p.sign(alg, f.priv, kid, want)
					if err != nil {
						t.Fatalf("%s sign(%s) error: %v", p.name, alg, err)
					}
					got, err := latchParse(v, token)
					if err != nil {
						t.Fatalf("Validator.Parse(%s %s token) error: %v\ntoken: %s", p.name, alg, err, token)
					}
					if !reflect.DeepEqual(got, want) {
						t.Errorf("Validator.Parse(%s %s token) = %+v, want %+v", p.name, alg, got, want)
					}
				})
			}
		}
	}
}

// TestPeerUnsecuredTokenRejected: golang-jwt will produce an "alg": "none"
// token when asked to; latch has no way to accept one.
func TestPeerUnsecuredTokenRejected(t *testing.T) {
	for _, alg := range []jose.Algorithm{jose.HS256, jose.RS256, jose.ES256, jose.EdDSA} {
		f := newFixture(t, alg)
		v := f.validator(t)
		for _, kid := range []string{f.signer.KeyID(), ""} {
			t.Run(fmt.Sprintf("%s/kid=%t", alg, kid != ""), func(t *testing.T) {
				c := newAccessClaims(t)
				tok := gjwt.NewWithClaims(gjwt.SigningMethodNone, gjwt.MapClaims{
					"iss": c.Issuer, "sub": c.Subject, "aud": c.Audience, "exp": c.ExpiresAt, "iat": c.IssuedAt,
					"scope": c.Scope, "roles": c.Roles,
				})
				tok.Header["typ"] = jwt.TypeAccessToken
				if kid != "" {
					tok.Header["kid"] = kid
				}
				token, err := tok.SignedString(gjwt.UnsafeAllowNoneSignatureType)
				if err != nil {
					t.Fatalf("golang-jwt none token: %v", err)
				}
				got, err := v.Parse(token)
				if !errors.Is(err, jwt.ErrUnsupported) || !errors.Is(err, jose.ErrUnsupportedAlgorithm) {
					t.Errorf("Validator.Parse(%q) = %+v, %v, want error matching jwt.ErrUnsupported", token, got, err)
				}
			})
		}
	}
}

// TestPeerKeyConfusionRejected: the classic RS256 -> HS256 downgrade, an
// HMAC over the token keyed with the RSA public key's bytes, is refused
// because the trusted key is pinned to RS256.
func TestPeerKeyConfusionRejected(t *testing.T) {
	f := newFixture(t, jose.RS256)
	v := f.validator(t)
	pubDER := f.pub.(*rsa.PublicKey).N.Bytes()
	for _, kid := range []string{f.signer.KeyID(), ""} {
		t.Run(fmt.Sprintf("kid=%t", kid != ""), func(t *testing.T) {
			token, err := golangJWTSign(jose.HS256, pubDER, kid, newAccessClaims(t))
			if err != nil {
				t.Fatalf("golang-jwt HS256 token: %v", err)
			}
			got, err := v.Parse(token)
			if !errors.Is(err, jwt.ErrAlgorithmMismatch) {
				t.Errorf("Validator.Parse(HS256 token keyed with RSA modulus) = %+v, %v, want error matching jwt.ErrAlgorithmMismatch", got, err)
			}
		})
	}
}

// TestPeersAreStrict shows that the peer configurations used above and in
// the benchmarks do full validation: each refuses a latch token with the
// wrong issuer, the wrong audience, no "exp", an "exp" in the past, or an
// algorithm other than the one it expects.
func TestPeersAreStrict(t *testing.T) {
	for _, alg := range []jose.Algorithm{jose.HS256, jose.ES256} {
		f := newFixture(t, alg)
		other := map[jose.Algorithm]jose.Algorithm{jose.HS256: jose.HS384, jose.ES256: jose.ES384}[alg]
		tests := []struct {
			name   string
			mutate func(*accessClaims)
			expect jose.Algorithm
		}{
			{name: "wrong issuer", mutate: func(c *accessClaims) { c.Issuer = "https://evil.example.com" }, expect: alg},
			{name: "wrong audience", mutate: func(c *accessClaims) { c.Audience = []string{"billing"} }, expect: alg},
			{name: "no exp", mutate: func(c *accessClaims) { c.ExpiresAt = 0 }, expect: alg},
			{name: "expired", mutate: func(c *accessClaims) { c.ExpiresAt = time.Now().Add(-time.Hour).Unix() }, expect: alg},
			{name: "unexpected alg", mutate: func(*accessClaims) {}, expect: other},
		}
		for _, tt := range tests {
			for _, p := range peers {
				t.Run(string(alg)+"/"+tt.name+"/"+p.name, func(t *testing.T) {
					c := newAccessClaims(t)
					tt.mutate(&c)
					token, err := latchSign(f.signer, c)
					if err != nil {
						t.Fatalf("jwt.Sign(%v) error: %v", f.signer, err)
					}
					if got, err := p.verify(tt.expect, f.pub, token); err == nil {
						t.Errorf("%s verify(%s, expecting %s) = %+v, want error", p.name, tt.name, tt.expect, got)
					}
					if tt.expect != alg {
						return
					}
					if got, err := latchParse(f.validator(t), token); err == nil {
						t.Errorf("Validator.Parse(%s) = %+v, want error", tt.name, got)
					}
				})
			}
		}
	}
}
