package keyring_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/keyring"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/sqlite"
	"github.com/latch-auth/latch/jose"
)

// keyRevocations returns the feed's key revocations.
func keyRevocations(t *testing.T, db *sqlite.DB) []store.Revocation {
	t.Helper()
	rs, err := db.RevocationsSince(t.Context(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.Revocation
	for _, r := range rs {
		if r.Kind == store.KindKey {
			out = append(out, r)
		}
	}
	return out
}

func TestRevokeSigningKey(t *testing.T) {
	ctx := t.Context()
	r, db, clk := ensured(t, keyring.Config{})
	old := signerID(t, r)
	clk.Advance(time.Hour)
	tok := issue(t, r, clk.Now(), r.Config().TokenTTL)

	repl, err := r.Revoke(ctx, old)
	if err != nil {
		t.Fatalf("Revoke(signer) = %v, want nil", err)
	}
	now := clk.Now()
	if repl.ID == "" || repl.ID == old || !repl.ActivateAt.Equal(now) {
		t.Fatalf("Revoke(only key) replacement = %+v, want a new key signing from %v", repl, now)
	}
	if got := signerID(t, r); got != repl.ID {
		t.Errorf("Signer() after Revoke = %s, want the replacement %s", got, repl.ID)
	}
	if got, want := jwksIDs(t, r), []string{repl.ID}; !slices.Equal(got, want) {
		t.Errorf("JWKS() after Revoke = %v, want only the replacement %v", got, want)
	}
	if got, want := verifyIDs(t, r), []string{repl.ID}; !slices.Equal(got, want) {
		t.Errorf("VerificationKeys() after Revoke = %v, want %v", got, want)
	}
	if _, err := serverValidator(t, r, clk).Parse(tok.raw); !errors.Is(err, jose.ErrUnknownKey) {
		t.Errorf("Parse(token of the revoked key) = %v, want %v", err, jose.ErrUnknownKey)
	}
	k := storedKey(t, db, old)
	if !k.RevokedAt.Equal(now) || !k.RetireAt.Equal(now) || !k.RemoveAt.Equal(now) {
		t.Errorf("revoked key revoked %v retire %v remove %v, want all %v", k.RevokedAt, k.RetireAt, k.RemoveAt, now)
	}
	revs := keyRevocations(t, db)
	if len(revs) != 1 || revs[0].Subject != old || revs[0].Reason != store.ReasonKeyRevoked || !revs[0].At.Equal(now) {
		t.Errorf("key revocations = %+v, want one for %s at %v", revs, old, now)
	}
	list, err := r.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range list {
		if info.ID == old && info.State != "revoked" {
			t.Errorf("List() state of the revoked key = %q, want revoked", info.State)
		}
	}

	// Again: no error, no second record, no second replacement.
	again, err := r.Revoke(ctx, old)
	if err != nil || again.ID != "" {
		t.Errorf("Revoke(revoked key) = %+v, %v, want no replacement, nil", again, err)
	}
	if n := len(keyRevocations(t, db)); n != 1 {
		t.Errorf("key revocations after a second Revoke = %d, want 1", n)
	}
}

func TestRevokeRetiredKeyNeedsNoReplacement(t *testing.T) {
	ctx := t.Context()
	r, db, clk := ensured(t, keyring.Config{})
	old := signerID(t, r)
	next, err := r.Rotate(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Minute)
	repl, err := r.Revoke(ctx, old)
	if err != nil || repl.ID != "" {
		t.Fatalf("Revoke(retired key) = %+v, %v, want no replacement, nil", repl, err)
	}
	if got, want := jwksIDs(t, r), []string{next.ID}; !slices.Equal(got, want) {
		t.Errorf("JWKS() = %v, want %v", got, want)
	}
	if n := len(accessKeys(t, r, db)); n != 2 {
		t.Errorf("stored access-token keys = %d, want 2 (no replacement created)", n)
	}
}

func TestRevokeSignerWithPendingKey(t *testing.T) {
	ctx := t.Context()
	r, _, clk := ensured(t, keyring.Config{})
	old := signerID(t, r)
	pending, err := r.Rotate(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	repl, err := r.Revoke(ctx, old)
	if err != nil || repl.ID == "" {
		t.Fatalf("Revoke(signer before the pending key activates) = %+v, %v, want a replacement", repl, err)
	}
	if got := signerID(t, r); got != repl.ID {
		t.Errorf("Signer() = %s, want the replacement %s", got, repl.ID)
	}
	clk.Set(pending.ActivateAt)
	if got := signerID(t, r); got != pending.ID {
		t.Errorf("Signer() when the pending key activates = %s, want %s", got, pending.ID)
	}
	list, err := r.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range list {
		if info.ID == repl.ID && !info.RetireAt.Equal(pending.ActivateAt) {
			t.Errorf("replacement retires at %v, want when the pending key activates, %v", info.RetireAt, pending.ActivateAt)
		}
	}
}

func TestRevokeUnknownKey(t *testing.T) {
	r, _, _ := ensured(t, keyring.Config{})
	if _, err := r.Revoke(t.Context(), "no-such-kid"); !errors.Is(err, keyring.ErrUnknownKey) {
		t.Errorf("Revoke(unknown) = %v, want %v", err, keyring.ErrUnknownKey)
	}
}
