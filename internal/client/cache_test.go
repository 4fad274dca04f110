package client_test

// The token endpoint's client cache (Authenticator.AuthenticateRequest):
// one store read per client per CacheTTL, and every change to a client,
// its removal first, in effect within CacheTTL.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/client"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/testclock"
)

// countingClients counts the store's client reads, and fails them while
// fail is set.
type countingClients struct {
	store.Clients
	reads atomic.Int64
	fail  atomic.Bool
}

var errStoreDown = errors.New("store down")

func (s *countingClients) ClientByID(ctx context.Context, id string) (store.Client, error) {
	s.reads.Add(1)
	if s.fail.Load() {
		return store.Client{}, errStoreDown
	}
	return s.Clients.ClientByID(ctx, id)
}

// tokenRequest is a token endpoint request of the client id with secret
// by client_secret_basic.
func tokenRequest(t *testing.T, id, secret string) *http.Request {
	t.Helper()
	r, err := http.NewRequestWithContext(t.Context(), "POST", "/oauth2/token", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", basic(id, secret))
	return r
}

// cacheFixture is an Authenticator over a counting store on a test clock,
// and a client_credentials client.
type cacheFixture struct {
	t      *testing.T
	st     *countingClients
	clock  *testclock.Clock
	auth   *client.Authenticator
	svc    registered
	public registered
}

func newCacheFixture(t *testing.T) *cacheFixture {
	db := openDB(t)
	cs := registerAll(t, db,
		client.Registration{Name: "svc", GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"orders:read"}},
		nativeApp())
	st := &countingClients{Clients: db}
	clock := testclock.New(time.Now())
	auth := client.NewAuthenticator(st)
	client.SetNow(auth, clock.Now)
	return &cacheFixture{t: t, st: st, clock: clock, auth: auth, svc: cs[0], public: cs[1]}
}

// authenticate runs AuthenticateRequest for id with secret (by
// client_secret_basic), or for a public client id without one.
func (f *cacheFixture) authenticate(id, secret string) (store.Client, error) {
	f.t.Helper()
	if secret == "" {
		r, _ := http.NewRequestWithContext(f.t.Context(), "POST", "/oauth2/token", nil)
		return f.auth.AuthenticateRequest(f.t.Context(), r, url.Values{"client_id": {id}})
	}
	return f.auth.AuthenticateRequest(f.t.Context(), tokenRequest(f.t, id, secret), url.Values{})
}

// wantReads checks the store's client reads so far.
func (f *cacheFixture) wantReads(want int64) {
	f.t.Helper()
	if got := f.st.reads.Load(); got != want {
		f.t.Errorf("store reads = %d, want %d", got, want)
	}
}

// TestAuthenticateRequestCache checks that the token endpoint reads a
// client once per CacheTTL, and that the secret is checked on every
// request all the same.
func TestAuthenticateRequestCache(t *testing.T) {
	f := newCacheFixture(t)
	for i := range 3 {
		if c, err := f.authenticate(f.svc.ID, f.svc.secret); err != nil || c.ID != f.svc.ID {
			t.Fatalf("AuthenticateRequest #%d = %q, %v, want %q, nil", i, c.ID, err, f.svc.ID)
		}
	}
	f.wantReads(1)
	// A cached client is no checked secret.
	if c, err := f.authenticate(f.svc.ID, f.svc.secret+"x"); !errors.Is(err, client.ErrInvalidClient) || c.ID != "" {
		t.Errorf("AuthenticateRequest(wrong secret) of a cached client = %q, %v, want ErrInvalidClient", c.ID, err)
	}
	if c, err := f.authenticate(f.svc.ID, f.public.secret+"guess"); !errors.Is(err, client.ErrInvalidClient) || c.ID != "" {
		t.Errorf("AuthenticateRequest(another secret) of a cached client = %q, %v, want ErrInvalidClient", c.ID, err)
	}
	f.wantReads(1)

	// The lists returned are the caller's own.
	c, _ := f.authenticate(f.svc.ID, f.svc.secret)
	c.Scopes[0], c.GrantTypes[0], c.SecretHash[0] = "admin", "password", c.SecretHash[0]^1
	if c, err := f.authenticate(f.svc.ID, f.svc.secret); err != nil || c.Scopes[0] != "orders:read" || c.GrantTypes[0] != client.GrantClientCredentials {
		t.Errorf("AuthenticateRequest after a caller changed its client = %+v, %v, want the stored client", c, err)
	}

	f.clock.Advance(client.CacheTTL - time.Millisecond)
	f.authenticate(f.svc.ID, f.svc.secret)
	f.wantReads(1)
	f.clock.Advance(time.Millisecond)
	f.authenticate(f.svc.ID, f.svc.secret)
	f.wantReads(2)

	// A clock stepped back does not make a read last longer.
	f.clock.Advance(-time.Hour)
	f.authenticate(f.svc.ID, f.svc.secret)
	f.wantReads(3)

	// Authenticate, the service endpoints' check, reads every time.
	for range 2 {
		f.auth.Authenticate(t.Context(), tokenRequest(t, f.svc.ID, f.svc.secret))
	}
	f.wantReads(5)
}

// TestAuthenticateRequestCacheChanges checks that each change to a
// client reaches the token endpoint within CacheTTL: the old
// credentials, or the client, refused; the new ones accepted.
func TestAuthenticateRequestCacheChanges(t *testing.T) {
	for _, tt := range []struct {
		name   string
		change func(f *cacheFixture) (newSecret string)
		// refused is authenticated after the change: refused with
		// ErrInvalidClient once CacheTTL has passed.
		refused func(f *cacheFixture) (store.Client, error)
		// check, when not nil, checks the client authenticated after
		// CacheTTL with newSecret.
		check func(t *testing.T, c store.Client)
	}{
		{
			name: "removed",
			change: func(f *cacheFixture) string {
				if err := f.st.DeleteClient(f.t.Context(), f.svc.ID); err != nil {
					f.t.Fatal(err)
				}
				return ""
			},
			refused: func(f *cacheFixture) (store.Client, error) { return f.authenticate(f.svc.ID, f.svc.secret) },
		},
		{
			name: "new secret",
			change: func(f *cacheFixture) string {
				secret, hash, err := client.NewSecret()
				if err != nil {
					f.t.Fatal(err)
				}
				if _, err := f.st.UpdateClient(f.t.Context(), f.svc.ID, func(c store.Client) (store.Client, error) {
					c.SecretHash = hash
					return c, nil
				}); err != nil {
					f.t.Fatal(err)
				}
				return secret
			},
			refused: func(f *cacheFixture) (store.Client, error) { return f.authenticate(f.svc.ID, f.svc.secret) },
		},
		{
			name: "scope and grant taken away",
			change: func(f *cacheFixture) string {
				if _, err := f.st.UpdateClient(f.t.Context(), f.svc.ID, func(c store.Client) (store.Client, error) {
					c.Scopes, c.GrantTypes = []string{client.ScopeIntrospect}, nil
					return c, nil
				}); err != nil {
					f.t.Fatal(err)
				}
				return f.svc.secret
			},
			check: func(t *testing.T, c store.Client) {
				if client.HasScope(c, "orders:read") || client.HasGrantType(c, client.GrantClientCredentials) {
					t.Errorf("client after CacheTTL has scopes %q, grant types %q, want the new ones", c.Scopes, c.GrantTypes)
				}
			},
		},
		{
			name: "public client removed",
			change: func(f *cacheFixture) string {
				if err := f.st.DeleteClient(f.t.Context(), f.public.ID); err != nil {
					f.t.Fatal(err)
				}
				return ""
			},
			refused: func(f *cacheFixture) (store.Client, error) { return f.authenticate(f.public.ID, "") },
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newCacheFixture(t)
			for _, pre := range []func() (store.Client, error){
				func() (store.Client, error) { return f.authenticate(f.svc.ID, f.svc.secret) },
				func() (store.Client, error) { return f.authenticate(f.public.ID, "") },
			} {
				if _, err := pre(); err != nil {
					t.Fatalf("AuthenticateRequest before the change = %v, want nil", err)
				}
			}
			newSecret := tt.change(f)
			f.clock.Advance(client.CacheTTL)
			if tt.refused != nil {
				if c, err := tt.refused(f); !errors.Is(err, client.ErrInvalidClient) || c.ID != "" {
					t.Errorf("AuthenticateRequest CacheTTL after the change = %q, %v, want ErrInvalidClient", c.ID, err)
				}
			}
			if newSecret != "" {
				c, err := f.authenticate(f.svc.ID, newSecret)
				if err != nil {
					t.Fatalf("AuthenticateRequest with the new credentials CacheTTL after the change = %v, want nil", err)
				}
				if tt.check != nil {
					tt.check(t, c)
				}
			}
		})
	}
}

// TestAuthenticateRequestCacheUnknown checks that an unknown client ID is
// remembered as unknown for CacheTTL, with the same refusal, and that a
// client created meanwhile is found after it.
func TestAuthenticateRequestCacheUnknown(t *testing.T) {
	f := newCacheFixture(t)
	c, secret, err := client.NewClient(client.Registration{Name: "late", GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"orders:read"}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if got, err := f.authenticate(c.ID, secret); !errors.Is(err, client.ErrInvalidClient) || got.ID != "" {
			t.Fatalf("AuthenticateRequest #%d of an unknown client = %q, %v, want ErrInvalidClient", i, got.ID, err)
		}
	}
	f.wantReads(1)
	if err := f.st.CreateClient(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(client.CacheTTL)
	if got, err := f.authenticate(c.ID, secret); err != nil || got.ID != c.ID {
		t.Errorf("AuthenticateRequest CacheTTL after the client was created = %q, %v, want %q, nil", got.ID, err, c.ID)
	}
}

// TestAuthenticateRequestCacheFailure checks that a store failure is not
// kept: the next request reads the store again.
func TestAuthenticateRequestCacheFailure(t *testing.T) {
	f := newCacheFixture(t)
	f.st.fail.Store(true)
	if _, err := f.authenticate(f.svc.ID, f.svc.secret); !errors.Is(err, errStoreDown) {
		t.Fatalf("AuthenticateRequest on a failing store = %v, want the store's error", err)
	}
	f.st.fail.Store(false)
	if c, err := f.authenticate(f.svc.ID, f.svc.secret); err != nil || c.ID != f.svc.ID {
		t.Errorf("AuthenticateRequest once the store is back = %q, %v, want %q, nil", c.ID, err, f.svc.ID)
	}
	f.wantReads(2)
}

// TestAuthenticateRequestCacheBound checks that a flood of client IDs,
// unknown ones included, does not grow the cache past its bound.
func TestAuthenticateRequestCacheBound(t *testing.T) {
	f := newCacheFixture(t)
	for i := range client.MaxCached + 100 {
		f.authenticate(fmt.Sprintf("c_%032x", i), "secret")
	}
	if n := client.Cached(f.auth); n > client.MaxCached {
		t.Errorf("cached lookups = %d, want at most %d", n, client.MaxCached)
	}
	if c, err := f.authenticate(f.svc.ID, f.svc.secret); err != nil || c.ID != f.svc.ID {
		t.Errorf("AuthenticateRequest after the flood = %q, %v, want %q, nil", c.ID, err, f.svc.ID)
	}
}

// TestAuthenticateRequestCacheConcurrent runs requests of several clients
// at once while the cache expires under them (for the race detector).
func TestAuthenticateRequestCacheConcurrent(t *testing.T) {
	f := newCacheFixture(t)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 50 {
				if w == 0 && i%10 == 0 {
					f.clock.Advance(client.CacheTTL)
				}
				if c, err := f.authenticate(f.svc.ID, f.svc.secret); err != nil || c.ID != f.svc.ID {
					t.Errorf("AuthenticateRequest = %q, %v, want %q, nil", c.ID, err, f.svc.ID)
					return
				}
				if _, err := f.authenticate(f.public.ID, ""); err != nil {
					t.Errorf("AuthenticateRequest(public) = %v, want nil", err)
					return
				}
			}
		})
	}
	wg.Wait()
}
