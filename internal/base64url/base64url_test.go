package base64url

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

// refDecode is the reference for AppendDecode: encoding/base64's strict
// raw URL decoding, which additionally skips CR and LF (AppendDecode
// refuses them: a token has no line breaks).
func refDecode(s string) ([]byte, bool) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return b, err == nil
}

// package jose's TestDecodeSegment holds the table of accepted and refused
// encodings, with the error kinds jose gives them.

// TestAppendDecodeStaysInBounds: AppendDecode writes only the bytes it
// returns, never into the destination's spare capacity (which the caller
// may still be using) nor past it. The destination lies in a larger array
// of sentinel bytes, with a capacity of exactly the result or with room to
// spare; the sentinels after the result must survive, for every length mod
// 4, with and without bytes already in the destination. A word-wide store
// near the end must not spill.
func TestAppendDecodeStaysInBounds(t *testing.T) {
	const sentinel = 0xA5
	for _, spare := range []int{0, 1, 2, 8, 16} {
		for _, prefix := range []int{0, 3} {
			for n := 0; n <= 40; n++ {
				src := make([]byte, n)
				for i := range src {
					src[i] = byte(0x30 + i)
				}
				s := base64.RawURLEncoding.EncodeToString(src)
				arr := bytes.Repeat([]byte{sentinel}, prefix+n+16)
				copy(arr[:prefix], "pre")
				dst := arr[: prefix : prefix+n+spare]
				got, ok := AppendDecode(dst, s)
				if !ok || string(got[:prefix]) != "pre"[:prefix] || !bytes.Equal(got[prefix:], src) {
					t.Fatalf("AppendDecode(%d-byte prefix, %q) = %x, %v; want %x", prefix, s, got, ok, src)
				}
				if prefix+n > 0 && &got[:1][0] != &arr[0] {
					t.Errorf("AppendDecode(%d-byte prefix, %d bytes, %d spare) reallocated a destination with room", prefix, n, spare)
				}
				for i, b := range arr[prefix+n:] {
					if b != sentinel {
						t.Fatalf("AppendDecode(%d-byte prefix, %d bytes, len %% 4 = %d, %d spare) wrote %#x %d bytes past the result", prefix, n, len(s)%4, spare, b, i)
					}
				}
			}
		}
	}
}

func TestDecodedLen(t *testing.T) {
	for n := range 64 {
		if n%4 == 1 {
			continue
		}
		s := strings.Repeat("A", n)
		want, _ := refDecode(s)
		if got := DecodedLen(n); got != len(want) {
			t.Errorf("DecodedLen(%d) = %d, want %d", n, got, len(want))
		}
	}
}

// FuzzAppendDecode checks AppendDecode against encoding/base64: the same
// strings accepted, to the same bytes, and nothing written past the
// result.
func FuzzAppendDecode(f *testing.F) {
	for _, s := range []string{"", "YWJj", "YWI", "YR", "YWJjZGVmZ2hpams", "ab+/", "YW==", "YWJj\r\nZGVm"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		want, ok := refDecode(s)
		buf := bytes.Repeat([]byte{0xA5}, DecodedLen(len(s))+16)
		got, gotOK := AppendDecode(buf[:0], s)
		if ok != gotOK {
			t.Fatalf("AppendDecode(%q) = %v, reference accepts: %v", s, gotOK, ok)
		}
		if ok && !bytes.Equal(got, want) {
			t.Fatalf("AppendDecode(%q) = %x, want %x", s, got, want)
		}
		if !ok && got != nil {
			t.Fatalf("AppendDecode(%q) = %x, false; want nil", s, got)
		}
		if ok {
			for i, b := range buf[len(got):] {
				if b != 0xA5 {
					t.Fatalf("AppendDecode(%q) wrote %#x %d bytes past the result", s, b, i)
				}
			}
		}
	})
}
