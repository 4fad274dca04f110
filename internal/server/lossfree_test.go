package server_test

import (
	"net/http"
	"testing"
	"time"
)

// TestRefreshLostAnswer: a client whose refresh answer was lost presents
// the same refresh token again long after the grace window. While the
// successor it never received is unused, that is no reuse: it gets a
// working pair in the same session, nothing is revoked, and the refresh
// counts as a success.
func TestRefreshLostAnswer(t *testing.T) {
	a := newAPI(t, options{grace: time.Second})
	a.addUser("alice@example.com")
	first := a.login("alice@example.com")
	wantStatus(t, a.refresh(first.RefreshToken), http.StatusOK) // the answer the client never gets
	a.clock.Advance(30 * time.Minute)

	r := a.refresh(first.RefreshToken)
	wantStatus(t, r, http.StatusOK)
	var next tokens
	decode(t, r, &next)
	if next.SessionID != first.SessionID || next.AccessToken == "" {
		t.Errorf("refresh retried after a lost answer = %+v, want a pair in session %s", next, first.SessionID)
	}
	wantStatus(t, a.me(next.AccessToken), http.StatusOK)
	wantStatus(t, a.refresh(next.RefreshToken), http.StatusOK)

	if revs, err := a.db.RevocationsSince(t.Context(), 0, 10); err != nil || len(revs) != 0 {
		t.Errorf("revocations = %+v, %v, want none", revs, err)
	}
	scrape := a.metrics()
	if got := metric(t, scrape, `latch_refreshes_total{outcome="success"}`); got != 3 {
		t.Errorf(`latch_refreshes_total{outcome="success"} = %v, want 3`, got)
	}
	if got := metric(t, scrape, "latch_refresh_reuse_detected_total"); got != 0 {
		t.Errorf("latch_refresh_reuse_detected_total = %v, want 0", got)
	}
}
