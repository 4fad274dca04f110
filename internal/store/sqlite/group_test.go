package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/groupcommit"
)

// groupTable creates a table for the group tests' members to write.
func groupTable(t *testing.T, db *DB) {
	t.Helper()
	_, err := db.w.ExecContext(t.Context(), `CREATE TABLE grouped (k TEXT PRIMARY KEY);
		CREATE TABLE grouped_parent (k TEXT PRIMARY KEY);
		CREATE TABLE grouped_child (p TEXT REFERENCES grouped_parent (k) DEFERRABLE INITIALLY DEFERRED)`)
	if err != nil {
		t.Fatalf("creating the test tables: %v", err)
	}
}

// groupKeys returns the keys in the grouped table.
func groupKeys(t *testing.T, db *DB) []string {
	t.Helper()
	rows, err := db.r.QueryContext(t.Context(), `SELECT k FROM grouped ORDER BY k`)
	if err != nil {
		t.Fatalf("reading the grouped table: %v", err)
	}
	defer rows.Close()
	var ks []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatalf("reading the grouped table: %v", err)
		}
		ks = append(ks, k)
	}
	return ks
}

// member is a group member as a test builds it: run, and the
// transactions it ran in.
type member struct {
	op  *groupOp
	txs []*sql.Tx
}

func newMember(ctx context.Context, run func(ctx context.Context, tx *sql.Tx) error) *member {
	m := &member{}
	m.op = &groupOp{run: func(ctx context.Context, tx *sql.Tx) error {
		m.txs = append(m.txs, tx)
		return run(ctx, tx)
	}}
	m.op.Init(ctx)
	return m
}

func insert(k string) func(ctx context.Context, tx *sql.Tx) error {
	return func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO grouped (k) VALUES (?)`, k)
		return err
	}
}

// commit runs the members as one group, as the committer does with the
// operations it finds waiting.
func commit(db *DB, ms ...*member) {
	ops := make([]*groupOp, len(ms))
	for i, m := range ms {
		ops[i] = m.op
	}
	db.commitGroup(ops)
}

func TestGroupRefusalKeepsOthers(t *testing.T) {
	db, _ := openTemp(t, Options{})
	groupTable(t, db)
	ctx := t.Context()
	errNo := errors.New("no")
	a, c := newMember(ctx, insert("a")), newMember(ctx, insert("c"))
	no := newMember(ctx, func(context.Context, *sql.Tx) error { return refused{errNo} })
	commit(db, a, no, c)

	if a.op.Err != nil || c.op.Err != nil {
		t.Errorf("members inserting a and c = %v, %v, want nil, nil", a.op.Err, c.op.Err)
	}
	if r, ok := no.op.Err.(refused); !ok || r.err != errNo {
		t.Errorf("refusing member = %v, want refused{%v}", no.op.Err, errNo)
	}
	if len(a.txs) != 1 || len(c.txs) != 1 || len(no.txs) != 1 || a.txs[0] != c.txs[0] || a.txs[0] != no.txs[0] {
		t.Errorf("members ran in transactions %v, %v, %v, want one shared transaction each once", a.txs, no.txs, c.txs)
	}
	if got := groupKeys(t, db); fmt.Sprint(got) != "[a c]" {
		t.Errorf("rows after the group = %v, want [a c]", got)
	}
}

func TestGroupFailureRunsMembersAlone(t *testing.T) {
	db, _ := openTemp(t, Options{})
	groupTable(t, db)
	ctx := t.Context()
	a, c := newMember(ctx, insert("a")), newMember(ctx, insert("c"))
	// Half a change: the first insert succeeds, the second violates the
	// primary key.
	half := newMember(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := insert("x")(ctx, tx); err != nil {
			return err
		}
		return insert("a")(ctx, tx)
	})
	commit(db, a, half, c)

	if a.op.Err != nil || c.op.Err != nil {
		t.Errorf("members inserting a and c = %v, %v, want nil, nil", a.op.Err, c.op.Err)
	}
	if !errors.Is(storeError(half.op.Err), store.ErrConflict) {
		t.Errorf("member inserting x then a = %v, want %v", half.op.Err, store.ErrConflict)
	}
	if len(a.txs) != 2 || len(c.txs) != 1 || len(half.txs) != 2 || a.txs[0] != half.txs[0] || a.txs[1] == a.txs[0] {
		t.Errorf("members ran in transactions %v, %v, %v, want a group rolled back at the failure, then each alone", a.txs, half.txs, c.txs)
	}
	if got := groupKeys(t, db); fmt.Sprint(got) != "[a c]" {
		t.Errorf("rows after the group = %v, want [a c] (no half change)", got)
	}
}

func TestGroupCommitsAtomically(t *testing.T) {
	db, _ := openTemp(t, Options{})
	groupTable(t, db)
	ctx := t.Context()
	a, b := newMember(ctx, insert("a")), newMember(ctx, insert("b"))
	// A deferred foreign-key violation: the statement succeeds, COMMIT
	// fails.
	orphan := newMember(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO grouped_child (p) VALUES ('none')`)
		return err
	})
	commit(db, a, b, orphan)

	for name, m := range map[string]*member{"a": a, "b": b, "orphan": orphan} {
		if m.op.Err == nil {
			t.Errorf("member %s of a group whose commit failed = nil, want an error", name)
		}
	}
	if got := groupKeys(t, db); len(got) != 0 {
		t.Errorf("rows after a failed group commit = %v, want none", got)
	}
	// The writer connection is usable again.
	d := newMember(ctx, insert("d"))
	commit(db, d)
	if got := groupKeys(t, db); d.op.Err != nil || fmt.Sprint(got) != "[d]" {
		t.Errorf("a write after the failed group = %v, rows %v, want nil, [d]", d.op.Err, got)
	}
}

// holdWriter takes the writer connection until the returned function is
// called, so that writers queue meanwhile.
func holdWriter(t *testing.T, db *DB) (release func()) {
	t.Helper()
	conn, err := db.w.Conn(t.Context())
	if err != nil {
		t.Fatalf("taking the writer connection: %v", err)
	}
	var once sync.Once
	release = func() { once.Do(func() { conn.Close() }) }
	t.Cleanup(release)
	return release
}

func TestGroupAbandonedWhileQueued(t *testing.T) {
	db, _ := openTemp(t, Options{})
	groupTable(t, db)
	release := holdWriter(t, db)
	// The committer takes this one and waits for the connection; the
	// next one waits for the committer.
	first := make(chan error, 1)
	go func() { first <- db.group(t.Context(), insert("first")) }()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := db.group(ctx, insert("late")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("group(ctx that expires while queued) = %v, want %v", err, context.DeadlineExceeded)
	}
	release()
	if err := <-first; err != nil {
		t.Errorf("group(first) = %v, want nil", err)
	}
	if got := groupKeys(t, db); fmt.Sprint(got) != "[first]" {
		t.Errorf("rows = %v, want [first] (not the abandoned write)", got)
	}
}

// TestGroupedRotationsHaveOneWinner queues many rotations of one token
// behind a held writer, so that they commit in groups: exactly one must
// rotate the session.
func TestGroupedRotationsHaveOneWinner(t *testing.T) {
	db, _ := openTemp(t, Options{})
	ctx := t.Context()
	now := time.Now()
	if err := db.CreateUser(ctx, store.User{ID: "u1", Email: "u1@example.com", PasswordHash: "x", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateSession(ctx, store.Session{ID: "s1", UserID: "u1", TokenHash: []byte("t0"), CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	errStale := errors.New("token already rotated")
	const n = 64
	release := holdWriter(t, db)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = db.UpdateSession(ctx, "s1", func(s store.Session) (store.Session, error) {
				if !bytes.Equal(s.TokenHash, []byte("t0")) {
					return s, errStale
				}
				s.PrevHash, s.TokenHash = s.TokenHash, fmt.Appendf(nil, "t1-by-%d", i)
				s.Generation++
				return s, nil
			})
		})
	}
	time.Sleep(50 * time.Millisecond) // let them queue
	release()
	wg.Wait()
	winners := 0
	for i, err := range errs {
		switch {
		case err == nil:
			winners++
		case err != errStale:
			t.Errorf("rotation %d = %v, want nil or %v as is", i, err, errStale)
		}
	}
	if winners != 1 {
		t.Errorf("rotations that succeeded: %d, want 1", winners)
	}
	if s, err := db.SessionByID(ctx, "s1"); err != nil || s.Generation != 1 {
		t.Errorf("SessionByID(s1) = Generation %d, %v, want 1, nil", s.Generation, err)
	}
}

// TestGroupMemberPanics: a member that panics makes its own caller panic,
// as a write did before group commit, and leaves no half change; the
// other members commit and the committer goes on.
func TestGroupMemberPanics(t *testing.T) {
	db, _ := openTemp(t, Options{})
	groupTable(t, db)
	ctx := t.Context()
	a, c := newMember(ctx, insert("a")), newMember(ctx, insert("c"))
	boom := newMember(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if err := insert("x")(ctx, tx); err != nil {
			return err
		}
		panic("boom")
	})
	commit(db, a, boom, c)
	if a.op.Err != nil || c.op.Err != nil {
		t.Errorf("members inserting a and c = %v, %v, want nil, nil", a.op.Err, c.op.Err)
	}
	if p, ok := boom.op.Err.(groupcommit.Panicked); !ok || p.V != "boom" {
		t.Errorf("panicking member = %v, want groupcommit.Panicked{boom}", boom.op.Err)
	}
	if got := groupKeys(t, db); fmt.Sprint(got) != "[a c]" {
		t.Errorf("rows after the group = %v, want [a c] (no half change)", got)
	}

	// Through group, the caller panics with the value.
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Errorf("group(panicking change) recovered %v, want boom", v)
			}
		}()
		db.group(ctx, func(context.Context, *sql.Tx) error { panic("boom") })
	}()
	if err := db.group(ctx, insert("d")); err != nil {
		t.Errorf("group(insert d) after a panic = %v, want nil", err)
	}
}
