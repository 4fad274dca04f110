package verifier_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/verifier"
)

var nonceKey = []byte("0123456789abcdef0123456789abcdef-nonce")

func newNonces(t *testing.T, key []byte, now *time.Time) *verifier.DPoPNonces {
	t.Helper()
	n, err := verifier.NewDPoPNonces(verifier.DPoPNonceConfig{Key: key, Period: time.Minute, Now: func() time.Time { return *now }})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDPoPNonces(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	n := newNonces(t, nonceKey, &now)
	cur := n.Nonce()
	if len(cur) != 24 || strings.ContainsAny(cur, "\" \\") {
		t.Fatalf("Nonce() = %q, want 24 base64url characters", cur)
	}
	other := newNonces(t, []byte(strings.Repeat("k", 32)), &now)
	if other.Nonce() == cur {
		t.Fatalf("nonces of two keys are equal: %q", cur)
	}
	// Another node with the same key: the same nonce, no shared state.
	if peer := newNonces(t, nonceKey, &now); peer.Nonce() != cur || !peer.Valid(cur) {
		t.Errorf("a node with the same key hands out %q, want %q", peer.Nonce(), cur)
	}
	tests := []struct {
		name  string
		later time.Duration
		nonce string
		want  bool
	}{
		{"current period", 0, cur, true},
		{"previous period", time.Minute, cur, true},
		{"two periods old", 2 * time.Minute, cur, false},
		{"empty", 0, "", false},
		{"wrong", 0, "AAAAAAAAAAAAAAAAAAAAAAAA", false},
		{"another key's", 0, other.Nonce(), false},
		{"prefix of the current", 0, cur[:23], false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := now.Add(tt.later)
			n := newNonces(t, nonceKey, &at)
			if got := n.Valid(tt.nonce); got != tt.want {
				t.Errorf("Valid(%q) %v later = %v, want %v", tt.nonce, tt.later, got, tt.want)
			}
		})
	}
	later := now.Add(time.Minute)
	if newNonces(t, nonceKey, &later).Nonce() == cur {
		t.Error("the next period hands out the same nonce")
	}
	if _, err := verifier.NewDPoPNonces(verifier.DPoPNonceConfig{Key: []byte("short")}); !errors.Is(err, verifier.ErrDPoPNonceKey) {
		t.Errorf("NewDPoPNonces(short key) error = %v, want ErrDPoPNonceKey", err)
	}
}

func TestDPoPCheckerNonce(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	nonces := newNonces(t, nonceKey, &now)
	c := verifier.NewDPoPChecker(verifier.DPoPConfig{Now: func() time.Time { return now }, Nonces: nonces})
	key := newKey(t, jose.ES256, "")
	req := verifier.DPoPRequest{Method: "POST", URL: "https://as.example/token"}
	cur := nonces.Nonce()
	prevNow := now.Add(-time.Minute)
	prev := newNonces(t, nonceKey, &prevNow).Nonce()
	oldNow := now.Add(-2 * time.Minute)
	old := newNonces(t, nonceKey, &oldNow).Nonce()
	otherSecret := newNonces(t, []byte(strings.Repeat("z", 32)), &now).Nonce()
	tests := []struct {
		name  string
		nonce string
		ok    bool
	}{
		{"current period", cur, true},
		{"previous period", prev, true},
		{"missing", "", false},
		{"wrong", "not-a-nonce", false},
		{"from an old period", old, false},
		{"from another server secret", otherSecret, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := proof(t, key, verifier.DPoPProofClaims{Method: "POST", URL: req.URL, IssuedAt: now, Nonce: tt.nonce})
			_, err := c.Check(p, req)
			if tt.ok {
				if err != nil {
					t.Fatalf("Check(nonce %q) = %v, want nil", tt.nonce, err)
				}
				return
			}
			var ne *verifier.DPoPNonceError
			if !errors.Is(err, verifier.ErrDPoPNonce) || !errors.As(err, &ne) || ne.Nonce != cur {
				t.Fatalf("Check(nonce %q) error = %v, want a DPoPNonceError with the current nonce", tt.nonce, err)
			}
			if errors.Is(err, verifier.ErrDPoPProof) {
				t.Errorf("Check(nonce %q) error %v matches ErrDPoPProof, want use_dpop_nonce alone", tt.nonce, err)
			}
			// A proof refused for its nonce is not remembered: the
			// client's retry is a new proof anyway, but the refusal must
			// not cost cache room.
		})
	}
}

// TestDPoPMiddlewareNonce: a resource server that requires nonces answers
// a proof without one 401 use_dpop_nonce with the nonce in DPoP-Nonce
// (RFC 9449 §9), and accepts the retry.
func TestDPoPMiddlewareNonce(t *testing.T) {
	now := time.Now()
	nonces := newNonces(t, nonceKey, &now)
	key := newKey(t, jose.ES256, "k1")
	v := newVerifier(t, verifier.Config{
		Issuers: []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keySet(t, key)}},
		DPoP:    verifier.DPoPConfig{Nonces: nonces},
	})
	client, _ := ecKey(t)
	c := claimsAt(time.Now())
	c.Confirmation.JKT = verifier.Thumbprint(client)
	tok := mint(t, key, c)
	rec := func(nonce string) *http.Response {
		t.Helper()
		p := proof(t, client, verifier.DPoPProofClaims{Method: "GET", URL: "http://rs.example/orders", AccessToken: tok, Nonce: nonce})
		r, _ := http.NewRequestWithContext(t.Context(), "GET", "http://rs.example/orders", nil)
		r.Header.Set("Authorization", "DPoP "+tok)
		r.Header.Set("DPoP", p)
		w := httptest.NewRecorder()
		v.Require(whoami).ServeHTTP(w, r)
		return w.Result()
	}
	resp := rec("")
	if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), `DPoP error="use_dpop_nonce"`) {
		t.Fatalf("proof without a nonce = %d %q, want 401 DPoP error=use_dpop_nonce", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	got := resp.Header.Get("DPoP-Nonce")
	if got != nonces.Nonce() {
		t.Fatalf("DPoP-Nonce = %q, want %q", got, nonces.Nonce())
	}
	resp = rec(got)
	if resp.StatusCode != 200 || resp.Header.Get("DPoP-Nonce") != nonces.Nonce() {
		t.Errorf("retry with the nonce = %d, DPoP-Nonce %q; want 200 and the nonce to go on with", resp.StatusCode, resp.Header.Get("DPoP-Nonce"))
	}
	for _, tt := range []struct{ name, nonce string }{
		{"wrong nonce", "AAAAAAAAAAAAAAAAAAAAAAAA"},
		{"nonce of another key", newNonces(t, []byte(strings.Repeat("q", 32)), &now).Nonce()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := rec(tt.nonce)
			if resp.StatusCode != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), `DPoP error="use_dpop_nonce"`) {
				t.Errorf("proof with a %s = %d %q, want 401 use_dpop_nonce", tt.name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

// TestDPoPReplayCacheFlood: a full replay cache neither refuses honest
// proofs nor forgets a proof it could then accept twice.
func TestDPoPReplayCacheFlood(t *testing.T) {
	const entries = 8
	req := verifier.DPoPRequest{Method: "POST", URL: "https://as.example/token"}
	mk := func(k *jose.Key, iat time.Time) string {
		return proof(t, k, verifier.DPoPProofClaims{Method: "POST", URL: req.URL, IssuedAt: iat})
	}
	honest := newKey(t, jose.ES256, "")
	attacker := newKey(t, jose.ES256, "")
	tests := []struct {
		name string
		// every is the time between two flood proofs; each is dated as far
		// ahead as the checker allows.
		every time.Duration
		// honestOK: an honest proof dated now passes after the flood.
		honestOK bool
	}{
		// entries proofs within FutureSkew fill the cache with proofs
		// newer than an honest one: it is refused (fail closed), never
		// accepted unremembered.
		{"flood faster than entries per FutureSkew", 0, false},
		{"flood slower than entries per FutureSkew", time.Second, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := time.Unix(1_800_000_000, 0)
			c := verifier.NewDPoPChecker(verifier.DPoPConfig{Now: func() time.Time { return now }, ReplayEntries: entries})
			first := mk(honest, now.Add(-10*time.Second))
			if _, err := c.Check(first, req); err != nil {
				t.Fatalf("Check(honest proof) = %v", err)
			}
			for i := range 4 * entries {
				now = now.Add(tt.every)
				if _, err := c.Check(mk(attacker, now.Add(verifier.DefaultDPoPFutureSkew)), req); err != nil && !errors.Is(err, verifier.ErrDPoPProof) {
					t.Fatalf("flood proof %d: %v", i, err)
				}
			}
			if n := verifier.ReplayCacheLen(c, ""); n > entries {
				t.Errorf("replay cache holds %d entries, want at most %d", n, entries)
			}
			// The evicted honest proof, inside the iat window still, is
			// refused: it is no newer than any proof the cache holds.
			if _, err := c.Check(first, req); !errors.Is(err, verifier.ErrDPoPProof) {
				t.Errorf("Check(replay of an evicted proof) error = %v, want ErrDPoPProof", err)
			}
			p := mk(honest, now)
			_, err := c.Check(p, req)
			switch {
			case tt.honestOK && err != nil:
				t.Fatalf("Check(honest proof after the flood) = %v, want nil", err)
			case !tt.honestOK && !errors.Is(err, verifier.ErrDPoPProof):
				t.Fatalf("Check(honest proof after a fast flood) error = %v, want ErrDPoPProof", err)
			}
			// A replay inside the window is still refused.
			if _, err := c.Check(p, req); !errors.Is(err, verifier.ErrDPoPProof) {
				t.Errorf("Check(replay after the flood) error = %v, want ErrDPoPProof", err)
			} else if tt.honestOK && !errors.Is(err, verifier.ErrDPoPReplay) {
				t.Errorf("Check(replay after the flood) error = %v, want ErrDPoPReplay", err)
			}
			// Once the flood leaves the window the cache has room again:
			// an honest proof passes, however old within the window.
			now = now.Add(verifier.DefaultDPoPWindow + verifier.DefaultDPoPFutureSkew + time.Second)
			if _, err := c.Check(mk(honest, now.Add(-verifier.DefaultDPoPWindow+time.Second)), req); err != nil {
				t.Errorf("Check(in-window proof after the flood expired) = %v, want nil", err)
			}
			if n := verifier.ReplayCacheLen(c, ""); n != 1 {
				t.Errorf("replay cache holds %d entries after expiry, want 1", n)
			}
		})
	}
}

// TestDPoPReplayCacheEviction checks the cache's eviction order as a
// table: expired entries go first, then the oldest iat.
func TestDPoPReplayCacheEviction(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	key := newKey(t, jose.ES256, "")
	req := verifier.DPoPRequest{Method: "GET", URL: "https://rs.example/x"}
	at := func(d time.Duration) string {
		return proof(t, key, verifier.DPoPProofClaims{Method: "GET", URL: req.URL, IssuedAt: now.Add(d)})
	}
	tests := []struct {
		name    string
		fill    []time.Duration // iat offsets accepted first, into a cache of len(fill)
		advance time.Duration
		next    time.Duration // iat offset of the next proof, after advance
		wantErr error         // nil: accepted
	}{
		{"expired entry dropped, old proof let in", []time.Duration{-50 * time.Second, 0}, 20 * time.Second, -50 * time.Second, nil},
		{"newest proof evicts the oldest", []time.Duration{-30 * time.Second, -20 * time.Second}, 0, 0, nil},
		{"proof older than every entry refused", []time.Duration{-10 * time.Second, -5 * time.Second}, 0, -20 * time.Second, verifier.ErrDPoPProof},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := now
			t.Cleanup(func() { now = start })
			c := verifier.NewDPoPChecker(verifier.DPoPConfig{Now: func() time.Time { return now }, ReplayEntries: len(tt.fill)})
			for _, d := range tt.fill {
				if _, err := c.Check(at(d), req); err != nil {
					t.Fatalf("fill: %v", err)
				}
			}
			now = now.Add(tt.advance)
			_, err := c.Check(at(tt.next), req)
			if tt.wantErr == nil && err != nil || tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Errorf("Check(iat %v) = %v, want %v", tt.next, err, tt.wantErr)
			}
		})
	}
}

func ExampleDPoPNonces() {
	nonces, err := verifier.NewDPoPNonces(verifier.DPoPNonceConfig{Key: nonceKey})
	if err != nil {
		panic(err)
	}
	// Hand nonces.Nonce() out as the DPoP-Nonce header; require it in
	// proofs with DPoPConfig{Nonces: nonces}.
	fmt.Println(nonces.Valid(nonces.Nonce()), nonces.Valid("stale"))
	// Output: true false
}
