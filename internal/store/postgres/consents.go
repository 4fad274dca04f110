package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/latch-auth/latch/internal/store"
)

// GrantConsent stores the union of the consent's stored scopes and
// c.Scopes, sorted bytewise without duplicates, granted at c.GrantedAt;
// store.ErrNotFound if the user or the client does not exist. One
// statement inserts or merges, so that concurrent grants lose no scope.
func (db *DB) GrantConsent(ctx context.Context, c store.Consent) error {
	scopes := slices.Compact(slices.Sorted(slices.Values(c.Scopes)))
	_, err := db.pool.Exec(ctx, `INSERT INTO consents (user_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id, client_id) DO UPDATE SET granted_at = excluded.granted_at,
			scopes = ARRAY(SELECT DISTINCT u.s COLLATE "C" FROM unnest(consents.scopes || excluded.scopes) AS u (s) ORDER BY 1)`,
		c.UserID, c.ClientID, list(scopes), ts(c.GrantedAt))
	if err != nil {
		return fmt.Errorf("postgres: grant consent: %w", storeError(ctx, err))
	}
	return nil
}

// ConsentFor returns the user's consent to the client, or
// store.ErrNotFound.
func (db *DB) ConsentFor(ctx context.Context, userID, clientID string) (store.Consent, error) {
	c, err := scanConsent(db.pool.QueryRow(ctx, `SELECT user_id, client_id, scopes, granted_at FROM consents
		WHERE user_id = $1 AND client_id = $2`, userID, clientID))
	if err != nil {
		return store.Consent{}, fmt.Errorf("postgres: consent for: %w", storeError(ctx, err))
	}
	return c, nil
}

// ListConsents returns the user's consents, most recently granted first.
func (db *DB) ListConsents(ctx context.Context, userID string) ([]store.Consent, error) {
	cs, err := queryAll(ctx, db, `SELECT user_id, client_id, scopes, granted_at FROM consents
		WHERE user_id = $1 ORDER BY granted_at DESC NULLS LAST, client_id`, scanConsent, userID)
	if err != nil {
		return nil, fmt.Errorf("postgres: list consents: %w", storeError(ctx, err))
	}
	return cs, nil
}

// RevokeConsent removes the user's consent to the client, or returns
// store.ErrNotFound.
func (db *DB) RevokeConsent(ctx context.Context, userID, clientID string) error {
	tag, err := db.pool.Exec(ctx, `DELETE FROM consents WHERE user_id = $1 AND client_id = $2`, userID, clientID)
	switch {
	case err != nil:
		return fmt.Errorf("postgres: revoke consent: %w", storeError(ctx, err))
	case tag.RowsAffected() == 0:
		return fmt.Errorf("postgres: revoke consent: %w", store.ErrNotFound)
	}
	return nil
}

func scanConsent(row pgx.Row) (store.Consent, error) {
	var (
		c       store.Consent
		granted pgtype.Timestamptz
	)
	if err := row.Scan(&c.UserID, &c.ClientID, &c.Scopes, &granted); err != nil {
		return store.Consent{}, err
	}
	c.Scopes = nilIfEmpty(c.Scopes)
	c.GrantedAt = fromTS(granted)
	return c, nil
}
