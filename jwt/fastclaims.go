package jwt

import (
	"encoding/binary"
	"time"
	"unsafe"

	"github.com/latch-auth/latch/internal/strictjson"
)

// decodeClaimsFast decodes a claims set of the shape issuers write — and
// latch itself writes — in one pass with no general-purpose JSON reader:
// compact JSON (no whitespace), names and strings of printable ASCII with
// no escapes, non-negative integers, true, false, null, and arrays of such
// strings. It reports false, having decided nothing, for anything else, and
// parseClaims then reads the payload with the strict general reader, which
// also produces every error. For a payload it accepts, its result is the
// general reader's (FuzzDecodeClaimsFast checks this); it does not reject
// anything itself, so it cannot refuse a token the general reader takes.
//
// It exists for time spent after an RSA or ECDSA signature check, where
// the decoder runs cold: there the general reader took about 1.6 µs of the
// 2.5 µs latch added to an RS256 check, twice its hot-loop time
// (BENCHMARKS.md).
func decodeClaimsFast(payload []byte, c *Claims) bool {
	n := len(payload)
	if n < 2 || payload[0] != '{' || payload[n-1] != '}' {
		return false
	}
	if n == 2 {
		c.raw = payload
		return true
	}
	s := unsafe.String(&payload[0], n)
	var seen uint32                // bit per registered claim read
	var other [maxFastOther]uint64 // offsets (start<<32 | end) of other names
	// The strings of "aud" and "roles", collected on the stack and
	// copied to the heap once at the end.
	var small [8]string
	list := small[:0]
	var audFrom, audTo, rolesFrom, rolesTo, amrFrom, amrTo int
	others := 0
	p := 1
	for {
		// The member name: a plain string, looked up by its length and
		// first eight bytes.
		if payload[p] != '"' {
			return false
		}
		start := p + 1
		claim, end := lookupClaim(payload, start)
		if claim == claimOther {
			end = strictjson.PlainEnd(payload, start)
			if end >= n || payload[end] != '"' || end+1 >= n || payload[end+1] != ':' {
				return false
			}
		}
		p = end + 2
		if p >= n {
			return false
		}
		if claim == claimOther {
			// A name outside the registered set: only duplicates of it
			// matter, found by comparing fingerprints and then text.
			if others == maxFastOther {
				return false
			}
			for _, prev := range other[:others] {
				if s[prev>>32:uint32(prev)] == s[start:end] {
					return false
				}
			}
			other[others] = uint64(start)<<32 | uint64(end)
			others++
			var ok bool
			if p, ok = skipFastValue(payload, p); !ok {
				return false
			}
		} else {
			bit := uint32(1) << claim
			if seen&bit != 0 {
				return false
			}
			seen |= bit
			var ok bool
			switch claim {
			case claimExp, claimNbf, claimIat, claimAuthTime:
				var t time.Time
				if t, p, ok = fastNumericDate(payload, p); !ok {
					return false
				}
				switch claim {
				case claimExp:
					c.ExpiresAt = t
				case claimNbf:
					c.NotBefore = t
				case claimIat:
					c.IssuedAt = t
				default:
					c.AuthTime = t
				}
			case claimAud:
				audFrom = len(list)
				if payload[p] == '"' {
					var a string
					if a, p, ok = fastString(s, payload, p); !ok {
						return false
					}
					list = append(list, a)
				} else if list, p, ok = appendStrings(list, s, payload, p); !ok {
					return false
				}
				audTo = len(list)
			case claimRoles:
				rolesFrom = len(list)
				if list, p, ok = appendStrings(list, s, payload, p); !ok {
					return false
				}
				rolesTo = len(list)
			case claimAMR:
				amrFrom = len(list)
				if list, p, ok = appendStrings(list, s, payload, p); !ok {
					return false
				}
				amrTo = len(list)
			case claimEmailVerified:
				switch payload[p] {
				case 't':
					p, ok = fastLiteral(payload, p, "true")
					c.EmailVerified = true
				case 'f':
					p, ok = fastLiteral(payload, p, "false")
				}
				if !ok {
					return false
				}
			default:
				var v string
				if v, p, ok = fastString(s, payload, p); !ok {
					return false
				}
				switch claim {
				case claimIss:
					c.Issuer = v
				case claimSub:
					c.Subject = v
				case claimJti:
					c.ID = v
				case claimSid:
					c.SessionID = v
				case claimScope:
					c.Scope = v
				case claimClientID:
					c.ClientID = v
				case claimNonce:
					c.Nonce = v
				case claimAtHash:
					c.AccessTokenHash = v
				case claimAzp:
					c.AuthorizedParty = v
				default:
					c.Email = v
				}
			}
		}
		// p is just past the value: a ',' and the next member, or the
		// closing '}' that must end the payload.
		if p >= n {
			return false
		}
		if payload[p] == ',' {
			p++
			if p >= n-1 {
				return false
			}
			continue
		}
		if p != n-1 {
			return false
		}
		if len(list) > 0 {
			// One allocation holds every list; each is capped so that an
			// append to one cannot write over another.
			all := make([]string, len(list))
			copy(all, list)
			if audTo > audFrom {
				c.Audience = all[audFrom:audTo:audTo]
			}
			if rolesTo > rolesFrom {
				c.Roles = all[rolesFrom:rolesTo:rolesTo]
			}
			if amrTo > amrFrom {
				c.AMR = all[amrFrom:amrTo:amrTo]
			}
		}
		c.raw = payload
		return true
	}
}

// maxFastOther is how many unregistered member names the fast decoder
// tracks before leaving the payload to the general reader.
const maxFastOther = 8

// The claims the fast decoder recognizes, as bit positions.
const (
	claimIss = iota
	claimSub
	claimAud
	claimExp
	claimNbf
	claimIat
	claimJti
	claimSid
	claimScope
	claimRoles
	claimClientID
	claimNonce
	claimAuthTime
	claimAtHash
	claimAMR
	claimAzp
	claimEmail
	claimEmailVerified
	claimOther
)

// word3 and word5 are a name's bytes followed by the closing quote and
// the colon, as lookupClaim reads them: the word of `iss":` plus whatever
// follows, masked to the name and those two bytes.
func word3(name string) uint64 {
	return uint64(name[0]) | uint64(name[1])<<8 | uint64(name[2])<<16 | '"'<<24 | ':'<<32
}

func word5(name string) uint64 {
	return word3(name)&^(0xFFFF<<24) | uint64(name[3])<<24 | uint64(name[4])<<32 | '"'<<40 | ':'<<48
}

var (
	wIss, wSub, wAud, wExp        = word3("iss"), word3("sub"), word3("aud"), word3("exp")
	wNbf, wIat, wJti, wSid        = word3("nbf"), word3("iat"), word3("jti"), word3("sid")
	wAMR, wAzp                    = word3("amr"), word3("azp")
	wScope, wRoles                = word5("scope"), word5("roles")
	wNonce, wEmail                = word5("nonce"), word5("email")
	mask3, mask5           uint64 = 1<<40 - 1, 1<<56 - 1
	// Longer names: their first eight bytes, then the rest with the
	// closing quote and the colon.
	wClientI, wAuthTim, wAtHash = load8([]byte("client_i"), 0), load8([]byte("auth_tim"), 0), load8([]byte(`at_hash"`), 0)
	wEmailVe                    = load8([]byte("email_ve"), 0)
)

// load8 returns the eight bytes of payload from p on as a little-endian
// word, zero-padded past the end.
func load8(payload []byte, p int) uint64 {
	if p+8 <= len(payload) {
		return binary.LittleEndian.Uint64(payload[p:])
	}
	var w uint64
	for i, c := range payload[p:] {
		w |= uint64(c) << (8 * i)
	}
	return w
}

// lookupClaim recognizes a registered claim's name, with its closing
// quote and the colon after it, at start: the claim and the offset of the
// closing quote, or claimOther. The comparison is on the word of bytes
// from start (see load8), so no byte of the name is scanned on its own.
func lookupClaim(payload []byte, start int) (claim, end int) {
	word := load8(payload, start)
	switch word & mask3 {
	case wIss:
		return claimIss, start + 3
	case wSub:
		return claimSub, start + 3
	case wAud:
		return claimAud, start + 3
	case wExp:
		return claimExp, start + 3
	case wNbf:
		return claimNbf, start + 3
	case wIat:
		return claimIat, start + 3
	case wJti:
		return claimJti, start + 3
	case wSid:
		return claimSid, start + 3
	case wAMR:
		return claimAMR, start + 3
	case wAzp:
		return claimAzp, start + 3
	}
	switch word & mask5 {
	case wScope:
		return claimScope, start + 5
	case wRoles:
		return claimRoles, start + 5
	case wNonce:
		return claimNonce, start + 5
	case wEmail:
		return claimEmail, start + 5
	}
	switch word {
	case wClientI:
		if hasAt(payload, start+8, `d":`) {
			return claimClientID, start + 9
		}
	case wAuthTim:
		if hasAt(payload, start+8, `e":`) {
			return claimAuthTime, start + 9
		}
	case wAtHash:
		if hasAt(payload, start+8, `:`) {
			return claimAtHash, start + 7
		}
	case wEmailVe:
		if hasAt(payload, start+8, `rified":`) {
			return claimEmailVerified, start + 14
		}
	}
	return claimOther, 0
}

// hasAt reports whether payload holds s at p.
func hasAt(payload []byte, p int, s string) bool {
	return p+len(s) <= len(payload) && string(payload[p:p+len(s)]) == s
}

// fastString reads the plain string at p: its text (sharing s) and the
// offset past its closing quote.
func fastString(s string, payload []byte, p int) (string, int, bool) {
	if payload[p] != '"' {
		return "", 0, false
	}
	end := strictjson.PlainEnd(payload, p+1)
	if end >= len(payload) || payload[end] != '"' {
		return "", 0, false
	}
	return s[p+1 : end], end + 1, true
}

// appendStrings appends the elements of the array of plain strings at p
// to dst, and returns the offset just past the array.
func appendStrings(dst []string, s string, payload []byte, p int) ([]string, int, bool) {
	if payload[p] != '[' {
		return nil, 0, false
	}
	p++
	if p < len(payload) && payload[p] == ']' {
		return dst, p + 1, true
	}
	for {
		v, next, ok := fastString(s, payload, p)
		if !ok || next >= len(payload) {
			return nil, 0, false
		}
		dst = append(dst, v)
		switch payload[next] {
		case ',':
			p = next + 1
			if p >= len(payload) {
				return nil, 0, false
			}
		case ']':
			return dst, next + 1, true
		default:
			return nil, 0, false
		}
	}
}

// fastNumericDate reads a NumericDate written as a plain integer of at most
// 15 digits without a leading zero, no later than maxNumericDate.
func fastNumericDate(payload []byte, p int) (time.Time, int, bool) {
	start := p
	var sec int64
	for p < len(payload) && payload[p]-'0' <= 9 {
		sec = sec*10 + int64(payload[p]-'0')
		p++
	}
	digits := p - start
	if digits == 0 || digits > 15 || (payload[start] == '0' && digits > 1) || sec > maxNumericDate {
		return time.Time{}, 0, false
	}
	return time.Unix(sec, 0), p, true
}

// skipFastValue steps over the value of an unregistered claim at p: a
// plain string, a non-negative integer, true, false, null or an array of
// plain strings. It returns the offset just past it.
func skipFastValue(payload []byte, p int) (int, bool) {
	switch c := payload[p]; {
	case c == '"':
		end := strictjson.PlainEnd(payload, p+1)
		if end >= len(payload) || payload[end] != '"' {
			return 0, false
		}
		return end + 1, true
	case c == '[':
		// Only an array of plain strings, which are checked, not kept.
		p++
		if p < len(payload) && payload[p] == ']' {
			return p + 1, true
		}
		for {
			if payload[p] != '"' {
				return 0, false
			}
			end := strictjson.PlainEnd(payload, p+1)
			if end+1 >= len(payload) || payload[end] != '"' {
				return 0, false
			}
			switch payload[end+1] {
			case ',':
				p = end + 2
				if p >= len(payload) {
					return 0, false
				}
			case ']':
				return end + 2, true
			default:
				return 0, false
			}
		}
	case c-'0' <= 9:
		start := p
		for p < len(payload) && payload[p]-'0' <= 9 {
			p++
		}
		if payload[start] == '0' && p-start > 1 {
			return 0, false
		}
		return p, true
	case c == 't':
		return fastLiteral(payload, p, "true")
	case c == 'f':
		return fastLiteral(payload, p, "false")
	case c == 'n':
		return fastLiteral(payload, p, "null")
	}
	return 0, false
}

func fastLiteral(payload []byte, p int, lit string) (int, bool) {
	if len(payload)-p < len(lit) || string(payload[p:p+len(lit)]) != lit {
		return 0, false
	}
	return p + len(lit), true
}
