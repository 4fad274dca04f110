package gctune

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

const mib = 1 << 20

func TestPercent(t *testing.T) {
	tests := []struct {
		name               string
		floor, live, roots uint64
		want               int
	}{
		{"small live heap: the floor", 32 * mib, 1 * mib, mib / 4, (31 * mib) * 100 / (mib + mib/4)},
		{"no roots", 32 * mib, 2 * mib, 0, 1500},
		{"live heap at half the floor: GOGC=100", 32 * mib, 16 * mib, 0, 100},
		{"roots count: below 100 is 100", 32 * mib, 12 * mib, 10 * mib, 100},
		{"live heap above the floor", 32 * mib, 40 * mib, mib, 100},
		{"live heap at the floor", 32 * mib, 32 * mib, 0, 100},
		{"tiny live heap: at most 10,000", 32 * mib, 1024, 0, maxPercent},
		{"nothing measured yet", 32 * mib, 0, 0, 100},
		{"no floor", 0, mib, mib, 100},
	}
	for _, tt := range tests {
		if got := Percent(tt.floor, tt.live, tt.roots); got != tt.want {
			t.Errorf("%s: Percent(%d, %d, %d) = %d, want %d", tt.name, tt.floor, tt.live, tt.roots, got, tt.want)
		}
	}
}

// gogc is the GOGC in force, as the runtime reports it.
func gogc(t *testing.T) int {
	t.Helper()
	s := []metrics.Sample{{Name: "/gc/gogc:percent"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		t.Fatal("the runtime does not report /gc/gogc:percent")
	}
	return int(s[0].Value.Uint64())
}

// waitGOGC collects until GOGC satisfies ok (the Tuner adjusts it after
// a collection, on the cleanup goroutine), or fails after 10 s.
func waitGOGC(t *testing.T, what string, ok func(int) bool) int {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC()
		p := gogc(t)
		if ok(p) {
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("GOGC = %d after 10 s of collections, want %s", p, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTuner runs a Tuner against the real collector: GOGC follows the
// live heap after each collection, BurstPercent holds during a burst, and
// Stop leaves GOGC=100 for good. The test binary's live heap is a few
// MiB, well under the floor.
func TestTuner(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	const floor = 256 * mib
	tu := Start(floor)
	defer tu.Stop()

	above := func(p int) bool { return p > 100 }
	if p := waitGOGC(t, "above 100 with a small live heap", above); p > maxPercent {
		t.Errorf("GOGC = %d, want at most %d", p, maxPercent)
	}

	// A live heap of more than half the floor: GOGC=100 after the next
	// collection; once it is garbage, the floor's GOGC again.
	live := make([]byte, floor*3/4)
	for i := range live {
		live[i] = 1
	}
	waitGOGC(t, "100 with a live heap over half the floor", func(p int) bool { return p == 100 })
	runtime.KeepAlive(live)
	live = nil
	waitGOGC(t, "above 100 once the live heap is garbage", above)

	tu.SetBurst(true)
	if p := gogc(t); p != BurstPercent {
		t.Errorf("GOGC during a burst = %d, want %d", p, BurstPercent)
	}
	runtime.GC()
	runtime.GC()
	if p := gogc(t); p != BurstPercent {
		t.Errorf("GOGC during a burst, after collections = %d, want %d", p, BurstPercent)
	}
	tu.SetBurst(false)
	if p := gogc(t); p <= 100 {
		t.Errorf("GOGC after a burst = %d, want the floor's, above 100", p)
	}

	tu.Stop()
	if p := gogc(t); p != 100 {
		t.Errorf("GOGC after Stop = %d, want 100", p)
	}
	for range 3 {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	tu.SetBurst(true)
	if p := gogc(t); p != 100 {
		t.Errorf("GOGC after Stop, collections and SetBurst = %d, want 100: a stopped Tuner changes nothing", p)
	}
}
