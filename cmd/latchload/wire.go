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
// the server. A wire does the same work (the standard library writes the
// request and parses the response) without the hand-offs.
type wire struct {
	scheme, host string // of the base URL: "http" or "https", and host:port
	dial         func(ctx context.Context, network, addr string) (net.Conn, error)
	timeout      time.Duration // per request, dial included

	conn net.Conn // nil until the first request, and after a failure
	br   *bufio.Reader
	bw   *bufio.Writer
}

// response is what a wire reads of an answer: the body whole.
type response struct {
	status int
	header http.Header
	body   []byte
}

// errBodyTooLarge is a response body over maxBody.
var errBodyTooLarge = fmt.Errorf("response body over %d bytes", maxBody)

// longAgo is a deadline in the past: it interrupts a blocked read or write.
var longAgo = time.Unix(1, 0)

// do sends req and reads its response whole. A connection that failed,
// or that the server asked to close, is closed and the next request dials
// a new one; a failed request is not sent again.
func (w *wire) do(req *http.Request) (response, error) {
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return response{}, err
	}
	if w.conn == nil {
		if err := w.connect(ctx); err != nil {
			return response{}, err
		}
	}
	if err := w.conn.SetDeadline(time.Now().Add(w.timeout)); err != nil {
		w.close()
		return response{}, err
	}
	conn := w.conn
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(longAgo) })
	res, err := w.exchange(req)
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

func (w *wire) exchange(req *http.Request) (response, error) {
	if err := req.Write(w.bw); err != nil {
		return response{}, err
	}
	if err := w.bw.Flush(); err != nil {
		return response{}, err
	}
	resp, err := http.ReadResponse(w.br, req)
	if err != nil {
		return response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	switch {
	case err != nil:
		return response{}, err
	case len(b) > maxBody:
		return response{}, errBodyTooLarge
	}
	if resp.Close {
		w.close() // the answer is whole; the server closes the connection
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}, nil
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
