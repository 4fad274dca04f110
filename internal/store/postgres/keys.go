package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/latch-auth/latch/internal/store"
)

const keyColumns = `id, algorithm, sealed, public, created_at, activate_at, retire_at, remove_at, revoked_at`

// CreateKey inserts k; store.ErrConflict if its ID exists.
func (db *DB) CreateKey(ctx context.Context, k store.SigningKey) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO signing_keys (`+keyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		k.ID, k.Algorithm, blob(k.Sealed), blob(k.Public), ts(k.CreatedAt), ts(k.ActivateAt),
		ts(k.RetireAt), ts(k.RemoveAt), ts(k.RevokedAt))
	if err != nil {
		return fmt.Errorf("postgres: create key: %w", storeError(ctx, err))
	}
	return nil
}

// ListKeys returns all keys ordered by ActivateAt.
func (db *DB) ListKeys(ctx context.Context) ([]store.SigningKey, error) {
	ks, err := queryAll(ctx, db, `SELECT `+keyColumns+` FROM signing_keys ORDER BY activate_at NULLS FIRST, id`, scanKey)
	if err != nil {
		return nil, fmt.Errorf("postgres: list keys: %w", storeError(ctx, err))
	}
	return ks, nil
}

// UpdateKey applies fn to the key atomically and stores its result,
// keeping the stored ID and CreatedAt, and RevokedAt once set. A key newly
// revoked records a key revocation in the same transaction.
func (db *DB) UpdateKey(ctx context.Context, id string, fn func(store.SigningKey) (store.SigningKey, error)) (store.SigningKey, error) {
	var revoked bool
	load := func(tx pgx.Tx) (store.SigningKey, error) {
		return scanKey(tx.QueryRow(ctx, `SELECT `+keyColumns+` FROM signing_keys WHERE id = $1 FOR NO KEY UPDATE`, id))
	}
	save := func(tx pgx.Tx, old, k store.SigningKey) (store.SigningKey, error) {
		revoked = false
		k.ID, k.CreatedAt = old.ID, old.CreatedAt
		if !old.RevokedAt.IsZero() {
			k.RevokedAt = old.RevokedAt
		}
		k.Sealed, k.Public = blob(k.Sealed), blob(k.Public)
		k.ActivateAt, k.RetireAt, k.RemoveAt = stored(k.ActivateAt), stored(k.RetireAt), stored(k.RemoveAt)
		k.RevokedAt = stored(k.RevokedAt)
		_, err := tx.Exec(ctx, `UPDATE signing_keys SET algorithm = $1, sealed = $2, public = $3,
			activate_at = $4, retire_at = $5, remove_at = $6, revoked_at = $7 WHERE id = $8`,
			k.Algorithm, k.Sealed, k.Public, ts(k.ActivateAt), ts(k.RetireAt), ts(k.RemoveAt),
			ts(k.RevokedAt), k.ID)
		if err != nil {
			return store.SigningKey{}, err
		}
		if old.RevokedAt.IsZero() && !k.RevokedAt.IsZero() {
			_, err := db.addRevocation(ctx, tx, store.Revocation{
				Kind:    store.KindKey,
				Subject: k.ID,
				Reason:  store.ReasonKeyRevoked,
				At:      k.RevokedAt,
				Expires: k.RevokedAt.Add(db.ttl),
			})
			if err != nil {
				return store.SigningKey{}, err
			}
			revoked = true
		}
		return k, nil
	}
	k, err := update(ctx, db, "update key", fn, load, save)
	if err != nil {
		return store.SigningKey{}, err
	}
	db.committed(revoked)
	return k, nil
}

// DeleteKey removes the key, or returns store.ErrNotFound.
func (db *DB) DeleteKey(ctx context.Context, id string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM signing_keys WHERE id = $1`, id)
	switch {
	case err != nil:
		return fmt.Errorf("postgres: delete key: %w", storeError(ctx, err))
	case tag.RowsAffected() == 0:
		return fmt.Errorf("postgres: delete key: %w", store.ErrNotFound)
	}
	return nil
}

func scanKey(row pgx.Row) (store.SigningKey, error) {
	var (
		k                                          store.SigningKey
		created, activate, retire, remove, revoked pgtype.Timestamptz
	)
	err := row.Scan(&k.ID, &k.Algorithm, &k.Sealed, &k.Public, &created, &activate, &retire, &remove, &revoked)
	if err != nil {
		return store.SigningKey{}, err
	}
	k.CreatedAt, k.ActivateAt = fromTS(created), fromTS(activate)
	k.RetireAt, k.RemoveAt, k.RevokedAt = fromTS(retire), fromTS(remove), fromTS(revoked)
	return k, nil
}
