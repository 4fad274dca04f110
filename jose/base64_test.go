package jose

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

// refDecode is the reference for decodeSegment: encoding/base64's strict
// raw URL decoding, which additionally skips CR and LF (decodeSegment
// refuses them: a token has no line breaks).
func refDecode(s string) ([]byte, bool) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return b, err == nil
}

func TestDecodeSegment(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	accepted := []string{
		"", enc([]byte{0}), enc([]byte{0xFF, 0xFE}), enc([]byte("abc")),
		enc(all), enc(all[:255]), enc(all[:254]), enc(all[:7]), enc(all[:8]), enc(all[:9]),
		"-_-_", "AAAA", "_____w",
	}
	for _, s := range accepted {
		want, _ := refDecode(s)
		got, err := decodeSegment(nil, s, "test")
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("decodeSegment(%q) = %x, %v; want %x", s, got, err, want)
		}
		// A buffer with room to spare, as Verify passes for the signature.
		got, err = decodeSegment(make([]byte, 0, 1024), s, "test")
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("decodeSegment(buf, %q) = %x, %v; want %x", s, got, err, want)
		}
		// Appending keeps what dst held.
		got, err = decodeSegment([]byte("pre"), s, "test")
		if err != nil || string(got) != "pre"+string(want) {
			t.Errorf("decodeSegment(pre, %q) = %q, %v", s, got, err)
		}
	}
	rejected := map[string]string{
		"padding":                  enc([]byte("ab")) + "=",
		"padding group":            "YWI=",
		"standard alphabet plus":   "ab+d",
		"standard alphabet slash":  "ab/d",
		"space":                    "YW I",
		"line feed":                "YWJj\nZGVm",
		"carriage return":          "YWJj\rZGVm",
		"lone character":           "YWJjZ",
		"one character":            "Y",
		"trailing bits of two":     "YR",  // 'R' leaves bits set past the byte
		"trailing bits of three":   "YWJ", // 'J' leaves bits set past the bytes
		"non-ASCII":                "YWJj\xc3\xa9",
		"NUL":                      "YW\x00j",
		"invalid in the wide loop": "AAAAAAA*AAAAAAAA",
		"invalid in the tail":      "AAAAAAAAAA*A",
	}
	for name, s := range rejected {
		if _, ok := refDecode(s); ok {
			t.Fatalf("%s: reference accepts %q; the case is wrong", name, s)
		}
		got, err := decodeSegment(nil, s, "test")
		if !errors.Is(err, ErrNonCanonical) || !errors.Is(err, ErrMalformed) || got != nil {
			t.Errorf("%s: decodeSegment(%q) = %x, %v; want ErrNonCanonical", name, s, got, err)
		}
	}
}
