package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

type op struct {
	Member
	name string
	fail error // the Err commit gives it
	pan  any   // a value its write function panics with
}

func newOp(ctx context.Context, name string) *op {
	o := &op{name: name}
	o.Init(ctx)
	return o
}

// committer records the groups it commits; while gate is not nil, a
// group waits for a value from it before it commits.
type committer struct {
	mu     sync.Mutex
	groups [][]string
	gate   chan struct{}
}

func (c *committer) commit(ops []*op) {
	if c.gate != nil {
		<-c.gate
	}
	var names []string
	for _, o := range ops {
		if !o.Take() {
			continue
		}
		names = append(names, o.name)
		o.Err = Recover(func() error {
			if o.pan != nil {
				panic(o.pan)
			}
			return o.fail
		})
	}
	c.mu.Lock()
	c.groups = append(c.groups, names)
	c.mu.Unlock()
}

func (c *committer) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return fmt.Sprint(c.groups)
}

func TestQueueGroupsWaitingOps(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &committer{gate: make(chan struct{})}
		q := New(3, c.commit)
		defer q.Close()
		errNo := errors.New("no")
		results := make(map[string]chan error)
		do := func(name string, fail error) {
			o := newOp(t.Context(), name)
			o.fail = fail
			ch := make(chan error, 1)
			results[name] = ch
			go func() {
				if err := q.Do(o); err != nil {
					ch <- fmt.Errorf("Do: %w", err)
					return
				}
				ch <- o.Err
			}()
			synctest.Wait()
		}
		do("a", nil) // taken alone; its group waits at the gate
		for _, n := range []string{"b", "c", "d", "e"} {
			do(n, nil)
		}
		do("f", errNo)
		for range 3 {
			c.gate <- struct{}{}
		}
		for n, ch := range results {
			want := error(nil)
			if n == "f" {
				want = errNo
			}
			if err := <-ch; err != want {
				t.Errorf("op %s = %v, want %v", n, err, want)
			}
		}
		// a alone, then at most 3 at a time, in arrival order.
		if got, want := c.String(), "[[a] [b c d] [e f]]"; got != want {
			t.Errorf("groups = %s, want %s", got, want)
		}
	})
}

// TestQueueYieldsToOpsOnTheirWay: on one processor, callers that are
// ready to run when the committer takes the first op get their ops into
// its group: the committer yields before it commits a group of one.
// Without the yield, the committer, which the first hand-over makes the
// next goroutine to run, took each op alone.
func TestQueueYieldsToOpsOnTheirWay(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	c := &committer{}
	q := New(16, c.commit)
	defer q.Close()
	const callers = 8
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			<-start
			if err := q.Do(newOp(t.Context(), fmt.Sprint(i))); err != nil {
				t.Errorf("Do = %v, want nil", err)
			}
		})
	}
	close(start) // all ready to run, on the one processor
	wg.Wait()
	c.mu.Lock()
	groups := len(c.groups)
	c.mu.Unlock()
	if groups > callers/2 {
		t.Errorf("%d callers ready at once committed in %d groups %s, want at most %d", callers, groups, c, callers/2)
	}
}

func TestQueueAbandonedWhileWaiting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &committer{gate: make(chan struct{})}
		q := New(8, c.commit)
		defer q.Close()
		// first reaches the committer, whose group waits at the gate
		// before it takes first; late cannot reach it. Both give up.
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		first, late := newOp(ctx, "first"), newOp(ctx, "late")
		errs := make(chan error, 2)
		go func() { errs <- q.Do(first) }()
		synctest.Wait()
		go func() { errs <- q.Do(late) }()
		for range 2 {
			if err := <-errs; !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Do(op whose context ends while it waits) = %v, want %v", err, context.DeadlineExceeded)
			}
		}
		close(c.gate)
		synctest.Wait()
		if got := c.String(); got != "[[]]" {
			t.Errorf("groups = %s, want [[]]: the abandoned op is not run", got)
		}
		if first.Taken() || !first.Abandoned() {
			t.Errorf("first: taken %v, abandoned %v, want false, true", first.Taken(), first.Abandoned())
		}
		if late.Taken() {
			t.Error("late was taken, want never handed over")
		}
		// The committer goes on.
		next := newOp(t.Context(), "next")
		if err := q.Do(next); err != nil || next.Err != nil {
			t.Errorf("Do after abandoned ops = %v, %v, want nil", err, next.Err)
		}
	})
}

func TestQueuePanicInCaller(t *testing.T) {
	c := &committer{}
	q := New(8, c.commit)
	defer q.Close()
	boom := newOp(t.Context(), "boom")
	boom.pan = "boom"
	func() {
		defer func() {
			if v := recover(); v != "boom" {
				t.Errorf("Do(op whose write panics) recovered %v, want boom", v)
			}
		}()
		q.Do(boom)
		t.Error("Do(op whose write panics) returned")
	}()
	ok := newOp(t.Context(), "ok")
	if err := q.Do(ok); err != nil || ok.Err != nil {
		t.Errorf("Do after a panicking op = %v, %v, want the committer to go on", err, ok.Err)
	}
}

func TestQueueClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := &committer{gate: make(chan struct{})}
		q := New(1, c.commit)
		first := newOp(t.Context(), "first")
		firstErr := make(chan error, 1)
		go func() { firstErr <- q.Do(first) }()
		synctest.Wait() // committing first, at the gate
		waiting := make(chan error, 1)
		go func() { waiting <- q.Do(newOp(t.Context(), "waiting")) }()
		synctest.Wait()
		closed := make(chan struct{})
		go func() { q.Close(); close(closed) }()
		synctest.Wait()
		if err := <-waiting; !errors.Is(err, ErrClosed) {
			t.Errorf("Do of an op waiting at Close = %v, want %v", err, ErrClosed)
		}
		select {
		case <-closed:
			t.Fatal("Close returned while a group was being committed")
		default:
		}
		close(c.gate)
		<-closed
		if err := <-firstErr; err != nil || first.Err != nil {
			t.Errorf("the group committing at Close = %v, %v, want it to finish", err, first.Err)
		}
		if err := q.Do(newOp(t.Context(), "after")); !errors.Is(err, ErrClosed) {
			t.Errorf("Do after Close = %v, want %v", err, ErrClosed)
		}
	})
}
