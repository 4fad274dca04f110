package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/latch-auth/latch/internal/store"
)

const sessionColumns = `id, user_id, token_hash, prev_hash, generation, rotated_at, created_at,
	last_used_at, expires_at, user_agent, ip, revoked_at, revoke_reason, reissues, parent_id,
	client_id, scopes, auth_time, dpop_jkt`

// CreateSession inserts s; store.ErrConflict if its ID or token hash
// exists, store.ErrNotFound if its user does not.
func (db *DB) CreateSession(ctx context.Context, s store.Session) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO sessions (`+sessionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
		s.ID, s.UserID, blob(s.TokenHash), nullBlob(s.PrevHash), s.Generation, ts(s.RotatedAt),
		ts(s.CreatedAt), ts(s.LastUsedAt), ts(s.ExpiresAt), s.UserAgent, s.IP,
		ts(s.RevokedAt), string(s.RevokeReason), s.Reissues, s.ParentID,
		s.ClientID, list(s.Scopes), ts(s.AuthTime), s.DPoPJKT)
	if err != nil {
		return fmt.Errorf("postgres: create session: %w", storeError(ctx, err))
	}
	return nil
}

// SessionByID returns the session with ID id, or store.ErrNotFound.
func (db *DB) SessionByID(ctx context.Context, id string) (store.Session, error) {
	s, err := scanSession(db.pool.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id))
	if err != nil {
		return store.Session{}, fmt.Errorf("postgres: session by id: %w", storeError(ctx, err))
	}
	return s, nil
}

// ListSessions returns the user's sessions that are not revoked, newest
// first.
func (db *DB) ListSessions(ctx context.Context, userID string) ([]store.Session, error) {
	ss, err := queryAll(ctx, db, `SELECT `+sessionColumns+` FROM sessions
		WHERE user_id = $1 AND revoked_at IS NULL
		ORDER BY created_at DESC NULLS LAST, id DESC`, scanSession, userID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list sessions: %w", storeError(ctx, err))
	}
	return ss, nil
}

// UpdateSession applies fn to the session atomically and stores its
// result, keeping the stored ID, UserID, ParentID, ClientID, Scopes,
// AuthTime, DPoPJKT and CreatedAt, and recording a session revocation if
// the result is newly revoked.
//
// Concurrent calls share transactions (group commit, see group.go); each
// keeps its own outcome.
func (db *DB) UpdateSession(ctx context.Context, id string, fn func(store.Session) (store.Session, error)) (store.Session, error) {
	s, _, err := db.UpdateSessionUser(ctx, id, func(s store.Session, _ store.User) (store.Session, error) { return fn(s) })
	return s, err
}

// UpdateSessionUser is UpdateSession with the session's user, read with
// the session in the same statement and returned with it as stored.
func (db *DB) UpdateSessionUser(ctx context.Context, id string, fn func(store.Session, store.User) (store.Session, error)) (store.Session, store.User, error) {
	op := &groupOp{id: id, fn: fn}
	op.Init(ctx)
	if err := db.group(op); err != nil {
		return store.Session{}, store.User{}, err
	}
	return op.out, op.user, nil
}

// sessionUser is a session and its user, as an update reads them.
type sessionUser struct {
	s store.Session
	u store.User
}

// selectSessionUser reads sessions and their users (whose columns follow
// the session's); its WHERE clause follows.
var selectSessionUser = `SELECT ` + store.Qualified("s", sessionColumns) + `, ` + store.Qualified("u", userColumns) + `
	FROM sessions AS s JOIN users AS u ON u.id = s.user_id`

// updateSession is UpdateSessionUser in a transaction of its own, as it
// ran before group commit: for an update while no other is under way, a
// group of one, and each member of a group that failed. It reports
// whether it recorded a revocation; the caller tells Options.Notify.
func (db *DB) updateSession(ctx context.Context, id string, fn func(store.Session, store.User) (store.Session, error)) (store.Session, store.User, bool, error) {
	var revoked bool
	load := func(tx pgx.Tx) (sessionUser, error) {
		return scanSessionUser(tx.QueryRow(ctx, selectSessionUser+` WHERE s.id = $1 FOR NO KEY UPDATE OF s`, id))
	}
	apply := func(v sessionUser) (sessionUser, error) {
		s, err := fn(v.s, v.u)
		return sessionUser{s, v.u}, err
	}
	save := func(tx pgx.Tx, old, v sessionUser) (sessionUser, error) {
		s := keepStored(old.s, v.s)
		if _, err := tx.Exec(ctx, updateSessionSQL, sessionUpdateArgs(s)...); err != nil {
			return sessionUser{}, err
		}
		revoked = newlyRevoked(old.s, s)
		if revoked {
			if _, err := db.addRevocation(ctx, tx, db.sessionRevocation(s)); err != nil {
				return sessionUser{}, err
			}
		}
		return sessionUser{s, old.u}, nil
	}
	v, err := update(ctx, db, "update session", apply, load, save)
	if err != nil {
		return store.Session{}, store.User{}, false, err
	}
	return v.s, v.u, revoked, nil
}

// updateSessionSQL writes the fields of a session that UpdateSession may
// change; its arguments are sessionUpdateArgs.
const updateSessionSQL = `UPDATE sessions SET token_hash = $1, prev_hash = $2, generation = $3,
	rotated_at = $4, last_used_at = $5, expires_at = $6, user_agent = $7, ip = $8,
	revoked_at = $9, revoke_reason = $10, reissues = $11 WHERE id = $12`

// sessionUpdateArgs are the arguments of updateSessionSQL for s.
func sessionUpdateArgs(s store.Session) []any {
	return []any{s.TokenHash, s.PrevHash, s.Generation, ts(s.RotatedAt), ts(s.LastUsedAt),
		ts(s.ExpiresAt), s.UserAgent, s.IP, ts(s.RevokedAt), string(s.RevokeReason), s.Reissues, s.ID}
}

// keepStored is s, the result of an update function for the stored
// session old, with the fields UpdateSession keeps taken from old, and
// as it reads back once stored.
func keepStored(old, s store.Session) store.Session {
	s = store.KeepFixed(old, s)
	s.TokenHash, s.PrevHash = blob(s.TokenHash), nullBlob(s.PrevHash)
	s.RotatedAt, s.LastUsedAt, s.ExpiresAt = stored(s.RotatedAt), stored(s.LastUsedAt), stored(s.ExpiresAt)
	s.RevokedAt = stored(s.RevokedAt)
	return s
}

// newlyRevoked reports whether s, the new state of old, revokes it.
func newlyRevoked(old, s store.Session) bool {
	return old.RevokedAt.IsZero() && !s.RevokedAt.IsZero()
}

// sessionRevocation is the revocation record of the revoked session s.
func (db *DB) sessionRevocation(s store.Session) store.Revocation {
	return store.Revocation{
		Kind:    store.KindSession,
		Subject: s.ID,
		UserID:  s.UserID,
		Reason:  s.RevokeReason,
		At:      s.RevokedAt,
		Expires: s.RevokedAt.Add(db.ttl),
	}
}

// PruneSessions removes sessions revoked or expired before cutoff.
func (db *DB) PruneSessions(ctx context.Context, cutoff time.Time) (int, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM sessions
		WHERE revoked_at < $1 OR expires_at IS NULL OR expires_at < $1`, cutoff)
	if err != nil {
		return 0, fmt.Errorf("postgres: delete sessions: %w", storeError(ctx, err))
	}
	return int(tag.RowsAffected()), nil
}

// scanSession is the session of row, whose columns are sessionColumns.
func scanSession(row pgx.Row) (store.Session, error) {
	var r sessionRow
	if err := row.Scan(r.dest()...); err != nil {
		return store.Session{}, err
	}
	return r.session(), nil
}

// scanSessionUser is the session and user of row, whose columns are
// those of selectSessionUser.
func scanSessionUser(row pgx.Row) (sessionUser, error) {
	var (
		s sessionRow
		u userRow
	)
	if err := row.Scan(append(s.dest(), u.dest()...)...); err != nil {
		return sessionUser{}, err
	}
	user, err := u.user()
	if err != nil {
		return sessionUser{}, err
	}
	return sessionUser{s.session(), user}, nil
}

// sessionRow receives the columns of a session (sessionColumns, in their
// order) from a scan.
type sessionRow struct {
	s                                             store.Session
	reason                                        string
	rotated, created, used, exp, revoke, authTime pgtype.Timestamptz
}

// dest is the scan destinations of the columns.
func (r *sessionRow) dest() []any {
	s := &r.s
	return []any{&s.ID, &s.UserID, &s.TokenHash, &s.PrevHash, &s.Generation, &r.rotated, &r.created,
		&r.used, &r.exp, &s.UserAgent, &s.IP, &r.revoke, &r.reason, &s.Reissues, &s.ParentID,
		&s.ClientID, &s.Scopes, &r.authTime, &s.DPoPJKT}
}

// session is the scanned session.
func (r *sessionRow) session() store.Session {
	s := r.s
	s.Scopes, s.AuthTime = nilIfEmpty(s.Scopes), fromTS(r.authTime)
	s.RotatedAt, s.CreatedAt, s.LastUsedAt = fromTS(r.rotated), fromTS(r.created), fromTS(r.used)
	s.ExpiresAt, s.RevokedAt = fromTS(r.exp), fromTS(r.revoke)
	s.RevokeReason = store.Reason(r.reason)
	return s
}
