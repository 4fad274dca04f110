package verifier_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/latch-auth/latch/internal/strictjson"
	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/verifier"
)

// peekSeeds reads the tokens in testdata/peekissuer, by file name.
func peekSeeds(tb testing.TB) map[string]string {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "peekissuer", "*.txt"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no seeds in testdata/peekissuer: %v", err)
	}
	seeds := make(map[string]string, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		seeds[strings.TrimSuffix(filepath.Base(f), ".txt")] = strings.TrimSuffix(string(b), "\n")
	}
	return seeds
}

// TestPeekIssuer pins what the unverified "iss" reader makes of the seed
// tokens. Whatever it returns only picks the issuer whose keys and name
// the token is then checked against.
func TestPeekIssuer(t *testing.T) {
	seeds := peekSeeds(t)
	tests := []struct {
		seed    string
		want    string
		wantErr error
	}{
		{seed: "valid", want: issuerA},
		{seed: "iss-last", want: issuerB},
		{seed: "iss-escaped", want: issuerA + "é"},
		{seed: "iss-nested", want: "outer"},
		{seed: "iss-duplicate", want: "a"}, // the full parse refuses it later
		{seed: "iss-number", wantErr: verifier.ErrUnknownIssuer},
		{seed: "iss-null", wantErr: verifier.ErrUnknownIssuer},
		{seed: "no-iss", wantErr: verifier.ErrUnknownIssuer},
		{seed: "not-object", wantErr: jwt.ErrMalformed},
		{seed: "truncated", wantErr: jwt.ErrMalformed},
		{seed: "empty", wantErr: jwt.ErrMalformed},
		{seed: "deep", wantErr: jwt.ErrMalformed},
		{seed: "one-segment", wantErr: jwt.ErrMalformed},
		{seed: "two-segments", wantErr: jwt.ErrMalformed},
		{seed: "padded-payload", wantErr: jwt.ErrMalformed},
		{seed: "std-alphabet", wantErr: jwt.ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.seed, func(t *testing.T) {
			tok, ok := seeds[tt.seed]
			if !ok {
				t.Fatalf("no seed %s.txt", tt.seed)
			}
			got, err := verifier.PeekIssuer(tok, 0)
			if got != tt.want || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("PeekIssuer(%s) = %q, %v; want %q, %v", tt.seed, got, err, tt.want, tt.wantErr)
			}
		})
	}
	t.Run("too large", func(t *testing.T) {
		tok := seeds["valid"]
		if _, err := verifier.PeekIssuer(tok, len(tok)-1); !errors.Is(err, jwt.ErrTooLarge) {
			t.Errorf("PeekIssuer(%d bytes, limit %d) error = %v, want ErrTooLarge", len(tok), len(tok)-1, err)
		}
		long := strings.Repeat("a", jose.DefaultMaxTokenSize+1)
		if _, err := verifier.PeekIssuer(long, 0); !errors.Is(err, jwt.ErrTooLarge) {
			t.Errorf("PeekIssuer(%d bytes, default limit) error = %v, want ErrTooLarge", len(long), err)
		}
	})
}

// FuzzPeekIssuer: the unverified "iss" reader never panics; it returns an
// issuer, or an error of one of jwt's kinds and no issuer. When the payload
// is strict JSON, the issuer is the one encoding/json reads.
func FuzzPeekIssuer(f *testing.F) {
	for _, tok := range peekSeeds(f) {
		f.Add(tok)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		iss, err := verifier.PeekIssuer(tok, 0)
		if err != nil {
			if iss != "" {
				t.Fatalf("PeekIssuer(%q) = %q with error %v, want no issuer", tok, iss, err)
			}
			if !errors.Is(err, jwt.ErrMalformed) && !errors.Is(err, jwt.ErrIssuer) && !errors.Is(err, jwt.ErrTooLarge) {
				t.Fatalf("PeekIssuer(%q) error = %v, not a jwt kind", tok, err)
			}
			return
		}
		parts := strings.Split(tok, ".")
		if len(parts) < 3 {
			t.Fatalf("PeekIssuer(%q) = %q from fewer than three segments", tok, iss)
		}
		payload, derr := base64.RawURLEncoding.Strict().DecodeString(parts[1])
		if derr != nil {
			t.Fatalf("PeekIssuer(%q) = %q from a payload that is not base64url: %v", tok, iss, derr)
		}
		if strictjson.Validate(payload) != nil || !utf8.Valid(payload) {
			return // peekIssuer stops at "iss"; the full parse refuses the rest
		}
		var claims map[string]any // a map: struct fields match names case-insensitively
		if err := json.Unmarshal(payload, &claims); err != nil {
			t.Fatalf("PeekIssuer(%q) = %q, but encoding/json refuses the payload: %v", tok, iss, err)
		}
		if want, ok := claims["iss"].(string); !ok || want != iss {
			t.Fatalf("PeekIssuer(%q) = %q, encoding/json reads %#v", tok, iss, claims["iss"])
		}
	})
}
