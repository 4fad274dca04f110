package verifier_test

import (
	"crypto/hmac"
	"crypto/sha256"
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
		// jose refuses these; so must the peek (one decoder, one behaviour).
		{seed: "payload-lf", wantErr: jwt.ErrMalformed},
		{seed: "payload-cr", wantErr: jwt.ErrMalformed},
		{seed: "payload-crlf", wantErr: jwt.ErrMalformed},
		{seed: "four-segments", wantErr: jwt.ErrMalformed},
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
		if len(parts) != 3 {
			t.Fatalf("PeekIssuer(%q) = %q from %d segments, want three", tok, iss, len(parts))
		}
		payload, derr := base64.RawURLEncoding.Strict().DecodeString(parts[1])
		if derr != nil || strings.ContainsAny(parts[1], "\r\n") {
			t.Fatalf("PeekIssuer(%q) = %q from a payload that is not strict base64url: %v", tok, iss, derr)
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

// peekAgreementSecret keys the HS256 tokens of peekAgrees.
var peekAgreementSecret = []byte("peek-agreement-secret-0123456789")

// peekAgrees checks that the issuer peek and jose read a token's payload
// segment alike: it signs header "." payloadSeg (any string, canonical or
// not) with a valid HMAC, so that jose.Verify refuses the token only for
// its encoding, and requires that PeekIssuer refuses it exactly when jose
// does; when both accept it and jwt reads the claims, the issuer must be
// the one jwt reads.
func peekAgrees(t *testing.T, payloadSeg string) {
	t.Helper()
	key, err := jose.NewHMACKey(jose.HS256, peekAgreementSecret)
	if err != nil {
		t.Fatal(err)
	}
	key = key.WithKeyID("k")
	keys, err := jose.NewKeySet(key)
	if err != nil {
		t.Fatal(err)
	}
	in := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","kid":"k"}`)) + "." + payloadSeg
	mac := hmac.New(sha256.New, peekAgreementSecret)
	mac.Write([]byte(in))
	tok := in + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))

	_, payload, verr := jose.Verify(tok, keys, jose.VerifyOptions{})
	iss, perr := verifier.PeekIssuer(tok, 0)
	if verr != nil {
		if !errors.Is(verr, jose.ErrMalformed) {
			t.Fatalf("jose.Verify(token with payload %q) = %v, want ErrMalformed or success", payloadSeg, verr)
		}
		if perr == nil || !errors.Is(perr, jwt.ErrMalformed) {
			t.Fatalf("PeekIssuer(token with payload %q) = %q, %v; jose refuses it (%v), want ErrMalformed", payloadSeg, iss, perr, verr)
		}
		return
	}
	// jose accepts the segment: the peek may refuse only what jwt refuses
	// too, and must read the issuer jwt reads.
	v, err := jwt.NewValidator(keys, "x", "y", jwt.ValidatorOptions{AllowMissingExpiry: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Parse(tok); errors.Is(err, jwt.ErrMalformed) {
		return
	}
	if errors.Is(perr, jwt.ErrMalformed) {
		t.Fatalf("PeekIssuer(token with payload %q) = %v; jose and jwt accept it", payloadSeg, perr)
	}
	var claims map[string]any // a map: struct fields match names case-insensitively
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatalf("jwt accepts payload %q that encoding/json refuses: %v", payload, err)
	}
	if want, ok := claims["iss"].(string); ok && (perr != nil || iss != want) {
		t.Fatalf("PeekIssuer(token with payload %q) = %q, %v; jwt reads %q", payloadSeg, iss, perr, want)
	}
}

// TestPeekIssuerAgreesWithJose: for payload segments jose accepts and
// refuses, the issuer peek decides the same.
func TestPeekIssuerAgreesWithJose(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	valid := enc([]byte(`{"iss":"` + issuerA + `"}`))
	for name, seg := range map[string]string{
		"valid":             valid,
		"line feed":         valid[:8] + "\n" + valid[8:],
		"carriage return":   valid[:8] + "\r" + valid[8:],
		"CRLF at the end":   valid + "\r\n",
		"space":             valid[:8] + " " + valid[8:],
		"tab":               valid[:8] + "\t" + valid[8:],
		"padding":           enc([]byte(`{"iss":"ab"}`)) + "==",
		"standard alphabet": strings.NewReplacer("-", "+", "_", "/").Replace(enc([]byte(`{"iss":"\u00ff\u00fe?>"}`))),
		"trailing bits":     valid[:len(valid)-1] + "B",
		"lone character":    valid + "A",
		"empty":             "",
	} {
		t.Run(name, func(t *testing.T) { peekAgrees(t, seg) })
	}
}

// FuzzPeekIssuerAgreesWithJose is TestPeekIssuerAgreesWithJose for any
// payload segment.
func FuzzPeekIssuerAgreesWithJose(f *testing.F) {
	for _, tok := range peekSeeds(f) {
		if parts := strings.Split(tok, "."); len(parts) > 1 {
			f.Add(parts[1])
		}
	}
	f.Fuzz(func(t *testing.T, seg string) {
		if strings.Contains(seg, ".") {
			return // not one segment
		}
		peekAgrees(t, seg)
	})
}
