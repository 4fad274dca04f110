package verifier_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/latch-auth/latch/internal/memnet"
	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/revocation"
	"github.com/latch-auth/latch/verifier"
)

// Credentials of the test feed.
const (
	feedClient = "c_orders"
	feedSecret = "s3cret"
)

// feedServer serves a revocation feed's stream the way latch does (see
// package revocation): Basic credentials, every event after the cursor,
// a heartbeat once caught up, then events as they are added. It can be
// taken down. The end-to-end tests in cmd/latch run the real server;
// this one lets the verifier's policies be tested with a fake clock.
type feedServer struct {
	URL    string
	mu     sync.Mutex
	events []revocation.Event
	down   bool
	wake   chan struct{} // closed when events are added or the server goes down
}

func newFeedServer(t testing.TB) *feedServer {
	t.Helper()
	s := &feedServer{wake: make(chan struct{})}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() { s.setDown(true); srv.Close() })
	s.URL = srv.URL
	return s
}

// newFeedServerOn is newFeedServer on the in-memory network n at host,
// for a test in a synctest bubble: its verifier takes n.Client() as
// HTTPClient.
func newFeedServerOn(t testing.TB, n *memnet.Network, host string) *feedServer {
	t.Helper()
	s := &feedServer{wake: make(chan struct{})}
	srv, err := n.Serve(host, http.HandlerFunc(s.serve))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.setDown(true); srv.Close() })
	s.URL = srv.URL
	return s
}

func (s *feedServer) url() string { return s.URL + "/v1/revocations" }

// add appends events with the next sequence numbers.
func (s *feedServer) add(es ...revocation.Event) {
	s.mu.Lock()
	for _, e := range es {
		e.Seq = int64(len(s.events) + 1)
		s.events = append(s.events, e)
	}
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
}

// setDown makes the server drop its streams and answer 503.
func (s *feedServer) setDown(down bool) {
	s.mu.Lock()
	s.down = down
	close(s.wake)
	s.wake = make(chan struct{})
	s.mu.Unlock()
}

func (s *feedServer) serve(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok || id != feedClient || secret != feedSecret {
		w.Header().Set("WWW-Authenticate", `Basic realm="latch"`)
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
		return
	}
	if r.URL.Path != "/v1/revocations/stream" {
		http.NotFound(w, r)
		return
	}
	cursor, _ := strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64)
	w.Header().Set("Content-Type", "text/event-stream")
	flusher := w.(http.Flusher)
	sentHeartbeat := false
	for {
		s.mu.Lock()
		down, wake := s.down, s.wake
		pending := append([]revocation.Event(nil), s.events[min(int(cursor), len(s.events)):]...)
		head := int64(len(s.events))
		s.mu.Unlock()
		if down {
			if !sentHeartbeat {
				http.Error(w, "down", http.StatusServiceUnavailable)
			}
			return
		}
		for _, e := range pending {
			b, _ := e.MarshalJSON()
			fmt.Fprintf(w, "event: revocation\nid: %d\ndata: %s\n\n", e.Seq, b)
			cursor = e.Seq
		}
		fmt.Fprintf(w, "event: heartbeat\ndata: {\"head\":%d,\"time\":%d}\n\n", head, time.Now().Unix())
		sentHeartbeat = true
		flusher.Flush()
		select {
		case <-wake:
		case <-r.Context().Done():
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// feedVerifier is a verifier of issuerA with static keys following fs.
func feedVerifier(t testing.TB, fs *feedServer, key *jose.Key, cfg verifier.Config) *verifier.Verifier {
	t.Helper()
	cfg.Issuers = []verifier.Issuer{{
		Issuer: issuerA, Audience: audOrders, Keys: keySet(t, key),
		ClientID: feedClient, ClientSecret: feedSecret, RevocationsURL: fs.url(),
	}}
	return newVerifier(t, cfg)
}

func revokedEvent(kind revocation.Kind, id string, at time.Time) revocation.Event {
	return revocation.Event{Kind: kind, ID: id, At: at, Expires: at.Add(time.Hour), Reason: "admin"}
}

// TestVerifyRefusesRevoked revokes a token by each kind and checks that
// Verify refuses it, from the cache too, with revocation.ErrRevoked, and
// that the middleware answers 401 "token revoked". It runs on a synctest
// bubble's clock.
func TestVerifyRefusesRevoked(t *testing.T) {
	key := newKey(t, jose.ES256, "k1")
	for _, tt := range []struct {
		name  string
		kind  revocation.Kind // of the event, at the token's issue time
		id    string
		noKid bool // the token's header leaves "kid" out
	}{
		{name: "jti", kind: revocation.KindToken, id: "jti-1"},
		{name: "sid", kind: revocation.KindSession, id: "s_1"},
		{name: "sub issued before", kind: revocation.KindSubject, id: "u_1"},
		{name: "kid", kind: revocation.KindKey, id: "k1"},
		// A revoked key's tokens cannot escape by leaving "kid" out: the
		// key that verifies them is the one revoked.
		{name: "kid left out of the header", kind: revocation.KindKey, id: "k1", noKid: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				now := time.Now()
				n := memnet.New()
				fs := newFeedServerOn(t, n, "feed-a.test")
				v := feedVerifier(t, fs, key, verifier.Config{HTTPClient: n.Client()})
				tok := mintOpts(t, key, claimsAt(now), jose.SignOptions{Type: jwt.TypeAccessToken, OmitKeyID: tt.noKid})
				if _, err := v.Verify(t.Context(), tok); err != nil {
					t.Fatalf("Verify before revocation = %v, want nil", err)
				}
				fs.add(revokedEvent(tt.kind, tt.id, now))
				waitFor(t, time.Minute, "token refused", func() bool {
					_, err := v.Verify(t.Context(), tok)
					return errors.Is(err, revocation.ErrRevoked)
				})
				h := v.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					t.Error("handler reached with a revoked token")
				}))
				rec := httptest.NewRecorder()
				req := httptest.NewRequest("GET", "/", nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusUnauthorized || !containsAll(rec.Body.String(), `"invalid_token"`, `"token revoked"`) {
					t.Errorf("Require(revoked token) = %d %s, want 401 invalid_token \"token revoked\"", rec.Code, rec.Body)
				}
			})
		})
	}
	t.Run("sub issued after", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			now := time.Now()
			n := memnet.New()
			fs := newFeedServerOn(t, n, "feed-a.test")
			fs.add(revokedEvent(revocation.KindSubject, "u_1", now.Add(-time.Second)))
			v := feedVerifier(t, fs, key, verifier.Config{HTTPClient: n.Client()})
			if _, err := v.Verify(t.Context(), mint(t, key, claimsAt(now))); err != nil {
				t.Errorf("Verify(token issued after the subject's revocation) = %v, want nil", err)
			}
		})
	})
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// TestStalenessPolicy takes the feed down and lets the clock pass the
// staleness budget: fail closed refuses with ErrRevocationsStale and the
// middleware answers 503; fail open keeps verifying. It runs on a
// synctest bubble's clock.
func TestStalenessPolicy(t *testing.T) {
	key := newKey(t, jose.ES256, "k1")
	for _, failOpen := range []bool{false, true} {
		t.Run(fmt.Sprintf("fail open %v", failOpen), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				n := memnet.New()
				fs := newFeedServerOn(t, n, "feed-a.test")
				v := feedVerifier(t, fs, key, verifier.Config{HTTPClient: n.Client(), RevocationStaleAfter: time.Minute, RevocationFailOpen: failOpen})
				tok := mint(t, key, claimsAt(time.Now()))
				if _, err := v.Verify(t.Context(), tok); err != nil {
					t.Fatalf("Verify with a current feed = %v, want nil", err)
				}
				fs.setDown(true) // the last heartbeat was now
				time.Sleep(time.Minute)
				if _, err := v.Verify(t.Context(), tok); err != nil {
					t.Errorf("Verify at the end of the staleness budget = %v, want nil", err)
				}
				time.Sleep(time.Millisecond)
				_, err := v.Verify(t.Context(), tok)
				if failOpen && err != nil {
					t.Errorf("fail open: Verify past the budget = %v, want nil", err)
				}
				if !failOpen {
					if !errors.Is(err, verifier.ErrRevocationsStale) {
						t.Errorf("fail closed: Verify past the budget = %v, want %v", err, verifier.ErrRevocationsStale)
					}
					rec := httptest.NewRecorder()
					req := httptest.NewRequest("GET", "/", nil)
					req.Header.Set("Authorization", "Bearer "+tok)
					v.Require(http.NotFoundHandler()).ServeHTTP(rec, req)
					if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
						t.Errorf("Require with a stale feed = %d, Retry-After %q; want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
					}
				}
				if st := v.Stats().Issuers[0]; !st.FeedStale || st.Feed == nil {
					t.Errorf("Stats() = %+v, want the feed reported stale", st)
				}
				fs.setDown(false)
				waitFor(t, time.Minute, "feed current again", func() bool { return !v.Stats().Issuers[0].FeedStale })
				if _, err := v.Verify(t.Context(), tok); err != nil {
					t.Errorf("Verify once the feed is back = %v, want nil", err)
				}
			})
		})
	}
}

// TestStartOffline starts a verifier before its issuer's JWKS and feed
// answer: tokens are refused until both arrive, then accepted. It runs on
// a synctest bubble's clock.
func TestStartOffline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		key := newKey(t, jose.ES256, "k1")
		n := memnet.New()
		js := newJWKSServerOn(t, n, "auth-a.test", key)
		js.fail(http.StatusServiceUnavailable)
		fs := newFeedServerOn(t, n, "feed-a.test")
		fs.setDown(true)
		v := newVerifier(t, verifier.Config{StartOffline: true, HTTPClient: n.Client(), Issuers: []verifier.Issuer{{
			Issuer: issuerA, Audience: audOrders, JWKSURL: js.URL,
			ClientID: feedClient, ClientSecret: feedSecret, RevocationsURL: fs.url(),
		}}})
		tok := mint(t, key, claimsAt(time.Now()))
		if _, err := v.Verify(t.Context(), tok); !errors.Is(err, jwt.ErrUnknownKey) {
			t.Errorf("Verify before any key = %v, want %v", err, jwt.ErrUnknownKey)
		}
		time.Sleep(time.Minute) // retrying with a backoff
		if v.Stats().Issuers[0].KeysLoaded {
			t.Fatal("keys loaded while the JWKS answers 503")
		}
		js.fail(0)
		waitFor(t, time.Minute, "keys loaded", func() bool { return v.Stats().Issuers[0].KeysLoaded })
		if _, err := v.Verify(t.Context(), tok); !errors.Is(err, verifier.ErrRevocationsStale) {
			t.Errorf("Verify before the feed caught up = %v, want %v", err, verifier.ErrRevocationsStale)
		}
		fs.setDown(false)
		waitFor(t, time.Minute, "token accepted", func() bool {
			_, err := v.Verify(t.Context(), tok)
			return err == nil
		})
	})
}

// TestNewFailsFastWithoutFeed checks the default: New refuses to start a
// service whose feed does not answer, after FetchTimeout (on a synctest
// bubble's clock).
func TestNewFailsFastWithoutFeed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		key := newKey(t, jose.ES256, "k1")
		n := memnet.New()
		fs := newFeedServerOn(t, n, "feed-a.test")
		fs.setDown(true)
		start := time.Now()
		_, err := verifier.New(t.Context(), verifier.Config{FetchTimeout: 500 * time.Millisecond, HTTPClient: n.Client(), Issuers: []verifier.Issuer{{
			Issuer: issuerA, Audience: audOrders, Keys: keySet(t, key),
			ClientID: feedClient, ClientSecret: feedSecret, RevocationsURL: fs.url(),
		}}})
		if err == nil {
			t.Fatal("New with an unreachable feed = nil error, want one")
		}
		if d := time.Since(start); d != 500*time.Millisecond {
			t.Errorf("New with an unreachable feed failed after %v, want FetchTimeout (500ms)", d)
		}
		_, err = verifier.New(t.Context(), verifier.Config{Issuers: []verifier.Issuer{{
			Issuer: issuerA, Audience: audOrders, Keys: keySet(t, key), ClientID: feedClient,
		}}})
		if err == nil {
			t.Error("New with a client ID and no secret = nil error, want one")
		}
	})
}

// introspector is an RFC 7662 endpoint answering with active.
func introspector(t *testing.T, active *bool, status int) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok || id != feedClient || secret != feedSecret || r.FormValue("token") == "" {
			http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
			return
		}
		if status != 0 {
			http.Error(w, "down", status)
			return
		}
		fmt.Fprintf(w, `{"active":%v}`, *active)
	}))
	t.Cleanup(s.Close)
	return s
}

// TestRequireFresh checks the per-route strict mode against an
// introspection endpoint.
func TestRequireFresh(t *testing.T) {
	key := newKey(t, jose.ES256, "k1")
	fs := newFeedServer(t)
	tok := mint(t, key, claimsAt(time.Now()))
	for _, tt := range []struct {
		name   string
		active bool
		status int
		want   int
	}{
		{"active", true, 0, http.StatusOK},
		{"inactive", false, 0, http.StatusUnauthorized},
		{"issuer down", true, http.StatusBadGateway, http.StatusServiceUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			active := tt.active
			is := introspector(t, &active, tt.status)
			v := newVerifier(t, verifier.Config{Issuers: []verifier.Issuer{{
				Issuer: issuerA, Audience: audOrders, Keys: keySet(t, key),
				ClientID: feedClient, ClientSecret: feedSecret, RevocationsURL: fs.url(), IntrospectionURL: is.URL,
			}}})
			h := v.RequireFresh(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }))
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "/", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			h.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("RequireFresh = %d %s, want %d", rec.Code, rec.Body, tt.want)
			}
		})
	}
}

// denyListSize is the deny list of the budget test and benchmark.
const denyListSize = 100_000

// bigFeed is a feed server holding denyListSize revocations, none of
// which covers the tokens of claimsAt.
func bigFeed(t testing.TB) *feedServer {
	t.Helper()
	fs := newFeedServer(t)
	at := time.Now().Add(-time.Hour).Truncate(time.Second)
	es := make([]revocation.Event, 0, denyListSize)
	for i := range denyListSize {
		kind := []revocation.Kind{revocation.KindSession, revocation.KindToken, revocation.KindSubject}[i%3]
		es = append(es, revocation.Event{Kind: kind, ID: fmt.Sprintf("%s-%d", kind, i), At: at, Expires: at.Add(24 * time.Hour)})
	}
	fs.add(es...)
	return fs
}

// TestAllocationsWithDenyList holds a cache hit to zero allocations with
// a deny list of 100,000 entries.
func TestAllocationsWithDenyList(t *testing.T) {
	skipUnderRace(t)
	key := newKey(t, jose.ES256, "k1")
	v := feedVerifier(t, bigFeed(t), key, verifier.Config{})
	if n := v.Stats().Issuers[0].Feed.Entries; n != denyListSize {
		t.Fatalf("deny list entries = %d, want %d", n, denyListSize)
	}
	tok := mint(t, key, claimsAt(time.Now()))
	ctx := t.Context()
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if n := testing.AllocsPerRun(1000, func() {
		if _, err := v.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Verify (cache hit, 100k deny-list entries) allocates %v times, want 0", n)
	}
}

// BenchmarkVerifyDenyList measures the deny list's share of Verify: a
// cache hit without a feed and with a feed holding 100,000 revocations.
//
//	go test ./verifier -run '^$' -bench VerifyDenyList -benchmem -count 6
func BenchmarkVerifyDenyList(b *testing.B) {
	key := newKey(b, jose.ES256, "k1")
	tok := mint(b, key, claimsAt(time.Now()))
	for _, mode := range []string{"no feed", "feed 100k"} {
		b.Run(mode, func(b *testing.B) {
			var v *verifier.Verifier
			if mode == "no feed" {
				v = newVerifier(b, verifier.Config{Issuers: []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keySet(b, key)}}})
			} else {
				v = feedVerifier(b, bigFeed(b), key, verifier.Config{})
			}
			ctx := b.Context()
			if _, err := v.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
