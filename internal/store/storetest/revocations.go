package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/store"
)

func newRevocation(jti string, revoked, expires time.Time) store.Revocation {
	return store.Revocation{
		Kind:    store.KindToken,
		Subject: jti,
		UserID:  "u1",
		Reason:  store.ReasonAdmin,
		At:      revoked,
		Expires: expires,
	}
}

func testRevocations(t *testing.T, open opener) {
	t.Run("AddAndReadInOrder", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		want := []store.Revocation{
			newRevocation("jti-1", at(0), at(time.Hour)),
			{Kind: store.KindSession, Subject: "s1", UserID: "u2", Reason: store.ReasonReuse, At: at(time.Second), Expires: at(2 * time.Hour)},
			{Kind: store.KindSubject, Subject: "u3", UserID: "u3", Reason: store.ReasonPasswordChange, At: at(2 * time.Second), Expires: at(3 * time.Hour)},
		}
		var last int64
		for i := range want {
			r := want[i]
			r.Seq = 1000 // ignored
			seq, err := st.AddRevocation(ctx, r)
			if err != nil || seq <= last {
				t.Fatalf("AddRevocation(%s) = %d, %v, want a Seq above %d, nil", r.Subject, seq, err, last)
			}
			want[i].Seq, last = seq, seq
		}

		for _, tc := range []struct {
			after int64
			limit int
			want  []store.Revocation
		}{
			{0, 10, want},
			{0, 3, want},
			{0, 2, want[:2]},
			{0, 1, want[:1]},
			{want[0].Seq, 10, want[1:]},
			{want[1].Seq, 1, want[2:]},
			{want[0].Seq - 1, 10, want},
			{want[2].Seq, 10, nil},
			{want[2].Seq + 100, 10, nil},
		} {
			got, err := st.RevocationsSince(ctx, tc.after, tc.limit)
			if err != nil || !sameAll(normRevocation, got, tc.want) {
				t.Errorf("RevocationsSince(%d, %d) = %+v, %v, want %+v, nil", tc.after, tc.limit, got, err, tc.want)
			}
		}
	})

	t.Run("PruneExpiredOnly", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		cutoff := at(time.Hour)
		var kept []store.Revocation
		for _, tc := range []struct {
			expires time.Duration
			pruned  bool
		}{
			{30 * time.Minute, true},
			{time.Hour - time.Millisecond, true},
			{time.Hour, false},
			{2 * time.Hour, false},
		} {
			r := newRevocation(fmt.Sprint("expires ", tc.expires), at(0), at(tc.expires))
			seq, err := st.AddRevocation(ctx, r)
			must(t, "AddRevocation("+r.Subject+")", err)
			if !tc.pruned {
				r.Seq = seq
				kept = append(kept, r)
			}
		}
		n, err := st.PruneRevocations(ctx, cutoff)
		if err != nil || n != 2 {
			t.Errorf("PruneRevocations(cutoff) = %d, %v, want 2, nil", n, err)
		}
		if got := allRevocations(t, st); !sameAll(normRevocation, got, kept) {
			t.Errorf("revocations after PruneRevocations(cutoff) = %+v, want %+v", got, kept)
		}
	})

	t.Run("SeqNotReusedAfterPrune", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		var last int64
		for i := range 3 {
			seq, err := st.AddRevocation(ctx, newRevocation(fmt.Sprint("jti-", i), at(0), at(time.Minute)))
			must(t, "AddRevocation", err)
			last = seq
		}
		n, err := st.PruneRevocations(ctx, at(time.Hour))
		if err != nil || n != 3 {
			t.Fatalf("PruneRevocations(all) = %d, %v, want 3, nil", n, err)
		}
		seq, err := st.AddRevocation(ctx, newRevocation("jti-after", at(0), at(time.Hour)))
		if err != nil || seq <= last {
			t.Errorf("AddRevocation after pruning everything = %d, %v, want a Seq above %d, nil", seq, err, last)
		}
	})

	t.Run("Bounds", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		check := func(step string, wantPruned, wantHead int64) {
			t.Helper()
			pruned, head, err := st.RevocationBounds(ctx)
			if err != nil || pruned != wantPruned || head != wantHead {
				t.Errorf("RevocationBounds() %s = %d, %d, %v, want %d, %d, nil", step, pruned, head, err, wantPruned, wantHead)
			}
		}
		add := func(jti string, expires time.Duration) int64 {
			t.Helper()
			seq, err := st.AddRevocation(ctx, newRevocation(jti, at(0), at(expires)))
			must(t, "AddRevocation("+jti+")", err)
			return seq
		}
		prune := func(cutoff time.Duration, want int) {
			t.Helper()
			if n, err := st.PruneRevocations(ctx, at(cutoff)); err != nil || n != want {
				t.Errorf("PruneRevocations(%v) = %d, %v, want %d, nil", cutoff, n, err, want)
			}
		}

		check("on an empty store", 0, 0)
		prune(time.Hour, 0)
		check("after pruning nothing", 0, 0)

		first := add("first", 2*time.Hour)
		middle := add("middle", time.Hour)
		last := add("last", 3*time.Hour)
		check("after three adds", 0, last)

		prune(time.Hour+time.Minute, 1)
		check("after pruning the middle record", middle, last)
		prune(2*time.Hour+time.Minute, 1)
		check("after pruning the first record", middle, last)

		newest := add("newest", 4*time.Hour)
		check("after another add", middle, newest)
		prune(3*time.Hour+time.Minute, 1)
		check("after pruning the last record", last, newest)
		prune(5*time.Hour, 1)
		check("after pruning everything", newest, newest)

		if rs := allRevocations(t, st); len(rs) != 0 {
			t.Errorf("revocations after pruning everything = %+v, want none", rs)
		}
		if first >= middle {
			t.Errorf("AddRevocation gave Seq %d then %d, want increasing", first, middle)
		}
		again := add("after pruning everything", 5*time.Hour)
		check("after adding to a pruned feed", newest, again)
	})

	t.Run("BoundsCountRecordedRevocations", func(t *testing.T) {
		// Records a backend writes itself move the head like any other.
		st := open(t, store.Options{})
		ctx := t.Context()
		withUsers(t, st, "u1")
		withSessions(t, st, newSession("s1", "u1", at(0)))
		_, err := st.UpdateSession(ctx, "s1", func(s store.Session) (store.Session, error) {
			s.RevokedAt, s.RevokeReason = at(time.Minute), store.ReasonLogout
			return s, nil
		})
		must(t, "UpdateSession(s1, revoke)", err)
		_, _, err = st.RevokeUser(ctx, "u1", store.ReasonAdmin, at(time.Hour), true, nil)
		must(t, "RevokeUser(u1)", err)
		rs := allRevocations(t, st)
		if len(rs) != 2 {
			t.Fatalf("revocations = %+v, want 2", rs)
		}
		pruned, head, err := st.RevocationBounds(ctx)
		if err != nil || pruned != 0 || head != rs[1].Seq {
			t.Errorf("RevocationBounds() = %d, %d, %v, want 0, %d, nil", pruned, head, err, rs[1].Seq)
		}
	})
}
