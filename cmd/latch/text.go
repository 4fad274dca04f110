package main

import (
	"bytes"
	"fmt"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// What latch prints that someone else chose (an e-mail address, a role, a
// client's name, a token's claims) may hold control or format characters
// that would rewrite the operator's terminal (ESC and CSI sequences) or
// hide or reorder text (zero-width and bidirectional controls): the
// database may hold them from before validation, and tokens come from
// anywhere. safeText and printableJSON make such strings inert.

// safeText is s for a terminal: a string with a character that
// strconv.IsPrint rejects (control and format characters among them) is
// shown quoted with Go escapes; any other string as it is.
func safeText(s string) string {
	q := strconv.Quote(s)
	if q[1:len(q)-1] == s {
		return s
	}
	return q
}

// printableJSON returns the JSON text data with every character that
// strconv.IsPrint rejects written as a \u escape, so that it decodes to
// the same value and prints inertly. encoding/json escapes the C0
// controls but leaves DEL, the C1 controls (U+009B is a CSI on some
// terminals) and the format characters as they are. Outside strings JSON
// has only printable ASCII and white space, which stays.
func printableJSON(data []byte) []byte {
	var b bytes.Buffer
	for len(data) > 0 {
		r, n := utf8.DecodeRune(data)
		switch {
		case r == '\n' || r == '\r' || r == '\t' || strconv.IsPrint(r) && !(r == utf8.RuneError && n == 1):
			b.Write(data[:n])
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\ufffd`)
		case r > 0xffff:
			r1, r2 := utf16.EncodeRune(r)
			fmt.Fprintf(&b, `\u%04x\u%04x`, r1, r2)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		data = data[n:]
	}
	return b.Bytes()
}
