package verifier

// Test hooks into unexported state, visible only to this package's tests.

// CacheLen returns the number of verified tokens the cache holds, 0 when
// it is disabled.
func (v *Verifier) CacheLen() int {
	if v.cache == nil {
		return 0
	}
	return v.cache.len()
}

// PeekIssuer is peekIssuer, for FuzzPeekIssuer.
var PeekIssuer = peekIssuer

// CacheHas reports whether token is in the cache and unexpired.
func (v *Verifier) CacheHas(token string) bool {
	if v.cache == nil {
		return false
	}
	_, ok, _ := v.cache.get(v.cache.hash(token), token, v.cfg.now())
	return ok
}

// EqualTokens is equalTokens, for its test.
var EqualTokens = equalTokens

// CacheSeen makes the cache's doorkeeper remember token, as a miss that
// the full cache does not admit does, so that its next miss is admitted.
func (v *Verifier) CacheSeen(token string) {
	if v.cache != nil {
		v.cache.admit(v.cache.hash(token), false)
	}
}
