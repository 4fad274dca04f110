package server

import (
	"crypto/rand"
	"path/filepath"
	"testing"

	"github.com/latch-auth/latch/internal/keyring"
	"github.com/latch-auth/latch/internal/keyring/keyringtest"
	"github.com/latch-auth/latch/internal/store/sqlite"
)

// TestAccessValidatorsPerKeySet: the access-token validators are built
// once per verification key set, one per audience, and again when the
// keys change.
func TestAccessValidatorsPerKeySet(t *testing.T) {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "latch.db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("sqlite.Open = %v, want nil", err)
	}
	t.Cleanup(func() { db.Close() })
	master := make([]byte, keyring.MasterKeySize)
	rand.Read(master)
	ring, err := keyring.New(ctx, db, master, keyring.Config{GenerateKey: keyringtest.GenerateKey})
	if err != nil {
		t.Fatalf("keyring.New = %v, want nil", err)
	}
	if _, err := ring.Ensure(ctx); err != nil {
		t.Fatalf("Ring.Ensure = %v, want nil", err)
	}
	s := &Server{cfg: Config{Issuer: "https://latch.test", Audience: "api"}, d: Deps{Keys: ring}, audiences: []string{"api", "orders"}}

	first, err := s.accessValidators()
	if err != nil || len(first) != 2 {
		t.Fatalf("accessValidators() = %d validators, %v; want 2, nil", len(first), err)
	}
	again, err := s.accessValidators()
	if err != nil || again[0] != first[0] || again[1] != first[1] {
		t.Errorf("accessValidators() for the same key set = %p, %v; want the validators built before, %p", again, err, first)
	}

	if _, err := ring.Rotate(ctx, true); err != nil {
		t.Fatalf("Ring.Rotate = %v, want nil", err)
	}
	after, err := s.accessValidators()
	if err != nil || len(after) != 2 || after[0] == first[0] {
		t.Errorf("accessValidators() after a rotation = %p, %v; want new validators", after, err)
	}
}
