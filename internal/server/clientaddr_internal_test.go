package server

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

// TestForwardedClient is the attack table of the client address: what a
// client can and cannot make the server believe with X-Forwarded-For.
func TestForwardedClient(t *testing.T) {
	// The server sits behind a load balancer (10.0.0.2) in 10.0.0.0/8,
	// itself behind a CDN whose edges are in 198.51.100.0/24.
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("198.51.100.0/24"), netip.MustParsePrefix("2001:db8:cd::/48")}
	tests := []struct {
		name    string
		peer    string
		xff     []string
		trusted []netip.Prefix
		want    string
	}{
		// Nothing trusted: X-Forwarded-For is never read.
		{name: "no proxies, no header", peer: "203.0.113.7", want: "203.0.113.7"},
		{name: "no proxies, spoofed header", peer: "203.0.113.7", xff: []string{"192.0.2.1"}, want: "203.0.113.7"},
		// An untrusted peer that sends the header, as a proxy would, is
		// still only itself.
		{name: "untrusted peer spoofs", peer: "203.0.113.7", xff: []string{"192.0.2.1"}, trusted: proxies, want: "203.0.113.7"},
		{name: "untrusted peer spoofs a trusted chain", peer: "203.0.113.7", xff: []string{"192.0.2.1, 10.0.0.9"}, trusted: proxies, want: "203.0.113.7"},
		// Trusted peer without the header: the peer is the client (a
		// health check from the load balancer, say).
		{name: "trusted peer, no header", peer: "10.0.0.2", trusted: proxies, want: "10.0.0.2"},
		{name: "trusted peer, empty header", peer: "10.0.0.2", xff: []string{""}, trusted: proxies, want: "10.0.0.2"},
		// One proxy: it appended the client's address.
		{name: "one proxy", peer: "10.0.0.2", xff: []string{"203.0.113.7"}, trusted: proxies, want: "203.0.113.7"},
		// The client sent a forged chain; the proxy appended its real
		// address: the right-most untrusted address wins, not the left-most.
		{name: "forged chain behind one proxy", peer: "10.0.0.2", xff: []string{"192.0.2.1, 192.0.2.2, 203.0.113.7"}, trusted: proxies, want: "203.0.113.7"},
		// A forged chain naming trusted proxies does not help either: the
		// walk stops at the real client, right of the forgery.
		{name: "forged trusted hops behind one proxy", peer: "10.0.0.2", xff: []string{"192.0.2.1, 10.0.0.3, 203.0.113.7"}, trusted: proxies, want: "203.0.113.7"},
		// Two proxies: CDN edge, then the load balancer (the peer).
		{name: "CDN then load balancer", peer: "10.0.0.2", xff: []string{"203.0.113.7, 198.51.100.9"}, trusted: proxies, want: "203.0.113.7"},
		{name: "forged chain behind two proxies", peer: "10.0.0.2", xff: []string{"192.0.2.1, 203.0.113.7, 198.51.100.9"}, trusted: proxies, want: "203.0.113.7"},
		// Several header fields are one list, in order.
		{name: "split across fields", peer: "10.0.0.2", xff: []string{"192.0.2.1", "203.0.113.7, 198.51.100.9"}, trusted: proxies, want: "203.0.113.7"},
		{name: "split across fields, forged last field ignored", peer: "10.0.0.2", xff: []string{"192.0.2.1, 203.0.113.7", "198.51.100.9"}, trusted: proxies, want: "203.0.113.7"},
		// Every hop trusted: the left-most is the client (a request from
		// inside the proxies' network).
		{name: "all hops trusted", peer: "10.0.0.2", xff: []string{"10.0.0.7, 198.51.100.9"}, trusted: proxies, want: "10.0.0.7"},
		// A malformed entry ends the walk at the last trusted hop.
		{name: "garbage as the last hop", peer: "10.0.0.2", xff: []string{"203.0.113.7, not-an-ip"}, trusted: proxies, want: "10.0.0.2"},
		{name: "garbage behind trusted hop", peer: "10.0.0.2", xff: []string{"203.0.113.7, garbage, 198.51.100.9"}, trusted: proxies, want: "198.51.100.9"},
		{name: "garbage left of the client", peer: "10.0.0.2", xff: []string{"garbage, 203.0.113.7"}, trusted: proxies, want: "203.0.113.7"},
		{name: "unknown keyword", peer: "10.0.0.2", xff: []string{"unknown"}, trusted: proxies, want: "10.0.0.2"},
		{name: "network instead of address", peer: "10.0.0.2", xff: []string{"203.0.113.0/24"}, trusted: proxies, want: "10.0.0.2"},
		{name: "empty members skipped", peer: "10.0.0.2", xff: []string{"203.0.113.7,, ,198.51.100.9,"}, trusted: proxies, want: "203.0.113.7"},
		// Notations: ports, brackets, IPv6, IPv4-mapped, zones.
		{name: "hop with port", peer: "10.0.0.2", xff: []string{"203.0.113.7:4711"}, trusted: proxies, want: "203.0.113.7"},
		{name: "IPv6 hop", peer: "10.0.0.2", xff: []string{"2001:db8::7"}, trusted: proxies, want: "2001:db8::7"},
		{name: "bracketed IPv6 hop", peer: "10.0.0.2", xff: []string{"[2001:db8::7]"}, trusted: proxies, want: "2001:db8::7"},
		{name: "bracketed IPv6 hop with port", peer: "10.0.0.2", xff: []string{"[2001:db8::7]:4711"}, trusted: proxies, want: "2001:db8::7"},
		{name: "bracketed IPv4 refused", peer: "10.0.0.2", xff: []string{"[203.0.113.7]"}, trusted: proxies, want: "10.0.0.2"},
		{name: "IPv4-mapped hop", peer: "10.0.0.2", xff: []string{"::ffff:203.0.113.7"}, trusted: proxies, want: "203.0.113.7"},
		{name: "IPv4-mapped trusted hop", peer: "10.0.0.2", xff: []string{"203.0.113.7, ::ffff:198.51.100.9"}, trusted: proxies, want: "203.0.113.7"},
		{name: "IPv4-mapped peer", peer: "::ffff:10.0.0.2", xff: []string{"203.0.113.7"}, trusted: proxies, want: "203.0.113.7"},
		{name: "IPv6 proxy", peer: "2001:db8:cd::1", xff: []string{"203.0.113.7"}, trusted: proxies, want: "203.0.113.7"},
		{name: "zone dropped", peer: "10.0.0.2", xff: []string{"fe80::1%eth0"}, trusted: proxies, want: "fe80::1"},
		{name: "network written IPv4-mapped", peer: "10.0.0.2", xff: []string{"203.0.113.7"}, trusted: []netip.Prefix{netip.MustParsePrefix("::ffff:10.0.0.0/104")}, want: "203.0.113.7"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := forwardedClient(netip.MustParseAddr(tt.peer), tt.xff, tt.trusted)
			if got != netip.MustParseAddr(tt.want) {
				t.Errorf("forwardedClient(%s, %q, %v) = %s, want %s", tt.peer, tt.xff, tt.trusted, got, tt.want)
			}
		})
	}
}

// TestClientAddrRequest checks clientAddr on requests: the header fields
// are read in order, and a peer that is no IP address is kept as it is.
func TestClientAddrRequest(t *testing.T) {
	s := &Server{cfg: Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}}
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.2:33000"
	r.Header.Add("X-Forwarded-For", "192.0.2.1")
	r.Header.Add("X-Forwarded-For", "203.0.113.7")
	if got := s.clientAddr(r); got != "203.0.113.7" {
		t.Errorf("clientAddr(peer 10.0.0.2, X-Forwarded-For 192.0.2.1 then 203.0.113.7) = %s, want 203.0.113.7", got)
	}
	r.RemoteAddr = "[::ffff:203.0.113.9]:33000"
	if got := s.clientAddr(r); got != "203.0.113.9" {
		t.Errorf("clientAddr(untrusted IPv4-mapped peer) = %s, want 203.0.113.9", got)
	}
	r.RemoteAddr = "@"
	if got := s.clientAddr(r); got != "@" {
		t.Errorf("clientAddr(peer %q) = %s, want it as it is", r.RemoteAddr, got)
	}
}
