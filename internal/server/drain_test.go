package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestStartDrain checks the server's part of a graceful shutdown: once
// StartDrain is called, /readyz fails at once while every other request
// is still answered, each closing its connection after the response; a
// request already on its way on an idle keep-alive connection is served.
func TestStartDrain(t *testing.T) {
	a := newAPI(t, options{})
	a.addUser("alice@example.com")
	wantStatus(t, a.do(request{method: "GET", path: "/readyz"}), http.StatusOK)

	// A keep-alive connection, idle after its first request.
	conn, err := net.Dial("tcp", strings.TrimPrefix(a.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(conn)
	get := func(path string) *http.Response {
		t.Helper()
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: latch\r\n\r\n", path)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("GET %s on the kept-alive connection: %v", path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if resp := get("/healthz"); resp.StatusCode != 200 || resp.Close {
		t.Fatalf("GET /healthz before the drain = %d, close %v; want 200 and the connection kept", resp.StatusCode, resp.Close)
	}

	a.srv.StartDrain()
	r := a.do(request{method: "GET", path: "/readyz"})
	e := wantError(t, r, http.StatusServiceUnavailable, "not_ready")
	if !strings.Contains(e.Description, "draining") {
		t.Errorf("%s while draining = %v, want a description saying draining", r.req, r)
	}
	// New requests are served, on connections that close after them
	// (the client sees the response's "Connection: close" as resp.Close).
	for _, rq := range []request{
		{method: "GET", path: "/healthz"},
		{method: "POST", path: "/v1/login", body: jsonBody(map[string]string{"email": "alice@example.com", "password": testPassword})},
	} {
		req, err := http.NewRequestWithContext(t.Context(), rq.method, a.url+rq.path, strings.NewReader(rq.body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := a.client.Do(req)
		if err != nil {
			t.Fatalf("%s %s while draining: %v", rq.method, rq.path, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !resp.Close {
			t.Errorf("%s %s while draining = %d, close %v; want 200 and Connection: close", rq.method, rq.path, resp.StatusCode, resp.Close)
		}
	}
	// The connection idle when the drain began still serves its next
	// request, then closes.
	if resp := get("/healthz"); resp.StatusCode != 200 || !resp.Close {
		t.Errorf("GET /healthz on a connection idle when the drain began = %d, close %v; want 200 and close", resp.StatusCode, resp.Close)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("reading after the last response: %v, want EOF (connection closed)", err)
	}
}
