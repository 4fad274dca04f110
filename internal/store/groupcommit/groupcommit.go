// Package groupcommit hands a store's concurrent writes to one goroutine,
// the committer, which takes every write waiting when it is free and
// commits them together: one transaction, one log flush, for the group.
// It owns the hand-over and its guarantees; the store owns what a group
// transaction is.
//
// A write is an Op, whose caller waits for its outcome. A caller whose
// context ends while its op still waits for the committer gets the
// context's error, and the op is left out of any group. Once the
// committer has taken the op (Member.Take), its caller waits for the
// outcome whatever its context does, so that an error always means the
// write was not made. A write function that panics in the committer is
// recovered there (Recover) and panics again in its caller's goroutine,
// where a server's recovery handles it, as it would without grouping.
package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// ErrClosed is the error of a write handed to a closed Queue, or still
// waiting for the committer when the Queue closed.
var ErrClosed = errors.New("database is closed")

// A Member is the part of a write that the Queue owns. Embed it in the
// store's op type and set it up with Init.
type Member struct {
	ctx  context.Context
	done chan struct{}
	// state is pending until the committer takes the op (taken) or its
	// caller gives up waiting (abandoned), whichever comes first.
	state atomic.Int32
	// Err is the op's outcome, set by the commit function of the Queue.
	Err error
}

const (
	pending = iota
	taken
	abandoned
)

// Init sets up m for a write made under ctx.
func (m *Member) Init(ctx context.Context) {
	m.ctx, m.done = ctx, make(chan struct{})
}

// Context returns the context of the write.
func (m *Member) Context() context.Context { return m.ctx }

// Take marks the op as run by the committer, unless its caller gave up
// waiting first; it reports whether the op is the committer's to run. A
// commit function calls it before it runs an op.
func (m *Member) Take() bool {
	return m.state.CompareAndSwap(pending, taken) || m.state.Load() == taken
}

// Taken reports whether the committer took the op.
func (m *Member) Taken() bool { return m.state.Load() == taken }

// Abandoned reports whether the op's caller gave up before the committer
// took it.
func (m *Member) Abandoned() bool { return m.state.Load() == abandoned }

func (m *Member) member() *Member { return m }

// An Op is a write: a store's type that embeds a Member.
type Op interface{ member() *Member }

// Panicked is the Err of an op whose write function panicked in the
// committer: Do panics again with V in the op's caller.
type Panicked struct{ V any }

func (p Panicked) Error() string { return fmt.Sprintf("panic: %v", p.V) }

// Recover runs f and returns its error, or a Panicked error if it
// panicked.
func Recover(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = Panicked{v}
		}
	}()
	return f()
}

// A Queue hands ops to its committer. Build one with New.
type Queue[O Op] struct {
	ops      chan O
	quit     chan struct{}
	quitOnce sync.Once
	finished chan struct{}
}

// New starts the committer of a Queue and returns the Queue. The
// committer takes the ops waiting, at most max of them, in the order
// they arrived, and calls commit with them; commit sets the Err of each
// op it takes (Member.Take) and leaves the others. It runs until Close.
func New[O Op](max int, commit func(ops []O)) *Queue[O] {
	q := &Queue[O]{ops: make(chan O), quit: make(chan struct{}), finished: make(chan struct{})}
	go q.run(max, commit)
	return q
}

func (q *Queue[O]) run(max int, commit func([]O)) {
	defer close(q.finished)
	ops := make([]O, 0, max)
	for {
		select {
		case op := <-q.ops:
			ops = append(ops[:0], op)
		case <-q.quit:
			return
		}
		if len(q.ops) == 0 {
			// Alone so far: let the goroutines that are ready to run
			// first, some of which are about to hand over their ops,
			// rather than commit a group of one and have them wait for
			// it. When none is, the yield returns at once. At c=8 on 2
			// CPUs, this made SQLite's groups larger and refreshes 4-12%
			// faster (BENCHMARKS.md section 8).
			runtime.Gosched()
		}
	collect:
		for len(ops) < max {
			select {
			case op := <-q.ops:
				ops = append(ops, op)
			default:
				break collect
			}
		}
		q.commit(commit, ops)
		clear(ops)
	}
}

// commit calls commit with ops and then signals their outcomes. A panic
// outside the ops' write functions (which the store recovers with
// Recover) is a bug in the store and crashes the process.
func (q *Queue[O]) commit(commit func([]O), ops []O) {
	commit(ops)
	for _, op := range ops {
		close(op.member().done)
	}
}

// Do hands op to the committer and waits for its group. It returns
// ErrClosed, or the context's error, if op was left out; nil once the
// committer ran op, whose outcome is then op's Err. If op's write
// function panicked, Do panics with the same value.
func (q *Queue[O]) Do(op O) error {
	m := op.member()
	select {
	case q.ops <- op:
	case <-q.quit:
		return ErrClosed
	case <-m.ctx.Done():
		return m.ctx.Err()
	}
	select {
	case <-m.done:
	case <-m.ctx.Done():
		if m.state.CompareAndSwap(pending, abandoned) {
			return m.ctx.Err()
		}
		<-m.done
	}
	if p, ok := m.Err.(Panicked); ok {
		panic(p.V)
	}
	return nil
}

// Closed returns a channel that is closed once Close has been called.
func (q *Queue[O]) Closed() <-chan struct{} { return q.quit }

// Close stops the committer, after the group it is committing, if any.
// Ops handed to the Queue later, or still waiting, get ErrClosed.
func (q *Queue[O]) Close() {
	q.quitOnce.Do(func() { close(q.quit) })
	<-q.finished
}
