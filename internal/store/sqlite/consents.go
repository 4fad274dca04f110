package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"

	"github.com/latch-auth/latch/internal/store"
)

// GrantConsent stores the union of the consent's stored scopes and
// c.Scopes, sorted without duplicates, granted at c.GrantedAt;
// store.ErrNotFound if the user or the client does not exist.
func (db *DB) GrantConsent(ctx context.Context, c store.Consent) error {
	err := db.write(ctx, func(tx *sql.Tx) error {
		var old string
		err := tx.QueryRowContext(ctx, `SELECT scopes FROM consents WHERE user_id = ? AND client_id = ?`, c.UserID, c.ClientID).Scan(&old)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		var scopes []string
		if err == nil {
			if scopes, err = decodeList("scopes", old); err != nil {
				return err
			}
		}
		scopes = append(scopes, c.Scopes...)
		slices.Sort(scopes)
		enc, err := encodeList("scopes", slices.Compact(scopes))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO consents (user_id, client_id, scopes, granted_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at`,
			c.UserID, c.ClientID, enc, millis(c.GrantedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: grant consent: %w", storeError(err))
	}
	return nil
}

// ConsentFor returns the user's consent to the client, or
// store.ErrNotFound.
func (db *DB) ConsentFor(ctx context.Context, userID, clientID string) (store.Consent, error) {
	c, err := scanConsent(db.r.QueryRowContext(ctx, `SELECT user_id, client_id, scopes, granted_at FROM consents
		WHERE user_id = ? AND client_id = ?`, userID, clientID))
	if err != nil {
		return store.Consent{}, fmt.Errorf("sqlite: consent for: %w", storeError(err))
	}
	return c, nil
}

// ListConsents returns the user's consents, most recently granted first.
func (db *DB) ListConsents(ctx context.Context, userID string) ([]store.Consent, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT user_id, client_id, scopes, granted_at FROM consents
		WHERE user_id = ? ORDER BY granted_at DESC, client_id`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list consents: %w", storeError(err))
	}
	defer rows.Close()
	var cs []store.Consent
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: list consents: %w", storeError(err))
		}
		cs = append(cs, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list consents: %w", storeError(err))
	}
	return cs, nil
}

// RevokeConsent removes the user's consent to the client, or returns
// store.ErrNotFound.
func (db *DB) RevokeConsent(ctx context.Context, userID, clientID string) error {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM consents WHERE user_id = ? AND client_id = ?`, userID, clientID)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	switch {
	case err != nil:
		return fmt.Errorf("sqlite: revoke consent: %w", storeError(err))
	case n == 0:
		return fmt.Errorf("sqlite: revoke consent: %w", store.ErrNotFound)
	}
	return nil
}

func scanConsent(row scanner) (store.Consent, error) {
	var (
		c       store.Consent
		scopes  string
		granted sql.NullInt64
	)
	if err := row.Scan(&c.UserID, &c.ClientID, &scopes, &granted); err != nil {
		return store.Consent{}, err
	}
	var err error
	if c.Scopes, err = decodeList("scopes", scopes); err != nil {
		return store.Consent{}, err
	}
	c.GrantedAt = fromMillis(granted)
	return c, nil
}
