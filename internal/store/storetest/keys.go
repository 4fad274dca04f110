package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/store"
)

func newKey(id string, activate time.Time) store.SigningKey {
	return store.SigningKey{
		ID:         id,
		Algorithm:  "EdDSA",
		Sealed:     []byte("sealed:" + id),
		Public:     []byte(`{"kty":"OKP","crv":"Ed25519","kid":"` + id + `","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`),
		CreatedAt:  activate.Add(-time.Hour),
		ActivateAt: activate,
	}
}

func testKeys(t *testing.T, open opener) {
	t.Run("CreateAndListByActivation", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		got, err := st.ListKeys(ctx)
		if err != nil || len(got) != 0 {
			t.Errorf("ListKeys() on an empty store = %+v, %v, want none, nil", got, err)
		}
		want := []store.SigningKey{
			newKey("k-old", at(-48*time.Hour)),
			newKey("k-current", at(0)),
			newKey("k-next", at(24*time.Hour)),
		}
		want[0].RetireAt, want[0].RemoveAt, want[0].RevokedAt = at(0), at(time.Hour), at(-time.Hour)
		for _, i := range []int{2, 0, 1} {
			must(t, "CreateKey("+want[i].ID+")", st.CreateKey(ctx, want[i]))
		}
		got, err = st.ListKeys(ctx)
		if err != nil || !sameAll(normKey, got, want) {
			t.Errorf("ListKeys() = %+v, %v, want %+v, nil", got, err, want)
		}
	})

	t.Run("BytesRoundTripExactly", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		k := newKey("k1", at(0))
		k.Sealed = make([]byte, 512)
		for i := range k.Sealed {
			k.Sealed[i] = byte(i) // every byte value, NULs included
		}
		k.Public = append([]byte{0}, k.Public...)
		must(t, "CreateKey(k1)", st.CreateKey(ctx, k))
		got, err := st.ListKeys(ctx)
		if err != nil || len(got) != 1 || !bytes.Equal(got[0].Sealed, k.Sealed) || !bytes.Equal(got[0].Public, k.Public) {
			t.Errorf("ListKeys() = %+v, %v, want [%+v], nil", got, err, k)
		}
	})

	t.Run("Conflict", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		k := newKey("k1", at(0))
		must(t, "CreateKey(k1)", st.CreateKey(ctx, k))
		wantErr(t, "CreateKey(k1) again", st.CreateKey(ctx, newKey("k1", at(time.Hour))), store.ErrConflict)
		got, err := st.ListKeys(ctx)
		if err != nil || !sameAll(normKey, got, []store.SigningKey{k}) {
			t.Errorf("ListKeys() after conflict = %+v, %v, want [%+v], nil", got, err, k)
		}
	})

	t.Run("Update", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		k := newKey("k1", at(0))
		must(t, "CreateKey(k1)", st.CreateKey(ctx, k))

		want := k
		want.RetireAt, want.RemoveAt = at(time.Hour), at(2*time.Hour)
		want.Sealed = []byte("resealed under a new master key")
		got, err := st.UpdateKey(ctx, "k1", func(old store.SigningKey) (store.SigningKey, error) {
			if !same(normKey, old, k) {
				t.Errorf("UpdateKey(k1) passed fn %+v, want %+v", old, k)
			}
			v := want
			v.ID, v.CreatedAt = "k2", at(time.Hour) // cannot change
			return v, nil
		})
		if err != nil || !same(normKey, got, want) {
			t.Errorf("UpdateKey(k1) = %+v, %v, want %+v, nil", got, err, want)
		}
		list, err := st.ListKeys(ctx)
		if err != nil || !sameAll(normKey, list, []store.SigningKey{want}) {
			t.Errorf("ListKeys() after update = %+v, %v, want [%+v], nil", list, err, want)
		}
		if rs := allRevocations(t, st); len(rs) != 0 {
			t.Errorf("revocations after an update that does not revoke = %+v, want none", rs)
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
				k1, k2 := newKey("k1", at(0)), newKey("k2", at(time.Hour))
				must(t, "CreateKey(k1)", st.CreateKey(ctx, k1))
				must(t, "CreateKey(k2)", st.CreateKey(ctx, k2))

				revokedAt := at(30 * time.Minute)
				want := k1
				want.RevokedAt, want.RetireAt = revokedAt, revokedAt
				got, err := st.UpdateKey(ctx, "k1", func(k store.SigningKey) (store.SigningKey, error) {
					k.RevokedAt, k.RetireAt = revokedAt, revokedAt
					return k, nil
				})
				if err != nil || !same(normKey, got, want) {
					t.Errorf("UpdateKey(k1, revoke) = %+v, %v, want %+v, nil", got, err, want)
				}
				wantRev := store.Revocation{
					Kind:    store.KindKey,
					Subject: "k1",
					Reason:  store.ReasonKeyRevoked,
					At:      revokedAt,
					Expires: revokedAt.Add(tc.ttl),
				}
				checkRevocations(t, st, 0, "UpdateKey(k1, revoke)", wantRev)

				// RevokedAt sticks once set, and revoking again records
				// nothing more.
				want.RemoveAt = at(2 * time.Hour)
				for _, change := range []struct {
					name      string
					revokedAt time.Time
				}{
					{"revoke again later", at(time.Hour)},
					{"revoke again earlier", at(time.Minute)},
					{"unrevoke", time.Time{}},
				} {
					got, err := st.UpdateKey(ctx, "k1", func(k store.SigningKey) (store.SigningKey, error) {
						k.RevokedAt, k.RemoveAt = change.revokedAt, want.RemoveAt
						return k, nil
					})
					if err != nil || !same(normKey, got, want) {
						t.Errorf("UpdateKey(k1, %s) = %+v, %v, want %+v, nil", change.name, got, err, want)
					}
				}
				list, err := st.ListKeys(ctx)
				if err != nil || !sameAll(normKey, list, []store.SigningKey{want, k2}) {
					t.Errorf("ListKeys() after revoking k1 = %+v, %v, want [%+v %+v], nil", list, err, want, k2)
				}
				checkRevocations(t, st, 0, "UpdateKey(k1) after its revocation", wantRev)
			})
		}
	})

	t.Run("RevokeFuncErrorRecordsNothing", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		k := newKey("k1", at(0))
		must(t, "CreateKey(k1)", st.CreateKey(ctx, k))
		_, err := st.UpdateKey(ctx, "k1", func(old store.SigningKey) (store.SigningKey, error) {
			old.RevokedAt = at(time.Hour)
			return old, errAbort
		})
		if err != errAbort {
			t.Errorf("UpdateKey(k1, refusing fn) = %v, want %v as is", err, errAbort)
		}
		list, err := st.ListKeys(ctx)
		if err != nil || !sameAll(normKey, list, []store.SigningKey{k}) {
			t.Errorf("ListKeys() after refused revocation = %+v, %v, want [%+v], nil", list, err, k)
		}
		checkRevocations(t, st, 0, "UpdateKey(k1, refusing fn)")
	})

	t.Run("UpdateFuncErrorAborts", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		k := newKey("k1", at(0))
		must(t, "CreateKey(k1)", st.CreateKey(ctx, k))
		_, err := st.UpdateKey(ctx, "k1", func(old store.SigningKey) (store.SigningKey, error) {
			old.RetireAt = at(time.Hour)
			return old, errAbort
		})
		if err != errAbort {
			t.Errorf("UpdateKey(k1, refusing fn) = %v, want %v as is", err, errAbort)
		}
		list, err := st.ListKeys(ctx)
		if err != nil || !sameAll(normKey, list, []store.SigningKey{k}) {
			t.Errorf("ListKeys() after refused update = %+v, %v, want [%+v], nil", list, err, k)
		}
	})

	t.Run("Delete", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		k1, k2 := newKey("k1", at(0)), newKey("k2", at(time.Hour))
		must(t, "CreateKey(k1)", st.CreateKey(ctx, k1))
		must(t, "CreateKey(k2)", st.CreateKey(ctx, k2))
		must(t, "DeleteKey(k1)", st.DeleteKey(ctx, "k1"))
		list, err := st.ListKeys(ctx)
		if err != nil || !sameAll(normKey, list, []store.SigningKey{k2}) {
			t.Errorf("ListKeys() after DeleteKey(k1) = %+v, %v, want [%+v], nil", list, err, k2)
		}
		wantErr(t, "DeleteKey(k1) again", st.DeleteKey(ctx, "k1"), store.ErrNotFound)
	})

	t.Run("NotFound", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		called := false
		_, err := st.UpdateKey(ctx, "nothing", func(k store.SigningKey) (store.SigningKey, error) {
			called = true
			return k, nil
		})
		wantErr(t, "UpdateKey(nothing)", err, store.ErrNotFound)
		if called {
			t.Errorf("UpdateKey(nothing) called fn, want not called")
		}
		wantErr(t, "DeleteKey(nothing)", st.DeleteKey(ctx, "nothing"), store.ErrNotFound)
	})
}
