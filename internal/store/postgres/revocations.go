package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/latch-auth/latch/internal/store"
)

// AddRevocation appends r and returns its Seq.
func (db *DB) AddRevocation(ctx context.Context, r store.Revocation) (int64, error) {
	var seq int64
	err := db.write(ctx, func(tx pgx.Tx) error {
		var err error
		seq, err = db.addRevocation(ctx, tx, r)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: add revocation: %w", storeError(ctx, err))
	}
	db.committed(true)
	return seq, nil
}

// addRevocation inserts r in tx, notifies the other DBs when tx commits,
// and returns r's Seq. The Seq is the feed's head plus one: tx holds the
// lock of the head's row until it commits, so that Seq order is commit
// order.
func (db *DB) addRevocation(ctx context.Context, tx queryRower, r store.Revocation) (int64, error) {
	var seq int64
	err := tx.QueryRow(ctx, `WITH h AS (UPDATE revocation_feed SET head = head + 1 WHERE id = 1 RETURNING head)
		INSERT INTO revocations (seq, kind, subject, user_id, reason, at, expires)
		SELECT h.head, $1, $2, $3, $4, $5, $6 FROM h, pg_notify('`+channel+`', $7) AS n
		RETURNING seq`,
		string(r.Kind), r.Subject, r.UserID, string(r.Reason), ts(r.At), ts(r.Expires), db.payload()).Scan(&seq)
	return seq, err
}

// RevocationsSince returns up to limit records with Seq > after, in Seq
// order.
func (db *DB) RevocationsSince(ctx context.Context, after int64, limit int) ([]store.Revocation, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.pool.Query(ctx, `SELECT seq, kind, subject, user_id, reason, at, expires
		FROM revocations WHERE seq > $1 ORDER BY seq LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("postgres: revocations since: %w", storeError(ctx, err))
	}
	defer rows.Close()
	var rs []store.Revocation
	for rows.Next() {
		var (
			r            store.Revocation
			kind, reason string
			at, expires  pgtype.Timestamptz
		)
		if err := rows.Scan(&r.Seq, &kind, &r.Subject, &r.UserID, &reason, &at, &expires); err != nil {
			return nil, fmt.Errorf("postgres: revocations since: %w", storeError(ctx, err))
		}
		r.Kind, r.Reason = store.Kind(kind), store.Reason(reason)
		r.At, r.Expires = fromTS(at), fromTS(expires)
		rs = append(rs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: revocations since: %w", storeError(ctx, err))
	}
	return rs, nil
}

// PruneRevocations deletes records whose Expires is before cutoff, and
// raises the pruned watermark RevocationBounds reports to the highest Seq
// it deletes, in the same transaction.
func (db *DB) PruneRevocations(ctx context.Context, cutoff time.Time) (int, error) {
	var n, last int64
	err := db.write(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, `WITH d AS (DELETE FROM revocations WHERE expires IS NULL OR expires < $1 RETURNING seq)
			SELECT count(*), coalesce(max(seq), 0) FROM d`, cutoff).Scan(&n, &last)
		if err != nil || n == 0 {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE revocation_feed SET pruned = greatest(pruned, $1) WHERE id = 1`, last)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("postgres: prune revocations: %w", storeError(ctx, err))
	}
	return int(n), nil
}

// RevocationBounds returns the highest Seq ever pruned and the highest Seq
// ever assigned, 0 for none, read together from one row.
func (db *DB) RevocationBounds(ctx context.Context) (pruned, head int64, err error) {
	err = db.pool.QueryRow(ctx, `SELECT pruned, head FROM revocation_feed WHERE id = 1`).Scan(&pruned, &head)
	if err != nil {
		return 0, 0, fmt.Errorf("postgres: revocation bounds: %w", storeError(ctx, err))
	}
	return pruned, head, nil
}
