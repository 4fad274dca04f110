package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/client"
	"github.com/latch-auth/latch/internal/feed"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/sqlite"
	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/revocation"
)

// addClient registers an OAuth client and returns its credentials.
func (a *api) addClient(name string, scopes ...string) (id, secret string) {
	a.t.Helper()
	c, secret, err := client.New(name, scopes, time.Now())
	if err != nil {
		a.t.Fatal(err)
	}
	if err := a.db.CreateClient(a.t.Context(), c); err != nil {
		a.t.Fatalf("CreateClient = %v, want nil", err)
	}
	return c.ID, secret
}

// basicAuth is the client_secret_basic header of RFC 6749 §2.3.1.
func basicAuth(id, secret string) http.Header {
	v := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id) + ":" + url.QueryEscape(secret)))
	return http.Header{"Authorization": {"Basic " + v}}
}

// revoke records a revocation of kind for subject, in force for an hour,
// and returns its Seq.
func (a *api) revoke(kind store.Kind, subject string) int64 {
	a.t.Helper()
	now := time.Now()
	seq, err := a.db.AddRevocation(a.t.Context(), store.Revocation{Kind: kind, Subject: subject, Reason: store.ReasonAdmin, At: now, Expires: now.Add(time.Hour)})
	if err != nil {
		a.t.Fatalf("AddRevocation = %v, want nil", err)
	}
	return seq
}

// feedAPI is an API serving the feed with cfg, and the credentials of a
// client that may read it.
func feedAPI(t *testing.T, cfg feed.Config) (a *api, auth http.Header) {
	t.Helper()
	a = newAPI(t, options{feed: &cfg})
	return a, basicAuth(a.addClient("feed reader", client.ScopeRevocationsRead))
}

// page fetches GET /v1/revocations with query and parses the page
// strictly, as a resource service does.
func (a *api) page(auth http.Header, query string) revocation.Page {
	a.t.Helper()
	r := a.do(request{method: "GET", path: "/v1/revocations" + query, header: auth})
	wantStatus(a.t, r, http.StatusOK)
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		a.t.Errorf("%s: Content-Type %q, want application/json", r.req, ct)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		a.t.Errorf("%s: Cache-Control %q, want no-store", r.req, cc)
	}
	p, err := revocation.ParsePage(r.body)
	if err != nil {
		a.t.Fatalf("%s: ParsePage(%q) = %v, want nil", r.req, r.body, err)
	}
	return p
}

func eventSeqs(evs []revocation.Event) []int64 {
	var s []int64
	for _, e := range evs {
		s = append(s, e.Seq)
	}
	return s
}

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	name, id, data string
}

// sseStream is an open GET /v1/revocations/stream.
type sseStream struct {
	t      *testing.T
	events chan sseEvent // closed when the stream ends, err then set
	err    error
	cancel func()
}

// stream opens the feed stream with header and query; it must answer 200.
func (a *api) stream(header http.Header, query string) *sseStream {
	a.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", a.url+"/v1/revocations/stream"+query, nil)
	if err != nil {
		a.t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := a.client.Do(req)
	if err != nil {
		cancel()
		a.t.Fatalf("GET /v1/revocations/stream%s: %v", query, err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		cancel()
		a.t.Fatalf("GET /v1/revocations/stream%s = %d %s, want 200", query, resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		a.t.Errorf("stream Content-Type %q, want text/event-stream", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		a.t.Errorf("stream Cache-Control %q, want no-store", cc)
	}
	s := &sseStream{t: a.t, events: make(chan sseEvent, 10000), cancel: cancel}
	go s.read(resp.Body)
	a.t.Cleanup(s.close)
	return s
}

func (s *sseStream) read(body io.ReadCloser) {
	defer close(s.events)
	defer body.Close()
	br := bufio.NewReader(body)
	var ev sseEvent
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			s.err = err
			return
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" {
			s.events <- ev
			ev = sseEvent{}
			continue
		}
		name, value, _ := strings.Cut(line, ": ")
		switch name {
		case "event":
			ev.name = value
		case "id":
			ev.id = value
		case "data":
			ev.data = value
		default:
			s.err = fmt.Errorf("unexpected stream line %q", line)
			return
		}
	}
}

// close ends the stream from the client's side and waits for its reader.
func (s *sseStream) close() {
	s.cancel()
	for range s.events {
	}
}

// next returns the next event, failing the test if none comes within d.
func (s *sseStream) next(d time.Duration) sseEvent {
	s.t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			s.t.Fatalf("the stream ended: %v", s.err)
		}
		return ev
	case <-time.After(d):
		s.t.Fatalf("no stream event within %v", d)
	}
	panic("unreachable")
}

// revocation reads the next event, which must be a revocation with Seq
// seq.
func (s *sseStream) revocation(seq int64, d time.Duration) revocation.Event {
	s.t.Helper()
	ev := s.next(d)
	if ev.name != "revocation" || ev.id != strconv.FormatInt(seq, 10) {
		s.t.Fatalf("stream event %+v, want revocation %d", ev, seq)
	}
	e, err := revocation.ParseEvent([]byte(ev.data))
	if err != nil || e.Seq != seq {
		s.t.Fatalf("stream event data %q: ParseEvent = %+v, %v, want Seq %d", ev.data, e, err, seq)
	}
	return e
}

// heartbeat reads the next event, which must be a heartbeat with head.
func (s *sseStream) heartbeat(head int64, d time.Duration) {
	s.t.Helper()
	ev := s.next(d)
	if ev.name != "heartbeat" || ev.id != "" {
		s.t.Fatalf("stream event %+v, want a heartbeat", ev)
	}
	hb, err := revocation.ParseHeartbeat([]byte(ev.data))
	if err != nil || hb.Head != head || time.Since(time.Unix(hb.Time, 0)).Abs() > time.Minute {
		s.t.Fatalf("heartbeat %q: ParseHeartbeat = %+v, %v, want head %d and the current time", ev.data, hb, err, head)
	}
}

// ended waits up to d for the stream to end and returns why.
func (s *sseStream) ended(d time.Duration) error {
	s.t.Helper()
	timeout := time.After(d)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok {
				return s.err
			}
			if ev.name != "heartbeat" {
				s.t.Fatalf("stream event %+v while waiting for the end", ev)
			}
		case <-timeout:
			s.t.Fatalf("the stream did not end within %v", d)
		}
	}
}

// eventually polls cond every few milliseconds until it holds, failing
// the test after d.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestFeedAuth(t *testing.T) {
	a, auth := feedAPI(t, feed.Config{})
	introID, introSecret := a.addClient("introspector", client.ScopeIntrospect)
	readerID, readerSecret := a.addClient("other reader", client.ScopeRevocationsRead)
	a.addUser("ann@example.com")
	tk := a.login("ann@example.com")
	a.revoke(store.KindToken, "jti-1")

	tests := []struct {
		name   string
		header http.Header
		status int
		code   string
	}{
		{"no credentials", nil, http.StatusUnauthorized, "invalid_client"},
		{"a user's bearer token", http.Header{"Authorization": {"Bearer " + tk.AccessToken}}, http.StatusUnauthorized, "invalid_client"},
		{"wrong secret", basicAuth(readerID, readerSecret+"x"), http.StatusUnauthorized, "invalid_client"},
		{"another client's secret", basicAuth(readerID, introSecret), http.StatusUnauthorized, "invalid_client"},
		{"unknown client", basicAuth("c_00000000000000000000000000000000", readerSecret), http.StatusUnauthorized, "invalid_client"},
		{"malformed", http.Header{"Authorization": {"Basic !!!"}}, http.StatusUnauthorized, "invalid_client"},
		{"client without the scope", basicAuth(introID, introSecret), http.StatusForbidden, "insufficient_scope"},
	}
	for _, path := range []string{"/v1/revocations", "/v1/revocations/stream"} {
		descs := map[string]string{}
		for _, tt := range tests {
			t.Run(path+"/"+tt.name, func(t *testing.T) {
				r := a.do(request{method: "GET", path: path, header: tt.header})
				e := wantError(t, r, tt.status, tt.code)
				if tt.status == http.StatusUnauthorized {
					if wa := r.header.Get("WWW-Authenticate"); wa != `Basic realm="latch"` {
						t.Errorf("%s: WWW-Authenticate %q, want Basic realm=\"latch\"", r.req, wa)
					}
					if tt.header != nil {
						descs[tt.name] = e.Description
					}
				}
				for _, secret := range []string{readerSecret, introSecret} {
					if strings.Contains(string(r.body), secret) {
						t.Errorf("%s: the response echoes a secret: %s", r.req, r.body)
					}
				}
			})
		}
		// A wrong secret and an unknown client are told apart by nothing.
		if descs["wrong secret"] != descs["unknown client"] || descs["wrong secret"] != descs["malformed"] {
			t.Errorf("%s: refusals differ: %q", path, descs)
		}
	}

	t.Run("good", func(t *testing.T) {
		p := a.page(auth, "")
		if !slices.Equal(eventSeqs(p.Events), []int64{1}) {
			t.Errorf("page events %v, want [1]", eventSeqs(p.Events))
		}
		s := a.stream(basicAuth(readerID, readerSecret), "")
		s.revocation(1, 5*time.Second)
		s.heartbeat(1, 5*time.Second)
	})
}

func TestFeedParams(t *testing.T) {
	a, auth := feedAPI(t, feed.Config{})
	for _, q := range []string{
		"?after=-1", "?after=x", "?after=1.5", "?after=+1", "?after=", "?after=1&after=2",
		"?after=99999999999999999999", "?limit=0", "?limit=1001", "?limit=x", "?limit=-1", "?limit=",
	} {
		r := a.do(request{method: "GET", path: "/v1/revocations" + q, header: auth})
		wantError(t, r, http.StatusBadRequest, "invalid_request")
	}
	for _, tt := range []struct {
		query       string
		lastEventID string
	}{
		{"?after=-1", ""},
		{"?after=abc", ""},
		{"", "abc"},
		{"", "-1"},
		{"", "1 2"},
		{"?after=1", "x"}, // Last-Event-ID wins, and is bad
	} {
		h := auth.Clone()
		if tt.lastEventID != "" {
			h.Set("Last-Event-ID", tt.lastEventID)
		}
		r := a.do(request{method: "GET", path: "/v1/revocations/stream" + tt.query, header: h})
		wantError(t, r, http.StatusBadRequest, "invalid_request")
	}
	// Good values at the bounds.
	a.page(auth, "?after=0&limit=1000")
	a.page(auth, "?limit=1")
	// Last-Event-ID wins over a bad ?after.
	h := auth.Clone()
	h.Set("Last-Event-ID", "0")
	a.stream(h, "?after=bad").heartbeat(0, 5*time.Second)
}

// TestFeedWithoutHub checks that the routes exist only with a feed.
func TestFeedWithoutHub(t *testing.T) {
	a := newAPI(t, options{})
	r := a.do(request{method: "GET", path: "/v1/revocations"})
	wantError(t, r, http.StatusNotFound, "not_found")
}

func TestFeedPaging(t *testing.T) {
	a, auth := feedAPI(t, feed.Config{})
	a.revoke(store.KindToken, "jti-1")
	a.revoke(store.KindSession, "sid-2")
	a.revoke(store.KindSubject, "user-3")
	a.revoke(store.KindKey, "kid-4")
	a.revoke(store.KindToken, "jti-5")

	var got []revocation.Event
	after := int64(0)
	var pages int
	for {
		p := a.page(auth, fmt.Sprintf("?after=%d&limit=2", after))
		pages++
		got = append(got, p.Events...)
		if p.Head != 5 || p.Snapshot {
			t.Errorf("page after %d: head %d snapshot %v, want head 5, no snapshot", after, p.Head, p.Snapshot)
		}
		if len(p.Events) > 2 {
			t.Fatalf("page after %d has %d events, want at most 2", after, len(p.Events))
		}
		after = p.Next
		if !p.More {
			break
		}
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if pages != 3 || after != 5 || !slices.Equal(eventSeqs(got), []int64{1, 2, 3, 4, 5}) {
		t.Errorf("paged %v in %d pages ending at %d, want [1 2 3 4 5] in 3 ending at 5", eventSeqs(got), pages, after)
	}
	if e := got[2]; e.Kind != revocation.KindSubject || e.ID != "user-3" || e.Reason != "admin" || e.At.Nanosecond() != 0 || !e.Expires.After(e.At) {
		t.Errorf("event 3 = %+v, want subject user-3 for admin, whole seconds", e)
	}
	// Current: nothing more, the cursor stays.
	if p := a.page(auth, "?after=5"); len(p.Events) != 0 || p.Next != 5 || p.More {
		t.Errorf("page after 5 = %+v, want empty, next 5, no more", p)
	}
}

func TestFeedSnapshot(t *testing.T) {
	a, auth := feedAPI(t, feed.Config{})
	now := time.Now()
	for _, subject := range []string{"old-1", "old-2"} {
		if _, err := a.db.AddRevocation(t.Context(), store.Revocation{Kind: store.KindToken, Subject: subject, Reason: store.ReasonAdmin, At: now.Add(-2 * time.Hour), Expires: now.Add(-time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	a.revoke(store.KindToken, "jti-3")
	a.revoke(store.KindToken, "jti-4")
	if n, err := a.db.PruneRevocations(t.Context(), now); err != nil || n != 2 {
		t.Fatalf("PruneRevocations = %d, %v, want 2, nil", n, err)
	}

	// A cursor behind the pruned records gets a snapshot of what is kept.
	p := a.page(auth, "?after=1")
	if !p.Snapshot || !slices.Equal(eventSeqs(p.Events), []int64{3, 4}) || p.Next != 4 {
		t.Errorf("page after 1 = %v snapshot %v next %d, want [3 4], a snapshot, next 4", eventSeqs(p.Events), p.Snapshot, p.Next)
	}
	p = a.page(auth, "?after=2")
	if p.Snapshot || !slices.Equal(eventSeqs(p.Events), []int64{3, 4}) {
		t.Errorf("page after 2 = %v snapshot %v, want [3 4] and no snapshot", eventSeqs(p.Events), p.Snapshot)
	}

	s := a.stream(auth, "?after=1")
	if ev := s.next(5 * time.Second); ev.name != "snapshot" {
		t.Fatalf("first stream event %+v, want a snapshot", ev)
	}
	s.revocation(3, 5*time.Second)
	s.revocation(4, 5*time.Second)
	s.heartbeat(4, 5*time.Second)
}

func TestFeedStream(t *testing.T) {
	// The poll is an hour away: what arrives comes through Notify.
	a, auth := feedAPI(t, feed.Config{Poll: time.Hour})
	a.revoke(store.KindToken, "jti-1")
	a.revoke(store.KindToken, "jti-2")
	a.revoke(store.KindToken, "jti-3")

	s := a.stream(auth, "?after=1")
	s.revocation(2, 5*time.Second)
	s.revocation(3, 5*time.Second)
	s.heartbeat(3, 5*time.Second)
	scrape := a.metrics()
	if n := metric(t, scrape, "latch_feed_subscribers"); n != 1 {
		t.Errorf("latch_feed_subscribers = %v with a stream open, want 1", n)
	}

	start := time.Now()
	a.revoke(store.KindSubject, "user-4")
	e := s.revocation(4, 5*time.Second)
	took := time.Since(start)
	t.Logf("a committed revocation reached the stream in %v", took)
	if took > time.Second {
		t.Errorf("the revocation took %v to reach the stream, want well under a second", took)
	}
	if e.Kind != revocation.KindSubject || e.ID != "user-4" {
		t.Errorf("event = %+v, want subject user-4", e)
	}

	// A logout revokes its session in the store, which pushes it too.
	u := a.addUser("ann@example.com")
	tk := a.login("ann@example.com")
	wantStatus(t, a.do(request{method: "POST", path: "/v1/logout", bearer: tk.AccessToken, body: "{}"}), http.StatusOK)
	e = s.revocation(5, 5*time.Second)
	if e.Kind != revocation.KindSession || e.ID != tk.SessionID || e.Reason != "logout" {
		t.Errorf("event = %+v, want session %s ended by logout of %s", e, tk.SessionID, u.ID)
	}

	s.close()
	eventually(t, 5*time.Second, "the subscriber is still counted after the client left", func() bool {
		return a.hub.Stats().Subscribers == 0
	})
	scrape = a.metrics()
	for series, want := range map[string]float64{
		"latch_feed_subscribers":                          0,
		"latch_feed_head_seq":                             5,
		"latch_feed_events_sent_total":                    4,
		`latch_feed_disconnects_total{reason="client"}`:   1,
		`latch_feed_disconnects_total{reason="slow"}`:     0,
		`latch_feed_disconnects_total{reason="shutdown"}`: 0,
	} {
		if got := metric(t, scrape, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	if !strings.Contains(scrape, `latch_feed_disconnects_total{reason="slow"} 0`) {
		t.Errorf("the slow disconnect counter is not exposed at zero")
	}
}

func TestFeedStreamResume(t *testing.T) {
	a, auth := feedAPI(t, feed.Config{Poll: time.Hour})
	for i := range 5 {
		a.revoke(store.KindToken, fmt.Sprintf("jti-%d", i+1))
	}
	// An EventSource reconnecting sends the last ID it saw; it wins over
	// the URL's cursor.
	h := auth.Clone()
	h.Set("Last-Event-ID", "2")
	s := a.stream(h, "?after=4")
	s.revocation(3, 5*time.Second)
	s.revocation(4, 5*time.Second)
	s.revocation(5, 5*time.Second)
	s.heartbeat(5, 5*time.Second)
	// Nothing is sent twice: the next event is the next revocation.
	a.revoke(store.KindToken, "jti-6")
	s.revocation(6, 5*time.Second)
}

func TestFeedStreamHeartbeat(t *testing.T) {
	a, auth := feedAPI(t, feed.Config{Heartbeat: 20 * time.Millisecond})
	a.revoke(store.KindToken, "jti-1")
	s := a.stream(auth, "")
	s.revocation(1, 5*time.Second)
	s.heartbeat(1, 5*time.Second) // caught up
	s.heartbeat(1, 5*time.Second) // and alive
	s.heartbeat(1, 5*time.Second)
}

// TestFeedStreamOutlivesServerTimeouts checks that a stream is not ended
// by the http.Server's ReadTimeout and WriteTimeout, which bound whole
// requests (HTTPServer sets 15 s and 30 s; here they are shortened).
func TestFeedStreamOutlivesServerTimeouts(t *testing.T) {
	const timeout = 100 * time.Millisecond
	a := newAPI(t, options{
		feed: &feed.Config{Heartbeat: 20 * time.Millisecond},
		httpServer: func(s *http.Server) {
			s.ReadTimeout, s.WriteTimeout = timeout, timeout
		},
	})
	auth := basicAuth(a.addClient("feed reader", client.ScopeRevocationsRead))
	s := a.stream(auth, "")
	s.heartbeat(0, 5*time.Second)
	for end := time.Now().Add(4 * timeout); time.Now().Before(end); {
		s.heartbeat(0, 5*time.Second)
	}
	a.revoke(store.KindToken, "jti-1")
	for {
		if ev := s.next(5 * time.Second); ev.name == "revocation" {
			break
		}
	}
}

// TestFeedStreamPolls checks that a record written by another process
// (here a second handle on the database file, which notifies nobody)
// reaches the stream by polling.
func TestFeedStreamPolls(t *testing.T) {
	a, auth := feedAPI(t, feed.Config{Poll: 20 * time.Millisecond})
	s := a.stream(auth, "")
	s.heartbeat(0, 5*time.Second)

	other, err := sqlite.Open(t.Context(), a.dbPath, sqlite.Options{})
	if err != nil {
		t.Fatalf("second sqlite.Open = %v, want nil", err)
	}
	defer other.Close()
	now := time.Now()
	if _, err := other.AddRevocation(t.Context(), store.Revocation{Kind: store.KindToken, Subject: "from-the-cli", Reason: store.ReasonAdmin, At: now, Expires: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if e := s.revocation(1, 5*time.Second); e.ID != "from-the-cli" {
		t.Errorf("event = %+v, want the other process's revocation", e)
	}
}

// smallBuffers makes the server's sockets' send buffers small, so that a
// client that does not read blocks the server's writes quickly.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4 << 10)
	}
	return c, err
}

func TestFeedSlowReader(t *testing.T) {
	a := newAPI(t, options{
		feed:     &feed.Config{Buffer: 4, WriteTimeout: 200 * time.Millisecond, Poll: time.Hour},
		listener: func(l net.Listener) net.Listener { return smallBuffers{l} },
	})
	auth := basicAuth(a.addClient("slow reader", client.ScopeRevocationsRead))

	// A client that sends its request, reads up to the first heartbeat
	// (the stream is then live) and stops reading.
	u, _ := url.Parse(a.url)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4 << 10)
	fmt.Fprintf(conn, "GET /v1/revocations/stream HTTP/1.1\r\nHost: %s\r\nAuthorization: %s\r\nConnection: close\r\n\r\n", u.Host, auth.Get("Authorization"))
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReaderSize(conn, 16)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("reading the stream's start: %v", err)
		}
		if strings.HasPrefix(line, "event: heartbeat") {
			break
		}
	}
	if st := a.hub.Stats(); st.Subscribers != 1 {
		t.Fatalf("Stats().Subscribers = %d with the stream live, want 1", st.Subscribers)
	}

	// Revocations until the hub cuts the reader off: its socket buffers
	// fill, its writer blocks, its queue fills.
	long := strings.Repeat("x", 200)
	var n int
	deadline := time.Now().Add(10 * time.Second)
	for a.hub.Stats().Disconnects[feed.ReasonSlow] == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("after %d revocations in 10 s the slow reader is still connected: %+v", n, a.hub.Stats())
		}
		a.revoke(store.KindToken, fmt.Sprintf("%s-%d", long, n))
		n++
	}
	t.Logf("the slow reader was cut off after %d revocations", n)
	if st := a.hub.Stats(); st.Subscribers != 0 {
		t.Errorf("Stats().Subscribers = %d after the cut-off, want 0", st.Subscribers)
	}

	// The stream ends: its pending write times out and the server closes
	// the connection, which the client sees once it reads what was sent.
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, br); err != nil && !errors.Is(err, net.ErrClosed) && !isReset(err) {
		t.Errorf("reading the cut-off stream: %v, want its end", err)
	}

	eventually(t, 5*time.Second, "the hub did not read every revocation", func() bool { return a.hub.Stats().Head == int64(n) })
	scrape := a.metrics()
	for series, want := range map[string]float64{
		"latch_feed_subscribers":                      0,
		`latch_feed_disconnects_total{reason="slow"}`: 1,
		"latch_feed_head_seq":                         float64(n),
	} {
		if got := metric(t, scrape, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}

	// The reader reconnects from its cursor and loses nothing.
	s := a.stream(auth, "?after=0")
	for seq := int64(1); seq <= int64(n); seq++ {
		s.revocation(seq, 5*time.Second)
	}
	s.heartbeat(int64(n), 5*time.Second)
}

// isReset reports a connection reset: the server closing with unread
// data is allowed to end the connection so.
func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne) && strings.Contains(err.Error(), "reset")
}

func TestFeedShutdown(t *testing.T) {
	a, auth := feedAPI(t, feed.Config{Poll: time.Hour})
	s := a.stream(auth, "")
	s.heartbeat(0, 5*time.Second)

	a.stopHub()
	if err := s.ended(5 * time.Second); err != io.EOF {
		t.Errorf("the stream ended with %v when the hub stopped, want a clean end (EOF)", err)
	}
	if st := a.hub.Stats(); st.Subscribers != 0 || st.Disconnects[feed.ReasonShutdown] != 1 {
		t.Errorf("Stats = %+v, want no subscriber and one shutdown disconnect", st)
	}
	r := a.do(request{method: "GET", path: "/v1/revocations/stream", header: auth})
	wantError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable")
}

// jwtClaims are the claims of a token with ID jti.
func jwtClaims(jti string) jwt.Claims {
	return jwt.Claims{ID: jti, Subject: "someone", IssuedAt: time.Now()}
}

// jti returns the "jti" claim of a token, unverified.
func jti(t *testing.T, token string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		ID string `json:"jti"`
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.ID == "" {
		t.Fatalf("token payload %s has no jti: %v", payload, err)
	}
	return c.ID
}

// TestAuthedDenyList checks that the server's own endpoints refuse
// tokens its feed has revoked even though their sessions are active.
func TestAuthedDenyList(t *testing.T) {
	a, _ := feedAPI(t, feed.Config{Poll: time.Hour})

	// refused waits until token is refused as revoked.
	refused := func(token string) {
		t.Helper()
		var r response
		eventually(t, 5*time.Second, "GET /v1/me still accepts the revoked token", func() bool {
			r = a.me(token)
			return r.status != http.StatusOK
		})
		wantInvalidToken(t, r, token)
		var e apiError
		decode(t, r, &e)
		if e.Description != "token revoked" {
			t.Errorf("%s: error_description %q, want \"token revoked\"", r.req, e.Description)
		}
	}

	t.Run("subject", func(t *testing.T) {
		u := a.addUser("ann@example.com", "admin")
		tk := a.login("ann@example.com")
		wantStatus(t, a.me(tk.AccessToken), http.StatusOK)
		// Ann's roles change: her tokens carry stale roles. Her sessions
		// stay, so only the deny list can refuse the token.
		if _, _, err := a.db.RevokeUser(t.Context(), u.ID, store.ReasonRoleChange, time.Now(), false, nil); err != nil {
			t.Fatalf("RevokeUser = %v, want nil", err)
		}
		refused(tk.AccessToken)
	})

	t.Run("jti", func(t *testing.T) {
		a.addUser("bob@example.com")
		tk := a.login("bob@example.com")
		wantStatus(t, a.me(tk.AccessToken), http.StatusOK)
		a.revoke(store.KindToken, jti(t, tk.AccessToken))
		refused(tk.AccessToken)
		// One token is revoked, not the session: a refreshed token works.
		r := a.refresh(tk.RefreshToken)
		wantStatus(t, r, http.StatusOK)
		var next tokens
		decode(t, r, &next)
		wantStatus(t, a.me(next.AccessToken), http.StatusOK)
	})
}

// TestFeedFollower checks the server against the feed's client, as a
// resource service runs it: a catch-up by pages, then the stream.
func TestFeedFollower(t *testing.T) {
	a, _ := feedAPI(t, feed.Config{Poll: time.Hour})
	id, secret := a.addClient("resource service", client.ScopeRevocationsRead)
	a.revoke(store.KindToken, "jti-1")
	a.revoke(store.KindSession, "sid-2")

	f, err := revocation.NewFollower(revocation.FollowerConfig{
		URL: a.url + "/v1/revocations", ClientID: id, ClientSecret: secret, HTTPClient: a.client,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(t.Context()); err != nil {
		t.Fatalf("Follower.Sync = %v, want nil", err)
	}
	if st := f.Stats(); st.Cursor != 2 || st.Head != 2 {
		t.Errorf("after Sync, Follower.Stats = %+v, want cursor and head 2", st)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })

	a.revoke(store.KindToken, "jti-3")
	claims := jwtClaims("jti-3")
	eventually(t, 5*time.Second, "the follower did not apply the streamed revocation", func() bool {
		return errors.Is(f.List().Check("", &claims), revocation.ErrRevoked)
	})
	if st := f.Stats(); st.Cursor != 3 {
		t.Errorf("Follower.Stats = %+v, want cursor 3", st)
	}
}

// TestFeedStreamEndsWhenClientRemoved checks that removing a client, or
// giving it a new secret, ends the streams it opened: credentials are
// checked when a request starts, and a stream lasts.
func TestFeedStreamEndsWhenClientRemoved(t *testing.T) {
	for _, change := range []string{"removed", "new secret"} {
		t.Run(change, func(t *testing.T) {
			a := newAPI(t, options{feed: &feed.Config{Poll: time.Hour}, clientRecheck: 20 * time.Millisecond})
			id, secret := a.addClient("reader", client.ScopeRevocationsRead)
			s := a.stream(basicAuth(id, secret), "")
			s.heartbeat(0, 5*time.Second)
			var err error
			if change == "removed" {
				err = a.db.DeleteClient(t.Context(), id)
			} else {
				_, err = a.db.UpdateClient(t.Context(), id, func(c store.Client) (store.Client, error) {
					c.SecretHash = bytes.Repeat([]byte{1}, 32)
					return c, nil
				})
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := s.ended(5 * time.Second); err != io.EOF {
				t.Errorf("stream of a client %s ended with %v, want a clean end (EOF)", change, err)
			}
			eventually(t, 5*time.Second, "no subscriber left", func() bool { return a.hub.Stats().Subscribers == 0 })
			// A stream's length is no request latency.
			if m := a.metrics(); strings.Contains(m, `latch_http_request_duration_seconds_count{code="200",route="GET /v1/revocations/stream"}`) {
				t.Error("the latency histogram counts a stream")
			}
		})
	}
}
