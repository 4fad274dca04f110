package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/store"
)

// RunNodes runs the tests of the suite that take several stores on one
// database, as several server nodes have: the coordination of key
// rotations across them. open must return n new stores (n >= 2) on one
// new, empty database, each with its own connections as a node's store
// has, and close them when the test ends. Run runs the same tests with n
// goroutines on one store.
func RunNodes(t *testing.T, open func(t *testing.T, n int) []store.Store) {
	t.Run("KeysCoordination", func(t *testing.T) { testKeysCoordination(t, open) })
}

// nodes is how many stores RunNodes asks for.
const nodes = 4

// oneStore returns an open for testKeysCoordination that gives n times
// the same store.
func oneStore(open opener) func(t *testing.T, n int) []store.Store {
	return func(t *testing.T, n int) []store.Store {
		st := open(t, store.Options{})
		sts := make([]store.Store, n)
		for i := range sts {
			sts[i] = st
		}
		return sts
	}
}

func testUpdateKeys(t *testing.T, open opener) {
	t.Run("CreatesAndUpdates", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		k1, k2 := newKey("k1", at(time.Hour)), newKey("k2", at(0))
		must(t, "CreateKey(k1)", st.CreateKey(ctx, k1))
		must(t, "CreateKey(k2)", st.CreateKey(ctx, k2))

		k3 := newKey("k3", at(2*time.Hour))
		want2 := k2
		want2.RetireAt, want2.RemoveAt = at(2*time.Hour), at(3*time.Hour)
		calls := 0
		err := st.UpdateKeys(ctx, func(keys []store.SigningKey) (create, update []store.SigningKey, err error) {
			calls++
			if want := []store.SigningKey{k2, k1}; !sameAll(normKey, keys, want) {
				t.Errorf("UpdateKeys passed fn %+v, want %+v (ordered by ActivateAt)", keys, want)
			}
			v := want2
			v.CreatedAt = at(time.Hour) // cannot change
			return []store.SigningKey{k3}, []store.SigningKey{v}, nil
		})
		if err != nil || calls == 0 {
			t.Fatalf("UpdateKeys(create k3, retire k2) = %v after %d calls of fn, want nil after at least 1", err, calls)
		}
		list, err := st.ListKeys(ctx)
		if want := []store.SigningKey{want2, k1, k3}; err != nil || !sameAll(normKey, list, want) {
			t.Errorf("ListKeys() after UpdateKeys = %+v, %v, want %+v, nil", list, err, want)
		}
		if rs := allRevocations(t, st); len(rs) != 0 {
			t.Errorf("revocations after UpdateKeys that revokes nothing = %+v, want none", rs)
		}
	})

	t.Run("RevokeRecordsOneRevocation", func(t *testing.T) {
		st := open(t, store.Options{RevocationTTL: 90 * time.Minute})
		ctx := t.Context()
		k1 := newKey("k1", at(0))
		must(t, "CreateKey(k1)", st.CreateKey(ctx, k1))

		revokedAt := at(30 * time.Minute)
		replacement := newKey("k2", revokedAt)
		revoke := func(k store.SigningKey) store.SigningKey {
			k.RevokedAt, k.RetireAt, k.RemoveAt = revokedAt, revokedAt, revokedAt
			return k
		}
		// Revoked twice in one call, and again in another: RevokedAt
		// sticks and one revocation is recorded.
		err := st.UpdateKeys(ctx, func(keys []store.SigningKey) (create, update []store.SigningKey, err error) {
			again := revoke(k1)
			again.RevokedAt = at(time.Hour)
			return []store.SigningKey{replacement}, []store.SigningKey{revoke(k1), again}, nil
		})
		must(t, "UpdateKeys(revoke k1 twice, create k2)", err)
		err = st.UpdateKeys(ctx, func(keys []store.SigningKey) (create, update []store.SigningKey, err error) {
			k := keys[0]
			k.RevokedAt = time.Time{}
			return nil, []store.SigningKey{k}, nil
		})
		must(t, "UpdateKeys(unrevoke k1)", err)
		list, err := st.ListKeys(ctx)
		if want := []store.SigningKey{revoke(k1), replacement}; err != nil || !sameAll(normKey, list, want) {
			t.Errorf("ListKeys() after revoking k1 = %+v, %v, want %+v, nil", list, err, want)
		}
		checkRevocations(t, st, 0, "UpdateKeys(revoke k1)", store.Revocation{
			Kind:    store.KindKey,
			Subject: "k1",
			Reason:  store.ReasonKeyRevoked,
			At:      revokedAt,
			Expires: revokedAt.Add(90 * time.Minute),
		})
	})

	t.Run("FailureStoresNothing", func(t *testing.T) {
		k1 := newKey("k1", at(0))
		revoked := k1
		revoked.RevokedAt, revoked.RetireAt, revoked.RemoveAt = at(time.Hour), at(time.Hour), at(time.Hour)
		for _, tc := range []struct {
			name   string
			create []store.SigningKey
			update []store.SigningKey
			fnErr  error
			want   error
		}{
			{"fn fails", []store.SigningKey{newKey("k2", at(time.Hour))}, []store.SigningKey{revoked}, errAbort, errAbort},
			{"update of an unknown key", []store.SigningKey{newKey("k2", at(time.Hour))},
				[]store.SigningKey{revoked, newKey("k9", at(0))}, nil, store.ErrNotFound},
			{"update of a key created by the same call", []store.SigningKey{newKey("k2", at(time.Hour))},
				[]store.SigningKey{revoked, newKey("k2", at(2*time.Hour))}, nil, store.ErrNotFound},
			{"create of a stored key", []store.SigningKey{newKey("k2", at(time.Hour)), newKey("k1", at(time.Hour))},
				[]store.SigningKey{revoked}, nil, store.ErrConflict},
		} {
			t.Run(tc.name, func(t *testing.T) {
				st := open(t, store.Options{})
				ctx := t.Context()
				must(t, "CreateKey(k1)", st.CreateKey(ctx, k1))
				err := st.UpdateKeys(ctx, func([]store.SigningKey) (create, update []store.SigningKey, err error) {
					return tc.create, tc.update, tc.fnErr
				})
				switch {
				case tc.fnErr != nil && err != tc.fnErr:
					t.Errorf("UpdateKeys(refusing fn) = %v, want %v as is", err, tc.fnErr)
				case tc.fnErr == nil:
					wantErr(t, "UpdateKeys("+tc.name+")", err, tc.want)
				}
				list, err := st.ListKeys(ctx)
				if err != nil || !sameAll(normKey, list, []store.SigningKey{k1}) {
					t.Errorf("ListKeys() after failed UpdateKeys = %+v, %v, want [%+v], nil", list, err, k1)
				}
				checkRevocations(t, st, 0, "failed UpdateKeys")
			})
		}
	})

	t.Run("ClosedFails", func(t *testing.T) {
		st := open(t, store.Options{})
		must(t, "Close()", st.Close())
		called := false
		err := st.UpdateKeys(t.Context(), func([]store.SigningKey) (create, update []store.SigningKey, err error) {
			called = true
			return nil, nil, nil
		})
		if err == nil || called {
			t.Errorf("UpdateKeys after Close = %v, fn called %t, want an error, not called", err, called)
		}
	})

	t.Run("Coordination", func(t *testing.T) { testKeysCoordination(t, oneStore(open)) })
}

// testKeysCoordination races the key changes that several server nodes
// make at once, each deciding inside UpdateKeys whether the change is
// still due: whatever the number of racers, the change is made once.
// open returns the stores the racers share out, one per node.
func testKeysCoordination(t *testing.T, open func(t *testing.T, n int) []store.Store) {
	// outcome is what one racer's UpdateKeys did: whether its last run
	// of fn created a key, and its error.
	type outcome struct {
		created bool
		err     error
	}
	// racers runs decide in UpdateKeys from goroutines racers spread
	// over sts; decide(i, keys) is racer i's function.
	racers := func(sts []store.Store, decide func(i int, keys []store.SigningKey) (create, update []store.SigningKey)) []outcome {
		out := make([]outcome, goroutines)
		race(goroutines, nil, func(i int) error {
			out[i].err = sts[i%len(sts)].UpdateKeys(t.Context(), func(keys []store.SigningKey) (create, update []store.SigningKey, err error) {
				create, update = decide(i, keys)
				out[i].created = len(create) > 0
				return create, update, nil
			})
			return nil
		})
		return out
	}
	// winners checks that every racer succeeded and returns how many
	// created a key.
	winners := func(t *testing.T, call string, out []outcome) int {
		t.Helper()
		n := 0
		for i, o := range out {
			switch {
			case o.err != nil:
				t.Errorf("racer %d: %s = %v, want nil", i, call, o.err)
			case o.created:
				n++
			}
		}
		return n
	}

	t.Run("FirstKeyCreatedOnce", func(t *testing.T) {
		// Nodes starting on an empty database each create a first key
		// if there is still none.
		sts := open(t, nodes)
		out := racers(sts, func(i int, keys []store.SigningKey) (create, update []store.SigningKey) {
			if len(keys) > 0 {
				return nil, nil
			}
			return []store.SigningKey{newKey(fmt.Sprint("k-", i), at(0))}, nil
		})
		if n := winners(t, "UpdateKeys(create a key if there is none)", out); n != 1 {
			t.Errorf("racers that created a key = %d, want 1", n)
		}
		if list, err := sts[0].ListKeys(t.Context()); err != nil || len(list) != 1 {
			t.Errorf("ListKeys() after the race = %q, %v, want one key, nil", keyIDs(list), err)
		}
	})

	t.Run("RotationDueRotatesOnce", func(t *testing.T) {
		// Nodes whose maintenance finds the signing key due for
		// rotation each schedule a successor and the key's retirement,
		// if no successor is scheduled yet.
		sts := open(t, nodes)
		ctx := t.Context()
		k0 := newKey("k0", at(0))
		must(t, "CreateKey(k0)", sts[0].CreateKey(ctx, k0))
		now, next := at(time.Hour), at(2*time.Hour)
		out := racers(sts, func(i int, keys []store.SigningKey) (create, update []store.SigningKey) {
			newest := keys[len(keys)-1]
			if newest.ActivateAt.After(now) {
				return nil, nil // a successor is scheduled: rotated already
			}
			newest.RetireAt, newest.RemoveAt = next, next.Add(time.Hour)
			return []store.SigningKey{newKey(fmt.Sprint("k-", i), next)}, []store.SigningKey{newest}
		})
		if n := winners(t, "UpdateKeys(rotate if due)", out); n != 1 {
			t.Errorf("racers that rotated = %d, want 1", n)
		}
		list, err := sts[len(sts)-1].ListKeys(ctx)
		if err != nil || len(list) != 2 {
			t.Fatalf("ListKeys() after the race = %q, %v, want k0 and one successor, nil", keyIDs(list), err)
		}
		want := k0
		want.RetireAt, want.RemoveAt = next, next.Add(time.Hour)
		if !same(normKey, list[0], want) {
			t.Errorf("k0 after the race = %+v, want %+v", list[0], want)
		}
	})

	t.Run("RevocationRecordedOnce", func(t *testing.T) {
		// Operators revoking one key through different nodes, some
		// with UpdateKey and some with UpdateKeys, which also creates a
		// replacement if the key is not revoked yet: one revocation is
		// recorded, and at most one replacement created.
		sts := open(t, nodes)
		ctx := t.Context()
		must(t, "CreateKey(k0)", sts[0].CreateKey(ctx, newKey("k0", at(0))))
		now := at(time.Hour)
		revoke := func(k store.SigningKey) store.SigningKey {
			if k.RevokedAt.IsZero() {
				k.RevokedAt = now
			}
			k.RetireAt, k.RemoveAt = k.RevokedAt, k.RevokedAt
			return k
		}
		errs := race(goroutines, nil, func(i int) error {
			st := sts[i%len(sts)]
			if i%2 == 0 {
				_, err := st.UpdateKey(ctx, "k0", func(k store.SigningKey) (store.SigningKey, error) { return revoke(k), nil })
				return err
			}
			return st.UpdateKeys(ctx, func(keys []store.SigningKey) (create, update []store.SigningKey, err error) {
				if !keys[0].RevokedAt.IsZero() {
					return nil, nil, nil
				}
				return []store.SigningKey{newKey(fmt.Sprint("k-", i), now)}, []store.SigningKey{revoke(keys[0])}, nil
			})
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("racer %d: revoking k0 = %v, want nil", i, err)
			}
		}
		if rs := allRevocations(t, sts[0]); len(rs) != 1 || rs[0].Subject != "k0" {
			t.Errorf("revocations after the race = %d, want one, of k0", len(rs))
		}
		if list, err := sts[0].ListKeys(ctx); err != nil || len(list) > 2 {
			t.Errorf("ListKeys() after the race = %q, %v, want k0 and at most one replacement, nil", keyIDs(list), err)
		}
	})
}

// keyIDs returns the IDs of keys.
func keyIDs(keys []store.SigningKey) []string {
	ids := make([]string, len(keys))
	for i, k := range keys {
		ids[i] = k.ID
	}
	return ids
}
