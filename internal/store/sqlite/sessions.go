package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/latch-auth/latch/internal/store"
)

const sessionColumns = `id, user_id, token_hash, prev_hash, generation, rotated_at, created_at,
	last_used_at, expires_at, user_agent, ip, revoked_at, revoke_reason, reissues, parent_id,
	client_id, scopes, auth_time, dpop_jkt`

// CreateSession inserts s; store.ErrConflict if its ID or token hash
// exists, store.ErrNotFound if its user does not.
func (db *DB) CreateSession(ctx context.Context, s store.Session) error {
	scopes, err := encodeList("scopes", s.Scopes)
	if err != nil {
		return fmt.Errorf("sqlite: create session: %w", err)
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.ID, s.UserID, blob(s.TokenHash), nullBlob(s.PrevHash), s.Generation, millis(s.RotatedAt),
			millis(s.CreatedAt), millis(s.LastUsedAt), millis(s.ExpiresAt), s.UserAgent, s.IP,
			millis(s.RevokedAt), string(s.RevokeReason), s.Reissues, s.ParentID,
			s.ClientID, scopes, millis(s.AuthTime), s.DPoPJKT)
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: create session: %w", storeError(err))
	}
	return nil
}

// SessionByID returns the session with ID id, or store.ErrNotFound.
func (db *DB) SessionByID(ctx context.Context, id string) (store.Session, error) {
	st, err := db.prepared(ctx, false, selectSessionByID)
	if err != nil {
		return store.Session{}, fmt.Errorf("sqlite: session by id: %w", storeError(err))
	}
	if err := ctx.Err(); err != nil {
		return store.Session{}, fmt.Errorf("sqlite: session by id: %w", err)
	}
	s, err := scanSession(st.QueryRowContext(pointRead(ctx), id))
	if err != nil {
		return store.Session{}, fmt.Errorf("sqlite: session by id: %w", storeError(err))
	}
	return s, nil
}

// ListSessions returns the user's sessions that are not revoked, newest
// first.
func (db *DB) ListSessions(ctx context.Context, userID string) ([]store.Session, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE user_id = ? AND revoked_at IS NULL
		ORDER BY created_at DESC, id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list sessions: %w", storeError(err))
	}
	defer rows.Close()
	var ss []store.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list sessions: %w", storeError(err))
		}
		ss = append(ss, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list sessions: %w", storeError(err))
	}
	return ss, nil
}

// UpdateSession applies fn to the session atomically and stores its
// result, keeping the stored ID, UserID, ParentID, ClientID, Scopes,
// AuthTime, DPoPJKT and CreatedAt, and
// recording a session revocation if the result is newly revoked.
//
// Concurrent calls share transactions (group commit, see group.go); each
// keeps its own outcome.
func (db *DB) UpdateSession(ctx context.Context, id string, fn func(store.Session) (store.Session, error)) (store.Session, error) {
	s, _, err := db.UpdateSessionUser(ctx, id, func(s store.Session, _ store.User) (store.Session, error) { return fn(s) })
	return s, err
}

// UpdateSessionUser is UpdateSession with the session's user, read in
// the same transaction (one statement with the session) and returned
// with the session as stored.
func (db *DB) UpdateSessionUser(ctx context.Context, id string, fn func(store.Session, store.User) (store.Session, error)) (store.Session, store.User, error) {
	var (
		out     store.Session
		user    store.User
		revoked bool
	)
	err := db.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		out, user, revoked = store.Session{}, store.User{}, false
		old, u, err := db.loadSessionUser(ctx, tx, id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return refused{fmt.Errorf("sqlite: update session: %w", store.ErrNotFound)}
		case err != nil:
			return err
		}
		user = u
		s, err := fn(old, user)
		if err != nil {
			return refused{err}
		}
		s, revoked, err = db.saveSession(ctx, tx, old, s)
		out = s
		return err
	})
	if err != nil {
		if r, ok := err.(refused); ok {
			return store.Session{}, store.User{}, r.err
		}
		return store.Session{}, store.User{}, fmt.Errorf("sqlite: update session: %w", storeError(err))
	}
	db.committed(revoked)
	return out, user, nil
}

// loadSessionUser reads the session with ID id and its user in tx, in
// one statement: sql.ErrNoRows if there is no such session.
func (db *DB) loadSessionUser(ctx context.Context, tx *sql.Tx, id string) (store.Session, store.User, error) {
	st, err := db.txStmt(ctx, tx, selectSessionUserByID)
	if err != nil {
		return store.Session{}, store.User{}, err
	}
	var (
		s sessionRow
		u userRow
	)
	if err := st.QueryRowContext(ctx, id).Scan(append(s.dest(), u.dest()...)...); err != nil {
		return store.Session{}, store.User{}, err
	}
	sess, err := s.session()
	if err != nil {
		return store.Session{}, store.User{}, err
	}
	user, err := u.user()
	if err != nil {
		return store.Session{}, store.User{}, err
	}
	return sess, user, nil
}

// saveSession stores s, the new state of the session old, in tx and
// returns it as stored, and whether it recorded a revocation.
func (db *DB) saveSession(ctx context.Context, tx *sql.Tx, old, s store.Session) (store.Session, bool, error) {
	s = store.KeepFixed(old, s)
	s.TokenHash, s.PrevHash = blob(s.TokenHash), nullBlob(s.PrevHash)
	s.RotatedAt, s.LastUsedAt, s.ExpiresAt = stored(s.RotatedAt), stored(s.LastUsedAt), stored(s.ExpiresAt)
	s.RevokedAt = stored(s.RevokedAt)
	up, err := db.txStmt(ctx, tx, updateSession)
	if err != nil {
		return store.Session{}, false, err
	}
	_, err = up.ExecContext(ctx,
		s.TokenHash, s.PrevHash, s.Generation, millis(s.RotatedAt), millis(s.LastUsedAt),
		millis(s.ExpiresAt), s.UserAgent, s.IP, millis(s.RevokedAt), string(s.RevokeReason), s.Reissues, s.ID)
	if err != nil {
		return store.Session{}, false, err
	}
	if !old.RevokedAt.IsZero() || s.RevokedAt.IsZero() {
		return s, false, nil
	}
	_, err = addRevocation(ctx, tx, store.Revocation{
		Kind:    store.KindSession,
		Subject: s.ID,
		UserID:  s.UserID,
		Reason:  s.RevokeReason,
		At:      s.RevokedAt,
		Expires: s.RevokedAt.Add(db.ttl),
	})
	if err != nil {
		return store.Session{}, false, err
	}
	return s, true, nil
}

// pointRead is the context of a read of one row by its key, which takes
// microseconds: ctx without its cancellation, since watching a
// cancellable context costs database/sql and the driver a goroutine each
// per query, which made such a read take twice as long (the session check
// of every authenticated request, BenchmarkSessionByID). Check ctx.Err()
// before the read.
func pointRead(ctx context.Context) context.Context { return context.WithoutCancel(ctx) }

// The statements of the refresh path, prepared once (see DB.prepared).
const (
	selectSessionByID = `SELECT ` + sessionColumns + ` FROM sessions WHERE id = ?`
	updateSession     = `UPDATE sessions SET token_hash = ?, prev_hash = ?, generation = ?,
		rotated_at = ?, last_used_at = ?, expires_at = ?, user_agent = ?, ip = ?,
		revoked_at = ?, revoke_reason = ?, reissues = ? WHERE id = ?`
)

// selectSessionUserByID reads a session and its user, whose columns
// follow the session's.
var selectSessionUserByID = `SELECT ` + store.Qualified("s", sessionColumns) + `, ` + store.Qualified("u", userColumns) + `
	FROM sessions AS s JOIN users AS u ON u.id = s.user_id WHERE s.id = ?`

// PruneSessions removes sessions revoked or expired before cutoff.
func (db *DB) PruneSessions(ctx context.Context, cutoff time.Time) (int, error) {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions
			WHERE revoked_at < ?1 OR expires_at IS NULL OR expires_at < ?1`, cutoff.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: delete sessions: %w", storeError(err))
	}
	return int(n), nil
}

// scanSession is the session of row, whose columns are sessionColumns.
func scanSession(row scanner) (store.Session, error) {
	var r sessionRow
	if err := row.Scan(r.dest()...); err != nil {
		return store.Session{}, err
	}
	return r.session()
}

// sessionRow receives the columns of a session (sessionColumns, in their
// order) from a scan.
type sessionRow struct {
	s                                             store.Session
	reason, scopes                                string
	rotated, created, used, exp, revoke, authTime sql.NullInt64
}

// dest is the scan destinations of the columns.
func (r *sessionRow) dest() []any {
	s := &r.s
	return []any{&s.ID, &s.UserID, &s.TokenHash, &s.PrevHash, &s.Generation, &r.rotated, &r.created,
		&r.used, &r.exp, &s.UserAgent, &s.IP, &r.revoke, &r.reason, &s.Reissues, &s.ParentID,
		&s.ClientID, &r.scopes, &r.authTime, &s.DPoPJKT}
}

// session is the scanned session.
func (r *sessionRow) session() (store.Session, error) {
	s := r.s
	if r.scopes != "[]" {
		var err error
		if s.Scopes, err = decodeList("scopes", r.scopes); err != nil {
			return store.Session{}, err
		}
	}
	s.AuthTime = fromMillis(r.authTime)
	s.RotatedAt, s.CreatedAt, s.LastUsedAt = fromMillis(r.rotated), fromMillis(r.created), fromMillis(r.used)
	s.ExpiresAt, s.RevokedAt = fromMillis(r.exp), fromMillis(r.revoke)
	s.RevokeReason = store.Reason(r.reason)
	return s, nil
}
