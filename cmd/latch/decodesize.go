package main

// The size report of "latch token decode": where a token's bytes go.

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/latch-auth/latch/internal/issuer"
)

// tokenSize is a token's size by part. Header, Payload and Signature are
// base64url characters in the token, which has two dots besides; the
// JSON sizes are of the decoded header and payload, and each claim's is
// that of its member `"name":value` in the payload, about three quarters
// of the room it takes in the token.
type tokenSize struct {
	Token        int        `json:"token"`
	Header       int        `json:"header"`
	Payload      int        `json:"payload"`
	Signature    int        `json:"signature"`
	HeaderJSON   int        `json:"header_json"`
	PayloadJSON  int        `json:"payload_json"`
	SignatureRaw int        `json:"signature_raw"`
	Claims       claimSizes `json:"claims"`
}

// claimSize is one top-level claim's size.
type claimSize struct {
	Name  string
	Bytes int
}

// claimSizes are claims' sizes, largest first, written in JSON as one
// object of name: bytes in that order.
type claimSizes []claimSize

// MarshalJSON writes the sizes as an object, in order.
func (cs claimSizes) MarshalJSON() ([]byte, error) {
	b := []byte{'{'}
	for i, c := range cs {
		if i > 0 {
			b = append(b, ',')
		}
		name, err := json.Marshal(c.Name)
		if err != nil {
			return nil, err
		}
		b = append(append(b, name...), ':')
		b = strconv.AppendInt(b, int64(c.Bytes), 10)
	}
	return append(b, '}'), nil
}

// measure returns the size report of tok, whose payload d holds. The
// claims are left out when the payload repeats a name (decode warns of
// it): their sizes would not say which one a verifier reads.
func measure(tok string, d *decodedToken) tokenSize {
	parts := strings.Split(tok, ".")
	s := tokenSize{
		Token: len(tok), Header: len(parts[0]), Payload: len(parts[1]), Signature: len(parts[2]),
		HeaderJSON: len(d.header), PayloadJSON: len(d.payload), SignatureRaw: len(parts[2]) * 3 / 4,
		Claims: claimSizes{},
	}
	if sizes, err := issuer.ClaimSizes(d.payload); err == nil {
		for _, c := range sizes {
			s.Claims = append(s.Claims, claimSize{Name: c.Name, Bytes: c.Bytes})
		}
	}
	return s
}

// writeText prints s for a person, claim names escaped.
func (s tokenSize) writeText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "token      %6d bytes\n", s.Token)
	fmt.Fprintf(&b, "header     %6d bytes (%d bytes of JSON)\n", s.Header, s.HeaderJSON)
	fmt.Fprintf(&b, "payload    %6d bytes (%d bytes of JSON)\n", s.Payload, s.PayloadJSON)
	fmt.Fprintf(&b, "signature  %6d bytes (%d bytes)\n", s.Signature, s.SignatureRaw)
	if len(s.Claims) > 0 {
		b.WriteString("claims, in bytes of JSON (a third more in the token), largest first:\n")
		width := 0
		for _, c := range s.Claims {
			width = max(width, len(safeText(c.Name)))
		}
		for _, c := range s.Claims {
			fmt.Fprintf(&b, "  %-*s %6d\n", width, safeText(c.Name), c.Bytes)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
