package memnet_test

import (
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/latch-auth/latch/internal/memnet"
)

// TestServe: a handler that waits an hour of the bubble's clock answers
// at once, and the client sees exactly an hour pass.
func TestServe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New()
		srv, err := n.Serve("a.test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(time.Hour)
			io.WriteString(w, "hello "+r.Host)
		}))
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		c := n.Client()
		defer c.CloseIdleConnections()

		start := time.Now()
		resp, err := c.Get(srv.URL + "/x")
		if err != nil {
			t.Fatalf("Get = %v", err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(body) != "hello a.test" {
			t.Errorf("body = %q, %v; want %q", body, err, "hello a.test")
		}
		if d := time.Since(start); d != time.Hour {
			t.Errorf("the request took %v of the bubble's clock, want 1h", d)
		}
	})
}

// TestRefused: a host without a listener, or whose server is closed,
// refuses connections.
func TestRefused(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New()
		c := n.Client()
		if _, err := c.Get("http://nobody.test/"); err == nil {
			t.Error("Get(unknown host) = nil error, want refused")
		}
		srv, err := n.Serve("a.test", http.NotFoundHandler())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.Serve("a.test", http.NotFoundHandler()); err == nil {
			t.Error("second Serve on a.test = nil error, want a conflict")
		}
		srv.Close()
		c.CloseIdleConnections()
		if _, err := c.Get(srv.URL); err == nil {
			t.Error("Get(closed server) = nil error, want refused")
		}
	})
}

// TestCancel: a client that gives up while the server has not answered
// gets its context's error, and the handler sees its request canceled.
func TestCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		n := memnet.New()
		canceled := make(chan bool, 1)
		srv, err := n.Serve("a.test", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
				canceled <- true
			case <-time.After(time.Hour):
				canceled <- false
			}
		}))
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		c := n.Client()
		c.Timeout = time.Minute
		start := time.Now()
		_, err = c.Get(srv.URL)
		if ne, ok := errors.AsType[net.Error](err); !ok || !ne.Timeout() {
			t.Fatalf("Get = %v, want a timeout", err)
		}
		if d := time.Since(start); d != time.Minute {
			t.Errorf("Get gave up after %v, want the client's Timeout (1m)", d)
		}
		if !<-canceled {
			t.Error("the handler's request was not canceled when the client gave up")
		}
	})
}
