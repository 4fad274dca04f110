package storetest

import (
	"bytes"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/store"
)

func newSession(id, userID string, created time.Time) store.Session {
	return store.Session{
		ID:         id,
		UserID:     userID,
		TokenHash:  hash(id),
		CreatedAt:  created,
		LastUsedAt: created.Add(time.Minute),
		ExpiresAt:  created.Add(30 * 24 * time.Hour),
		UserAgent:  "Mozilla/5.0 (X11; Linux x86_64)",
		IP:         "192.0.2.1",
	}
}

// withUsers creates a user for each ID.
func withUsers(t *testing.T, st store.Store, ids ...string) {
	t.Helper()
	for i, id := range ids {
		must(t, "CreateUser("+id+")", st.CreateUser(t.Context(), newUser(id, id+"@example.com", at(time.Duration(i)*time.Second))))
	}
}

// withSessions creates the sessions.
func withSessions(t *testing.T, st store.Store, ss ...store.Session) {
	t.Helper()
	for _, s := range ss {
		must(t, "CreateSession("+s.ID+")", st.CreateSession(t.Context(), s))
	}
}

// ids returns the IDs of ss.
func ids(ss []store.Session) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.ID)
	}
	return out
}

func testSessions(t *testing.T, open opener) {
	t.Run("CreateAndGet", func(t *testing.T) {
		st := open(t, store.Options{})
		withUsers(t, st, "u1")
		s := newSession("s1", "u1", at(0))
		s.Generation = 3
		s.PrevHash = hash("s1-previous")
		s.RotatedAt = at(time.Second)
		s.Reissues = 2
		s.ParentID = "browser-session"
		s.ClientID = "c_web"
		s.Scopes = []string{"email", "openid", "orders:read"}
		s.AuthTime = at(-time.Hour)
		s.DPoPJKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
		withSessions(t, st, s)

		checkSession(t, st, s)
	})

	t.Run("ZeroOAuthFields", func(t *testing.T) {
		// A session of latch's own login API: no client, no scopes, no
		// auth time; they come back zero (Scopes may be nil).
		st := open(t, store.Options{})
		withUsers(t, st, "u1")
		s := newSession("s1", "u1", at(0))
		withSessions(t, st, s)

		got, err := st.SessionByID(t.Context(), "s1")
		must(t, "SessionByID(s1)", err)
		if got.ClientID != "" || len(got.Scopes) != 0 || !got.AuthTime.IsZero() || got.DPoPJKT != "" {
			t.Errorf("SessionByID(s1) = client %q, scopes %q, auth time %v, dpop jkt %q; want all zero", got.ClientID, got.Scopes, got.AuthTime, got.DPoPJKT)
		}
	})

	t.Run("ChildrenOfABrowserSession", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		withUsers(t, st, "u1")
		browser := newSession("browser", "u1", at(0))
		child1, child2 := newSession("child1", "u1", at(time.Second)), newSession("child2", "u1", at(2*time.Second))
		child1.ParentID, child2.ParentID = "browser", "browser"
		other := newSession("other", "u1", at(3*time.Second))
		other.ParentID = "another browser"
		withSessions(t, st, browser, child1, child2, other)

		list, err := st.ListSessions(ctx, "u1")
		must(t, "ListSessions(u1)", err)
		var children []string
		for _, s := range list {
			if s.ParentID == "browser" {
				children = append(children, s.ID)
			}
		}
		if want := []string{"child2", "child1"}; !slices.Equal(children, want) {
			t.Errorf("ListSessions(u1) has children of browser %q, want %q", children, want)
		}
		for _, want := range []store.Session{browser, child1, child2, other} {
			checkSession(t, st, want)
		}
	})

	t.Run("Conflict", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		withUsers(t, st, "u1")
		s1, s2 := newSession("s1", "u1", at(0)), newSession("s2", "u1", at(time.Second))
		withSessions(t, st, s1, s2)

		sameID := newSession("s1", "u1", at(time.Hour))
		sameID.TokenHash = hash("another")
		wantErr(t, "CreateSession(same ID)", st.CreateSession(ctx, sameID), store.ErrConflict)
		sameHash := newSession("s3", "u1", at(time.Hour))
		sameHash.TokenHash = s1.TokenHash
		wantErr(t, "CreateSession(same token hash)", st.CreateSession(ctx, sameHash), store.ErrConflict)

		_, err := st.UpdateSession(ctx, "s2", func(s store.Session) (store.Session, error) {
			s.TokenHash = s1.TokenHash
			return s, nil
		})
		wantErr(t, "UpdateSession(s2, token hash of s1)", err, store.ErrConflict)
		checkSession(t, st, s1)
		checkSession(t, st, s2)
		_, err = st.SessionByID(ctx, "s3")
		wantErr(t, "SessionByID(s3)", err, store.ErrNotFound)
	})

	t.Run("UnknownUser", func(t *testing.T) {
		st := open(t, store.Options{})
		err := st.CreateSession(t.Context(), newSession("s1", "nobody", at(0)))
		wantErr(t, "CreateSession(user nobody)", err, store.ErrNotFound)
	})

	t.Run("NotFound", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		_, err := st.SessionByID(ctx, "nothing")
		wantErr(t, "SessionByID(nothing)", err, store.ErrNotFound)
		called := false
		_, err = st.UpdateSession(ctx, "nothing", func(s store.Session) (store.Session, error) {
			called = true
			return s, nil
		})
		wantErr(t, "UpdateSession(nothing)", err, store.ErrNotFound)
		if called {
			t.Errorf("UpdateSession(nothing) called fn, want not called")
		}
	})

	t.Run("ListActiveNewestFirst", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		withUsers(t, st, "u1", "u2")
		revoked := newSession("revoked", "u1", at(2*time.Hour))
		revoked.RevokedAt, revoked.RevokeReason = at(3*time.Hour), store.ReasonLogout
		withSessions(t, st,
			newSession("oldest", "u1", at(0)),
			newSession("newest", "u1", at(4*time.Hour)),
			revoked,
			newSession("middle", "u1", at(time.Hour)),
			newSession("other user", "u2", at(5*time.Hour)),
		)
		got, err := st.ListSessions(ctx, "u1")
		if want := []string{"newest", "middle", "oldest"}; err != nil || !slices.Equal(ids(got), want) {
			t.Errorf("ListSessions(u1) = %q, %v, want %q, nil", ids(got), err, want)
		}
		if len(got) > 0 && !same(normSession, got[0], newSession("newest", "u1", at(4*time.Hour))) {
			t.Errorf("ListSessions(u1)[0] = %+v, want %+v", got[0], newSession("newest", "u1", at(4*time.Hour)))
		}
		got, err = st.ListSessions(ctx, "nobody")
		if err != nil || len(got) != 0 {
			t.Errorf("ListSessions(nobody) = %q, %v, want none, nil", ids(got), err)
		}
	})

	t.Run("Update", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		withUsers(t, st, "u1", "u2")
		s := newSession("s1", "u1", at(0))
		s.ParentID = "browser"
		s.ClientID = "c_web"
		s.Scopes = []string{"openid"}
		s.AuthTime = at(-time.Minute)
		s.DPoPJKT = "bound-key"
		withSessions(t, st, s)

		want := s
		want.PrevHash, want.TokenHash = s.TokenHash, hash("s1-next")
		want.Generation = 1
		want.Reissues = 1
		want.RotatedAt, want.LastUsedAt = at(time.Hour), at(time.Hour)
		want.ExpiresAt = at(48 * time.Hour)
		want.UserAgent, want.IP = "curl/8.0", "2001:db8::1"
		got, err := st.UpdateSession(ctx, "s1", func(old store.Session) (store.Session, error) {
			if !same(normSession, old, s) {
				t.Errorf("UpdateSession(s1) passed fn %+v, want %+v", old, s)
			}
			v := want
			v.ID, v.UserID, v.ParentID, v.CreatedAt = "s2", "u2", "", at(time.Hour) // cannot change
			v.ClientID, v.Scopes, v.AuthTime = "c_other", []string{"admin"}, at(time.Hour)
			v.DPoPJKT = "another-key"
			return v, nil
		})
		if err != nil || !same(normSession, got, want) {
			t.Errorf("UpdateSession(s1) = %+v, %v, want %+v, nil", got, err, want)
		}
		checkSession(t, st, want)
		_, err = st.SessionByID(ctx, "s2")
		wantErr(t, "SessionByID(s2)", err, store.ErrNotFound)
		if n := len(allRevocations(t, st)); n != 0 {
			t.Errorf("revocations after an update that does not revoke: %d, want 0", n)
		}
	})

	t.Run("UpdateWithUser", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		withUsers(t, st, "u1", "u2")
		s1, s2 := newSession("s1", "u1", at(0)), newSession("s2", "u2", at(0))
		withSessions(t, st, s1, s2)
		// The user as UpdateUser last stored it, not as created.
		u1, err := st.UpdateUser(ctx, "u1", func(u store.User) (store.User, error) {
			u.Roles, u.Disabled = []string{"auditor"}, true
			u.Claims = map[string]json.RawMessage{"tenant": json.RawMessage(`"acme"`)}
			return u, nil
		})
		must(t, "UpdateUser(u1)", err)

		want := s1
		want.PrevHash, want.TokenHash, want.Generation = s1.TokenHash, hash("s1-next"), 1
		got, gotUser, err := st.UpdateSessionUser(ctx, "s1", func(old store.Session, u store.User) (store.Session, error) {
			if !same(normSession, old, s1) || !same(normUser, u, u1) {
				t.Errorf("UpdateSessionUser(s1) passed fn %+v, %+v; want %+v, %+v", old, u, s1, u1)
			}
			v := want
			v.UserID = "u2" // cannot change
			return v, nil
		})
		if err != nil || !same(normSession, got, want) || !same(normUser, gotUser, u1) {
			t.Errorf("UpdateSessionUser(s1) = %+v, %+v, %v; want %+v, %+v, nil", got, gotUser, err, want, u1)
		}
		checkSession(t, st, want)
		checkSession(t, st, s2)

		// A refusal writes nothing and returns fn's error as is.
		got, gotUser, err = st.UpdateSessionUser(ctx, "s2", func(old store.Session, u store.User) (store.Session, error) {
			old.Generation = 9
			return old, errAbort
		})
		if err != errAbort || !same(normSession, got, store.Session{}) || !same(normUser, gotUser, store.User{}) {
			t.Errorf("UpdateSessionUser(s2, refusing fn) = %+v, %+v, %v; want zero values, %v as is", got, gotUser, err, errAbort)
		}
		checkSession(t, st, s2)

		called := false
		_, _, err = st.UpdateSessionUser(ctx, "nope", func(s store.Session, _ store.User) (store.Session, error) {
			called = true
			return s, nil
		})
		wantErr(t, "UpdateSessionUser(nope)", err, store.ErrNotFound)
		if called {
			t.Error("UpdateSessionUser(nope) called fn, want no call")
		}

		// A revocation is recorded as by UpdateSession.
		_, _, err = st.UpdateSessionUser(ctx, "s2", func(s store.Session, _ store.User) (store.Session, error) {
			s.RevokedAt, s.RevokeReason = at(time.Hour), store.ReasonDisabled
			return s, nil
		})
		must(t, "UpdateSessionUser(s2, revoke)", err)
		rs := allRevocations(t, st)
		if len(rs) != 1 || rs[0].Subject != "s2" || rs[0].UserID != "u2" || rs[0].Reason != store.ReasonDisabled {
			t.Errorf("revocations after UpdateSessionUser revoked s2: %+v, want one of s2 (u2, %s)", rs, store.ReasonDisabled)
		}
	})

	t.Run("UpdateFuncErrorAborts", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		withUsers(t, st, "u1")
		s := newSession("s1", "u1", at(0))
		withSessions(t, st, s)

		got, err := st.UpdateSession(ctx, "s1", func(old store.Session) (store.Session, error) {
			old.Generation = 7
			old.RevokedAt, old.RevokeReason = at(time.Hour), store.ReasonReuse
			return old, errAbort
		})
		if err != errAbort {
			t.Errorf("UpdateSession(s1, refusing fn) = %v, want %v as is", err, errAbort)
		}
		if !same(normSession, got, store.Session{}) {
			t.Errorf("UpdateSession(s1, refusing fn) = %+v, want the zero Session", got)
		}
		checkSession(t, st, s)
		if n := len(allRevocations(t, st)); n != 0 {
			t.Errorf("revocations after a refused revoke: %d, want 0", n)
		}
	})

	t.Run("RevokeRecordsOneRevocation", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			opts store.Options
			ttl  time.Duration
		}{
			{"default TTL", store.Options{}, store.DefaultRevocationTTL},
			{"configured TTL", store.Options{RevocationTTL: 90 * time.Minute}, 90 * time.Minute},
		} {
			t.Run(tc.name, func(t *testing.T) {
				st := open(t, tc.opts)
				ctx := t.Context()
				withUsers(t, st, "u1")
				withSessions(t, st, newSession("s1", "u1", at(0)), newSession("s2", "u1", at(time.Second)))

				revokedAt := at(time.Hour)
				want, err := st.UpdateSession(ctx, "s1", func(s store.Session) (store.Session, error) {
					s.RevokedAt, s.RevokeReason = revokedAt, store.ReasonLogout
					return s, nil
				})
				must(t, "UpdateSession(s1, revoke)", err)
				if !ms(want.RevokedAt).Equal(ms(revokedAt)) {
					t.Errorf("UpdateSession(s1, revoke).RevokedAt = %v, want %v", want.RevokedAt, revokedAt)
				}
				rs := allRevocations(t, st)
				wantRev := store.Revocation{
					Kind:    store.KindSession,
					Subject: "s1",
					UserID:  "u1",
					Reason:  store.ReasonLogout,
					At:      revokedAt,
					Expires: revokedAt.Add(tc.ttl),
				}
				if len(rs) == 1 {
					wantRev.Seq = rs[0].Seq
				}
				if len(rs) != 1 || !same(normRevocation, rs[0], wantRev) {
					t.Fatalf("revocations after revoking s1 = %+v, want [%+v]", rs, wantRev)
				}

				// A revoked session stays revoked, at its time and for its
				// reason, and records nothing more.
				later := want
				later.LastUsedAt = at(2 * time.Hour)
				for _, change := range []struct {
					name string
					fn   func(store.Session) store.Session
				}{
					{"revoke again", func(s store.Session) store.Session {
						s.RevokedAt, s.RevokeReason = at(2*time.Hour), store.ReasonReuse
						s.LastUsedAt = at(2 * time.Hour)
						return s
					}},
					{"unrevoke", func(s store.Session) store.Session {
						s.RevokedAt, s.RevokeReason = time.Time{}, ""
						return s
					}},
				} {
					got, err := st.UpdateSession(ctx, "s1", func(s store.Session) (store.Session, error) {
						return change.fn(s), nil
					})
					if err != nil || !same(normSession, got, later) {
						t.Errorf("UpdateSession(s1, %s) = %+v, %v, want %+v, nil", change.name, got, err, later)
					}
				}
				checkSession(t, st, later)
				if rs := allRevocations(t, st); len(rs) != 1 {
					t.Errorf("revocations after updating revoked s1 = %+v, want only %+v", rs, wantRev)
				}
				got, err := st.ListSessions(ctx, "u1")
				if want := []string{"s2"}; err != nil || !slices.Equal(ids(got), want) {
					t.Errorf("ListSessions(u1) = %q, %v, want %q, nil", ids(got), err, want)
				}
			})
		}
	})

	t.Run("DeleteEndedSessions", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		withUsers(t, st, "u1")
		cutoff := at(10 * time.Hour)
		session := func(id string, expires, revoked time.Duration) store.Session {
			s := newSession(id, "u1", at(0))
			s.ExpiresAt = at(expires)
			if revoked != 0 {
				s.RevokedAt, s.RevokeReason = at(revoked), store.ReasonLogout
			}
			return s
		}
		all := []struct {
			s    store.Session
			gone bool
		}{
			{session("active", 20*time.Hour, 0), false},
			{session("expired before", 9*time.Hour, 0), true},
			{session("expires at cutoff", 10*time.Hour, 0), false},
			{session("revoked before", 20*time.Hour, 9*time.Hour), true},
			{session("revoked after", 20*time.Hour, 11*time.Hour), false},
		}
		wantN := 0
		for _, tc := range all {
			withSessions(t, st, tc.s)
			if tc.gone {
				wantN++
			}
		}
		n, err := st.PruneSessions(ctx, cutoff)
		if err != nil || n != wantN {
			t.Errorf("PruneSessions(cutoff) = %d, %v, want %d, nil", n, err, wantN)
		}
		for _, tc := range all {
			if tc.gone {
				_, err := st.SessionByID(ctx, tc.s.ID)
				wantErr(t, "SessionByID("+tc.s.ID+") after PruneSessions", err, store.ErrNotFound)
			} else {
				checkSession(t, st, tc.s)
			}
		}
	})

	t.Run("HashesRoundTrip", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		withUsers(t, st, "u1")
		s := newSession("s1", "u1", at(0))
		s.TokenHash = []byte{0, 0xff, 0, 1, 0x80}
		s.PrevHash = []byte{0}
		withSessions(t, st, s)
		got, err := st.SessionByID(ctx, "s1")
		if err != nil || !bytes.Equal(got.TokenHash, s.TokenHash) || !bytes.Equal(got.PrevHash, s.PrevHash) {
			t.Errorf("SessionByID(s1) = hashes %x, %x, %v, want %x, %x, nil", got.TokenHash, got.PrevHash, err, s.TokenHash, s.PrevHash)
		}
	})
}
