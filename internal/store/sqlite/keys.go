package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/latch-auth/latch/internal/store"
)

const keyColumns = `id, algorithm, sealed, public, created_at, activate_at, retire_at, remove_at, revoked_at`

// CreateKey inserts k; store.ErrConflict if its ID exists.
func (db *DB) CreateKey(ctx context.Context, k store.SigningKey) error {
	err := db.write(ctx, func(tx *sql.Tx) error { return insertKey(ctx, tx, k) })
	if err != nil {
		return fmt.Errorf("sqlite: create key: %w", storeError(err))
	}
	return nil
}

// ListKeys returns all keys ordered by ActivateAt.
func (db *DB) ListKeys(ctx context.Context) ([]store.SigningKey, error) {
	ks, err := listKeys(ctx, db.r)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list keys: %w", storeError(err))
	}
	return ks, nil
}

// UpdateKey applies fn to the key atomically and stores its result,
// keeping the stored ID and CreatedAt, and RevokedAt once set. A key newly
// revoked records a key revocation in the same transaction.
func (db *DB) UpdateKey(ctx context.Context, id string, fn func(store.SigningKey) (store.SigningKey, error)) (store.SigningKey, error) {
	var revoked bool
	load := func(tx *sql.Tx) (store.SigningKey, error) {
		return scanKey(tx.QueryRowContext(ctx, `SELECT `+keyColumns+` FROM signing_keys WHERE id = ?`, id))
	}
	save := func(tx *sql.Tx, old, k store.SigningKey) (store.SigningKey, error) {
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
// updates, all in one write transaction: the write lock of the database
// is the lock on the key set.
func (db *DB) UpdateKeys(ctx context.Context, fn func([]store.SigningKey) (create, update []store.SigningKey, err error)) error {
	var revoked bool
	var fnErr error
	err := db.write(ctx, func(tx *sql.Tx) error {
		revoked = false
		keys, err := listKeys(ctx, tx)
		if err != nil {
			return err
		}
		current := make(map[string]store.SigningKey, len(keys))
		for _, k := range keys {
			current[k.ID] = k
		}
		create, update, err := fn(keys)
		if err != nil {
			fnErr = err
			return err
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
	switch {
	case fnErr != nil:
		return fnErr
	case err != nil:
		return fmt.Errorf("sqlite: update keys: %w", storeError(err))
	}
	db.committed(revoked)
	return nil
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// listKeys returns all keys ordered by ActivateAt.
func listKeys(ctx context.Context, q querier) ([]store.SigningKey, error) {
	rows, err := q.QueryContext(ctx, `SELECT `+keyColumns+` FROM signing_keys ORDER BY activate_at, id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ks []store.SigningKey
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, err
		}
		ks = append(ks, k)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return ks, nil
}

// insertKey inserts k in tx.
func insertKey(ctx context.Context, tx *sql.Tx, k store.SigningKey) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (`+keyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.Algorithm, blob(k.Sealed), blob(k.Public), millis(k.CreatedAt), millis(k.ActivateAt),
		millis(k.RetireAt), millis(k.RemoveAt), millis(k.RevokedAt))
	return err
}

// saveKey stores k in tx over old, the stored key of its ID, keeping old's
// ID and CreatedAt, and its RevokedAt once set; if k is newly revoked, it
// records the key revocation and reports it. It returns k as stored.
func (db *DB) saveKey(ctx context.Context, tx *sql.Tx, old, k store.SigningKey) (store.SigningKey, bool, error) {
	k.ID, k.CreatedAt = old.ID, old.CreatedAt
	if !old.RevokedAt.IsZero() {
		k.RevokedAt = old.RevokedAt
	}
	k.Sealed, k.Public = blob(k.Sealed), blob(k.Public)
	k.ActivateAt, k.RetireAt, k.RemoveAt = stored(k.ActivateAt), stored(k.RetireAt), stored(k.RemoveAt)
	k.RevokedAt = stored(k.RevokedAt)
	_, err := tx.ExecContext(ctx, `UPDATE signing_keys SET algorithm = ?, sealed = ?, public = ?,
		activate_at = ?, retire_at = ?, remove_at = ?, revoked_at = ? WHERE id = ?`,
		k.Algorithm, k.Sealed, k.Public, millis(k.ActivateAt), millis(k.RetireAt), millis(k.RemoveAt),
		millis(k.RevokedAt), k.ID)
	if err != nil {
		return store.SigningKey{}, false, err
	}
	if !old.RevokedAt.IsZero() || k.RevokedAt.IsZero() {
		return k, false, nil
	}
	_, err = addRevocation(ctx, tx, store.Revocation{
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

// DeleteKey removes the key, or returns store.ErrNotFound.
func (db *DB) DeleteKey(ctx context.Context, id string) error {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM signing_keys WHERE id = ?`, id)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	switch {
	case err != nil:
		return fmt.Errorf("sqlite: delete key: %w", storeError(err))
	case n == 0:
		return fmt.Errorf("sqlite: delete key: %w", store.ErrNotFound)
	}
	return nil
}

func scanKey(row scanner) (store.SigningKey, error) {
	var (
		k                                 store.SigningKey
		created, activate, retire, remove sql.NullInt64
		revoked                           sql.NullInt64
	)
	err := row.Scan(&k.ID, &k.Algorithm, &k.Sealed, &k.Public, &created, &activate, &retire, &remove, &revoked)
	if err != nil {
		return store.SigningKey{}, err
	}
	k.CreatedAt, k.ActivateAt = fromMillis(created), fromMillis(activate)
	k.RetireAt, k.RemoveAt, k.RevokedAt = fromMillis(retire), fromMillis(remove), fromMillis(revoked)
	return k, nil
}
