package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/store"
)

func newConsent(userID, clientID string, granted time.Time, scopes ...string) store.Consent {
	return store.Consent{UserID: userID, ClientID: clientID, Scopes: scopes, GrantedAt: granted}
}

// clientIDs returns the client IDs of cs.
func clientIDs(cs []store.Consent) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.ClientID)
	}
	return out
}

// checkConsent fails unless the stored consent of want's user to want's
// client equals want.
func checkConsent(t *testing.T, st store.Store, want store.Consent) {
	t.Helper()
	got, err := st.ConsentFor(t.Context(), want.UserID, want.ClientID)
	if err != nil || !same(normConsent, got, want) {
		t.Errorf("ConsentFor(%s, %s) = %+v, %v, want %+v, nil", want.UserID, want.ClientID, got, err, want)
	}
}

func testConsents(t *testing.T, open opener) {
	// fixture creates users u1 and u2 and clients c1 to c3.
	fixture := func(t *testing.T, st store.Store) {
		t.Helper()
		withUsers(t, st, "u1", "u2")
		withClients(t, st, newClient("c1", "app one", at(0)), newClient("c2", "app two", at(0)), newClient("c3", "app three", at(0)))
	}

	t.Run("GrantSortsAndDeduplicates", func(t *testing.T) {
		st := open(t, store.Options{})
		fixture(t, st)
		must(t, "GrantConsent(u1, c1)", st.GrantConsent(t.Context(), newConsent("u1", "c1", at(0), "profile", "openid", "profile")))
		checkConsent(t, st, newConsent("u1", "c1", at(0), "openid", "profile"))
	})

	t.Run("GrantAgainIsTheUnion", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		fixture(t, st)
		must(t, "GrantConsent(u1, c1, openid profile)", st.GrantConsent(ctx, newConsent("u1", "c1", at(0), "openid", "profile")))
		must(t, "GrantConsent(u1, c1, openid email)", st.GrantConsent(ctx, newConsent("u1", "c1", at(time.Hour), "openid", "email")))
		checkConsent(t, st, newConsent("u1", "c1", at(time.Hour), "email", "openid", "profile"))
		// Granting nothing new keeps the scopes and moves GrantedAt.
		must(t, "GrantConsent(u1, c1, none)", st.GrantConsent(ctx, newConsent("u1", "c1", at(2*time.Hour))))
		checkConsent(t, st, newConsent("u1", "c1", at(2*time.Hour), "email", "openid", "profile"))
		// Another user's consent to the client is apart.
		_, err := st.ConsentFor(ctx, "u2", "c1")
		wantErr(t, "ConsentFor(u2, c1)", err, store.ErrNotFound)
	})

	t.Run("UnknownUserOrClient", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		fixture(t, st)
		for _, c := range []store.Consent{
			newConsent("nobody", "c1", at(0), "openid"),
			newConsent("u1", "nothing", at(0), "openid"),
		} {
			wantErr(t, "GrantConsent("+c.UserID+", "+c.ClientID+")", st.GrantConsent(ctx, c), store.ErrNotFound)
			_, err := st.ConsentFor(ctx, c.UserID, c.ClientID)
			wantErr(t, "ConsentFor("+c.UserID+", "+c.ClientID+") after a refused grant", err, store.ErrNotFound)
		}
	})

	t.Run("ListNewestFirst", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		fixture(t, st)
		list, err := st.ListConsents(ctx, "u1")
		if err != nil || len(list) != 0 {
			t.Errorf("ListConsents(u1) with none = %+v, %v, want none, nil", list, err)
		}
		want := []store.Consent{
			newConsent("u1", "c2", at(2*time.Hour), "openid"),
			newConsent("u1", "c3", at(time.Hour), "openid", "profile"),
			newConsent("u1", "c1", at(0), "email"),
		}
		for _, i := range []int{2, 0, 1} {
			must(t, "GrantConsent(u1, "+want[i].ClientID+")", st.GrantConsent(ctx, want[i]))
		}
		must(t, "GrantConsent(u2, c1)", st.GrantConsent(ctx, newConsent("u2", "c1", at(3*time.Hour), "openid")))
		list, err = st.ListConsents(ctx, "u1")
		if err != nil || !sameAll(normConsent, list, want) {
			t.Errorf("ListConsents(u1) = %+v, %v, want %+v, nil", list, err, want)
		}
		list, err = st.ListConsents(ctx, "nobody")
		if err != nil || len(list) != 0 {
			t.Errorf("ListConsents(nobody) = %+v, %v, want none, nil", list, err)
		}
	})

	t.Run("Revoke", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		fixture(t, st)
		keep := newConsent("u1", "c2", at(0), "openid")
		other := newConsent("u2", "c1", at(0), "openid")
		for _, c := range []store.Consent{newConsent("u1", "c1", at(0), "openid"), keep, other} {
			must(t, "GrantConsent("+c.UserID+", "+c.ClientID+")", st.GrantConsent(ctx, c))
		}
		must(t, "RevokeConsent(u1, c1)", st.RevokeConsent(ctx, "u1", "c1"))
		_, err := st.ConsentFor(ctx, "u1", "c1")
		wantErr(t, "ConsentFor(u1, c1) after RevokeConsent", err, store.ErrNotFound)
		wantErr(t, "RevokeConsent(u1, c1) again", st.RevokeConsent(ctx, "u1", "c1"), store.ErrNotFound)
		wantErr(t, "RevokeConsent(nobody, c1)", st.RevokeConsent(ctx, "nobody", "c1"), store.ErrNotFound)
		checkConsent(t, st, keep)
		checkConsent(t, st, other)
		// Granting after a revocation starts afresh.
		must(t, "GrantConsent(u1, c1, email)", st.GrantConsent(ctx, newConsent("u1", "c1", at(time.Hour), "email")))
		checkConsent(t, st, newConsent("u1", "c1", at(time.Hour), "email"))
	})

	t.Run("DeleteClientRemovesConsents", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		fixture(t, st)
		keep := newConsent("u1", "c2", at(0), "openid")
		for _, c := range []store.Consent{newConsent("u1", "c1", at(0), "openid"), newConsent("u2", "c1", at(0), "openid"), keep} {
			must(t, "GrantConsent("+c.UserID+", "+c.ClientID+")", st.GrantConsent(ctx, c))
		}
		must(t, "DeleteClient(c1)", st.DeleteClient(ctx, "c1"))
		// A client registered again under the same ID starts without the
		// consents given to the one deleted.
		withClients(t, st, newClient("c1", "impostor", at(time.Hour)))
		for _, u := range []string{"u1", "u2"} {
			_, err := st.ConsentFor(ctx, u, "c1")
			wantErr(t, "ConsentFor("+u+", c1) after DeleteClient(c1)", err, store.ErrNotFound)
		}
		list, err := st.ListConsents(ctx, "u1")
		if err != nil || !slices.Equal(clientIDs(list), []string{"c2"}) {
			t.Errorf("ListConsents(u1) after DeleteClient(c1) = %q, %v, want [c2], nil", clientIDs(list), err)
		}
		checkConsent(t, st, keep)
	})
}
