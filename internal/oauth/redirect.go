package oauth

import "strings"

// loopbackPrefixes are the loopback redirect URIs' scheme and host whose
// port may vary (RFC 8252 §7.3: a native app listens on an ephemeral
// port). "localhost" is not among them (RFC 8252 §8.3): its name may
// resolve elsewhere, and so it is matched exactly.
var loopbackPrefixes = []string{"http://127.0.0.1", "http://[::1]"}

// MatchRedirectURI reports whether uri is one of the registered redirect
// URIs: the same string exactly (RFC 9700 §2.1: no prefix, case or path
// leeway), except that a loopback IP literal URI matches whatever its
// port (RFC 8252 §7.3) when everything else is the same string.
func MatchRedirectURI(registered []string, uri string) bool {
	for _, r := range registered {
		if r == uri {
			return true
		}
	}
	key, ok := loopbackKey(uri)
	if !ok {
		return false
	}
	for _, r := range registered {
		if k, ok := loopbackKey(r); ok && k == key {
			return true
		}
	}
	return false
}

// loopbackKey returns u without its port, if u is a loopback IP literal
// http URI whose authority is the host with at most a port of digits
// (nothing else: no user information), and false otherwise.
func loopbackKey(u string) (string, bool) {
	for _, prefix := range loopbackPrefixes {
		if !strings.HasPrefix(u, prefix) {
			continue
		}
		rest := u[len(prefix):]
		end := strings.IndexAny(rest, "/?#")
		if end < 0 {
			end = len(rest)
		}
		port := rest[:end]
		switch {
		case port == "":
		case len(port) >= 2 && len(port) <= 6 && port[0] == ':' && digits(port[1:]):
		default:
			return "", false
		}
		return prefix + rest[end:], true
	}
	return "", false
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
