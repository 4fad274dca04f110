package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/latch-auth/latch/internal/store"
)

// UpdateThrottle applies fn to the throttle for key (the zero Throttle with
// Key set if there is none) atomically and stores its result; a result
// with zero Failures deletes it.
func (db *DB) UpdateThrottle(ctx context.Context, key string, fn func(store.Throttle) (store.Throttle, error)) (store.Throttle, error) {
	load := func(tx *sql.Tx) (store.Throttle, error) {
		t := store.Throttle{Key: key}
		var last, locked sql.NullInt64
		err := tx.QueryRowContext(ctx, `SELECT failures, last_failure, locked_until FROM throttles WHERE key = ?`, key).
			Scan(&t.Failures, &last, &locked)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return store.Throttle{Key: key}, nil
		case err != nil:
			return store.Throttle{}, err
		}
		t.LastFailure, t.LockedUntil = fromMillis(last), fromMillis(locked)
		return t, nil
	}
	save := func(tx *sql.Tx, _, t store.Throttle) (store.Throttle, error) {
		t.Key = key
		if t.Failures == 0 {
			_, err := tx.ExecContext(ctx, `DELETE FROM throttles WHERE key = ?`, key)
			return t, err
		}
		t.LastFailure, t.LockedUntil = stored(t.LastFailure), stored(t.LockedUntil)
		_, err := tx.ExecContext(ctx, `INSERT INTO throttles (key, failures, last_failure, locked_until)
			VALUES (?, ?, ?, ?)
			ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
				last_failure = excluded.last_failure, locked_until = excluded.locked_until`,
			key, t.Failures, millis(t.LastFailure), millis(t.LockedUntil))
		if err != nil {
			return store.Throttle{}, err
		}
		return t, nil
	}
	return update(ctx, db, "update throttle", fn, load, save)
}

// PruneThrottles deletes throttles whose last failure is before cutoff and
// that are not locked past it.
func (db *DB) PruneThrottles(ctx context.Context, cutoff time.Time) (int, error) {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM throttles
			WHERE (last_failure IS NULL OR last_failure < ?1)
			AND (locked_until IS NULL OR locked_until <= ?1)`, cutoff.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune throttles: %w", storeError(err))
	}
	return int(n), nil
}
