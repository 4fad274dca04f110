package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/latch-auth/latch/internal/store"
)

// UpdateThrottle applies fn to the throttle for key (the zero Throttle with
// Key set if there is none) atomically and stores its result; a result
// with zero Failures deletes it. A throttle that does not exist yet has no
// row to lock, so the transaction takes an advisory lock on the key
// instead: concurrent failures of a new key are all counted.
func (db *DB) UpdateThrottle(ctx context.Context, key string, fn func(store.Throttle) (store.Throttle, error)) (store.Throttle, error) {
	load := func(tx pgx.Tx) (store.Throttle, error) {
		_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "latch throttle "+db.schema+" "+key)
		if err != nil {
			return store.Throttle{}, err
		}
		t := store.Throttle{Key: key}
		var last, locked pgtype.Timestamptz
		err = tx.QueryRow(ctx, `SELECT failures, last_failure, locked_until FROM throttles WHERE key = $1`, key).
			Scan(&t.Failures, &last, &locked)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			return store.Throttle{Key: key}, nil
		case err != nil:
			return store.Throttle{}, err
		}
		t.LastFailure, t.LockedUntil = fromTS(last), fromTS(locked)
		return t, nil
	}
	save := func(tx pgx.Tx, _, t store.Throttle) (store.Throttle, error) {
		t.Key = key
		if t.Failures == 0 {
			_, err := tx.Exec(ctx, `DELETE FROM throttles WHERE key = $1`, key)
			return t, err
		}
		t.LastFailure, t.LockedUntil = stored(t.LastFailure), stored(t.LockedUntil)
		_, err := tx.Exec(ctx, `INSERT INTO throttles (key, failures, last_failure, locked_until)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
				last_failure = excluded.last_failure, locked_until = excluded.locked_until`,
			key, t.Failures, ts(t.LastFailure), ts(t.LockedUntil))
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
	tag, err := db.pool.Exec(ctx, `DELETE FROM throttles
		WHERE (last_failure IS NULL OR last_failure < $1)
		AND (locked_until IS NULL OR locked_until <= $1)`, cutoff)
	if err != nil {
		return 0, fmt.Errorf("postgres: prune throttles: %w", storeError(ctx, err))
	}
	return int(tag.RowsAffected()), nil
}
