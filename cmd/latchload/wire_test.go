package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
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
	return c.do(ctx, &request{method: http.MethodGet, target: path})
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

func TestAppendRequest(t *testing.T) {
	const secret = "Bearer s3cret"
	tests := []struct {
		name string
		host string
		req  request
		want string // "" for an errInvalidRequest
	}{
		{
			name: "POST with a body",
			host: "127.0.0.1:8080",
			req: request{method: "POST", target: "/v1/login", body: []byte(`{"a":1}`), header: []headerField{
				{"Content-Type", "application/json"}, {"Accept", "application/json"},
			}},
			want: "POST /v1/login HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: latchload\r\n" +
				"Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}",
		},
		{
			name: "POST with no body",
			host: "localhost",
			req:  request{method: "POST", target: "/oauth2/token"},
			want: "POST /oauth2/token HTTP/1.1\r\nHost: localhost\r\nUser-Agent: latchload\r\nContent-Length: 0\r\n\r\n",
		},
		{
			name: "GET with a query, no Content-Length",
			host: "[::1]:80",
			req:  request{method: "GET", target: "/v1/me?a=1&b=x%20y", header: []headerField{{"Authorization", secret}}},
			want: "GET /v1/me?a=1&b=x%20y HTTP/1.1\r\nHost: [::1]:80\r\nUser-Agent: latchload\r\nAuthorization: " + secret + "\r\n\r\n",
		},
		{
			name: "tab and non-ASCII in a value",
			host: "h",
			req:  request{method: "GET", target: "/", header: []headerField{{"X-A", "a\tb é"}}},
			want: "GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: latchload\r\nX-A: a\tb é\r\n\r\n",
		},
		{name: "CR LF in a header value", host: "h", req: request{method: "GET", target: "/",
			header: []headerField{{"Authorization", secret + "\r\nX-Injected: 1"}}}},
		{name: "LF in a header value", host: "h", req: request{method: "GET", target: "/",
			header: []headerField{{"Authorization", secret + "\nX-Injected: 1"}}}},
		{name: "CR in a header value", host: "h", req: request{method: "GET", target: "/",
			header: []headerField{{"Authorization", secret + "\r"}}}},
		{name: "NUL in a header value", host: "h", req: request{method: "GET", target: "/",
			header: []headerField{{"Authorization", secret + "\x00"}}}},
		{name: "colon in a header name", host: "h", req: request{method: "GET", target: "/",
			header: []headerField{{"X-A: b", "c"}}}},
		{name: "CR LF in a header name", host: "h", req: request{method: "GET", target: "/",
			header: []headerField{{"X-A\r\nX-B", "c"}}}},
		{name: "empty header name", host: "h", req: request{method: "GET", target: "/",
			header: []headerField{{"", "c"}}}},
		{name: "space in the method", host: "h", req: request{method: "GET /x", target: "/"}},
		{name: "empty method", host: "h", req: request{target: "/"}},
		{name: "HEAD", host: "h", req: request{method: "HEAD", target: "/"}},
		{name: "space in the target", host: "h", req: request{method: "GET", target: "/a b"}},
		{name: "CR LF in the target", host: "h", req: request{method: "GET", target: "/a\r\nX-B: c"}},
		{name: "target not a path", host: "h", req: request{method: "GET", target: "http://h/"}},
		{name: "empty target", host: "h", req: request{method: "GET"}},
		{name: "CR LF in the host", host: "h\r\nX-B: c", req: request{method: "GET", target: "/"}},
		{name: "empty host", req: request{method: "GET", target: "/"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := appendRequest([]byte("kept"), tt.host, &tt.req)
			if tt.want == "" {
				if !errors.Is(err, errInvalidRequest) {
					t.Fatalf("appendRequest(%+v) = %q, %v, want errInvalidRequest", tt.req, got, err)
				}
				if strings.Contains(err.Error(), "s3cret") {
					t.Errorf("appendRequest error %q holds the header value", err)
				}
				return
			}
			if err != nil || string(got) != "kept"+tt.want {
				t.Errorf("appendRequest(%+v) = %q, %v, want %q", tt.req, got, err, "kept"+tt.want)
			}
		})
	}
}

// recordingListener records the bytes the server reads from its
// connections, and counts the connections.
type recordingListener struct {
	net.Listener
	conns atomic.Int64
	mu    sync.Mutex
	read  bytes.Buffer
}

func (l *recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.conns.Add(1)
	return &recordingConn{Conn: c, l: l}, nil
}

// take returns what the server read since the last take.
func (l *recordingListener) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.read.String()
	l.read.Reset()
	return s
}

type recordingConn struct {
	net.Conn
	l *recordingListener
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.l.mu.Lock()
	c.l.read.Write(p[:n])
	c.l.mu.Unlock()
	return n, err
}

// seenRequest is what net/http's server parsed of a request.
type seenRequest struct {
	method, path, query, host string
	contentLength             int64
	header                    http.Header
	body                      string
}

// recordingServer returns a server that answers "ok" and records the
// bytes of the requests it reads and what it parsed of the last one.
func recordingServer(t *testing.T) (*httptest.Server, *recordingListener, func() seenRequest) {
	t.Helper()
	var (
		mu   sync.Mutex
		seen seenRequest
	)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("server reading the body: %v", err)
		}
		mu.Lock()
		seen = seenRequest{
			method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, host: r.Host,
			contentLength: r.ContentLength, header: r.Header.Clone(), body: string(body),
		}
		mu.Unlock()
		io.WriteString(w, "ok")
	}))
	l := &recordingListener{Listener: srv.Listener}
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, l, func() seenRequest {
		mu.Lock()
		defer mu.Unlock()
		return seen
	}
}

// TestWireRequestBytes sends requests over one connection and checks the
// bytes the server read and what net/http's server made of them.
func TestWireRequestBytes(t *testing.T) {
	srv, l, last := recordingServer(t)
	c := wireTo(t, srv, 5*time.Second)
	host := strings.TrimPrefix(srv.URL, "http://")
	tests := []struct {
		name  string
		req   request
		bytes string // on the wire
		seen  seenRequest
	}{
		{
			name: "POST with a JSON body",
			req: request{method: "POST", target: "/v1/token/refresh", body: []byte(`{"refresh_token":"rt"}`),
				header: []headerField{{"Content-Type", "application/json"}, {"Accept", "application/json"}}},
			bytes: "POST /v1/token/refresh HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: latchload\r\n" +
				"Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: 22\r\n\r\n" +
				`{"refresh_token":"rt"}`,
			seen: seenRequest{method: "POST", path: "/v1/token/refresh", host: host, contentLength: 22,
				header: http.Header{"User-Agent": {"latchload"}, "Content-Type": {"application/json"},
					"Accept": {"application/json"}, "Content-Length": {"22"}},
				body: `{"refresh_token":"rt"}`},
		},
		{
			name:  "POST with an empty body",
			req:   request{method: "POST", target: "/oauth2/token", header: []headerField{{"authorization", "Basic YTpi"}}},
			bytes: "POST /oauth2/token HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: latchload\r\nauthorization: Basic YTpi\r\nContent-Length: 0\r\n\r\n",
			seen: seenRequest{method: "POST", path: "/oauth2/token", host: host, contentLength: 0,
				header: http.Header{"User-Agent": {"latchload"}, "Authorization": {"Basic YTpi"}, "Content-Length": {"0"}}},
		},
		{
			name:  "GET with a query",
			req:   request{method: "GET", target: "/v1/me?mode=json&x=a%20b", header: []headerField{{"Accept", "application/json"}}},
			bytes: "GET /v1/me?mode=json&x=a%20b HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: latchload\r\nAccept: application/json\r\n\r\n",
			seen: seenRequest{method: "GET", path: "/v1/me", query: "mode=json&x=a%20b", host: host, contentLength: 0,
				header: http.Header{"User-Agent": {"latchload"}, "Accept": {"application/json"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.do(t.Context(), &tt.req)
			if err != nil || res.status != http.StatusOK || string(res.body) != "ok" {
				t.Fatalf("do = %d %q, %v, want 200 ok", res.status, res.body, err)
			}
			if got := l.take(); got != tt.bytes {
				t.Errorf("on the wire:\n%q\nwant\n%q", got, tt.bytes)
			}
			if got := last(); !reflect.DeepEqual(got, tt.seen) {
				t.Errorf("the server parsed %+v, want %+v", got, tt.seen)
			}
		})
	}

	// A header value that would inject a line is refused before
	// anything is written, and the connection goes on.
	_, err := c.do(t.Context(), &request{method: "GET", target: "/v1/me",
		header: []headerField{{"Authorization", "Bearer x\r\nX-Injected: 1"}}})
	if !errors.Is(err, errInvalidRequest) {
		t.Errorf("a header value with CR LF: err = %v, want errInvalidRequest", err)
	}
	if got := l.take(); got != "" {
		t.Errorf("a refused request put %q on the wire", got)
	}
	if res, err := get(t, t.Context(), c, "/after"); err != nil || string(res.body) != "ok" {
		t.Errorf("request after a refused one = %q, %v, want ok", res.body, err)
	}
	if got := l.conns.Load(); got != 1 {
		t.Errorf("connections = %d, want 1", got)
	}
}

// TestRunnerTargets checks the requests the runner's operations send,
// under a base URL with a path.
func TestRunnerTargets(t *testing.T) {
	srv, l, last := recordingServer(t)
	u, err := url.Parse(srv.URL + "/auth%20x/")
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{URL: u, Timeout: 5 * time.Second, Password: "pw", ClientID: "id", ClientSecret: "secret"}
	r := &runner{cfg: cfg, dial: newDial(false), prefix: trimSlash(u.EscapedPath())}
	r.clientAuth = basicAuth(cfg.ClientID, cfg.ClientSecret)
	r.grantForm = grantForm("")
	c := r.newWire()
	t.Cleanup(c.close)
	host := u.Host
	tests := []struct {
		name  string
		op    func() result
		bytes string // on the wire
		path  string // as the server parsed it
	}{
		{
			name: "login",
			op:   func() result { return r.login(t.Context(), c, "a@example.com") },
			bytes: "POST /auth%20x/v1/login HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: latchload\r\n" +
				"Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: 41\r\n\r\n" +
				`{"email":"a@example.com","password":"pw"}`,
			path: "/auth x/v1/login",
		},
		{
			name: "refresh",
			op:   func() result { return r.refresh(t.Context(), c, "rt-1_x") },
			bytes: "POST /auth%20x/v1/token/refresh HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: latchload\r\n" +
				"Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: 26\r\n\r\n" +
				`{"refresh_token":"rt-1_x"}`,
			path: "/auth x/v1/token/refresh",
		},
		{
			name: "me",
			op:   func() result { return r.me(t.Context(), c, "at") },
			bytes: "GET /auth%20x/v1/me HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: latchload\r\n" +
				"Accept: application/json\r\nAuthorization: Bearer at\r\n\r\n",
			path: "/auth x/v1/me",
		},
		{
			name: "client credentials",
			op:   func() result { return r.clientCredentials(t.Context(), c) },
			bytes: "POST /auth%20x/oauth2/token HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: latchload\r\n" +
				"Content-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\n" +
				"Authorization: " + basicAuth("id", "secret") + "\r\nContent-Length: 29\r\n\r\n" +
				"grant_type=client_credentials",
			path: "/auth x/oauth2/token",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if res := tt.op(); res.status != http.StatusOK {
				t.Fatalf("%s = %s, want HTTP 200", tt.name, res.describe())
			}
			if got := l.take(); got != tt.bytes {
				t.Errorf("on the wire:\n%q\nwant\n%q", got, tt.bytes)
			}
			if got := last().path; got != tt.path {
				t.Errorf("the server parsed the path %q, want %q", got, tt.path)
			}
		})
	}
}

func TestWireChunkedResponse(t *testing.T) {
	want := strings.Repeat("0123456789abcdef", 1000)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < len(want); i += 3000 {
			io.WriteString(w, want[i:min(i+3000, len(want))])
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	c := wireTo(t, srv, 5*time.Second)
	for range 2 {
		res, err := get(t, t.Context(), c, "/")
		if err != nil || string(res.body) != want {
			t.Fatalf("a chunked body of %d bytes = %d bytes, %v", len(want), len(res.body), err)
		}
	}
}

func TestRefreshBody(t *testing.T) {
	for _, token := range []string{
		"", "rt-1", "AbC-_09xyz", `a"b`, `a\b`, "a\nb", "a\x00b", "a\x7fb", "<&>", "é", "\u2028",
		strings.Repeat("A_-z", 25),
	} {
		b := refreshBody(token)
		var got struct {
			RefreshToken *string `json:"refresh_token"`
		}
		if err := json.Unmarshal(b, &got); err != nil || got.RefreshToken == nil || *got.RefreshToken != token {
			t.Errorf("refreshBody(%q) = %s, which does not decode to the token (%v)", token, b, err)
		}
	}
	if got, want := string(refreshBody("AbC-_09")), `{"refresh_token":"AbC-_09"}`; got != want {
		t.Errorf("refreshBody(%q) = %s, want %s", "AbC-_09", got, want)
	}
}

// TestRequestAllocations holds the request path's budget: a request
// written into the bufio.Writer's free space allocates nothing.
func TestRequestAllocations(t *testing.T) {
	req := request{method: "POST", target: "/v1/token/refresh", body: refreshBody(strings.Repeat("a", 100)),
		header: []headerField{{"Content-Type", "application/json"}, {"Accept", "application/json"}}}
	buf := make([]byte, 0, 4<<10)
	if n := testing.AllocsPerRun(100, func() {
		if _, err := appendRequest(buf, "127.0.0.1:8080", &req); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("appendRequest allocates %v times, want 0", n)
	}
}

// BenchmarkWriteRequest compares writing a refresh request with
// net/http's Request, as latchload did, with appendRequest.
func BenchmarkWriteRequest(b *testing.B) {
	token := strings.Repeat("Ab3_-x9Z", 13)[:100]
	bw := bufio.NewWriterSize(io.Discard, 8<<10)
	b.Run("net_http", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			body, _ := json.Marshal(struct {
				RefreshToken string `json:"refresh_token"`
			}{token})
			req, err := http.NewRequestWithContext(b.Context(), http.MethodPost, "http://127.0.0.1:8080/v1/token/refresh", bytes.NewReader(body))
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json")
			if err := req.Write(bw); err != nil {
				b.Fatal(err)
			}
			bw.Flush()
		}
	})
	b.Run("appendRequest", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			header := [...]headerField{{"Content-Type", "application/json"}, {"Accept", "application/json"}}
			req := request{method: http.MethodPost, target: "/v1/token/refresh", header: header[:], body: refreshBody(token)}
			p, err := appendRequest(bw.AvailableBuffer(), "127.0.0.1:8080", &req)
			if err != nil {
				b.Fatal(err)
			}
			bw.Write(p)
			bw.Flush()
		}
	})
}
