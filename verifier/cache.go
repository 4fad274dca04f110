package verifier

import (
	"crypto/subtle"
	"encoding/binary"
	"hash/maphash"
	"sync"
	"time"

	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
)

// cacheShards spreads the lock of the verified-token cache.
const cacheShards = 16

// tokenCache remembers tokens whose signature verified, so a repeated token
// skips the signature check. An entry is found by a seeded hash of the
// token and accepted only if the stored token equals the presented one in
// full (constant-time comparison): a token with one byte changed never
// hits. Time claims are checked on every hit by the caller, an entry never
// outlives its token's exp, and an entry is used only while its issuer's
// key set is the one it verified against; entries of a replaced set are
// dropped (purge).
type tokenCache struct {
	seed   maphash.Seed
	shards [cacheShards]cacheShard
	n      uint64 // shards in use: fewer than cacheShards for a tiny cache
	limit  int    // entries per shard, so that n*limit <= size
}

type cacheShard struct {
	mu      sync.RWMutex
	entries map[uint64]*cacheEntry
}

type cacheEntry struct {
	token     string
	kid       string
	keys      *jose.KeySet // the key set the token verified against
	claims    jwt.Claims
	notBefore time.Time // nbf less the leeway; zero when the token has none
	expires   time.Time // exp, without leeway: a later use takes the full path
}

func newTokenCache(size int) *tokenCache {
	n := min(size, cacheShards)
	c := &tokenCache{seed: maphash.MakeSeed(), n: uint64(n), limit: size / n}
	for i := range n {
		c.shards[i].entries = make(map[uint64]*cacheEntry)
	}
	return c
}

// get returns the cached entry for token if it is there and its time
// claims hold at now: the only claims of a verified token that change with
// time (issuer, audience and type were checked when it was put).
func (c *tokenCache) get(token string, now time.Time) (*cacheEntry, bool) {
	h := maphash.String(c.seed, token)
	sh := &c.shards[h%c.n]
	sh.mu.RLock()
	e := sh.entries[h]
	sh.mu.RUnlock()
	if e == nil || !equalTokens(e.token, token) {
		return nil, false
	}
	if now.Before(e.notBefore) {
		return nil, false
	}
	if !now.Before(e.expires) {
		sh.mu.Lock()
		if sh.entries[h] == e {
			delete(sh.entries, h)
		}
		sh.mu.Unlock()
		return nil, false
	}
	return e, true
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

// put stores a verified token until expires. A full shard first drops
// expired entries, then an arbitrary one.
func (c *tokenCache) put(e *cacheEntry, now time.Time) {
	h := maphash.String(c.seed, e.token)
	sh := &c.shards[h%c.n]
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if len(sh.entries) >= c.limit {
		for k, old := range sh.entries {
			if !now.Before(old.expires) {
				delete(sh.entries, k)
			}
		}
		for k := range sh.entries {
			if len(sh.entries) < c.limit {
				break
			}
			delete(sh.entries, k)
		}
	}
	sh.entries[h] = e
}

// purge drops the entries of tokens that verified against keys, a key set
// that has been replaced: they can no longer hit, and a token of a key that
// left the set must not verify again.
func (c *tokenCache) purge(keys *jose.KeySet) {
	for i := range c.n {
		sh := &c.shards[i]
		sh.mu.Lock()
		for k, e := range sh.entries {
			if e.keys == keys {
				delete(sh.entries, k)
			}
		}
		sh.mu.Unlock()
	}
}

// len counts the entries, for tests.
func (c *tokenCache) len() int {
	n := 0
	for i := range c.n {
		c.shards[i].mu.RLock()
		n += len(c.shards[i].entries)
		c.shards[i].mu.RUnlock()
	}
	return n
}
