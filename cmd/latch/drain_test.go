package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestServeDrainUnderLoad sends SIGTERM to a server under load from
// keep-alive clients. Every request whose bytes reached the server before
// the signal gets a complete response, and so does every request sent in
// the first half of the drain period, on a kept connection or a new one;
// /readyz answers 503 from the signal on; then the server exits 0.
//
// Each client writes a request on its connection, reads the response,
// and writes the next at once, so at any moment some connections are
// idle with a request in their socket that the server has not read yet:
// the requests that closing idle connections at the signal loses.
func TestServeDrainUnderLoad(t *testing.T) {
	t.Parallel()
	const (
		drainPeriod = 2 * time.Second
		clients     = 16
		maxRequests = 50000 // in all, a bound on the load
	)
	d := startDaemon(t, t.TempDir(), nil, "--addr", "127.0.0.1:0", "--drain-period", drainPeriod.String())

	type outcome struct {
		wrote    time.Time // when the request's last byte was written
		answered bool      // a complete response came back
		err      error
	}
	var (
		mu       sync.Mutex
		outcomes []outcome
		dials    []error // dial failures while the load should be served
		sent     atomic.Int64
		stop     = make(chan struct{}) // closed when the clients must stop sending
		wg       sync.WaitGroup
	)
	paths := []string{"/healthz", "/.well-known/jwks.json", "/v1/me"}
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var conn net.Conn
			var br *bufio.Reader
			defer func() {
				if conn != nil {
					conn.Close()
				}
			}()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				if sent.Add(1) > maxRequests {
					return
				}
				if conn == nil {
					c, err := net.DialTimeout("tcp", d.addr, 2*time.Second)
					if err != nil {
						mu.Lock()
						dials = append(dials, err)
						mu.Unlock()
						return
					}
					conn, br = c, bufio.NewReader(c)
				}
				conn.SetDeadline(time.Now().Add(daemonTimeout))
				path := paths[(i+n)%len(paths)]
				_, err := fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\n", path, d.addr)
				o := outcome{wrote: time.Now(), err: err}
				var resp *http.Response
				if err == nil {
					resp, err = http.ReadResponse(br, nil)
				}
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				o.answered, o.err = err == nil, err
				mu.Lock()
				outcomes = append(outcomes, o)
				mu.Unlock()
				if err != nil || resp.Close {
					conn.Close()
					conn = nil
				}
			}
		}()
	}

	// Let the load run, then signal.
	time.Sleep(500 * time.Millisecond)
	signalled := time.Now()
	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// Readiness fails at once, while the load is still being served.
	readyz := &http.Client{Timeout: daemonTimeout, Transport: &http.Transport{DisableKeepAlives: true}}
	var ready []int
	for time.Since(signalled) < drainPeriod/2 {
		resp, err := readyz.Get(d.url + "/readyz")
		if err != nil {
			t.Errorf("GET /readyz %v after SIGTERM: %v, want 503", time.Since(signalled).Round(time.Millisecond), err)
			break
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ready = append(ready, resp.StatusCode)
		if time.Since(signalled) > 200*time.Millisecond && (resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "draining")) {
			t.Errorf("GET /readyz %v after SIGTERM = %d %s, want 503 draining", time.Since(signalled).Round(time.Millisecond), resp.StatusCode, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cutoff := time.Now()
	close(stop)
	wg.Wait()

	var before, beforeAnswered, during, duringAnswered int
	for _, o := range outcomes {
		switch {
		case o.wrote.Before(signalled):
			before++
			if o.answered {
				beforeAnswered++
			} else {
				t.Errorf("request written %v before SIGTERM: %v, want a complete response", signalled.Sub(o.wrote), o.err)
			}
		case o.wrote.Before(cutoff):
			during++
			if o.answered {
				duringAnswered++
			} else {
				t.Errorf("request written %v after SIGTERM, in the drain period: %v, want a complete response", o.wrote.Sub(signalled), o.err)
			}
		}
	}
	for _, err := range dials {
		t.Errorf("connecting in the drain period: %v, want new connections accepted", err)
	}
	t.Logf("before SIGTERM: %d requests, %d answered; in the drain period: %d, %d answered; /readyz: %v", before, beforeAnswered, during, duringAnswered, ready)
	if before == 0 || during == 0 {
		t.Errorf("%d requests before SIGTERM and %d after: want load on both sides", before, during)
	}
	select {
	case <-d.exited:
		t.Errorf("latch serve exited %v after SIGTERM, before the drain period of %v ended", time.Since(signalled), drainPeriod)
	default:
	}
	d.waitLog("stopped")
	select {
	case <-d.exited:
	case <-time.After(daemonTimeout):
		t.Fatalf("latch serve did not exit after logging \"stopped\"")
	}
	if code := d.state.ExitCode(); code != 0 {
		t.Errorf("latch serve after SIGTERM: exit %d, want 0; stderr:\n%s", code, d.stderr())
	}
}
