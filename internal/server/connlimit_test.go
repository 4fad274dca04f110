package server

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

// limitedServer serves h on a loopback listener limited to n
// connections, with a two-minute idle timeout as latch serve's.
func limitedServer(t *testing.T, n int, h http.Handler) (string, *http.Server) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, IdleTimeout: 2 * time.Minute, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(LimitConnections(srv, ln, n)) }()
	t.Cleanup(func() {
		srv.Close()
		if err := <-served; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve = %v, want %v", err, http.ErrServerClosed)
		}
	})
	return ln.Addr().String(), srv
}

// rawConn is one keep-alive connection, written and read by hand.
type rawConn struct {
	conn net.Conn
	br   *bufio.Reader
}

func dial(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{conn: c, br: bufio.NewReader(c)}
}

// send writes a GET of path.
func (c *rawConn) send(t *testing.T, path string) {
	t.Helper()
	if _, err := io.WriteString(c.conn, "GET "+path+" HTTP/1.1\r\nHost: test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
}

// read reads one response within d and returns its body.
func (c *rawConn) read(d time.Duration) (string, error) {
	c.conn.SetReadDeadline(time.Now().Add(d))
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestLimitConnectionsWaits: past the limit, with no connection idle, a
// new connection is not served until one frees its slot; then it is.
func TestLimitConnectionsWaits(t *testing.T) {
	release := make(chan struct{})
	addr, _ := limitedServer(t, 1, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		io.WriteString(w, r.URL.Path)
	}))
	a := dial(t, addr)
	a.send(t, "/slow")
	time.Sleep(50 * time.Millisecond) // a holds the one slot, busy
	b := dial(t, addr)
	b.send(t, "/b")
	if body, err := b.read(300 * time.Millisecond); !isTimeout(err) {
		t.Fatalf("second connection past a limit of 1 = %q, %v; want no answer while the first is busy", body, err)
	}
	close(release)
	if body, err := a.read(5 * time.Second); err != nil || body != "/slow" {
		t.Fatalf("first connection = %q, %v; want /slow", body, err)
	}
	// a is now idle: it makes room for b.
	if body, err := b.read(5 * time.Second); err != nil || body != "/b" {
		t.Errorf("second connection once the first is idle = %q, %v; want /b", body, err)
	}
}

// TestLimitConnectionsClosesIdle: at the limit, a new connection is
// served at once, in the slot of the connection idle the longest, which
// is closed; the other idle one stays open and usable.
func TestLimitConnectionsClosesIdle(t *testing.T) {
	addr, _ := limitedServer(t, 2, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.Path)
	}))
	older, newer := dial(t, addr), dial(t, addr)
	for _, c := range []*rawConn{older, newer} {
		c.send(t, "/first")
		if body, err := c.read(5 * time.Second); err != nil || body != "/first" {
			t.Fatalf("first request = %q, %v; want /first", body, err)
		}
		time.Sleep(20 * time.Millisecond) // older is idle longer
	}
	third := dial(t, addr)
	third.send(t, "/third")
	if body, err := third.read(5 * time.Second); err != nil || body != "/third" {
		t.Fatalf("third connection at the limit = %q, %v; want /third at once (the idle timeout is 2 minutes)", body, err)
	}
	older.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := older.br.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("the longest-idle connection after the third arrived: read %d bytes, %v; want it closed (EOF)", n, err)
	}
	newer.send(t, "/again")
	if body, err := newer.read(5 * time.Second); err != nil || body != "/again" {
		t.Errorf("the other idle connection = %q, %v; want it still served", body, err)
	}
}

// TestLimitConnectionsClose: closing the server ends an Accept waiting
// for a slot (limitedServer's cleanup checks that Serve returns).
func TestLimitConnectionsClose(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	addr, srv := limitedServer(t, 1, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
	}))
	a := dial(t, addr)
	a.send(t, "/slow")
	time.Sleep(50 * time.Millisecond)
	dial(t, addr) // waits in the accept queue
	time.Sleep(50 * time.Millisecond)
	done := make(chan error, 1)
	go func() { done <- srv.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Close = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return within 5 s while Accept waited for a slot")
	}
}
