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
			s, _, next, err := f.m.RotateBound(ctx, t0, "", tt.jkt)
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
		if _, _, _, err := f.m.RotateBound(t.Context(), t0, "", ""); err != nil {
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
		_, _, t1, err := f.m.RotateBound(ctx, t0, "", key)
		if err != nil {
			t.Fatal(err)
		}
		f.clk.Advance(time.Minute)
		if _, _, _, err := f.m.RotateBound(ctx, t1, "", key); err != nil {
			t.Fatal(err)
		}
		// t0's successor was used: t0 is a reuse, whatever the proof.
		_, _, _, err = f.m.RotateBound(ctx, t0, "", "")
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

// TestRotateDisabledUser: a rotation reads the session's user in its own
// transaction; for a disabled user it ends the session (ReasonDisabled,
// one revocation recorded) instead of issuing a successor, and refuses
// with ErrInvalidToken and ErrDisabled. A token that is a reuse stays a
// reuse. RotateBound returns the user it read.
func TestRotateDisabledUser(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	s0, t0 := f.start(t, "u1")
	s, u, t1, err := f.m.RotateBound(ctx, t0, "", "")
	if err != nil || u.ID != "u1" || u.Email != "a@example.com" || s.ID != s0.ID || t1 == "" {
		t.Fatalf("RotateBound(t0) = session %s, user %+v, token %q, %v; want %s, u1, a token, nil", s.ID, u, t1, err, s0.ID)
	}
	if _, err := f.db.UpdateUser(ctx, "u1", func(u store.User) (store.User, error) {
		u.Disabled, u.Roles = true, []string{"admin"}
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	s, u, next, err := f.m.RotateBound(ctx, t1, "", "")
	if !errors.Is(err, ErrInvalidToken) || !errors.Is(err, ErrDisabled) || next != "" || s.ID != "" || u.ID != "" {
		t.Fatalf("RotateBound(t1 of a disabled user) = session %q, user %q, token %q, %v; want nothing, %v and %v", s.ID, u.ID, next, err, ErrInvalidToken, ErrDisabled)
	}
	stored, err := f.db.SessionByID(ctx, s0.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.RevokedAt.IsZero() || stored.RevokeReason != store.ReasonDisabled || stored.Generation != 1 {
		t.Errorf("session after the refused rotation: revoked %v (%s), generation %d; want revoked (%s), generation 1", stored.RevokedAt, stored.RevokeReason, stored.Generation, store.ReasonDisabled)
	}
	rs, err := f.db.RevocationsSince(ctx, 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 1 || rs[0].Subject != s0.ID || rs[0].Reason != store.ReasonDisabled {
		t.Errorf("revocations = %+v, want one of session %s (%s)", rs, s0.ID, store.ReasonDisabled)
	}

	// A reuse of a disabled user's session is still a reuse.
	_, t2 := f.start(t, "u2")
	if _, _, t3, err := f.m.RotateBound(ctx, t2, "", ""); err != nil {
		t.Fatal(err)
	} else if _, _, _, err := f.m.RotateBound(ctx, t3, "", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.UpdateUser(ctx, "u2", func(u store.User) (store.User, error) {
		u.Disabled = true
		return u, nil
	}); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(time.Minute) // past the grace window
	if _, _, _, err := f.m.RotateBound(ctx, t2, "", ""); !errors.Is(err, ErrReuse) {
		t.Errorf("RotateBound(t2, used twice over, user disabled) = %v, want %v", err, ErrReuse)
	}
}
