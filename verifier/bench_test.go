package verifier_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/verifier"
)

// BenchmarkVerify measures Verify per algorithm on a cache hit (the same
// token again) and a miss (a token not seen recently: signature check and
// claims parse; the full cache does not admit a token seen once, see
// missTokens and BenchmarkVerifyFullCache).
//
//	go test ./verifier -run '^$' -bench . -benchmem -count 3
func BenchmarkVerify(b *testing.B) {
	for _, alg := range []jose.Algorithm{jose.HS256, jose.RS256, jose.PS256, jose.ES256, jose.EdDSA} {
		b.Run(string(alg), func(b *testing.B) {
			key := newKey(b, alg, "k1")
			keys := keySet(b, key)
			toks := mintN(b, key, claimsAt(time.Now()), missTokens)
			for _, mode := range []string{"hit", "miss"} {
				b.Run(mode, func(b *testing.B) {
					cfg := verifier.Config{Issuers: []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keys}}}
					if mode == "miss" {
						cfg.CacheSize = missCacheSize
					}
					v := newVerifier(b, cfg)
					ctx := b.Context()
					for _, tok := range toks {
						if _, err := v.Verify(ctx, tok); err != nil {
							b.Fatal(err)
						}
					}
					var misses []string // the tokens the cache does not hold
					for _, tok := range toks {
						if !v.CacheHas(tok) {
							misses = append(misses, tok)
						}
					}
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						tok := toks[0]
						if mode == "miss" {
							i++
							tok = misses[i%len(misses)]
						}
						if _, err := v.Verify(ctx, tok); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// fullCacheTokens is how many distinct tokens BenchmarkVerifyFullCache
// cycles through: five times what the default cache holds.
const fullCacheTokens = 5 * verifier.DefaultCacheSize

// BenchmarkVerifyFullCache measures a miss when the cache is full and
// more distinct tokens are live than it holds (traffic from many users),
// against the same tokens with the cache off (no-cache): a full cache must
// add next to nothing to a signature check.
//
//   - full-miss: each token once per cycle, as a stream of users with a
//     token each; a full cache does not admit a token seen once.
//   - full-miss-twice: each token twice in a row; the second miss is
//     admitted and evicts an entry.
//
// Only tokens the cache does not hold after the warm-up are measured, so
// that every Verify is a miss.
//
//	go test ./verifier -run '^$' -bench VerifyFullCache -benchmem -count 8
func BenchmarkVerifyFullCache(b *testing.B) {
	for _, alg := range []jose.Algorithm{jose.HS256, jose.ES256} {
		b.Run(string(alg), func(b *testing.B) {
			key := newKey(b, alg, "k1")
			keys := keySet(b, key)
			toks := mintN(b, key, claimsAt(time.Now()), fullCacheTokens)
			for _, mode := range []string{"no-cache", "full-miss", "full-miss-twice"} {
				b.Run(mode, func(b *testing.B) {
					cfg := verifier.Config{Issuers: []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keys}}}
					if mode == "no-cache" {
						cfg.CacheSize = -1
					}
					v := newVerifier(b, cfg)
					ctx := b.Context()
					for _, tok := range toks {
						if _, err := v.Verify(ctx, tok); err != nil {
							b.Fatal(err)
						}
					}
					var misses []string
					for _, tok := range toks {
						if !v.CacheHas(tok) {
							misses = append(misses, tok)
						}
					}
					if mode != "no-cache" && v.CacheLen() < verifier.DefaultCacheSize*9/10 {
						b.Fatalf("cache holds %d tokens after the warm-up, want it full", v.CacheLen())
					}
					step := 1
					if mode == "full-miss-twice" {
						step = 2
					}
					b.ReportAllocs()
					i := 0
					for b.Loop() {
						if _, err := v.Verify(ctx, misses[i/step%len(misses)]); err != nil {
							b.Fatal(err)
						}
						i++
					}
				})
			}
		})
	}
}

// discard is a ResponseWriter that keeps nothing, so the benchmark
// measures the middleware rather than a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkMiddleware measures a handler bare and behind Require with a
// cached ES256 token: the cost a resource service pays per request.
func BenchmarkMiddleware(b *testing.B) {
	key := newKey(b, jose.ES256, "k1")
	v := newVerifier(b, verifier.Config{
		Issuers: []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keySet(b, key)}},
	})
	tok := mint(b, key, claimsAt(time.Now()))
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	for _, tt := range []struct {
		name string
		h    http.Handler
	}{
		{"bare", ok},
		{"require-hit", v.Require(verifier.RequireScope("orders:read")(ok))},
	} {
		b.Run(tt.name, func(b *testing.B) {
			r, err := http.NewRequestWithContext(b.Context(), http.MethodGet, "/orders/42", nil)
			if err != nil {
				b.Fatal(err)
			}
			r.Header.Set("Authorization", "Bearer "+tok)
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				tt.h.ServeHTTP(w, r)
			}
		})
	}
}
