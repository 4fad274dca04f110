package server

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
)

// TestVerifiedTokens: a token that verified is answered from the cache
// with its claims validated again (so it still expires), a token that
// failed is never kept, and the cache stays within its bound.
func TestVerifiedTokens(t *testing.T) {
	key, err := jose.GenerateKey(jose.ES256)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jose.NewKeySet(key)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	v, err := jwt.NewValidator(keys, "https://latch.test", "api", jwt.ValidatorOptions{
		Type: jwt.TypeAccessToken, Leeway: jwt.NoLeeway, Now: func() time.Time { return now },
	})
	if err != nil {
		t.Fatal(err)
	}
	sign := func(id string) string {
		t.Helper()
		tok, err := jwt.Sign(key, &jwt.Claims{Issuer: "https://latch.test", Audience: jwt.Audience{"api"}, Subject: "u1",
			ID: id, SessionID: "s1", IssuedAt: now, ExpiresAt: now.Add(time.Minute)}, jose.SignOptions{Type: jwt.TypeAccessToken})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	var c verifiedTokens
	tok := sign("t1")
	for i := range 2 {
		_, claims, err := c.parse(v, tok)
		if err != nil || claims.ID != "t1" || len(c.m) != 1 {
			t.Fatalf("parse(token) #%d = jti %q, %v, %d cached; want t1, nil, 1", i+1, claims.ID, err, len(c.m))
		}
	}

	forged := tok[:len(tok)-4] + "AAAA"
	if _, _, err := c.parse(v, forged); !errors.Is(err, jose.ErrSignature) {
		t.Errorf("parse(token with another signature) = %v, want %v", err, jose.ErrSignature)
	}
	if _, ok := c.m[forged]; ok || len(c.m) != 1 {
		t.Errorf("cache after a refused token holds %d entries (forged one: %v), want only the verified one", len(c.m), ok)
	}

	now = now.Add(time.Minute)
	if _, _, err := c.parse(v, tok); !errors.Is(err, jwt.ErrExpired) {
		t.Errorf("parse(cached token, after its exp) = %v, want %v", err, jwt.ErrExpired)
	}
	if len(c.m) != 0 {
		t.Errorf("cache after its only token expired holds %d entries, want 0", len(c.m))
	}

	now = now.Add(-time.Minute)
	for i := range maxVerifiedTokens + 1 {
		if _, _, err := c.parse(v, sign(fmt.Sprint("b", i))); err != nil {
			t.Fatalf("parse(token b%d) = %v, want nil", i, err)
		}
	}
	if n := len(c.m); n > maxVerifiedTokens {
		t.Errorf("cache holds %d entries, want at most %d", n, maxVerifiedTokens)
	}
}
