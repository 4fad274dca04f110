package server_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/login"
	"github.com/latch-auth/latch/internal/password"
)

// TestLoginShedsWhenHashingIsSaturated: with one hashing slot and a tiny
// queue timeout, concurrent logins beyond the slot are answered 503 with
// Retry-After instead of queueing past the write timeout, and the store is
// not touched by them.
func TestLoginShedsWhenHashingIsSaturated(t *testing.T) {
	a := newAPI(t, options{
		hashParams: password.Params{Memory: 64 * 1024, Time: 3},
		hashSlots:  1,
		login:      login.Config{HashWait: 5 * time.Millisecond},
	})
	u := a.addUser("shed@example.com")
	before := a.snapshot(u)
	const n = 4
	var wg sync.WaitGroup
	results := make([]response, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			results[i] = a.do(request{method: "POST", path: "/v1/login", body: jsonBody(map[string]string{"email": u.Email, "password": "wrong password here"})})
		})
	}
	close(start)
	wg.Wait()
	var shed, answered int
	for _, r := range results {
		switch r.status {
		case http.StatusServiceUnavailable:
			shed++
			wantError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable")
			if r.header.Get("Retry-After") == "" {
				t.Errorf("%s: 503 without Retry-After", r)
			}
		case http.StatusUnauthorized:
			answered++
		default:
			t.Errorf("%s: status %d, want 401 or 503", r, r.status)
		}
	}
	if shed == 0 || answered == 0 {
		t.Errorf("shed %d, answered %d of %d concurrent logins; want both > 0", shed, answered, n)
	}
	// Only the answered attempts count as failures: the shed ones never
	// reached the password check.
	after := a.snapshot(u)
	if got := after.throttles[0].Failures - before.throttles[0].Failures; got != answered {
		t.Errorf("account failures grew by %d, want %d (the answered attempts only)", got, answered)
	}
}
