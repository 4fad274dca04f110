package verifier_test

import (
	"runtime/debug"
	"testing"
	"time"

	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/verifier"
)

// skipUnderRace skips allocation budgets under the race detector, where
// sync.Pool drops items at random and the pooled HMAC state is rebuilt.
func skipUnderRace(t *testing.T) {
	t.Helper()
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" && s.Value == "true" {
				t.Skip("allocation counts are not meaningful under the race detector")
			}
		}
	}
}

// missTokens is how many distinct tokens a miss measurement cycles
// through; with missCacheSize (one entry per cache shard) the cache is full
// and each token long evicted when it comes round again. fullTokens cycle
// through the default cache in the same way: five times as many tokens as
// it holds, so that every set of it sees many more than it keeps.
const (
	missTokens    = 512
	missCacheSize = 16
	fullTokens    = 5 * verifier.DefaultCacheSize
)

// TestAllocations holds Verify to its allocation budgets.
//
// A cache hit allocates nothing. A miss costs jwt's parse (the payload,
// and one slice for "aud" and "roles": 2, see jwt.TestParseAllocations)
// and, when the cache admits the token, the cache entry: 3; making room
// for it in a full cache allocates nothing. A full cache admits a token
// the second time it misses (the doorkeeper): the "admitted" rows prime
// the doorkeeper first, the "seen once" rows do not. The ES256 and EdDSA
// ceilings are the counts measured with Go 1.26 on linux/amd64
// (jose.TestAllocations explains the signature's share): budgets to keep,
// not goals; a toolchain upgrade may move them.
//
//   - EdDSA miss, 3: the same as HS256; Ed25519 verification itself
//     allocates nothing.
//   - ES256 miss, 15: the same 3, and 12 more in the signature check
//     (jose's DER and digest buffers, crypto/ecdsa's conversion of the
//     public key and its big-number work).
func TestAllocations(t *testing.T) {
	skipUnderRace(t)
	tests := []struct {
		name     string
		alg      jose.Algorithm
		hit      bool
		full     bool // the default cache, full; else missCacheSize
		admitted bool // a miss the full cache admits, evicting an entry
		max      float64
	}{
		{name: "HS256 hit", alg: jose.HS256, hit: true, max: 0},
		{name: "ES256 hit", alg: jose.ES256, hit: true, max: 0},
		{name: "EdDSA hit", alg: jose.EdDSA, hit: true, max: 0},
		{name: "HS256 miss, admitted", alg: jose.HS256, admitted: true, max: 3},
		{name: "EdDSA miss, admitted", alg: jose.EdDSA, admitted: true, max: 3},
		{name: "ES256 miss, admitted", alg: jose.ES256, admitted: true, max: 15},
		{name: "HS256 miss, seen once", alg: jose.HS256, max: 2},
		{name: "HS256 miss, full default cache, admitted", alg: jose.HS256, full: true, admitted: true, max: 3},
		{name: "HS256 miss, full default cache, seen once", alg: jose.HS256, full: true, max: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := newKey(t, tt.alg, "k1")
			cfg := verifier.Config{
				Issuers: []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keySet(t, key)}},
			}
			n := 1
			switch {
			case tt.hit:
			case tt.full:
				n = fullTokens
			default:
				cfg.CacheSize, n = missCacheSize, missTokens+missCacheSize
			}
			v := newVerifier(t, cfg)
			toks := mintN(t, key, claimsAt(time.Now()), n)
			for _, tok := range toks { // warm up: fill the cache
				if _, err := v.Verify(t.Context(), tok); err != nil {
					t.Fatal(err)
				}
			}
			if !tt.hit {
				// Measure the tokens the cache does not hold.
				var misses []string
				for _, tok := range toks {
					if !v.CacheHas(tok) {
						misses = append(misses, tok)
					}
				}
				if len(misses) < missTokens {
					t.Fatalf("%d of %d tokens are not cached; want at least %d to measure misses", len(misses), len(toks), missTokens)
				}
				toks = misses[:missTokens]
			}
			ctx := t.Context()
			i := 0
			got := testing.AllocsPerRun(missTokens-1, func() {
				i++
				tok := toks[i%len(toks)]
				if tt.admitted {
					v.CacheSeen(tok)
				}
				if _, err := v.Verify(ctx, tok); err != nil {
					panic(err)
				}
			})
			t.Logf("Verify(%s): %v allocations", tt.name, got)
			if got > tt.max {
				t.Errorf("Verify(%s) allocates %v times, want at most %v", tt.name, got, tt.max)
			}
		})
	}
}
