package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/latch-auth/latch/internal/store"
)

const userColumns = `id, email, password_hash, roles, disabled, created_at, updated_at`

// CreateUser inserts u; store.ErrConflict if its ID or e-mail exists.
func (db *DB) CreateUser(ctx context.Context, u store.User) error {
	roles, err := encodeRoles(u.Roles)
	if err != nil {
		return fmt.Errorf("sqlite: create user: %w", err)
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			u.ID, u.Email, u.PasswordHash, roles, u.Disabled, millis(u.CreatedAt), millis(u.UpdatedAt))
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
		return store.User{}, fmt.Errorf("sqlite: user by id: %w", err)
	}
	u, err := scanUser(st.QueryRowContext(ctx, id))
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
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	defer rows.Close()
	var us []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list users: %w", err)
		}
		us = append(us, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list users: %w", err)
	}
	return us, nil
}

// UpdateUser applies fn to the user with ID id atomically and stores its
// result, keeping the stored ID, e-mail and CreatedAt.
func (db *DB) UpdateUser(ctx context.Context, id string, fn func(store.User) (store.User, error)) (store.User, error) {
	load := func(tx *sql.Tx) (store.User, error) {
		st, err := db.txStmt(ctx, tx, selectUserByID)
		if err != nil {
			return store.User{}, err
		}
		return scanUser(st.QueryRowContext(ctx, id))
	}
	save := func(tx *sql.Tx, old, u store.User) (store.User, error) {
		u.ID, u.Email, u.CreatedAt = old.ID, old.Email, old.CreatedAt
		roles, err := encodeRoles(u.Roles)
		if err != nil {
			return store.User{}, err
		}
		_, err = tx.ExecContext(ctx, `UPDATE users SET password_hash = ?, roles = ?, disabled = ?, updated_at = ? WHERE id = ?`,
			u.PasswordHash, roles, u.Disabled, millis(u.UpdatedAt), u.ID)
		if err != nil {
			return store.User{}, err
		}
		if len(u.Roles) == 0 {
			u.Roles = nil
		}
		u.UpdatedAt = stored(u.UpdatedAt)
		return u, nil
	}
	return update(ctx, db, "update user", fn, load, save)
}

func scanUser(row scanner) (store.User, error) {
	var (
		u                store.User
		roles            string
		created, updated sql.NullInt64
	)
	if err := row.Scan(&u.ID, &u.Email, &u.PasswordHash, &roles, &u.Disabled, &created, &updated); err != nil {
		return store.User{}, err
	}
	if err := json.Unmarshal([]byte(roles), &u.Roles); err != nil {
		return store.User{}, fmt.Errorf("roles: %w", err)
	}
	if len(u.Roles) == 0 {
		u.Roles = nil
	}
	u.CreatedAt, u.UpdatedAt = fromMillis(created), fromMillis(updated)
	return u, nil
}

// encodeRoles is roles as stored: a JSON array, never null.
func encodeRoles(roles []string) (string, error) {
	if len(roles) == 0 {
		return "[]", nil
	}
	b, err := json.Marshal(roles)
	if err != nil {
		return "", fmt.Errorf("roles: %w", err)
	}
	return string(b), nil
}
