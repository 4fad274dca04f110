// Package memnet is an in-memory network for tests of HTTP clients and
// servers that run in a testing/synctest bubble.
//
// A bubble's fake clock moves only when every goroutine in it is durably
// blocked, and a goroutine waiting on a real socket never is: a test over
// httptest.Server and time-based code (backoff, heartbeats, cache ages)
// cannot let the clock jump. memnet's connections are net.Pipe pairs,
// whose reads and writes wait on channels, so a bubble over them goes
// idle and its timers fire at once. Connections have no buffering: a
// write waits for the peer's read, as on a real connection whose buffers
// are full.
//
// Create the Network, its servers and its clients inside the bubble that
// uses them, and close the servers before the bubble ends.
package memnet

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync"
)

// Network connects clients to listeners by host name.
type Network struct {
	mu        sync.Mutex
	listeners map[string]*listener
}

// New returns an empty Network.
func New() *Network { return &Network{listeners: map[string]*listener{}} }

// Listen returns a listener for host, which clients reach at any port of
// host. It fails if host has a listener already.
func (n *Network) Listen(host string) (net.Listener, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.listeners[host] != nil {
		return nil, errors.New("memnet: host " + host + " has a listener")
	}
	l := &listener{net: n, host: host, conns: make(chan net.Conn), done: make(chan struct{})}
	n.listeners[host] = l
	return l, nil
}

// DialContext connects to the listener of addr's host, waiting until it
// accepts; it has the signature of http.Transport.DialContext.
func (n *Network) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	n.mu.Lock()
	l := n.listeners[host]
	n.mu.Unlock()
	if l == nil {
		return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("memnet: connection refused by " + addr)}
	}
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		err = &net.OpError{Op: "dial", Net: network, Err: errors.New("memnet: connection refused by " + addr)}
	case <-ctx.Done():
		err = ctx.Err()
	}
	client.Close()
	server.Close()
	return nil, err
}

// Client returns an HTTP client whose connections go to n's listeners.
func (n *Network) Client() *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: n.DialContext}}
}

// Server is an HTTP server on a Network, like httptest.Server.
type Server struct {
	// URL is the server's base URL, "http://" and its host name.
	URL string
	srv *http.Server
}

// Serve serves h at host until Close; the URL is "http://" + host.
func (n *Network) Serve(host string, h http.Handler) (*Server, error) {
	l, err := n.Listen(host)
	if err != nil {
		return nil, err
	}
	s := &Server{URL: "http://" + host, srv: &http.Server{Handler: h}}
	go s.srv.Serve(l)
	return s, nil
}

// Close closes the server's listener and connections and frees its host.
// Handlers still running see their requests' contexts canceled.
func (s *Server) Close() { s.srv.Close() }

type listener struct {
	net   *Network
	host  string
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *listener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *listener) Close() error {
	l.once.Do(func() {
		close(l.done)
		l.net.mu.Lock()
		delete(l.net.listeners, l.host)
		l.net.mu.Unlock()
	})
	return nil
}

func (l *listener) Addr() net.Addr { return addr(l.host) }

// addr is a host on a Network.
type addr string

func (addr) Network() string  { return "memnet" }
func (a addr) String() string { return string(a) }
