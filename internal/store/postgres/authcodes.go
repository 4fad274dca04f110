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

const authCodeColumns = `hash, client_id, user_id, browser_session_id, redirect_uri, scopes, nonce,
	code_challenge, auth_time, created_at, expires_at, redeemed_at, session_id, replayed_at`

// CreateAuthCode inserts c; store.ErrConflict if its hash exists,
// store.ErrNotFound if its client or user does not.
func (db *DB) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	_, err := db.pool.Exec(ctx, `INSERT INTO auth_codes (`+authCodeColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		blob(c.Hash), c.ClientID, c.UserID, c.BrowserSessionID, c.RedirectURI, list(c.Scopes), c.Nonce,
		c.CodeChallenge, ts(c.AuthTime), ts(c.CreatedAt), ts(c.ExpiresAt),
		ts(c.RedeemedAt), c.SessionID, ts(c.ReplayedAt))
	if err != nil {
		return fmt.Errorf("postgres: create auth code: %w", storeError(ctx, err))
	}
	return nil
}

// RedeemAuthCode marks the code redeemed at now and returns it; if it was
// redeemed before, it records the first replay and returns the code with
// store.ErrCodeReplayed. The code's row is locked for the transaction, so
// that of concurrent redemptions, on any node, exactly one redeems it.
func (db *DB) RedeemAuthCode(ctx context.Context, hash []byte, now time.Time) (store.AuthCode, error) {
	if now.IsZero() {
		return store.AuthCode{}, errors.New("postgres: redeem auth code: zero time")
	}
	var (
		c        store.AuthCode
		replayed bool
	)
	err := db.write(ctx, func(tx pgx.Tx) error {
		var err error
		replayed = false
		c, err = scanAuthCode(tx.QueryRow(ctx, `SELECT `+authCodeColumns+` FROM auth_codes WHERE hash = $1 FOR NO KEY UPDATE`, blob(hash)))
		if err != nil {
			return err
		}
		switch {
		case c.RedeemedAt.IsZero():
			c.RedeemedAt = stored(now)
			_, err = tx.Exec(ctx, `UPDATE auth_codes SET redeemed_at = $1 WHERE hash = $2`, now, c.Hash)
		case c.ReplayedAt.IsZero():
			replayed = true
			c.ReplayedAt = stored(now)
			_, err = tx.Exec(ctx, `UPDATE auth_codes SET replayed_at = $1 WHERE hash = $2`, now, c.Hash)
		default:
			replayed = true
		}
		return err
	})
	switch {
	case err != nil:
		return store.AuthCode{}, fmt.Errorf("postgres: redeem auth code: %w", storeError(ctx, err))
	case replayed:
		return c, fmt.Errorf("postgres: redeem auth code: %w", store.ErrCodeReplayed)
	}
	return c, nil
}

// BindAuthCode records sessionID as the session the redemption of the
// code started; store.ErrCodeReplayed, after recording it, if the code was
// replayed.
func (db *DB) BindAuthCode(ctx context.Context, hash []byte, sessionID string) error {
	if sessionID == "" {
		return errors.New("postgres: bind auth code: empty session ID")
	}
	var replayed bool
	err := db.write(ctx, func(tx pgx.Tx) error {
		var (
			redeemed, replay pgtype.Timestamptz
			bound            string
		)
		err := tx.QueryRow(ctx, `SELECT redeemed_at, replayed_at, session_id FROM auth_codes WHERE hash = $1 FOR NO KEY UPDATE`, blob(hash)).
			Scan(&redeemed, &replay, &bound)
		switch {
		case err != nil:
			return err
		case !redeemed.Valid:
			return fmt.Errorf("the code is not redeemed: %w", store.ErrConflict)
		case bound != "" && bound != sessionID:
			return fmt.Errorf("the code is bound to another session: %w", store.ErrConflict)
		}
		replayed = replay.Valid
		_, err = tx.Exec(ctx, `UPDATE auth_codes SET session_id = $1 WHERE hash = $2`, sessionID, blob(hash))
		return err
	})
	switch {
	case err != nil:
		return fmt.Errorf("postgres: bind auth code: %w", storeError(ctx, err))
	case replayed:
		return fmt.Errorf("postgres: bind auth code: %w", store.ErrCodeReplayed)
	}
	return nil
}

// PruneAuthCodes removes the codes that expired before cutoff.
func (db *DB) PruneAuthCodes(ctx context.Context, cutoff time.Time) (int, error) {
	tag, err := db.pool.Exec(ctx, `DELETE FROM auth_codes WHERE expires_at IS NULL OR expires_at < $1`, cutoff)
	if err != nil {
		return 0, fmt.Errorf("postgres: prune auth codes: %w", storeError(ctx, err))
	}
	return int(tag.RowsAffected()), nil
}

func scanAuthCode(row pgx.Row) (store.AuthCode, error) {
	var (
		c                                          store.AuthCode
		authTime, created, expires, redeem, replay pgtype.Timestamptz
	)
	err := row.Scan(&c.Hash, &c.ClientID, &c.UserID, &c.BrowserSessionID, &c.RedirectURI, &c.Scopes, &c.Nonce,
		&c.CodeChallenge, &authTime, &created, &expires, &redeem, &c.SessionID, &replay)
	if err != nil {
		return store.AuthCode{}, err
	}
	c.Scopes = nilIfEmpty(c.Scopes)
	c.AuthTime, c.CreatedAt, c.ExpiresAt = fromTS(authTime), fromTS(created), fromTS(expires)
	c.RedeemedAt, c.ReplayedAt = fromTS(redeem), fromTS(replay)
	return c, nil
}
