package jwt

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// FuzzParseClaims checks the claims decoder: every input is either refused
// as malformed, or it is valid JSON whose typed claims survive a round trip
// through Sign's encoder.
func FuzzParseClaims(f *testing.F) {
	addClaimsSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		payload := slices.Clone(in)
		c, err := parseClaims(payload)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("parseClaims(%q) error %v does not match ErrMalformed", in, err)
			}
			return
		}
		if !json.Valid(in) {
			t.Fatalf("parseClaims accepted %q, which encoding/json rejects", in)
		}
		out, err := c.appendJSON(nil)
		if err != nil {
			t.Fatalf("re-encoding claims of %q: %v", in, err)
		}
		again, err := parseClaims(out)
		if err != nil {
			t.Fatalf("parseClaims(%q) (re-encoded from %q): %v", out, in, err)
		}
		if !sameClaims(c, again) {
			t.Fatalf("round trip of %q: got %+v, want %+v", in, again, c)
		}
	})
}

// addClaimsSeeds adds the claims sets in testdata/claims to f's corpus.
func addClaimsSeeds(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "claims", "*.json"))
	if err != nil || len(files) == 0 {
		f.Fatalf("no seeds in testdata/claims: %v", err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// sameClaims compares the typed claims, times to the second as the wire
// format carries them.
func sameClaims(a, b Claims) bool {
	return a.Issuer == b.Issuer && a.Subject == b.Subject && slices.Equal(a.Audience, b.Audience) &&
		a.ExpiresAt.Unix() == b.ExpiresAt.Unix() && a.NotBefore.Unix() == b.NotBefore.Unix() &&
		a.IssuedAt.Unix() == b.IssuedAt.Unix() && a.ID == b.ID && a.ClientID == b.ClientID &&
		a.SessionID == b.SessionID && a.Scope == b.Scope && slices.Equal(a.Roles, b.Roles) &&
		a.Nonce == b.Nonce && a.AuthTime.Unix() == b.AuthTime.Unix() && a.AccessTokenHash == b.AccessTokenHash &&
		slices.Equal(a.AMR, b.AMR) && a.AuthorizedParty == b.AuthorizedParty && a.Email == b.Email &&
		a.EmailVerified == b.EmailVerified
}
