package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A wire is one worker's keep-alive HTTP/1.1 connection to the server. A
// request is written and its response read on the worker's own goroutine.
//
// latchload shares the machine with the server it measures, so what it
// spends per request is taken from the server. net/http's Transport runs
// two goroutines per connection and hands each request and response
// between them and the caller over channels: on a 2-core machine, about
// 70 µs of CPU per refresh in the load generator, against some 180 µs in
// the server. A wire does the same work without the hand-offs, and writes
// the request itself (see request): net/http parses only the response.
type wire struct {
	scheme, host string // of the base URL: "http" or "https", and host:port
	authority    string // the Host header: the base URL's host[:port]
	dial         func(ctx context.Context, network, addr string) (net.Conn, error)
	timeout      time.Duration // per request, dial included

	conn net.Conn // nil until the first request, and after a failure
	br   *bufio.Reader
	bw   *bufio.Writer
	body []byte // the last response's body; reused by the next request
}

// A request is what a wire sends: an HTTP/1.1 request (RFC 9112 §3),
// written byte for byte without net/http's Request, whose URL parsing and
// header canonicalization and sorting cost CPU that the server measured
// then lacks. appendRequest checks every field before anything is sent.
type request struct {
	// method is a token (RFC 9110 §9.1) such as "GET" or "POST"; not HEAD
	// or CONNECT, whose responses a wire would misread.
	method string
	// target is the origin-form request target (RFC 9112 §3.2.1): an
	// absolute path, escaped, with an optional query: "/v1/me?x=1".
	target string
	// header is written in order, after Host and User-Agent.
	header []headerField
	// body is sent with its Content-Length; nil or empty for none.
	body []byte
}

// A headerField is one header line of a request: "name: value".
type headerField struct{ name, value string }

// userAgent is the User-Agent of every request, so that the sessions a
// run leaves in the server say what made them.
const userAgent = "latchload"

// response is what a wire reads of an answer: the body whole.
type response struct {
	status int
	header http.Header
	// body is valid until the wire's next request, which reuses its
	// memory: a caller that keeps it copies it.
	body []byte
}

// errBodyTooLarge is a response body over maxBody.
var errBodyTooLarge = fmt.Errorf("response body over %d bytes", maxBody)

// errInvalidRequest is a request a wire refuses to send: a method, target
// or header field that is not well-formed, such as a header value with a
// CR or LF, which would end the line early and let the rest pass for
// another header or request (RFC 9112 §11.2).
var errInvalidRequest = errors.New("invalid request")

// longAgo is a deadline in the past: it interrupts a blocked read or write.
var longAgo = time.Unix(1, 0)

// do sends req and reads its response whole. A connection that failed,
// or that the server asked to close, is closed and the next request dials
// a new one; a failed request is not sent again. A request that fails
// appendRequest's checks is not sent, and the connection stays open.
func (w *wire) do(ctx context.Context, req *request) (response, error) {
	if err := ctx.Err(); err != nil {
		return response{}, err
	}
	if w.conn == nil {
		if err := w.connect(ctx); err != nil {
			return response{}, err
		}
	}
	// The request is built in the buffer's free space, where Write
	// finds it in place. The body is copied in with the head rather
	// than written on its own, so that nothing of req reaches the heap.
	b, err := appendRequest(w.bw.AvailableBuffer(), w.authority, req)
	if err != nil {
		return response{}, err
	}
	if err := w.conn.SetDeadline(time.Now().Add(w.timeout)); err != nil {
		w.close()
		return response{}, err
	}
	conn := w.conn
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(longAgo) })
	res, err := w.exchange(b)
	if !stop() && err == nil {
		// The context ended as the exchange finished: the deadline it
		// set would fail the next request on this connection.
		err = ctx.Err()
	}
	if err != nil {
		w.close()
		if ctx.Err() != nil {
			return response{}, ctx.Err()
		}
		return response{}, err
	}
	return res, nil
}

// exchange sends a request, whole, and reads the response.
func (w *wire) exchange(req []byte) (response, error) {
	w.bw.Write(req) // a bufio.Writer's error is sticky: Flush returns it
	if err := w.bw.Flush(); err != nil {
		return response{}, err
	}
	// No request: a nil one reads as the response to a GET, which for the
	// methods a wire sends is the same framing (RFC 9112 §6.3).
	resp, err := http.ReadResponse(w.br, nil)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := readBody(w.body[:0], resp)
	if err != nil {
		return response{}, err
	}
	w.body = b
	if resp.Close {
		w.close() // the answer is whole; the server closes the connection
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// readBody appends resp's body, at most maxBody bytes, to buf: with a
// Content-Length, in one read into memory of that size.
func readBody(buf []byte, resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 {
		if n > maxBody {
			return nil, errBodyTooLarge
		}
		buf = slices.Grow(buf, int(n))[:len(buf)+int(n)]
		if _, err := io.ReadFull(resp.Body, buf[len(buf)-int(n):]); err != nil {
			return nil, err
		}
		return buf, nil
	}
	// Chunked, or delimited by the end of the connection.
	for {
		buf = slices.Grow(buf, 4<<10)
		n, err := resp.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		switch {
		case len(buf) > maxBody:
			return nil, errBodyTooLarge
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return nil, err
		}
	}
}

// appendRequest appends req, as sent to the server named host, to dst:
//
//	METHOD target HTTP/1.1\r\n
//	Host: host\r\n
//	User-Agent: latchload\r\n
//	name: value\r\n (each header field, in order)
//	Content-Length: n\r\n
//	\r\n
//	body
//
// Content-Length is sent as net/http's client sends it: for a body, and
// for an empty one ("Content-Length: 0") with every method but GET, for
// which servers expect no body. A method, target or header field that is
// not well-formed is an errInvalidRequest, whose text never holds a
// header value (it may be a credential).
func appendRequest(dst []byte, host string, req *request) ([]byte, error) {
	switch {
	case !isToken(req.method):
		return nil, invalidRequest("method %q", req.method)
	case req.method == http.MethodHead || req.method == http.MethodConnect:
		return nil, invalidRequest("method %s is not supported", req.method)
	case !isTarget(req.target):
		return nil, invalidRequest("target %q", req.target)
	case host == "" || !isFieldValue(host):
		return nil, invalidRequest("host %q", host)
	}
	for _, h := range req.header {
		switch {
		case !isToken(h.name):
			return nil, invalidRequest("header name %q", h.name)
		case !isFieldValue(h.value):
			return nil, invalidRequest("header %q has a control character (such as CR or LF) in its value", h.name)
		}
	}
	dst = append(dst, req.method...)
	dst = append(dst, ' ')
	dst = append(dst, req.target...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, host...)
	dst = append(dst, "\r\nUser-Agent: "+userAgent+"\r\n"...)
	for _, h := range req.header {
		dst = append(dst, h.name...)
		dst = append(dst, ": "...)
		dst = append(dst, h.value...)
		dst = append(dst, "\r\n"...)
	}
	if len(req.body) > 0 || req.method != http.MethodGet {
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, int64(len(req.body)), 10)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "\r\n"...)
	return append(dst, req.body...), nil
}

// invalidRequest returns an errInvalidRequest with detail, format
// applied to a copy of s: what is passed to fmt escapes to the heap, and
// so, if it were s, would every request given to appendRequest.
func invalidRequest(format, s string) error {
	return fmt.Errorf("%w: "+format, errInvalidRequest, strings.Clone(s))
}

// isToken reports whether s is a token (RFC 9110 §5.6.2): a method or a
// header field name.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if !tokenChar[s[i]] {
			return false
		}
	}
	return true
}

// tokenChar is the tchar of RFC 9110 §5.6.2.
var tokenChar = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

// isFieldValue reports whether s may be a header field value as net/http
// has it (golang.org/x/net/http/httpguts.ValidHeaderFieldValue): no
// control character other than horizontal tab, so no CR, LF or NUL.
func isFieldValue(s string) bool {
	for i := range len(s) {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// isTarget reports whether s is an origin-form request target as a wire
// sends it: "/" then printable ASCII with no space.
func isTarget(s string) bool {
	if s == "" || s[0] != '/' {
		return false
	}
	for i := range len(s) {
		if c := s[i]; c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

func (w *wire) connect(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	conn, err := w.dial(ctx, "tcp", w.host)
	if err != nil {
		return err
	}
	if w.scheme == "https" {
		host, _, err := net.SplitHostPort(w.host)
		if err != nil {
			conn.Close()
			return err
		}
		tc := tls.Client(conn, &tls.Config{ServerName: host, NextProtos: []string{"http/1.1"}})
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return err
		}
		conn = tc
	}
	w.conn = conn
	if w.br == nil {
		w.br = bufio.NewReaderSize(conn, 16<<10)
		w.bw = bufio.NewWriterSize(conn, 8<<10)
	} else {
		w.br.Reset(conn)
		w.bw.Reset(conn)
	}
	return nil
}

// close closes the connection, if any; the next request dials again.
func (w *wire) close() {
	if w.conn != nil {
		w.conn.Close()
		w.conn = nil
	}
}

// errNotLoopback refuses a connection that reached a non-loopback address.
var errNotLoopback = errors.New("refusing connection to a non-loopback address")
