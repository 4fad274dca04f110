package jose

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"unsafe"
)

// b64 is base64url without padding (RFC 7515 §2), for encoding.
var b64 = base64.RawURLEncoding.Strict()

// decodeSegment appends the strict base64url decoding of s to dst: the URL
// alphabet only (no '=' padding, '+', '/', whitespace or line breaks), no
// length that leaves a lone character, and zero trailing bits, so that
// every byte string has exactly one accepted encoding (RFC 4648 §3.5).
//
// It is table-driven rather than encoding/base64: each character is looked
// up in one of four tables that hold its six bits already in place, so a
// group of four is four loads and three ORs, eight characters are stored
// as one word, and an invalid character sets a flag bit that is tested
// once at the end instead of on every character. Fewer instructions here
// matter because this runs right after the signature check, where its
// cost is set against the bare primitive (BENCHMARKS.md).
func decodeSegment(dst []byte, s, part string) ([]byte, error) {
	if len(s)%4 == 1 {
		return nil, fmt.Errorf("%w: %w: %s length", ErrMalformed, ErrNonCanonical, part)
	}
	n := len(dst)
	need := len(s) / 4 * 3
	switch len(s) % 4 {
	case 2:
		need++
	case 3:
		need += 2
	}
	if cap(dst)-n < need {
		grown := make([]byte, n, n+need)
		copy(grown, dst)
		dst = grown
	}
	// Eight characters are stored as one eight-byte word, six of them
	// decoded, while there is room for the word; groups of four finish.
	out := dst[n:cap(dst)]
	var acc uint32
	t := &decTables
	for len(s) >= 8 && len(out) >= 8 {
		v1 := t[0][s[0]] | t[1][s[1]] | t[2][s[2]] | t[3][s[3]]
		v2 := t[0][s[4]] | t[1][s[5]] | t[2][s[6]] | t[3][s[7]]
		acc |= v1 | v2
		binary.BigEndian.PutUint64(out, uint64(v1)<<40|uint64(v2)<<16)
		out, s = out[6:], s[8:]
	}
	for len(s) >= 4 {
		_ = out[2] // need left room for every group
		v := t[0][s[0]] | t[1][s[1]] | t[2][s[2]] | t[3][s[3]]
		acc |= v
		out[0], out[1], out[2] = byte(v>>16), byte(v>>8), byte(v)
		out, s = out[3:], s[4:]
	}
	switch len(s) {
	case 2:
		v := t[0][s[0]] | t[1][s[1]]
		// The second character's low four bits are past the last byte.
		if v&0xF000 != 0 {
			acc |= badChar
		}
		acc |= v
		out[0] = byte(v >> 16)
	case 3:
		v := t[0][s[0]] | t[1][s[1]] | t[2][s[2]]
		// The third character's low two bits are past the last byte.
		if v&0xC0 != 0 {
			acc |= badChar
		}
		acc |= v
		out[0], out[1] = byte(v>>16), byte(v>>8)
	}
	if acc&badChar != 0 {
		return nil, fmt.Errorf("%w: %w: %s", ErrMalformed, ErrNonCanonical, part)
	}
	return dst[:n+need], nil
}

// badChar flags a decoding table entry for a byte outside the alphabet; it
// lies above the 24 bits four characters decode to.
const badChar = 1 << 31

// decTables maps a character to its six bits, shifted to where they go as
// the first to fourth character of a group of four, or to badChar.
var decTables = func() (t [4][256]uint32) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range 256 {
		t[0][i], t[1][i], t[2][i], t[3][i] = badChar, badChar, badChar, badChar
	}
	for i := range len(alphabet) {
		c := alphabet[i]
		t[0][c], t[1][c], t[2][c], t[3][c] = uint32(i)<<18, uint32(i)<<12, uint32(i)<<6, uint32(i)
	}
	return
}()

// bytesOf views s as a byte slice without copying. Callers must only read
// the result.
func bytesOf(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
