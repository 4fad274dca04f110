package server

import (
	"sync"

	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
)

// maxVerifiedTokens bounds a verifiedTokens: a few kilobytes each, so a
// few megabytes at most.
const maxVerifiedTokens = 4096

// verifiedTokens remembers the access tokens that one validator verified,
// so that a token presented again skips the signature check: an ES256
// verification was about half of the CPU of a GET /v1/me. It lives with
// the validators of one key set (keyValidators), so a key that leaves the
// set takes its tokens' entries with it. An entry is found only by the
// whole token, and its claims are validated again on every use (expiry
// moves on); the checks that follow the parse (DPoP binding, deny list,
// active session) run on every request as before. Only tokens that
// verified are kept, and at most maxVerifiedTokens of them: when full,
// the cache starts again empty.
type verifiedTokens struct {
	mu sync.RWMutex
	m  map[string]*verifiedToken
}

type verifiedToken struct {
	hdr    jose.Header
	claims jwt.Claims
}

// parse is v.ParseWithHeader(tok), answered from the cache when tok
// verified before.
func (c *verifiedTokens) parse(v *jwt.Validator, tok string) (jose.Header, jwt.Claims, error) {
	c.mu.RLock()
	e := c.m[tok]
	c.mu.RUnlock()
	if e != nil {
		claims := e.claims
		if err := v.Validate(&claims); err == nil {
			return e.hdr, claims, nil
		}
		c.mu.Lock()
		delete(c.m, tok)
		c.mu.Unlock()
	}
	hdr, claims, err := v.ParseWithHeader(tok)
	if err != nil {
		return jose.Header{}, jwt.Claims{}, err
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxVerifiedTokens {
		c.m = make(map[string]*verifiedToken)
	}
	c.m[tok] = &verifiedToken{hdr: hdr, claims: claims}
	c.mu.Unlock()
	return hdr, claims, nil
}
