// Package base64url decodes base64url without padding (RFC 4648 §5,
// RFC 7515 §2) strictly: the one decoder for every part of a compact JWS,
// shared by package jose and by the verifier's issuer peek so that they
// cannot disagree about a token. It uses the standard library only and
// holds no latch logic, so public packages may import it (deps_test.go).
package base64url

import "encoding/binary"

// AppendDecode appends the decoding of s to dst and reports whether s is
// canonical: the URL alphabet only (no '=' padding, '+', '/', white space
// or line breaks), no length that leaves a lone character, and zero
// trailing bits, so that every byte string has exactly one accepted
// encoding (RFC 4648 §3.5). When it is not, AppendDecode returns nil and
// false. It writes only the bytes it returns: dst's spare capacity beyond
// them is left as it was.
//
// It is table-driven rather than encoding/base64: each character is looked
// up in one of four tables that hold its six bits already in place, so a
// group of four is four loads and three ORs, eight characters are stored
// as one word, and an invalid character sets a flag bit that is tested
// once at the end instead of on every character. Fewer instructions here
// matter because jose runs it right after the signature check, where its
// cost is set against the bare primitive (BENCHMARKS.md).
func AppendDecode(dst []byte, s string) ([]byte, bool) {
	if len(s)%4 == 1 {
		return nil, false
	}
	n := len(dst)
	need := DecodedLen(len(s))
	if cap(dst)-n < need {
		grown := make([]byte, n, n+need)
		copy(grown, dst)
		dst = grown
	}
	// Eight characters are stored as one eight-byte word, six of them
	// decoded, while the word fits in the result; groups of four finish.
	// out ends where the result does, so no store reaches the capacity
	// beyond it, which may hold the caller's data.
	out := dst[n : n+need]
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
		return nil, false
	}
	return dst[:n+need], true
}

// DecodedLen returns the number of bytes n characters of unpadded
// base64url decode to. For a length AppendDecode refuses (n%4 == 1) it is
// the length of the bytes the whole groups decode to.
func DecodedLen(n int) int {
	need := n / 4 * 3
	switch n % 4 {
	case 2:
		need++
	case 3:
		need += 2
	}
	return need
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
