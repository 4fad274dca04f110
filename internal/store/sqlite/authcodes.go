package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/latch-auth/latch/internal/store"
)

const authCodeColumns = `hash, client_id, user_id, browser_session_id, redirect_uri, scopes, nonce,
	code_challenge, auth_time, created_at, expires_at, redeemed_at, session_id, replayed_at`

// CreateAuthCode inserts c; store.ErrConflict if its hash exists,
// store.ErrNotFound if its client or user does not.
func (db *DB) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	scopes, err := encodeList("scopes", c.Scopes)
	if err != nil {
		return fmt.Errorf("sqlite: create auth code: %w", err)
	}
	err = db.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO auth_codes (`+authCodeColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			blob(c.Hash), c.ClientID, c.UserID, c.BrowserSessionID, c.RedirectURI, scopes, c.Nonce,
			c.CodeChallenge, millis(c.AuthTime), millis(c.CreatedAt), millis(c.ExpiresAt),
			millis(c.RedeemedAt), c.SessionID, millis(c.ReplayedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("sqlite: create auth code: %w", storeError(err))
	}
	return nil
}

// RedeemAuthCode marks the code redeemed at now and returns it; if it was
// redeemed before, it records the first replay and returns the code with
// store.ErrCodeReplayed. The single writer connection serializes
// concurrent redemptions, so exactly one of them redeems the code.
func (db *DB) RedeemAuthCode(ctx context.Context, hash []byte, now time.Time) (store.AuthCode, error) {
	if now.IsZero() {
		return store.AuthCode{}, errors.New("sqlite: redeem auth code: zero time")
	}
	var (
		c        store.AuthCode
		replayed bool
	)
	err := db.write(ctx, func(tx *sql.Tx) error {
		var err error
		c, err = scanAuthCode(tx.QueryRowContext(ctx, `SELECT `+authCodeColumns+` FROM auth_codes WHERE hash = ?`, blob(hash)))
		if err != nil {
			return err
		}
		switch {
		case c.RedeemedAt.IsZero():
			c.RedeemedAt = stored(now)
			_, err = tx.ExecContext(ctx, `UPDATE auth_codes SET redeemed_at = ? WHERE hash = ?`, millis(now), c.Hash)
		case c.ReplayedAt.IsZero():
			replayed = true
			c.ReplayedAt = stored(now)
			_, err = tx.ExecContext(ctx, `UPDATE auth_codes SET replayed_at = ? WHERE hash = ?`, millis(now), c.Hash)
		default:
			replayed = true
		}
		return err
	})
	switch {
	case err != nil:
		return store.AuthCode{}, fmt.Errorf("sqlite: redeem auth code: %w", storeError(err))
	case replayed:
		return c, fmt.Errorf("sqlite: redeem auth code: %w", store.ErrCodeReplayed)
	}
	return c, nil
}

// BindAuthCode records sessionID as the session the redemption of the
// code started; store.ErrCodeReplayed, after recording it, if the code was
// replayed.
func (db *DB) BindAuthCode(ctx context.Context, hash []byte, sessionID string) error {
	if sessionID == "" {
		return errors.New("sqlite: bind auth code: empty session ID")
	}
	var replayed bool
	err := db.write(ctx, func(tx *sql.Tx) error {
		var (
			redeemed, replay sql.NullInt64
			bound            string
		)
		err := tx.QueryRowContext(ctx, `SELECT redeemed_at, replayed_at, session_id FROM auth_codes WHERE hash = ?`, blob(hash)).
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
		_, err = tx.ExecContext(ctx, `UPDATE auth_codes SET session_id = ? WHERE hash = ?`, sessionID, blob(hash))
		return err
	})
	switch {
	case err != nil:
		return fmt.Errorf("sqlite: bind auth code: %w", storeError(err))
	case replayed:
		return fmt.Errorf("sqlite: bind auth code: %w", store.ErrCodeReplayed)
	}
	return nil
}

// PruneAuthCodes removes the codes that expired before cutoff.
func (db *DB) PruneAuthCodes(ctx context.Context, cutoff time.Time) (int, error) {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM auth_codes WHERE expires_at IS NULL OR expires_at < ?`, cutoff.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune auth codes: %w", storeError(err))
	}
	return int(n), nil
}

func scanAuthCode(row scanner) (store.AuthCode, error) {
	var (
		c                                  store.AuthCode
		scopes                             string
		authTime, created, expires, redeem sql.NullInt64
		replay                             sql.NullInt64
	)
	err := row.Scan(&c.Hash, &c.ClientID, &c.UserID, &c.BrowserSessionID, &c.RedirectURI, &scopes, &c.Nonce,
		&c.CodeChallenge, &authTime, &created, &expires, &redeem, &c.SessionID, &replay)
	if err != nil {
		return store.AuthCode{}, err
	}
	if c.Scopes, err = decodeList("scopes", scopes); err != nil {
		return store.AuthCode{}, err
	}
	c.AuthTime, c.CreatedAt, c.ExpiresAt = fromMillis(authTime), fromMillis(created), fromMillis(expires)
	c.RedeemedAt, c.ReplayedAt = fromMillis(redeem), fromMillis(replay)
	return c, nil
}
