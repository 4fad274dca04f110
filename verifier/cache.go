package verifier

import (
	"crypto/subtle"
	"encoding/binary"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
)

// cacheShards spreads the lock of the verified-token cache.
const cacheShards = 16

// cacheWays is how many entries a set holds: where a token can be cached,
// and all an insert looks at.
const cacheWays = 8

// tokenCache remembers tokens whose signature verified, so a repeated token
// skips the signature check. An entry is found by a seeded hash of the
// token and accepted only if the stored token equals the presented one in
// full (constant-time comparison): a token with one byte changed never
// hits. Time claims are checked on every hit by the caller, an entry never
// outlives its token's exp, and an entry is used only while its issuer's
// key set is the one it verified against; entries of a replaced set are
// dropped (purge).
//
// The cache is set-associative, like a CPU cache: a token's hash picks a
// shard (its lock) and a set of cacheWays slots in it, and the token can
// be cached only in that set. A token goes into a set with an empty slot
// or an expired entry at once. Into a full set it goes only when it is
// seen a second time (admit: a "doorkeeper" of recently seen hashes, as
// in TinyLFU), and then evicts the entry with the fewest recent hits: each
// slot counts its hits up to 3, the counts age when every entry of the set
// has some, and ties go round-robin (CLOCK order). So a miss reads one set
// and writes at most that set, whatever the size or fill of the cache;
// when more distinct tokens are live than the cache holds, a token seen
// once costs no allocation and evicts nothing: a miss costs about what it
// costs with no cache, and tokens in use stay cached while a flood of
// other tokens (traffic from many clients, or an attacker's) passes.
type tokenCache struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard
	n      uint64 // shards in use: fewer than cacheShards for a tiny cache
	ways   int    // slots per set: cacheWays, fewer for a tiny cache
}

type cacheShard struct {
	mu   sync.RWMutex
	sets []cacheSet
}

// cacheSet is one set of slots. A slot is empty when its entry is nil;
// otherwise hash and expires mirror the entry's, so that choosing a
// victim reads the set alone.
type cacheSet struct {
	hash    [cacheWays]uint64
	expires [cacheWays]int64 // Unix seconds
	entry   [cacheWays]*cacheEntry
	refs    atomic.Uint32 // bits 2i, 2i+1: slot i's recent hits, at most 3
	hand    uint8         // where the next tie-break starts
	// seen holds hashes of tokens that missed this full set once, at the
	// place their hash picks: the doorkeeper of admit.
	seen [doorkeeperWays]atomic.Uint64
}

// doorkeeperWays is how many hashes of once-seen tokens a set remembers.
const doorkeeperWays = 4

type cacheEntry struct {
	token     string
	kid       string       // header "kid", empty when the token has none
	keys      *jose.KeySet // the key set the token verified against
	claims    jwt.Claims
	notBefore time.Time // nbf less the leeway; zero when the token has none
	expires   time.Time // exp, without leeway: a later use takes the full path
}

func newTokenCache(size int) *tokenCache {
	n := min(size, cacheShards)
	limit := size / n // entries per shard, so that n*limit <= size
	c := &tokenCache{seed: maphash.MakeSeed(), n: uint64(n), ways: min(limit, cacheWays)}
	for i := range n {
		c.shards[i].sets = make([]cacheSet, limit/c.ways)
	}
	return c
}

// hash returns the key of token in the cache, for get and put.
func (c *tokenCache) hash(token string) uint64 { return maphash.String(c.seed, token) }

// locate returns the shard and set of hash h. The shard takes the low
// bits, the set the high ones.
func (c *tokenCache) locate(h uint64) (*cacheShard, *cacheSet) {
	sh := &c.shards[h%c.n]
	return sh, &sh.sets[(h>>32)%uint64(len(sh.sets))]
}

// get returns the cached entry for token, whose hash is h, if it is there
// and its time claims hold at now: the only claims of a verified token
// that change with time (issuer, audience and type were checked when it
// was put). room reports whether putting the token would evict no live
// entry: its set has an empty slot, an expired entry or an entry of the
// same hash (which put replaces), for admit.
func (c *tokenCache) get(h uint64, token string, now time.Time) (e *cacheEntry, hit, room bool) {
	sh, set := c.locate(h)
	way := 0
	sec := now.Unix()
	sh.mu.RLock()
	for i := range c.ways {
		if set.entry[i] == nil || set.expires[i] <= sec {
			room = true
		} else if set.hash[i] == h {
			e, way, room = set.entry[i], i, true
			break
		}
	}
	sh.mu.RUnlock()
	if e == nil || !equalTokens(e.token, token) || now.Before(e.notBefore) {
		return nil, false, room
	}
	if !now.Before(e.expires) {
		sh.mu.Lock()
		if set.entry[way] == e {
			set.entry[way] = nil
		}
		sh.mu.Unlock()
		return nil, false, room
	}
	set.hit(way)
	return e, true, room
}

// hit counts a hit on slot i, up to 3. A token in steady use finds its
// count at 3: a load, and no store, on the hot path.
func (set *cacheSet) hit(i int) {
	shift := 2 * i
	for {
		r := set.refs.Load()
		if r>>shift&3 == 3 || set.refs.CompareAndSwap(r, r+1<<shift) {
			return
		}
	}
}

// admit reports whether a token that missed, whose hash is h, should be
// put: when its set has room (get said so), or when the token missed this
// set before and the doorkeeper still remembers it. Otherwise it
// remembers h, and the token costs the cache nothing this time.
func (c *tokenCache) admit(h uint64, room bool) bool {
	if room {
		return true
	}
	_, set := c.locate(h)
	slot := &set.seen[(h>>16)%doorkeeperWays]
	if slot.Load() == h {
		return true
	}
	slot.Store(h)
	return false
}

// equalTokens compares two tokens in time that depends only on their
// length, eight bytes at a time.
func equalTokens(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	x, y := bytesOf(a), bytesOf(b)
	var diff uint64
	i := 0
	for ; i+8 <= len(x); i += 8 {
		diff |= binary.LittleEndian.Uint64(x[i:]) ^ binary.LittleEndian.Uint64(y[i:])
	}
	for ; i < len(x); i++ {
		diff |= uint64(x[i] ^ y[i])
	}
	d := uint32(diff>>32) | uint32(diff)
	return subtle.ConstantTimeEq(int32(d>>16|d&0xffff), 0) == 1
}

// put stores a verified token, whose hash is h, until it expires: in place
// of an entry with the same hash (the same token verified twice at once,
// or a collision), else in the slot victim picks.
func (c *tokenCache) put(h uint64, e *cacheEntry, now time.Time) {
	sh, set := c.locate(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	i := -1
	for j := range c.ways {
		if set.hash[j] == h && set.entry[j] != nil {
			i = j
			break
		}
	}
	if i < 0 {
		i = set.victim(c.ways, now.Unix())
	}
	set.hash[i], set.expires[i], set.entry[i] = h, e.expires.Unix(), e
	set.refs.And(^(uint32(3) << (2 * i)))
}

// victim picks the slot an insert takes, looking at the set alone: an
// empty one, else an expired entry's, else the entry with the fewest
// recent hits, the first from the hand on among equals. The caller holds
// the lock.
func (set *cacheSet) victim(ways int, now int64) int {
	for i := range ways {
		if set.entry[i] == nil {
			return i
		}
	}
	for i := range ways {
		if set.expires[i] <= now {
			return i
		}
	}
	refs := set.refs.Load()
	best, fewest := 0, uint32(4)
	for k := range ways {
		i := (int(set.hand) + k) % ways
		if n := refs >> (2 * i) & 3; n < fewest {
			best, fewest = i, n
		}
	}
	set.hand = uint8((best + 1) % ways)
	// When every entry has hits, age them all by the fewest, so that
	// counts stay recent; while entries without hits are there to evict,
	// the others keep theirs. Again if a hit lands meanwhile (hits change
	// refs under the read lock).
	for fewest > 0 {
		aged := refs
		for i := range ways {
			n := aged >> (2 * i) & 3
			aged -= min(n, fewest) << (2 * i)
		}
		if set.refs.CompareAndSwap(refs, aged) {
			break
		}
		refs = set.refs.Load()
	}
	return best
}

// purge drops the entries of tokens that verified against keys, a key set
// that has been replaced: they can no longer hit, and a token of a key that
// left the set must not verify again. It reads the whole cache, as only a
// key set change does.
func (c *tokenCache) purge(keys *jose.KeySet) {
	for i := range c.n {
		sh := &c.shards[i]
		sh.mu.Lock()
		for s := range sh.sets {
			set := &sh.sets[s]
			for j, e := range set.entry {
				if e != nil && e.keys == keys {
					set.entry[j] = nil
				}
			}
		}
		sh.mu.Unlock()
	}
}

// len counts the entries, for tests.
func (c *tokenCache) len() int {
	n := 0
	for i := range c.n {
		sh := &c.shards[i]
		sh.mu.RLock()
		for s := range sh.sets {
			for _, e := range sh.sets[s].entry {
				if e != nil {
					n++
				}
			}
		}
		sh.mu.RUnlock()
	}
	return n
}
