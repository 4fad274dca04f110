package jose

import (
	"encoding/base64"
	"fmt"
	"unsafe"

	"github.com/latch-auth/latch/internal/base64url"
)

// b64 is base64url without padding (RFC 7515 §2), for encoding.
var b64 = base64.RawURLEncoding.Strict()

// decodeSegment appends the strict base64url decoding of s to dst (see
// base64url.AppendDecode: one decoder for every reader of a token) and
// names part in its error, ErrNonCanonical.
func decodeSegment(dst []byte, s, part string) ([]byte, error) {
	out, ok := base64url.AppendDecode(dst, s)
	if !ok {
		if len(s)%4 == 1 {
			return nil, fmt.Errorf("%w: %w: %s length", ErrMalformed, ErrNonCanonical, part)
		}
		return nil, fmt.Errorf("%w: %w: %s", ErrMalformed, ErrNonCanonical, part)
	}
	return out, nil
}

// bytesOf views s as a byte slice without copying. Callers must only read
// the result.
func bytesOf(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}
