package revocation_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/latch-auth/latch/internal/memnet"
	"github.com/latch-auth/latch/internal/testclock"
	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/revocation"
)

// The test issuer's credentials.
const (
	feedClientID = "resource-svc"
	feedSecret   = "s3cret"
)

// feedWait bounds every wait in these tests: above the follower's 30 s
// HeartbeatTimeout, which TestFollowerHeartbeatTimeout waits out. The
// tests of Run run in a synctest bubble, where waiting costs no real
// time; outside one, only a failing test waits that long.
const feedWait = 2 * time.Minute

// feedIssuer is the server side of the revocation feed as the package doc
// describes it, with hooks to push events live, prune, drop or stall
// streams and fail requests. It serves on an in-memory network, so that a
// test in a synctest bubble can let the bubble's clock run.
type feedIssuer struct {
	net    *memnet.Network
	srv    *memnet.Server
	client *http.Client // a client of net

	mu        sync.Mutex
	events    []revocation.Event // retained records, in Seq order
	head      int64              // the last Seq assigned
	announce  int64              // when above head, the head heartbeats and pages announce
	pruned    int64              // records up to this Seq were pruned
	grow      chan struct{}      // closed and replaced when events are pushed
	drop      chan struct{}      // closed and replaced by Drop
	quit      chan struct{}      // closed when the test ends
	status    int                // when not 0, the answer to authenticated requests
	pageMax   int                // the most events a page holds
	rawPage   string             // when set, the body of every page
	heartbeat time.Duration      // the heartbeat interval; 0: only after catching up
	// plan says what stream connection n (from 1) does once it has sent
	// the events after its cursor: write raw, then either stall (send
	// nothing more, not even the heartbeat that ends the catch-up) or go
	// on with heartbeats and live events.
	plan     func(n int) (raw string, stall bool)
	nstreams int
	auths    []string // the Authorization header of every request

	requests chan string     // the path of every request
	streams  chan feedConn   // every stream request that is served
	pages    chan url.Values // every page request's query that is served
}

// feedConn is one stream request as the issuer saw it.
type feedConn struct {
	n           int    // its number, from 1
	lastEventID string // the Last-Event-ID header
	after       string // the "after" query parameter
}

func newFeedIssuer(t *testing.T) *feedIssuer {
	t.Helper()
	fi := &feedIssuer{
		grow:     make(chan struct{}),
		drop:     make(chan struct{}),
		quit:     make(chan struct{}),
		pageMax:  1000,
		streams:  make(chan feedConn, 1000),
		pages:    make(chan url.Values, 1000),
		requests: make(chan string, 1000),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/revocations", fi.servePage)
	mux.HandleFunc("GET /v1/revocations/stream", fi.serveStream)
	fi.net = memnet.New()
	srv, err := fi.net.Serve("auth.test", mux)
	if err != nil {
		t.Fatal(err)
	}
	fi.srv, fi.client = srv, fi.net.Client()
	t.Cleanup(func() {
		close(fi.quit)
		fi.srv.Close()
		fi.client.CloseIdleConnections()
	})
	return fi
}

// URL is the feed's URL.
func (fi *feedIssuer) URL() string { return fi.srv.URL + "/v1/revocations" }

// feedNotify sends v on c unless c is full.
func feedNotify[T any](c chan T, v T) {
	select {
	case c <- v:
	default:
	}
}

// authorized checks client_secret_basic credentials, answering 401 when
// they are wrong.
func (fi *feedIssuer) authorized(w http.ResponseWriter, r *http.Request) bool {
	fi.mu.Lock()
	fi.auths = append(fi.auths, r.Header.Get("Authorization"))
	status := fi.status
	fi.mu.Unlock()
	feedNotify(fi.requests, r.URL.Path)
	user, pass, ok := r.BasicAuth()
	id, err1 := url.QueryUnescape(user)
	secret, err2 := url.QueryUnescape(pass)
	if !ok || err1 != nil || err2 != nil || id != feedClientID || secret != feedSecret {
		w.Header().Set("WWW-Authenticate", `Basic realm="latch"`)
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
		return false
	}
	if status != 0 {
		http.Error(w, `{"error":"server_error"}`, status)
		return false
	}
	return true
}

// since returns the retained events after cursor, or all of them (a
// snapshot) when records after cursor were pruned or the cursor is beyond
// the head (the issuer's database was replaced), and the head to
// announce.
func (fi *feedIssuer) since(cursor int64) (events []revocation.Event, snapshot bool, head int64) {
	snapshot = cursor < fi.pruned || cursor > max(fi.head, fi.announce)
	for _, e := range fi.events {
		if snapshot || e.Seq > cursor {
			events = append(events, e)
		}
	}
	return events, snapshot, max(fi.head, fi.announce)
}

func (fi *feedIssuer) servePage(w http.ResponseWriter, r *http.Request) {
	if !fi.authorized(w, r) {
		return
	}
	q := r.URL.Query()
	feedNotify(fi.pages, q)
	after, err := strconv.ParseInt(q.Get("after"), 10, 64)
	if err != nil || after < 0 {
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	limit := 1000
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit <= 0 {
			http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
			return
		}
	}
	fi.mu.Lock()
	limit = min(limit, fi.pageMax)
	events, snapshot, head := fi.since(after)
	raw := fi.rawPage
	fi.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if raw != "" {
		io.WriteString(w, raw)
		return
	}
	p := revocation.Page{Events: events, Next: after, Snapshot: snapshot, Head: head}
	if len(p.Events) > limit {
		p.Events, p.More = p.Events[:limit], true
	}
	if len(p.Events) > 0 {
		p.Next = p.Events[len(p.Events)-1].Seq
	}
	if p.Events == nil {
		p.Events = []revocation.Event{}
	}
	json.NewEncoder(w).Encode(p)
}

func (fi *feedIssuer) serveStream(w http.ResponseWriter, r *http.Request) {
	if !fi.authorized(w, r) {
		return
	}
	conn := feedConn{lastEventID: r.Header.Get("Last-Event-ID"), after: r.URL.Query().Get("after")}
	from := conn.after
	if conn.lastEventID != "" {
		from = conn.lastEventID // Last-Event-ID wins over "after"
	}
	cursor, err := strconv.ParseInt(from, 10, 64)
	if err != nil || cursor < 0 {
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	fi.mu.Lock()
	fi.nstreams++
	conn.n = fi.nstreams
	plan, drop, beat := fi.plan, fi.drop, fi.heartbeat
	fi.mu.Unlock()
	feedNotify(fi.streams, conn)

	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)

	// send writes the events after cursor and, when it may, a heartbeat;
	// it returns the channel that signals the next push.
	send := func(first, heartbeat bool) (chan struct{}, bool) {
		fi.mu.Lock()
		events, snapshot, head := fi.since(cursor)
		grow := fi.grow
		fi.mu.Unlock()
		if first && snapshot {
			io.WriteString(w, "event: snapshot\ndata: {}\n\n")
		} else if snapshot {
			return nil, false // pruned past a live stream's cursor: the test is wrong
		}
		for _, e := range events {
			writeSSEEvent(w, e)
			cursor = e.Seq
		}
		if heartbeat {
			fmt.Fprintf(w, "event: heartbeat\ndata: {\"head\":%d,\"time\":%d}\n\n", head, time.Now().Unix())
		}
		return grow, rc.Flush() == nil
	}

	stall := false
	raw := ""
	if plan != nil {
		raw, stall = plan(conn.n)
	}
	grow, ok := send(true, raw == "" && !stall)
	if !ok {
		return
	}
	if raw != "" {
		io.WriteString(w, raw)
		if rc.Flush() != nil {
			return
		}
		if !stall {
			if grow, ok = send(false, true); !ok {
				return
			}
		}
	}
	if stall {
		grow = nil
	}
	var tick <-chan time.Time
	if beat > 0 && !stall {
		t := time.NewTicker(beat)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-r.Context().Done():
			return
		case <-fi.quit:
			return
		case <-drop:
			return
		case <-grow:
		case <-tick:
		}
		select {
		case <-drop: // a dropped stream sends nothing more, even if woken by a push
			return
		default:
		}
		if grow, ok = send(false, true); !ok {
			return
		}
	}
}

func writeSSEEvent(w io.Writer, e revocation.Event) {
	data, err := e.MarshalJSON()
	if err != nil {
		panic(err)
	}
	fmt.Fprintf(w, "event: revocation\nid: %d\ndata: %s\n\n", e.Seq, data)
}

// Push assigns the next Seqs to events, stores them and wakes the streams.
func (fi *feedIssuer) Push(events ...revocation.Event) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	for _, e := range events {
		fi.head++
		e.Seq = fi.head
		fi.events = append(fi.events, e)
	}
	close(fi.grow)
	fi.grow = make(chan struct{})
}

// Prune drops the records up to Seq through.
func (fi *feedIssuer) Prune(through int64) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	fi.events = slices.DeleteFunc(fi.events, func(e revocation.Event) bool { return e.Seq <= through })
	fi.pruned = max(fi.pruned, through)
}

// Replace replaces the issuer's records with events, numbered from 1, as
// when its database is restored from an old backup.
func (fi *feedIssuer) Replace(events ...revocation.Event) {
	fi.mu.Lock()
	fi.events, fi.head, fi.pruned = nil, 0, 0
	fi.mu.Unlock()
	fi.Push(events...)
}

// Drop ends every open stream.
func (fi *feedIssuer) Drop() {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	close(fi.drop)
	fi.drop = make(chan struct{})
}

// set changes the issuer's behaviour under its lock.
func (fi *feedIssuer) set(f func(fi *feedIssuer)) {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	f(fi)
}

// nextStream waits for the next stream request.
func (fi *feedIssuer) nextStream(t *testing.T) feedConn {
	t.Helper()
	select {
	case c := <-fi.streams:
		return c
	case <-time.After(feedWait):
		t.Fatal("no stream request")
		return feedConn{}
	}
}

func (fi *feedIssuer) authHeaders() []string {
	fi.mu.Lock()
	defer fi.mu.Unlock()
	return slices.Clone(fi.auths)
}

// feedTokenEvent revokes the token with "jti" id until long after the tests.
func feedTokenEvent(id string) revocation.Event {
	return revocation.Event{
		Kind: revocation.KindToken, ID: id, Reason: "logout",
		At: time.Unix(1_760_000_000, 0).UTC(), Expires: time.Unix(4_000_000_000, 0).UTC(),
	}
}

// followerRevokes reports whether f's list revokes the token with "jti" id.
func followerRevokes(f *revocation.Follower, id string) bool {
	return errors.Is(f.List().Check("", &jwt.Claims{ID: id}), revocation.ErrRevoked)
}

// newTestFollower returns a follower of fi with fast reconnections;
// adjust changes the config first.
func newTestFollower(t *testing.T, fi *feedIssuer, adjust func(*revocation.FollowerConfig)) *revocation.Follower {
	t.Helper()
	cfg := revocation.FollowerConfig{
		URL:          fi.URL(),
		ClientID:     feedClientID,
		ClientSecret: feedSecret,
		HTTPClient:   fi.client,
		MinBackoff:   time.Millisecond,
		MaxBackoff:   5 * time.Millisecond,
	}
	if adjust != nil {
		adjust(&cfg)
	}
	f, err := revocation.NewFollower(cfg)
	if err != nil {
		t.Fatalf("NewFollower: %v", err)
	}
	return f
}

// runFollower starts f.Run and returns a func that cancels it and returns
// Run's result; the test fails if Run does not return promptly. It is
// also called when the test ends.
func runFollower(t *testing.T, f *revocation.Follower) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	stop = sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(feedWait):
			t.Error("Run did not return after its context was canceled")
			return nil
		}
	})
	t.Cleanup(func() { stop() })
	return stop
}

// waitFollowerReady waits until f is ready.
func waitFollowerReady(t *testing.T, f *revocation.Follower) {
	t.Helper()
	select {
	case <-f.Ready():
	case <-time.After(feedWait):
		t.Fatalf("follower not ready; stats %+v", f.Stats())
	}
}

func followerIsReady(f *revocation.Follower) bool {
	select {
	case <-f.Ready():
		return true
	default:
		return false
	}
}

// waitStats lets the bubble's clock run until f's stats satisfy cond,
// checking whenever the bubble is idle: the follower offers no channel for
// every event it applies.
func waitStats(t *testing.T, f *revocation.Follower, what string, cond func(revocation.Stats) bool) {
	t.Helper()
	deadline := time.Now().Add(feedWait)
	for synctest.Wait(); !cond(f.Stats()); synctest.Wait() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; stats %+v", what, f.Stats())
		}
		time.Sleep(time.Millisecond) // a backoff may be running
	}
}

func TestNewFollowerConfig(t *testing.T) {
	valid := revocation.FollowerConfig{URL: "https://auth.example.com/v1/revocations", ClientID: "svc", ClientSecret: "secret"}
	tests := []struct {
		name   string
		adjust func(*revocation.FollowerConfig)
		ok     bool
	}{
		{"valid", func(*revocation.FollowerConfig) {}, true},
		{"http", func(c *revocation.FollowerConfig) { c.URL = "http://localhost:8080/v1/revocations" }, true},
		{"query kept", func(c *revocation.FollowerConfig) { c.URL += "?tenant=a" }, true},
		{"no URL", func(c *revocation.FollowerConfig) { c.URL = "" }, false},
		{"relative URL", func(c *revocation.FollowerConfig) { c.URL = "/v1/revocations" }, false},
		{"other scheme", func(c *revocation.FollowerConfig) { c.URL = "ftp://auth.example.com/v1/revocations" }, false},
		{"no host", func(c *revocation.FollowerConfig) { c.URL = "https:///v1/revocations" }, false},
		{"credentials in URL", func(c *revocation.FollowerConfig) { c.URL = "https://svc:secret@auth.example.com/v1/revocations" }, false},
		{"fragment", func(c *revocation.FollowerConfig) { c.URL += "#x" }, false},
		{"unparsable URL", func(c *revocation.FollowerConfig) { c.URL = "https://auth.example.com/%zz" }, false},
		{"no client ID", func(c *revocation.FollowerConfig) { c.ClientID = "" }, false},
		{"no secret", func(c *revocation.FollowerConfig) { c.ClientSecret = "" }, false},
		{"min backoff over max", func(c *revocation.FollowerConfig) { c.MinBackoff, c.MaxBackoff = time.Second, time.Millisecond }, false},
		{"min backoff over default max", func(c *revocation.FollowerConfig) { c.MinBackoff = time.Minute }, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.adjust(&cfg)
			f, err := revocation.NewFollower(cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("NewFollower(%+v) error = %v, want ok %v", cfg, err, tt.ok)
			}
			if err != nil {
				if f != nil {
					t.Errorf("NewFollower returned a Follower with error %v", err)
				}
				if strings.Contains(err.Error(), cfg.ClientSecret) && cfg.ClientSecret != "" {
					t.Errorf("error %q shows the secret", err)
				}
				return
			}
			if f.List() == nil || f.List().Len() != 0 {
				t.Errorf("new follower's list = %v, want an empty list", f.List())
			}
			if s := f.Stats(); s != (revocation.Stats{}) {
				t.Errorf("new follower's Stats() = %+v, want zero", s)
			}
			if followerIsReady(f) {
				t.Error("new follower is ready")
			}
		})
	}
}

// TestFollowerCatchUpThenLive: the stream first sends what the follower
// missed, then new events as they are committed.
func TestFollowerCatchUpThenLive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fi := newFeedIssuer(t)
		fi.Push(feedTokenEvent("t1"), feedTokenEvent("t2"), feedTokenEvent("t3"))
		f := newTestFollower(t, fi, nil)
		runFollower(t, f)

		c := fi.nextStream(t)
		if c.after != "0" || c.lastEventID != "" {
			t.Errorf("first stream request: after %q, Last-Event-ID %q; want 0 and none", c.after, c.lastEventID)
		}
		waitFollowerReady(t, f)
		s := f.Stats()
		want := revocation.Stats{Cursor: 3, Head: 3, Entries: 3, Connected: true, Events: 3, LastSync: s.LastSync}
		if s != want || s.LastSync.IsZero() {
			t.Errorf("Stats() after catch-up = %+v, want %+v and LastSync set", s, want)
		}

		fi.Push(feedTokenEvent("t4"), feedTokenEvent("t5"))
		waitStats(t, f, "live events", func(s revocation.Stats) bool { return s.Cursor == 5 })
		for _, id := range []string{"t1", "t2", "t3", "t4", "t5"} {
			if !followerRevokes(f, id) {
				t.Errorf("token %s is not revoked", id)
			}
		}
		if followerRevokes(f, "t6") {
			t.Error("token t6 is revoked")
		}
		if s := f.Stats(); s.Events != 5 || s.Entries != 5 || s.Reconnects != 0 {
			t.Errorf("Stats() = %+v, want 5 events, 5 entries, no reconnects", s)
		}
	})
}

// TestFollowerResume: after the issuer drops the stream, the follower
// reconnects from its cursor with Last-Event-ID and ignores events it
// already applied.
func TestFollowerResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fi := newFeedIssuer(t)
		fi.Push(feedTokenEvent("t1"), feedTokenEvent("t2"), feedTokenEvent("t3"))
		// The second connection repeats old events, as a confused issuer or
		// proxy might.
		var replay strings.Builder
		for i, id := range []string{"t1", "t2", "t3"} {
			e := feedTokenEvent(id)
			e.Seq = int64(i + 1)
			writeSSEEvent(&replay, e)
		}
		fi.set(func(fi *feedIssuer) {
			fi.plan = func(n int) (string, bool) {
				if n == 2 {
					return replay.String(), false
				}
				return "", false
			}
		})
		f := newTestFollower(t, fi, nil)
		runFollower(t, f)
		fi.nextStream(t)
		waitFollowerReady(t, f)

		fi.Drop()
		fi.Push(feedTokenEvent("t4"))
		c := fi.nextStream(t)
		if c.lastEventID != "3" || c.after != "3" {
			t.Errorf("resumed stream request: Last-Event-ID %q, after %q; want 3 and 3", c.lastEventID, c.after)
		}
		fi.Push(feedTokenEvent("t5"))
		waitStats(t, f, "event 5", func(s revocation.Stats) bool { return s.Cursor == 5 })
		s := f.Stats()
		if s.Events != 5 || s.Entries != 5 || s.Reconnects != 1 {
			t.Errorf("Stats() = %+v, want 5 events (no duplicates), 5 entries, 1 reconnect", s)
		}
	})
}

// TestFollowerSnapshot: a cursor older than the issuer's oldest record
// gets a snapshot; the follower counts it and keeps what it holds.
func TestFollowerSnapshot(t *testing.T) {
	t.Run("new follower", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			fi := newFeedIssuer(t)
			fi.Push(feedTokenEvent("t1"), feedTokenEvent("t2"), feedTokenEvent("t3"), feedTokenEvent("t4"))
			fi.Prune(2)
			f := newTestFollower(t, fi, nil)
			runFollower(t, f)
			waitFollowerReady(t, f)
			s := f.Stats()
			if s.Snapshots != 1 || s.Cursor != 4 || s.Entries != 2 || s.Events != 2 {
				t.Errorf("Stats() = %+v, want 1 snapshot, cursor 4, 2 entries, 2 events", s)
			}
			if !followerRevokes(f, "t3") || !followerRevokes(f, "t4") {
				t.Error("the snapshot's events are not in the list")
			}
		})
	})
	t.Run("cursor pruned while away", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			fi := newFeedIssuer(t)
			fi.Push(feedTokenEvent("t1"), feedTokenEvent("t2"))
			f := newTestFollower(t, fi, nil)
			runFollower(t, f)
			waitFollowerReady(t, f)

			// Keep the follower out while the issuer moves on and prunes past
			// its cursor.
			fi.set(func(fi *feedIssuer) { fi.status = http.StatusServiceUnavailable })
			fi.Drop()
			fi.Push(feedTokenEvent("t3"), feedTokenEvent("t4"), feedTokenEvent("t5"), feedTokenEvent("t6"))
			fi.Prune(4)
			fi.set(func(fi *feedIssuer) { fi.status = 0 })

			waitStats(t, f, "snapshot", func(s revocation.Stats) bool { return s.Cursor == 6 })
			s := f.Stats()
			if s.Snapshots != 1 || s.Entries != 4 || s.Events != 4 {
				t.Errorf("Stats() = %+v, want 1 snapshot, 4 entries, 4 events", s)
			}
			for _, id := range []string{"t1", "t2", "t5", "t6"} {
				if !followerRevokes(f, id) {
					t.Errorf("token %s is not revoked", id)
				}
			}
		})
	})
}

// TestFollowerDatabaseReplaced: an issuer whose records restart from 1
// (its database was replaced) sends a snapshot to a follower whose cursor
// is beyond its head; the follower applies it and the events after it,
// and keeps what it held.
func TestFollowerDatabaseReplaced(t *testing.T) {
	before := []revocation.Event{feedTokenEvent("t1"), feedTokenEvent("t2"), feedTokenEvent("t3"), feedTokenEvent("t4")}
	after := []revocation.Event{feedTokenEvent("n1"), feedTokenEvent("n2")}
	check := func(t *testing.T, f *revocation.Follower) {
		t.Helper()
		want := revocation.Stats{Cursor: 2, Head: 2, Entries: 6, Events: 6, Snapshots: 1}
		s := f.Stats()
		s.Connected, s.LastSync, s.Reconnects = false, time.Time{}, 0
		if s != want {
			t.Errorf("Stats() = %+v, want %+v", s, want)
		}
		for _, id := range []string{"t1", "t4", "n1", "n2"} {
			if !followerRevokes(f, id) {
				t.Errorf("token %s is not revoked", id)
			}
		}
	}
	t.Run("stream", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			fi := newFeedIssuer(t)
			fi.Push(before...)
			f := newTestFollower(t, fi, nil)
			runFollower(t, f)
			waitFollowerReady(t, f)

			fi.set(func(fi *feedIssuer) { fi.status = http.StatusServiceUnavailable })
			fi.Drop()
			fi.Replace(after...)
			fi.set(func(fi *feedIssuer) { fi.status = 0 })
			waitStats(t, f, "the snapshot", func(s revocation.Stats) bool { return s.Snapshots == 1 && s.LastError == "" })
			check(t, f)

			fi.Push(feedTokenEvent("n3"))
			waitStats(t, f, "a live event after the snapshot", func(s revocation.Stats) bool { return s.Cursor == 3 })
			if !followerRevokes(f, "n3") {
				t.Error("token n3 is not revoked")
			}
		})
	})
	t.Run("sync", func(t *testing.T) {
		fi := newFeedIssuer(t)
		fi.Push(before...)
		fi.set(func(fi *feedIssuer) { fi.pageMax = 1 })
		f := newTestFollower(t, fi, nil)
		if err := f.Sync(t.Context()); err != nil {
			t.Fatalf("Sync() = %v", err)
		}
		fi.Replace(after...)
		if err := f.Sync(t.Context()); err != nil {
			t.Fatalf("Sync() after the issuer's database was replaced = %v", err)
		}
		check(t, f)
	})
}

// TestFollowerHeartbeatTimeout: a stream silent for HeartbeatTimeout is
// replaced by a new one that resumes from the cursor; a stream with
// heartbeats stays. It runs with the defaults on the bubble's clock: the
// issuer's 10 s heartbeat and the follower's 30 s timeout.
func TestFollowerHeartbeatTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const timeout = 30 * time.Second // FollowerConfig's default
		fi := newFeedIssuer(t)
		fi.Push(feedTokenEvent("t1"))
		fi.set(func(fi *feedIssuer) {
			fi.heartbeat = 10 * time.Second
			fi.plan = func(n int) (string, bool) { return "", n <= 2 } // the first two stall
		})
		f := newTestFollower(t, fi, nil)
		runFollower(t, f)

		fi.nextStream(t)
		start := time.Now()
		c := fi.nextStream(t)
		// The stall began when t1 was sent, at start; then a backoff.
		if d := time.Since(start); d < timeout || d > timeout+5*time.Millisecond {
			t.Errorf("a silent stream was replaced after %v, want %v and a backoff of at most 5ms", d, timeout)
		}
		if c.lastEventID != "1" {
			t.Errorf("stream after a silent one: Last-Event-ID %q, want 1", c.lastEventID)
		}
		s := f.Stats()
		if !strings.Contains(s.LastError, "silent") || s.Reconnects != 1 || followerIsReady(f) {
			t.Errorf("Stats() after a silent stream = %+v, want LastError about silence, 1 reconnect, not ready", s)
		}
		fi.nextStream(t)
		waitFollowerReady(t, f)
		if s := f.Stats(); s.Cursor != 1 || s.Events != 1 || s.Reconnects != 2 {
			t.Errorf("Stats() = %+v, want cursor 1, 1 event, 2 reconnects", s)
		}
		// With heartbeats every 10 s the stream stays, for many timeouts.
		time.Sleep(20 * timeout)
		if s := f.Stats(); s.Reconnects != 2 || !s.Connected || s.LastError != "" {
			t.Errorf("Stats() on a live stream = %+v, want 2 reconnects, connected, no error", s)
		}
		if n := len(fi.streams); n != 0 {
			t.Errorf("%d more stream requests on a live stream, want none", n)
		}
	})
}

// feedLogger records the levels and messages logged.
type feedLogger struct {
	mu      sync.Mutex
	records []string
}

func (l *feedLogger) Enabled(context.Context, slog.Level) bool { return true }
func (l *feedLogger) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *feedLogger) WithGroup(string) slog.Handler            { return l }
func (l *feedLogger) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Level.String() + " " + r.Message)
	r.Attrs(func(a slog.Attr) bool {
		b.WriteString(" " + a.String())
		return true
	})
	l.mu.Lock()
	l.records = append(l.records, b.String())
	l.mu.Unlock()
	return nil
}

func (l *feedLogger) lines() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.records)
}

func (l *feedLogger) count(level slog.Level) int {
	n := 0
	for _, line := range l.lines() {
		if strings.HasPrefix(line, level.String()+" ") {
			n++
		}
	}
	return n
}

// TestFollowerRefused: credentials the issuer refuses are a configuration
// problem: nothing is applied, the follower never becomes ready, the
// error is visible in Stats and logged once at ERROR, and retries go on.
func TestFollowerRefused(t *testing.T) {
	tests := []struct {
		name    string
		secret  string
		status  int
		wantErr string
	}{
		{"wrong secret", "wrong", 0, "401"},
		{"no scope", feedSecret, http.StatusForbidden, "403"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fi := newFeedIssuer(t)
				fi.Push(feedTokenEvent("t1"))
				fi.set(func(fi *feedIssuer) { fi.status = tt.status })
				var logs feedLogger
				f := newTestFollower(t, fi, func(c *revocation.FollowerConfig) {
					c.ClientSecret = tt.secret
					c.Logger = slog.New(&logs)
				})
				runFollower(t, f)
				for range 3 {
					select {
					case <-fi.requests:
					case <-time.After(feedWait):
						t.Fatal("the follower stopped retrying")
					}
				}
				s := f.Stats()
				if s.Events != 0 || s.Entries != 0 || s.Cursor != 0 || !strings.Contains(s.LastError, tt.wantErr) || s.Connected {
					t.Errorf("Stats() = %+v, want nothing applied and LastError with %s", s, tt.wantErr)
				}
				if followerIsReady(f) {
					t.Error("follower is ready")
				}
				if n := logs.count(slog.LevelError); n != 1 {
					t.Errorf("%d ERROR records, want 1:\n%s", n, strings.Join(logs.lines(), "\n"))
				}
				for _, line := range logs.lines() {
					if strings.Contains(line, tt.secret) {
						t.Errorf("log shows the secret: %s", line)
					}
				}
			})
		})
	}
}

// TestFollowerBasicAuth: client_secret_basic form-encodes the ID and the
// secret before joining them (RFC 6749 §2.3.1).
func TestFollowerBasicAuth(t *testing.T) {
	tests := []struct {
		name, id, secret string
		want             string // the credentials before base64
	}{
		{"plain", "svc", "s3cret", "svc:s3cret"},
		{"colon and percent", "svc", "p:ss%w0rd", "svc:p%3Ass%25w0rd"},
		{"colon in the ID", "svc:a", "x", "svc%3Aa:x"},
		{"space and plus", "my svc", "a+b c", "my+svc:a%2Bb+c"},
		{"reserved and non-ASCII", "svc", "&=/?é", "svc:%26%3D%2F%3F%C3%A9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fi := newFeedIssuer(t)
			f, err := revocation.NewFollower(revocation.FollowerConfig{URL: fi.URL(), ClientID: tt.id, ClientSecret: tt.secret, HTTPClient: fi.client})
			if err != nil {
				t.Fatal(err)
			}
			f.Sync(t.Context()) // refused: the issuer knows other credentials
			got := fi.authHeaders()
			want := "Basic " + base64.StdEncoding.EncodeToString([]byte(tt.want))
			if len(got) != 1 || got[0] != want {
				t.Errorf("Authorization = %q, want [%q]", got, want)
			}
		})
	}
}

// TestFollowerBadStream: a stream that sends a malformed event, an
// unknown event or an oversized line is dropped; nothing of the bad event
// or after it is applied, and the follower resumes from its cursor.
func TestFollowerBadStream(t *testing.T) {
	event := func(seq int64, id string) string {
		e := feedTokenEvent(id)
		e.Seq = seq
		var b strings.Builder
		writeSSEEvent(&b, e)
		return b.String()
	}
	good := event(3, "t3") // after the bad part: must not be applied either
	tests := []struct {
		name    string
		raw     string
		wantErr string
	}{
		{"truncated JSON", "event: revocation\nid: 2\ndata: {\"seq\":2,\n\n", "malformed"},
		{"unknown kind", "event: revocation\nid: 2\ndata: {\"seq\":2,\"kind\":\"all\",\"id\":\"t2\",\"at\":1,\"exp\":2}\n\n", "unknown kind"},
		{"unknown member", "event: revocation\nid: 2\ndata: {\"seq\":2,\"kind\":\"token\",\"id\":\"t2\",\"at\":1,\"exp\":2,\"x\":1}\n\n", "malformed"},
		{"unknown event", "event: surprise\ndata: {}\n\n", "unknown stream event"},
		{"unnamed event", "data: {}\n\n", "unknown stream event"},
		{"bad heartbeat", "event: heartbeat\ndata: {\"head\":\"x\",\"time\":1}\n\n", "malformed"},
		{"oversized line", "data: " + strings.Repeat("a", 1<<20) + "\n\n", "line longer"},
		{"oversized data", strings.Repeat("data: "+strings.Repeat("a", 1000)+"\n", 5) + "\n", "data longer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fi := newFeedIssuer(t)
				fi.Push(feedTokenEvent("t1"))
				fi.set(func(fi *feedIssuer) {
					fi.plan = func(n int) (string, bool) {
						if n == 1 {
							return tt.raw + good, false
						}
						return "", true // stall, so the error stays in Stats
					}
				})
				f := newTestFollower(t, fi, nil)
				runFollower(t, f)
				fi.nextStream(t)
				c := fi.nextStream(t)
				if c.lastEventID != "1" {
					t.Errorf("stream after the bad one: Last-Event-ID %q, want 1", c.lastEventID)
				}
				s := f.Stats()
				if s.Cursor != 1 || s.Events != 1 || s.Entries != 1 || s.Reconnects != 1 {
					t.Errorf("Stats() = %+v, want cursor 1, 1 event, 1 entry, 1 reconnect", s)
				}
				if !strings.Contains(s.LastError, tt.wantErr) || s.LastError == "" {
					t.Errorf("LastError = %q, want it to contain %q", s.LastError, tt.wantErr)
				}
				if followerRevokes(f, "t2") || followerRevokes(f, "t3") {
					t.Error("an event from the bad stream was applied")
				}
				if followerIsReady(f) {
					t.Error("follower is ready without a heartbeat")
				}
			})
		})
	}
}

// TestFollowerSync: Sync reads pages until the issuer has no more.
func TestFollowerSync(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	t.Run("pages", func(t *testing.T) {
		fi := newFeedIssuer(t)
		for i := range 25 {
			fi.Push(feedTokenEvent(fmt.Sprintf("t%d", i+1)))
		}
		fi.set(func(fi *feedIssuer) { fi.pageMax = 10 })
		f := newTestFollower(t, fi, func(c *revocation.FollowerConfig) { c.Now = func() time.Time { return t0 } })
		if err := f.Sync(t.Context()); err != nil {
			t.Fatalf("Sync() = %v", err)
		}
		var afters []string
		for len(fi.pages) > 0 {
			q := <-fi.pages
			afters = append(afters, q.Get("after"))
			if q.Get("limit") != "1000" {
				t.Errorf("page request limit = %q, want 1000", q.Get("limit"))
			}
		}
		if want := []string{"0", "10", "20"}; !slices.Equal(afters, want) {
			t.Errorf("page requests after %q, want %q", afters, want)
		}
		s := f.Stats()
		want := revocation.Stats{Cursor: 25, Head: 25, Entries: 25, Events: 25, LastSync: s.LastSync}
		if s != want || !s.LastSync.Equal(t0) {
			t.Errorf("Stats() = %+v, want %+v with LastSync %v", s, want, t0)
		}
		if !followerIsReady(f) || !followerRevokes(f, "t25") {
			t.Error("not ready or t25 not revoked after Sync")
		}

		// Again: one request, nothing new.
		fi.Push(feedTokenEvent("t26"))
		if err := f.Sync(t.Context()); err != nil {
			t.Fatalf("second Sync() = %v", err)
		}
		if q := <-fi.pages; q.Get("after") != "25" {
			t.Errorf("second Sync asked after %q, want 25", q.Get("after"))
		}
		if s := f.Stats(); s.Cursor != 26 || s.Events != 26 {
			t.Errorf("Stats() after the second Sync = %+v, want cursor 26, 26 events", s)
		}
	})
	t.Run("snapshot", func(t *testing.T) {
		fi := newFeedIssuer(t)
		fi.Push(feedTokenEvent("t1"), feedTokenEvent("t2"), feedTokenEvent("t3"), feedTokenEvent("t4"), feedTokenEvent("t5"))
		fi.Prune(3)
		fi.set(func(fi *feedIssuer) { fi.pageMax = 1 })
		f := newTestFollower(t, fi, nil)
		if err := f.Sync(t.Context()); err != nil {
			t.Fatalf("Sync() = %v", err)
		}
		if s := f.Stats(); s.Snapshots != 1 || s.Cursor != 5 || s.Entries != 2 {
			t.Errorf("Stats() = %+v, want 1 snapshot, cursor 5, 2 entries", s)
		}
	})
	t.Run("lag", func(t *testing.T) {
		fi := newFeedIssuer(t)
		fi.Push(feedTokenEvent("t1"), feedTokenEvent("t2"))
		fi.set(func(fi *feedIssuer) { fi.announce = 5 })
		f := newTestFollower(t, fi, nil)
		if err := f.Sync(t.Context()); err != nil {
			t.Fatalf("Sync() = %v", err)
		}
		if s := f.Stats(); s.Cursor != 2 || s.Head != 5 || s.Lag != 3 {
			t.Errorf("Stats() = %+v, want cursor 2, head 5, lag 3", s)
		}
	})

	failures := []struct {
		name    string
		secret  string
		status  int
		rawPage string
		is      error  // the kind of error, if any
		wantErr string // in the error and LastError
	}{
		{"refused", "wrong", 0, "", nil, "401"},
		{"server error", feedSecret, http.StatusInternalServerError, "", nil, "500"},
		{"not JSON", feedSecret, 0, "<html>", revocation.ErrMalformed, "malformed"},
		{"no next", feedSecret, 0, `{"events":[],"more":false,"snapshot":false,"head":0}`, revocation.ErrMalformed, "next"},
		{"more without progress", feedSecret, 0, `{"events":[],"next":0,"more":true,"snapshot":false,"head":9}`, revocation.ErrMalformed, "advance"},
		{"bad event", feedSecret, 0, `{"events":[{"seq":1,"kind":"token","id":"","at":1,"exp":2}],"next":1,"more":false,"snapshot":false,"head":1}`, revocation.ErrMalformed, "id"},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			fi := newFeedIssuer(t)
			fi.set(func(fi *feedIssuer) { fi.status, fi.rawPage = tt.status, tt.rawPage })
			f := newTestFollower(t, fi, func(c *revocation.FollowerConfig) { c.ClientSecret = tt.secret })
			err := f.Sync(t.Context())
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Fatalf("Sync() = %v, want an error with %q (kind %v)", err, tt.wantErr, tt.is)
			}
			if s := f.Stats(); s.LastError != err.Error() || s.Events != 0 || !s.LastSync.IsZero() {
				t.Errorf("Stats() = %+v, want LastError %q, nothing applied, no LastSync", s, err)
			}
			if followerIsReady(f) {
				t.Error("follower is ready after a failed Sync")
			}
		})
	}
}

// TestFollowerStale: Stale is true before the follower was ever current,
// false within the budget after a heartbeat, true past it.
func TestFollowerStale(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	clock := testclock.New(t0)
	fi := newFeedIssuer(t)
	fi.Push(feedTokenEvent("t1"))
	f := newTestFollower(t, fi, func(c *revocation.FollowerConfig) { c.Now = clock.Now })
	if !f.Stale(t0, time.Hour) {
		t.Error("Stale() before the follower was current = false, want true")
	}
	runFollower(t, f)
	waitFollowerReady(t, f)
	if got := f.Stats().LastSync; !got.Equal(t0) {
		t.Errorf("LastSync = %v, want %v", got, t0)
	}
	tests := []struct {
		name   string
		now    time.Time
		budget time.Duration
		want   bool
	}{
		{"at the heartbeat", t0, time.Minute, false},
		{"within the budget", t0.Add(59 * time.Second), time.Minute, false},
		{"at the budget", t0.Add(time.Minute), time.Minute, false},
		{"past the budget", t0.Add(time.Minute + time.Nanosecond), time.Minute, true},
		{"long past", t0.Add(24 * time.Hour), time.Minute, true},
		{"zero budget", t0.Add(time.Second), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := f.Stale(tt.now, tt.budget); got != tt.want {
				t.Errorf("Stale(%v, %v) = %v, want %v", tt.now, tt.budget, got, tt.want)
			}
		})
	}
	if n := testing.AllocsPerRun(100, func() { f.Stale(t0, time.Minute) }); n != 0 {
		t.Errorf("Stale allocates %v times, want 0", n)
	}
}

// TestFollowerStatsBeforeHeartbeat: events applied before any heartbeat
// move the cursor but not LastSync; Lag never goes negative.
func TestFollowerStatsBeforeHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fi := newFeedIssuer(t)
		e := feedTokenEvent("t1")
		e.Seq = 1
		var raw strings.Builder
		writeSSEEvent(&raw, e) // an event the issuer's head does not count yet
		fi.set(func(fi *feedIssuer) {
			fi.plan = func(int) (string, bool) { return raw.String(), true }
		})
		f := newTestFollower(t, fi, nil)
		runFollower(t, f)
		waitStats(t, f, "event 1", func(s revocation.Stats) bool { return s.Cursor == 1 })
		want := revocation.Stats{Cursor: 1, Entries: 1, Connected: true, Events: 1}
		if s := f.Stats(); s != want {
			t.Errorf("Stats() = %+v, want %+v", s, want)
		}
		if followerIsReady(f) {
			t.Error("follower is ready without a heartbeat")
		}
	})
}

// TestFollowerPrunes: Run drops expired entries every PruneInterval, not
// before. It runs with the default interval, 1 min, on the bubble's clock.
func TestFollowerPrunes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		t0 := time.Now()
		fi := newFeedIssuer(t)
		fi.set(func(fi *feedIssuer) { fi.heartbeat = 10 * time.Second }) // keep the stream
		short, long := feedTokenEvent("short"), feedTokenEvent("long")
		short.At, short.Expires = t0, t0.Add(30*time.Second)
		fi.Push(short, long)
		f := newTestFollower(t, fi, nil)
		runFollower(t, f)
		waitFollowerReady(t, f)
		if !followerRevokes(f, "short") || !followerRevokes(f, "long") {
			t.Fatal("events not applied")
		}
		time.Sleep(59 * time.Second) // short expired, but no prune yet
		synctest.Wait()
		if s := f.Stats(); s.Entries != 2 {
			t.Errorf("Stats() before PruneInterval = %+v, want 2 entries", s)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if s := f.Stats(); s.Entries != 1 {
			t.Errorf("Stats() after PruneInterval = %+v, want 1 entry", s)
		}
		if followerRevokes(f, "short") || !followerRevokes(f, "long") {
			t.Error("pruned the wrong entry")
		}
		if s := f.Stats(); s.Cursor != 2 || s.Events != 2 || s.Reconnects != 0 {
			t.Errorf("Stats() = %+v: pruning must not move the cursor, nor the stream end", s)
		}
	})
}

// TestFollowerRunStops: Run returns ctx's error promptly whatever it is
// doing, with its stream closed.
func TestFollowerRunStops(t *testing.T) {
	var accepted <-chan net.Conn // the mute server's connections, in "connecting"
	tests := []struct {
		name  string
		setup func(t *testing.T, fi *feedIssuer, cfg *revocation.FollowerConfig)
		wait  func(t *testing.T, fi *feedIssuer, f *revocation.Follower)
	}{
		{"connected",
			func(*testing.T, *feedIssuer, *revocation.FollowerConfig) {},
			func(t *testing.T, _ *feedIssuer, f *revocation.Follower) { waitFollowerReady(t, f) }},
		{"backing off",
			func(_ *testing.T, fi *feedIssuer, cfg *revocation.FollowerConfig) {
				fi.set(func(fi *feedIssuer) { fi.status = http.StatusServiceUnavailable })
				cfg.MinBackoff, cfg.MaxBackoff = time.Hour, time.Hour
			},
			func(t *testing.T, fi *feedIssuer, _ *revocation.Follower) {
				select {
				case <-fi.requests:
				case <-time.After(feedWait):
					t.Fatal("no request")
				}
			}},
		{"connecting",
			func(t *testing.T, fi *feedIssuer, cfg *revocation.FollowerConfig) {
				accepted = muteServer(t, fi, "mute.test")
				cfg.URL = "http://mute.test/v1/revocations"
			},
			func(t *testing.T, _ *feedIssuer, _ *revocation.Follower) {
				select {
				case c := <-accepted:
					t.Cleanup(func() { c.Close() })
				case <-time.After(feedWait):
					t.Fatal("no connection")
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				fi := newFeedIssuer(t)
				fi.Push(feedTokenEvent("t1"))
				f := newTestFollower(t, fi, func(c *revocation.FollowerConfig) { tt.setup(t, fi, c) })
				stop := runFollower(t, f)
				tt.wait(t, fi, f)
				if err := stop(); !errors.Is(err, context.Canceled) {
					t.Errorf("Run() = %v, want %v", err, context.Canceled)
				}
				if f.Stats().Connected {
					t.Error("Connected after Run returned")
				}
			})
		})
	}
	t.Run("canceled before", func(t *testing.T) {
		fi := newFeedIssuer(t)
		f := newTestFollower(t, fi, nil)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := f.Run(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("Run() = %v, want %v", err, context.Canceled)
		}
	})
}

// muteServer listens at host on fi's network, accepts connections and
// never answers; it returns the connections, which it closes when the
// test ends.
func muteServer(t *testing.T, fi *feedIssuer, host string) <-chan net.Conn {
	t.Helper()
	l, err := fi.net.Listen(host)
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 10)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go io.Copy(io.Discard, c) // read the request, as a kernel would
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		l.Close()
		for len(accepted) > 0 {
			(<-accepted).Close()
		}
	})
	return accepted
}
