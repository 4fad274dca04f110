package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/latch-auth/latch/internal/store"
)

// Snapshot is the whole content of a latch store, every record as the
// store.Store methods return it, for Import: moving a server's data from
// SQLite onto PostgreSQL.
type Snapshot struct {
	Users    []store.User
	Clients  []store.Client
	Sessions []store.Session
	// Keys are copied as they are: their private halves stay sealed
	// under the master key, which the nodes of the new database need.
	Keys []store.SigningKey
	// Revocations keep their Seq, so that the cursors of the services
	// following the feed stay valid.
	Revocations []store.Revocation
	// FeedPruned and FeedHead are the feed's bounds, as RevocationBounds
	// returns them: the highest Seq ever pruned and ever assigned. The
	// next revocation recorded is given Seq FeedHead plus one.
	FeedPruned, FeedHead int64
	Throttles            []store.Throttle
	AuthCodes            []store.AuthCode
	Consents             []store.Consent
}

// ErrNotEmpty reports an Import into a database that holds latch data
// already.
var ErrNotEmpty = errors.New("postgres: import: the database is not empty")

// tables are the tables of the store's records, as Counts names them.
var tables = []string{"users", "clients", "sessions", "signing_keys", "revocations", "throttles", "auth_codes", "consents"}

// Import writes s into the database in one transaction: all of it, or
// nothing. The database must be migrated and empty: it refuses one with
// any record in a table that Counts counts, or whose feed has assigned a
// Seq, with ErrNotEmpty. For the transaction it locks the tables against writes
// (EXCLUSIVE mode: reads go on), so that no node writes between the check
// and the copy. Records are written as given, with no check of the store
// contract's rules beyond the schema's constraints; a revocation's Seq
// must be between 1 and s.FeedHead, and s.FeedPruned not above it.
func (db *DB) Import(ctx context.Context, s Snapshot) error {
	if s.FeedPruned < 0 || s.FeedHead < s.FeedPruned {
		return fmt.Errorf("postgres: import: feed bounds pruned %d, head %d", s.FeedPruned, s.FeedHead)
	}
	for _, r := range s.Revocations {
		if r.Seq < 1 || r.Seq > s.FeedHead {
			return fmt.Errorf("postgres: import: revocation seq %d outside 1..%d (the feed's head)", r.Seq, s.FeedHead)
		}
	}
	err := db.write(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE `+strings.Join(tables, ", ")+`, revocation_feed IN EXCLUSIVE MODE`); err != nil {
			return err
		}
		if err := checkEmpty(ctx, tx); err != nil {
			return err
		}
		for _, c := range importCopies(s) {
			n, err := tx.CopyFrom(ctx, pgx.Identifier{c.table}, c.columns, pgx.CopyFromSlice(c.n, c.row))
			if err != nil {
				return fmt.Errorf("%s: %w", c.table, err)
			}
			if n != int64(c.n) {
				return fmt.Errorf("%s: copied %d rows of %d", c.table, n, c.n)
			}
		}
		_, err := tx.Exec(ctx, `UPDATE revocation_feed SET head = $1, pruned = $2 WHERE id = 1`, s.FeedHead, s.FeedPruned)
		return err
	})
	if errors.Is(err, ErrNotEmpty) {
		return err
	}
	if err != nil {
		return fmt.Errorf("postgres: import: %w", storeError(ctx, err))
	}
	return nil
}

// checkEmpty returns ErrNotEmpty unless every table of records is empty
// and the feed has never assigned a Seq.
func checkEmpty(ctx context.Context, tx pgx.Tx) error {
	for _, table := range tables {
		var found bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+pgx.Identifier{table}.Sanitize()+`)`).Scan(&found); err != nil {
			return err
		}
		if found {
			return fmt.Errorf("%w: table %s has rows", ErrNotEmpty, table)
		}
	}
	var head int64
	if err := tx.QueryRow(ctx, `SELECT head FROM revocation_feed WHERE id = 1`).Scan(&head); err != nil {
		return err
	}
	if head != 0 {
		return fmt.Errorf("%w: the revocation feed has assigned seq %d", ErrNotEmpty, head)
	}
	return nil
}

// importCopy is the COPY of one table: n rows, row giving the values of
// the i-th.
type importCopy struct {
	table   string
	columns []string
	n       int
	row     func(i int) ([]any, error)
}

// importCopies are the copies of s's records, in an order that the
// foreign keys allow: users and clients before what refers to them.
func importCopies(s Snapshot) []importCopy {
	return []importCopy{
		{"users", []string{"id", "email", "password_hash", "roles", "claims", "disabled", "tokens_revoked_at", "created_at", "updated_at"},
			len(s.Users), func(i int) ([]any, error) {
				u := s.Users[i]
				claims, err := encodeClaims(u.Claims)
				if err != nil {
					return nil, err
				}
				return []any{u.ID, u.Email, u.PasswordHash, list(u.Roles), claims, u.Disabled, ts(u.TokensRevokedAt), ts(u.CreatedAt), ts(u.UpdatedAt)}, nil
			}},
		{"clients", []string{"id", "name", "secret_hash", "type", "auth_method", "redirect_uris", "post_logout_redirect_uris",
			"grant_types", "scopes", "first_party", "set_cursor", "created_at", "updated_at", "require_dpop", "encryption_key"},
			len(s.Clients), func(i int) ([]any, error) {
				c := s.Clients[i]
				return []any{c.ID, c.Name, blob(c.SecretHash), c.Type, c.AuthMethod, list(c.RedirectURIs), list(c.PostLogoutRedirectURIs),
					list(c.GrantTypes), list(c.Scopes), c.FirstParty, c.SETCursor, ts(c.CreatedAt), ts(c.UpdatedAt), c.RequireDPoP, c.EncryptionKey}, nil
			}},
		{"sessions", []string{"id", "user_id", "token_hash", "prev_hash", "generation", "rotated_at", "reissues", "created_at",
			"last_used_at", "expires_at", "user_agent", "ip", "parent_id", "revoked_at", "revoke_reason", "client_id", "scopes", "auth_time", "dpop_jkt"},
			len(s.Sessions), func(i int) ([]any, error) {
				x := s.Sessions[i]
				return []any{x.ID, x.UserID, blob(x.TokenHash), nullBlob(x.PrevHash), x.Generation, ts(x.RotatedAt), int32(x.Reissues), ts(x.CreatedAt),
					ts(x.LastUsedAt), ts(x.ExpiresAt), x.UserAgent, x.IP, x.ParentID, ts(x.RevokedAt), string(x.RevokeReason), x.ClientID, list(x.Scopes), ts(x.AuthTime),
					x.DPoPJKT}, nil
			}},
		{"signing_keys", []string{"id", "algorithm", "sealed", "public", "created_at", "activate_at", "retire_at", "remove_at", "revoked_at"},
			len(s.Keys), func(i int) ([]any, error) {
				k := s.Keys[i]
				return []any{k.ID, k.Algorithm, blob(k.Sealed), blob(k.Public), ts(k.CreatedAt), ts(k.ActivateAt), ts(k.RetireAt), ts(k.RemoveAt), ts(k.RevokedAt)}, nil
			}},
		{"revocations", []string{"seq", "kind", "subject", "user_id", "reason", "at", "expires"},
			len(s.Revocations), func(i int) ([]any, error) {
				r := s.Revocations[i]
				return []any{r.Seq, string(r.Kind), r.Subject, r.UserID, string(r.Reason), ts(r.At), ts(r.Expires)}, nil
			}},
		{"throttles", []string{"key", "failures", "last_failure", "locked_until"},
			len(s.Throttles), func(i int) ([]any, error) {
				t := s.Throttles[i]
				return []any{t.Key, int32(t.Failures), ts(t.LastFailure), ts(t.LockedUntil)}, nil
			}},
		{"auth_codes", []string{"hash", "client_id", "user_id", "browser_session_id", "redirect_uri", "scopes", "nonce", "code_challenge",
			"auth_time", "created_at", "expires_at", "redeemed_at", "session_id", "replayed_at"},
			len(s.AuthCodes), func(i int) ([]any, error) {
				c := s.AuthCodes[i]
				return []any{blob(c.Hash), c.ClientID, c.UserID, c.BrowserSessionID, c.RedirectURI, list(c.Scopes), c.Nonce, c.CodeChallenge,
					ts(c.AuthTime), ts(c.CreatedAt), ts(c.ExpiresAt), ts(c.RedeemedAt), c.SessionID, ts(c.ReplayedAt)}, nil
			}},
		{"consents", []string{"user_id", "client_id", "scopes", "granted_at"},
			len(s.Consents), func(i int) ([]any, error) {
				c := s.Consents[i]
				return []any{c.UserID, c.ClientID, list(c.Scopes), ts(c.GrantedAt)}, nil
			}},
	}
}

// Counts returns how many rows each table of records has (users,
// clients, sessions, signing_keys, revocations, throttles, auth_codes,
// consents), read in one transaction, for checking a copy.
func (db *DB) Counts(ctx context.Context) (map[string]int64, error) {
	counts := make(map[string]int64, len(tables))
	err := pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		for _, table := range tables {
			var n int64
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+pgx.Identifier{table}.Sanitize()).Scan(&n); err != nil {
				return err
			}
			counts[table] = n
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("postgres: counts: %w", storeError(ctx, err))
	}
	return counts, nil
}
