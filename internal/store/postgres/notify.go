package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// channel is the notification channel of revocations. A notification's
// payload is the ID of the DB that sent it and the schema its revocation
// is in, separated by a space: DBs of other deployments may share the
// database.
const channel = "latch_revocations"

// The delays before connecting the listening connection again: the first
// after it broke, doubling up to the last.
const (
	firstListenDelay = 100 * time.Millisecond
	maxListenDelay   = 5 * time.Second
)

// listener is the goroutine that receives notifications.
type listener struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// stop ends the goroutine and waits for it. It may be called again.
func (l *listener) stop() {
	l.cancel()
	<-l.done
}

// payload is what db sends with the notification of a revocation.
func (db *DB) payload() string { return db.id + " " + db.schema }

// listen opens the listening connection, so that every revocation that
// commits from now on is heard of, and starts receiving on it.
func (db *DB) listen(ctx context.Context) (*listener, error) {
	conn, err := db.connectListener(ctx)
	if err != nil {
		return nil, err
	}
	lctx, cancel := context.WithCancel(context.Background())
	l := &listener{cancel: cancel, done: make(chan struct{})}
	go db.receive(lctx, conn, l.done)
	return l, nil
}

// connectListener opens a connection outside the pool, configured as the
// pool's are, and listens on channel.
func (db *DB) connectListener(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, db.pool.Config().ConnConfig)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		closeConn(conn)
		return nil, err
	}
	return conn, nil
}

// receive calls Options.Notify for every notification of a revocation
// that another DB committed to this schema, until ctx is done; then it
// closes done. When the connection breaks it connects again, with
// backoff, and calls Options.Notify once listening again, for what it may
// have missed.
func (db *DB) receive(ctx context.Context, conn *pgx.Conn, done chan<- struct{}) {
	defer close(done)
	delay := firstListenDelay
	for {
		if conn == nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(delay):
			}
			var err error
			if conn, err = db.connectListener(ctx); err != nil {
				delay = min(2*delay, maxListenDelay)
				continue
			}
			delay = firstListenDelay
			db.committed(true)
		}
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			closeConn(conn)
			conn = nil
			if ctx.Err() != nil {
				return
			}
			continue
		}
		id, schema, ok := strings.Cut(n.Payload, " ")
		if n.Channel == channel && ok && schema == db.schema && id != db.id {
			db.committed(true)
		}
	}
}

// closeConn closes conn, giving up after a second on a connection that
// does not answer.
func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	conn.Close(ctx)
}
