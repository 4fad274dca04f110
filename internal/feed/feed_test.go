package feed_test

// The Hub's streams are tested over real HTTP in internal/server; these
// tests cover the conversion of records, pages and Run, on a SQLite
// database in t.TempDir().

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/feed"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/sqlite"
	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/revocation"
)

// base is a whole second; records' times are offsets from it.
var base = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestEvent(t *testing.T) {
	tests := []struct {
		name string
		in   store.Revocation
		want revocation.Event
	}{
		{
			name: "session",
			in:   store.Revocation{Seq: 7, Kind: store.KindSession, Subject: "sid1", UserID: "u1", Reason: store.ReasonLogout, At: base, Expires: base.Add(time.Hour)},
			want: revocation.Event{Seq: 7, Kind: revocation.KindSession, ID: "sid1", Reason: "logout", At: base, Expires: base.Add(time.Hour)},
		},
		{
			name: "at truncated, expires rounded up",
			in:   store.Revocation{Seq: 8, Kind: store.KindSubject, Subject: "u1", Reason: store.ReasonRoleChange, At: base.Add(999 * time.Millisecond), Expires: base.Add(time.Hour + time.Millisecond)},
			want: revocation.Event{Seq: 8, Kind: revocation.KindSubject, ID: "u1", Reason: "role_change", At: base, Expires: base.Add(time.Hour + time.Second)},
		},
		{
			name: "token",
			in:   store.Revocation{Seq: 9, Kind: store.KindToken, Subject: "jti", Reason: store.ReasonAdmin, At: base.In(time.FixedZone("X", 3600)), Expires: base},
			want: revocation.Event{Seq: 9, Kind: revocation.KindToken, ID: "jti", Reason: "admin", At: base, Expires: base},
		},
		{
			name: "key",
			in:   store.Revocation{Seq: 10, Kind: store.KindKey, Subject: "kid1", Reason: store.ReasonKeyRevoked, At: base, Expires: base.Add(time.Minute)},
			want: revocation.Event{Seq: 10, Kind: revocation.KindKey, ID: "kid1", Reason: "key_revoked", At: base, Expires: base.Add(time.Minute)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := feed.Event(tt.in)
			if got.Seq != tt.want.Seq || got.Kind != tt.want.Kind || got.ID != tt.want.ID || got.Reason != tt.want.Reason ||
				!got.At.Equal(tt.want.At) || !got.Expires.Equal(tt.want.Expires) {
				t.Errorf("Event(%+v) = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

// newStore opens a database in t.TempDir() whose Notify calls the hub
// set later with setHub.
func newStore(t *testing.T) (db *sqlite.DB, path string, setHub func(*feed.Hub)) {
	t.Helper()
	var hub atomic.Pointer[feed.Hub]
	path = filepath.Join(t.TempDir(), "latch.db")
	db, err := sqlite.Open(t.Context(), path, sqlite.Options{
		Options: store.Options{Notify: func() {
			if h := hub.Load(); h != nil {
				h.Notify()
			}
		}},
	})
	if err != nil {
		t.Fatalf("sqlite.Open = %v, want nil", err)
	}
	t.Cleanup(func() { db.Close() })
	return db, path, hub.Store
}

// add records a revocation of kind for subject expiring after ttl, and
// returns its Seq.
func add(t *testing.T, db *sqlite.DB, kind store.Kind, subject string, ttl time.Duration) int64 {
	t.Helper()
	now := time.Now()
	seq, err := db.AddRevocation(t.Context(), store.Revocation{Kind: kind, Subject: subject, Reason: store.ReasonAdmin, At: now, Expires: now.Add(ttl)})
	if err != nil {
		t.Fatalf("AddRevocation = %v, want nil", err)
	}
	return seq
}

func seqs(evs []revocation.Event) []int64 {
	var s []int64
	for _, e := range evs {
		s = append(s, e.Seq)
	}
	return s
}

func TestPage(t *testing.T) {
	db, _, _ := newStore(t)
	hub, err := feed.New(db, feed.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	// Seq 1 and 2 expire at once; 3 to 6 later. Seq 4 has no subject: a
	// record that cannot travel, skipped.
	add(t, db, store.KindToken, "old1", -time.Minute)
	add(t, db, store.KindToken, "old2", -time.Minute)
	add(t, db, store.KindSession, "s3", time.Hour)
	add(t, db, store.KindToken, "", time.Hour)
	add(t, db, store.KindSubject, "u5", time.Hour)
	add(t, db, store.KindKey, "k6", time.Hour)

	tests := []struct {
		name         string
		after        int64
		limit        int
		wantSeqs     []int64
		wantNext     int64
		wantMore     bool
		wantSnapshot bool
	}{
		{name: "all", after: 0, limit: 0, wantSeqs: []int64{1, 2, 3, 5, 6}, wantNext: 6},
		{name: "first two", after: 0, limit: 2, wantSeqs: []int64{1, 2}, wantNext: 2, wantMore: true},
		{name: "skipped record last", after: 2, limit: 2, wantSeqs: []int64{3}, wantNext: 3, wantMore: true},
		{name: "after skipped", after: 3, limit: 2, wantSeqs: []int64{5}, wantNext: 5, wantMore: true},
		{name: "only the skipped record", after: 3, limit: 1, wantSeqs: nil, wantNext: 4, wantMore: true},
		{name: "rest", after: 5, limit: 2, wantSeqs: []int64{6}, wantNext: 6},
		{name: "current", after: 6, limit: 10, wantSeqs: nil, wantNext: 6},
		{name: "limit above the maximum", after: 0, limit: feed.MaxPageLimit + 1, wantSeqs: []int64{1, 2, 3, 5, 6}, wantNext: 6},
		{name: "cursor beyond head", after: 99, limit: 10, wantSeqs: []int64{1, 2, 3, 5, 6}, wantNext: 6, wantSnapshot: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := hub.Page(ctx, tt.after, tt.limit)
			if err != nil {
				t.Fatalf("Page(%d, %d) = %v, want nil", tt.after, tt.limit, err)
			}
			if !slices.Equal(seqs(p.Events), tt.wantSeqs) || p.Next != tt.wantNext || p.More != tt.wantMore || p.Snapshot != tt.wantSnapshot || p.Head != 6 {
				t.Errorf("Page(%d, %d) = seqs %v next %d more %v snapshot %v head %d, want %v %d %v %v 6",
					tt.after, tt.limit, seqs(p.Events), p.Next, p.More, p.Snapshot, p.Head, tt.wantSeqs, tt.wantNext, tt.wantMore, tt.wantSnapshot)
			}
		})
	}

	// Pruning Seq 1 and 2 makes cursors below 2 too old: the answer is
	// a snapshot of what is retained.
	if n, err := db.PruneRevocations(ctx, time.Now()); err != nil || n != 2 {
		t.Fatalf("PruneRevocations = %d, %v, want 2, nil", n, err)
	}
	for _, tt := range []struct {
		after        int64
		wantSeqs     []int64
		wantSnapshot bool
	}{
		{after: 0, wantSeqs: []int64{3, 5, 6}, wantSnapshot: true},
		{after: 1, wantSeqs: []int64{3, 5, 6}, wantSnapshot: true},
		{after: 2, wantSeqs: []int64{3, 5, 6}},
		{after: 3, wantSeqs: []int64{5, 6}},
	} {
		p, err := hub.Page(ctx, tt.after, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(seqs(p.Events), tt.wantSeqs) || p.Snapshot != tt.wantSnapshot || p.Next != 6 {
			t.Errorf("after pruning, Page(%d) = seqs %v snapshot %v next %d, want %v %v 6", tt.after, seqs(p.Events), p.Snapshot, p.Next, tt.wantSeqs, tt.wantSnapshot)
		}
	}
}

func TestNewConfig(t *testing.T) {
	db, _, _ := newStore(t)
	for _, cfg := range []feed.Config{
		{PageLimit: feed.MaxPageLimit + 1},
		{PageLimit: -1},
		{Buffer: -1},
		{Heartbeat: -time.Second},
		{Poll: -time.Second},
		{WriteTimeout: -time.Second},
	} {
		if _, err := feed.New(db, cfg); err == nil {
			t.Errorf("New(%+v) = nil error, want one", cfg)
		}
	}
	if _, err := feed.New(nil, feed.Config{}); err == nil {
		t.Errorf("New(nil store) = nil error, want one")
	}
}

// recorder collects the events OnEvent receives.
type recorder struct {
	mu     sync.Mutex
	events []revocation.Event
	more   chan struct{}
}

func newRecorder() *recorder { return &recorder{more: make(chan struct{}, 100)} }

func (r *recorder) onEvent(e revocation.Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
	r.more <- struct{}{}
}

func (r *recorder) seqs() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return seqs(r.events)
}

// waitFor waits until the recorder has n events.
func (r *recorder) waitFor(t *testing.T, n int, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for len(r.seqs()) < n {
		select {
		case <-r.more:
		case <-deadline:
			t.Fatalf("OnEvent saw %v within %v, want %d events", r.seqs(), within, n)
		}
	}
}

// run runs hub until the test ends, and waits until it is ready.
func run(t *testing.T, hub *feed.Hub) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run = %v, want nil", err)
		}
	})
	select {
	case <-hub.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("the hub was not ready 5 s after Run started")
	}
}

// TestRunLoadFails checks that Run reports a store that cannot be read at
// start, and that the hub is then stopped.
func TestRunLoadFails(t *testing.T) {
	db, _, _ := newStore(t)
	hub, err := feed.New(db, feed.Config{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	if err := hub.Run(t.Context()); err == nil {
		t.Fatal("Run on a closed store = nil, want an error")
	}
	select {
	case <-hub.Ready():
		t.Error("Ready closed although the load failed")
	default:
	}
}

func TestRun(t *testing.T) {
	db, _, setHub := newStore(t)
	add(t, db, store.KindToken, "jti1", time.Hour)
	add(t, db, store.KindSubject, "u2", time.Hour)
	rec := newRecorder()
	// A poll far away: new records must come through Notify.
	hub, err := feed.New(db, feed.Config{Poll: time.Hour, OnEvent: rec.onEvent})
	if err != nil {
		t.Fatal(err)
	}
	setHub(hub)
	select {
	case <-hub.Ready():
		t.Fatal("Ready closed before Run")
	default:
	}
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { done <- hub.Run(ctx) }()
	select {
	case <-hub.Ready():
	case <-time.After(5 * time.Second):
		t.Fatal("Ready not closed 5 s after Run started")
	}
	if got := rec.seqs(); !slices.Equal(got, []int64{1, 2}) {
		t.Errorf("OnEvent saw %v once ready, want the history [1 2]", got)
	}
	add(t, db, store.KindSession, "sid3", time.Hour)
	rec.waitFor(t, 3, 2*time.Second)
	if got := rec.seqs(); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Errorf("OnEvent saw %v, want [1 2 3]", got)
	}
	// OnEvent runs before the head moves past the event: wait for it.
	st := hub.Stats()
	for deadline := time.Now().Add(2 * time.Second); st.Head != 3 && time.Now().Before(deadline); st = hub.Stats() {
		time.Sleep(time.Millisecond)
	}
	if st.Head != 3 || st.Subscribers != 0 {
		t.Errorf("Stats = %+v, want head 3 and no subscribers", st)
	}
	for _, c := range []struct {
		name   string
		claims jwt.Claims
	}{
		{"jti", jwt.Claims{ID: "jti1", Subject: "other", IssuedAt: time.Now()}},
		{"subject", jwt.Claims{Subject: "u2", IssuedAt: time.Now().Add(-time.Minute)}},
		{"session", jwt.Claims{SessionID: "sid3", Subject: "other", IssuedAt: time.Now()}},
	} {
		if err := hub.DenyList().Check("kid", &c.claims); !errors.Is(err, revocation.ErrRevoked) {
			t.Errorf("DenyList().Check(%s) = %v, want ErrRevoked", c.name, err)
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v after its context ended, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return 5 s after its context ended")
	}
	if err := hub.Run(t.Context()); err == nil {
		t.Errorf("second Run = nil, want an error")
	}
}

// TestRunPolls checks that records another process writes (a second
// handle on the database, which does not notify this hub) arrive by
// polling.
func TestRunPolls(t *testing.T) {
	db, path, setHub := newStore(t)
	rec := newRecorder()
	hub, err := feed.New(db, feed.Config{Poll: 20 * time.Millisecond, OnEvent: rec.onEvent})
	if err != nil {
		t.Fatal(err)
	}
	setHub(hub)
	run(t, hub)

	other, err := sqlite.Open(t.Context(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	add(t, other, store.KindToken, "from-elsewhere", time.Hour)
	rec.waitFor(t, 1, 2*time.Second)
}

// TestPageSnapshotTerminates pages through a feed whose retained records
// lie below the pruned watermark (records expire out of Seq order: an
// operator's outlive the server's). Each page must move the cursor on,
// so that a reader reaches the end, every retained record once; a
// snapshot that restarted from 0 on every page would never end.
func TestPageSnapshotTerminates(t *testing.T) {
	db, _, _ := newStore(t)
	hub, err := feed.New(db, feed.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for i := range 7 {
		ttl := time.Hour // odd Seqs are kept
		if i%2 == 1 {
			ttl = -time.Minute // even Seqs are pruned
		}
		add(t, db, store.KindToken, fmt.Sprint("jti-", i+1), ttl)
	}
	if n, err := db.PruneRevocations(ctx, time.Now()); err != nil || n != 3 {
		t.Fatalf("PruneRevocations = %d, %v, want 3, nil", n, err)
	}
	// Retained: 1, 3, 5, 7; pruned watermark 6.
	for _, start := range []int64{0, 1, 2} {
		var got []int64
		after := start
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatalf("from cursor %d: still paging after 10 pages (%v): the snapshot restarts", start, got)
			}
			p, err := hub.Page(ctx, after, 1)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, seqs(p.Events)...)
			if p.Next < after {
				t.Fatalf("from cursor %d: Page(%d) next = %d, moved backwards", start, after, p.Next)
			}
			after = p.Next
			if !p.More {
				break
			}
		}
		want := []int64{3, 5, 7}
		if start == 0 {
			want = []int64{1, 3, 5, 7}
		}
		if !slices.Equal(got, want) || after != 7 {
			t.Errorf("paging from cursor %d read %v ending at %d, want %v ending at 7", start, got, after, want)
		}
	}
}
