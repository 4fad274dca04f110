package verifier_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/latch-auth/latch/internal/memnet"
	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/verifier"
)

// TestCacheHitChecksTime: a cached token is re-checked on every hit, so
// it stops verifying when it expires, whatever the cache holds.
func TestCacheHitChecksTime(t *testing.T) {
	tests := []struct {
		name    string
		leeway  time.Duration
		advance time.Duration // past exp
		wantErr error
	}{
		{name: "before exp", advance: -time.Second},
		{name: "within default leeway", advance: 10 * time.Second},
		{name: "past default leeway", advance: jwt.DefaultLeeway + time.Second, wantErr: jwt.ErrExpired},
		{name: "at exp without leeway", leeway: jwt.NoLeeway, advance: 0, wantErr: jwt.ErrExpired},
		{name: "long leeway", leeway: time.Hour, advance: 59 * time.Minute},
		{name: "past long leeway", leeway: time.Hour, advance: time.Hour, wantErr: jwt.ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			key := newKey(t, jose.ES256, "k1")
			v := newVerifier(t, verifier.Config{
				Issuers: []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keySet(t, key)}},
				Leeway:  tt.leeway,
				Now:     clk.Now,
			})
			c := claimsAt(clk.Now())
			tok := mint(t, key, c)
			if _, err := v.Verify(t.Context(), tok); err != nil {
				t.Fatalf("Verify() = %v, want nil", err)
			}
			if n := v.CacheLen(); n != 1 {
				t.Fatalf("cache holds %d tokens after one Verify, want 1", n)
			}
			clk.Advance(c.ExpiresAt.Sub(clk.Now()) + tt.advance)
			_, err := v.Verify(t.Context(), tok)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("Verify() %v after exp = %v, want %v", tt.advance, err, tt.wantErr)
			}
		})
	}
}

// TestCacheNotYetValid: a token cached while valid is refused if the clock
// goes back before its nbf (hit path re-checks nbf too).
func TestCacheNotYetValid(t *testing.T) {
	clk := newClock()
	key := newKey(t, jose.EdDSA, "k1")
	v := newVerifier(t, verifier.Config{
		Issuers: []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keySet(t, key)}},
		Now:     clk.Now,
	})
	tok := mint(t, key, claimsAt(clk.Now()))
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	clk.Advance(-time.Hour)
	if _, err := v.Verify(t.Context(), tok); !errors.Is(err, jwt.ErrNotYetValid) {
		t.Errorf("Verify(cached token, clock before nbf) = %v, want ErrNotYetValid", err)
	}
}

// TestCacheNeverMatchesAlteredToken: a token that differs from a cached one
// in any single byte is verified from scratch, and fails.
func TestCacheNeverMatchesAlteredToken(t *testing.T) {
	key := newKey(t, jose.ES256, "k1")
	v := newVerifier(t, verifier.Config{
		Issuers: []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keySet(t, key)}},
	})
	tok := mint(t, key, claimsAt(time.Now()))
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	for i := range len(tok) {
		if tok[i] == '.' {
			continue
		}
		altered := flip(tok, i)
		if c, err := v.Verify(t.Context(), altered); err == nil {
			t.Fatalf("Verify(token with byte %d changed) = %+v, nil; want an error", i, c)
		}
	}
	for _, altered := range []string{tok + "A", tok[:len(tok)-1], " " + tok} {
		if _, err := v.Verify(t.Context(), altered); err == nil {
			t.Errorf("Verify(%d-byte variant of a cached %d-byte token) = nil error, want an error", len(altered), len(tok))
		}
	}
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Errorf("Verify(original) after the variants = %v, want nil", err)
	}
	if n := v.CacheLen(); n != 1 {
		t.Errorf("cache holds %d tokens, want 1: no altered token may be cached", n)
	}
}

// TestCacheDropsRemovedKey: once a key leaves the JWKS, tokens it signed
// stop verifying, cached or not.
func TestCacheDropsRemovedKey(t *testing.T) {
	k1 := newKey(t, jose.ES256, "k1")
	k2 := newKey(t, jose.ES256, "k2")
	k3 := newKey(t, jose.ES256, "k3")
	srv := newJWKSServer(t, k1, k2)
	v := newVerifier(t, verifier.Config{
		Issuers: []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, JWKSURL: srv.URL}},
	})
	tok1 := mint(t, k1, claimsAt(time.Now()))
	tok2 := mint(t, k2, claimsAt(time.Now()))
	for _, tok := range []string{tok1, tok2} {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if n := v.CacheLen(); n != 2 {
		t.Fatalf("cache holds %d tokens, want 2", n)
	}

	// k1 is removed and k3 added; the first k3 token makes the verifier
	// refetch.
	srv.setKeys(t, k2, k3)
	if _, err := v.Verify(t.Context(), mint(t, k3, claimsAt(time.Now()))); err != nil {
		t.Fatalf("Verify(k3) = %v, want nil after the refetch", err)
	}
	if _, err := v.Verify(t.Context(), tok1); !errors.Is(err, jwt.ErrUnknownKey) {
		t.Errorf("Verify(cached token of removed key) = %v, want ErrUnknownKey", err)
	}
	if _, err := v.Verify(t.Context(), tok2); err != nil {
		t.Errorf("Verify(cached token of kept key) = %v, want nil", err)
	}
}

// TestCacheDropsRemovedKeyOnSchedule is TestCacheDropsRemovedKey with the
// background refresh doing the refetch. It runs on a synctest bubble's
// clock with the default MinCacheAge (1 min): the JWKS, sent without
// Cache-Control, is refreshed at 80% of it.
func TestCacheDropsRemovedKeyOnSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k1 := newKey(t, jose.ES256, "k1")
		k2 := newKey(t, jose.ES256, "k2")
		n := memnet.New()
		srv := newJWKSServerOn(t, n, "auth-a.test", k1, k2)
		v := newVerifier(t, verifier.Config{
			Issuers:    []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, JWKSURL: srv.URL}},
			HTTPClient: n.Client(),
		})
		tok1 := mint(t, k1, claimsAt(time.Now()))
		if _, err := v.Verify(t.Context(), tok1); err != nil {
			t.Fatal(err)
		}
		srv.setKeys(t, k2)
		time.Sleep(48*time.Second - time.Millisecond)
		synctest.Wait()
		if _, err := v.Verify(t.Context(), tok1); err != nil {
			t.Errorf("Verify(token of the removed key) before the refresh = %v, want nil from the cache", err)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if _, err := v.Verify(t.Context(), tok1); !errors.Is(err, jwt.ErrUnknownKey) {
			t.Errorf("Verify(token of the removed key) after the refresh = %v, want ErrUnknownKey", err)
		}
	})
}

// TestCacheBound: the cache never holds more than CacheSize tokens.
func TestCacheBound(t *testing.T) {
	key := newKey(t, jose.HS256, "k1")
	toks := mintN(t, key, claimsAt(time.Now()), 500)
	for _, size := range []int{1, 5, 16, 17, 100, 1000} {
		t.Run("", func(t *testing.T) {
			v := newVerifier(t, verifier.Config{
				Issuers:   []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keySet(t, key)}},
				CacheSize: size,
			})
			for _, tok := range toks {
				if _, err := v.Verify(t.Context(), tok); err != nil {
					t.Fatal(err)
				}
				if n := v.CacheLen(); n > size {
					t.Fatalf("CacheSize %d: cache holds %d tokens", size, n)
				}
			}
			if n := v.CacheLen(); n == 0 {
				t.Errorf("CacheSize %d: cache empty after %d tokens", size, len(toks))
			}
			// Every token still verifies, from the cache or not.
			for _, tok := range toks {
				if _, err := v.Verify(t.Context(), tok); err != nil {
					t.Fatalf("CacheSize %d: Verify() = %v", size, err)
				}
			}
		})
	}
}

// TestCacheDisabled: CacheSize -1 verifies every token from scratch.
func TestCacheDisabled(t *testing.T) {
	clk := newClock()
	key := newKey(t, jose.ES256, "k1")
	v := newVerifier(t, verifier.Config{
		Issuers:   []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keySet(t, key)}},
		CacheSize: -1,
		Now:       clk.Now,
	})
	tok := mint(t, key, claimsAt(clk.Now()))
	for range 3 {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatalf("Verify() without cache = %v, want nil", err)
		}
	}
	if n := v.CacheLen(); n != 0 {
		t.Errorf("disabled cache holds %d tokens", n)
	}
	clk.Advance(time.Hour)
	if _, err := v.Verify(t.Context(), tok); !errors.Is(err, jwt.ErrExpired) {
		t.Errorf("Verify(expired) without cache = %v, want ErrExpired", err)
	}
}

// TestCacheKeepsIssuersApart: a cached token of one issuer is not a hit
// for a verifier's other issuer, and one issuer's refresh leaves the other
// issuer's cached tokens alone.
func TestCacheKeepsIssuersApart(t *testing.T) {
	keyA := newKey(t, jose.ES256, "a1")
	keyB := newKey(t, jose.ES256, "b1")
	keyB2 := newKey(t, jose.ES256, "b2")
	srvA := newJWKSServer(t, keyA)
	srvB := newJWKSServer(t, keyB)
	v := newVerifier(t, verifier.Config{Issuers: []verifier.Issuer{
		{Issuer: issuerA, Audience: audOrders, JWKSURL: srvA.URL},
		{Issuer: issuerB, Audience: audOrders, JWKSURL: srvB.URL},
	}})
	cA := claimsAt(time.Now())
	cB := cA
	cB.Issuer = issuerB
	tokA, tokB := mint(t, keyA, cA), mint(t, keyB, cB)
	for _, tok := range []string{tokA, tokB} {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
	}
	// B rotates; a B2 token triggers B's refetch. A's cached token stays.
	srvB.setKeys(t, keyB, keyB2)
	if _, err := v.Verify(t.Context(), mint(t, keyB2, cB)); err != nil {
		t.Fatalf("Verify(B's new key) = %v", err)
	}
	if !v.CacheHas(tokA) {
		t.Errorf("issuer B's refresh dropped issuer A's cached token")
	}
	for _, tok := range []string{tokA, tokB} {
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Errorf("Verify() after B's rotation = %v, want nil", err)
		}
	}
}

func TestEqualTokens(t *testing.T) {
	base := strings.Repeat("abcdefgh", 50) + "xyz"
	for i := 0; i < len(base); i++ {
		b := []byte(base)
		b[i] ^= 0x01
		if verifier.EqualTokens(base, string(b)) {
			t.Fatalf("EqualTokens differs at byte %d = true, want false", i)
		}
		b[i] ^= 0x80 ^ 0x01
		if verifier.EqualTokens(base, string(b)) {
			t.Fatalf("EqualTokens differs in the high bit of byte %d = true, want false", i)
		}
	}
	for _, tt := range []struct {
		a, b string
		want bool
	}{{"", "", true}, {base, base, true}, {base, base[:len(base)-1], false}, {"a", "b", false}, {"abcdefgh", "abcdefgh", true}} {
		if got := verifier.EqualTokens(tt.a, tt.b); got != tt.want {
			t.Errorf("EqualTokens(%.10q, %.10q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// TestCacheRawIsImmutable: writing to what Claims.Raw returned changes
// neither those claims nor, through the cache, the claims a later request
// with the same token gets.
func TestCacheRawIsImmutable(t *testing.T) {
	key := newKey(t, jose.ES256, "k1")
	v := newVerifier(t, verifier.Config{
		Issuers: []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keySet(t, key)}},
	})
	want := claimsAt(time.Now())
	tok := mint(t, key, want)
	c, err := v.Verify(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	raw := c.Raw()
	orig := string(raw)
	for i := range raw {
		raw[i] = 'X'
	}
	if c.Issuer != want.Issuer || c.Subject != want.Subject {
		t.Errorf("after writing to Raw(): iss %q, sub %q; want %q, %q", c.Issuer, c.Subject, want.Issuer, want.Subject)
	}
	if !v.CacheHas(tok) {
		t.Fatal("token not cached")
	}
	again, err := v.Verify(t.Context(), tok)
	if err != nil {
		t.Fatalf("Verify(cached token) after a write to Raw() = %v", err)
	}
	if again.Issuer != want.Issuer || again.Subject != want.Subject || again.SessionID != want.SessionID || string(again.Raw()) != orig {
		t.Errorf("cache hit after a write to Raw() = iss %q, sub %q, sid %q, raw %q; want %q, %q, %q, %q",
			again.Issuer, again.Subject, again.SessionID, again.Raw(), want.Issuer, want.Subject, want.SessionID, orig)
	}
}

// TestCacheTokenWithoutKeyID: a token without "kid" (its key found by
// algorithm) is cached like any other, and like any other stops verifying
// once its key leaves the issuer's key set.
func TestCacheTokenWithoutKeyID(t *testing.T) {
	k1 := newKey(t, jose.ES256, "k1")
	k2 := newKey(t, jose.ES256, "k2")
	srv := newJWKSServer(t, k1)
	v := newVerifier(t, verifier.Config{
		Issuers: []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, JWKSURL: srv.URL}},
	})
	tok := mintOpts(t, k1, claimsAt(time.Now()), jose.SignOptions{Type: jwt.TypeAccessToken, OmitKeyID: true})
	want, err := v.Verify(t.Context(), tok)
	if err != nil {
		t.Fatalf("Verify(token without kid) = %v", err)
	}
	if !v.CacheHas(tok) {
		t.Fatal("a verified token without kid is not cached")
	}
	if got, err := v.Verify(t.Context(), tok); err != nil || got.ID != want.ID {
		t.Fatalf("Verify(cached token without kid) = %+v, %v", got, err)
	}

	// k1 leaves the JWKS; a k2 token makes the verifier refetch.
	srv.setKeys(t, k2)
	if _, err := v.Verify(t.Context(), mint(t, k2, claimsAt(time.Now()))); err != nil {
		t.Fatalf("Verify(k2 token) = %v, want nil after the refetch", err)
	}
	if _, err := v.Verify(t.Context(), tok); !errors.Is(err, jwt.ErrSignature) {
		t.Errorf("Verify(cached token without kid, its key removed) = %v, want %v", err, jwt.ErrSignature)
	}
}

// TestCacheKeepsTokensInUse: when the cache is full, a token that keeps
// being used stays cached while many more tokens pass through: tokens
// seen once are not admitted to a full cache at all, and tokens seen twice
// are admitted but evict entries not used recently (a used entry gets a
// second chance). The cache stays within its size.
func TestCacheKeepsTokensInUse(t *testing.T) {
	const size = 1600 // 100 per shard
	key := newKey(t, jose.HS256, "k1")
	c := claimsAt(time.Now())
	hot := mintN(t, key, c, 4)
	c.Subject = "flood"
	flood := mintN(t, key, c, 10*size)
	for _, uses := range []int{1, 2} {
		t.Run(fmt.Sprintf("flood tokens used %d times", uses), func(t *testing.T) {
			v := newVerifier(t, verifier.Config{
				Issuers:   []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keySet(t, key)}},
				CacheSize: size,
			})
			for _, tok := range hot {
				if _, err := v.Verify(t.Context(), tok); err != nil {
					t.Fatal(err)
				}
			}
			for i, tok := range flood {
				for range uses {
					if _, err := v.Verify(t.Context(), tok); err != nil {
						t.Fatal(err)
					}
				}
				if i%25 != 24 {
					continue
				}
				for _, h := range hot {
					if !v.CacheHas(h) {
						t.Fatalf("a token in use was evicted after %d new tokens", i+1)
					}
				}
			}
			cached := 0
			for _, tok := range flood[len(flood)-size/2:] {
				if v.CacheHas(tok) {
					cached++
				}
			}
			switch n := v.CacheLen(); {
			case n > size:
				t.Errorf("cache holds %d tokens, more than its size %d", n, size)
			case uses == 2 && cached < size/4:
				t.Errorf("%d of the last %d tokens used twice are cached, want most", cached, size/2)
			}
		})
	}
}

// TestCacheConcurrent: goroutines verifying overlapping tokens through a
// small cache (hits, admissions, evictions at once) always get the claims
// of the token they presented. Run it with -race.
func TestCacheConcurrent(t *testing.T) {
	key := newKey(t, jose.HS256, "k1")
	v := newVerifier(t, verifier.Config{
		Issuers:   []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keySet(t, key)}},
		CacheSize: 64,
	})
	toks := mintN(t, key, claimsAt(time.Now()), 300)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 2000 {
				n := (i*7 + g*31) % len(toks)
				if i%3 == 0 {
					n %= 20 // a few hot tokens
				}
				c, err := v.Verify(t.Context(), toks[n])
				if err != nil || c.ID != fmt.Sprintf("jti-%d", n) {
					t.Errorf("Verify(token %d) = jti %q, %v", n, c.ID, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := v.CacheLen(); n > 64 {
		t.Errorf("cache holds %d tokens, more than 64", n)
	}
}
