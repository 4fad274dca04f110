// Package gctune sets the garbage collector's GOGC for latch serve: a heap
// floor while the live heap is small, and a lower GOGC during the bursts
// its caller reports.
//
// # The floor
//
// A server answering refreshes keeps about 1 MB live: the requests in
// flight and little else. With GOGC=100, the collector then runs whenever
// the heap reaches its minimum goal of 4 MB, about a hundred times a
// second at 6,000 refreshes a second on 2 CPUs, and every collection
// costs its marking, its pauses and its write barriers. The collector
// only has the GOGC percentage to be told otherwise, so after each
// collection a Tuner sets it so that the next one runs when the heap
// reaches the floor (Start's argument), never below 100: with a live heap
// of half the floor or more, the collector runs as with GOGC=100.
// Measured at c=8 on 2 CPUs (BENCHMARKS.md section 8), a floor of 16
// MiB made refreshes 8-19% faster at 13-19% less CPU each, and /v1/me
// requests 4-20% faster at 9-20% less; 32 MiB did as well, and 64 MiB
// 7-10% less well, as the heap outgrew the processor's caches.
//
// # Bursts
//
// During a burst of password hashes, each Argon2 computation allocates its
// memory afresh and most of the heap is live hashing memory (see package
// password). SetBurst(true) switches to BurstPercent, so that finished
// computations are collected sooner, until SetBurst(false).
//
// The Go runtime's soft memory limit (GOMEMLIMIT, runtime/debug.SetMemoryLimit)
// still applies: the collector runs before the heap would pass it,
// whatever GOGC says.
package gctune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// BurstPercent is GOGC during a burst.
const BurstPercent = 50

// maxPercent bounds GOGC, for a floor far above a tiny live heap.
const maxPercent = 10_000

// The runtime/metrics samples a Tuner reads after each collection.
const (
	metricLive    = "/gc/heap/live:bytes"
	metricStacks  = "/gc/scan/stack:bytes"
	metricGlobals = "/gc/scan/globals:bytes"
)

// Tuner sets GOGC after every garbage collection, until Stop. Its methods
// are safe for concurrent use.
type Tuner struct {
	floor uint64

	mu      sync.Mutex
	burst   bool
	stopped bool
	percent int // the GOGC the Tuner set last; 0 before the first
	samples []metrics.Sample
}

// Start returns a Tuner that keeps GOGC at what makes the next collection
// run when the heap reaches floor bytes (see the package documentation),
// starting now. It changes the process-wide GOGC (debug.SetGCPercent):
// start at most one at a time, and not when the operator set GOGC.
func Start(floor uint64) *Tuner {
	t := &Tuner{floor: floor, samples: []metrics.Sample{{Name: metricLive}, {Name: metricStacks}, {Name: metricGlobals}}}
	t.adjust()
	t.arm()
	return t
}

// SetBurst switches GOGC to BurstPercent while on, and back to the floor's
// once off.
func (t *Tuner) SetBurst(on bool) {
	t.mu.Lock()
	t.burst = on
	t.mu.Unlock()
	t.adjust()
}

// Stop stops tuning and sets GOGC back to 100.
func (t *Tuner) Stop() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stopped = true
	debug.SetGCPercent(100)
}

// sentinel is a heap object that only a cleanup refers to: it is found
// unreachable at the next collection, whose end its cleanup then marks.
// Its pointer keeps the allocator from packing it with other small
// objects, whose cleanups could then wait.
type sentinel struct {
	_ *byte
	_ uint64
}

// arm runs afterGC once the next collection has finished.
func (t *Tuner) arm() {
	runtime.AddCleanup(new(sentinel), (*Tuner).afterGC, t)
}

// afterGC adjusts GOGC to the collection that just ended and arms the
// next call, unless the Tuner is stopped.
func (t *Tuner) afterGC() {
	if t.adjust() {
		t.arm()
	}
}

// adjust sets GOGC from the last collection's live heap, or to
// BurstPercent during a burst. It reports whether the Tuner still runs.
func (t *Tuner) adjust() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return false
	}
	p := BurstPercent
	if !t.burst {
		metrics.Read(t.samples)
		p = Percent(t.floor, value(t.samples[0]), value(t.samples[1])+value(t.samples[2]))
	}
	if p != t.percent {
		debug.SetGCPercent(p)
		t.percent = p
	}
	return true
}

// value is s's value, or 0 if the runtime does not have the metric.
func value(s metrics.Sample) uint64 {
	if s.Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s.Value.Uint64()
}

// Percent is the GOGC with which the collector, having found live bytes
// of live heap and roots bytes of stacks and globals to scan, runs next
// when the heap reaches floor bytes: the runtime's heap goal is live +
// (live + roots) × GOGC/100. It is at least 100 and at most 10,000.
func Percent(floor, live, roots uint64) int {
	scan := live + roots
	if floor <= live || scan == 0 {
		return 100
	}
	p := (floor - live) * 100 / scan
	return int(max(100, min(p, maxPercent)))
}
