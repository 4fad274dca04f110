package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/latch-auth/latch/internal/store"
)

const keyColumns = `id, algorithm, sealed, public, created_at, activate_at, retire_at, remove_at, revoked_at`

// CreateKey inserts k; store.ErrConflict if its ID exists.
func (db *DB) CreateKey(ctx context.Context, k store.SigningKey) error {
	err := db.write(ctx, func(tx pgx.Tx) error {
		if err := db.lockKeys(ctx, tx); err != nil {
			return err
		}
		return insertKey(ctx, tx, k)
	})
	if err != nil {
		return fmt.Errorf("postgres: create key: %w", storeError(ctx, err))
	}
	return nil
}

// ListKeys returns all keys ordered by ActivateAt.
func (db *DB) ListKeys(ctx context.Context) ([]store.SigningKey, error) {
	ks, err := queryAll(ctx, db, selectKeys, scanKey)
	if err != nil {
		return nil, fmt.Errorf("postgres: list keys: %w", storeError(ctx, err))
	}
	return ks, nil
}

// selectKeys reads every key in ListKeys' order.
const selectKeys = `SELECT ` + keyColumns + ` FROM signing_keys ORDER BY activate_at NULLS FIRST, id`

// UpdateKey applies fn to the key atomically and stores its result,
// keeping the stored ID and CreatedAt, and RevokedAt once set. A key newly
// revoked records a key revocation in the same transaction.
func (db *DB) UpdateKey(ctx context.Context, id string, fn func(store.SigningKey) (store.SigningKey, error)) (store.SigningKey, error) {
	var revoked bool
	load := func(tx pgx.Tx) (store.SigningKey, error) {
		if err := db.lockKeys(ctx, tx); err != nil {
			return store.SigningKey{}, err
		}
		return scanKey(tx.QueryRow(ctx, `SELECT `+keyColumns+` FROM signing_keys WHERE id = $1`, id))
	}
	save := func(tx pgx.Tx, old, k store.SigningKey) (store.SigningKey, error) {
		var err error
		k, revoked, err = db.saveKey(ctx, tx, old, k)
		return k, err
	}
	k, err := update(ctx, db, "update key", fn, load, save)
	if err != nil {
		return store.SigningKey{}, err
	}
	db.committed(revoked)
	return k, nil
}

// UpdateKeys runs fn on every key and stores the keys it creates and
// updates, in one transaction under the key set's advisory lock.
func (db *DB) UpdateKeys(ctx context.Context, fn func([]store.SigningKey) (create, update []store.SigningKey, err error)) error {
	var revoked bool
	err := db.write(ctx, func(tx pgx.Tx) error {
		revoked = false
		if err := db.lockKeys(ctx, tx); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, selectKeys)
		if err != nil {
			return err
		}
		keys, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (store.SigningKey, error) { return scanKey(row) })
		if err != nil {
			return err
		}
		current := make(map[string]store.SigningKey, len(keys))
		for _, k := range keys {
			current[k.ID] = k
		}
		create, update, err := fn(keys)
		if err != nil {
			return errFunc{err}
		}
		for _, k := range create {
			if err := insertKey(ctx, tx, k); err != nil {
				return err
			}
		}
		for _, k := range update {
			old, ok := current[k.ID]
			if !ok {
				return fmt.Errorf("key %q: %w", k.ID, store.ErrNotFound)
			}
			k, newly, err := db.saveKey(ctx, tx, old, k)
			if err != nil {
				return err
			}
			current[k.ID], revoked = k, revoked || newly
		}
		return nil
	})
	var fe errFunc
	switch {
	case errors.As(err, &fe):
		return fe.err
	case err != nil:
		return fmt.Errorf("postgres: update keys: %w", storeError(ctx, err))
	}
	db.committed(revoked)
	return nil
}

// DeleteKey removes the key, or returns store.ErrNotFound.
func (db *DB) DeleteKey(ctx context.Context, id string) error {
	var n int64
	err := db.write(ctx, func(tx pgx.Tx) error {
		if err := db.lockKeys(ctx, tx); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM signing_keys WHERE id = $1`, id)
		n = tag.RowsAffected()
		return err
	})
	switch {
	case err != nil:
		return fmt.Errorf("postgres: delete key: %w", storeError(ctx, err))
	case n == 0:
		return fmt.Errorf("postgres: delete key: %w", store.ErrNotFound)
	}
	return nil
}

// lockKeys takes the transaction-scoped advisory lock on the key set of
// db's schema, which every key write takes first: the keys UpdateKeys
// reads stay as they are until it commits, on every node.
func (db *DB) lockKeys(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "latch signing keys "+db.schema)
	return err
}

// insertKey inserts k in tx.
func insertKey(ctx context.Context, tx pgx.Tx, k store.SigningKey) error {
	_, err := tx.Exec(ctx, `INSERT INTO signing_keys (`+keyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		k.ID, k.Algorithm, blob(k.Sealed), blob(k.Public), ts(k.CreatedAt), ts(k.ActivateAt),
		ts(k.RetireAt), ts(k.RemoveAt), ts(k.RevokedAt))
	return err
}

// saveKey stores k in tx over old, the stored key of its ID, keeping old's
// ID and CreatedAt, and its RevokedAt once set; if k is newly revoked, it
// records the key revocation and reports it. It returns k as stored.
func (db *DB) saveKey(ctx context.Context, tx pgx.Tx, old, k store.SigningKey) (store.SigningKey, bool, error) {
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
		return store.SigningKey{}, false, err
	}
	if !old.RevokedAt.IsZero() || k.RevokedAt.IsZero() {
		return k, false, nil
	}
	_, err = db.addRevocation(ctx, tx, store.Revocation{
		Kind:    store.KindKey,
		Subject: k.ID,
		Reason:  store.ReasonKeyRevoked,
		At:      k.RevokedAt,
		Expires: k.RevokedAt.Add(db.ttl),
	})
	if err != nil {
		return store.SigningKey{}, false, err
	}
	return k, true, nil
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
