package storetest

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/store"
)

// goroutines is how many goroutines each concurrency test races.
const goroutines = 50

// race runs f(0) to f(n-1) in goroutines released together, after each
// has run its prepare step, and returns their errors in order.
func race(n int, prepare func(i int), f func(i int) error) []error {
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	ready.Add(n)
	for i := range n {
		done.Go(func() {
			if prepare != nil {
				prepare(i)
			}
			ready.Done()
			<-start
			errs[i] = f(i)
		})
	}
	ready.Wait()
	close(start)
	done.Wait()
	return errs
}

func testConcurrency(t *testing.T, open opener) {
	t.Run("UpdateSessionLosesNoUpdate", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		withUsers(t, st, "u1")
		withSessions(t, st, newSession("s1", "u1", at(0)))

		errs := race(goroutines, nil, func(int) error {
			_, err := st.UpdateSession(ctx, "s1", func(s store.Session) (store.Session, error) {
				s.Generation++
				return s, nil
			})
			return err
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("goroutine %d: UpdateSession(s1, increment) = %v, want nil", i, err)
			}
		}
		got, err := st.SessionByID(ctx, "s1")
		if err != nil || got.Generation != goroutines {
			t.Errorf("SessionByID(s1) after %d increments = Generation %d, %v, want %d, nil", goroutines, got.Generation, err, goroutines)
		}
	})

	t.Run("RotationHasOneWinner", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		withUsers(t, st, "u1")
		withSessions(t, st, newSession("s1", "u1", at(0)))
		errStale := errors.New("storetest: token already rotated")

		// Every goroutine presents the token it read before any rotated,
		// as concurrent refreshes with one refresh token do.
		read := make([][]byte, goroutines)
		readErr := make([]error, goroutines)
		errs := race(goroutines, func(i int) {
			var s store.Session
			s, readErr[i] = st.SessionByID(ctx, "s1")
			read[i] = s.TokenHash
		}, func(i int) error {
			if readErr[i] != nil {
				return readErr[i]
			}
			_, err := st.UpdateSession(ctx, "s1", func(s store.Session) (store.Session, error) {
				if !bytes.Equal(s.TokenHash, read[i]) {
					return s, errStale
				}
				s.PrevHash, s.TokenHash = s.TokenHash, hash(fmt.Sprint("s1-rotated-by-", i))
				s.Generation++
				return s, nil
			})
			return err
		})
		winners := 0
		for i, err := range errs {
			switch {
			case err == nil:
				winners++
			case err != errStale:
				t.Errorf("goroutine %d: UpdateSession(s1, rotate) = %v, want nil or %v as is", i, err, errStale)
			}
		}
		if winners != 1 {
			t.Errorf("concurrent rotations that succeeded: %d, want 1", winners)
		}
		got, err := st.SessionByID(ctx, "s1")
		if err != nil || got.Generation != 1 || !bytes.Equal(got.PrevHash, hash("s1")) {
			t.Errorf("SessionByID(s1) after racing rotations = Generation %d, PrevHash %x, %v, want 1, %x, nil", got.Generation, got.PrevHash, err, hash("s1"))
		}
	})

	t.Run("AuthCodeRedeemedOnce", func(t *testing.T) {
		// Concurrent token requests with one authorization code: exactly
		// one redeems it, every other sees a replay of that redemption.
		st := open(t, store.Options{})
		ctx := t.Context()
		withCodeFixture(t, st, "code")
		now := func(i int) time.Time { return at(time.Duration(i+1) * time.Second) }
		got := make([]store.AuthCode, goroutines)
		errs := race(goroutines, nil, func(i int) error {
			var err error
			got[i], err = st.RedeemAuthCode(ctx, hash("code"), now(i))
			return err
		})
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Errorf("goroutines %d and %d both redeemed the code", winner, i)
			case err == nil:
				winner = i
			case !errors.Is(err, store.ErrCodeReplayed):
				t.Errorf("goroutine %d: RedeemAuthCode(code) = %v, want nil or %v", i, err, store.ErrCodeReplayed)
			}
		}
		if winner < 0 {
			t.Fatalf("concurrent redemptions that succeeded: none, want 1")
		}
		if !ms(got[winner].RedeemedAt).Equal(ms(now(winner))) || !got[winner].ReplayedAt.IsZero() {
			t.Errorf("the redemption = RedeemedAt %v, ReplayedAt %v, want %v, zero", got[winner].RedeemedAt, got[winner].ReplayedAt, now(winner))
		}
		var replayedAt time.Time
		for i, c := range got {
			if i == winner || !errors.Is(errs[i], store.ErrCodeReplayed) {
				continue
			}
			if !ms(c.RedeemedAt).Equal(ms(now(winner))) {
				t.Errorf("goroutine %d: replay = RedeemedAt %v, want the redemption's %v", i, c.RedeemedAt, now(winner))
			}
			switch {
			case c.ReplayedAt.IsZero():
				t.Errorf("goroutine %d: replay = no ReplayedAt, want the first replay's", i)
			case replayedAt.IsZero():
				replayedAt = c.ReplayedAt
			case !c.ReplayedAt.Equal(replayedAt):
				t.Errorf("goroutine %d: replay = ReplayedAt %v, want the first replay's %v", i, c.ReplayedAt, replayedAt)
			}
		}
	})

	t.Run("AuthCodeBindMeetsReplay", func(t *testing.T) {
		// A replay racing the binding of the redemption's session: either
		// the replay names the session or the binding reports the
		// replay, so that the session is revoked either way.
		st := open(t, store.Options{})
		ctx := t.Context()
		withCodeFixture(t, st, "code")
		_, err := st.RedeemAuthCode(ctx, hash("code"), at(time.Second))
		must(t, "RedeemAuthCode(code)", err)
		got := make([]store.AuthCode, goroutines)
		errs := race(goroutines, nil, func(i int) error {
			if i == 0 {
				return st.BindAuthCode(ctx, hash("code"), "s1")
			}
			var err error
			got[i], err = st.RedeemAuthCode(ctx, hash("code"), at(2*time.Second))
			return err
		})
		bindSawReplay := false
		switch err := errs[0]; {
		case errors.Is(err, store.ErrCodeReplayed):
			bindSawReplay = true
		case err != nil:
			t.Errorf("BindAuthCode(code, s1) = %v, want nil or %v", err, store.ErrCodeReplayed)
		}
		replaySawSession := false
		for i := 1; i < goroutines; i++ {
			wantErr(t, fmt.Sprintf("goroutine %d: RedeemAuthCode(code)", i), errs[i], store.ErrCodeReplayed)
			switch got[i].SessionID {
			case "s1":
				replaySawSession = true
			case "":
			default:
				t.Errorf("goroutine %d: replay = SessionID %q, want s1 or none", i, got[i].SessionID)
			}
		}
		if !bindSawReplay && !replaySawSession {
			t.Errorf("neither BindAuthCode nor any of %d replays learnt that session s1 must be revoked", goroutines-1)
		}
	})

	t.Run("CreateUserSameEmailOnce", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		errs := race(goroutines, nil, func(i int) error {
			return st.CreateUser(ctx, newUser(fmt.Sprint("u", i), "alice@example.com", at(0)))
		})
		created := 0
		for i, err := range errs {
			switch {
			case err == nil:
				created++
			case !errors.Is(err, store.ErrConflict):
				t.Errorf("goroutine %d: CreateUser(u%d, alice@example.com) = %v, want nil or %v", i, i, err, store.ErrConflict)
			}
		}
		if created != 1 {
			t.Errorf("concurrent creations that succeeded: %d, want 1", created)
		}
		if us, err := st.ListUsers(ctx); err != nil || len(us) != 1 {
			t.Errorf("ListUsers() = %d users, %v, want 1, nil", len(us), err)
		}
	})

	t.Run("ThrottleLosesNoIncrement", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		errs := race(goroutines, nil, func(i int) error {
			_, err := st.UpdateThrottle(ctx, "ip:192.0.2.1", func(th store.Throttle) (store.Throttle, error) {
				return fail(th, at(time.Duration(i)*time.Second)), nil
			})
			return err
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("goroutine %d: UpdateThrottle(fail) = %v, want nil", i, err)
			}
		}
		if got := peekThrottle(t, st, "ip:192.0.2.1"); got.Failures != goroutines {
			t.Errorf("throttle after %d concurrent failures = %d failures, want %d", goroutines, got.Failures, goroutines)
		}
	})

	t.Run("RevocationFeedHasNoGaps", func(t *testing.T) {
		// The revocation feed hands out records after the last Seq a
		// reader saw. That is only complete if a record never becomes
		// visible after one with a higher Seq, that is, if Seq order is
		// commit order. Writers add records both directly and by revoking
		// sessions while a reader follows the feed.
		const writers, perWriter = 20, 10
		st := open(t, store.Options{})
		ctx := t.Context()
		withUsers(t, st, "u1")
		for w := range writers {
			withSessions(t, st, newSession(fmt.Sprint("s", w), "u1", at(0)))
		}

		var writing atomic.Bool
		writing.Store(true)
		type seen struct {
			list []store.Revocation
			err  error
		}
		result := make(chan seen)
		go func() {
			var s seen
			var last int64
			for {
				finished := !writing.Load()
				rs, err := st.RevocationsSince(ctx, last, 7)
				if err != nil {
					s.err = err
					break
				}
				for _, r := range rs {
					if r.Seq <= last {
						s.err = fmt.Errorf("RevocationsSince(%d, 7) returned Seq %d", last, r.Seq)
						break
					}
					last = r.Seq
				}
				s.list = append(s.list, rs...)
				if s.err != nil || finished && len(rs) == 0 {
					break
				}
			}
			result <- s
		}()

		added := make([][]int64, writers)
		errs := race(writers, nil, func(w int) error {
			for i := range perWriter {
				seq, err := st.AddRevocation(ctx, newRevocation(fmt.Sprintf("jti-%d-%d", w, i), at(0), at(time.Hour)))
				if err != nil {
					return err
				}
				added[w] = append(added[w], seq)
				if i == perWriter/2 {
					_, err := st.UpdateSession(ctx, fmt.Sprint("s", w), func(s store.Session) (store.Session, error) {
						s.RevokedAt, s.RevokeReason = at(time.Minute), store.ReasonLogout
						return s, nil
					})
					if err != nil {
						return err
					}
				}
			}
			return nil
		})
		writing.Store(false)
		got := <-result

		for w, err := range errs {
			if err != nil {
				t.Errorf("writer %d: %v, want nil", w, err)
			}
		}
		if got.err != nil {
			t.Fatalf("reader: %v", got.err)
		}
		all := allRevocations(t, st)
		if want := writers * (perWriter + 1); len(all) != want {
			t.Errorf("revocations recorded = %d, want %d", len(all), want)
		}
		if !sameAll(normRevocation, got.list, all) {
			t.Errorf("reader following the feed saw %d records, want all %d in Seq order", len(got.list), len(all))
		}
		inFeed := make(map[int64]bool)
		for _, r := range got.list {
			inFeed[r.Seq] = true
		}
		for w, seqs := range added {
			for _, seq := range seqs {
				if !inFeed[seq] {
					t.Errorf("writer %d: Seq %d from AddRevocation never seen by the reader", w, seq)
				}
			}
		}
	})

	t.Run("RevokeUserEndsEverySessionBefore", func(t *testing.T) {
		// RevokeUser ending sessions races logins (CreateSession) and
		// refreshes (UpdateSession) of the same user. Every session that
		// existed when RevokeUser was called ends revoked, at its time and
		// for its reason, whatever the interleaving; no refresh is lost or
		// undoes the revocation; and the count it returns is what it did.
		// (A session created after it was called may end either way.)
		const existing, workers, rounds = 10, 20, 5
		st := open(t, store.Options{})
		ctx := t.Context()
		withUsers(t, st, "u1")
		for i := range existing {
			withSessions(t, st, newSession(fmt.Sprint("p", i), "u1", at(0)))
		}
		revokeAt := at(time.Hour)
		errEnded := errors.New("storetest: session ended")

		var (
			started   atomic.Bool // RevokeUser has been called
			ops       atomic.Int64
			finished  atomic.Int64
			once      sync.Once
			halfway   = make(chan struct{})
			rotations = make([]atomic.Int64, existing)
			created   = make([][]string, workers)
			before    = make([][]string, workers) // created before RevokeUser was called
			revokedN  int
		)
		start := func() { once.Do(func() { close(halfway) }) }
		errs := race(workers+1, nil, func(w int) error {
			if w == workers {
				<-halfway
				started.Store(true)
				var err error
				_, revokedN, err = st.RevokeUser(ctx, "u1", store.ReasonPasswordChange, revokeAt, true, nil)
				return err
			}
			defer func() {
				if finished.Add(1) == workers {
					start()
				}
			}()
			for i := range rounds {
				id := fmt.Sprintf("w%d-%d", w, i)
				if err := st.CreateSession(ctx, newSession(id, "u1", at(time.Duration(i)*time.Second))); err != nil {
					return err
				}
				created[w] = append(created[w], id)
				if !started.Load() {
					before[w] = append(before[w], id)
				}
				p := (w + i) % existing
				_, err := st.UpdateSession(ctx, fmt.Sprint("p", p), func(s store.Session) (store.Session, error) {
					if !s.RevokedAt.IsZero() {
						return s, errEnded
					}
					s.PrevHash, s.TokenHash = s.TokenHash, hash(fmt.Sprintf("p%d rotated by %s", p, id))
					s.Generation++
					return s, nil
				})
				switch {
				case err == nil:
					rotations[p].Add(1)
				case err != errEnded:
					return err
				}
				if ops.Add(1) == workers*rounds/2 {
					start()
				}
			}
			return nil
		})
		for w, err := range errs {
			if err != nil {
				t.Errorf("goroutine %d: %v, want nil", w, err)
			}
		}

		mustRevoked := make(map[string]bool)
		var all []string
		for i := range existing {
			id := fmt.Sprint("p", i)
			all = append(all, id)
			mustRevoked[id] = true
		}
		for w := range workers {
			all = append(all, created[w]...)
			for _, id := range before[w] {
				mustRevoked[id] = true
			}
		}
		revoked := 0
		for _, id := range all {
			s, err := st.SessionByID(ctx, id)
			if err != nil {
				t.Errorf("SessionByID(%s) = %v, want nil", id, err)
				continue
			}
			switch {
			case s.RevokedAt.IsZero():
				if mustRevoked[id] {
					t.Errorf("SessionByID(%s) after RevokeUser(u1, endSessions) = not revoked, want revoked (it existed before)", id)
				}
			case !ms(s.RevokedAt).Equal(ms(revokeAt)) || s.RevokeReason != store.ReasonPasswordChange:
				t.Errorf("SessionByID(%s) = revoked at %v for %q, want at %v for %q", id, s.RevokedAt, s.RevokeReason, revokeAt, store.ReasonPasswordChange)
			default:
				revoked++
			}
		}
		if revokedN != revoked {
			t.Errorf("RevokeUser(u1, endSessions) = %d sessions revoked, want %d (the revoked sessions stored)", revokedN, revoked)
		}
		for i := range existing {
			id := fmt.Sprint("p", i)
			s, err := st.SessionByID(ctx, id)
			if want := rotations[i].Load(); err != nil || s.Generation != want {
				t.Errorf("SessionByID(%s) = Generation %d, %v, want %d (its successful rotations), nil", id, s.Generation, err, want)
			}
		}
		var rotated int64
		for i := range existing {
			rotated += rotations[i].Load()
		}
		t.Logf("RevokeUser(u1) raced: %d of %d rotations done before it, %d sessions revoked", rotated, workers*rounds, revokedN)
		checkRevocations(t, st, 0, "RevokeUser(u1) racing sessions",
			subjectRevocation("u1", store.ReasonPasswordChange, revokeAt, store.DefaultRevocationTTL))
	})
}
