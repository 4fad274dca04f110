package revocation

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for FollowerConfig's zero fields.
const (
	defaultHeartbeatTimeout = 30 * time.Second
	defaultMinBackoff       = 100 * time.Millisecond
	defaultMaxBackoff       = 5 * time.Second
	defaultPruneInterval    = time.Minute
	defaultConnectTimeout   = 10 * time.Second // dial, TLS handshake, response headers
)

// pageLimit is the "limit" a Follower asks pages for.
const pageLimit = 1000

// FollowerConfig configures a Follower. URL, ClientID and ClientSecret are
// required; every other zero field takes its default.
type FollowerConfig struct {
	// URL is the issuer's feed, e.g.
	// "https://auth.example.com/v1/revocations": an http or https URL
	// without user information. The stream is served at URL + "/stream".
	URL string
	// ClientID and ClientSecret authenticate the follower with HTTP Basic
	// as client_secret_basic (RFC 6749 §2.3.1): each is
	// application/x-www-form-urlencoded, then they are joined by ":" and
	// base64-encoded. The client needs the scope "revocations:read".
	ClientID, ClientSecret string

	// HTTPClient makes the requests. Default: a client without an overall
	// Timeout, since a stream lives for hours, whose Transport bounds
	// dialing, the TLS handshake and the wait for response headers to 10 s
	// each. A client with a Timeout cuts every stream after that time.
	HTTPClient *http.Client

	// HeartbeatTimeout is how long a stream may stay silent (no event,
	// heartbeat or comment) before it is taken for dead and replaced.
	// Default 30 s, three times the issuer's default heartbeat interval.
	HeartbeatTimeout time.Duration
	// MinBackoff and MaxBackoff bound the wait before a reconnection. The
	// wait is drawn uniformly from zero to a ceiling (full jitter) that
	// starts at MinBackoff, doubles with every connection that fails
	// before the follower is current, stops at MaxBackoff, and starts
	// over after a connection that delivered a heartbeat. Defaults 100 ms
	// and 5 s.
	MinBackoff, MaxBackoff time.Duration
	// PruneInterval is how often Run drops expired entries from the deny
	// list. Default 1 min.
	PruneInterval time.Duration

	// Logger receives connection problems and recoveries; nil discards.
	// The secret is never logged.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Follower keeps one issuer's DenyList current by following its
// revocation feed. Start Run in a goroutine for the life of the service,
// wait for Ready before serving if revocations must be in force from the
// first request, and refuse tokens (or alert) while Stale reports the
// list too old for the service's risk budget. Sync catches up once, for
// tools and tests. A Follower is safe for concurrent use.
//
// Each event is applied to the list before the cursor moves past it, and
// an event at or before the cursor, which a resumed stream may repeat, is
// ignored. The cursor moves only forward, except at a snapshot: the
// issuer sends one when the cursor is older than its oldest record, or
// newer than its head (its database was replaced), and the events that
// follow are applied whatever their Seq. The list is never cleared.
type Follower struct {
	cfg    FollowerConfig
	page   *url.URL // the page endpoint, without a query of ours
	stream *url.URL // the stream endpoint, without a query of ours
	auth   string   // the Authorization header
	log    *slog.Logger
	list   *DenyList

	ready     chan struct{}
	readyOnce sync.Once
	lastSync  atomic.Int64 // unix nanos when last known current; 0: never
	connected atomic.Bool

	mu         sync.Mutex // serializes applying events; guards the fields below
	cursor     int64
	head       int64
	events     int64
	reconnects int64
	snapshots  int64
	lastErr    string
}

// Stats describes a Follower's progress, for metrics and health checks.
type Stats struct {
	// Cursor is where the follower resumes: the Seq of the last event
	// applied (or a page's Next, when the issuer skipped ahead). A
	// snapshot restarts it.
	Cursor int64
	// Head is the newest Seq the issuer has, as its last page or
	// heartbeat announced.
	Head int64
	// Lag is Head - Cursor, never negative.
	Lag int64
	// Entries is the deny list's size.
	Entries int
	// Connected reports that a stream is open.
	Connected bool
	// LastSync is when the follower was last known current; zero if never.
	LastSync time.Time
	// Events counts the events applied, Reconnects the reconnections of
	// Run, and Snapshots the snapshots read because the issuer no longer
	// had the events after the cursor.
	Events, Reconnects, Snapshots int64
	// LastError is the last connection or protocol error, "" if there was
	// none since the follower was last known current.
	LastError string
}

// NewFollower checks cfg and returns a Follower with an empty DenyList
// and its cursor at 0. It makes no request.
func NewFollower(cfg FollowerConfig) (*Follower, error) {
	u, err := url.Parse(cfg.URL)
	switch {
	case cfg.URL == "":
		return nil, errors.New("revocation: FollowerConfig.URL is required")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return nil, errors.New("revocation: FollowerConfig.URL must be an absolute http or https URL")
	case u.User != nil:
		return nil, errors.New("revocation: FollowerConfig.URL must not hold credentials; set ClientID and ClientSecret")
	case u.Fragment != "":
		return nil, errors.New("revocation: FollowerConfig.URL must not have a fragment")
	case cfg.ClientID == "" || cfg.ClientSecret == "":
		return nil, errors.New("revocation: FollowerConfig.ClientID and ClientSecret are required")
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = defaultHTTPClient()
	}
	if cfg.HeartbeatTimeout <= 0 {
		cfg.HeartbeatTimeout = defaultHeartbeatTimeout
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = defaultMinBackoff
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = max(defaultMaxBackoff, cfg.MinBackoff)
	}
	if cfg.MinBackoff > cfg.MaxBackoff {
		return nil, fmt.Errorf("revocation: FollowerConfig.MinBackoff %v exceeds MaxBackoff %v", cfg.MinBackoff, cfg.MaxBackoff)
	}
	if cfg.PruneInterval <= 0 {
		cfg.PruneInterval = defaultPruneInterval
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	userpass := url.QueryEscape(cfg.ClientID) + ":" + url.QueryEscape(cfg.ClientSecret)
	return &Follower{
		cfg:    cfg,
		page:   u,
		stream: u.JoinPath("stream"),
		auth:   "Basic " + base64.StdEncoding.EncodeToString([]byte(userpass)),
		log:    log.With("feed", u.Redacted()),
		list:   NewDenyList(),
		ready:  make(chan struct{}),
	}, nil
}

// defaultHTTPClient returns a client for long-lived streams: no overall
// timeout, but bounded connection setup.
func defaultHTTPClient() *http.Client {
	dialer := &net.Dialer{Timeout: defaultConnectTimeout, KeepAlive: 30 * time.Second}
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   defaultConnectTimeout,
		ResponseHeaderTimeout: defaultConnectTimeout,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4,
		IdleConnTimeout:       90 * time.Second,
	}}
}

// List returns the deny list the follower keeps current.
func (f *Follower) List() *DenyList { return f.list }

// Ready returns a channel closed the first time the follower is known
// current: when a heartbeat arrives on a stream (the issuer sends one
// only after everything up to its head), or when Sync succeeds.
func (f *Follower) Ready() <-chan struct{} { return f.ready }

// Stale reports whether the follower has not been known current for
// longer than budget before now, or was never current. A service calls it
// for every request, so it costs one atomic load and no allocation.
func (f *Follower) Stale(now time.Time, budget time.Duration) bool {
	last := f.lastSync.Load()
	return last == 0 || now.UnixNano()-last > int64(budget)
}

// Stats returns the follower's progress.
func (f *Follower) Stats() Stats {
	f.mu.Lock()
	s := Stats{
		Cursor:     f.cursor,
		Head:       f.head,
		Lag:        max(0, f.head-f.cursor),
		Events:     f.events,
		Reconnects: f.reconnects,
		Snapshots:  f.snapshots,
		LastError:  f.lastErr,
	}
	f.mu.Unlock()
	s.Entries = f.list.Len()
	s.Connected = f.connected.Load()
	if ns := f.lastSync.Load(); ns != 0 {
		s.LastSync = time.Unix(0, ns)
	}
	return s
}

func (f *Follower) now() time.Time {
	if f.cfg.Now == nil {
		return time.Now()
	}
	return f.cfg.Now()
}

// applyLocked applies e unless the cursor is already past it. f.mu is
// held.
func (f *Follower) applyLocked(e Event) {
	if e.Seq <= f.cursor {
		return
	}
	f.list.Apply(e)
	f.events++
	f.cursor = e.Seq
}

// snapshotLocked starts a snapshot: the events that follow are applied
// from the oldest the issuer has, whatever the cursor was. f.mu is held.
func (f *Follower) snapshotLocked() {
	f.snapshots++
	f.cursor = 0
}

// markCurrent records that the follower has everything up to head.
func (f *Follower) markCurrent(head int64) {
	f.mu.Lock()
	f.head = head
	f.lastErr = ""
	f.mu.Unlock()
	f.lastSync.Store(f.now().UnixNano())
	f.readyOnce.Do(func() { close(f.ready) })
}

func (f *Follower) setError(err error) {
	f.mu.Lock()
	f.lastErr = err.Error()
	f.mu.Unlock()
}

// Sync catches up once by reading pages (GET {URL}?after=CURSOR) until
// the issuer reports no more, applying their events. A nil result means
// the follower is current, and closes Ready. ctx bounds the whole
// catch-up. Sync may run alongside Run.
func (f *Follower) Sync(ctx context.Context) error {
	err := f.sync(ctx)
	if err != nil && ctx.Err() == nil {
		f.setError(err)
	}
	return err
}

func (f *Follower) sync(ctx context.Context) error {
	f.mu.Lock()
	after := f.cursor
	f.mu.Unlock()
	for {
		p, err := f.fetchPage(ctx, after)
		if err != nil {
			return err
		}
		from := after
		f.mu.Lock()
		if p.Snapshot {
			f.snapshotLocked()
			from = 0
		}
		for _, e := range p.Events {
			f.applyLocked(e)
		}
		f.cursor = max(f.cursor, p.Next)
		f.head = p.Head
		f.mu.Unlock()
		if !p.More {
			f.markCurrent(p.Head)
			return nil
		}
		if p.Next <= from {
			return fmt.Errorf("%w: page after %d announces more events but does not advance", ErrMalformed, after)
		}
		after = p.Next
	}
}

// fetchPage gets and parses the page after the cursor after.
func (f *Follower) fetchPage(ctx context.Context, after int64) (Page, error) {
	req, err := f.request(ctx, f.page, after, pageLimit)
	if err != nil {
		return Page{}, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := f.cfg.HTTPClient.Do(req)
	if err != nil {
		return Page{}, fmt.Errorf("revocation: fetching a feed page: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return Page{}, &statusError{code: resp.StatusCode, status: resp.Status}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxPageSize+1))
	if err != nil {
		return Page{}, fmt.Errorf("revocation: reading a feed page: %w", err)
	}
	return ParsePage(body)
}

// request returns an authenticated GET of endpoint with "after" and,
// unless limit is 0, "limit" added to its query.
func (f *Follower) request(ctx context.Context, endpoint *url.URL, after int64, limit int) (*http.Request, error) {
	u := *endpoint
	q := u.Query()
	q.Set("after", strconv.FormatInt(after, 10))
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("revocation: feed request: %w", err)
	}
	req.Header.Set("Authorization", f.auth)
	return req, nil
}

// statusError is an answer other than 200 OK.
type statusError struct {
	code   int
	status string
}

func (e *statusError) Error() string { return "revocation: the feed answered " + e.status }

// refused reports whether the issuer refused the credentials, a
// configuration problem rather than an outage.
func (e *statusError) refused() bool {
	return e.code == http.StatusUnauthorized || e.code == http.StatusForbidden
}

// errSilent ends a stream that sent nothing for HeartbeatTimeout.
var errSilent = errors.New("revocation: the feed stream went silent")

// Run follows the feed stream ({URL}/stream) until ctx ends and returns
// ctx's error. It resumes from the cursor (Last-Event-ID) after every
// disconnection, reconnects with backoff, replaces a stream that stays
// silent for HeartbeatTimeout, and prunes expired entries every
// PruneInterval. A stream that sends a malformed event, an unknown event,
// or an event or line larger than MaxEventSize allows is dropped without
// applying the bad event, and followed again from the cursor.
// Run is meant to be called once per Follower.
func (f *Follower) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { f.pruneEvery(ctx) })

	var st runState
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			f.mu.Lock()
			f.reconnects++
			f.mu.Unlock()
		}
		st.current = false
		err := f.follow(ctx, &st)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		f.setError(err)
		st.failed(f.log, err)
		if st.current {
			st.failures = 0
		}
		wait := f.backoff(st.failures)
		st.failures++
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// runState is what Run remembers across connections.
type runState struct {
	current  bool // the connection just ended delivered a heartbeat
	failures int  // connections ended since the follower was last current
	failing  bool // a failure was logged and no recovery since
	refused  bool // refused credentials were logged and no recovery since
}

// failed logs a connection's end: a refusal of the credentials at ERROR
// once per run of failures, the first other failure at WARN, the rest at
// DEBUG.
func (st *runState) failed(log *slog.Logger, err error) {
	var se *statusError
	switch {
	case errors.As(err, &se) && se.refused() && !st.refused:
		log.Error("revocation: the issuer refused the feed credentials; check ClientID, ClientSecret and the scope revocations:read", "err", err)
		st.refused = true
	case !st.failing:
		log.Warn("revocation: feed stream failed; reconnecting", "err", err)
	default:
		log.Debug("revocation: feed stream failed; reconnecting", "err", err)
	}
	st.failing = true
}

// recovered logs the first heartbeat after failures.
func (st *runState) recovered(log *slog.Logger) {
	if st.failing {
		log.Info("revocation: following the feed again")
	}
	st.current, st.failing, st.refused = true, false, false
}

// backoff returns the wait before the reconnection that follows failures
// failed connections: full jitter under a ceiling that doubles from
// MinBackoff up to MaxBackoff.
func (f *Follower) backoff(failures int) time.Duration {
	ceiling := f.cfg.MinBackoff
	for range failures {
		if ceiling >= f.cfg.MaxBackoff/2 {
			ceiling = f.cfg.MaxBackoff
			break
		}
		ceiling *= 2
	}
	ceiling = min(ceiling, f.cfg.MaxBackoff)
	return rand.N(ceiling + 1)
}

// pruneEvery drops expired entries every PruneInterval until ctx ends.
func (f *Follower) pruneEvery(ctx context.Context) {
	t := time.NewTicker(f.cfg.PruneInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			f.list.Prune(f.now())
		}
	}
}

// follow opens one stream from the cursor and applies what it sends until
// it ends, which it always does with an error.
func (f *Follower) follow(ctx context.Context, st *runState) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	timeout := f.cfg.HeartbeatTimeout
	idle := time.AfterFunc(timeout, func() { cancel(errSilent) })
	err := f.read(ctx, st, idle)
	idle.Stop()
	if context.Cause(ctx) == errSilent {
		return fmt.Errorf("%w for %v", errSilent, timeout)
	}
	return err
}

// read connects and reads the stream. idle is reset whenever bytes arrive.
func (f *Follower) read(ctx context.Context, st *runState, idle *time.Timer) error {
	f.mu.Lock()
	cursor := f.cursor
	f.mu.Unlock()
	req, err := f.request(ctx, f.stream, cursor, 0)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Cache-Control", "no-cache")
	if cursor > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatInt(cursor, 10))
	}
	resp, err := f.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("revocation: connecting to the feed stream: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return &statusError{code: resp.StatusCode, status: resp.Status}
	}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err != nil || mt != "text/event-stream" {
		return fmt.Errorf("revocation: the feed stream has Content-Type %.64q, not text/event-stream", resp.Header.Get("Content-Type"))
	}
	f.connected.Store(true)
	defer f.connected.Store(false)
	f.log.Debug("revocation: feed stream connected", "cursor", cursor)

	sse := newSSEReader(&idleReader{r: resp.Body, idle: idle, timeout: f.cfg.HeartbeatTimeout})
	for {
		ev, err := sse.next()
		if err == io.EOF {
			return errors.New("revocation: the issuer ended the feed stream")
		}
		if err != nil {
			return err
		}
		switch ev.name {
		case "revocation":
			e, err := ParseEvent(ev.data)
			if err != nil {
				return err
			}
			f.mu.Lock()
			f.applyLocked(e)
			f.mu.Unlock()
		case "heartbeat":
			hb, err := ParseHeartbeat(ev.data)
			if err != nil {
				return err
			}
			f.markCurrent(hb.Head)
			st.recovered(f.log)
		case "snapshot":
			f.mu.Lock()
			f.snapshotLocked()
			f.mu.Unlock()
		default:
			return fmt.Errorf("%w: unknown stream event %.32q", ErrMalformed, ev.name)
		}
	}
}

// idleReader resets a timer whenever bytes arrive.
type idleReader struct {
	r       io.Reader
	idle    *time.Timer
	timeout time.Duration
}

func (r *idleReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	if n > 0 {
		r.idle.Reset(r.timeout)
	}
	return n, err
}
