package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr is the client's IP address for throttling and the session
// list: the peer's, or behind trusted proxies the one forwardedClient
// finds in X-Forwarded-For.
func (s *Server) clientAddr(r *http.Request) string {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		// Not an IP:port (a test's or a Unix socket's peer): as given.
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			return r.RemoteAddr
		}
		return host
	}
	return forwardedClient(peer.Addr(), r.Header.Values("X-Forwarded-For"), s.cfg.TrustedProxies).String()
}

// forwardedClient returns the client address of a request that reached
// the server from peer with the X-Forwarded-For header fields xff, as
// nginx's real-IP module does with real_ip_recursive on:
//
//   - If peer is not in trusted, it is the client and X-Forwarded-For is
//     not read at all: anyone can write that header.
//   - Otherwise the addresses in X-Forwarded-For (several fields are one
//     list, joined in order) are walked from the right, the hop nearest
//     the server, leftwards. Each hop a trusted proxy appended is the
//     address that proxy's own peer had; the first hop that is not a
//     trusted proxy is the client. Everything to its left was written by
//     the client or by proxies nobody vouches for, and is ignored.
//   - If every hop is trusted, the left-most is the client.
//   - A hop that is not an IP address (optionally with a port, as some
//     proxies write it) ends the walk: the client is then the last
//     address reached, a trusted proxy. A malformed entry can only be
//     reached after trusted hops only, so a trusted proxy wrote it (or
//     passed it on): the address that proxy was reached from is all that
//     can be vouched for. Empty list members ("a,,b", a trailing comma)
//     are skipped.
//
// IPv4-mapped IPv6 addresses are unmapped and zones dropped, so one
// client has one address whatever the notation.
func forwardedClient(peer netip.Addr, xff []string, trusted []netip.Prefix) netip.Addr {
	client := canonical(peer)
	if !isTrusted(client, trusted) {
		return client
	}
	for i := len(xff) - 1; i >= 0; i-- {
		list := xff[i]
		for list != "" {
			var hop string
			if j := strings.LastIndexByte(list, ','); j >= 0 {
				list, hop = list[:j], list[j+1:]
			} else {
				list, hop = "", list
			}
			hop = strings.TrimSpace(hop)
			if hop == "" {
				continue
			}
			a, ok := parseHop(hop)
			if !ok {
				return client
			}
			client = a
			if !isTrusted(client, trusted) {
				return client
			}
		}
	}
	return client
}

// parseHop parses one X-Forwarded-For entry: an IP address, possibly
// bracketed if IPv6, or an IP address with a port ("192.0.2.1:4711",
// "[2001:db8::1]:4711"), as proxies variously write them.
func parseHop(s string) (netip.Addr, bool) {
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		s = s[1 : len(s)-1]
		if a, err := netip.ParseAddr(s); err == nil && a.Is6() {
			return canonical(a), true
		}
		return netip.Addr{}, false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return canonical(a), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return canonical(ap.Addr()), true
	}
	return netip.Addr{}, false
}

func canonical(a netip.Addr) netip.Addr { return a.Unmap().WithZone("") }

// isTrusted reports whether a, canonical, is in one of the trusted
// networks, written in IPv4 or in IPv4-mapped IPv6 notation.
func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	mapped := a
	if a.Is4() {
		mapped = netip.AddrFrom16(a.As16())
	}
	for _, p := range trusted {
		if p.Contains(a) || p.Contains(mapped) {
			return true
		}
	}
	return false
}
