package server

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/latch-auth/latch/internal/client"
	"github.com/latch-auth/latch/internal/feed"
	"github.com/latch-auth/latch/internal/store"
)

// handleRevocations serves GET /v1/revocations?after=SEQ&limit=N: a page
// of the revocation feed as a revocation.Page.
func (s *Server) handleRevocations(w http.ResponseWriter, r *http.Request, _ store.Client) {
	q := r.URL.Query()
	after, err := seqParam(q, "after")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit := feed.MaxPageLimit
	if vs, ok := q["limit"]; ok {
		n, ok := parseSeq(vs)
		if !ok || n < 1 || n > feed.MaxPageLimit {
			s.writeError(w, r, badRequest("limit must be an integer from 1 to "+strconv.Itoa(feed.MaxPageLimit)))
			return
		}
		limit = int(n)
	}
	p, err := s.d.Feed.Page(r.Context(), after, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// handleRevocationStream serves GET /v1/revocations/stream: the feed as
// Server-Sent Events from the cursor in Last-Event-ID (which an
// EventSource sends when it reconnects, and which wins) or ?after.
func (s *Server) handleRevocationStream(w http.ResponseWriter, r *http.Request, c store.Client) {
	var after int64
	if id := r.Header.Values("Last-Event-ID"); len(id) > 0 && id[0] != "" {
		n, ok := parseSeq(id)
		if !ok {
			s.writeError(w, r, badRequest("Last-Event-ID must be a sequence number"))
			return
		}
		after = n
	} else {
		n, err := seqParam(r.URL.Query(), "after")
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		after = n
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go s.watchClient(ctx, cancel, c)
	if err := s.d.Feed.ServeStream(w, r.WithContext(ctx), after); err != nil {
		s.writeError(w, r, err)
	}
}

// watchClient calls cancel once c is removed, or its secret or scope
// changes, checking every ClientRecheck until ctx ends: credentials are
// checked when a request starts, and a stream lasts.
func (s *Server) watchClient(ctx context.Context, cancel context.CancelFunc, c store.Client) {
	t := time.NewTicker(s.cfg.ClientRecheck)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now, err := s.d.Clients.ClientByID(ctx, c.ID)
		switch {
		case errors.Is(err, store.ErrNotFound),
			err == nil && (!bytes.Equal(now.SecretHash, c.SecretHash) || !client.HasScope(now, client.ScopeRevocationsRead)):
			s.log.InfoContext(ctx, "revocation stream ended: its client was removed or changed", "client_id", c.ID)
			cancel()
			return
		case err != nil && ctx.Err() == nil:
			s.log.WarnContext(ctx, "rechecking a revocation stream's client", "client_id", c.ID, "err", err)
		}
	}
}

// seqParam is the cursor parameter name of q: a sequence number, 0 when
// absent.
func seqParam(q map[string][]string, name string) (int64, error) {
	vs, ok := q[name]
	if !ok {
		return 0, nil
	}
	n, ok := parseSeq(vs)
	if !ok {
		return 0, badRequest(name + " must be a sequence number (an integer of at least 0)")
	}
	return n, nil
}

// parseSeq parses the one value of vs as a sequence number: decimal
// digits only, no sign.
func parseSeq(vs []string) (int64, bool) {
	if len(vs) != 1 {
		return 0, false
	}
	v := vs[0]
	if v == "" || len(v) > 19 {
		return 0, false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	return n, err == nil
}
