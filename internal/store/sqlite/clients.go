package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/latch-auth/latch/internal/store"
)

const clientColumns = `id, name, secret_hash, scopes, set_cursor, created_at, updated_at,
	type, auth_method, redirect_uris, post_logout_redirect_uris, grant_types, first_party, require_dpop, encryption_key`

// clientLists are a client's list columns, encoded for storage.
type clientLists struct {
	scopes, redirectURIs, postLogoutURIs, grantTypes string
}

// encodeClientLists encodes the lists of c.
func encodeClientLists(c store.Client) (clientLists, error) {
	var l clientLists
	var err error
	if l.scopes, err = encodeList("scopes", c.Scopes); err != nil {
		return clientLists{}, err
	}
	if l.redirectURIs, err = encodeList("redirect URIs", c.RedirectURIs); err != nil {
		return clientLists{}, err
	}
	if l.postLogoutURIs, err = encodeList("post-logout redirect URIs", c.PostLogoutRedirectURIs); err != nil {
		return clientLists{}, err
	}
	if l.grantTypes, err = encodeList("grant types", c.GrantTypes); err != nil {
		return clientLists{}, err
	}
	return l, nil
}

// CreateClient inserts c; store.ErrConflict if its ID or Name exists.
func (db *DB) CreateClient(ctx context.Context, c store.Client) error {
	l, err := encodeClientLists(c)
	if err != nil {
		return fmt.Errorf("sqlite: create client: %w", storeError(err))
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO clients (`+clientColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ID, c.Name, blob(c.SecretHash), l.scopes, c.SETCursor, millis(c.CreatedAt), millis(c.UpdatedAt),
			c.Type, c.AuthMethod, l.redirectURIs, l.postLogoutURIs, l.grantTypes, c.FirstParty, c.RequireDPoP, c.EncryptionKey)
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
		l, err := encodeClientLists(c)
		if err != nil {
			return store.Client{}, err
		}
		c.SecretHash = blob(c.SecretHash)
		_, err = tx.ExecContext(ctx, `UPDATE clients SET name = ?, secret_hash = ?, scopes = ?, set_cursor = ?, updated_at = ?,
			type = ?, auth_method = ?, redirect_uris = ?, post_logout_redirect_uris = ?, grant_types = ?, first_party = ?, require_dpop = ?,
			encryption_key = ? WHERE id = ?`,
			c.Name, c.SecretHash, l.scopes, c.SETCursor, millis(c.UpdatedAt),
			c.Type, c.AuthMethod, l.redirectURIs, l.postLogoutURIs, l.grantTypes, c.FirstParty, c.RequireDPoP, c.EncryptionKey, c.ID)
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
		l                clientLists
		created, updated sql.NullInt64
	)
	err := row.Scan(&c.ID, &c.Name, &c.SecretHash, &l.scopes, &c.SETCursor, &created, &updated,
		&c.Type, &c.AuthMethod, &l.redirectURIs, &l.postLogoutURIs, &l.grantTypes, &c.FirstParty, &c.RequireDPoP, &c.EncryptionKey)
	if err != nil {
		return store.Client{}, err
	}
	if c.Scopes, err = decodeList("scopes", l.scopes); err != nil {
		return store.Client{}, err
	}
	if c.RedirectURIs, err = decodeList("redirect URIs", l.redirectURIs); err != nil {
		return store.Client{}, err
	}
	if c.PostLogoutRedirectURIs, err = decodeList("post-logout redirect URIs", l.postLogoutURIs); err != nil {
		return store.Client{}, err
	}
	if c.GrantTypes, err = decodeList("grant types", l.grantTypes); err != nil {
		return store.Client{}, err
	}
	c.CreatedAt, c.UpdatedAt = fromMillis(created), fromMillis(updated)
	return c, nil
}
