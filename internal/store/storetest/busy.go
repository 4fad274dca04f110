package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/store"
)

// RunBusy checks how a backend answers while another client of its
// database holds the write lock for longer than the backend waits for it
// (another process in a long write transaction): every write fails with
// store.ErrBusy and changes nothing, Ping fails with store.ErrBusy, reads
// succeed or fail with store.ErrBusy, and all works again once the lock is
// released.
//
// open is as for Run, except that the store it returns must give up
// waiting for a lock within a second or so: the suite tries every write
// method in turn while the lock is held. lock takes the write lock of st's
// database from outside st, as another process would, and returns the
// function that releases it.
func RunBusy(t *testing.T, open opener, lock func(t *testing.T, st store.Store) (release func())) {
	st := open(t, store.Options{})
	ctx := t.Context()
	withUsers(t, st, "u1")
	withSessions(t, st, newSession("s1", "u1", at(0)))
	must(t, "CreateKey(k1)", st.CreateKey(ctx, newKey("k1", at(0))))
	must(t, "CreateClient(c1)", st.CreateClient(ctx, newClient("c1", "feed reader", at(0))))
	must(t, "CreateAuthCode(code)", st.CreateAuthCode(ctx, newAuthCode("code", "c1", "u1", at(0))))
	must(t, "GrantConsent(u1, c1)", st.GrantConsent(ctx, newConsent("u1", "c1", at(0), "openid")))
	_, err := st.AddRevocation(ctx, store.Revocation{Kind: store.KindToken, Subject: "jti-1", At: at(0), Expires: at(time.Hour)})
	must(t, "AddRevocation(jti-1)", err)
	before := snapshotAll(t, st)

	release := lock(t, st)
	writes := []struct {
		name string
		call func() error
	}{
		{"Ping", func() error { return st.Ping(ctx) }},
		{"CreateUser", func() error { return st.CreateUser(ctx, newUser("u2", "u2@example.com", at(0))) }},
		{"UpdateUser", func() error {
			_, err := st.UpdateUser(ctx, "u1", func(u store.User) (store.User, error) { u.Disabled = true; return u, nil })
			return err
		}},
		{"RevokeUser", func() error {
			_, _, err := st.RevokeUser(ctx, "u1", store.ReasonAdmin, at(time.Hour), true, nil)
			return err
		}},
		{"CreateSession", func() error { return st.CreateSession(ctx, newSession("s2", "u1", at(0))) }},
		{"UpdateSession", func() error {
			_, err := st.UpdateSession(ctx, "s1", func(s store.Session) (store.Session, error) {
				s.PrevHash, s.TokenHash = s.TokenHash, hash("s1-next")
				s.Generation++
				return s, nil
			})
			return err
		}},
		{"UpdateSession(revoke)", func() error {
			_, err := st.UpdateSession(ctx, "s1", func(s store.Session) (store.Session, error) {
				s.RevokedAt, s.RevokeReason = at(time.Hour), store.ReasonReuse
				return s, nil
			})
			return err
		}},
		{"PruneSessions", func() error { _, err := st.PruneSessions(ctx, at(365*24*time.Hour)); return err }},
		{"AddRevocation", func() error {
			_, err := st.AddRevocation(ctx, store.Revocation{Kind: store.KindToken, Subject: "jti-2", At: at(0), Expires: at(time.Hour)})
			return err
		}},
		{"PruneRevocations", func() error { _, err := st.PruneRevocations(ctx, at(365*24*time.Hour)); return err }},
		{"CreateKey", func() error { return st.CreateKey(ctx, newKey("k2", at(time.Hour))) }},
		{"UpdateKey", func() error {
			_, err := st.UpdateKey(ctx, "k1", func(k store.SigningKey) (store.SigningKey, error) { k.RetireAt = at(time.Hour); return k, nil })
			return err
		}},
		{"DeleteKey", func() error { return st.DeleteKey(ctx, "k1") }},
		{"UpdateKeys", func() error {
			return st.UpdateKeys(ctx, func([]store.SigningKey) ([]store.SigningKey, []store.SigningKey, error) {
				return []store.SigningKey{newKey("k3", at(time.Hour))}, nil, nil
			})
		}},
		{"UpdateThrottle", func() error {
			_, err := st.UpdateThrottle(ctx, "k", func(th store.Throttle) (store.Throttle, error) { th.Failures++; return th, nil })
			return err
		}},
		{"PruneThrottles", func() error { _, err := st.PruneThrottles(ctx, at(365*24*time.Hour)); return err }},
		{"CreateClient", func() error { return st.CreateClient(ctx, newClient("c2", "another reader", at(0))) }},
		{"UpdateClient", func() error {
			_, err := st.UpdateClient(ctx, "c1", func(c store.Client) (store.Client, error) { c.Name = "renamed"; return c, nil })
			return err
		}},
		{"DeleteClient", func() error { return st.DeleteClient(ctx, "c1") }},
		{"CreateAuthCode", func() error { return st.CreateAuthCode(ctx, newAuthCode("code2", "c1", "u1", at(0))) }},
		{"RedeemAuthCode", func() error { _, err := st.RedeemAuthCode(ctx, hash("code"), at(time.Second)); return err }},
		{"BindAuthCode", func() error { return st.BindAuthCode(ctx, hash("code"), "s1") }},
		{"PruneAuthCodes", func() error { _, err := st.PruneAuthCodes(ctx, at(365*24*time.Hour)); return err }},
		{"GrantConsent", func() error { return st.GrantConsent(ctx, newConsent("u1", "c1", at(time.Hour), "email")) }},
		{"RevokeConsent", func() error { return st.RevokeConsent(ctx, "u1", "c1") }},
	}
	for _, w := range writes {
		if err := w.call(); !errors.Is(err, store.ErrBusy) {
			t.Errorf("%s while another client holds the write lock = %v, want %v", w.name, err, store.ErrBusy)
		}
	}
	reads := []struct {
		name string
		call func() error
	}{
		{"UserByID", func() error { _, err := st.UserByID(ctx, "u1"); return err }},
		{"SessionByID", func() error { _, err := st.SessionByID(ctx, "s1"); return err }},
		{"RevocationsSince", func() error { _, err := st.RevocationsSince(ctx, 0, 10); return err }},
		{"ListKeys", func() error { _, err := st.ListKeys(ctx); return err }},
		{"ConsentFor", func() error { _, err := st.ConsentFor(ctx, "u1", "c1"); return err }},
		{"ListConsents", func() error { _, err := st.ListConsents(ctx, "u1"); return err }},
	}
	for _, r := range reads {
		if err := r.call(); err != nil && !errors.Is(err, store.ErrBusy) {
			t.Errorf("%s while another client holds the write lock = %v, want nil or %v", r.name, err, store.ErrBusy)
		}
	}
	release()

	if after := snapshotAll(t, st); !after.equal(before) {
		t.Errorf("the store after writes refused as busy = %+v, want it unchanged: %+v", after, before)
	}
	must(t, "CreateUser(u2) after the lock is released", st.CreateUser(ctx, newUser("u2", "u2@example.com", at(0))))
	// The redemption refused as busy did not redeem the code.
	if _, err := st.RedeemAuthCode(ctx, hash("code"), at(time.Second)); err != nil {
		t.Errorf("RedeemAuthCode(code) after the lock is released = %v, want nil", err)
	}
	// Ping may answer from its check of up to a second before.
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := st.Ping(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("Ping() 5 s after the lock was released = %v, want nil", err)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// everything is what snapshotAll reads of a store.
type everything struct {
	users       []store.User
	sessions    []store.Session
	revocations []store.Revocation
	keys        []store.SigningKey
	clients     []store.Client
	consents    []store.Consent
}

// snapshotAll reads the records RunBusy's writes would change.
func snapshotAll(t *testing.T, st store.Store) everything {
	t.Helper()
	ctx := t.Context()
	var e everything
	var err error
	e.users, err = st.ListUsers(ctx)
	must(t, "ListUsers()", err)
	e.sessions, err = st.ListSessions(ctx, "u1")
	must(t, "ListSessions(u1)", err)
	e.revocations = allRevocations(t, st)
	e.keys, err = st.ListKeys(ctx)
	must(t, "ListKeys()", err)
	e.clients, err = st.ListClients(ctx)
	must(t, "ListClients()", err)
	e.consents, err = st.ListConsents(ctx, "u1")
	must(t, "ListConsents(u1)", err)
	return e
}

func (e everything) equal(o everything) bool {
	return sameAll(normUser, e.users, o.users) && sameAll(normSession, e.sessions, o.sessions) &&
		sameAll(normRevocation, e.revocations, o.revocations) && sameAll(normKey, e.keys, o.keys) &&
		sameAll(normClient, e.clients, o.clients) && sameAll(normConsent, e.consents, o.consents)
}
