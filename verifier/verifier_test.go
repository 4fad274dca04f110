package verifier_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/latch-auth/latch/internal/memnet"
	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/verifier"
)

// failingTransport fails every request: a Verifier on static keys must
// never use the network.
type failingTransport struct{ t *testing.T }

func (f failingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("unexpected request to %s", r.URL)
	return nil, errors.New("no network in this test")
}

func TestNewValidatesConfig(t *testing.T) {
	key := newKey(t, jose.ES256, "k1")
	keys := keySet(t, key)
	srv := newJWKSServer(t, key)
	tests := []struct {
		name    string
		issuers []verifier.Issuer
		wantErr string // substring of the error; "" means New succeeds
	}{
		{name: "no issuers", issuers: nil, wantErr: "at least one issuer"},
		{name: "missing issuer", issuers: []verifier.Issuer{{Audience: audOrders, Keys: keys}}, wantErr: "needs Issuer and Audience"},
		{name: "missing audience", issuers: []verifier.Issuer{{Issuer: issuerA, Keys: keys}}, wantErr: "needs Issuer and Audience"},
		{name: "neither URL nor keys", issuers: []verifier.Issuer{{Issuer: issuerA, Audience: audOrders}}, wantErr: "exactly one of JWKSURL and Keys"},
		{name: "both URL and keys", issuers: []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keys, JWKSURL: srv.URL}}, wantErr: "exactly one of JWKSURL and Keys"},
		{name: "issuer twice", issuers: []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keys}, {Issuer: issuerA, Audience: audBill, Keys: keys}}, wantErr: "configured twice"},
		{name: "static keys", issuers: []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keys}}},
		{name: "JWKS URL", issuers: []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, JWKSURL: srv.URL}}},
		{name: "two issuers", issuers: []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, JWKSURL: srv.URL}, {Issuer: issuerB, Audience: audOrders, Keys: keys}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := verifier.New(t.Context(), verifier.Config{Issuers: tt.issuers})
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New() error = %v, want nil", err)
				}
				v.Close()
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New() error = %v, want one containing %q", err, tt.wantErr)
			}
			if v != nil {
				t.Errorf("New() = %v with an error, want nil", v)
			}
			if !strings.HasPrefix(err.Error(), "verifier: ") {
				t.Errorf("New() error %q lacks the package prefix", err)
			}
		})
	}
}

// TestNewFailsFastWithoutJWKS: a service that cannot reach its issuer at
// start should not come up and refuse every request. It runs on a
// synctest bubble's clock: New gives up at once, or after FetchTimeout.
func TestNewFailsFastWithoutJWKS(t *testing.T) {
	tests := []struct {
		name  string
		setup func(s *jwksServer) // makes the issuer's JWKS server fail
		url   string              // instead of the server's
		wait  time.Duration       // how long New takes
	}{
		{name: "500", setup: func(s *jwksServer) { s.fail(http.StatusInternalServerError) }},
		{name: "timeout", setup: func(s *jwksServer) { s.slow(5 * time.Second) }, wait: 100 * time.Millisecond},
		{name: "connection refused", setup: func(s *jwksServer) { s.Close() }},
		{name: "not a JWKS", setup: func(s *jwksServer) {
			s.mu.Lock()
			s.body = []byte(`{"keys": 7}`)
			s.mu.Unlock()
		}},
		{name: "bad URL", url: "http://[::1]:namedport"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := memnet.New()
				srv := newJWKSServerOn(t, n, "auth-a.test", newKey(t, jose.ES256, "k1"))
				url := srv.URL
				if tt.setup != nil {
					tt.setup(srv)
				}
				if tt.url != "" {
					url = tt.url
				}
				start := time.Now()
				v, err := verifier.New(t.Context(), verifier.Config{
					Issuers:      []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, JWKSURL: url}},
					HTTPClient:   n.Client(),
					FetchTimeout: 100 * time.Millisecond,
				})
				if err == nil {
					v.Close()
					t.Fatal("New() error = nil, want the fetch failure")
				}
				if !strings.Contains(err.Error(), issuerA) {
					t.Errorf("New() error = %q, want it to name the issuer", err)
				}
				if d := time.Since(start); d != tt.wait {
					t.Errorf("New() took %v, want %v (FetchTimeout is 100ms)", d, tt.wait)
				}
			})
		})
	}
}

func TestStaticKeysNeedNoNetwork(t *testing.T) {
	key := newKey(t, jose.EdDSA, "k1")
	v := newVerifier(t, verifier.Config{
		Issuers:    []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keySet(t, key)}},
		HTTPClient: &http.Client{Transport: failingTransport{t}},
	})
	if _, err := v.Verify(t.Context(), mint(t, key, claimsAt(time.Now()))); err != nil {
		t.Errorf("Verify(valid) = %v, want nil", err)
	}
	// An unknown key ID cannot be fetched from anywhere.
	other := newKey(t, jose.EdDSA, "k2")
	if _, err := v.Verify(t.Context(), mint(t, other, claimsAt(time.Now()))); !errors.Is(err, jwt.ErrUnknownKey) {
		t.Errorf("Verify(unknown kid) = %v, want ErrUnknownKey", err)
	}
}

// encodeSegments builds a compact JWS from raw JSON header and payload and a
// signature, for tokens jwt.Sign refuses to make.
func encodeSegments(header, payload string, sig []byte) string {
	e := base64.RawURLEncoding
	return e.EncodeToString([]byte(header)) + "." + e.EncodeToString([]byte(payload)) + "." + e.EncodeToString(sig)
}

// flip replaces the byte at i of tok by another base64url character.
func flip(tok string, i int) string {
	c := byte('A')
	if tok[i] == 'A' {
		c = 'B'
	}
	return tok[:i] + string(c) + tok[i+1:]
}

func TestVerify(t *testing.T) {
	clk := newClock()
	now := clk.Now()
	key := newKey(t, jose.ES256, "k1")
	hmacKey := newKey(t, jose.HS256, "k1") // same kid, other algorithm
	srv := newJWKSServer(t, key)
	v := newVerifier(t, verifier.Config{
		Issuers: []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, JWKSURL: srv.URL}},
		Now:     clk.Now,
	})
	valid := mint(t, key, claimsAt(now))
	with := func(f func(*jwt.Claims)) string {
		c := claimsAt(now)
		f(&c)
		return mint(t, key, c)
	}
	_, payload, _ := strings.Cut(valid, ".")
	payload, _, _ = strings.Cut(payload, ".")

	tests := []struct {
		name    string
		token   string
		wantErr error
	}{
		{name: "valid", token: valid},
		{name: "valid within leeway after exp", token: with(func(c *jwt.Claims) { c.ExpiresAt = now.Add(-10 * time.Second) })},
		{name: "expired", token: with(func(c *jwt.Claims) { c.ExpiresAt = now.Add(-time.Hour) }), wantErr: jwt.ErrExpired},
		{name: "not yet valid", token: with(func(c *jwt.Claims) { c.NotBefore = now.Add(time.Hour) }), wantErr: jwt.ErrNotYetValid},
		{name: "issued in the future", token: with(func(c *jwt.Claims) { c.IssuedAt = now.Add(time.Hour) }), wantErr: jwt.ErrIssuedInFuture},
		{name: "no exp", token: with(func(c *jwt.Claims) { c.ExpiresAt = time.Time{} }), wantErr: jwt.ErrMissingClaim},
		{name: "wrong audience", token: with(func(c *jwt.Claims) { c.Audience = jwt.Audience{audBill} }), wantErr: jwt.ErrAudience},
		{name: "no audience", token: with(func(c *jwt.Claims) { c.Audience = nil }), wantErr: jwt.ErrAudience},
		{name: "one of several audiences", token: with(func(c *jwt.Claims) { c.Audience = jwt.Audience{audBill, audOrders} })},
		{name: "wrong issuer", token: with(func(c *jwt.Claims) { c.Issuer = issuerB }), wantErr: jwt.ErrIssuer},
		{name: "wrong typ", token: mintOpts(t, key, claimsAt(now), jose.SignOptions{Type: "JWT"}), wantErr: jwt.ErrType},
		{name: "no typ", token: mintOpts(t, key, claimsAt(now), jose.SignOptions{}), wantErr: jwt.ErrType},
		{name: "typ with application/ prefix", token: mintOpts(t, key, claimsAt(now), jose.SignOptions{Type: "application/AT+JWT"})},
		{name: "tampered payload", token: flip(valid, strings.IndexByte(valid, '.')+5), wantErr: jwt.ErrSignature},
		{name: "tampered signature", token: flip(valid, len(valid)-10), wantErr: jwt.ErrSignature},
		{name: "alg none", token: encodeSegments(`{"alg":"none","kid":"k1","typ":"at+jwt"}`, `{"iss":"`+issuerA+`"}`, nil), wantErr: jwt.ErrUnsupported},
		{name: "alg NONE without kid", token: encodeSegments(`{"alg":"NONE","typ":"at+jwt"}`, `{"iss":"`+issuerA+`"}`, nil), wantErr: jwt.ErrUnsupported},
		{name: "alg none with valid payload", token: strings.TrimSuffix(encodeSegments(`{"alg":"none","typ":"at+jwt"}`, "", nil), ".") + payload + ".", wantErr: jwt.ErrUnsupported},
		{name: "HS256 with the kid of an ES256 key", token: mint(t, hmacKey, claimsAt(now)), wantErr: jwt.ErrAlgorithmMismatch},
		{name: "unknown kid", token: mint(t, newKey(t, jose.ES256, "k9"), claimsAt(now)), wantErr: jwt.ErrUnknownKey},
		{name: "own key under a trusted kid", token: mint(t, newKey(t, jose.ES256, "k1"), claimsAt(now)), wantErr: jwt.ErrSignature},
		{name: "not a JWS", token: "not-a-token", wantErr: jwt.ErrMalformed},
		{name: "empty", token: "", wantErr: jwt.ErrMalformed},
		{name: "JWE shape, no decryption keys", token: valid + ".x.y", wantErr: jwt.ErrEncrypted},
		{name: "too large", token: strings.Repeat("a", jose.DefaultMaxTokenSize+1), wantErr: jwt.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := v.Verify(t.Context(), tt.token)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify() error = %v, want nil", err)
				}
				if got.Subject != "u_1" || got.Issuer != issuerA || !got.HasScope("orders:read") {
					t.Errorf("Verify() = %+v, want the minted claims", got)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify() error = %v, want %v", err, tt.wantErr)
			}
			if got.Subject != "" || got.Issuer != "" || got.Audience != nil {
				t.Errorf("Verify() claims = %+v with an error, want zero", got)
			}
		})
	}
}

// TestVerifyAnyType: AnyType accepts tokens of any "typ", or none,
// whatever Type says; Type "-", its older spelling, too.
func TestVerifyAnyType(t *testing.T) {
	key := newKey(t, jose.EdDSA, "k1")
	issuers := []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keySet(t, key)}}
	tests := []struct {
		name string
		cfg  verifier.Config
	}{
		{name: "AnyType", cfg: verifier.Config{Issuers: issuers, AnyType: true}},
		{name: "AnyType ignores Type", cfg: verifier.Config{Issuers: issuers, AnyType: true, Type: "secevent+jwt"}},
		{name: `Type "-"`, cfg: verifier.Config{Issuers: issuers, Type: "-"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newVerifier(t, tt.cfg)
			for _, typ := range []string{"", "JWT", "at+jwt"} {
				tok := mintOpts(t, key, claimsAt(time.Now()), jose.SignOptions{Type: typ})
				if _, err := v.Verify(t.Context(), tok); err != nil {
					t.Errorf("Verify(typ %q) = %v, want nil", typ, err)
				}
			}
		})
	}
}

// TestCloseZero: closing a zero Verifier, or a Verifier twice, does
// nothing.
func TestCloseZero(t *testing.T) {
	var zero verifier.Verifier
	zero.Close()
	zero.Close()

	v := newVerifier(t, verifier.Config{
		Issuers: []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keySet(t, newKey(t, jose.EdDSA, "k1"))}},
	})
	v.Close()
	v.Close()
}

// TestVerifyIssuers: with several issuers, each token is checked against
// the keys and audience of the issuer it names, and only that one.
func TestVerifyIssuers(t *testing.T) {
	now := time.Now()
	keyA := newKey(t, jose.ES256, "a1")
	keyB := newKey(t, jose.ES256, "b1")
	srvA := newJWKSServer(t, keyA)
	srvB := newJWKSServer(t, keyB)
	both := newVerifier(t, verifier.Config{Issuers: []verifier.Issuer{
		{Issuer: issuerA, Audience: audOrders, JWKSURL: srvA.URL},
		{Issuer: issuerB, Audience: audBill, JWKSURL: srvB.URL},
	}})
	onlyB := newVerifier(t, verifier.Config{Issuers: []verifier.Issuer{
		{Issuer: issuerB, Audience: audBill, JWKSURL: srvB.URL},
	}})
	claims := func(iss, aud string) jwt.Claims {
		c := claimsAt(now)
		c.Issuer, c.Audience = iss, jwt.Audience{aud}
		return c
	}

	tests := []struct {
		name    string
		v       *verifier.Verifier
		token   string
		wantIss string
		wantErr error
	}{
		{name: "A for A's audience", v: both, token: mint(t, keyA, claims(issuerA, audOrders)), wantIss: issuerA},
		{name: "B for B's audience", v: both, token: mint(t, keyB, claims(issuerB, audBill)), wantIss: issuerB},
		{name: "A for B's audience", v: both, token: mint(t, keyA, claims(issuerA, audBill)), wantErr: jwt.ErrAudience},
		{name: "B for A's audience", v: both, token: mint(t, keyB, claims(issuerB, audOrders)), wantErr: jwt.ErrAudience},
		{name: "unknown issuer", v: both, token: mint(t, keyA, claims("https://evil.example", audOrders)), wantErr: verifier.ErrUnknownIssuer},
		{name: "no iss", v: both, token: mint(t, keyA, claims("", audOrders)), wantErr: verifier.ErrUnknownIssuer},
		{name: "A's token where only B is configured", v: onlyB, token: mint(t, keyA, claims(issuerA, audOrders)), wantErr: verifier.ErrUnknownIssuer},
		{name: "A's token for B's audience where only B is configured", v: onlyB, token: mint(t, keyA, claims(issuerA, audBill)), wantErr: verifier.ErrUnknownIssuer},
		{name: "claims B, signed by A's key", v: both, token: mint(t, keyA, claims(issuerB, audBill)), wantErr: jwt.ErrUnknownKey},
		{name: "claims B, signed by A's key under B's kid", v: both, token: mint(t, keyA.WithKeyID("b1"), claims(issuerB, audBill)), wantErr: jwt.ErrSignature},
		{name: "claims B, signed by A's key without kid", v: both, token: mintOpts(t, keyA, claims(issuerB, audBill), jose.SignOptions{Type: jwt.TypeAccessToken, OmitKeyID: true}), wantErr: jwt.ErrSignature},
		{name: "malformed payload", v: both, token: "eyJhbGciOiJFUzI1NiJ9.!!!.sig", wantErr: jwt.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.v.Verify(t.Context(), tt.token)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify() error = %v, want nil", err)
				}
				if got.Issuer != tt.wantIss {
					t.Errorf("Verify().Issuer = %q, want %q", got.Issuer, tt.wantIss)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify() error = %v, want %v", err, tt.wantErr)
			}
			if errors.Is(tt.wantErr, verifier.ErrUnknownIssuer) && !errors.Is(err, jwt.ErrIssuer) {
				t.Errorf("Verify() error = %v, want it to match jwt.ErrIssuer too", err)
			}
		})
	}
	// A token from a foreign issuer is no reason to refetch a JWKS: B's was
	// fetched once per verifier and once for the kid "a1" in a token that
	// claims to be B's.
	if n := srvB.count(); n != 3 {
		t.Errorf("issuer B's JWKS fetched %d times, want 3", n)
	}
}

// TestVerifyRespectsContext: the request's deadline, not FetchTimeout,
// bounds its wait for a slow JWKS (on a synctest bubble's clock).
func TestVerifyRespectsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		key := newKey(t, jose.ES256, "k1")
		n := memnet.New()
		srv := newJWKSServerOn(t, n, "auth-a.test", key)
		v := newVerifier(t, verifier.Config{
			Issuers:      []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, JWKSURL: srv.URL}},
			HTTPClient:   n.Client(),
			FetchTimeout: 10 * time.Second,
		})
		srv.slow(5 * time.Second)
		ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := v.Verify(ctx, mint(t, newKey(t, jose.ES256, "k2"), claimsAt(time.Now())))
		if !errors.Is(err, jwt.ErrUnknownKey) {
			t.Errorf("Verify(unknown kid, slow JWKS) = %v, want ErrUnknownKey", err)
		}
		if d := time.Since(start); d != 50*time.Millisecond {
			t.Errorf("Verify waited %v for a slow JWKS, want the request's 50ms deadline", d)
		}
	})
}
