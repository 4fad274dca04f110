package storetest

import (
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/store"
)

// peekThrottle returns the throttle for key as UpdateThrottle passes it to
// fn, changing nothing.
func peekThrottle(t *testing.T, st store.Store, key string) store.Throttle {
	t.Helper()
	var seen store.Throttle
	_, err := st.UpdateThrottle(t.Context(), key, func(th store.Throttle) (store.Throttle, error) {
		seen = th
		return th, errAbort
	})
	if err != errAbort {
		t.Fatalf("UpdateThrottle(%q, refusing fn) = %v, want %v as is", key, err, errAbort)
	}
	return seen
}

// fail records one failed login for key at now.
func fail(th store.Throttle, now time.Time) store.Throttle {
	th.Failures++
	th.LastFailure = now
	return th
}

func testThrottles(t *testing.T, open opener) {
	t.Run("CreateFromZero", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		const key = "account:u1"
		if got, want := peekThrottle(t, st, key), (store.Throttle{Key: key}); !same(normThrottle, got, want) {
			t.Errorf("UpdateThrottle(%q) passed fn %+v, want %+v", key, got, want)
		}
		want := store.Throttle{Key: key, Failures: 1, LastFailure: at(0), LockedUntil: at(time.Minute)}
		got, err := st.UpdateThrottle(ctx, key, func(th store.Throttle) (store.Throttle, error) {
			th = fail(th, at(0))
			th.LockedUntil = at(time.Minute)
			return th, nil
		})
		if err != nil || !same(normThrottle, got, want) {
			t.Errorf("UpdateThrottle(%q, fail) = %+v, %v, want %+v, nil", key, got, err, want)
		}
		if got := peekThrottle(t, st, key); !same(normThrottle, got, want) {
			t.Errorf("UpdateThrottle(%q) then passed fn %+v, want %+v", key, got, want)
		}
		if got, want := peekThrottle(t, st, "ip:192.0.2.1"), (store.Throttle{Key: "ip:192.0.2.1"}); !same(normThrottle, got, want) {
			t.Errorf("UpdateThrottle(ip:192.0.2.1) passed fn %+v, want %+v", got, want)
		}
	})

	t.Run("ZeroFailuresDeletes", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		const key = "account:u1"
		for range 3 {
			_, err := st.UpdateThrottle(ctx, key, func(th store.Throttle) (store.Throttle, error) {
				th = fail(th, at(0))
				th.LockedUntil = at(time.Hour)
				return th, nil
			})
			must(t, "UpdateThrottle(fail)", err)
		}
		_, err := st.UpdateThrottle(ctx, key, func(th store.Throttle) (store.Throttle, error) {
			return store.Throttle{Key: key}, nil // a successful login
		})
		must(t, "UpdateThrottle(reset)", err)
		if got, want := peekThrottle(t, st, key), (store.Throttle{Key: key}); !same(normThrottle, got, want) {
			t.Errorf("UpdateThrottle(%q) after reset passed fn %+v, want %+v", key, got, want)
		}
		n, err := st.PruneThrottles(ctx, at(100*time.Hour))
		if err != nil || n != 0 {
			t.Errorf("PruneThrottles() after reset = %d, %v, want 0 (nothing stored), nil", n, err)
		}
	})

	t.Run("KeyCannotChange", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		got, err := st.UpdateThrottle(ctx, "a", func(th store.Throttle) (store.Throttle, error) {
			th = fail(th, at(0))
			th.Key = "b"
			return th, nil
		})
		if err != nil || got.Key != "a" {
			t.Errorf("UpdateThrottle(a, changing Key) = %+v, %v, want Key a, nil", got, err)
		}
		if got := peekThrottle(t, st, "a"); got.Failures != 1 {
			t.Errorf("UpdateThrottle(a) then passed fn %+v, want 1 failure", got)
		}
		if got := peekThrottle(t, st, "b"); got.Failures != 0 {
			t.Errorf("UpdateThrottle(b) passed fn %+v, want the zero Throttle", got)
		}
	})

	t.Run("UpdateFuncErrorAborts", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		_, err := st.UpdateThrottle(ctx, "a", func(th store.Throttle) (store.Throttle, error) {
			return fail(th, at(0)), nil
		})
		must(t, "UpdateThrottle(a, fail)", err)
		_, err = st.UpdateThrottle(ctx, "a", func(th store.Throttle) (store.Throttle, error) {
			return fail(th, at(time.Second)), errAbort
		})
		if err != errAbort {
			t.Errorf("UpdateThrottle(a, refusing fn) = %v, want %v as is", err, errAbort)
		}
		want := store.Throttle{Key: "a", Failures: 1, LastFailure: at(0)}
		if got := peekThrottle(t, st, "a"); !same(normThrottle, got, want) {
			t.Errorf("UpdateThrottle(a) after refused update passed fn %+v, want %+v", got, want)
		}
	})

	t.Run("Prune", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		cutoff := at(10 * time.Hour)
		all := []struct {
			th     store.Throttle
			pruned bool
		}{
			{store.Throttle{Key: "old", Failures: 2, LastFailure: at(time.Hour)}, true},
			{store.Throttle{Key: "old, lock over", Failures: 5, LastFailure: at(time.Hour), LockedUntil: at(2 * time.Hour)}, true},
			{store.Throttle{Key: "old, locked past cutoff", Failures: 5, LastFailure: at(time.Hour), LockedUntil: at(11 * time.Hour)}, false},
			{store.Throttle{Key: "recent", Failures: 1, LastFailure: at(11 * time.Hour)}, false},
			{store.Throttle{Key: "at cutoff", Failures: 1, LastFailure: at(10 * time.Hour)}, false},
		}
		for _, tc := range all {
			_, err := st.UpdateThrottle(ctx, tc.th.Key, func(store.Throttle) (store.Throttle, error) { return tc.th, nil })
			must(t, "UpdateThrottle("+tc.th.Key+")", err)
		}
		n, err := st.PruneThrottles(ctx, cutoff)
		if err != nil || n != 2 {
			t.Errorf("PruneThrottles(cutoff) = %d, %v, want 2, nil", n, err)
		}
		for _, tc := range all {
			want := tc.th
			if tc.pruned {
				want = store.Throttle{Key: tc.th.Key}
			}
			if got := peekThrottle(t, st, tc.th.Key); !same(normThrottle, got, want) {
				t.Errorf("UpdateThrottle(%q) after PruneThrottles passed fn %+v, want %+v", tc.th.Key, got, want)
			}
		}
	})
}
