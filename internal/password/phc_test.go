package password

import (
	"errors"
	"testing"
)

// FuzzParsePHC checks that parsePHC either rejects its input with exactly
// one of its two kinds, or accepts a canonical string that encodes back
// byte for byte and whose parameters are within the stored-hash limits.
func FuzzParsePHC(f *testing.F) {
	var vectors vectorFile
	readJSON(f, "testdata/vectors.json", &vectors)
	for _, v := range vectors.Vectors {
		f.Add(v.PHC)
	}
	var rejected rejectedFile
	readJSON(f, "testdata/rejected.json", &rejected)
	for _, v := range rejected.Vectors {
		f.Add(v.PHC)
	}
	f.Add("")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")

	f.Fuzz(func(t *testing.T, s string) {
		h, err := parsePHC(s)
		if err != nil {
			malformed, unsupported := errors.Is(err, ErrMalformedHash), errors.Is(err, ErrUnsupportedHash)
			if malformed == unsupported {
				t.Fatalf("parsePHC(%q) error = %v, want exactly one of %v, %v", s, err, ErrMalformedHash, ErrUnsupportedHash)
			}
			if h.salt != nil || h.key != nil || h.params() != (Params{}) {
				t.Fatalf("parsePHC(%q) = %+v with error %v, want zero value", s, h, err)
			}
			return
		}
		if got := h.String(); got != s {
			t.Fatalf("parsePHC(%q).String() = %q, want the input", s, got)
		}
		p := h.params()
		switch {
		case p.Time < 1 || p.Time > maxStoredTime,
			p.Threads < 1 || p.Threads > maxStoredThreads,
			p.Memory < 8*uint32(p.Threads) || p.Memory > maxStoredMemory,
			p.SaltLen < minStoredSalt || p.SaltLen > maxStoredSalt,
			p.KeyLen < minStoredKey || p.KeyLen > maxStoredKey:
			t.Fatalf("parsePHC(%q) accepted parameters %+v outside the stored-hash limits", s, p)
		}
	})
}
