package verifier_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/memnet"
	"github.com/latch-auth/latch/internal/testclock"
	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/verifier"
)

// clock is the shared settable test clock.
type clock = testclock.Clock

// Names shared by the tests.
const (
	issuerA   = "https://auth-a.example.com"
	issuerB   = "https://auth-b.example.com"
	audOrders = "orders"
	audBill   = "billing"
)

// epoch is the fake clock's starting time: tests that take Config.Now
// mint and check tokens against it, not against the wall clock.
var epoch = time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)

func newClock() *clock { return testclock.New(epoch) }

// jwksServer publishes a JWKS over HTTP and can be told to rotate its keys,
// fail, or answer slowly. It counts the requests it receives.
type jwksServer struct {
	URL     string
	Close   func() // stops the server; it is also stopped when the test ends
	fetches atomic.Int64

	mu           sync.Mutex
	body         []byte
	cacheControl string
	status       int           // 0: 200 with the body
	delay        time.Duration // before answering
}

// newJWKSServer serves the public halves of keys, with no Cache-Control
// header unless told otherwise.
func newJWKSServer(t testing.TB, keys ...*jose.Key) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.setKeys(t, keys...)
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL, s.Close = srv.URL, srv.Close
	return s
}

// newJWKSServerOn is newJWKSServer on the in-memory network n at host, for
// a test in a synctest bubble: its verifier takes n.Client() as
// HTTPClient.
func newJWKSServerOn(t testing.TB, n *memnet.Network, host string, keys ...*jose.Key) *jwksServer {
	t.Helper()
	s := &jwksServer{}
	s.setKeys(t, keys...)
	srv, err := n.Serve(host, http.HandlerFunc(s.serve))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	s.URL, s.Close = srv.URL, srv.Close
	return s
}

func (s *jwksServer) serve(w http.ResponseWriter, r *http.Request) {
	s.fetches.Add(1)
	s.mu.Lock()
	body, cc, status, delay := s.body, s.cacheControl, s.status, s.delay
	s.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
	}
	if status != 0 {
		http.Error(w, "unavailable", status)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	if cc != "" {
		w.Header().Set("Cache-Control", cc)
	}
	w.Write(body)
}

// setKeys replaces the published keys.
func (s *jwksServer) setKeys(t testing.TB, keys ...*jose.Key) {
	t.Helper()
	var pub []*jose.Key
	for _, k := range keys {
		p, err := k.Public()
		if err != nil {
			t.Fatal(err)
		}
		pub = append(pub, p)
	}
	set, err := jose.NewKeySet(pub...)
	if err != nil {
		t.Fatal(err)
	}
	body, err := set.PublicJWKS()
	if err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.body = body
	s.mu.Unlock()
}

func (s *jwksServer) setCacheControl(cc string) {
	s.mu.Lock()
	s.cacheControl = cc
	s.mu.Unlock()
}

// fail makes every request answer status; 0 restores service.
func (s *jwksServer) fail(status int) {
	s.mu.Lock()
	s.status = status
	s.mu.Unlock()
}

// slow delays every answer by d; 0 restores prompt answers.
func (s *jwksServer) slow(d time.Duration) {
	s.mu.Lock()
	s.delay = d
	s.mu.Unlock()
}

func (s *jwksServer) count() int64 { return s.fetches.Load() }

// waitFetches waits until the server has answered more than n requests.
// In a synctest bubble it waits on the bubble's clock.
func (s *jwksServer) waitFetches(t testing.TB, n int64, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for s.count() <= n {
		if time.Now().After(deadline) {
			t.Fatalf("JWKS fetches = %d after %v, want more than %d", s.count(), within, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// newKey returns a fresh private key for alg with key ID kid.
func newKey(t testing.TB, alg jose.Algorithm, kid string) *jose.Key {
	t.Helper()
	k, err := jose.GenerateKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	return k.WithKeyID(kid)
}

// keySet returns the public halves of keys (HMAC keys as they are).
func keySet(t testing.TB, keys ...*jose.Key) *jose.KeySet {
	t.Helper()
	var pub []*jose.Key
	for _, k := range keys {
		if !k.IsSymmetric() {
			var err error
			if k, err = k.Public(); err != nil {
				t.Fatal(err)
			}
		}
		pub = append(pub, k)
	}
	set, err := jose.NewKeySet(pub...)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// claimsAt are valid access-token claims from issuerA for audOrders at now.
func claimsAt(now time.Time) jwt.Claims {
	return jwt.Claims{
		Issuer:    issuerA,
		Subject:   "u_1",
		Audience:  jwt.Audience{audOrders},
		ExpiresAt: now.Add(10 * time.Minute),
		NotBefore: now,
		IssuedAt:  now,
		ID:        "jti-1",
		ClientID:  "latch",
		SessionID: "s_1",
		Scope:     "orders:read orders:write",
		Roles:     []string{"clerk"},
	}
}

// mint signs c as an access token ("typ": "at+jwt").
func mint(t testing.TB, key *jose.Key, c jwt.Claims) string {
	t.Helper()
	return mintOpts(t, key, c, jose.SignOptions{Type: jwt.TypeAccessToken})
}

func mintOpts(t testing.TB, key *jose.Key, c jwt.Claims, opts jose.SignOptions) string {
	t.Helper()
	tok, err := jwt.Sign(key, &c, opts)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// mintN returns n distinct tokens (distinct jti) from claims c.
func mintN(t testing.TB, key *jose.Key, c jwt.Claims, n int) []string {
	t.Helper()
	toks := make([]string, n)
	for i := range toks {
		c.ID = "jti-" + strconv.Itoa(i)
		toks[i] = mint(t, key, c)
	}
	return toks
}

// newVerifier builds a Verifier and closes it when the test ends.
func newVerifier(t testing.TB, cfg verifier.Config) *verifier.Verifier {
	t.Helper()
	v, err := verifier.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(v.Close)
	return v
}

// logRecorder is a slog.Handler that keeps the records it is given.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }

func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r.Clone())
	return nil
}

func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logRecorder) WithGroup(string) slog.Handler      { return h }

// count returns how many records at level have a message containing msg.
func (h *logRecorder) count(level slog.Level, msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, r := range h.recs {
		if r.Level == level && strings.Contains(r.Message, msg) {
			n++
		}
	}
	return n
}

// text returns every record's message and attributes, for leak checks.
func (h *logRecorder) text() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var b strings.Builder
	for _, r := range h.recs {
		b.WriteString(r.Message)
		r.Attrs(func(a slog.Attr) bool {
			b.WriteString(" " + a.String())
			return true
		})
		b.WriteString("\n")
	}
	return b.String()
}

// waitFor polls cond until it holds or within passes. In a synctest
// bubble it polls on the bubble's clock.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: still false after %v", what, within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
