package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/groupcommit"
)

// groupSessions creates user u1 and the sessions s1, ..., sn of it, the
// token hash of si being "hi", and a log of the transactions that update
// sessions: txLog reads it.
func groupSessions(t testing.TB, db *DB, n int) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	if err := db.CreateUser(ctx, store.User{ID: "u1", Email: "u1@example.com", PasswordHash: "x", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= n; i++ {
		s := store.Session{ID: fmt.Sprint("s", i), UserID: "u1", TokenHash: fmt.Append(nil, "h", i),
			CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := db.CreateSession(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	_, err := db.pool.Exec(ctx, `CREATE TABLE tx_log (id text NOT NULL, xid bigint NOT NULL);
		CREATE FUNCTION log_tx() RETURNS trigger LANGUAGE plpgsql AS
			$$BEGIN INSERT INTO tx_log VALUES (NEW.id, txid_current()); RETURN NEW; END$$;
		CREATE TRIGGER sessions_tx_log AFTER UPDATE ON sessions FOR EACH ROW EXECUTE FUNCTION log_tx()`)
	if err != nil {
		t.Fatalf("creating the transaction log: %v", err)
	}
}

// txLog returns, for each session updated, the transactions that updated
// it, in order.
func txLog(t *testing.T, db *DB) map[string][]int64 {
	t.Helper()
	rows, err := db.pool.Query(t.Context(), `SELECT id, xid FROM tx_log ORDER BY xid`)
	if err != nil {
		t.Fatalf("reading the transaction log: %v", err)
	}
	log := make(map[string][]int64)
	var (
		id  string
		xid int64
	)
	_, err = pgx.ForEachRow(rows, []any{&id, &xid}, func() error {
		log[id] = append(log[id], xid)
		return nil
	})
	if err != nil {
		t.Fatalf("reading the transaction log: %v", err)
	}
	return log
}

// rotate is an update function that rotates the session's token to
// token, counting its calls in calls if not nil.
func rotate(token string, calls *atomic.Int32) func(store.Session) (store.Session, error) {
	return func(s store.Session) (store.Session, error) {
		if calls != nil {
			calls.Add(1)
		}
		s.PrevHash, s.TokenHash = s.TokenHash, []byte(token)
		s.Generation++
		return s, nil
	}
}

// newOp is a member for commitGroup, as UpdateSession makes it.
func newOp(ctx context.Context, id string, fn func(store.Session) (store.Session, error)) *groupOp {
	op := &groupOp{id: id, fn: func(s store.Session, _ store.User) (store.Session, error) { return fn(s) }}
	op.Init(ctx)
	return op
}

// session reads the session id.
func session(t *testing.T, db *DB, id string) store.Session {
	t.Helper()
	s, err := db.SessionByID(t.Context(), id)
	if err != nil {
		t.Fatalf("SessionByID(%s) = %v, want nil", id, err)
	}
	return s
}

// holdCommitter queues an update of session id for the committer, whose
// function waits until release is called, so that the updates that
// follow queue for the committer meanwhile. Its error arrives on done.
func holdCommitter(t *testing.T, db *DB, id string) (release func(), done <-chan error) {
	t.Helper()
	entered, wait := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	db.updates.Add(1) // under way, so that the next updates queue too
	go func() {
		defer db.updates.Add(-1)
		errc <- db.queue(newOp(context.Background(), id, func(s store.Session) (store.Session, error) {
			close(entered)
			<-wait
			s.Generation++
			return s, nil
		}))
	}()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the holding update did not start within 10 s")
	}
	var once sync.Once
	release = func() { once.Do(func() { close(wait) }) }
	t.Cleanup(release)
	return release, errc
}

func TestGroupRotationsOfDistinctSessions(t *testing.T) {
	db, _ := openTest(t, Options{})
	const sessions, rounds = 32, 10
	groupSessions(t, db, sessions)
	var wg sync.WaitGroup
	errs := make(chan error, sessions*rounds)
	for i := 1; i <= sessions; i++ {
		wg.Go(func() {
			id := fmt.Sprint("s", i)
			for r := range rounds {
				s, err := db.UpdateSession(t.Context(), id, rotate(fmt.Sprintf("t%d-%d", i, r), nil))
				if err != nil {
					errs <- fmt.Errorf("UpdateSession(%s) round %d = %v, want nil", id, r, err)
					return
				}
				if s.Generation != int64(r+1) || string(s.TokenHash) != fmt.Sprintf("t%d-%d", i, r) {
					errs <- fmt.Errorf("UpdateSession(%s) round %d = generation %d, token %q, want %d, t%d-%d", id, r, s.Generation, s.TokenHash, r+1, i, r)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	xids := make(map[int64]bool)
	for i := 1; i <= sessions; i++ {
		id := fmt.Sprint("s", i)
		if s := session(t, db, id); s.Generation != rounds {
			t.Errorf("SessionByID(%s).Generation = %d, want %d", id, s.Generation, rounds)
		}
		for _, xid := range txLog(t, db)[id] {
			xids[xid] = true
		}
	}
	// 32 callers at once on 2 CPUs: they cannot all have waited alone.
	if len(xids) >= sessions*rounds*3/4 {
		t.Errorf("%d rotations committed in %d transactions, want groups", sessions*rounds, len(xids))
	}
	t.Logf("%d rotations committed in %d transactions", sessions*rounds, len(xids))
}

// TestGroupRotationsOfOneSessionHaveOneWinner queues many rotations of one
// token behind a busy committer, so that they commit in one group:
// exactly one must rotate the session, and every other must see its
// result.
func TestGroupRotationsOfOneSessionHaveOneWinner(t *testing.T) {
	db, _ := openTest(t, Options{})
	groupSessions(t, db, 2)
	errStale := errors.New("token already rotated")
	const n = 64
	release, held := holdCommitter(t, db, "s2")
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = db.UpdateSession(t.Context(), "s1", func(s store.Session) (store.Session, error) {
				if !bytes.Equal(s.TokenHash, []byte("h1")) {
					return s, errStale
				}
				return rotate(fmt.Sprint("t1-by-", i), nil)(s)
			})
		})
	}
	time.Sleep(100 * time.Millisecond) // let them queue
	release()
	wg.Wait()
	if err := <-held; err != nil {
		t.Errorf("UpdateSession(s2) holding the committer = %v, want nil", err)
	}
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && winner >= 0:
			t.Errorf("rotations %d and %d both succeeded, want one", winner, i)
		case err == nil:
			winner = i
		case err != errStale:
			t.Errorf("rotation %d = %v, want nil or %v as is", i, err, errStale)
		}
	}
	if winner < 0 {
		t.Fatalf("no rotation succeeded, want one")
	}
	s := session(t, db, "s1")
	if s.Generation != 1 || string(s.PrevHash) != "h1" || string(s.TokenHash) != fmt.Sprint("t1-by-", winner) {
		t.Errorf("SessionByID(s1) = generation %d, previous %q, token %q, want 1, h1, t1-by-%d", s.Generation, s.PrevHash, s.TokenHash, winner)
	}
	if log := txLog(t, db)["s1"]; len(log) != 1 {
		t.Errorf("transactions that updated s1 = %v, want one", log)
	}
}

// TestGroupRefusalKeepsOthers: members that refuse in the middle of a
// group, by their function's error or a session that does not exist,
// write nothing and get their error; the others commit together.
func TestGroupRefusalKeepsOthers(t *testing.T) {
	db, _ := openTest(t, Options{})
	groupSessions(t, db, 3)
	ctx := t.Context()
	errNo := errors.New("no")
	var calls atomic.Int32
	a, c := newOp(ctx, "s1", rotate("t1", &calls)), newOp(ctx, "s3", rotate("t3", &calls))
	no := newOp(ctx, "s2", func(store.Session) (store.Session, error) { return store.Session{}, errNo })
	missing := newOp(ctx, "s9", rotate("t9", &calls))
	db.commitGroup([]*groupOp{a, no, missing, c})

	if a.Err != nil || c.Err != nil {
		t.Errorf("rotations of s1 and s3 = %v, %v, want nil, nil", a.Err, c.Err)
	}
	if no.Err != errNo {
		t.Errorf("refusing member = %v, want %v as is", no.Err, errNo)
	}
	if !errors.Is(missing.Err, store.ErrNotFound) || !strings.HasPrefix(fmt.Sprint(missing.Err), "postgres: update session: ") {
		t.Errorf("member of a missing session = %v, want postgres: update session: %v", missing.Err, store.ErrNotFound)
	}
	if n := calls.Load(); n != 2 {
		t.Errorf("update functions of s1, s3, s9 called %d times, want 2", n)
	}
	if s := session(t, db, "s1"); string(s.TokenHash) != "t1" || a.out.Generation != 1 || string(a.out.TokenHash) != "t1" {
		t.Errorf("s1 after the group = token %q, returned %+v, want t1", s.TokenHash, a.out)
	}
	if s := session(t, db, "s2"); string(s.TokenHash) != "h2" || s.Generation != 0 {
		t.Errorf("s2 after its refusal = token %q, generation %d, want h2, 0", s.TokenHash, s.Generation)
	}
	log := txLog(t, db)
	if len(log["s1"]) != 1 || len(log["s3"]) != 1 || log["s1"][0] != log["s3"][0] || len(log["s2"]) != 0 {
		t.Errorf("transactions that updated s1, s2, s3 = %v, %v, %v, want one shared by s1 and s3, none for s2", log["s1"], log["s2"], log["s3"])
	}
}

// TestGroupMembersGetTheirUsers: each member of a group gets the user
// of its own session, read in the group's transaction, as its function
// saw it and as UpdateSessionUser returns it.
func TestGroupMembersGetTheirUsers(t *testing.T) {
	db, _ := openTest(t, Options{})
	groupSessions(t, db, 2)
	ctx := t.Context()
	now := time.Now()
	u2 := store.User{ID: "u2", Email: "u2@example.com", PasswordHash: "x", Roles: []string{"auditor"}, Disabled: true, CreatedAt: now, UpdatedAt: now}
	if err := db.CreateUser(ctx, u2); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateSession(ctx, store.Session{ID: "s3", UserID: "u2", TokenHash: []byte("h3"), CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	seen := make(map[string]store.User)
	op := func(id string) *groupOp {
		o := &groupOp{id: id, fn: func(s store.Session, u store.User) (store.Session, error) {
			seen[id] = u
			s.Generation++
			return s, nil
		}}
		o.Init(ctx)
		return o
	}
	a, b, c := op("s1"), op("s3"), op("s2")
	db.commitGroup([]*groupOp{a, b, c})

	for _, tc := range []struct {
		op           *groupOp
		session      string
		user         string
		roles        []string
		wantDisabled bool
	}{
		{a, "s1", "u1", nil, false},
		{b, "s3", "u2", []string{"auditor"}, true},
		{c, "s2", "u1", nil, false},
	} {
		got := tc.op.user
		if tc.op.Err != nil || got.ID != tc.user || !slices.Equal(got.Roles, tc.roles) || got.Disabled != tc.wantDisabled {
			t.Errorf("member of %s = user %+v, %v; want %s (roles %v, disabled %v), nil", tc.session, got, tc.op.Err, tc.user, tc.roles, tc.wantDisabled)
		}
		if seen[tc.session].ID != tc.user {
			t.Errorf("update function of %s saw user %q, want %q", tc.session, seen[tc.session].ID, tc.user)
		}
	}
	log := txLog(t, db)
	if len(log["s1"]) != 1 || len(log["s3"]) != 1 || log["s1"][0] != log["s3"][0] || log["s2"][0] != log["s1"][0] {
		t.Errorf("transactions that updated s1, s2, s3 = %v, %v, %v, want one for all", log["s1"], log["s2"], log["s3"])
	}
}

// TestGroupFailureRunsMembersAlone: a member whose write fails (here a
// unique constraint) rolls the group back; every member then runs alone,
// so that the others commit and the failing one gets its error.
func TestGroupFailureRunsMembersAlone(t *testing.T) {
	db, _ := openTest(t, Options{})
	groupSessions(t, db, 4)
	ctx := t.Context()
	var calls atomic.Int32
	a, c := newOp(ctx, "s1", rotate("t1", &calls)), newOp(ctx, "s3", rotate("t3", &calls))
	dup := newOp(ctx, "s2", rotate("h4", nil)) // the token of s4
	db.commitGroup([]*groupOp{a, dup, c})

	if a.Err != nil || c.Err != nil {
		t.Errorf("rotations of s1 and s3 = %v, %v, want nil, nil", a.Err, c.Err)
	}
	if !errors.Is(dup.Err, store.ErrConflict) || !strings.HasPrefix(fmt.Sprint(dup.Err), "postgres: update session: ") {
		t.Errorf("rotation of s2 to the token of s4 = %v, want postgres: update session: ... %v", dup.Err, store.ErrConflict)
	}
	if n := calls.Load(); n != 4 {
		t.Errorf("update functions of s1 and s3 called %d times, want 4 (in the group, then alone)", n)
	}
	for id, want := range map[string]string{"s1": "t1", "s2": "h2", "s3": "t3", "s4": "h4"} {
		if s := session(t, db, id); string(s.TokenHash) != want {
			t.Errorf("%s after the group = token %q, want %q", id, s.TokenHash, want)
		}
	}
	log := txLog(t, db)
	if len(log["s1"]) != 1 || len(log["s3"]) != 1 || log["s1"][0] == log["s3"][0] || len(log["s2"]) != 0 {
		t.Errorf("transactions that updated s1, s2, s3 = %v, %v, %v, want one each for s1 and s3, none for s2", log["s1"], log["s2"], log["s3"])
	}
	// The committer goes on.
	if _, err := db.UpdateSession(ctx, "s2", rotate("t2", nil)); err != nil {
		t.Errorf("UpdateSession(s2) after the failed group = %v, want nil", err)
	}
}

// TestGroupDeadlockRetried: a member aborted as a deadlock rolls the group
// back; run alone, it is retried as every write is, and commits.
func TestGroupDeadlockRetried(t *testing.T) {
	db, _ := openTest(t, Options{})
	groupSessions(t, db, 3)
	ctx := t.Context()
	// The first two updates of s2 fail as deadlocks: a sequence is not
	// rolled back.
	_, err := db.pool.Exec(ctx, `CREATE SEQUENCE deadlocks;
		CREATE FUNCTION deadlock() RETURNS trigger LANGUAGE plpgsql AS
			$$BEGIN IF NEW.id = 's2' AND nextval('deadlocks') <= 2 THEN
				RAISE EXCEPTION 'test deadlock' USING ERRCODE = '40P01'; END IF; RETURN NEW; END$$;
		CREATE TRIGGER sessions_deadlock BEFORE UPDATE ON sessions FOR EACH ROW EXECUTE FUNCTION deadlock()`)
	if err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int32
	a, c := newOp(ctx, "s1", rotate("t1", nil)), newOp(ctx, "s3", rotate("t3", nil))
	b := newOp(ctx, "s2", rotate("t2", &calls))
	db.commitGroup([]*groupOp{a, b, c})
	for _, op := range []*groupOp{a, b, c} {
		if op.Err != nil {
			t.Errorf("UpdateSession(%s) = %v, want nil", op.id, op.Err)
		}
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("update function of s2 called %d times, want 3 (group, then alone twice)", n)
	}
	for id, want := range map[string]string{"s1": "t1", "s2": "t2", "s3": "t3"} {
		if s := session(t, db, id); string(s.TokenHash) != want || s.Generation != 1 {
			t.Errorf("%s after the group = token %q, generation %d, want %q, 1", id, s.TokenHash, s.Generation, want)
		}
	}
}

// TestGroupCommitsAtomically: a COMMIT that fails (here on a deferred
// constraint trigger) fails every member that was to write, and writes
// nothing.
func TestGroupCommitsAtomically(t *testing.T) {
	db, _ := openTest(t, Options{})
	groupSessions(t, db, 3)
	ctx := t.Context()
	_, err := db.pool.Exec(ctx, `CREATE FUNCTION no_boom() RETURNS trigger LANGUAGE plpgsql AS
			$$BEGIN IF NEW.token_hash = 'boom' THEN RAISE EXCEPTION 'test: boom at commit'; END IF; RETURN NULL; END$$;
		CREATE CONSTRAINT TRIGGER sessions_no_boom AFTER UPDATE ON sessions
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION no_boom()`)
	if err != nil {
		t.Fatal(err)
	}
	errNo := errors.New("no")
	a, boom := newOp(ctx, "s1", rotate("t1", nil)), newOp(ctx, "s2", rotate("boom", nil))
	no := newOp(ctx, "s3", func(store.Session) (store.Session, error) { return store.Session{}, errNo })
	db.commitGroup([]*groupOp{a, boom, no})
	for _, op := range []*groupOp{a, boom} {
		if op.Err == nil || !strings.Contains(op.Err.Error(), "boom at commit") {
			t.Errorf("UpdateSession(%s) in a group whose COMMIT failed = %v, want the COMMIT's error", op.id, op.Err)
		}
	}
	if no.Err != errNo {
		t.Errorf("refusing member of a group whose COMMIT failed = %v, want its own %v", no.Err, errNo)
	}
	for id, want := range map[string]string{"s1": "h1", "s2": "h2"} {
		if s := session(t, db, id); string(s.TokenHash) != want {
			t.Errorf("%s after a failed COMMIT = token %q, want %q", id, s.TokenHash, want)
		}
	}
	// The connection went back to the pool usable, or was closed.
	if _, err := db.UpdateSession(ctx, "s1", rotate("t1", nil)); err != nil {
		t.Errorf("UpdateSession(s1) after the failed group = %v, want nil", err)
	}
}

// TestGroupRevocation: the revocations that members record are written in
// the group's transaction, once per newly revoked session, and Notify is
// called once for the group.
func TestGroupRevocation(t *testing.T) {
	c := newCounter()
	db, _ := openTest(t, Options{Options: store.Options{Notify: c.notify}})
	groupSessions(t, db, 3)
	ctx := t.Context()
	at := time.Now()
	revoke := func(reason store.Reason) func(store.Session) (store.Session, error) {
		return func(s store.Session) (store.Session, error) {
			s.RevokedAt, s.RevokeReason = at, reason
			return s, nil
		}
	}
	r1, r2 := newOp(ctx, "s1", revoke(store.ReasonLogout)), newOp(ctx, "s2", revoke(store.ReasonReuse))
	again := newOp(ctx, "s1", revoke(store.ReasonReuse)) // already revoked by r1
	plain := newOp(ctx, "s3", rotate("t3", nil))
	before := c.n.Load()
	db.commitGroup([]*groupOp{r1, plain, r2, again})
	if got := c.n.Load() - before; got != 1 {
		t.Errorf("Notify calls for a group with revocations = %d, want 1", got)
	}
	for _, op := range []*groupOp{r1, r2, again, plain} {
		if op.Err != nil {
			t.Errorf("UpdateSession(%s) in the group = %v, want nil", op.id, op.Err)
		}
	}
	if !r1.revoked || !r2.revoked || again.revoked || plain.revoked {
		t.Errorf("members that recorded a revocation: %v %v %v %v, want true true false false", r1.revoked, r2.revoked, again.revoked, plain.revoked)
	}
	if again.out.RevokeReason != store.ReasonLogout {
		t.Errorf("second revocation of s1 returned reason %q, want the first's, %q", again.out.RevokeReason, store.ReasonLogout)
	}
	rs, err := db.RevocationsSince(ctx, 0, 10)
	if err != nil || len(rs) != 2 || rs[0].Subject != "s1" || rs[0].Reason != store.ReasonLogout || rs[1].Subject != "s2" {
		t.Fatalf("RevocationsSince(0) = %+v, %v, want s1 (logout), s2", rs, err)
	}
	// One transaction wrote both sessions and both records.
	var n int
	err = db.pool.QueryRow(ctx, `SELECT count(DISTINCT x) FROM (
		SELECT xmin::text AS x FROM sessions WHERE id IN ('s1', 's2', 's3')
		UNION ALL SELECT xmin::text FROM revocations) AS t`).Scan(&n)
	if err != nil || n != 1 {
		t.Errorf("transactions that wrote the sessions and revocations = %d, %v, want 1, nil", n, err)
	}

	// A group without a revocation does not notify.
	before = c.n.Load()
	db.commitGroup([]*groupOp{newOp(ctx, "s3", rotate("t3b", nil))})
	if got := c.n.Load() - before; got != 0 {
		t.Errorf("Notify calls for a group without revocations = %d, want 0", got)
	}
}

func TestGroupAbandonedWhileQueued(t *testing.T) {
	db, _ := openTest(t, Options{})
	groupSessions(t, db, 2)
	release, held := holdCommitter(t, db, "s1")
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	var calls atomic.Int32
	_, err := db.UpdateSession(ctx, "s2", rotate("t2", &calls))
	if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(fmt.Sprint(err), "postgres: update session: ") {
		t.Errorf("UpdateSession(ctx that expires while queued) = %v, want postgres: update session: %v", err, context.DeadlineExceeded)
	}
	release()
	if err := <-held; err != nil {
		t.Errorf("UpdateSession(s1) holding the committer = %v, want nil", err)
	}
	// The committer has taken the abandoned update with the next group,
	// if at all, by the time a later one commits.
	if _, err := db.UpdateSession(t.Context(), "s1", rotate("t1", nil)); err != nil {
		t.Errorf("UpdateSession(s1) after = %v, want nil", err)
	}
	if s := session(t, db, "s2"); string(s.TokenHash) != "h2" || calls.Load() != 0 {
		t.Errorf("s2 after its abandoned update = token %q, function called %d times, want h2, 0", s.TokenHash, calls.Load())
	}
}

// TestGroupClose: Close lets the group being committed finish, fails the
// updates still queued, and every update after it.
func TestGroupClose(t *testing.T) {
	db, dsn := openTest(t, Options{})
	groupSessions(t, db, 9)
	release, held := holdCommitter(t, db, "s1")
	var (
		wg    sync.WaitGroup
		calls atomic.Int32
	)
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			_, errs[i] = db.UpdateSession(t.Context(), fmt.Sprint("s", i+2), rotate("t", &calls))
		})
	}
	time.Sleep(50 * time.Millisecond) // let them queue
	closed := make(chan error, 1)
	go func() { closed <- db.Close() }()
	wg.Wait() // the queued updates fail at once
	select {
	case err := <-closed:
		t.Fatalf("Close() = %v before the group being committed finished, want it to wait", err)
	default:
	}
	release()
	if err := <-held; err != nil {
		t.Errorf("UpdateSession(s1) being committed at Close = %v, want nil", err)
	}
	if err := <-closed; err != nil {
		t.Errorf("Close() = %v, want nil", err)
	}
	for i, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "closed") {
			t.Errorf("UpdateSession(s%d) queued at Close = %v, want a closed error", i+2, err)
		}
	}
	if calls.Load() != 0 {
		t.Errorf("update functions of the queued updates called %d times, want 0", calls.Load())
	}
	done := make(chan error, 1)
	go func() { _, err := db.UpdateSession(context.Background(), "s1", rotate("t", nil)); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Errorf("UpdateSession after Close = nil, want an error")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("UpdateSession after Close did not return within 5 s")
	}
	other := openDSN(t, dsn, Options{})
	if s, err := other.SessionByID(t.Context(), "s1"); err != nil || s.Generation != 1 {
		t.Errorf("s1 after Close = generation %d, %v, want 1, nil", s.Generation, err)
	}
	if s, err := other.SessionByID(t.Context(), "s2"); err != nil || s.Generation != 0 {
		t.Errorf("s2 after Close = generation %d, %v, want 0, nil", s.Generation, err)
	}
}

// TestGroupMemberPanics: a member that panics makes its own caller panic,
// and changes nothing; the other members commit and the committer goes on.
func TestGroupMemberPanics(t *testing.T) {
	db, _ := openTest(t, Options{})
	groupSessions(t, db, 3)
	ctx := t.Context()
	a, c := newOp(ctx, "s1", rotate("t1", nil)), newOp(ctx, "s3", rotate("t3", nil))
	boom := newOp(ctx, "s2", func(store.Session) (store.Session, error) { panic("boom") })
	db.commitGroup([]*groupOp{a, boom, c})
	if a.Err != nil || c.Err != nil {
		t.Errorf("rotations of s1 and s3 = %v, %v, want nil, nil", a.Err, c.Err)
	}
	if p, ok := boom.Err.(groupcommit.Panicked); !ok || p.V != "boom" {
		t.Errorf("panicking member = %v, want groupcommit.Panicked{boom}", boom.Err)
	}
	if s := session(t, db, "s1"); string(s.TokenHash) != "t1" {
		t.Errorf("s1 after the group = token %q, want t1", s.TokenHash)
	}

	// Through UpdateSession, the caller panics with the value.
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Errorf("UpdateSession(panicking function) recovered %v, want boom", v)
			}
		}()
		db.UpdateSession(ctx, "s2", func(store.Session) (store.Session, error) { panic("boom") })
	}()
	if _, err := db.UpdateSession(ctx, "s2", rotate("t2", nil)); err != nil {
		t.Errorf("UpdateSession(s2) after a panic = %v, want nil", err)
	}
	if s := session(t, db, "s2"); string(s.TokenHash) != "t2" || s.Generation != 1 {
		t.Errorf("s2 = token %q, generation %d, want t2, 1", s.TokenHash, s.Generation)
	}
}

// benchDB opens a new, migrated store in a schema of its own, dropped
// when the benchmark ends, with user u1 and sessions s1, ..., sn.
func benchDB(b *testing.B, sessions int) *DB {
	b.Helper()
	base := os.Getenv(dsnVar)
	if base == "" {
		b.Skip(dsnVar + " is not set")
	}
	ctx := context.Background()
	schema := randomName("latch_bench_")
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			b.Error(err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			b.Error(err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		b.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	db, err := Open(ctx, u.String(), Options{Migrate: true})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	now := time.Now()
	if err := db.CreateUser(ctx, store.User{ID: "u1", Email: "u1@example.com", PasswordHash: "x", CreatedAt: now, UpdatedAt: now}); err != nil {
		b.Fatal(err)
	}
	for i := 1; i <= sessions; i++ {
		s := store.Session{ID: fmt.Sprint("s", i), UserID: "u1", TokenHash: fmt.Append(nil, "h", i),
			CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}
		if err := db.CreateSession(ctx, s); err != nil {
			b.Fatal(err)
		}
	}
	return db
}

// BenchmarkRotate is one refresh rotation at a time: a group of one, the
// latency grouping must not add to.
func BenchmarkRotate(b *testing.B) {
	db := benchDB(b, 1)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := db.UpdateSession(ctx, "s1", func(s store.Session) (store.Session, error) {
			s.Generation++
			s.LastUsedAt = time.Now()
			return s, nil
		}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRotateParallel is concurrent rotations of distinct sessions by
// c goroutines: those that group commit lets share transactions.
func BenchmarkRotateParallel(b *testing.B) {
	for _, c := range []int{8, 32} {
		b.Run(fmt.Sprint("c=", c), func(b *testing.B) {
			const sessions = 256
			db := benchDB(b, sessions)
			ctx := b.Context()
			var next atomic.Int64
			b.SetParallelism(max(1, c/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				id := fmt.Sprint("s", next.Add(1)%sessions+1)
				for pb.Next() {
					if _, err := db.UpdateSession(ctx, id, func(s store.Session) (store.Session, error) {
						s.Generation++
						s.LastUsedAt = time.Now()
						return s, nil
					}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
