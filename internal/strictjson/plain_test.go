package strictjson_test

import (
	"strings"
	"testing"

	"github.com/latch-auth/latch/internal/strictjson"
)

// plainEndRef is PlainEnd one byte at a time.
func plainEndRef(data []byte, p int) int {
	for p < len(data) {
		c := data[p]
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x80 {
			return p
		}
		p++
	}
	return p
}

func TestPlainEnd(t *testing.T) {
	specials := []byte{0x00, 0x01, 0x1F, '"', '\\', 0x80, 0xC3, 0xFF}
	fillers := []byte{' ', '!', '#', '[', ']', '~', 0x7F, 'a', '0'}
	for length := 0; length <= 24; length++ {
		for _, fill := range fillers {
			base := []byte(strings.Repeat(string(fill), length))
			if got, want := strictjson.PlainEnd(base, 0), plainEndRef(base, 0); got != want {
				t.Fatalf("PlainEnd(%q) = %d, want %d", base, got, want)
			}
			for pos := 0; pos < length; pos++ {
				for _, sp := range specials {
					// One special byte, and a second later one that a
					// borrow could flag falsely.
					data := append([]byte(nil), base...)
					data[pos] = sp
					if pos+1 < length {
						data[pos+1] = 0x21
					}
					for start := 0; start <= pos; start += 3 {
						if got, want := strictjson.PlainEnd(data, start), plainEndRef(data, start); got != want {
							t.Fatalf("PlainEnd(%q, %d) = %d, want %d", data, start, got, want)
						}
					}
				}
			}
		}
	}
}

// FuzzPlainEnd checks the word-at-a-time scan against the byte loop.
func FuzzPlainEnd(f *testing.F) {
	f.Add([]byte(`abcdefgh"ijk`), 0)
	f.Add([]byte("abc\x00\x01defghijkl"), 1)
	f.Add([]byte("0123456789abcdef\\"), 2)
	f.Fuzz(func(t *testing.T, data []byte, p int) {
		if p < 0 || p > len(data) {
			return
		}
		if got, want := strictjson.PlainEnd(data, p), plainEndRef(data, p); got != want {
			t.Fatalf("PlainEnd(%q, %d) = %d, want %d", data, p, got, want)
		}
	})
}
