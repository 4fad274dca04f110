// Package storetest is the conformance suite of the storage contract in
// internal/store. Every backend's tests run it, so that all backends behave
// alike, under concurrency too; run it with -race:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T, opts store.Options) store.Store {
//			db, err := Open(t.Context(), filepath.Join(t.TempDir(), "latch.db"), opts)
//			if err != nil {
//				t.Fatal(err)
//			}
//			t.Cleanup(func() { db.Close() })
//			return db
//		})
//	}
//
// RunNodes runs the tests that take several stores on one database, as
// several server nodes have, such as the coordination of key rotations.
//
// RunBusy checks, in the same way, how a backend answers while another
// client holds its database's write lock (store.ErrBusy); it needs a way to
// take that lock from outside the store.
//
// The suite holds the backend to the contract as documented in package
// store, including the choices it leaves open: times are compared to the
// millisecond and in any location, an empty Roles may come back nil, and
// empty byte strings may come back nil.
package storetest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/store"
)

// Run runs the conformance suite. open must return a new, empty store
// opened with opts and close it when the test ends; the suite may have
// closed it already by then.
func Run(t *testing.T, open func(t *testing.T, opts store.Options) store.Store) {
	t.Run("Users", func(t *testing.T) { testUsers(t, open) })
	t.Run("RevokeUser", func(t *testing.T) { testRevokeUser(t, open) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, open) })
	t.Run("Revocations", func(t *testing.T) { testRevocations(t, open) })
	t.Run("Keys", func(t *testing.T) { testKeys(t, open) })
	t.Run("UpdateKeys", func(t *testing.T) { testUpdateKeys(t, open) })
	t.Run("Throttles", func(t *testing.T) { testThrottles(t, open) })
	t.Run("Clients", func(t *testing.T) { testClients(t, open) })
	t.Run("AuthCodes", func(t *testing.T) { testAuthCodes(t, open) })
	t.Run("Consents", func(t *testing.T) { testConsents(t, open) })
	t.Run("Notify", func(t *testing.T) { testNotify(t, open) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, open) })
	t.Run("Lifecycle", func(t *testing.T) { testLifecycle(t, open) })
}

// opener is Run's open.
type opener = func(t *testing.T, opts store.Options) store.Store

// base is the time the fixtures are relative to: not in UTC, and with
// nanoseconds a backend may drop, to exercise the time round trip.
var base = time.Date(2025, time.March, 14, 15, 9, 26, 535897932, time.FixedZone("UTC+1", 60*60))

// at returns base plus d.
func at(d time.Duration) time.Time { return base.Add(d) }

// ms is t as the contract promises it back: to the millisecond, in UTC.
func ms(t time.Time) time.Time { return t.Truncate(time.Millisecond).UTC() }

// hash is a SHA-256 hash named by s, standing for a refresh-token hash.
func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// nilIfEmpty is b with an empty slice as nil.
func nilIfEmpty[T any](b []T) []T {
	if len(b) == 0 {
		return nil
	}
	return b
}

// errAbort is what test update functions return to refuse an update.
var errAbort = errors.New("storetest: update refused")

// wantErr reports a failed call unless errors.Is(err, want).
func wantErr(t *testing.T, call string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s = %v, want %v", call, err, want)
	}
}

// must fails the test now if err is not nil.
func must(t *testing.T, call string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s = %v, want nil", call, err)
	}
}

func normUser(u store.User) store.User {
	u.Roles = nilIfEmpty(u.Roles)
	if len(u.Claims) == 0 {
		u.Claims = nil
	}
	u.TokensRevokedAt = ms(u.TokensRevokedAt)
	u.CreatedAt, u.UpdatedAt = ms(u.CreatedAt), ms(u.UpdatedAt)
	return u
}

func normSession(s store.Session) store.Session {
	s.TokenHash, s.PrevHash = nilIfEmpty(s.TokenHash), nilIfEmpty(s.PrevHash)
	s.RotatedAt, s.CreatedAt, s.LastUsedAt = ms(s.RotatedAt), ms(s.CreatedAt), ms(s.LastUsedAt)
	s.ExpiresAt, s.RevokedAt, s.AuthTime = ms(s.ExpiresAt), ms(s.RevokedAt), ms(s.AuthTime)
	s.Scopes = nilIfEmpty(s.Scopes)
	return s
}

func normRevocation(r store.Revocation) store.Revocation {
	r.At, r.Expires = ms(r.At), ms(r.Expires)
	return r
}

func normKey(k store.SigningKey) store.SigningKey {
	k.Sealed, k.Public = nilIfEmpty(k.Sealed), nilIfEmpty(k.Public)
	k.CreatedAt, k.ActivateAt = ms(k.CreatedAt), ms(k.ActivateAt)
	k.RetireAt, k.RemoveAt, k.RevokedAt = ms(k.RetireAt), ms(k.RemoveAt), ms(k.RevokedAt)
	return k
}

func normClient(c store.Client) store.Client {
	c.SecretHash, c.Scopes = nilIfEmpty(c.SecretHash), nilIfEmpty(c.Scopes)
	c.RedirectURIs, c.PostLogoutRedirectURIs = nilIfEmpty(c.RedirectURIs), nilIfEmpty(c.PostLogoutRedirectURIs)
	c.GrantTypes = nilIfEmpty(c.GrantTypes)
	c.CreatedAt, c.UpdatedAt = ms(c.CreatedAt), ms(c.UpdatedAt)
	return c
}

func normAuthCode(c store.AuthCode) store.AuthCode {
	c.Hash, c.Scopes = nilIfEmpty(c.Hash), nilIfEmpty(c.Scopes)
	c.AuthTime, c.CreatedAt, c.ExpiresAt = ms(c.AuthTime), ms(c.CreatedAt), ms(c.ExpiresAt)
	c.RedeemedAt, c.ReplayedAt = ms(c.RedeemedAt), ms(c.ReplayedAt)
	return c
}

func normConsent(c store.Consent) store.Consent {
	c.Scopes = nilIfEmpty(c.Scopes)
	c.GrantedAt = ms(c.GrantedAt)
	return c
}

func normThrottle(th store.Throttle) store.Throttle {
	th.LastFailure, th.LockedUntil = ms(th.LastFailure), ms(th.LockedUntil)
	return th
}

// same reports whether got and want are equal once normalized by norm.
func same[T any](norm func(T) T, got, want T) bool {
	return reflect.DeepEqual(norm(got), norm(want))
}

// sameAll is same for slices.
func sameAll[T any](norm func(T) T, got, want []T) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !same(norm, got[i], want[i]) {
			return false
		}
	}
	return true
}

// allRevocations returns the whole revocation feed.
func allRevocations(t *testing.T, st store.Store) []store.Revocation {
	t.Helper()
	var all []store.Revocation
	var after int64
	for {
		rs, err := st.RevocationsSince(t.Context(), after, 100)
		must(t, fmt.Sprintf("RevocationsSince(%d, 100)", after), err)
		if len(rs) == 0 {
			return all
		}
		all = append(all, rs...)
		after = rs[len(rs)-1].Seq
	}
}

// newRevocations returns the feed records after the first n.
func newRevocations(t *testing.T, st store.Store, n int) []store.Revocation {
	t.Helper()
	return allRevocations(t, st)[n:]
}

func testLifecycle(t *testing.T, open opener) {
	t.Run("Ping", func(t *testing.T) {
		st := open(t, store.Options{})
		if err := st.Ping(t.Context()); err != nil {
			t.Errorf("Ping() = %v, want nil", err)
		}
	})

	t.Run("ClosedFails", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		must(t, "CreateUser(u1)", st.CreateUser(ctx, newUser("u1", "u1@example.com", at(0))))
		// A Ping just before Close may not stand for one after it.
		must(t, "Ping()", st.Ping(ctx))
		must(t, "Close()", st.Close())
		keep := func(v store.User) (store.User, error) { return v, nil }
		calls := []struct {
			name string
			call func() error
		}{
			{"Ping", func() error { return st.Ping(ctx) }},
			{"CreateUser", func() error { return st.CreateUser(ctx, newUser("u2", "u2@example.com", at(0))) }},
			{"UserByID", func() error { _, err := st.UserByID(ctx, "u1"); return err }},
			{"UserByEmail", func() error { _, err := st.UserByEmail(ctx, "u1@example.com"); return err }},
			{"ListUsers", func() error { _, err := st.ListUsers(ctx); return err }},
			{"UpdateUser", func() error { _, err := st.UpdateUser(ctx, "u1", keep); return err }},
			{"CreateSession", func() error { return st.CreateSession(ctx, newSession("s1", "u1", at(0))) }},
			{"SessionByID", func() error { _, err := st.SessionByID(ctx, "s1"); return err }},
			{"ListSessions", func() error { _, err := st.ListSessions(ctx, "u1"); return err }},
			{"UpdateSession", func() error {
				_, err := st.UpdateSession(ctx, "s1", func(s store.Session) (store.Session, error) { return s, nil })
				return err
			}},
			{"RevokeUser", func() error { _, _, err := st.RevokeUser(ctx, "u1", store.ReasonAdmin, at(0), true, nil); return err }},
			{"PruneSessions", func() error { _, err := st.PruneSessions(ctx, at(0)); return err }},
			{"AddRevocation", func() error { _, err := st.AddRevocation(ctx, store.Revocation{Kind: store.KindToken}); return err }},
			{"RevocationsSince", func() error { _, err := st.RevocationsSince(ctx, 0, 10); return err }},
			{"PruneRevocations", func() error { _, err := st.PruneRevocations(ctx, at(0)); return err }},
			{"RevocationBounds", func() error { _, _, err := st.RevocationBounds(ctx); return err }},
			{"CreateKey", func() error { return st.CreateKey(ctx, newKey("k1", at(0))) }},
			{"ListKeys", func() error { _, err := st.ListKeys(ctx); return err }},
			{"UpdateKey", func() error {
				_, err := st.UpdateKey(ctx, "k1", func(k store.SigningKey) (store.SigningKey, error) { return k, nil })
				return err
			}},
			{"DeleteKey", func() error { return st.DeleteKey(ctx, "k1") }},
			{"UpdateKeys", func() error {
				return st.UpdateKeys(ctx, func([]store.SigningKey) ([]store.SigningKey, []store.SigningKey, error) { return nil, nil, nil })
			}},
			{"UpdateThrottle", func() error {
				_, err := st.UpdateThrottle(ctx, "k", func(th store.Throttle) (store.Throttle, error) { th.Failures++; return th, nil })
				return err
			}},
			{"PruneThrottles", func() error { _, err := st.PruneThrottles(ctx, at(0)); return err }},
			{"CreateClient", func() error { return st.CreateClient(ctx, newClient("c1", "feed reader", at(0))) }},
			{"ClientByID", func() error { _, err := st.ClientByID(ctx, "c1"); return err }},
			{"ListClients", func() error { _, err := st.ListClients(ctx); return err }},
			{"UpdateClient", func() error {
				_, err := st.UpdateClient(ctx, "c1", func(c store.Client) (store.Client, error) { return c, nil })
				return err
			}},
			{"DeleteClient", func() error { return st.DeleteClient(ctx, "c1") }},
			{"CreateAuthCode", func() error { return st.CreateAuthCode(ctx, newAuthCode("code", "c1", "u1", at(0))) }},
			{"RedeemAuthCode", func() error { _, err := st.RedeemAuthCode(ctx, hash("code"), at(0)); return err }},
			{"BindAuthCode", func() error { return st.BindAuthCode(ctx, hash("code"), "s1") }},
			{"PruneAuthCodes", func() error { _, err := st.PruneAuthCodes(ctx, at(0)); return err }},
			{"GrantConsent", func() error { return st.GrantConsent(ctx, newConsent("u1", "c1", at(0), "openid")) }},
			{"ConsentFor", func() error { _, err := st.ConsentFor(ctx, "u1", "c1"); return err }},
			{"ListConsents", func() error { _, err := st.ListConsents(ctx, "u1"); return err }},
			{"RevokeConsent", func() error { return st.RevokeConsent(ctx, "u1", "c1") }},
		}
		for _, c := range calls {
			if err := c.call(); err == nil {
				t.Errorf("%s after Close = nil, want an error", c.name)
			}
		}
	})
}

// checkSession fails unless the stored session id equals want.
func checkSession(t *testing.T, st store.Store, want store.Session) {
	t.Helper()
	got, err := st.SessionByID(t.Context(), want.ID)
	if err != nil {
		t.Errorf("SessionByID(%q) = %v, want nil", want.ID, err)
		return
	}
	if !same(normSession, got, want) {
		t.Errorf("SessionByID(%q) = %+v, want %+v", want.ID, got, want)
	}
}
