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
	var (
		out     store.Session
		revoked bool
	)
	err := db.group(ctx, func(ctx context.Context, tx *sql.Tx) error {
		out, revoked = store.Session{}, false
		sel, err := db.txStmt(ctx, tx, selectSessionByID)
		if err != nil {
			return err
		}
		old, err := scanSession(sel.QueryRowContext(ctx, id))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return refused{fmt.Errorf("sqlite: update session: %w", store.ErrNotFound)}
		case err != nil:
			return err
		}
		s, err := fn(old)
		if err != nil {
			return refused{err}
		}
		s, revoked, err = db.saveSession(ctx, tx, old, s)
		out = s
		return err
	})
	if err != nil {
		if r, ok := err.(refused); ok {
			return store.Session{}, r.err
		}
		return store.Session{}, fmt.Errorf("sqlite: update session: %w", storeError(err))
	}
	db.committed(revoked)
	return out, nil
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

func scanSession(row scanner) (store.Session, error) {
	var (
		s                                             store.Session
		reason, scopes                                string
		rotated, created, used, exp, revoke, authTime sql.NullInt64
	)
	err := row.Scan(&s.ID, &s.UserID, &s.TokenHash, &s.PrevHash, &s.Generation, &rotated, &created,
		&used, &exp, &s.UserAgent, &s.IP, &revoke, &reason, &s.Reissues, &s.ParentID,
		&s.ClientID, &scopes, &authTime, &s.DPoPJKT)
	if err != nil {
		return store.Session{}, err
	}
	if scopes != "[]" {
		if s.Scopes, err = decodeList("scopes", scopes); err != nil {
			return store.Session{}, err
		}
	}
	s.AuthTime = fromMillis(authTime)
	s.RotatedAt, s.CreatedAt, s.LastUsedAt = fromMillis(rotated), fromMillis(created), fromMillis(used)
	s.ExpiresAt, s.RevokedAt = fromMillis(exp), fromMillis(revoke)
	s.RevokeReason = store.Reason(reason)
	return s, nil
}
