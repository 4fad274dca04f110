// Package feed is the server side of latch's revocation feed, whose
// protocol package revocation describes: a Hub that tails the store's
// revocation records, answers page requests, and pushes new records to
// every Server-Sent Events stream as soon as they commit.
//
// One Hub runs per server process. Run reads the records the store
// retains, then tails the store: at once when Notify says this process
// committed one (cmd/latch passes Notify as store.Options.Notify), and
// every Config.Poll for records other processes wrote (an operator's
// `latch revoke` on the same database, another server node). Each new
// record goes, in Seq order, to the Hub's own deny list (which the server
// checks the tokens of its own endpoints against), to Config.OnEvent and
// to every open stream.
//
// Streams are bounded and resumable: each has a queue of Config.Buffer
// events, filled by the Hub without ever blocking; a reader too slow to
// keep up is cut off and reconnects from its cursor (Last-Event-ID),
// losing nothing. Each write has its own deadline, Config.WriteTimeout
// (the http.Server's WriteTimeout would end every stream), and a
// heartbeat is sent every Config.Heartbeat. Stop the Hub (end Run's
// context) when the http.Server shuts down: http.Server.Shutdown waits
// for the streams' handlers, which end only then.
//
// The Hub has no HTTP of its own beyond writing a stream: the server
// authenticates the client, parses the cursor and maps the errors
// ServeStream and Page return.
//
// A Poller delivers the same records as Security Event Tokens (RFC 8417,
// made by SignSET) to receivers that poll for them (RFC 8936), each
// receiver's acknowledgements kept in the store with its client record.
package feed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/revocation"
)

// Store is what the Hub reads: the feed part of store.Revocations.
type Store interface {
	RevocationsSince(ctx context.Context, after int64, limit int) ([]store.Revocation, error)
	RevocationBounds(ctx context.Context) (pruned, head int64, err error)
}

// Defaults of Config's zero fields, and the largest page.
const (
	DefaultHeartbeat    = 10 * time.Second
	DefaultPoll         = time.Second
	DefaultBuffer       = 1024
	DefaultWriteTimeout = 10 * time.Second
	MaxPageLimit        = 1000
)

// Config tunes a Hub. The zero value is ready to use.
type Config struct {
	// Heartbeat is the interval between a stream's heartbeat events.
	// Default DefaultHeartbeat.
	Heartbeat time.Duration
	// Poll is how often the Hub reads the store for records that this
	// process did not announce with Notify: those written by another
	// process on the same database. Default DefaultPoll.
	Poll time.Duration
	// Buffer is how many events may wait for one stream's writer before
	// that stream is cut off as too slow. Default DefaultBuffer.
	Buffer int
	// PageLimit is the most events in a Page, and the page size of a
	// stream's catch-up reads. Default and maximum MaxPageLimit.
	PageLimit int
	// WriteTimeout bounds each write to a stream; a stream whose write
	// does not complete in time ends. Default DefaultWriteTimeout.
	WriteTimeout time.Duration
	// OnEvent, when not nil, is called from Run with every event in Seq
	// order: the retained records first, then each new one. It must not
	// block for long (new events wait for it) nor call the Hub.
	OnEvent func(revocation.Event)
	// Logger receives records the Hub skips and store failures it retries;
	// nil discards.
	Logger *slog.Logger
	// Now returns the current time, for heartbeats and deny-list pruning;
	// nil means time.Now.
	Now func() time.Time
}

// Errors. Test with errors.Is.
var (
	// ErrStopped reports a stream requested after Run has returned.
	ErrStopped = errors.New("feed: hub stopped")
	// ErrNotReady reports that Run has not loaded the retained records
	// yet: the deny list is not complete.
	ErrNotReady = errors.New("feed: revocations not loaded yet")
)

// Reasons a stream ends, as counted in Stats.Disconnects.
const (
	ReasonSlow     = "slow"     // its queue was full: the reader did not keep up
	ReasonTimeout  = "timeout"  // a write did not complete within WriteTimeout
	ReasonClient   = "client"   // the client went away or the connection failed
	ReasonShutdown = "shutdown" // the Hub stopped
	ReasonError    = "error"    // the store failed while the stream caught up
)

var reasons = []string{ReasonSlow, ReasonTimeout, ReasonClient, ReasonShutdown, ReasonError}

// pruneEvery is how often Run prunes expired entries from the deny list.
const pruneEvery = time.Minute

// Hub is the feed of one server process. Create it with New, run it with
// Run; its methods are safe for concurrent use.
type Hub struct {
	st   Store
	cfg  Config
	log  *slog.Logger
	deny *revocation.DenyList

	wake    chan struct{} // Notify's wake-up, capacity 1
	ready   chan struct{} // closed once the retained records are loaded
	done    chan struct{} // closed when Run returns
	running atomic.Bool
	sent    atomic.Uint64 // events written to streams

	mu          sync.Mutex
	subs        map[*subscriber]struct{}
	head        int64         // the highest Seq Run has read
	headMoved   chan struct{} // closed when head moves; nil until waitHead asks
	stopped     bool
	disconnects map[string]uint64
}

// subscriber is one open stream, as the Hub sees it.
type subscriber struct {
	ch   chan item     // events for it; the Hub sends without blocking
	gone chan struct{} // closed when it is dropped; reason is then set
	// reason is why it was dropped, written under Hub.mu before gone is
	// closed.
	reason string
}

// item is one event on its way to the streams: its Seq and its complete
// "event: revocation" frame, encoded once for all of them.
type item struct {
	seq   int64
	frame []byte
}

// New returns a Hub over st. Call Run to start it.
func New(st Store, cfg Config) (*Hub, error) {
	switch {
	case st == nil:
		return nil, errors.New("feed: no store")
	case cfg.Heartbeat < 0 || cfg.Poll < 0 || cfg.Buffer < 0 || cfg.WriteTimeout < 0:
		return nil, errors.New("feed: negative heartbeat, poll, buffer or write timeout")
	case cfg.PageLimit < 0 || cfg.PageLimit > MaxPageLimit:
		return nil, fmt.Errorf("feed: page limit must be 0 to %d", MaxPageLimit)
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.Poll == 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Buffer == 0 {
		cfg.Buffer = DefaultBuffer
	}
	if cfg.PageLimit == 0 {
		cfg.PageLimit = MaxPageLimit
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Hub{
		st: st, cfg: cfg, log: log, deny: revocation.NewDenyList(),
		wake:        make(chan struct{}, 1),
		ready:       make(chan struct{}),
		done:        make(chan struct{}),
		subs:        make(map[*subscriber]struct{}),
		disconnects: make(map[string]uint64, len(reasons)),
	}
	for _, r := range reasons {
		h.disconnects[r] = 0
	}
	return h, nil
}

// Notify tells the Hub that a revocation has committed, so that it reads
// the store at once rather than at its next poll. It never blocks; pass it
// as store.Options.Notify.
func (h *Hub) Notify() {
	select {
	case h.wake <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// DenyList returns the Hub's deny list: every event Run has read. The
// server checks the tokens presented to its own endpoints against it,
// once Ready is closed.
func (h *Hub) DenyList() *revocation.DenyList { return h.deny }

// Ready is closed once Run has loaded the retained records: from then
// on, the deny list holds every revocation in force.
func (h *Hub) Ready() <-chan struct{} { return h.ready }

// Run loads the retained records, then tails the store until ctx ends,
// and returns nil then. It returns an error if the first load fails. When
// it returns, every stream ends and new ones are refused with ErrStopped.
// Run may be called once.
func (h *Hub) Run(ctx context.Context) error {
	if !h.running.CompareAndSwap(false, true) {
		return errors.New("feed: Run called twice")
	}
	defer h.stop()
	if err := h.tail(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("feed: loading revocations: %w", err)
	}
	close(h.ready)
	h.log.Debug("feed: revocations loaded", "head", h.headSeq(), "deny_list", h.deny.Len())

	poll := time.NewTicker(h.cfg.Poll)
	defer poll.Stop()
	lastPrune := h.cfg.Now()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-h.wake:
		case <-poll.C:
		}
		if err := h.tail(ctx); err != nil && ctx.Err() == nil {
			h.log.Warn("feed: reading revocations; retrying", "err", err)
		}
		if now := h.cfg.Now(); now.Sub(lastPrune) >= pruneEvery {
			lastPrune = now
			h.deny.Prune(now)
		}
	}
}

// tail reads every record after the Hub's head and publishes it.
func (h *Hub) tail(ctx context.Context) error {
	for {
		recs, err := h.st.RevocationsSince(ctx, h.headSeq(), h.cfg.PageLimit)
		if err != nil {
			return err
		}
		for _, r := range recs {
			h.publish(r)
		}
		if len(recs) < h.cfg.PageLimit {
			return nil
		}
	}
}

// publish hands one record, read in Seq order, to the deny list,
// OnEvent and every stream, and moves the head past it. A stream whose
// queue is full is dropped: sending never blocks.
func (h *Hub) publish(r store.Revocation) {
	ev := Event(r)
	frame, err := appendFrame(nil, ev)
	if err != nil {
		h.log.Warn("feed: skipping a malformed revocation record", "seq", r.Seq, "err", err)
		h.mu.Lock()
		h.setHeadLocked(r.Seq)
		h.mu.Unlock()
		return
	}
	h.deny.Apply(ev)
	if h.cfg.OnEvent != nil {
		h.cfg.OnEvent(ev)
	}
	it := item{seq: ev.Seq, frame: frame}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.ch <- it:
		default:
			h.dropLocked(s, ReasonSlow)
		}
	}
	h.setHeadLocked(r.Seq)
}

// setHeadLocked moves the head to seq and wakes WaitHead's callers.
func (h *Hub) setHeadLocked(seq int64) {
	h.head = seq
	if h.headMoved != nil {
		close(h.headMoved)
		h.headMoved = nil
	}
}

// stop ends every stream and refuses new ones.
func (h *Hub) stop() {
	h.mu.Lock()
	h.stopped = true
	for s := range h.subs {
		h.dropLocked(s, ReasonShutdown)
	}
	h.mu.Unlock()
	close(h.done)
}

func (h *Hub) subscribe() (*subscriber, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.stopped {
		return nil, ErrStopped
	}
	s := &subscriber{ch: make(chan item, h.cfg.Buffer), gone: make(chan struct{})}
	h.subs[s] = struct{}{}
	return s, nil
}

// unsubscribe drops s for reason unless the Hub dropped it already.
func (h *Hub) unsubscribe(s *subscriber, reason string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		h.dropLocked(s, reason)
	}
}

func (h *Hub) dropLocked(s *subscriber, reason string) {
	delete(h.subs, s)
	s.reason = reason
	close(s.gone)
	h.disconnects[reason]++
}

// headSeq is the highest Seq the Hub has read.
func (h *Hub) headSeq() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.head
}

// streamHead is the head a stream's heartbeat reports: the Seq up to
// which the stream has everything once what it has buffered is written.
// That is the Hub's head when nothing waits in its queue (every record
// the Hub read before the stream registered was in its catch-up, and
// every one after came through the queue), and otherwise the last Seq
// the stream took.
func (h *Hub) streamHead(sub *subscriber, last int64) int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(sub.ch) == 0 {
		return max(last, h.head)
	}
	return last
}

// Stats is a snapshot of the Hub's state, for metrics.
type Stats struct {
	Subscribers int    // open streams
	Head        int64  // the highest Seq the Hub has read from the store
	EventsSent  uint64 // revocation events written to streams, in total
	// Disconnects counts the streams that ended, by reason (ReasonSlow,
	// ReasonTimeout, ReasonClient, ReasonShutdown, ReasonError); every
	// reason is present.
	Disconnects map[string]uint64
}

// Stats returns the Hub's current Stats.
func (h *Hub) Stats() Stats {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := Stats{Subscribers: len(h.subs), Head: h.head, EventsSent: h.sent.Load(), Disconnects: make(map[string]uint64, len(h.disconnects))}
	for r, n := range h.disconnects {
		st.Disconnects[r] = n
	}
	return st
}

// Event converts a store record to its feed event: the kinds are the same
// strings, ID is the record's Subject, At is truncated to the whole second
// (a subject revocation covers tokens with "iat" at or before it, and a
// token issued earlier in that second has "iat" equal to the truncated
// second) and Expires is rounded up to the whole second. The result may be
// malformed (an empty ID, say): revocation.Event.AppendJSON says.
func Event(r store.Revocation) revocation.Event {
	exp := r.Expires.Unix()
	if r.Expires.Nanosecond() != 0 {
		exp++
	}
	return revocation.Event{
		Seq:     r.Seq,
		Kind:    revocation.Kind(r.Kind),
		ID:      r.Subject,
		At:      time.Unix(r.At.Unix(), 0).UTC(),
		Expires: time.Unix(exp, 0).UTC(),
		Reason:  string(r.Reason),
	}
}

// cursor returns where a reader with cursor after reads from, and
// whether that makes a snapshot. Below the pruned watermark, records after
// the cursor may have been pruned: they had all expired, so the retained
// records after the cursor, with what the reader holds, are every
// revocation in force; the reader reads on from its cursor and is told
// (snapshot), and its next cursor is past what it read, so it never loops
// however the retained records are spread. A cursor beyond every Seq
// assigned (the database was replaced) means nothing here: that reader
// reads everything from 0.
func cursor(after, pruned, head int64) (from int64, snapshot bool) {
	switch {
	case after > head:
		return 0, true
	case after < pruned:
		return after, true
	}
	return after, false
}

// Page returns up to limit events after the cursor after, as GET
// /v1/revocations answers them. A limit outside 1..PageLimit means
// PageLimit; a negative cursor means 0. Records that do not form a valid
// event are skipped.
func (h *Hub) Page(ctx context.Context, after int64, limit int) (revocation.Page, error) {
	if limit <= 0 || limit > h.cfg.PageLimit {
		limit = h.cfg.PageLimit
	}
	after = max(after, 0)
	pruned, head, err := h.st.RevocationBounds(ctx)
	if err != nil {
		return revocation.Page{}, fmt.Errorf("feed: reading bounds: %w", err)
	}
	from, snapshot := cursor(after, pruned, head)
	recs, err := h.st.RevocationsSince(ctx, from, limit+1)
	if err != nil {
		return revocation.Page{}, fmt.Errorf("feed: reading revocations: %w", err)
	}
	p := revocation.Page{Events: make([]revocation.Event, 0, min(len(recs), limit)), Snapshot: snapshot, More: len(recs) > limit}
	if p.More {
		recs = recs[:limit]
	}
	lastRead := from
	for _, r := range recs {
		lastRead = r.Seq
		ev := Event(r)
		if _, err := ev.AppendJSON(nil); err != nil {
			h.log.Warn("feed: skipping a malformed revocation record", "seq", r.Seq, "err", err)
			continue
		}
		p.Events = append(p.Events, ev)
	}
	p.Next, p.Head = lastRead, max(head, lastRead)
	if n := len(p.Events); n > 0 && p.Events[n-1].Seq < lastRead {
		// Next must be the last event's Seq: the skipped records after it
		// are read again, and skipped, by the next request.
		p.Next, p.More = p.Events[n-1].Seq, true
	}
	return p, nil
}

// ServeStream serves the feed from cursor after as Server-Sent Events
// until the client goes, the stream is cut off as too slow, or the Hub
// stops. It waits, at most WriteTimeout, for Run to load the retained
// records first.
//
// It returns an error only when the stream could not start, having
// written nothing: ErrNotReady, ErrStopped, the request's context error,
// or a store failure. Once the stream has started it returns nil; a
// failure then ends the stream and is logged.
//
// The stream is registered with the Hub before it reads the store, so
// that no event falls between its catch-up and its live part: an event
// the Hub publishes before the registration was committed before it and
// is in the catch-up read; one it publishes after is queued; events in
// both are sent once, by Seq.
func (h *Hub) ServeStream(w http.ResponseWriter, r *http.Request, after int64) error {
	ctx := r.Context()
	wait := time.NewTimer(h.cfg.WriteTimeout)
	select {
	case <-h.ready:
		wait.Stop()
	case <-h.done:
		wait.Stop()
		return ErrStopped
	case <-wait.C:
		return ErrNotReady
	case <-ctx.Done():
		wait.Stop()
		return ctx.Err()
	}
	sub, err := h.subscribe()
	if err != nil {
		return err
	}
	reason := ReasonClient
	defer func() { h.unsubscribe(sub, reason) }()

	pruned, head, err := h.st.RevocationBounds(ctx)
	if err != nil {
		reason = ReasonError
		return fmt.Errorf("feed: reading bounds: %w", err)
	}
	from, snapshot := cursor(max(after, 0), pruned, head)

	rc := http.NewResponseController(w)
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s := &stream{w: w, rc: rc, timeout: h.cfg.WriteTimeout, sent: &h.sent}

	// end records why the stream failed once it has started.
	end := func(err error) error {
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			reason = ReasonTimeout
		case errors.Is(err, errStore) && ctx.Err() == nil:
			reason = ReasonError
			h.log.Warn("feed: stream ended by a store failure", "err", err)
		default:
			reason = ReasonClient
		}
		return nil
	}
	if snapshot {
		s.buf = h.appendControl(s.buf, "snapshot", head)
	}
	last, err := h.catchUp(ctx, s, sub, from)
	if err != nil {
		if errors.Is(err, errDropped) {
			return nil
		}
		return end(err)
	}
	s.buf = h.appendControl(s.buf, "heartbeat", h.streamHead(sub, last))
	if err := s.flush(); err != nil {
		return end(err)
	}

	beat := time.NewTicker(h.cfg.Heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-sub.gone:
			return nil
		case <-ctx.Done():
			return nil
		case <-beat.C:
			s.buf = h.appendControl(s.buf, "heartbeat", h.streamHead(sub, last))
		case it := <-sub.ch:
			last = s.add(it, last)
			// Take what else is queued, within bounds, into one write.
		drain:
			for len(s.buf) < maxBatch {
				select {
				case it := <-sub.ch:
					last = s.add(it, last)
				default:
					break drain
				}
			}
		}
		select {
		case <-sub.gone:
			return nil // dropped while this batch was gathered
		default:
		}
		if err := s.flush(); err != nil {
			return end(err)
		}
	}
}

// errDropped ends a catch-up whose stream the Hub dropped, and errStore
// marks a store failure during one.
var (
	errDropped = errors.New("feed: stream dropped")
	errStore   = errors.New("feed: reading revocations")
)

// catchUp writes every valid record after from and returns the Seq of
// the last one read.
func (h *Hub) catchUp(ctx context.Context, s *stream, sub *subscriber, from int64) (int64, error) {
	last := from
	for {
		recs, err := h.st.RevocationsSince(ctx, last, h.cfg.PageLimit)
		if err != nil {
			return 0, fmt.Errorf("%w: %w", errStore, err)
		}
		for _, r := range recs {
			last = r.Seq
			frame, err := appendFrame(s.buf, Event(r))
			if err != nil {
				continue // logged by the Hub, which reads every record
			}
			s.buf, s.pending = frame, s.pending+1
			if len(s.buf) >= maxBatch {
				if err := s.flush(); err != nil {
					return 0, err
				}
			}
		}
		select {
		case <-sub.gone:
			return 0, errDropped
		default:
		}
		if len(recs) < h.cfg.PageLimit {
			return last, nil
		}
	}
}

// appendControl appends a heartbeat or snapshot event, whose data is a
// revocation.Heartbeat.
func (h *Hub) appendControl(b []byte, name string, head int64) []byte {
	b = append(b, "event: "...)
	b = append(b, name...)
	b = append(b, "\ndata: {\"head\":"...)
	b = strconv.AppendInt(b, head, 10)
	b = append(b, ",\"time\":"...)
	b = strconv.AppendInt(b, h.cfg.Now().Unix(), 10)
	return append(b, "}\n\n"...)
}

// appendFrame appends ev as a stream's "event: revocation".
func appendFrame(b []byte, ev revocation.Event) ([]byte, error) {
	n := len(b)
	b = append(b, "event: revocation\nid: "...)
	b = strconv.AppendInt(b, ev.Seq, 10)
	b = append(b, "\ndata: "...)
	b, err := ev.AppendJSON(b)
	if err != nil {
		return b[:n], err
	}
	return append(b, "\n\n"...), nil
}

// maxBatch bounds what a stream gathers before it writes.
const maxBatch = 64 << 10

// stream writes one client's events, each batch with its own deadline.
type stream struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	timeout time.Duration
	sent    *atomic.Uint64
	buf     []byte
	pending uint64 // revocation events in buf
}

// add appends it unless it was sent already, and returns the last Seq
// sent.
func (s *stream) add(it item, last int64) int64 {
	if it.seq <= last {
		return last
	}
	s.buf = append(s.buf, it.frame...)
	s.pending++
	return it.seq
}

// flush writes and flushes what is buffered.
func (s *stream) flush() error {
	if len(s.buf) == 0 {
		return nil
	}
	if err := s.rc.SetWriteDeadline(time.Now().Add(s.timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	if _, err := s.w.Write(s.buf); err != nil {
		return err
	}
	if err := s.rc.Flush(); err != nil {
		return err
	}
	s.sent.Add(s.pending)
	s.buf, s.pending = s.buf[:0], 0
	return nil
}
