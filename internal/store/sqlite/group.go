package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/latch-auth/latch/internal/store/groupcommit"
)

// Group commit of session updates.
//
// A refresh is one UpdateSessionUser: a read (of the session and its
// user, in one statement), an update and a commit on the one writer
// connection. Run one transaction each, concurrent refreshes
// queued for that connection, and each held it across several scheduling
// points of a busy machine (a CPU profile of refreshes at c=8: they spent
// about a third of their time waiting in BeginTx while the CPU was not
// saturated). Instead, one goroutine, the committer (package
// groupcommit), takes every session update waiting when it is free, and
// commitGroup runs them one after the other in one shared transaction:
// one BEGIN, one COMMIT and one write of the log (one sync with FullSync)
// for the whole group.
//
// Each member keeps its own outcome. A member that refuses (its session
// does not exist, or its Update function returns an error) has written
// nothing, so the others go on and commit. A member that fails in any
// other way (a constraint, an I/O error) may have written part of its
// change, or made SQLite abandon the transaction: the committer rolls the
// whole group back and runs every member again alone, in a transaction of
// its own, as without grouping. A failed BEGIN or COMMIT fails every
// member that had not refused: the group commits atomically or not at
// all. Members run in the order they arrived, each seeing the changes of
// those before it, so concurrent rotations of one session still have one
// winner.

// maxGroup bounds the members of one group transaction, and so the
// latency that the first member of a large group waits for the last.
const maxGroup = 128

// errAbandoned rolls back the transaction of an op whose caller gave up;
// no one sees it.
var errAbandoned = errors.New("abandoned")

// groupOp is one member of a group transaction.
type groupOp struct {
	groupcommit.Member
	// run makes the member's change in tx; it may run twice (see above).
	// A refusal, which wrote nothing, is returned as a refused error.
	run func(ctx context.Context, tx *sql.Tx) error
}

// refused is a member's failure that wrote nothing: the group goes on.
type refused struct{ err error }

func (r refused) Error() string { return r.err.Error() }
func (r refused) Unwrap() error { return r.err }

// runOp is op.run(ctx, tx), with a panic returned as a
// groupcommit.Panicked error: its caller panics again with the value, as
// it did before group commit, where its server's recovery handles it; the
// committer and the other members go on.
func runOp(ctx context.Context, op *groupOp, tx *sql.Tx) error {
	return groupcommit.Recover(func() error { return op.run(ctx, tx) })
}

// group runs run in a group transaction and returns its error, once the
// group has committed (or not); a refusal is returned as the refused
// error run returned. The caller waits for as long as ctx allows until
// the committer runs its change; from then on, until the outcome is
// known, so that an error always means the change was not made.
func (db *DB) group(ctx context.Context, run func(ctx context.Context, tx *sql.Tx) error) error {
	op := &groupOp{run: run}
	op.Init(ctx)
	if err := db.groups.Do(op); err != nil {
		return err
	}
	return op.Err
}

// commitGroup runs ops in one transaction, or each alone if that fails
// in a way that may have left a member's change half made, and sets each
// op's outcome (the committer then signals it). A group of one is a
// group too: its statements run under a context that cannot be
// cancelled, which spares database/sql and the driver a goroutine each
// to watch the caller's.
func (db *DB) commitGroup(ops []*groupOp) {
	if !db.runGroup(ops) {
		for _, op := range ops {
			db.runAlone(op)
		}
	}
}

// runGroup runs ops in one transaction and sets their errors. It returns
// false, having rolled the transaction back, if a member failed other
// than by refusing; the ops' errors are then not set.
func (db *DB) runGroup(ops []*groupOp) bool {
	// The members' statements run under this context, not their own: a
	// context cancelled while its statement runs interrupts the
	// connection, which could abandon the whole transaction. A member
	// whose caller gives up before its turn is left out.
	ctx := context.Background()
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		for _, op := range ops {
			if op.Take() {
				op.Err = err
			}
		}
		return true
	}
	defer tx.Rollback() // after Commit, a no-op
	for _, op := range ops {
		if !op.Take() {
			continue
		}
		if err := op.Context().Err(); err != nil {
			op.Err = err
			continue
		}
		err := runOp(ctx, op, tx)
		if _, ok := err.(refused); err != nil && !ok {
			return false
		}
		op.Err = err
	}
	if err := tx.Commit(); err != nil {
		// A COMMIT that fails on a deferred constraint leaves the
		// transaction open on the connection: end it. Without one open,
		// ROLLBACK fails harmlessly.
		db.w.ExecContext(ctx, "ROLLBACK")
		for _, op := range ops {
			if op.Taken() && op.Err == nil { // a refusal stands: it wrote nothing
				op.Err = err
			}
		}
	}
	return true
}

// runAlone runs op in a transaction of its own, unless its caller gave
// up, and sets its error.
func (db *DB) runAlone(op *groupOp) {
	if op.Abandoned() {
		return
	}
	op.Err = db.write(op.Context(), func(tx *sql.Tx) error {
		if !op.Take() {
			return errAbandoned
		}
		return runOp(op.Context(), op, tx)
	})
}
