package server

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// LimitConnections returns ln limited to n connections open at once, for
// srv to serve: each connection a server holds costs memory (its
// goroutine's stack, its buffers, the request it is reading), which no
// other limit bounds. At the limit, a new connection takes the slot of
// the one idle the longest between two requests (http.StateIdle), which
// is closed, as http.Server.Shutdown closes idle connections: otherwise
// idle keep-alive connections would hold every slot for up to
// srv.IdleTimeout while new clients waited. With none idle, the new
// connection waits, unread, until one is; those after it wait in the
// operating system's accept queue. LimitConnections sets
// srv.ConnState, calling the function already there, if any, first. n
// must be positive.
func LimitConnections(srv *http.Server, ln net.Listener, n int) net.Listener {
	l := &limitListener{
		Listener: ln,
		slots:    make(chan struct{}, n),
		wake:     make(chan struct{}, 1),
		closed:   make(chan struct{}),
		idle:     make(map[net.Conn]time.Time),
	}
	prev := srv.ConnState
	srv.ConnState = func(c net.Conn, s http.ConnState) {
		if prev != nil {
			prev(c, s)
		}
		l.connState(c, s)
	}
	return l
}

// limitListener is the listener LimitConnections returns.
type limitListener struct {
	net.Listener
	slots  chan struct{} // one value per open connection
	wake   chan struct{} // signalled when a slot frees or a connection goes idle
	closed chan struct{}
	once   sync.Once

	mu   sync.Mutex
	idle map[net.Conn]time.Time // as the server sees them, since when
}

// Accept accepts a connection and waits for a slot for it, closing the
// longest-idle connection if there is no free one. It takes the
// connection first so that an idle one is closed only for a client that
// is there.
func (l *limitListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	for {
		select {
		case l.slots <- struct{}{}:
			return &limitedConn{Conn: c, l: l}, nil
		default:
		}
		if idle := l.oldestIdle(); idle != nil {
			idle.Close() // frees its slot
			continue
		}
		select {
		case <-l.wake:
		case <-l.closed:
			c.Close()
			return nil, net.ErrClosed
		}
	}
}

// Close closes the listener and ends a wait in Accept.
func (l *limitListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// oldestIdle removes the connection idle the longest from the idle set
// and returns it, or nil if none is idle.
func (l *limitListener) oldestIdle() net.Conn {
	l.mu.Lock()
	defer l.mu.Unlock()
	var (
		oldest net.Conn
		since  time.Time
	)
	for c, t := range l.idle {
		if oldest == nil || t.Before(since) {
			oldest, since = c, t
		}
	}
	delete(l.idle, oldest)
	return oldest
}

// connState tracks the connections idle between requests.
func (l *limitListener) connState(c net.Conn, s http.ConnState) {
	l.mu.Lock()
	if s == http.StateIdle {
		l.idle[c] = time.Now()
	} else {
		delete(l.idle, c)
	}
	l.mu.Unlock()
	if s == http.StateIdle {
		l.signal()
	}
}

// release frees a slot.
func (l *limitListener) release() {
	<-l.slots
	l.signal()
}

// signal wakes an Accept waiting for a slot, to look again.
func (l *limitListener) signal() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// limitedConn frees its slot when it is first closed.
type limitedConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.l.release)
	return err
}
