package jose

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// vector is one file of testdata/vectors: a published JWS example.
type vector struct {
	Name          string          `json:"name"`
	Source        string          `json:"source"`
	Key           json.RawMessage `json:"key"` // a JWK
	Token         string          `json:"token"`
	Payload       string          `json:"payload"`
	Alg           string          `json:"alg"`
	Deterministic bool            `json:"deterministic"` // the signature is a function of key and input
	Expect        string          `json:"expect"`        // "valid" or "reject"
}

func loadVectors(tb testing.TB) map[string]vector {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "vectors", "*.json"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("no vectors in testdata/vectors: %v", err)
	}
	vs := make(map[string]vector, len(files))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		var v vector
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&v); err != nil {
			tb.Fatalf("%s: %v", file, err)
		}
		if v.Expect != "valid" && v.Expect != "reject" {
			tb.Fatalf("%s: expect %q, want valid or reject", file, v.Expect)
		}
		vs[strings.TrimSuffix(filepath.Base(file), ".json")] = v
	}
	return vs
}

// TestVectors verifies every published example with its JWK, checks the
// deterministic signatures byte for byte, and checks that a one-byte change
// of the payload is caught.
func TestVectors(t *testing.T) {
	vs := loadVectors(t)
	for _, name := range slices.Sorted(maps.Keys(vs)) {
		v := vs[name]
		t.Run(name, func(t *testing.T) {
			key, err := ParseJWK(v.Key, "")
			if err != nil {
				t.Fatalf("ParseJWK(%s key) = %v", v.Source, err)
			}
			pub := key
			if !key.IsSymmetric() {
				if pub, err = key.Public(); err != nil {
					t.Fatal(err)
				}
			}
			set, err := NewKeySet(pub)
			if err != nil {
				t.Fatal(err)
			}

			hdr, payload, err := Verify(v.Token, set, VerifyOptions{})
			if v.Expect == "reject" {
				if !errors.Is(err, ErrUnsupportedAlgorithm) {
					t.Errorf("Verify(%s token) = %v, want %v", v.Source, err, ErrUnsupportedAlgorithm)
				}
				if payload != nil || hdr != (Header{}) {
					t.Errorf("Verify(%s token) = %+v, %q with error, want zero values", v.Source, hdr, payload)
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify(%s token) = %v", v.Source, err)
			}
			if !bytes.Equal(payload, []byte(v.Payload)) {
				t.Errorf("Verify(%s token) payload = %q, want %q", v.Source, payload, v.Payload)
			}
			if hdr.Algorithm != Algorithm(v.Alg) {
				t.Errorf("Verify(%s token) alg = %s, want %s", v.Source, hdr.Algorithm, v.Alg)
			}

			lastDot := strings.LastIndexByte(v.Token, '.')
			if v.Deterministic {
				sig, err := key.sign([]byte(v.Token[:lastDot]))
				if err != nil {
					t.Fatalf("sign(%s signing input) = %v", v.Source, err)
				}
				want, err := base64.RawURLEncoding.DecodeString(v.Token[lastDot+1:])
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(sig, want) {
					t.Errorf("sign(%s signing input) = %x, want %x", v.Source, sig, want)
				}
			}

			firstDot := strings.IndexByte(v.Token, '.')
			raw, err := base64.RawURLEncoding.DecodeString(v.Token[firstDot+1 : lastDot])
			if err != nil {
				t.Fatal(err)
			}
			raw[len(raw)/2] ^= 0x01
			tampered := v.Token[:firstDot+1] + base64.RawURLEncoding.EncodeToString(raw) + v.Token[lastDot:]
			if _, _, err := Verify(tampered, set, VerifyOptions{}); !errors.Is(err, ErrSignature) {
				t.Errorf("Verify(%s token with a payload byte changed) = %v, want %v", v.Source, err, ErrSignature)
			}
		})
	}
}
