package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/latch-auth/latch/internal/store"
)

const clientColumns = `id, name, secret_hash, scopes, set_cursor, created_at, updated_at,
	type, auth_method, redirect_uris, post_logout_redirect_uris, grant_types, first_party, require_dpop, encryption_key`

// CreateClient inserts c; store.ErrConflict if its ID or Name exists.
func (db *DB) CreateClient(ctx context.Context, c store.Client) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO clients (`+clientColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
		c.ID, c.Name, blob(c.SecretHash), list(c.Scopes), c.SETCursor, ts(c.CreatedAt), ts(c.UpdatedAt),
		c.Type, c.AuthMethod, list(c.RedirectURIs), list(c.PostLogoutRedirectURIs), list(c.GrantTypes), c.FirstParty, c.RequireDPoP, c.EncryptionKey)
	if err != nil {
		return fmt.Errorf("postgres: create client: %w", storeError(ctx, err))
	}
	return nil
}

// ClientByID returns the client with ID id, or store.ErrNotFound.
func (db *DB) ClientByID(ctx context.Context, id string) (store.Client, error) {
	c, err := scanClient(db.pool.QueryRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = $1`, id))
	if err != nil {
		return store.Client{}, fmt.Errorf("postgres: client by id: %w", storeError(ctx, err))
	}
	return c, nil
}

// ListClients returns every client ordered by creation time.
func (db *DB) ListClients(ctx context.Context) ([]store.Client, error) {
	cs, err := queryAll(ctx, db, `SELECT `+clientColumns+` FROM clients ORDER BY created_at NULLS FIRST, id`, scanClient)
	if err != nil {
		return nil, fmt.Errorf("postgres: list clients: %w", storeError(ctx, err))
	}
	return cs, nil
}

// UpdateClient applies fn to the client atomically and stores its result,
// keeping the stored ID and CreatedAt; store.ErrConflict if the new Name
// is another client's.
func (db *DB) UpdateClient(ctx context.Context, id string, fn func(store.Client) (store.Client, error)) (store.Client, error) {
	load := func(tx pgx.Tx) (store.Client, error) {
		return scanClient(tx.QueryRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = $1 FOR NO KEY UPDATE`, id))
	}
	save := func(tx pgx.Tx, old, c store.Client) (store.Client, error) {
		c.ID, c.CreatedAt = old.ID, old.CreatedAt
		c.SecretHash = blob(c.SecretHash)
		_, err := tx.Exec(ctx, `UPDATE clients SET name = $1, secret_hash = $2, scopes = $3, set_cursor = $4,
			updated_at = $5, type = $6, auth_method = $7, redirect_uris = $8, post_logout_redirect_uris = $9,
			grant_types = $10, first_party = $11, require_dpop = $12, encryption_key = $13 WHERE id = $14`,
			c.Name, c.SecretHash, list(c.Scopes), c.SETCursor, ts(c.UpdatedAt), c.Type, c.AuthMethod,
			list(c.RedirectURIs), list(c.PostLogoutRedirectURIs), list(c.GrantTypes), c.FirstParty, c.RequireDPoP, c.EncryptionKey, c.ID)
		if err != nil {
			return store.Client{}, err
		}
		c.Scopes, c.RedirectURIs = nilIfEmpty(c.Scopes), nilIfEmpty(c.RedirectURIs)
		c.PostLogoutRedirectURIs, c.GrantTypes = nilIfEmpty(c.PostLogoutRedirectURIs), nilIfEmpty(c.GrantTypes)
		c.UpdatedAt = stored(c.UpdatedAt)
		return c, nil
	}
	return update(ctx, db, "update client", fn, load, save)
}

// DeleteClient removes the client, with its authorization codes and the
// consents given to it (ON DELETE CASCADE), or returns store.ErrNotFound.
func (db *DB) DeleteClient(ctx context.Context, id string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM clients WHERE id = $1`, id)
	switch {
	case err != nil:
		return fmt.Errorf("postgres: delete client: %w", storeError(ctx, err))
	case tag.RowsAffected() == 0:
		return fmt.Errorf("postgres: delete client: %w", store.ErrNotFound)
	}
	return nil
}

func scanClient(row pgx.Row) (store.Client, error) {
	var (
		c                store.Client
		created, updated pgtype.Timestamptz
	)
	err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &c.Scopes, &c.SETCursor, &created, &updated,
		&c.Type, &c.AuthMethod, &c.RedirectURIs, &c.PostLogoutRedirectURIs, &c.GrantTypes, &c.FirstParty, &c.RequireDPoP, &c.EncryptionKey)
	if err != nil {
		return store.Client{}, err
	}
	c.Scopes, c.RedirectURIs = nilIfEmpty(c.Scopes), nilIfEmpty(c.RedirectURIs)
	c.PostLogoutRedirectURIs, c.GrantTypes = nilIfEmpty(c.PostLogoutRedirectURIs), nilIfEmpty(c.GrantTypes)
	c.CreatedAt, c.UpdatedAt = fromTS(created), fromTS(updated)
	return c, nil
}
