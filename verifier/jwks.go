package verifier

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latch-auth/latch/jose"
)

// maxJWKSSize bounds a fetched JWKS document.
const maxJWKSSize = 1 << 20

// keySource is where an issuer's keys come from: a fixed set, or a JWKS
// URL fetched and cached.
type keySource struct {
	url    string
	client *http.Client
	cfg    *Config
	log    *slog.Logger
	life   context.Context // the Verifier's lifetime: Close cancels fetches

	keys    atomic.Pointer[jose.KeySet]
	expires atomic.Int64 // unix nanos when the cached set should be refetched
	stale   atomic.Bool  // the last fetch failed and an old set is served

	mu        sync.Mutex // guards inflight and unknownAt
	inflight  *flight    // the fetch running now, if any (single flight)
	unknownAt time.Time  // when an unknown kid last started a fetch (rate limit)

	lastBody []byte // the last JWKS fetched; only fetch uses it

	onChange func(old, new *jose.KeySet) // called after a refetch changed the set
	fetches  atomic.Int64                // for tests and metrics
}

// flight is one JWKS fetch that several callers may wait for.
type flight struct {
	done chan struct{}
	err  error // set before done is closed
}

func staticSource(keys *jose.KeySet) *keySource {
	s := &keySource{}
	s.keys.Store(keys)
	s.expires.Store(1<<63 - 1)
	return s
}

// current returns the cached key set.
func (s *keySource) current() *jose.KeySet { return s.keys.Load() }

// refresh fetches the JWKS now, or joins the fetch already running, and
// waits for its result until ctx ends.
func (s *keySource) refresh(ctx context.Context) error {
	s.mu.Lock()
	return s.joinLocked(ctx)
}

// joinLocked starts a fetch unless one is running, releases s.mu and waits
// for the fetch. The fetch does not end with ctx, since a request that
// gives up must not fail the fetch other requests are waiting for; it ends
// with the Verifier, and FetchTimeout bounds it.
func (s *keySource) joinLocked(ctx context.Context) error {
	f := s.inflight
	if f == nil {
		f = &flight{done: make(chan struct{})}
		s.inflight = f
		go func() {
			f.err = s.fetch(s.life)
			s.mu.Lock()
			s.inflight = nil
			s.mu.Unlock()
			close(f.done)
		}()
	}
	s.mu.Unlock()
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// refreshUnknown is refresh for a token with a kid the cached set lacks.
// It joins a fetch already running; otherwise it starts one unless an
// unknown kid started one less than MinRefreshInterval ago, so a flood of
// made-up kids cannot become a flood of fetches. The caller compares the
// key set before and after: another request's fetch may have brought the
// key.
func (s *keySource) refreshUnknown(ctx context.Context) {
	if s.url == "" {
		return
	}
	now := s.cfg.now()
	s.mu.Lock()
	if s.inflight == nil {
		if !s.unknownAt.IsZero() && now.Sub(s.unknownAt) < s.cfg.MinRefreshInterval {
			s.mu.Unlock()
			return
		}
		s.unknownAt = now
	}
	s.joinLocked(ctx)
}

// fetch downloads and parses the JWKS, honouring Cache-Control max-age
// within [MinCacheAge, MaxCacheAge]. On failure the previous set keeps
// serving (stale-if-error) and the next attempt is scheduled soon.
func (s *keySource) fetch(life context.Context) error {
	s.fetches.Add(1)
	ctx, cancel := context.WithTimeout(life, s.cfg.FetchTimeout)
	defer cancel()
	keys, body, maxAge, err := s.get(ctx)
	now := s.cfg.now()
	if err != nil && life.Err() != nil {
		return err // the Verifier was closed: nothing to report
	}
	if err != nil {
		s.expires.Store(now.Add(s.cfg.MinRefreshInterval).UnixNano())
		if s.keys.Load() != nil {
			if !s.stale.Swap(true) {
				s.log.Warn("JWKS fetch failed; serving the last good key set", "url", s.url, "err", err)
			}
		}
		return err
	}
	if s.stale.Swap(false) {
		s.log.Info("JWKS fetch recovered", "url", s.url)
	}
	age := min(max(maxAge, s.cfg.MinCacheAge), s.cfg.MaxCacheAge)
	s.expires.Store(now.Add(age).UnixNano())
	if s.keys.Load() != nil && bytes.Equal(body, s.lastBody) {
		return nil // unchanged: keep the set, and the tokens cached under it
	}
	s.lastBody = body
	old := s.keys.Swap(keys)
	if s.onChange != nil && old != nil {
		s.onChange(old, keys)
	}
	return nil
}

// get performs one HTTP fetch and returns the parsed set, the document and
// its max-age.
func (s *keySource) get(ctx context.Context) (*jose.KeySet, []byte, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url, nil)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("verifier: JWKS request: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("verifier: fetching JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		return nil, nil, 0, fmt.Errorf("verifier: fetching JWKS: %s", resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSSize+1))
	if err != nil {
		return nil, nil, 0, fmt.Errorf("verifier: reading JWKS: %w", err)
	}
	if len(body) > maxJWKSSize {
		return nil, nil, 0, errors.New("verifier: JWKS larger than 1 MiB")
	}
	keys, err := jose.ParseJWKSet(body)
	if err != nil {
		return nil, nil, 0, fmt.Errorf("verifier: JWKS: %w", err)
	}
	return keys, body, maxAgeOf(resp.Header.Get("Cache-Control")), nil
}

// maxAgeOf reads max-age from a Cache-Control header; 0 when absent or
// when the response must not be cached.
func maxAgeOf(cc string) time.Duration {
	for _, d := range strings.Split(cc, ",") {
		d = strings.TrimSpace(strings.ToLower(d))
		if d == "no-store" || d == "no-cache" {
			return 0
		}
		if v, ok := strings.CutPrefix(d, "max-age="); ok {
			n, err := strconv.ParseInt(strings.Trim(v, `"`), 10, 64)
			if err == nil && n > 0 {
				return time.Duration(min(n, 1<<32)) * time.Second
			}
		}
	}
	return 0
}

// runOffline fetches the first key set for a Verifier that started
// without it (Config.StartOffline), retrying with a backoff from 250 ms
// up to MinRefreshInterval, then refreshes as run does.
func (s *keySource) runOffline(ctx context.Context) {
	wait := 250 * time.Millisecond
	for s.refresh(ctx) != nil {
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, s.cfg.MinRefreshInterval)
	}
	s.run(ctx)
}

// run refreshes the set in the background shortly before it expires, until
// ctx ends.
func (s *keySource) run(ctx context.Context) {
	if s.url == "" {
		return
	}
	for {
		// Refresh when 80% of the cache lifetime has passed.
		until := time.Unix(0, s.expires.Load()).Sub(s.cfg.now())
		wait := max(until*4/5, s.cfg.MinRefreshInterval)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		s.refresh(ctx)
	}
}
