package verifier

import (
	"crypto/sha256"
	"fmt"
	"sync"
	"time"
)

// replayCache remembers the proofs a DPoPChecker accepted, so that none
// is accepted twice (RFC 9449 §11.1), in bounded memory.
//
// An entry is 16 bytes of SHA-256 over the proof key's thumbprint and the
// proof's "jti", with the proof's "iat" (some 64 bytes in all): its size
// does not depend on what the client sent. An entry is needed only while
// a replay of its proof would pass the "iat" check, that is until
// iat+Window; expired entries are dropped first, oldest "iat" first (a
// min-heap on "iat").
//
// When the cache is full of unexpired entries it neither refuses every
// new proof (a flood of valid proofs, which anyone with a key pair can
// sign, would then deny service to every honest client) nor forgets an
// entry that could then be replayed. It makes room only for a proof newer
// than its oldest entry, by evicting that entry; a proof no newer than
// every entry is refused (fail closed). So every proof it has forgotten
// is no newer than any it remembers, and a replay of one is refused as
// that while the cache is full; the cache stays full until entries
// expire, which they do oldest first: the forgotten proofs first, after
// which their "iat" refuses them. Honest clients sign a proof just before
// they send it, so their proofs are the newest and are let in. Keeping
// them out takes a cache full of proofs dated after theirs: as proofs may
// be dated at most FutureSkew ahead, ReplayEntries valid signatures within
// FutureSkew or so, a flood that costs the server's CPU before it costs
// the cache anything; and a refused client's next proof, dated later,
// passes again once the flood ebbs.
type replayCache struct {
	mu   sync.Mutex
	seen map[replayKey]struct{}
	heap []replayEntry // min-heap on iat
	max  int
}

type replayKey [16]byte

type replayEntry struct {
	key replayKey
	iat int64
}

func newReplayCache(max int) *replayCache {
	return &replayCache{seen: map[replayKey]struct{}{}, max: max}
}

func replayKeyOf(jkt, jti string) replayKey {
	h := sha256.New()
	h.Write([]byte(jkt))
	h.Write([]byte{0})
	h.Write([]byte(jti))
	var k replayKey
	copy(k[:], h.Sum(nil))
	return k
}

// errTooOld refuses a proof a full cache has no room for.
var errTooOld = fmt.Errorf("%w: proof older than the replay cache remembers; send a fresh one", ErrDPoPProof)

// add records the proof (jkt, jti) issued at iat, as seen at now by a
// checker that accepts proofs issued since now-window. It refuses a proof
// seen before (ErrDPoPReplay), or, when full, one no newer than every
// proof it remembers (errTooOld).
func (rc *replayCache) add(jkt, jti string, iat time.Time, now time.Time, window time.Duration) error {
	key := replayKeyOf(jkt, jti)
	at := iat.Unix()
	oldest := now.Add(-window) // a proof issued before this is refused by its iat
	rc.mu.Lock()
	defer rc.mu.Unlock()
	for len(rc.heap) > 0 && time.Unix(rc.heap[0].iat, 0).Before(oldest) {
		delete(rc.seen, rc.pop().key)
	}
	if _, ok := rc.seen[key]; ok {
		return ErrDPoPReplay
	}
	if len(rc.heap) >= rc.max {
		if at <= rc.heap[0].iat {
			return errTooOld
		}
		delete(rc.seen, rc.pop().key)
	}
	rc.seen[key] = struct{}{}
	rc.push(replayEntry{key, at})
	return nil
}

func (rc *replayCache) len() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.heap)
}

func (rc *replayCache) push(e replayEntry) {
	rc.heap = append(rc.heap, e)
	i := len(rc.heap) - 1
	for i > 0 {
		p := (i - 1) / 2
		if rc.heap[p].iat <= rc.heap[i].iat {
			break
		}
		rc.heap[p], rc.heap[i] = rc.heap[i], rc.heap[p]
		i = p
	}
}

func (rc *replayCache) pop() replayEntry {
	h := rc.heap
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	i := 0
	for {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h[l].iat < h[m].iat {
			m = l
		}
		if r < n && h[r].iat < h[m].iat {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	rc.heap = h
	return top
}
