package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/store"
)

// TestRefreshRace presents one refresh token 50 times at once, then
// reuses it after the grace window.
func TestRefreshRace(t *testing.T) {
	const grace = 200 * time.Millisecond
	a := newAPI(t, options{grace: grace})
	a.addUser("alice@example.com")
	first := a.login("alice@example.com")

	const n = 50
	type result struct {
		status int
		body   []byte
		ct     string
		err    error
	}
	results := make([]result, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	body := jsonBody(map[string]string{"refresh_token": first.RefreshToken})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			req, err := http.NewRequestWithContext(t.Context(), "POST", a.url+"/v1/token/refresh", strings.NewReader(body))
			if err != nil {
				results[i].err = err
				return
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := a.client.Do(req)
			if err != nil {
				results[i].err = err
				return
			}
			defer resp.Body.Close()
			b, err := io.ReadAll(resp.Body)
			results[i] = result{status: resp.StatusCode, body: b, ct: resp.Header.Get("Content-Type"), err: err}
		}()
	}
	close(start) // the session clock stands still: all 50 are within the grace window
	wg.Wait()

	var successor string
	ok := 0
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("refresh #%d: %v", i, r.err)
		}
		switch {
		case r.status == http.StatusOK:
			var tk tokens
			if err := json.Unmarshal(r.body, &tk); err != nil || tk.RefreshToken == "" || tk.AccessToken == "" || tk.SessionID != first.SessionID {
				t.Fatalf("refresh #%d = 200 %s, want a token pair in session %s", i, r.body, first.SessionID)
			}
			if successor == "" {
				successor = tk.RefreshToken
			}
			if tk.RefreshToken != successor {
				t.Errorf("refresh #%d returned a second successor: %q, want %q", i, tk.RefreshToken, successor)
			}
			ok++
		case r.status >= 400 && r.status < 500:
			var e apiError
			if !strings.HasPrefix(r.ct, "application/json") || json.Unmarshal(r.body, &e) != nil || e.Error == "" {
				t.Errorf("refresh #%d = %d %q (%s), want a JSON error", i, r.status, r.body, r.ct)
			}
		default:
			t.Errorf("refresh #%d = %d %s, want 200 or a 4xx JSON error", i, r.status, r.body)
		}
	}
	if ok == 0 {
		t.Fatalf("no concurrent refresh succeeded, want every one within the grace window to get the successor")
	}
	if successor == first.RefreshToken {
		t.Fatalf("successor = the presented token, want a new one")
	}
	t.Logf("%d of %d concurrent refreshes got the successor", ok, n)

	// The successor is the session's one current token.
	r := a.refresh(successor)
	wantStatus(t, r, http.StatusOK)
	var third tokens
	decode(t, r, &third)

	// After the grace window, the first token is a reuse: the whole
	// session goes, the newest tokens with it.
	before := metric(t, a.metrics(), "latch_refresh_reuse_detected_total")
	a.clock.Advance(grace + time.Millisecond)
	r = a.refresh(first.RefreshToken)
	if e := wantError(t, r, http.StatusBadRequest, "invalid_grant"); !strings.Contains(e.Description, "reuse") {
		t.Errorf("reuse of a rotated token = %v, want a description naming reuse", r)
	}
	s, err := a.db.SessionByID(t.Context(), first.SessionID)
	if err != nil {
		t.Fatal(err)
	}
	if s.RevokedAt.IsZero() || s.RevokeReason != store.ReasonReuse {
		t.Errorf("session after reuse: revoked %v, reason %q, want revoked for %q", s.RevokedAt, s.RevokeReason, store.ReasonReuse)
	}
	for _, rt := range []string{successor, third.RefreshToken} {
		wantError(t, a.refresh(rt), http.StatusBadRequest, "invalid_grant")
	}
	wantInvalidToken(t, a.me(third.AccessToken), third.AccessToken)

	scrape := a.metrics()
	if got := metric(t, scrape, "latch_refresh_reuse_detected_total"); got != before+1 {
		t.Errorf("latch_refresh_reuse_detected_total = %v, want %v", got, before+1)
	}
	if got := metric(t, scrape, `latch_sessions_revoked_total{reason="reuse"}`); got != 1 {
		t.Errorf(`latch_sessions_revoked_total{reason="reuse"} = %v, want 1`, got)
	}
	if got := metric(t, scrape, `latch_refreshes_total{outcome="reuse"}`); got != 1 {
		t.Errorf(`latch_refreshes_total{outcome="reuse"} = %v, want 1`, got)
	}
	revs, err := a.db.RevocationsSince(t.Context(), 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(revs) != 1 || revs[0].Subject != first.SessionID || revs[0].Reason != store.ReasonReuse {
		t.Errorf("RevocationsSince(0) = %+v, want the reuse of session %s", revs, first.SessionID)
	}
}

// TestRefreshWithinGrace shows the grace window from one client's side:
// the just-rotated token yields the same successor, without revoking.
func TestRefreshWithinGrace(t *testing.T) {
	a := newAPI(t, options{grace: time.Second})
	a.addUser("alice@example.com")
	first := a.login("alice@example.com")
	var got []string
	for range 2 {
		r := a.refresh(first.RefreshToken)
		wantStatus(t, r, http.StatusOK)
		var tk tokens
		decode(t, r, &tk)
		got = append(got, tk.RefreshToken)
		a.clock.Advance(400 * time.Millisecond)
	}
	if got[0] != got[1] {
		t.Errorf("refresh twice within the grace window = %q, %q, want the same successor", got[0], got[1])
	}
	// The window counts from the rotation, not from the last use. After
	// it, the token yields a new successor in place of the unused one
	// (its answer may have been lost), which is then a reuse.
	a.clock.Advance(400 * time.Millisecond)
	r := a.refresh(first.RefreshToken)
	wantStatus(t, r, http.StatusOK)
	var tk tokens
	decode(t, r, &tk)
	if tk.RefreshToken == got[0] || tk.SessionID != first.SessionID {
		t.Errorf("refresh after the grace window = %+v, want a new successor in session %s", tk, first.SessionID)
	}
	if r := a.refresh(got[0]); !bytes.Contains(r.body, []byte("invalid_grant")) {
		t.Errorf("replaced successor = %v, want invalid_grant", r)
	}
	wantError(t, a.refresh(tk.RefreshToken), http.StatusBadRequest, "invalid_grant")
}
