package jose

import (
	"encoding/base64"
	"strings"
	"testing"
)

// BenchmarkDecodeSegment decodes the two segments of an RS256 access
// token that Verify must decode: the 287-byte claims set and the 256-byte
// signature.
func BenchmarkDecodeSegment(b *testing.B) {
	payload := base64.RawURLEncoding.EncodeToString([]byte(strings.Repeat("x", 287)))
	sig := base64.RawURLEncoding.EncodeToString(make([]byte, 256))
	b.SetBytes(int64(len(payload) + len(sig)))
	var buf [1024]byte
	for b.Loop() {
		p, err := decodeSegment(nil, payload, "payload")
		if err != nil || len(p) != 287 {
			b.Fatal(err)
		}
		s, err := decodeSegment(buf[:0], sig, "signature")
		if err != nil || len(s) != 256 {
			b.Fatal(err)
		}
	}
}
