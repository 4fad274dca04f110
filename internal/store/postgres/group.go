package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/groupcommit"
)

// Group commit of session updates.
//
// A refresh is one UpdateSessionUser (UpdateSession is the same without
// returning the user). Alone, it is a transaction of its own: BEGIN,
// SELECT ... FOR NO KEY UPDATE of the session, joined with its user,
// UPDATE, COMMIT, four round trips and one flush of the write-ahead log
// (synchronous_commit) each. Instead, one goroutine per DB, the committer
// (package groupcommit), takes every session update waiting when it is
// free (up to maxGroup), and commitGroup runs them in one transaction, in
// two round trips: BEGIN with one statement that locks all their
// sessions, in the order of their IDs, so that the groups of two nodes
// wait for one another rather than deadlock, and reads their users; then,
// once the members' update functions have run in memory, in the order
// they arrived, one UPDATE per changed session and the COMMIT, pipelined.
// A member sees the result of those before it on the same session, so
// that concurrent rotations of one session still have one winner. A
// group that revokes sessions records the revocations before its COMMIT,
// in a round trip each. The whole group takes one flush of the log.
//
// An update while no other is under way on the DB runs at once, in its
// caller's goroutine, in a transaction of its own, as does a group of
// one: it would share its transaction with no one, and the hand-over to
// the committer costs a lone refresh 10 to 20% of its latency
// (BenchmarkRotate).
//
// Each member keeps its own outcome. A member that refuses (its session
// does not exist, its update function returns an error or panics) has
// changed nothing, so the others go on and commit. A statement that fails
// (a constraint, a deadlock, a lock timeout, a broken connection) rolls
// the whole group back, and the committer runs every member again alone,
// in a transaction of its own, as without grouping, with its retries. A
// COMMIT that fails, or whose connection breaks, fails every member that
// had not refused: the group commits atomically or not at all.

// maxGroup bounds the members of one group transaction, and so the
// latency that the first member of a large group waits for the last.
const maxGroup = 128

// groupOp is one session update, a member of a group transaction.
type groupOp struct {
	groupcommit.Member
	id string
	fn func(store.Session, store.User) (store.Session, error)

	// The outcome, with Member.Err as UpdateSessionUser returns it: the
	// session as stored, its user, and whether the update recorded a
	// revocation.
	out     store.Session
	user    store.User
	revoked bool
}

// apply is op.fn(s, u), with a panic returned as a groupcommit.Panicked
// error: its caller panics again with the value, where its server's
// recovery handles it; the committer and the other members go on.
func (op *groupOp) apply(s store.Session, u store.User) (out store.Session, err error) {
	err = groupcommit.Recover(func() error {
		var err error
		out, err = op.fn(s, u)
		return err
	})
	return out, err
}

// group runs op and returns its error, as UpdateSession returns it;
// without one, op.out is set. An update while no other is under way runs
// at once in a transaction of its own, in the caller's goroutine: there
// is no one to share a transaction with. Others go to the committer (see
// queue).
func (db *DB) group(op *groupOp) error {
	n := db.updates.Add(1)
	defer db.updates.Add(-1)
	if n > 1 {
		return db.queue(op)
	}
	select {
	case <-db.groups.Closed():
		return updateError(op.Context(), groupcommit.ErrClosed)
	default:
	}
	s, u, revoked, err := db.updateSession(op.Context(), op.id, op.fn)
	if err != nil {
		return err
	}
	db.committed(revoked)
	op.out, op.user = s, u
	return nil
}

// queue hands op to the committer and returns op's error once its group
// has committed (or not). The caller waits for as long as its context
// allows until the committer takes op; from then on, until the outcome
// is known, so that an error always means the update was not made.
func (db *DB) queue(op *groupOp) error {
	if err := db.groups.Do(op); err != nil {
		return updateError(op.Context(), err)
	}
	return op.Err
}

// commitGroup runs ops in one transaction, or each alone if a statement
// of the group failed, sets each op's outcome (the committer then
// signals it), and tells Options.Notify if any recorded a revocation. A
// lone op runs alone at once: a group of one saves no flush of the log,
// and measured no faster than a transaction of its own.
func (db *DB) commitGroup(ops []*groupOp) {
	if len(ops) == 1 {
		db.runAlone(ops[0])
	} else if !db.runGroup(ops) {
		for _, op := range ops {
			db.runAlone(op)
		}
	}
	revoked := false
	for _, op := range ops {
		revoked = revoked || (op.Err == nil && op.revoked && op.Taken())
	}
	db.committed(revoked)
}

// runGroup runs ops in one transaction and sets their outcomes. It
// returns false, having rolled the transaction back, if a statement
// failed; the ops' outcomes are then not set.
func (db *DB) runGroup(ops []*groupOp) bool {
	// The statements run under this context, not the members': one
	// member giving up must not cancel the others' transaction. A member
	// whose caller gives up before the committer takes it is left out.
	ctx := context.Background()
	ids := make([]string, 0, len(ops))
	for _, op := range ops {
		ids = append(ids, op.id)
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)

	pc, err := db.pool.Acquire(ctx)
	if err != nil {
		failTaken(ops, err)
		return true
	}
	defer pc.Release() // a connection left in a transaction is closed
	conn := pc.Conn()
	loaded, err := lockSessions(ctx, conn, ids)
	if err != nil {
		conn.Exec(ctx, "ROLLBACK")
		return false
	}
	current := make(map[string]store.Session, len(loaded))
	users := make(map[string]store.User, len(loaded))
	for _, v := range loaded {
		current[v.s.ID], users[v.s.ID] = v.s, v.u
	}

	// The members' changes, in memory, in arrival order.
	var (
		changed     []string // IDs of the sessions to write, each once
		revocations []store.Revocation
	)
	for _, op := range ops {
		if !op.Take() {
			continue
		}
		if err := op.Context().Err(); err != nil {
			op.Err = updateError(op.Context(), err)
			continue
		}
		old, ok := current[op.id]
		if !ok {
			op.Err = updateError(op.Context(), pgx.ErrNoRows)
			continue
		}
		u := users[op.id]
		s, err := op.apply(cloneSession(old), cloneUser(u))
		if err != nil {
			op.Err = err // as is, as update returns it
			continue
		}
		s = keepStored(old, s)
		if newlyRevoked(old, s) {
			op.revoked = true
			revocations = append(revocations, db.sessionRevocation(s))
		}
		if !slices.Contains(changed, op.id) {
			changed = append(changed, op.id)
		}
		current[op.id], op.out, op.user = s, s, cloneUser(u)
	}
	if len(changed) == 0 { // every member refused
		conn.Exec(ctx, "ROLLBACK")
		return true
	}
	sessions := make([]store.Session, len(changed))
	for i, id := range changed {
		sessions[i] = current[id]
	}
	failed, err := db.writeGroup(ctx, conn, sessions, revocations)
	switch {
	case failed != nil:
		conn.Exec(ctx, "ROLLBACK")
		return false
	case err != nil:
		// The COMMIT failed, or its outcome is unknown (ErrUnavailable):
		// every member that was to write fails.
		conn.Exec(ctx, "ROLLBACK") // if the COMMIT did not end it
		for _, op := range ops {
			if op.Taken() && op.Err == nil {
				op.Err, op.out, op.user, op.revoked = updateError(op.Context(), err), store.Session{}, store.User{}, false
			}
		}
	}
	return true
}

// lockSessions begins a transaction on conn and reads and locks the
// sessions with the IDs ids, and reads their users, in one round trip. It
// locks the sessions in the order of their IDs, as every group does, so
// that two groups wait for one another rather than deadlock.
func lockSessions(ctx context.Context, conn *pgx.Conn, ids []string) ([]sessionUser, error) {
	var b pgx.Batch
	b.Queue(`BEGIN ISOLATION LEVEL READ COMMITTED`)
	b.Queue(selectSessionUser+` WHERE s.id = ANY($1) ORDER BY s.id FOR NO KEY UPDATE OF s`, ids)
	br := conn.SendBatch(ctx, &b)
	defer br.Close()
	if _, err := br.Exec(); err != nil {
		return nil, err
	}
	rows, err := br.Query()
	if err != nil {
		return nil, err
	}
	ss, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (sessionUser, error) { return scanSessionUser(row) })
	if err != nil {
		return nil, err
	}
	return ss, br.Close()
}

// writeGroup writes sessions and records revocations in the transaction
// open on conn, and commits it. Without revocations, that is one round
// trip: the COMMIT follows the updates in the pipeline. It returns failed
// if a statement failed before the COMMIT could run, so that nothing was
// committed and the transaction is still to be rolled back; err if the
// COMMIT failed or its outcome is unknown.
func (db *DB) writeGroup(ctx context.Context, conn *pgx.Conn, sessions []store.Session, rs []store.Revocation) (failed, err error) {
	var b pgx.Batch
	for _, s := range sessions {
		b.Queue(updateSessionSQL, sessionUpdateArgs(s)...)
	}
	pipelined := len(rs) == 0
	if pipelined {
		b.Queue(`COMMIT`)
	}
	br := conn.SendBatch(ctx, &b)
	defer br.Close()
	for range sessions {
		if _, err := br.Exec(); err != nil {
			var pe *pgconn.PgError
			if pipelined && !errors.As(err, &pe) && !pgconn.SafeToRetry(err) {
				// The connection broke: the COMMIT may have run.
				return nil, err
			}
			// PostgreSQL refused the statement, and so skipped the
			// COMMIT that followed it in the pipeline.
			return err, nil
		}
	}
	if !pipelined {
		if err := br.Close(); err != nil {
			return err, nil
		}
		for _, r := range rs {
			if _, err := db.addRevocation(ctx, conn, r); err != nil {
				return err, nil
			}
		}
		tag, err := conn.Exec(ctx, `COMMIT`)
		return nil, committed(tag, err)
	}
	tag, err := br.Exec()
	return nil, committed(tag, err)
}

// committed is the error of a COMMIT that returned tag and err: a
// transaction that had failed is rolled back without an error, but with
// the tag ROLLBACK.
func committed(tag pgconn.CommandTag, err error) error {
	if err == nil && tag.String() != "COMMIT" {
		return pgx.ErrTxCommitRollback
	}
	return err
}

// queryRower is what addRevocation needs of a transaction: a pgx.Tx, or
// the connection on which a group began its transaction.
type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// failTaken sets err as the error of every op the committer takes.
func failTaken(ops []*groupOp, err error) {
	for _, op := range ops {
		if op.Take() {
			op.Err = updateError(op.Context(), err)
		}
	}
}

// runAlone runs op in a transaction of its own, unless its caller gave
// up, and sets its outcome.
func (db *DB) runAlone(op *groupOp) {
	if !op.Take() {
		return
	}
	op.out, op.user, op.revoked, op.Err = store.Session{}, store.User{}, false, nil
	if err := op.Context().Err(); err != nil {
		op.Err = updateError(op.Context(), err)
		return
	}
	op.out, op.user, op.revoked, op.Err = db.updateSession(op.Context(), op.id, op.apply)
}

// updateError is err, of the group or its statements, as UpdateSession
// returns it.
func updateError(ctx context.Context, err error) error {
	return fmt.Errorf("postgres: update session: %w", storeError(ctx, err))
}

// cloneUser is u with a slice and a map of its own, for each member of a
// group given the same user.
func cloneUser(u store.User) store.User {
	u.Roles, u.Claims = slices.Clone(u.Roles), maps.Clone(u.Claims)
	return u
}

// cloneSession is s with slices of its own, for an update function that
// may keep or change those it is given.
func cloneSession(s store.Session) store.Session {
	s.TokenHash, s.PrevHash = bytes.Clone(s.TokenHash), bytes.Clone(s.PrevHash)
	s.Scopes = slices.Clone(s.Scopes)
	return s
}
