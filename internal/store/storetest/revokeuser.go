package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/store"
)

// subjectRevocation is the record RevokeUser(id, reason, revokedAt) adds
// to the feed of a store opened with RevocationTTL ttl.
func subjectRevocation(id string, reason store.Reason, revokedAt time.Time, ttl time.Duration) store.Revocation {
	return store.Revocation{
		Kind:    store.KindSubject,
		Subject: id,
		UserID:  id,
		Reason:  reason,
		At:      revokedAt,
		Expires: revokedAt.Add(ttl),
	}
}

// checkRevocations fails unless the feed records after the first n are
// want, ignoring their Seq.
func checkRevocations(t *testing.T, st store.Store, n int, call string, want ...store.Revocation) {
	t.Helper()
	got := newRevocations(t, st, n)
	ok := len(got) == len(want)
	for i := 0; ok && i < len(got); i++ {
		w := want[i]
		w.Seq = got[i].Seq
		ok = same(normRevocation, got[i], w)
	}
	if !ok {
		t.Errorf("revocations recorded by %s = %+v, want %+v", call, got, want)
	}
}

// checkUser fails unless the stored user want.ID equals want.
func checkUser(t *testing.T, st store.Store, want store.User) {
	t.Helper()
	got, err := st.UserByID(t.Context(), want.ID)
	if err != nil || !same(normUser, got, want) {
		t.Errorf("UserByID(%q) = %+v, %v, want %+v, nil", want.ID, got, err, want)
	}
}

func testRevokeUser(t *testing.T, open opener) {
	// setUp creates users u1 and u2, for u1 a session of every kind
	// RevokeUser at now tells apart, and one session of u2.
	type fixture struct {
		ended, expired, expiresAtNow, active1, active2, other store.Session
	}
	setUp := func(t *testing.T, st store.Store, now time.Time) fixture {
		t.Helper()
		withUsers(t, st, "u1", "u2")
		var f fixture
		f.ended = newSession("ended", "u1", at(0))
		f.ended.RevokedAt, f.ended.RevokeReason = at(time.Hour), store.ReasonLogout
		f.expired = newSession("expired", "u1", at(0))
		f.expired.ExpiresAt = now.Add(-time.Hour)
		f.expiresAtNow = newSession("expires at now", "u1", at(0))
		f.expiresAtNow.ExpiresAt = now
		f.active1, f.active2 = newSession("active1", "u1", at(2*time.Hour)), newSession("active2", "u1", at(3*time.Hour))
		f.other = newSession("other", "u2", at(0))
		withSessions(t, st, f.ended, f.expired, f.expiresAtNow, f.active1, f.active2, f.other)
		return f
	}

	t.Run("EndSessions", func(t *testing.T) {
		const ttl = 20 * time.Minute
		st := open(t, store.Options{RevocationTTL: ttl})
		ctx := t.Context()
		now := at(10 * time.Hour)
		f := setUp(t, st, now)
		u, err := st.UserByID(ctx, "u1")
		must(t, "UserByID(u1)", err)
		before := len(allRevocations(t, st))

		want := u
		want.TokensRevokedAt = now
		got, n, err := st.RevokeUser(ctx, "u1", store.ReasonPasswordChange, now, true, nil)
		if err != nil || n != 2 || !same(normUser, got, want) {
			t.Errorf("RevokeUser(u1, endSessions) = %+v, %d, %v, want %+v, 2, nil", got, n, err, want)
		}
		checkUser(t, st, want)
		for _, s := range []*store.Session{&f.active1, &f.active2} {
			s.RevokedAt, s.RevokeReason = now, store.ReasonPasswordChange
		}
		for _, s := range []store.Session{f.ended, f.expired, f.expiresAtNow, f.active1, f.active2, f.other} {
			checkSession(t, st, s)
		}
		// The sessions are revoked by the user revocation alone: no
		// session records.
		checkRevocations(t, st, before, "RevokeUser(u1, endSessions)",
			subjectRevocation("u1", store.ReasonPasswordChange, now, ttl))
	})

	t.Run("KeepSessions", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		now := at(10 * time.Hour)
		f := setUp(t, st, now)
		u, err := st.UserByID(ctx, "u1")
		must(t, "UserByID(u1)", err)

		want := u
		want.TokensRevokedAt = now
		got, n, err := st.RevokeUser(ctx, "u1", store.ReasonRoleChange, now, false, nil)
		if err != nil || n != 0 || !same(normUser, got, want) {
			t.Errorf("RevokeUser(u1, keep sessions) = %+v, %d, %v, want %+v, 0, nil", got, n, err, want)
		}
		checkUser(t, st, want)
		for _, s := range []store.Session{f.ended, f.expired, f.expiresAtNow, f.active1, f.active2, f.other} {
			checkSession(t, st, s)
		}
		checkRevocations(t, st, 0, "RevokeUser(u1, keep sessions)",
			subjectRevocation("u1", store.ReasonRoleChange, now, store.DefaultRevocationTTL))
	})

	t.Run("WithFunc", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		now := at(10 * time.Hour)
		f := setUp(t, st, now)
		u, err := st.UserByID(ctx, "u1")
		must(t, "UserByID(u1)", err)

		want := u
		want.PasswordHash = "$argon2id$v=19$m=65536,t=3,p=4$bmV3$bmV3"
		want.UpdatedAt = now
		want.TokensRevokedAt = now
		var seen store.User
		got, n, err := st.RevokeUser(ctx, "u1", store.ReasonPasswordChange, now, true, func(old store.User) (store.User, error) {
			seen = old
			old.PasswordHash, old.UpdatedAt = want.PasswordHash, want.UpdatedAt
			// Cannot change:
			old.ID, old.Email, old.CreatedAt = "u9", "mallory@example.com", at(time.Hour)
			old.TokensRevokedAt = at(100 * time.Hour)
			return old, nil
		})
		if !same(normUser, seen, u) {
			t.Errorf("RevokeUser(u1, fn) passed fn %+v, want %+v", seen, u)
		}
		if err != nil || n != 2 || !same(normUser, got, want) {
			t.Errorf("RevokeUser(u1, fn changing the password) = %+v, %d, %v, want %+v, 2, nil", got, n, err, want)
		}
		checkUser(t, st, want)
		_, err = st.UserByID(ctx, "u9")
		wantErr(t, "UserByID(u9)", err, store.ErrNotFound)
		f.active1.RevokedAt, f.active1.RevokeReason = now, store.ReasonPasswordChange
		checkSession(t, st, f.active1)
		checkRevocations(t, st, 0, "RevokeUser(u1, fn)",
			subjectRevocation("u1", store.ReasonPasswordChange, now, store.DefaultRevocationTTL))
	})

	t.Run("FuncErrorWritesNothing", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		now := at(10 * time.Hour)
		f := setUp(t, st, now)
		u, err := st.UserByID(ctx, "u1")
		must(t, "UserByID(u1)", err)

		got, n, err := st.RevokeUser(ctx, "u1", store.ReasonDisabled, now, true, func(old store.User) (store.User, error) {
			old.Disabled = true
			return old, errAbort
		})
		if err != errAbort {
			t.Errorf("RevokeUser(u1, refusing fn) = %v, want %v as is", err, errAbort)
		}
		if n != 0 || !same(normUser, got, store.User{}) {
			t.Errorf("RevokeUser(u1, refusing fn) = %+v, %d, want the zero User, 0", got, n)
		}
		checkUser(t, st, u)
		for _, s := range []store.Session{f.ended, f.expired, f.expiresAtNow, f.active1, f.active2, f.other} {
			checkSession(t, st, s)
		}
		checkRevocations(t, st, 0, "RevokeUser(u1, refusing fn)")
	})

	t.Run("UnknownUser", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		withUsers(t, st, "u1")
		for _, endSessions := range []bool{false, true} {
			called := false
			got, n, err := st.RevokeUser(ctx, "nobody", store.ReasonAdmin, at(time.Hour), endSessions, func(u store.User) (store.User, error) {
				called = true
				return u, nil
			})
			call := fmt.Sprintf("RevokeUser(nobody, endSessions %v)", endSessions)
			wantErr(t, call, err, store.ErrNotFound)
			if called {
				t.Errorf("%s called fn, want not called", call)
			}
			if n != 0 || !same(normUser, got, store.User{}) {
				t.Errorf("%s = %+v, %d, want the zero User, 0", call, got, n)
			}
			_, _, err = st.RevokeUser(ctx, "nobody", store.ReasonAdmin, at(time.Hour), endSessions, nil)
			wantErr(t, call+" without fn", err, store.ErrNotFound)
		}
		checkRevocations(t, st, 0, "RevokeUser(nobody)")
	})

	t.Run("TokensRevokedAtMovesForward", func(t *testing.T) {
		// Each step records a revocation at the later of its time and one
		// second past the previous TokensRevokedAt (to the second), which
		// covers a token an issuer dated one second after it.
		st := open(t, store.Options{})
		ctx := t.Context()
		withUsers(t, st, "u1")
		sec := func(d time.Duration) time.Time { return at(d).Truncate(time.Second) }
		var recorded []store.Revocation
		for _, step := range []struct {
			name string
			at   time.Duration
			want time.Time
		}{
			{"first", 2 * time.Hour, at(2 * time.Hour)},
			{"earlier", time.Hour, sec(2 * time.Hour).Add(time.Second)},
			{"same second again", 2 * time.Hour, sec(2 * time.Hour).Add(2 * time.Second)},
			{"later", 3 * time.Hour, at(3 * time.Hour)},
			{"a millisecond earlier", 3*time.Hour - time.Millisecond, sec(3 * time.Hour).Add(time.Second)},
			{"a second later", 3*time.Hour + 2*time.Second, at(3*time.Hour + 2*time.Second)},
		} {
			got, _, err := st.RevokeUser(ctx, "u1", store.ReasonAdmin, at(step.at), false, nil)
			if err != nil || !ms(got.TokensRevokedAt).Equal(ms(step.want)) {
				t.Errorf("%s: RevokeUser(u1, at %v) = TokensRevokedAt %v, %v, want %v, nil", step.name, step.at, got.TokensRevokedAt, err, step.want)
			}
			if u, err := st.UserByID(ctx, "u1"); err != nil || !ms(u.TokensRevokedAt).Equal(ms(step.want)) {
				t.Errorf("%s: UserByID(u1) after RevokeUser(u1, at %v) = TokensRevokedAt %v, %v, want %v, nil", step.name, step.at, u.TokensRevokedAt, err, step.want)
			}
			recorded = append(recorded, subjectRevocation("u1", store.ReasonAdmin, step.want, store.DefaultRevocationTTL))
		}
		checkRevocations(t, st, 0, "RevokeUser(u1) at each step", recorded...)
	})
}
