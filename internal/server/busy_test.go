package server_test

import (
	"database/sql"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// holdWriteLock begins a write transaction on the API's database through
// a connection of its own, as another process (a backup tool, a second
// server by mistake) would, and returns the function that ends it; the
// test's end does too.
func (a *api) holdWriteLock() (release func()) {
	a.t.Helper()
	u := url.URL{Scheme: "file", Path: a.dbPath, RawQuery: "_txlock=immediate"}
	other, err := sql.Open("sqlite", u.String())
	if err != nil {
		a.t.Fatalf("sql.Open(%s) = %v, want nil", a.dbPath, err)
	}
	tx, err := other.BeginTx(a.t.Context(), nil)
	if err != nil {
		other.Close()
		a.t.Fatalf("BEGIN IMMEDIATE on a second connection = %v, want nil", err)
	}
	done := false
	release = func() {
		if !done {
			done = true
			tx.Rollback()
			other.Close()
		}
	}
	a.t.Cleanup(release)
	return release
}

// TestLockedDatabase: while another process holds the database's write
// lock past the busy timeout, requests that write answer 503
// temporarily_unavailable with Retry-After and a JSON body, like the other
// overload answers, rather than 500; /readyz fails; and nothing is lost:
// once the lock is gone, the same refresh token works.
func TestLockedDatabase(t *testing.T) {
	a := newAPI(t, options{busyTimeout: 100 * time.Millisecond})
	u := a.addUser("locked@example.com")
	first := a.login(u.Email)
	wantStatus(t, a.do(request{method: "GET", path: "/readyz"}), http.StatusOK)
	before := a.snapshot(u)

	release := a.holdWriteLock()
	for _, rq := range []request{
		{method: "POST", path: "/v1/login", body: jsonBody(map[string]string{"email": u.Email, "password": testPassword})},
		{method: "POST", path: "/v1/token/refresh", body: jsonBody(map[string]string{"refresh_token": first.RefreshToken})},
	} {
		r := a.do(rq)
		wantError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable")
		if ra := r.header.Get("Retry-After"); ra == "" || strings.Trim(ra, "0123456789") != "" {
			t.Errorf("%s: Retry-After %q, want a number of seconds", r, ra)
		}
		var body map[string]any
		if err := json.Unmarshal(r.body, &body); err != nil || body["error_description"] == "" {
			t.Errorf("%s: body %s, want JSON with an error_description", r, r.body)
		}
	}
	// A browser's cookie session survives the busy answer: only an
	// invalid or reused refresh token clears the cookies.
	r := a.do(request{method: "POST", path: "/v1/token/refresh?mode=cookie", cookies: []*http.Cookie{{Name: refreshCookie, Value: first.RefreshToken}}})
	wantError(t, r, http.StatusServiceUnavailable, "temporarily_unavailable")
	if set := r.header.Values("Set-Cookie"); len(set) != 0 {
		t.Errorf("%s while the database is locked sets cookies %v, want none: the browser keeps its session", r, set)
	}
	// The readiness probe checks that a write commits: it fails too.
	time.Sleep(time.Second) // past the last check, which may be reused for a second
	if r := a.do(request{method: "GET", path: "/readyz"}); r.status != http.StatusServiceUnavailable {
		t.Errorf("%s while the database is locked, want 503", r)
	}
	release()

	if after := a.snapshot(u); !after.equal(before) {
		t.Errorf("the store after requests refused as busy = %+v, want it unchanged: %+v", after, before)
	}
	r = a.refresh(first.RefreshToken)
	wantStatus(t, r, http.StatusOK)
	var next tokens
	decode(t, r, &next)
	if next.SessionID != first.SessionID {
		t.Errorf("refresh after the lock = session %s, want %s", next.SessionID, first.SessionID)
	}
	time.Sleep(time.Second)
	wantStatus(t, a.do(request{method: "GET", path: "/readyz"}), http.StatusOK)
}
