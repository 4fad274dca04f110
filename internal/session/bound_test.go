package session

import (
	"errors"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/store"
)

// TestRotateBound: the token Lookup accepts, of a session bound to a DPoP
// key, rotates only with a proof of that key; refused, it leaves the
// session as it was. Tokens Lookup refuses go on to the rotation's own
// verdict (a reuse still revokes the session).
func TestRotateBound(t *testing.T) {
	const key, other = "jkt-of-the-key", "jkt-of-another"
	tests := []struct {
		name    string
		jkt     string
		wantErr error
	}{
		{name: "no proof", jkt: "", wantErr: ErrDPoPProofRequired},
		{name: "another key", jkt: other, wantErr: ErrDPoPKey},
		{name: "the key", jkt: key},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := t.Context()
			s0, t0, err := f.m.Start(ctx, "u1", Client{DPoPJKT: key})
			if err != nil {
				t.Fatal(err)
			}
			s, next, err := f.m.RotateBound(ctx, t0, "", tt.jkt)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("RotateBound(t0, %q) = %v, want %v", tt.jkt, err, tt.wantErr)
			}
			stored, serr := f.db.SessionByID(ctx, s0.ID)
			if serr != nil {
				t.Fatal(serr)
			}
			switch {
			case tt.wantErr != nil && (stored.Generation != 0 || !stored.RevokedAt.IsZero() || next != ""):
				t.Errorf("after a refused RotateBound: generation %d, revoked %v, token %q; want the session as it was", stored.Generation, stored.RevokedAt, next)
			case tt.wantErr == nil && (s.Generation != 1 || stored.Generation != 1 || next == ""):
				t.Errorf("RotateBound(t0, the key) = generation %d (stored %d), token %q; want a rotation", s.Generation, stored.Generation, next)
			}
		})
	}

	t.Run("unbound session", func(t *testing.T) {
		f := newFixture(t)
		_, t0 := f.start(t, "u1")
		if _, _, err := f.m.RotateBound(t.Context(), t0, "", ""); err != nil {
			t.Errorf("RotateBound(token of an unbound session, no proof) = %v, want nil", err)
		}
	})

	t.Run("reuse without proof", func(t *testing.T) {
		f := newFixture(t)
		ctx := t.Context()
		_, t0, err := f.m.Start(ctx, "u1", Client{DPoPJKT: key})
		if err != nil {
			t.Fatal(err)
		}
		_, t1, err := f.m.RotateBound(ctx, t0, "", key)
		if err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(time.Minute)
		if _, _, err := f.m.RotateBound(ctx, t1, "", key); err != nil {
			t.Fatal(err)
		}
		// t0's successor was used: t0 is a reuse, whatever the proof.
		_, _, err = f.m.RotateBound(ctx, t0, "", "")
		if !errors.Is(err, ErrReuse) {
			t.Errorf("RotateBound(used token, no proof) = %v, want %v", err, ErrReuse)
		}
		if s, _ := f.m.store.SessionByID(ctx, tokenSession(t, f.m, t0)); s.RevokeReason != store.ReasonReuse {
			t.Errorf("session after a reuse: revoke reason %q, want %q", s.RevokeReason, store.ReasonReuse)
		}
	})
}

// tokenSession is the session ID of a refresh token.
func tokenSession(t *testing.T, m *Manager, token string) string {
	t.Helper()
	tok, err := m.open(token)
	if err != nil {
		t.Fatal(err)
	}
	return tok.sessionID()
}
