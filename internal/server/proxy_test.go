package server_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"testing"

	"github.com/latch-auth/latch/internal/login"
	"github.com/latch-auth/latch/internal/store"
)

// TestLoginThrottleBehindProxies runs the per-address login throttle
// behind two trusted proxies: a CDN edge (198.51.100.9) and, as the
// test's peer, a load balancer on 127.0.0.1. An attacker who varies the
// X-Forwarded-For it sends is still throttled by its own address, and
// the attacker's lock does not lock out another client behind the same
// proxies.
func TestLoginThrottleBehindProxies(t *testing.T) {
	const addressLimit = 3
	a := newAPI(t, options{
		trustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("198.51.100.0/24")},
		login:          login.Config{AddressLimit: addressLimit, AccountLimit: 100},
	})
	a.addUser("alice@example.com")
	bob := a.addUser("bob@example.com")
	const (
		edge     = "198.51.100.9"
		attacker = "203.0.113.7"
		user     = "203.0.113.50"
	)
	// The attacker guesses alice's password, each time claiming another
	// address; the edge appends the attacker's, the load balancer the
	// edge's.
	attempt := func(i int) response {
		spoof := fmt.Sprintf("192.0.2.%d", i+1)
		h := http.Header{"X-Forwarded-For": {spoof + ", " + attacker + ", " + edge}}
		return a.do(request{method: "POST", path: "/v1/login", header: h,
			body: jsonBody(map[string]string{"email": "alice@example.com", "password": "wrong password " + spoof})})
	}
	for i := range addressLimit - 1 {
		wantError(t, attempt(i), http.StatusUnauthorized, "invalid_credentials")
	}
	// The failure that reaches the limit locks the attacker's address;
	// the next attempt, with yet another claimed address, is refused
	// before the password is checked.
	for i := addressLimit - 1; i <= addressLimit; i++ {
		r := attempt(i)
		wantError(t, r, http.StatusTooManyRequests, "too_many_requests")
		if r.header.Get("Retry-After") == "" {
			t.Errorf("%s = %v without Retry-After", r.req, r)
		}
	}
	th, err := a.db.UpdateThrottle(t.Context(), "address:"+attacker, func(th store.Throttle) (store.Throttle, error) { return th, nil })
	if err != nil || th.Failures != addressLimit {
		t.Errorf("throttle of address:%s = %+v, %v; want %d failures", attacker, th, err, addressLimit)
	}

	// Bob, behind the same edge and load balancer, is not locked out, and
	// his session shows his own address.
	h := http.Header{"X-Forwarded-For": {user + ", " + edge}}
	wantStatus(t, a.do(request{method: "POST", path: "/v1/login", header: h,
		body: jsonBody(map[string]string{"email": "bob@example.com", "password": testPassword})}), http.StatusOK)
	list, err := a.db.ListSessions(t.Context(), bob.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].IP != user {
		t.Errorf("bob's sessions = %+v, want one from %s", list, user)
	}
}
