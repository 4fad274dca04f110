package keyring_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/keyring"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
)

// cachingVerifier is a resource service that fetches the JWKS and keeps it
// for the advertised max-age, never refetching early (not even on an
// unknown kid): the strictest verifier a rotation must not break.
type cachingVerifier struct {
	keys    *jose.KeySet
	expires time.Time
}

func (v *cachingVerifier) refresh(t *testing.T, r *keyring.Ring, now time.Time) {
	t.Helper()
	if v.keys != nil && now.Before(v.expires) {
		return
	}
	_, maxAge, err := r.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	v.keys, v.expires = publishedSet(t, r), now.Add(maxAge)
}

// TestRotationNoTokenFails runs a scheduled rotation minute by minute with
// the server issuing a token at every step, and checks at every step that
// every token issued so far verifies until it expires: for the server
// (VerificationKeys, access tokens only) and for verifiers that cache the
// JWKS with every possible phase relative to the rotation. It does so for
// each lifecycle: access tokens and ID tokens.
func TestRotationNoTokenFails(t *testing.T) {
	for _, lc := range []struct {
		name    string
		use     string
		signer  func(*keyring.Ring) (*jose.Key, error)
		rotated int  // index of its key in RotateKeys' result
		server  bool // whether the server verifies its tokens
	}{
		{"access tokens", keyring.UseAccess, (*keyring.Ring).Signer, 0, true},
		{"ID tokens", keyring.UseIDToken, (*keyring.Ring).IDTokenSigner, 1, false},
	} {
		t.Run(lc.name, func(t *testing.T) {
			testRotationNoTokenFails(t, lc.use, lc.signer, lc.rotated, lc.server)
		})
	}
}

func testRotationNoTokenFails(t *testing.T, use string, signer func(*keyring.Ring) (*jose.Key, error), rotated int, checkServer bool) {
	const ttl = 10 * time.Minute
	ctx := t.Context()
	r, db, clk := ensured(t, keyring.Config{JWKSMaxAge: 15 * time.Minute, TokenTTL: ttl, RotationPeriod: -1})
	cfg := r.Config()
	if min := cfg.JWKSMaxAge + time.Minute; cfg.PublishAhead < min {
		t.Fatalf("PublishAhead = %v, want at least JWKSMaxAge+1m = %v", cfg.PublishAhead, min)
	}
	sign := func(now time.Time) token {
		t.Helper()
		key, err := signer(r)
		if err != nil {
			t.Fatalf("%s signer at %v: %v", use, now, err)
		}
		return issueWith(t, key, now, ttl)
	}
	old := sign(t0).kid
	rotateAt := t0.Add(5 * time.Minute)
	activateAt := rotateAt.Add(cfg.PublishAhead)
	retiredUntil := activateAt.Add(ttl) // the last token of the old key expires by then
	end := activateAt.Add(ttl + 10*time.Minute)

	// Verifiers whose cached JWKS expires at each minute of a max-age,
	// each having fetched it from the ring before the rotation.
	var verifiers []*cachingVerifier
	for phase := time.Duration(0); phase < cfg.JWKSMaxAge; phase += time.Minute {
		v := &cachingVerifier{}
		v.refresh(t, r, t0)
		v.expires = t0.Add(phase)
		verifiers = append(verifiers, v)
	}

	// Steps every minute, plus the instants around the switch.
	var steps []time.Time
	for at := t0; at.Before(end); at = at.Add(time.Minute) {
		steps = append(steps, at)
	}
	steps = append(steps, activateAt.Add(-time.Second), activateAt.Add(-time.Millisecond))
	slices.SortFunc(steps, func(a, b time.Time) int { return a.Compare(b) })

	var next string
	var tokens []token
	for _, now := range steps {
		clk.Set(now)
		if now.Equal(rotateAt) {
			ks, err := r.RotateKeys(ctx, false)
			if err != nil {
				t.Fatalf("RotateKeys(): %v", err)
			}
			k := ks[rotated]
			if !k.ActivateAt.Equal(activateAt) {
				t.Fatalf("Rotate() at %v: ActivateAt = %v, want now + PublishAhead = %v", now, k.ActivateAt, activateAt)
			}
			next = k.ID
			if got := publishedIDs(t, r, use); !slices.Contains(got, next) {
				t.Errorf("JWKS() right after Rotate() = %v, want the new key %s published at once", got, next)
			}
		}
		if err := r.Maintain(ctx); err != nil {
			t.Fatalf("Maintain() at %v: %v", now, err)
		}

		wantSigner := old
		if !now.Before(activateAt) {
			wantSigner = next
		}
		tok := sign(now)
		if tok.kid != wantSigner {
			t.Errorf("at %v: signer = %s, want %s", now.Sub(t0), tok.kid, wantSigner)
		}
		tokens = append(tokens, tok)

		// The old key is published, and stored, until its tokens expired
		// plus a margin, then Maintain deletes it.
		o := storedKeysByID(t, db)
		_, oldStored := o[old]
		oldPublished := slices.Contains(publishedIDs(t, r, use), old)
		if now.Before(retiredUntil) && (!oldStored || !oldPublished) {
			t.Errorf("at %v: old key stored %v, published %v; want both until %v", now.Sub(t0), oldStored, oldPublished, retiredUntil.Sub(t0))
		}
		if k, ok := o[old]; ok && !k.RemoveAt.IsZero() && !now.Before(k.RemoveAt) {
			t.Errorf("at %v: old key still stored after Maintain, past its RemoveAt %v", now.Sub(t0), k.RemoveAt.Sub(t0))
		}
		if !now.Before(activateAt.Add(ttl+5*time.Minute)) && (oldStored || oldPublished) {
			t.Errorf("at %v: old key stored %v, published %v; want removed", now.Sub(t0), oldStored, oldPublished)
		}

		server := serverValidator(t, r, clk)
		// Verifiers holding the same keys decide alike: check each
		// distinct cached set once.
		caches := map[string]*jwt.Validator{}
		for _, v := range verifiers {
			v.refresh(t, r, now)
			var ids []string
			for _, k := range v.keys.Keys() {
				ids = append(ids, k.KeyID())
			}
			slices.Sort(ids)
			caches[strings.Join(ids, " ")] = validator(t, v.keys, clk)
		}
		for _, tok := range tokens {
			_, err := server.Parse(tok.raw)
			if !checkServer && !errors.Is(err, jwt.ErrUnknownKey) {
				// Its keys are not the server's access-token keys.
				t.Errorf("at %v: server Parse(token of %s key %s) = %v, want %v", now.Sub(t0), use, tok.kid, err, jwt.ErrUnknownKey)
			}
			if now.Before(tok.exp) {
				if checkServer && err != nil {
					t.Errorf("at %v: server Parse(token of %s issued at %v) = %v, want valid until %v",
						now.Sub(t0), tok.kid, tok.iat.Sub(t0), err, tok.exp.Sub(t0))
				}
				for ids, v := range caches {
					if _, err := v.Parse(tok.raw); err != nil {
						t.Errorf("at %v: verifier caching JWKS [%s]: Parse(token of %s issued at %v) = %v, want valid",
							now.Sub(t0), ids, tok.kid, tok.iat.Sub(t0), err)
					}
				}
				continue
			}
			// Expired tokens fail as expired, or, once their key is
			// gone, as unknown-key: never as valid.
			if checkServer && !errors.Is(err, jwt.ErrExpired) && !errors.Is(err, jwt.ErrUnknownKey) {
				t.Errorf("at %v: server Parse(expired token issued at %v) = %v, want %v or %v",
					now.Sub(t0), tok.iat.Sub(t0), err, jwt.ErrExpired, jwt.ErrUnknownKey)
			}
			for ids, v := range caches {
				if _, err := v.Parse(tok.raw); !errors.Is(err, jwt.ErrExpired) && !errors.Is(err, jwt.ErrUnknownKey) {
					t.Errorf("at %v: verifier caching JWKS [%s]: Parse(expired token of %s issued at %v) = %v, want %v or %v",
						now.Sub(t0), ids, tok.kid, tok.iat.Sub(t0), err, jwt.ErrExpired, jwt.ErrUnknownKey)
				}
			}
		}
	}
	if next == "" {
		t.Fatal("the rotation never happened")
	}
	var left []string
	for _, k := range storedKeys(t, db) {
		if slices.Contains(r.Uses(k), use) {
			left = append(left, k.ID)
		}
	}
	if !slices.Equal(left, []string{next}) {
		t.Errorf("after the rotation the store holds the %s keys %v, want only %s", use, left, next)
	}
}

func storedKeysByID(t *testing.T, db store.Keys) map[string]store.SigningKey {
	t.Helper()
	m := map[string]store.SigningKey{}
	for _, k := range storedKeys(t, db) {
		m[k.ID] = k
	}
	return m
}
