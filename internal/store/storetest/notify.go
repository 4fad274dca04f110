package storetest

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/store"
)

// notifyTimeout bounds how long the Notify tests wait for something that
// should be immediate, so that a backend calling Notify with a lock held
// fails them instead of hanging.
const notifyTimeout = 10 * time.Second

func testNotify(t *testing.T, open opener) {
	revokeSession := func(s store.Session) (store.Session, error) {
		s.RevokedAt, s.RevokeReason = at(time.Hour), store.ReasonLogout
		return s, nil
	}
	revokeKey := func(k store.SigningKey) (store.SigningKey, error) {
		k.RevokedAt = at(time.Hour)
		return k, nil
	}

	t.Run("OncePerRevokingCommit", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			op   func(t *testing.T, st store.Store)
			want int64
		}{
			{"AddRevocation", func(t *testing.T, st store.Store) {
				_, err := st.AddRevocation(t.Context(), newRevocation("jti-1", at(0), at(time.Hour)))
				must(t, "AddRevocation(jti-1)", err)
			}, 1},
			{"AddRevocation twice", func(t *testing.T, st store.Store) {
				for _, jti := range []string{"jti-1", "jti-2"} {
					_, err := st.AddRevocation(t.Context(), newRevocation(jti, at(0), at(time.Hour)))
					must(t, "AddRevocation("+jti+")", err)
				}
			}, 2},
			{"UpdateSession revoking", func(t *testing.T, st store.Store) {
				_, err := st.UpdateSession(t.Context(), "s1", revokeSession)
				must(t, "UpdateSession(s1, revoke)", err)
			}, 1},
			{"UpdateSession not revoking", func(t *testing.T, st store.Store) {
				_, err := st.UpdateSession(t.Context(), "s1", func(s store.Session) (store.Session, error) {
					s.Generation++
					s.LastUsedAt = at(time.Hour)
					return s, nil
				})
				must(t, "UpdateSession(s1, rotate)", err)
			}, 0},
			{"UpdateSession revoking a revoked session", func(t *testing.T, st store.Store) {
				for range 2 {
					_, err := st.UpdateSession(t.Context(), "s1", revokeSession)
					must(t, "UpdateSession(s1, revoke)", err)
				}
			}, 1},
			{"UpdateSession refused", func(t *testing.T, st store.Store) {
				_, err := st.UpdateSession(t.Context(), "s1", func(s store.Session) (store.Session, error) {
					s, _ = revokeSession(s)
					return s, errAbort
				})
				wantErr(t, "UpdateSession(s1, refusing fn)", err, errAbort)
			}, 0},
			{"RevokeUser", func(t *testing.T, st store.Store) {
				_, _, err := st.RevokeUser(t.Context(), "u1", store.ReasonAdmin, at(time.Hour), false, nil)
				must(t, "RevokeUser(u1)", err)
			}, 1},
			{"RevokeUser ending sessions", func(t *testing.T, st store.Store) {
				// Two sessions end in the one transaction: one call.
				_, n, err := st.RevokeUser(t.Context(), "u1", store.ReasonAdmin, at(time.Hour), true, nil)
				if err != nil || n != 2 {
					t.Errorf("RevokeUser(u1, endSessions) = %d, %v, want 2, nil", n, err)
				}
			}, 1},
			{"RevokeUser refused", func(t *testing.T, st store.Store) {
				_, _, err := st.RevokeUser(t.Context(), "u1", store.ReasonAdmin, at(time.Hour), true, func(u store.User) (store.User, error) {
					return u, errAbort
				})
				wantErr(t, "RevokeUser(u1, refusing fn)", err, errAbort)
			}, 0},
			{"RevokeUser of an unknown user", func(t *testing.T, st store.Store) {
				_, _, err := st.RevokeUser(t.Context(), "nobody", store.ReasonAdmin, at(time.Hour), true, nil)
				wantErr(t, "RevokeUser(nobody)", err, store.ErrNotFound)
			}, 0},
			{"UpdateKey revoking", func(t *testing.T, st store.Store) {
				_, err := st.UpdateKey(t.Context(), "k1", revokeKey)
				must(t, "UpdateKey(k1, revoke)", err)
			}, 1},
			{"UpdateKey not revoking", func(t *testing.T, st store.Store) {
				_, err := st.UpdateKey(t.Context(), "k1", func(k store.SigningKey) (store.SigningKey, error) {
					k.RetireAt = at(time.Hour)
					return k, nil
				})
				must(t, "UpdateKey(k1, retire)", err)
			}, 0},
			{"UpdateKey revoking a revoked key", func(t *testing.T, st store.Store) {
				for range 2 {
					_, err := st.UpdateKey(t.Context(), "k1", revokeKey)
					must(t, "UpdateKey(k1, revoke)", err)
				}
			}, 1},
			{"UpdateKey refused", func(t *testing.T, st store.Store) {
				_, err := st.UpdateKey(t.Context(), "k1", func(k store.SigningKey) (store.SigningKey, error) {
					k, _ = revokeKey(k)
					return k, errAbort
				})
				wantErr(t, "UpdateKey(k1, refusing fn)", err, errAbort)
			}, 0},
			{"writes that revoke nothing", func(t *testing.T, st store.Store) {
				ctx := t.Context()
				disable := func(u store.User) (store.User, error) { u.Disabled = true; return u, nil }
				must(t, "CreateUser(u2)", st.CreateUser(ctx, newUser("u2", "u2@example.com", at(0))))
				_, err := st.UpdateUser(ctx, "u1", disable)
				must(t, "UpdateUser(u1)", err)
				withSessions(t, st, newSession("s3", "u2", at(0)))
				_, err = st.PruneSessions(ctx, at(100*24*time.Hour))
				must(t, "PruneSessions", err)
				_, err = st.PruneRevocations(ctx, at(100*24*time.Hour))
				must(t, "PruneRevocations", err)
				must(t, "CreateKey(k2)", st.CreateKey(ctx, newKey("k2", at(time.Hour))))
				must(t, "DeleteKey(k2)", st.DeleteKey(ctx, "k2"))
				_, err = st.UpdateThrottle(ctx, "ip", func(th store.Throttle) (store.Throttle, error) { return fail(th, at(0)), nil })
				must(t, "UpdateThrottle(ip)", err)
				must(t, "CreateClient(c1)", st.CreateClient(ctx, newClient("c1", "orders", at(0))))
				_, err = st.UpdateClient(ctx, "c1", func(c store.Client) (store.Client, error) { c.Name = "billing"; return c, nil })
				must(t, "UpdateClient(c1)", err)
				must(t, "DeleteClient(c1)", st.DeleteClient(ctx, "c1"))
			}, 0},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var calls atomic.Int64
				st := open(t, store.Options{Notify: func() { calls.Add(1) }})
				withUsers(t, st, "u1")
				withSessions(t, st, newSession("s1", "u1", at(0)), newSession("s2", "u1", at(time.Second)))
				must(t, "CreateKey(k1)", st.CreateKey(t.Context(), newKey("k1", at(0))))
				if n := calls.Load(); n != 0 {
					t.Fatalf("Notify calls while setting up = %d, want 0", n)
				}
				tc.op(t, st)
				if n := calls.Load(); n != tc.want {
					t.Errorf("Notify calls after %s = %d, want %d", tc.name, n, tc.want)
				}
			})
		}
	})

	t.Run("AfterCommit", func(t *testing.T) {
		// When Notify runs, what the transaction recorded is visible to
		// every reader. A real Notify must not call the store; this one
		// reads the feed on another goroutine and waits for it, which
		// also fails if Notify is called with a lock that readers wait
		// for.
		var st store.Store
		var mu sync.Mutex
		var seen []string
		notify := func() {
			done := make(chan string, 1)
			go func() {
				rs, err := st.RevocationsSince(t.Context(), 0, 100)
				if err != nil {
					done <- err.Error()
					return
				}
				done <- fmt.Sprint(len(rs), " records")
			}()
			var got string
			select {
			case got = <-done:
			case <-time.After(notifyTimeout):
				got = "timed out reading the feed"
			}
			mu.Lock()
			seen = append(seen, got)
			mu.Unlock()
		}
		st = open(t, store.Options{Notify: notify})
		ctx := t.Context()
		withUsers(t, st, "u1")
		withSessions(t, st, newSession("s1", "u1", at(0)))
		must(t, "CreateKey(k1)", st.CreateKey(ctx, newKey("k1", at(0))))

		_, err := st.AddRevocation(ctx, newRevocation("jti-1", at(0), at(time.Hour)))
		must(t, "AddRevocation(jti-1)", err)
		_, err = st.UpdateSession(ctx, "s1", revokeSession)
		must(t, "UpdateSession(s1, revoke)", err)
		_, _, err = st.RevokeUser(ctx, "u1", store.ReasonAdmin, at(time.Hour), true, nil)
		must(t, "RevokeUser(u1)", err)
		_, err = st.UpdateKey(ctx, "k1", revokeKey)
		must(t, "UpdateKey(k1, revoke)", err)

		mu.Lock()
		defer mu.Unlock()
		if want := []string{"1 records", "2 records", "3 records", "4 records"}; !slices.Equal(seen, want) {
			t.Errorf("feed as each Notify call saw it = %q, want %q", seen, want)
		}
	})

	t.Run("SlowNotifyBlocksNoWriter", func(t *testing.T) {
		// Notify must not block, but one that is slow anyway (a full
		// channel, a busy lock) must not stop the store's other writers.
		release := make(chan struct{})
		entered := make(chan struct{})
		var first atomic.Bool
		st := open(t, store.Options{Notify: func() {
			if first.CompareAndSwap(false, true) {
				close(entered)
				<-release
			}
		}})
		ctx := t.Context()
		withUsers(t, st, "u1")

		slow := make(chan error, 1)
		go func() {
			_, err := st.AddRevocation(ctx, newRevocation("jti-1", at(0), at(time.Hour)))
			slow <- err
		}()
		select {
		case <-entered:
		case <-time.After(notifyTimeout):
			close(release)
			t.Fatalf("AddRevocation did not call Notify within %v", notifyTimeout)
		}
		other := make(chan error, 1)
		go func() {
			if err := st.CreateUser(ctx, newUser("u2", "u2@example.com", at(0))); err != nil {
				other <- err
				return
			}
			_, _, err := st.RevokeUser(ctx, "u2", store.ReasonAdmin, at(time.Hour), true, nil)
			other <- err
		}()
		otherDone := false
		select {
		case err := <-other:
			otherDone = true
			if err != nil {
				t.Errorf("CreateUser(u2), RevokeUser(u2) while Notify is slow = %v, want nil", err)
			}
		case <-time.After(notifyTimeout):
			t.Errorf("CreateUser(u2), RevokeUser(u2) while Notify is slow: still waiting after %v, want done", notifyTimeout)
		}
		close(release)
		if err := <-slow; err != nil {
			t.Errorf("AddRevocation(jti-1) with a slow Notify = %v, want nil", err)
		}
		if !otherDone {
			<-other // the store closes only once every call has returned
		}
	})
}
