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
	var seen uint32                // bit per claim of claimTable read
	var other [maxFastOther]uint64 // offsets (start<<32 | end) of other names
	// The strings of the array claims, collected on the stack and copied
	// to the heap once at the end; lists[id] is claim id's span of them.
	var small [8]string
	list := small[:0]
	var lists [numClaims]struct{ from, to int }
	others := 0
	p := 1
	for {
		// The member name: a plain string, looked up by its first
		// eight bytes.
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
			// A name outside claimTable: only duplicates of it matter,
			// found by comparing offsets' text.
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
			sf, tf, _, bf := c.field(claim)
			var ok bool
			switch claimTable[claim].kind {
			case kindDate:
				if *tf, p, ok = fastNumericDate(payload, p); !ok {
					return false
				}
			case kindAudience, kindList:
				lists[claim].from = len(list)
				if payload[p] == '"' && claimTable[claim].kind == kindAudience {
					var a string
					if a, p, ok = fastString(s, payload, p); !ok {
						return false
					}
					list = append(list, a)
				} else if list, p, ok = appendStrings(list, s, payload, p); !ok {
					return false
				}
				lists[claim].to = len(list)
			case kindBool:
				switch payload[p] {
				case 't':
					p, ok = fastLiteral(payload, p, "true")
					*bf = true
				case 'f':
					p, ok = fastLiteral(payload, p, "false")
				}
				if !ok {
					return false
				}
			case kindString:
				if *sf, p, ok = fastString(s, payload, p); !ok {
					return false
				}
			default:
				// An object ("cnf"): the general reader handles it.
				return false
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
			for id, span := range lists {
				if span.to > span.from {
					_, _, lf, _ := c.field(claimID(id))
					*lf = all[span.from:span.to:span.to]
				}
			}
		}
		c.raw = payload
		return true
	}
}

// maxFastOther is how many unregistered member names the fast decoder
// tracks before leaving the payload to the general reader.
const maxFastOther = 8

// fastName is a claim's name as lookupClaim matches it: the name, its
// closing quote and the colon after it (the key), as the little-endian
// word of the key's first eight bytes (see load8) masked to them, and the
// key's bytes after those eight.
type fastName struct {
	word, mask uint64
	rest       string
	id         claimID
	len        int // of the name
}

// fastNames holds claimTable's names as fastName, by their first byte.
var fastNames = func() (byFirst [256][]fastName) {
	for id, c := range claimTable {
		key := c.name + `":`
		head := key[:min(len(key), 8)]
		f := fastName{
			word: load8([]byte(head), 0),
			mask: ^uint64(0) >> (64 - 8*len(head)),
			rest: key[len(head):],
			id:   claimID(id),
			len:  len(c.name),
		}
		byFirst[c.name[0]] = append(byFirst[c.name[0]], f)
	}
	return byFirst
}()

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

// lookupClaim recognizes the name of a claim of claimTable, with its
// closing quote and the colon after it, at start: the claim and the offset
// of the closing quote, or claimOther. The comparison is on the word of
// bytes from start (see load8), so no byte of a short name is scanned on
// its own.
func lookupClaim(payload []byte, start int) (claim claimID, end int) {
	word := load8(payload, start)
	names := fastNames[byte(word)]
	for i := range names {
		if f := &names[i]; word&f.mask == f.word && (f.rest == "" || hasAt(payload, start+8, f.rest)) {
			return f.id, start + f.len
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
