package client

import "time"

// SetNow sets the clock of a's cache.
func SetNow(a *Authenticator, now func() time.Time) { a.now = now }

// Cached returns how many lookups a keeps.
func Cached(a *Authenticator) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.cache)
}

// MaxCached is maxCached.
const MaxCached = maxCached
