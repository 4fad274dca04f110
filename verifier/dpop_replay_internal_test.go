package verifier

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// TestReplayCacheNeverAcceptsTwice drives a small replay cache with
// random proofs, fresh and replayed, dated anywhere in the window, as
// time goes by: however full it gets, a proof accepted once is never
// accepted again while its "iat" is in the window, and the cache never
// holds more than its bound.
func TestReplayCacheNeverAcceptsTwice(t *testing.T) {
	const window, skew = time.Minute, 5 * time.Second
	for _, size := range []int{1, 2, 8, 64} {
		t.Run(strconv.Itoa(size), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(size)))
			rc := newReplayCache(size)
			now := time.Unix(1_800_000_000, 0)
			type proof struct {
				jti string
				iat time.Time
			}
			var sent []proof
			accepted := map[string]bool{}
			for i := range 20000 {
				now = now.Add(time.Duration(rng.IntN(300)) * time.Millisecond)
				var p proof
				if len(sent) > 0 && rng.IntN(3) == 0 {
					p = sent[rng.IntN(len(sent))] // a replay
				} else {
					off := time.Duration(rng.Int64N(int64(window+skew))) - window
					p = proof{strconv.Itoa(i), now.Add(off).Truncate(time.Second)}
					sent = append(sent, p)
				}
				if p.iat.Before(now.Add(-window)) || p.iat.After(now.Add(skew)) {
					continue // parse refuses it by its iat
				}
				err := rc.add("jkt", p.jti, p.iat, now, window)
				if err == nil {
					if accepted[p.jti] {
						t.Fatalf("proof %s (iat %v) accepted twice, at %v", p.jti, p.iat, now)
					}
					accepted[p.jti] = true
				} else if !errors.Is(err, ErrDPoPProof) {
					t.Fatalf("add = %v, want nil or ErrDPoPProof", err)
				}
				if n := rc.len(); n > size {
					t.Fatalf("cache holds %d entries, bound %d", n, size)
				}
			}
			if len(accepted) < 100 {
				t.Errorf("only %d proofs accepted: the cache refuses too much", len(accepted))
			}
		})
	}
}
