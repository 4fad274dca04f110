package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/store"
)

// newAuthCode is an unredeemed code named code, issued at created to the
// user for the client.
func newAuthCode(code, clientID, userID string, created time.Time) store.AuthCode {
	return store.AuthCode{
		Hash:             hash(code),
		ClientID:         clientID,
		UserID:           userID,
		BrowserSessionID: "browser-" + userID,
		RedirectURI:      "https://app.example.com/callback?a=1",
		Scopes:           []string{"email", "openid", "profile"},
		Nonce:            "n-0S6_WzA2Mj",
		CodeChallenge:    "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		AuthTime:         created.Add(-time.Minute),
		CreatedAt:        created,
		ExpiresAt:        created.Add(time.Minute),
	}
}

// withClients creates the clients.
func withClients(t *testing.T, st store.Store, cs ...store.Client) {
	t.Helper()
	for _, c := range cs {
		must(t, "CreateClient("+c.ID+")", st.CreateClient(t.Context(), c))
	}
}

// withCodeFixture creates user u1, client c1 and, for each name, a code
// issued at base.
func withCodeFixture(t *testing.T, st store.Store, codes ...string) {
	t.Helper()
	withUsers(t, st, "u1")
	withClients(t, st, newClient("c1", "web app", at(0)))
	for _, code := range codes {
		must(t, "CreateAuthCode("+code+")", st.CreateAuthCode(t.Context(), newAuthCode(code, "c1", "u1", at(0))))
	}
}

// redeem is RedeemAuthCode of the code named code.
func redeem(t *testing.T, st store.Store, code string, now time.Time) (store.AuthCode, error) {
	t.Helper()
	return st.RedeemAuthCode(t.Context(), hash(code), now)
}

func testAuthCodes(t *testing.T, open opener) {
	t.Run("CreateAndRedeem", func(t *testing.T) {
		st := open(t, store.Options{})
		withCodeFixture(t, st)
		c := newAuthCode("code", "c1", "u1", at(0))
		must(t, "CreateAuthCode(code)", st.CreateAuthCode(t.Context(), c))
		want := c
		want.RedeemedAt = at(10 * time.Second)
		got, err := redeem(t, st, "code", at(10*time.Second))
		if err != nil || !same(normAuthCode, got, want) {
			t.Errorf("RedeemAuthCode(code) = %+v, %v, want %+v, nil", got, err, want)
		}
	})

	t.Run("Conflict", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		withCodeFixture(t, st, "code")
		withUsers(t, st, "u2")
		again := newAuthCode("code", "c1", "u2", at(time.Second))
		wantErr(t, "CreateAuthCode(same hash)", st.CreateAuthCode(ctx, again), store.ErrConflict)
		got, err := redeem(t, st, "code", at(2*time.Second))
		if err != nil || got.UserID != "u1" {
			t.Errorf("RedeemAuthCode(code) after a conflict = user %q, %v, want u1, nil", got.UserID, err)
		}
	})

	t.Run("UnknownClientOrUser", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		withCodeFixture(t, st)
		for _, tc := range []struct{ name, client, user string }{
			{"unknown client", "nobody", "u1"},
			{"unknown user", "c1", "nobody"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := st.CreateAuthCode(ctx, newAuthCode(tc.name, tc.client, tc.user, at(0)))
				wantErr(t, "CreateAuthCode(client "+tc.client+", user "+tc.user+")", err, store.ErrNotFound)
				_, err = redeem(t, st, tc.name, at(time.Second))
				wantErr(t, "RedeemAuthCode of the refused code", err, store.ErrNotFound)
			})
		}
	})

	t.Run("RedeemUnknown", func(t *testing.T) {
		st := open(t, store.Options{})
		withCodeFixture(t, st, "code")
		got, err := redeem(t, st, "another code", at(time.Second))
		wantErr(t, "RedeemAuthCode(unknown)", err, store.ErrNotFound)
		if !same(normAuthCode, got, store.AuthCode{}) {
			t.Errorf("RedeemAuthCode(unknown) = %+v, want the zero AuthCode", got)
		}
		if _, err := redeem(t, st, "code", at(time.Second)); err != nil {
			t.Errorf("RedeemAuthCode(code) after an unknown one = %v, want nil", err)
		}
	})

	t.Run("RedeemOnceThenReplayed", func(t *testing.T) {
		st := open(t, store.Options{})
		withCodeFixture(t, st, "code")
		first, err := redeem(t, st, "code", at(10*time.Second))
		must(t, "RedeemAuthCode(code)", err)

		// Every later presentation is a replay; ReplayedAt is the first.
		want := first
		want.ReplayedAt = at(20 * time.Second)
		for _, now := range []time.Time{at(20 * time.Second), at(30 * time.Second), at(time.Hour)} {
			got, err := redeem(t, st, "code", now)
			wantErr(t, "RedeemAuthCode(code) again", err, store.ErrCodeReplayed)
			if !same(normAuthCode, got, want) {
				t.Errorf("RedeemAuthCode(code) again at %v = %+v, want %+v", now, got, want)
			}
		}
	})

	t.Run("RedeemExpiredIsTheCallersCheck", func(t *testing.T) {
		st := open(t, store.Options{})
		withCodeFixture(t, st, "code")
		got, err := redeem(t, st, "code", at(time.Hour))
		if err != nil || !ms(got.ExpiresAt).Equal(ms(at(time.Minute))) || !ms(got.RedeemedAt).Equal(ms(at(time.Hour))) {
			t.Errorf("RedeemAuthCode(expired code) = %+v, %v, want it redeemed with its ExpiresAt, nil", got, err)
		}
	})

	t.Run("Bind", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		withCodeFixture(t, st, "code")
		wantErr(t, "BindAuthCode(unknown)", st.BindAuthCode(ctx, hash("nothing"), "s1"), store.ErrNotFound)
		wantErr(t, "BindAuthCode(unredeemed)", st.BindAuthCode(ctx, hash("code"), "s1"), store.ErrConflict)

		_, err := redeem(t, st, "code", at(time.Second))
		must(t, "RedeemAuthCode(code)", err)
		must(t, "BindAuthCode(code, s1)", st.BindAuthCode(ctx, hash("code"), "s1"))
		must(t, "BindAuthCode(code, s1) again", st.BindAuthCode(ctx, hash("code"), "s1"))
		wantErr(t, "BindAuthCode(code, s2)", st.BindAuthCode(ctx, hash("code"), "s2"), store.ErrConflict)

		got, err := redeem(t, st, "code", at(2*time.Second))
		wantErr(t, "RedeemAuthCode(bound code)", err, store.ErrCodeReplayed)
		if got.SessionID != "s1" {
			t.Errorf("RedeemAuthCode(bound code) = SessionID %q, want s1 to revoke", got.SessionID)
		}
	})

	t.Run("BindAfterReplay", func(t *testing.T) {
		// The replay came between the redemption and the binding of its
		// session: the replay cannot name the session, so binding it
		// tells the redeemer to revoke it.
		st := open(t, store.Options{})
		ctx := t.Context()
		withCodeFixture(t, st, "code")
		_, err := redeem(t, st, "code", at(time.Second))
		must(t, "RedeemAuthCode(code)", err)
		got, err := redeem(t, st, "code", at(2*time.Second))
		wantErr(t, "RedeemAuthCode(code) again", err, store.ErrCodeReplayed)
		if got.SessionID != "" {
			t.Errorf("RedeemAuthCode(unbound code) again = SessionID %q, want none", got.SessionID)
		}
		wantErr(t, "BindAuthCode(replayed code, s1)", st.BindAuthCode(ctx, hash("code"), "s1"), store.ErrCodeReplayed)
		got, err = redeem(t, st, "code", at(3*time.Second))
		wantErr(t, "RedeemAuthCode(code) a third time", err, store.ErrCodeReplayed)
		if got.SessionID != "s1" || !ms(got.ReplayedAt).Equal(ms(at(2*time.Second))) {
			t.Errorf("RedeemAuthCode(code) a third time = SessionID %q, ReplayedAt %v, want s1, %v", got.SessionID, got.ReplayedAt, at(2*time.Second))
		}
	})

	t.Run("Prune", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		withCodeFixture(t, st)
		cutoff := at(time.Hour)
		all := []struct {
			code    string
			expires time.Time
			gone    bool
		}{
			{"expired before", at(time.Hour - time.Millisecond), true},
			{"expires at cutoff", cutoff, false},
			{"expires after", at(2 * time.Hour), false},
			{"no expiry", time.Time{}, true},
		}
		wantN := 0
		for _, tc := range all {
			c := newAuthCode(tc.code, "c1", "u1", at(0))
			c.ExpiresAt = tc.expires
			must(t, "CreateAuthCode("+tc.code+")", st.CreateAuthCode(ctx, c))
			if tc.gone {
				wantN++
			}
		}
		// A redeemed code is pruned by its expiry too.
		_, err := redeem(t, st, "expired before", at(time.Second))
		must(t, "RedeemAuthCode(expired before)", err)
		n, err := st.PruneAuthCodes(ctx, cutoff)
		if err != nil || n != wantN {
			t.Errorf("PruneAuthCodes(cutoff) = %d, %v, want %d, nil", n, err, wantN)
		}
		for _, tc := range all {
			_, err := redeem(t, st, tc.code, at(2*time.Second))
			if tc.gone {
				wantErr(t, "RedeemAuthCode("+tc.code+") after pruning", err, store.ErrNotFound)
			} else if err != nil {
				t.Errorf("RedeemAuthCode(%s) after pruning = %v, want nil", tc.code, err)
			}
		}
	})

	t.Run("DeleteClientRemovesItsCodes", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		withCodeFixture(t, st, "code")
		withClients(t, st, newClient("c2", "other app", at(0)))
		must(t, "CreateAuthCode(other)", st.CreateAuthCode(ctx, newAuthCode("other", "c2", "u1", at(0))))
		must(t, "DeleteClient(c1)", st.DeleteClient(ctx, "c1"))
		// A client registered again under the same ID does not inherit
		// the codes issued to the one deleted.
		withClients(t, st, newClient("c1", "web app", at(time.Hour)))
		_, err := redeem(t, st, "code", at(time.Second))
		wantErr(t, "RedeemAuthCode(code of a deleted client)", err, store.ErrNotFound)
		if _, err := redeem(t, st, "other", at(time.Second)); err != nil {
			t.Errorf("RedeemAuthCode(code of another client) = %v, want nil", err)
		}
	})

	t.Run("ScopesRoundTrip", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			scopes []string
		}{
			{"nil", nil},
			{"empty", []string{}},
			{"in order", []string{"profile", "openid", "a:b"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				st := open(t, store.Options{})
				withCodeFixture(t, st)
				c := newAuthCode("code", "c1", "u1", at(0))
				c.Scopes = tc.scopes
				must(t, "CreateAuthCode(code)", st.CreateAuthCode(t.Context(), c))
				got, err := redeem(t, st, "code", at(time.Second))
				if err != nil || !slices.Equal(got.Scopes, tc.scopes) {
					t.Errorf("RedeemAuthCode(code) = Scopes %q, %v, want %q, nil", got.Scopes, err, tc.scopes)
				}
			})
		}
	})

	t.Run("NoReplayHidesTheFirstRedemption", func(t *testing.T) {
		// The error of a replay is ErrCodeReplayed, never ErrNotFound: a
		// caller that confused them would not revoke the session.
		st := open(t, store.Options{})
		withCodeFixture(t, st, "code")
		_, err := redeem(t, st, "code", at(time.Second))
		must(t, "RedeemAuthCode(code)", err)
		_, err = redeem(t, st, "code", at(2*time.Second))
		if errors.Is(err, store.ErrNotFound) || !errors.Is(err, store.ErrCodeReplayed) {
			t.Errorf("RedeemAuthCode(code) again = %v, want %v only", err, store.ErrCodeReplayed)
		}
	})
}
