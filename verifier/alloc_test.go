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
// through; with missCacheSize (one entry per cache shard) each is long
// evicted when it comes round again, so every Verify is a miss that
// verifies the signature and inserts into the cache.
const (
	missTokens    = 512
	missCacheSize = 16
)

// TestAllocations holds Verify to its budgets (STYLE.md rule 9).
//
// A cache hit allocates nothing. A miss costs jwt's parse (the payload,
// "aud", "roles": 3, see jwt.TestParseAllocations) plus the cache entry.
// The ES256 and EdDSA ceilings are the counts measured with Go 1.26 on
// linux/amd64 (jose.TestAllocations explains the signature's share):
// budgets to keep, not goals; a toolchain upgrade may move them.
//
//   - EdDSA miss, 4: the same as HS256; Ed25519 verification itself
//     allocates nothing.
//   - ES256 miss, 16: the same 4, and 12 more in the signature check
//     (jose's DER and digest buffers, crypto/ecdsa's conversion of the
//     public key and its big-number work).
func TestAllocations(t *testing.T) {
	skipUnderRace(t)
	tests := []struct {
		name string
		alg  jose.Algorithm
		hit  bool
		max  float64
	}{
		{name: "HS256 hit", alg: jose.HS256, hit: true, max: 0},
		{name: "ES256 hit", alg: jose.ES256, hit: true, max: 0},
		{name: "EdDSA hit", alg: jose.EdDSA, hit: true, max: 0},
		{name: "HS256 miss", alg: jose.HS256, max: 4},
		{name: "EdDSA miss", alg: jose.EdDSA, max: 4},
		{name: "ES256 miss", alg: jose.ES256, max: 16},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := newKey(t, tt.alg, "k1")
			cfg := verifier.Config{
				Issuers: []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keySet(t, key)}},
			}
			n := 1
			if !tt.hit {
				cfg.CacheSize, n = missCacheSize, missTokens
			}
			v := newVerifier(t, cfg)
			toks := mintN(t, key, claimsAt(time.Now()), n)
			for _, tok := range toks { // warm up: fill the cache shards
				if _, err := v.Verify(t.Context(), tok); err != nil {
					t.Fatal(err)
				}
			}
			ctx := t.Context()
			i := 0
			got := testing.AllocsPerRun(missTokens-1, func() {
				i++
				if _, err := v.Verify(ctx, toks[i%len(toks)]); err != nil {
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
