package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/latch-auth/latch/internal/store"
)

const clientColumns = `id, name, secret_hash, scopes, set_cursor, created_at, updated_at`

// CreateClient inserts c; store.ErrConflict if its ID or Name exists.
func (db *DB) CreateClient(ctx context.Context, c store.Client) error {
	scopes, err := encodeList("scopes", c.Scopes)
	if err != nil {
		return fmt.Errorf("sqlite: create client: %w", storeError(err))
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO clients (`+clientColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.Name, blob(c.SecretHash), scopes, c.SETCursor, millis(c.CreatedAt), millis(c.UpdatedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: create client: %w", storeError(err))
	}
	return nil
}

// ClientByID returns the client with ID id, or store.ErrNotFound.
func (db *DB) ClientByID(ctx context.Context, id string) (store.Client, error) {
	c, err := scanClient(db.r.QueryRowContext(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = ?`, id))
	if err != nil {
		return store.Client{}, fmt.Errorf("sqlite: client by id: %w", storeError(err))
	}
	return c, nil
}

// ListClients returns every client ordered by creation time.
func (db *DB) ListClients(ctx context.Context) ([]store.Client, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT `+clientColumns+` FROM clients ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list clients: %w", storeError(err))
	}
	defer rows.Close()
	var cs []store.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list clients: %w", storeError(err))
		}
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list clients: %w", storeError(err))
	}
	return cs, nil
}

// UpdateClient applies fn to the client atomically and stores its result,
// keeping the stored ID and CreatedAt; store.ErrConflict if the new Name
// is another client's.
func (db *DB) UpdateClient(ctx context.Context, id string, fn func(store.Client) (store.Client, error)) (store.Client, error) {
	load := func(tx *sql.Tx) (store.Client, error) {
		return scanClient(tx.QueryRowContext(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = ?`, id))
	}
	save := func(tx *sql.Tx, old, c store.Client) (store.Client, error) {
		c.ID, c.CreatedAt = old.ID, old.CreatedAt
		scopes, err := encodeList("scopes", c.Scopes)
		if err != nil {
			return store.Client{}, err
		}
		c.SecretHash = blob(c.SecretHash)
		_, err = tx.ExecContext(ctx, `UPDATE clients SET name = ?, secret_hash = ?, scopes = ?, set_cursor = ?, updated_at = ? WHERE id = ?`,
			c.Name, c.SecretHash, scopes, c.SETCursor, millis(c.UpdatedAt), c.ID)
		if err != nil {
			return store.Client{}, err
		}
		c.Scopes = nilIfEmpty(c.Scopes)
		c.UpdatedAt = stored(c.UpdatedAt)
		return c, nil
	}
	return update(ctx, db, "update client", fn, load, save)
}

// DeleteClient removes the client, or returns store.ErrNotFound.
func (db *DB) DeleteClient(ctx context.Context, id string) error {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM clients WHERE id = ?`, id)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	switch {
	case err != nil:
		return fmt.Errorf("sqlite: delete client: %w", storeError(err))
	case n == 0:
		return fmt.Errorf("sqlite: delete client: %w", store.ErrNotFound)
	}
	return nil
}

func scanClient(row scanner) (store.Client, error) {
	var (
		c                store.Client
		scopes           string
		created, updated sql.NullInt64
	)
	if err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &scopes, &c.SETCursor, &created, &updated); err != nil {
		return store.Client{}, err
	}
	var err error
	if c.Scopes, err = decodeList("scopes", scopes); err != nil {
		return store.Client{}, err
	}
	c.CreatedAt, c.UpdatedAt = fromMillis(created), fromMillis(updated)
	return c, nil
}
