package jose_test

import (
	"bytes"
	"runtime/debug"
	"testing"

	"github.com/latch-auth/latch/jose"
)

// skipUnlessAllocationsMeaningful skips under the race detector, where
// sync.Pool drops items at random and the pooled HMAC state is rebuilt.
func skipUnlessAllocationsMeaningful(t *testing.T) {
	t.Helper()
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" && s.Value == "true" {
				t.Skip("allocation counts are not meaningful under the race detector")
			}
		}
	}
}

// TestAllocations holds the hot paths to their allocation budgets, so that
// a regression fails the build. The payload Verify returns is the one
// allocation the API needs; everything else should stay on the stack.
//
// The ES256 and EdDSA ceilings are the counts measured with Go 1.26 on
// linux/amd64; they are budgets to keep, not goals:
//
//   - EdDSA, 1: the payload only; ed25519.Verify does not allocate.
//   - ES256, 13: the payload, the digest buffer and the DER buffer that
//     (*Key).verify hands to ecdsa.VerifyASN1, and 10 inside crypto/ecdsa
//     (converting the public key to its FIPS form on every call, big
//     number work). A toolchain upgrade may move this number.
func TestAllocations(t *testing.T) {
	skipUnlessAllocationsMeaningful(t)
	payload := bytes.Repeat([]byte("x"), 300)
	tests := []struct {
		name string
		alg  jose.Algorithm
		opts jose.SignOptions
		max  float64
	}{
		{"Verify HS256 with kid", jose.HS256, jose.SignOptions{Type: "JWT"}, 1},
		{"Verify HS256 without kid", jose.HS256, jose.SignOptions{Type: "JWT", OmitKeyID: true}, 1},
		{"Verify EdDSA with kid", jose.EdDSA, jose.SignOptions{Type: "JWT"}, 1},
		{"Verify ES256 with kid", jose.ES256, jose.SignOptions{Type: "JWT"}, 13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := signingKey(t, tt.alg, "key-2024-10")
			other := jose.ES384 // a second key of the same kind (NewKeySet)
			if key.IsSymmetric() {
				other = jose.HS384
			}
			set := trustSet(t, key, signingKey(t, other, "other"))
			tok := signOrFail(t, key, payload, tt.opts)
			allocs := testing.AllocsPerRun(1000, func() {
				if _, _, err := jose.Verify(tok, set, jose.VerifyOptions{}); err != nil {
					t.Fatal(err)
				}
			})
			if allocs > tt.max {
				t.Errorf("Verify(%s, %d-byte payload) allocates %v times, want at most %v", tt.alg, len(payload), allocs, tt.max)
			}
		})
	}

	t.Run("Sign HS256", func(t *testing.T) {
		key := signingKey(t, jose.HS256, "key-2024-10")
		allocs := testing.AllocsPerRun(1000, func() {
			if _, err := jose.Sign(key, payload, jose.SignOptions{Type: "JWT"}); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 1 {
			t.Errorf("Sign(HS256, %d-byte payload) allocates %v times, want at most 1 (the token)", len(payload), allocs)
		}
	})

	// A forged token costs the verifier no garbage: the rejection is the
	// ErrSignature sentinel itself.
	t.Run("Verify rejects a forged HS256 token", func(t *testing.T) {
		key := signingKey(t, jose.HS256, "key-2024-10")
		set := trustSet(t, key)
		tok := signOrFail(t, key, payload, jose.SignOptions{Type: "JWT"})
		forged := withSig(tok, make([]byte, 32))
		allocs := testing.AllocsPerRun(1000, func() {
			if _, _, err := jose.Verify(forged, set, jose.VerifyOptions{}); err == nil {
				t.Fatal("forged token verified")
			}
		})
		if allocs > 0 {
			t.Errorf("Verify(forged HS256 token) allocates %v times, want 0", allocs)
		}
	})
}
