package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/latch-auth/latch/internal/store"
)

const userColumns = `id, email, password_hash, roles, claims, disabled, tokens_revoked_at, created_at, updated_at`

// CreateUser inserts u; store.ErrConflict if its ID or e-mail exists.
func (db *DB) CreateUser(ctx context.Context, u store.User) error {
	roles, err := encodeList("roles", u.Roles)
	if err != nil {
		return fmt.Errorf("sqlite: create user: %w", storeError(err))
	}
	claims, err := encodeClaims(u.Claims)
	if err != nil {
		return fmt.Errorf("sqlite: create user: %w", storeError(err))
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Email, u.PasswordHash, roles, claims, u.Disabled, millis(u.TokensRevokedAt), millis(u.CreatedAt), millis(u.UpdatedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: create user: %w", storeError(err))
	}
	return nil
}

// UserByID returns the user with ID id, or store.ErrNotFound.
func (db *DB) UserByID(ctx context.Context, id string) (store.User, error) {
	st, err := db.prepared(ctx, false, selectUserByID)
	if err != nil {
		return store.User{}, fmt.Errorf("sqlite: user by id: %w", storeError(err))
	}
	if err := ctx.Err(); err != nil {
		return store.User{}, fmt.Errorf("sqlite: user by id: %w", err)
	}
	u, err := scanUser(st.QueryRowContext(pointRead(ctx), id))
	if err != nil {
		return store.User{}, fmt.Errorf("sqlite: user by id: %w", storeError(err))
	}
	return u, nil
}

// UserByEmail returns the user with the e-mail address, or
// store.ErrNotFound.
func (db *DB) UserByEmail(ctx context.Context, email string) (store.User, error) {
	u, err := scanUser(db.r.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, email))
	if err != nil {
		return store.User{}, fmt.Errorf("sqlite: user by email: %w", storeError(err))
	}
	return u, nil
}

// selectUserByID is prepared once (see DB.prepared): every refresh reads
// the user.
const selectUserByID = `SELECT ` + userColumns + ` FROM users WHERE id = ?`

// ListUsers returns all users ordered by creation time.
func (db *DB) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", storeError(err))
	}
	defer rows.Close()
	var us []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list users: %w", storeError(err))
		}
		us = append(us, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", storeError(err))
	}
	return us, nil
}

// UpdateUser applies fn to the user with ID id atomically and stores its
// result, keeping the stored ID, e-mail, CreatedAt and TokensRevokedAt.
func (db *DB) UpdateUser(ctx context.Context, id string, fn func(store.User) (store.User, error)) (store.User, error) {
	save := func(tx *sql.Tx, old, u store.User) (store.User, error) {
		return db.saveUser(ctx, tx, old, u, old.TokensRevokedAt)
	}
	return update(ctx, db, "update user", fn, db.loadUser(ctx, id), save)
}

// RevokeUser revokes the user's access tokens issued at or before at and,
// with endSessions, the user's sessions, in one transaction with the
// change fn makes.
func (db *DB) RevokeUser(ctx context.Context, id string, reason store.Reason, at time.Time, endSessions bool, fn func(store.User) (store.User, error)) (store.User, int, error) {
	if fn == nil {
		fn = func(u store.User) (store.User, error) { return u, nil }
	}
	requested := stored(at)
	var n int64
	save := func(tx *sql.Tx, old, u store.User) (store.User, error) {
		n = 0
		at = requested
		if next := old.TokensRevokedAt.Truncate(time.Second).Add(time.Second); !old.TokensRevokedAt.IsZero() && next.After(at) {
			at = next
		}
		u, err := db.saveUser(ctx, tx, old, u, at)
		if err != nil {
			return store.User{}, err
		}
		_, err = addRevocation(ctx, tx, store.Revocation{
			Kind:    store.KindSubject,
			Subject: u.ID,
			UserID:  u.ID,
			Reason:  reason,
			At:      at,
			Expires: at.Add(db.ttl),
		})
		if err != nil || !endSessions {
			return u, err
		}
		res, err := tx.ExecContext(ctx, `UPDATE sessions SET revoked_at = ?, revoke_reason = ?
			WHERE user_id = ? AND revoked_at IS NULL AND expires_at > ?`,
			millis(at), string(reason), u.ID, at.UnixMilli())
		if err != nil {
			return store.User{}, err
		}
		n, err = res.RowsAffected()
		return u, err
	}
	u, err := update(ctx, db, "revoke user", fn, db.loadUser(ctx, id), save)
	if err != nil {
		return store.User{}, 0, err
	}
	db.committed(true)
	return u, int(n), nil
}

// loadUser is update's load for the user with ID id.
func (db *DB) loadUser(ctx context.Context, id string) func(*sql.Tx) (store.User, error) {
	return func(tx *sql.Tx) (store.User, error) {
		st, err := db.txStmt(ctx, tx, selectUserByID)
		if err != nil {
			return store.User{}, err
		}
		return scanUser(st.QueryRowContext(ctx, id))
	}
}

// saveUser stores u, the new version of old, in tx with the stored ID,
// e-mail and CreatedAt and with TokensRevokedAt revokedAt, and returns it
// as stored.
func (db *DB) saveUser(ctx context.Context, tx *sql.Tx, old, u store.User, revokedAt time.Time) (store.User, error) {
	u.ID, u.Email, u.CreatedAt, u.TokensRevokedAt = old.ID, old.Email, old.CreatedAt, revokedAt
	roles, err := encodeList("roles", u.Roles)
	if err != nil {
		return store.User{}, err
	}
	claims, err := encodeClaims(u.Claims)
	if err != nil {
		return store.User{}, err
	}
	_, err = tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, roles = ?, claims = ?, disabled = ?,
		tokens_revoked_at = ?, updated_at = ? WHERE id = ?`,
		u.PasswordHash, roles, claims, u.Disabled, millis(u.TokensRevokedAt), millis(u.UpdatedAt), u.ID)
	if err != nil {
		return store.User{}, err
	}
	u.Roles = nilIfEmpty(u.Roles)
	if u.Claims, err = decodeClaims(claims); err != nil {
		return store.User{}, err
	}
	u.UpdatedAt = stored(u.UpdatedAt)
	return u, nil
}

// scanUser is the user of row, whose columns are userColumns.
func scanUser(row scanner) (store.User, error) {
	var r userRow
	if err := row.Scan(r.dest()...); err != nil {
		return store.User{}, err
	}
	return r.user()
}

// userRow receives the columns of a user (userColumns, in their order)
// from a scan.
type userRow struct {
	u                         store.User
	roles, claims             string
	revoked, created, updated sql.NullInt64
}

// dest is the scan destinations of the columns.
func (r *userRow) dest() []any {
	u := &r.u
	return []any{&u.ID, &u.Email, &u.PasswordHash, &r.roles, &r.claims, &u.Disabled, &r.revoked, &r.created, &r.updated}
}

// user is the scanned user.
func (r *userRow) user() (store.User, error) {
	u := r.u
	var err error
	if u.Roles, err = decodeList("roles", r.roles); err != nil {
		return store.User{}, err
	}
	if u.Claims, err = decodeClaims(r.claims); err != nil {
		return store.User{}, err
	}
	u.TokensRevokedAt, u.CreatedAt, u.UpdatedAt = fromMillis(r.revoked), fromMillis(r.created), fromMillis(r.updated)
	return u, nil
}

// encodeList is the list of strings v, the field named name, as stored: a
// JSON array, never null.
func encodeList(name string, v []string) (string, error) {
	if len(v) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return string(b), nil
}

// decodeList is the inverse of encodeList; an empty list is nil.
func decodeList(name, stored string) ([]string, error) {
	var v []string
	if err := json.Unmarshal([]byte(stored), &v); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return nilIfEmpty(v), nil
}

// encodeClaims is a user's custom claims as stored: one JSON object, its
// members sorted by name, values compact, never null.
func encodeClaims(claims map[string]json.RawMessage) (string, error) {
	if len(claims) == 0 {
		return "{}", nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(claims); err != nil {
		return "", fmt.Errorf("claims: %w", err)
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// decodeClaims is the inverse of encodeClaims; no claims is nil.
func decodeClaims(stored string) (map[string]json.RawMessage, error) {
	var v map[string]json.RawMessage
	if err := json.Unmarshal([]byte(stored), &v); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	if len(v) == 0 {
		return nil, nil
	}
	return v, nil
}

// nilIfEmpty is v, or nil if it is empty.
func nilIfEmpty(v []string) []string {
	if len(v) == 0 {
		return nil
	}
	return v
}
