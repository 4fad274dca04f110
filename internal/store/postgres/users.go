package postgres

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/latch-auth/latch/internal/store"
)

const userColumns = `id, email, password_hash, roles, claims, disabled, tokens_revoked_at, created_at, updated_at`

// CreateUser inserts u; store.ErrConflict if its ID or e-mail exists.
func (db *DB) CreateUser(ctx context.Context, u store.User) error {
	claims, err := encodeClaims(u.Claims)
	if err != nil {
		return fmt.Errorf("postgres: create user: %w", err)
	}
	_, err = db.pool.Exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		u.ID, u.Email, u.PasswordHash, list(u.Roles), claims, u.Disabled, ts(u.TokensRevokedAt), ts(u.CreatedAt), ts(u.UpdatedAt))
	if err != nil {
		return fmt.Errorf("postgres: create user: %w", storeError(ctx, err))
	}
	return nil
}

// UserByID returns the user with ID id, or store.ErrNotFound.
func (db *DB) UserByID(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(db.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	if err != nil {
		return store.User{}, fmt.Errorf("postgres: user by id: %w", storeError(ctx, err))
	}
	return u, nil
}

// UserByEmail returns the user with the e-mail address, or
// store.ErrNotFound.
func (db *DB) UserByEmail(ctx context.Context, email string) (store.User, error) {
	u, err := scanUser(db.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1`, email))
	if err != nil {
		return store.User{}, fmt.Errorf("postgres: user by email: %w", storeError(ctx, err))
	}
	return u, nil
}

// ListUsers returns all users ordered by creation time.
func (db *DB) ListUsers(ctx context.Context) ([]store.User, error) {
	us, err := queryAll(ctx, db, `SELECT `+userColumns+` FROM users ORDER BY created_at NULLS FIRST, id`, scanUser)
	if err != nil {
		return nil, fmt.Errorf("postgres: list users: %w", storeError(ctx, err))
	}
	return us, nil
}

// UpdateUser applies fn to the user with ID id atomically and stores its
// result, keeping the stored ID, e-mail, CreatedAt and TokensRevokedAt.
func (db *DB) UpdateUser(ctx context.Context, id string, fn func(store.User) (store.User, error)) (store.User, error) {
	save := func(tx pgx.Tx, old, u store.User) (store.User, error) {
		return saveUser(ctx, tx, old, u, old.TokensRevokedAt)
	}
	return update(ctx, db, "update user", fn, loadUser(ctx, id), save)
}

// RevokeUser revokes the user's access tokens issued at or before at and,
// with endSessions, the user's sessions, in one transaction with the
// change fn makes. The sessions are revoked before the revocation is
// recorded, so that the transaction takes the feed's lock last.
func (db *DB) RevokeUser(ctx context.Context, id string, reason store.Reason, at time.Time, endSessions bool, fn func(store.User) (store.User, error)) (store.User, int, error) {
	if fn == nil {
		fn = func(u store.User) (store.User, error) { return u, nil }
	}
	requested := stored(at)
	var n int64
	save := func(tx pgx.Tx, old, u store.User) (store.User, error) {
		n = 0
		at := requested
		if next := old.TokensRevokedAt.Truncate(time.Second).Add(time.Second); !old.TokensRevokedAt.IsZero() && next.After(at) {
			at = next
		}
		u, err := saveUser(ctx, tx, old, u, at)
		if err != nil {
			return store.User{}, err
		}
		if endSessions {
			tag, err := tx.Exec(ctx, `UPDATE sessions SET revoked_at = $1, revoke_reason = $2
				WHERE user_id = $3 AND revoked_at IS NULL AND expires_at > $1`,
				at, string(reason), u.ID)
			if err != nil {
				return store.User{}, err
			}
			n = tag.RowsAffected()
		}
		_, err = db.addRevocation(ctx, tx, store.Revocation{
			Kind:    store.KindSubject,
			Subject: u.ID,
			UserID:  u.ID,
			Reason:  reason,
			At:      at,
			Expires: at.Add(db.ttl),
		})
		return u, err
	}
	u, err := update(ctx, db, "revoke user", fn, loadUser(ctx, id), save)
	if err != nil {
		return store.User{}, 0, err
	}
	db.committed(true)
	return u, int(n), nil
}

// loadUser is update's load for the user with ID id.
func loadUser(ctx context.Context, id string) func(pgx.Tx) (store.User, error) {
	return func(tx pgx.Tx) (store.User, error) {
		return scanUser(tx.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1 FOR NO KEY UPDATE`, id))
	}
}

// saveUser stores u, the new version of old, in tx with the stored ID,
// e-mail and CreatedAt and with TokensRevokedAt revokedAt, and returns it
// as stored.
func saveUser(ctx context.Context, tx pgx.Tx, old, u store.User, revokedAt time.Time) (store.User, error) {
	u.ID, u.Email, u.CreatedAt, u.TokensRevokedAt = old.ID, old.Email, old.CreatedAt, revokedAt
	claims, err := encodeClaims(u.Claims)
	if err != nil {
		return store.User{}, err
	}
	_, err = tx.Exec(ctx, `UPDATE users SET password_hash = $1, roles = $2, claims = $3, disabled = $4,
		tokens_revoked_at = $5, updated_at = $6 WHERE id = $7`,
		u.PasswordHash, list(u.Roles), claims, u.Disabled, ts(u.TokensRevokedAt), ts(u.UpdatedAt), u.ID)
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
func scanUser(row pgx.Row) (store.User, error) {
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
	claims                    []byte
	revoked, created, updated pgtype.Timestamptz
}

// dest is the scan destinations of the columns.
func (r *userRow) dest() []any {
	u := &r.u
	return []any{&u.ID, &u.Email, &u.PasswordHash, &u.Roles, &r.claims, &u.Disabled, &r.revoked, &r.created, &r.updated}
}

// user is the scanned user.
func (r *userRow) user() (store.User, error) {
	u := r.u
	u.Roles = nilIfEmpty(u.Roles)
	var err error
	if u.Claims, err = decodeClaims(r.claims); err != nil {
		return store.User{}, err
	}
	u.TokensRevokedAt, u.CreatedAt, u.UpdatedAt = fromTS(r.revoked), fromTS(r.created), fromTS(r.updated)
	return u, nil
}

// encodeClaims is a user's custom claims as stored in the json column:
// one object, its members sorted by name, values compact, never null.
// (json, not jsonb, keeps the text as written.)
func encodeClaims(claims map[string]json.RawMessage) (json.RawMessage, error) {
	if len(claims) == 0 {
		return json.RawMessage("{}"), nil
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(claims); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// decodeClaims is the inverse of encodeClaims; no claims is nil.
func decodeClaims(stored []byte) (map[string]json.RawMessage, error) {
	var v map[string]json.RawMessage
	if err := json.Unmarshal(stored, &v); err != nil {
		return nil, fmt.Errorf("claims: %w", err)
	}
	if len(v) == 0 {
		return nil, nil
	}
	return v, nil
}

// queryAll runs query on the pool and scans every row with scan.
func queryAll[T any](ctx context.Context, db *DB, query string, scan func(pgx.Row) (T, error), args ...any) ([]T, error) {
	rows, err := db.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
