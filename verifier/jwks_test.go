package verifier_test

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/latch-auth/latch/internal/memnet"
	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/verifier"
)

// TestUnknownKidFlood: tokens with made-up key IDs make the verifier
// refetch the JWKS at most once per MinRefreshInterval, however many
// arrive and however concurrently.
func TestUnknownKidFlood(t *testing.T) {
	const (
		tokens     = 10_000
		goroutines = 50
		interval   = time.Second
	)
	key := newKey(t, jose.ES256, "k1")
	srv := newJWKSServer(t, key)
	v := newVerifier(t, verifier.Config{
		Issuers:            []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, JWKSURL: srv.URL}},
		MinRefreshInterval: interval,
	})
	before := srv.count()

	attacker := newKey(t, jose.HS256, "x")
	c := claimsAt(time.Now())
	toks := make([]string, tokens)
	for i := range toks {
		toks[i] = mint(t, attacker.WithKeyID(randomKid()), c)
	}

	start := time.Now()
	errs := make(chan error, tokens)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := g; i < tokens; i += goroutines {
				_, err := v.Verify(t.Context(), toks[i])
				errs <- err
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	close(errs)

	for err := range errs {
		if !errors.Is(err, jwt.ErrUnknownKey) {
			t.Fatalf("Verify(random kid) = %v, want ErrUnknownKey", err)
		}
	}
	extra := srv.count() - before
	limit := 1 + int64(elapsed/interval)
	t.Logf("%d tokens from %d goroutines in %v: %d extra JWKS fetches", tokens, goroutines, elapsed, extra)
	if extra > limit {
		t.Errorf("unknown-kid flood caused %d JWKS fetches in %v, want at most %d (1 per %v)", extra, elapsed, limit, interval)
	}
	if extra < 1 {
		t.Errorf("unknown-kid flood caused no JWKS fetch, want 1: a new key must be looked for")
	}
}

func randomKid() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// TestRotation: the verifier follows the issuer's key rotation, both on an
// unknown kid and on its background schedule.
func TestRotation(t *testing.T) {
	t.Run("new key published next to the old one", func(t *testing.T) {
		oldKey := newKey(t, jose.ES256, "old")
		newK := newKey(t, jose.ES256, "new")
		srv := newJWKSServer(t, oldKey)
		v := newVerifier(t, verifier.Config{
			Issuers: []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, JWKSURL: srv.URL}},
		})
		oldTok := mint(t, oldKey, claimsAt(time.Now()))
		if _, err := v.Verify(t.Context(), oldTok); err != nil {
			t.Fatalf("Verify(old key) before rotation = %v, want nil", err)
		}
		srv.setKeys(t, oldKey, newK)
		before := srv.count()

		// The first token of the new key is unknown to the cached set: one
		// refetch, then it verifies.
		if _, err := v.Verify(t.Context(), mint(t, newK, claimsAt(time.Now()))); err != nil {
			t.Fatalf("Verify(new key) = %v, want nil after a refetch", err)
		}
		if got := srv.count() - before; got != 1 {
			t.Errorf("JWKS fetches for the first new-key token = %d, want 1", got)
		}
		for _, tok := range []string{oldTok, mint(t, oldKey, claimsAt(time.Now())), mint(t, newK, claimsAt(time.Now()))} {
			if _, err := v.Verify(t.Context(), tok); err != nil {
				t.Errorf("Verify() after rotation = %v, want nil", err)
			}
		}
		if got := srv.count() - before; got != 1 {
			t.Errorf("JWKS fetches after rotation = %d, want still 1", got)
		}
	})

	// On the bubble's clock every request arrives while the fetch runs:
	// they all wait for that one fetch.
	t.Run("concurrent first tokens of a new key", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			oldKey := newKey(t, jose.ES256, "old")
			newK := newKey(t, jose.ES256, "new")
			n := memnet.New()
			srv := newJWKSServerOn(t, n, "auth-a.test", oldKey)
			v := newVerifier(t, verifier.Config{
				Issuers:    []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, JWKSURL: srv.URL}},
				HTTPClient: n.Client(),
			})
			srv.setKeys(t, oldKey, newK)
			srv.slow(50 * time.Millisecond) // let requests pile up on the fetch
			before := srv.count()
			toks := mintN(t, newK, claimsAt(time.Now()), 64)
			start := time.Now()
			var wg sync.WaitGroup
			errs := make(chan error, len(toks))
			for _, tok := range toks {
				wg.Go(func() {
					_, err := v.Verify(t.Context(), tok)
					errs <- err
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Errorf("Verify(new key) during the refetch = %v, want nil", err)
				}
			}
			if got := srv.count() - before; got != 1 {
				t.Errorf("JWKS fetches for %d concurrent first tokens = %d, want 1", len(toks), got)
			}
			if d := time.Since(start); d != 50*time.Millisecond {
				t.Errorf("concurrent first tokens took %v, want the one fetch's 50ms", d)
			}
		})
	})

	// On the bubble's clock, with the default MinCacheAge and
	// MinRefreshInterval: the schedule is exact.
	t.Run("background refresh honours max-age", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			oldKey := newKey(t, jose.ES256, "old")
			newK := newKey(t, jose.ES256, "new")
			n := memnet.New()
			srv := newJWKSServerOn(t, n, "auth-a.test", oldKey)
			srv.setCacheControl("public, max-age=300")
			v := newVerifier(t, verifier.Config{
				Issuers:    []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, JWKSURL: srv.URL}},
				HTTPClient: n.Client(),
			})
			srv.setKeys(t, oldKey, newK)
			before := srv.count()
			// Refreshed at 80% of max-age=300: 4 minutes.
			time.Sleep(4*time.Minute - time.Millisecond)
			synctest.Wait()
			if got := srv.count() - before; got != 0 {
				t.Errorf("JWKS fetches before 80%% of max-age = %d, want 0", got)
			}
			time.Sleep(time.Millisecond)
			synctest.Wait()
			if got := srv.count() - before; got != 1 {
				t.Errorf("JWKS fetches at 80%% of max-age = %d, want 1", got)
			}
			// Picked up on schedule, not because of an unknown kid: a
			// verify with the new kid fetches nothing more.
			if _, err := v.Verify(t.Context(), mint(t, newK, claimsAt(time.Now()))); err != nil {
				t.Errorf("Verify(new key) after the refresh = %v, want nil", err)
			}
			if got := srv.count() - before; got != 1 {
				t.Errorf("JWKS fetches after Verify(new key) = %d, want still 1", got)
			}
		})
	})
}

// TestCacheAge: the JWKS is refreshed at 80% of the age its
// Cache-Control gives, within MinCacheAge and MaxCacheAge, and never more
// often than MinRefreshInterval. It runs on a synctest bubble's clock,
// where the schedule is exact.
func TestCacheAge(t *testing.T) {
	tests := []struct {
		name         string
		cacheControl string
		min, max     time.Duration // 0: the defaults, 1 min and 24 h
		wantRefresh  time.Duration // when the second fetch happens
	}{
		{name: "max-age=3600 kept", cacheControl: "max-age=3600", wantRefresh: 48 * time.Minute},
		{name: "max-age above MaxCacheAge", cacheControl: "public, max-age=3600", max: 10 * time.Minute, wantRefresh: 8 * time.Minute},
		{name: "max-age below MinCacheAge", cacheControl: "max-age=10", wantRefresh: 48 * time.Second},
		{name: "no-store below MinCacheAge", cacheControl: "no-store", min: time.Hour, wantRefresh: 48 * time.Minute},
		{name: "no-store", cacheControl: "no-store, max-age=3600", wantRefresh: 48 * time.Second},
		{name: "no header", cacheControl: "", wantRefresh: 48 * time.Second},
		{name: "malformed max-age", cacheControl: "max-age=soon", wantRefresh: 48 * time.Second},
		{name: "MinRefreshInterval floor", cacheControl: "no-store", min: 10 * time.Second, wantRefresh: 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := memnet.New()
				srv := newJWKSServerOn(t, n, "auth-a.test", newKey(t, jose.ES256, "k1"))
				srv.setCacheControl(tt.cacheControl)
				newVerifier(t, verifier.Config{
					Issuers:     []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, JWKSURL: srv.URL}},
					HTTPClient:  n.Client(),
					MinCacheAge: tt.min,
					MaxCacheAge: tt.max,
				})
				time.Sleep(tt.wantRefresh - time.Millisecond)
				synctest.Wait()
				if got := srv.count(); got != 1 {
					t.Errorf("Cache-Control %q, MinCacheAge %v, MaxCacheAge %v: %d fetches just before %v, want 1",
						tt.cacheControl, tt.min, tt.max, got, tt.wantRefresh)
				}
				time.Sleep(time.Millisecond)
				synctest.Wait()
				if got := srv.count(); got != 2 {
					t.Errorf("Cache-Control %q, MinCacheAge %v, MaxCacheAge %v: %d fetches at %v, want 2",
						tt.cacheControl, tt.min, tt.max, got, tt.wantRefresh)
				}
			})
		})
	}
}

// TestStaleIfError: while the issuer is unreachable the cached keys keep
// serving; the outage is logged once, and so is the recovery. It runs on
// a synctest bubble's clock.
func TestStaleIfError(t *testing.T) {
	tests := []struct {
		name   string
		outage func(*jwksServer)
		repair func(*jwksServer)
	}{
		{name: "500s", outage: func(s *jwksServer) { s.fail(http.StatusInternalServerError) }, repair: func(s *jwksServer) { s.fail(0) }},
		{name: "timeouts", outage: func(s *jwksServer) { s.slow(time.Second) }, repair: func(s *jwksServer) { s.slow(0) }},
		{name: "garbage", outage: func(s *jwksServer) {
			s.mu.Lock()
			s.body = []byte(`<html>`)
			s.mu.Unlock()
		}},
		// An HMAC secret published next to the public keys: an ambiguous
		// set (jose.NewKeySet), refused like any invalid JWKS.
		{name: "mixed key set", outage: func(s *jwksServer) {
			s.mu.Lock()
			s.body = bytes.Replace(s.body, []byte(`{"keys":[`),
				[]byte(`{"keys":[{"kty":"oct","alg":"HS256","kid":"hs","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr8"},`), 1)
			s.mu.Unlock()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				key := newKey(t, jose.ES256, "k1")
				n := memnet.New()
				srv := newJWKSServerOn(t, n, "auth-a.test", key)
				logs := &logRecorder{}
				v := newVerifier(t, verifier.Config{
					Issuers:            []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, JWKSURL: srv.URL}},
					HTTPClient:         n.Client(),
					MinCacheAge:        20 * time.Millisecond,
					MinRefreshInterval: 20 * time.Millisecond,
					FetchTimeout:       50 * time.Millisecond,
					CacheSize:          -1, // every Verify checks the signature with the cached keys
					Logger:             slog.New(logs),
				})
				tt.outage(srv)
				srv.waitFetches(t, srv.count()+3, 5*time.Second) // several failed refreshes
				for i := range 3 {
					if _, err := v.Verify(t.Context(), mint(t, key, claimsAt(time.Now()))); err != nil {
						t.Fatalf("Verify() #%d during the outage = %v, want nil from the cached keys", i, err)
					}
				}
				if n := logs.count(slog.LevelWarn, "JWKS fetch failed"); n != 1 {
					t.Errorf("warnings during the outage = %d, want 1:\n%s", n, logs.text())
				}
				if tt.repair == nil {
					srv.setKeys(t, key)
				} else {
					tt.repair(srv)
				}
				waitFor(t, 5*time.Second, "recovery logged", func() bool {
					return logs.count(slog.LevelInfo, "JWKS fetch recovered") == 1
				})
				srv.waitFetches(t, srv.count()+2, 5*time.Second)
				if n := logs.count(slog.LevelWarn, "JWKS fetch failed"); n != 1 {
					t.Errorf("warnings after recovery = %d, want still 1", n)
				}
				if n := logs.count(slog.LevelInfo, "JWKS fetch recovered"); n != 1 {
					t.Errorf("recoveries logged = %d, want 1", n)
				}
				if strings.Contains(logs.text(), "eyJ") {
					t.Errorf("logs mention a token:\n%s", logs.text())
				}
			})
		})
	}
}

// TestFetchTimeout: an unknown kid while the JWKS answers slowly costs the
// request FetchTimeout, on a synctest bubble's clock, and the cached keys
// keep working.
func TestFetchTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		key := newKey(t, jose.ES256, "k1")
		n := memnet.New()
		srv := newJWKSServerOn(t, n, "auth-a.test", key)
		v := newVerifier(t, verifier.Config{
			Issuers:      []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, JWKSURL: srv.URL}},
			HTTPClient:   n.Client(),
			FetchTimeout: 100 * time.Millisecond,
		})
		srv.slow(5 * time.Second)
		start := time.Now()
		_, err := v.Verify(t.Context(), mint(t, newKey(t, jose.ES256, "k2"), claimsAt(time.Now())))
		if !errors.Is(err, jwt.ErrUnknownKey) {
			t.Errorf("Verify(unknown kid, slow JWKS) = %v, want ErrUnknownKey", err)
		}
		if d := time.Since(start); d != 100*time.Millisecond {
			t.Errorf("Verify(unknown kid, slow JWKS) took %v, want FetchTimeout (100ms)", d)
		}
		if _, err := v.Verify(t.Context(), mint(t, key, claimsAt(time.Now()))); err != nil {
			t.Errorf("Verify(known kid) after a timed-out fetch = %v, want nil", err)
		}
	})
}
