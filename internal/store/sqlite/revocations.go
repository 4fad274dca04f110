package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/latch-auth/latch/internal/store"
)

// AddRevocation appends r and returns its Seq.
func (db *DB) AddRevocation(ctx context.Context, r store.Revocation) (int64, error) {
	var seq int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		seq, err = addRevocation(ctx, tx, r)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: add revocation: %w", storeError(err))
	}
	db.committed(true)
	return seq, nil
}

// addRevocation inserts r in tx and returns its Seq. Seq is assigned
// under the write lock, so Seq order is commit order.
func addRevocation(ctx context.Context, tx *sql.Tx, r store.Revocation) (int64, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO revocations (kind, subject, user_id, reason, at, expires)
		VALUES (?, ?, ?, ?, ?, ?)`,
		string(r.Kind), r.Subject, r.UserID, string(r.Reason), millis(r.At), millis(r.Expires))
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// RevocationsSince returns up to limit records with Seq > after, in Seq
// order.
func (db *DB) RevocationsSince(ctx context.Context, after int64, limit int) ([]store.Revocation, error) {
	if limit <= 0 {
		return nil, nil
	}
	rows, err := db.r.QueryContext(ctx, `SELECT seq, kind, subject, user_id, reason, at, expires
		FROM revocations WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlite: revocations since: %w", storeError(err))
	}
	defer rows.Close()
	var rs []store.Revocation
	for rows.Next() {
		var (
			r                    store.Revocation
			kind, reason         string
			revokedAt, expiresAt sql.NullInt64
		)
		if err := rows.Scan(&r.Seq, &kind, &r.Subject, &r.UserID, &reason, &revokedAt, &expiresAt); err != nil {
			return nil, fmt.Errorf("sqlite: revocations since: %w", storeError(err))
		}
		r.Kind, r.Reason = store.Kind(kind), store.Reason(reason)
		r.At, r.Expires = fromMillis(revokedAt), fromMillis(expiresAt)
		rs = append(rs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: revocations since: %w", storeError(err))
	}
	return rs, nil
}

// PruneRevocations deletes records whose Expires is before cutoff, and
// raises the pruned watermark RevocationBounds reports to the highest Seq
// it deletes, in the same transaction.
func (db *DB) PruneRevocations(ctx context.Context, cutoff time.Time) (int, error) {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE revocations_pruned SET seq = max(seq, coalesce(
			(SELECT max(r.seq) FROM revocations AS r WHERE r.expires IS NULL OR r.expires < ?1), 0))`, cutoff.UnixMilli())
		if err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM revocations WHERE expires IS NULL OR expires < ?1`, cutoff.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune revocations: %w", storeError(err))
	}
	return int(n), nil
}

// RevocationBounds returns the highest Seq ever pruned and the highest Seq
// ever assigned, 0 for none, read together in one statement.
func (db *DB) RevocationBounds(ctx context.Context) (pruned, head int64, err error) {
	err = db.r.QueryRowContext(ctx, `SELECT
		(SELECT seq FROM revocations_pruned),
		coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'revocations'), 0)`).Scan(&pruned, &head)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlite: revocation bounds: %w", storeError(err))
	}
	return pruned, head, nil
}
