package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// wireTo returns a wire to srv, as a run's worker gets one.
func wireTo(t *testing.T, srv *httptest.Server, timeout time.Duration) *wire {
	t.Helper()
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{cfg: Config{URL: u, Timeout: timeout}, dial: newDial(false)}
	c := r.newWire()
	t.Cleanup(c.close)
	return c
}

func get(t *testing.T, ctx context.Context, c *wire, path string) (response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+c.host+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c.do(req)
}

func TestWireKeepAliveAndClose(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/close" {
			w.Header().Set("Connection", "close")
		}
		w.Write([]byte("body of " + r.URL.Path))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c := wireTo(t, srv, 5*time.Second)
	for i, path := range []string{"/a", "/b", "/close", "/c", "/d"} {
		res, err := get(t, t.Context(), c, path)
		if err != nil {
			t.Fatalf("request %d (%s): %v", i, path, err)
		}
		if res.status != http.StatusOK || string(res.body) != "body of "+path {
			t.Fatalf("request %d (%s) = %d %q, want 200 %q", i, path, res.status, res.body, "body of "+path)
		}
	}
	// /a, /b and /close share the first connection; the server closed it,
	// so /c dialled a second one, which /d reused.
	if got := conns.Load(); got != 2 {
		t.Errorf("connections = %d, want 2 (one reused, one after Connection: close)", got)
	}
}

func TestWireBodyTooLarge(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/big" {
			w.Write([]byte(strings.Repeat("x", maxBody+1)))
			return
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	c := wireTo(t, srv, 5*time.Second)
	if _, err := get(t, t.Context(), c, "/big"); !errors.Is(err, errBodyTooLarge) {
		t.Fatalf("a body of maxBody+1 bytes: err = %v, want errBodyTooLarge", err)
	}
	if c.conn != nil {
		t.Error("the connection with an unread body is still open")
	}
	if res, err := get(t, t.Context(), c, "/small"); err != nil || string(res.body) != "ok" {
		t.Errorf("next request = %q, %v, want ok on a new connection", res.body, err)
	}
}

func TestWireTimeoutAndCancel(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		w.Write([]byte("ok"))
	}))
	defer srv.Close()
	defer close(release)

	c := wireTo(t, srv, 200*time.Millisecond)
	_, err := get(t, t.Context(), c, "/hang")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("a request the server does not answer within the timeout: err = %v, want a timeout", err)
	}

	c = wireTo(t, srv, time.Minute)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	if _, err := get(t, ctx, c, "/hang"); !errors.Is(err, context.Canceled) {
		t.Errorf("a request whose context is cancelled while it waits: err = %v, want context.Canceled", err)
	}
	// The worker goes on with a new connection.
	if res, err := get(t, t.Context(), c, "/after"); err != nil || string(res.body) != "ok" {
		t.Errorf("request after a cancelled one = %q, %v, want ok", res.body, err)
	}
}
