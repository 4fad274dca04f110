package jose

import (
	"encoding/base64"
	"fmt"
	"unsafe"
)

// b64 is base64url without padding, rejecting non-zero trailing bits
// (RFC 7515 §2, RFC 4648 §3.5).
var b64 = base64.RawURLEncoding.Strict()

// decodeSegment appends the strict base64url decoding of s to dst.
// The decoder refuses every byte outside the URL alphabet, including '='
// padding, '+' and '/', and non-zero trailing bits. It silently skips CR
// and LF, though; a segment that had any decodes to fewer bytes than its
// length encodes, which is checked after decoding.
func decodeSegment(dst []byte, s, part string) ([]byte, error) {
	n := len(dst)
	need := b64.DecodedLen(len(s))
	if cap(dst)-n < need {
		grown := make([]byte, n, n+need)
		copy(grown, dst)
		dst = grown
	}
	m, err := b64.Decode(dst[n:n+need], bytesOf(s))
	if err != nil {
		return nil, fmt.Errorf("%w: %w: %s", ErrMalformed, ErrNonCanonical, part)
	}
	if b64.EncodedLen(m) != len(s) {
		return nil, fmt.Errorf("%w: %w: line break in %s", ErrMalformed, ErrNonCanonical, part)
	}
	return dst[:n+m], nil
}

// bytesOf views s as a byte slice without copying. Callers must only read
// the result.
func bytesOf(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
