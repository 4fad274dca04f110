package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/latch-auth/latch/internal/keyring"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/postgres"
	"github.com/latch-auth/latch/internal/store/sqlite"
)

func migrateCommand() *command {
	return &command{name: "migrate", args: "[--database URL] | --from DIR --to URL", setup: migrate,
		summary: "create or upgrade a PostgreSQL schema; copy SQLite data into one",
		detail: "migrate brings the schema of the PostgreSQL database at --database\n" +
			"(LATCH_DATABASE_URL) up to this version of latch, creating it in an empty\n" +
			"database, and prints its version before and after. Running it again changes\n" +
			"nothing; nodes running at the time keep serving. latch serve refuses a\n" +
			"database whose schema is older or newer than its own. (An SQLite database\n" +
			"upgrades itself when opened.)\n\n" +
			"With --from and --to it moves a server from SQLite onto PostgreSQL: it\n" +
			"migrates the database at --to, then copies everything in the data directory\n" +
			"--from into it in one transaction: users, sessions, signing keys (still\n" +
			"encrypted), revocations with their sequence numbers, clients with their\n" +
			"feed cursors, authorization codes, consents and login throttles. It refuses a\n" +
			"database that holds any latch data, and checks the number of rows of every\n" +
			"table after the copy. Stop the server first: what it writes during the copy\n" +
			"is not copied. Tokens issued before the move stay valid after it, once the\n" +
			"nodes have the data directory's master key (master.key, or LATCH_MASTER_KEY).",
	}
}

func migrate(c *command, fs *flag.FlagSet) func(*env, []string) error {
	database := fs.String("database", "", "PostgreSQL `URL` of the database to migrate (env LATCH_DATABASE_URL)")
	from := fs.String("from", "", "copy the SQLite data of the data directory `DIR`")
	to := fs.String("to", "", "into the PostgreSQL database at `URL` (default: --database)")
	return func(e *env, args []string) error {
		if err := noArgs(c, args); err != nil {
			return err
		}
		if err := applyEnv(c, e, fs); err != nil {
			return err
		}
		target := *database
		if *from != "" && *to != "" {
			target = *to
		}
		switch {
		case *to != "" && *from == "":
			return usagef(c, "--to goes with --from: to migrate a database, give --database")
		case target == "" && *from != "":
			return usagef(c, "--to is required with --from")
		case target == "":
			return usagef(c, "--database (or LATCH_DATABASE_URL) is required; an SQLite database upgrades itself when opened")
		}
		if pg, err := isPostgresURL(target); err != nil || !pg {
			return usagef(c, "the database must be a postgres:// or postgresql:// URL")
		}
		ctx := e.context()
		before, after, err := postgres.Migrate(ctx, target)
		if err != nil {
			return err
		}
		if before == after {
			fmt.Fprintf(e.stdout, "schema version %d: up to date\n", after)
		} else {
			fmt.Fprintf(e.stdout, "migrated the schema from version %d to %d\n", before, after)
		}
		if *from == "" {
			return nil
		}
		return copySQLite(ctx, e, *from, target)
	}
}

// copySQLite copies the SQLite database of the data directory dir into
// the migrated PostgreSQL database at target, and checks the copy.
func copySQLite(ctx context.Context, e *env, dir, target string) error {
	if err := requireDataDir(dir); err != nil {
		return err
	}
	path := filepath.Join(dir, databaseFile)
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("no SQLite database in %s: %w", dir, err)
	}
	// Opening brings the schema up to this program's version (a server
	// would do the same), so that the tables are the ones readSQLite
	// knows; a newer schema is refused.
	src, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		return err
	}
	if err := src.Close(); err != nil {
		return err
	}
	snap, err := readSQLite(ctx, path)
	if err != nil {
		return fmt.Errorf("reading %s: %w", path, err)
	}
	dst, err := postgres.Open(ctx, target, postgres.Options{})
	if err != nil {
		return err
	}
	defer dst.Close()
	if err := dst.Import(ctx, snap.Snapshot); err != nil {
		if errors.Is(err, postgres.ErrNotEmpty) {
			return fmt.Errorf("%w: latch migrate copies only into a database with no latch data", err)
		}
		return err
	}
	counts, err := dst.Counts(ctx)
	if err != nil {
		return fmt.Errorf("checking the copy: %w", err)
	}
	var mismatch []string
	for _, table := range slices.Sorted(maps.Keys(snap.counts)) {
		if counts[table] != snap.counts[table] {
			mismatch = append(mismatch, fmt.Sprintf("%s: %d in SQLite, %d copied", table, snap.counts[table], counts[table]))
		}
	}
	if len(counts) != len(snap.counts) {
		mismatch = append(mismatch, fmt.Sprintf("%d tables counted in SQLite, %d in PostgreSQL", len(snap.counts), len(counts)))
	}
	if len(mismatch) > 0 {
		return fmt.Errorf("the copy does not match its source: %s", strings.Join(mismatch, "; "))
	}
	pruned, head, err := dst.RevocationBounds(ctx)
	if err != nil {
		return fmt.Errorf("checking the copy: %w", err)
	}
	if pruned != snap.FeedPruned || head != snap.FeedHead {
		return fmt.Errorf("the copy does not match its source: revocation feed pruned %d, head %d; want %d, %d", pruned, head, snap.FeedPruned, snap.FeedHead)
	}
	for _, table := range copyOrder {
		fmt.Fprintf(e.stdout, "copied %-13s %d\n", table, counts[table])
	}
	fmt.Fprintf(e.stdout, "revocation feed at seq %d (pruned up to %d)\n", head, pruned)
	fmt.Fprintf(e.stdout, "verified: every table has as many rows as in %s\n", path)
	if beats, err := sqliteBeats(ctx, path); err == nil && beats != snap.beats {
		warn(e.stderr, "%s changed during the copy (its heartbeat moved): a server still runs on it, and what it wrote since is not copied", path)
	}
	if e.env("LATCH_MASTER_KEY") == "" {
		fmt.Fprintf(e.stdout, "give every node the master key %s (as that file in its --data directory, or as LATCH_MASTER_KEY)\n",
			filepath.Join(dir, keyring.MasterKeyFile))
	}
	return nil
}

// copyOrder is the order copySQLite reports the tables in.
var copyOrder = []string{"users", "sessions", "signing_keys", "revocations", "clients", "auth_codes", "consents", "throttles"}

// sqliteSchemaVersion is the SQLite schema version whose tables
// readSQLite reads. A new SQLite migration must teach readSQLite its
// columns (TestReadSQLiteKnowsEveryColumn fails until it does).
const sqliteSchemaVersion = 11

// sqliteSnapshot is what readSQLite reads, in one read transaction.
type sqliteSnapshot struct {
	postgres.Snapshot
	// counts are the rows of each table, by COUNT(*).
	counts map[string]int64
	// beats is the heartbeat counter, which a running server moves.
	beats int64
}

// openSQLiteReader opens the database file at path for reading only.
func openSQLiteReader(path string) (*sql.DB, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(abs), RawQuery: url.Values{
		"_busy_timeout": {"5000"},
		"_query_only":   {"on"},
	}.Encode()}
	db, err := sql.Open("sqlite", u.String())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	return db, nil
}

// sqliteBeats returns the heartbeat counter of the database at path.
func sqliteBeats(ctx context.Context, path string) (int64, error) {
	db, err := openSQLiteReader(path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int64
	err = db.QueryRowContext(ctx, `SELECT beats FROM heartbeat WHERE id = 1`).Scan(&n)
	return n, err
}

// readSQLite reads every record of the latch SQLite database at path, at
// sqliteSchemaVersion, in one transaction: a consistent snapshot, even
// while a server writes (WAL readers see the database as of their first
// read).
func readSQLite(ctx context.Context, path string) (sqliteSnapshot, error) {
	db, err := openSQLiteReader(path)
	if err != nil {
		return sqliteSnapshot{}, err
	}
	defer db.Close()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return sqliteSnapshot{}, err
	}
	defer tx.Rollback()
	var version int
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&version); err != nil {
		return sqliteSnapshot{}, err
	}
	if version != sqliteSchemaVersion {
		return sqliteSnapshot{}, fmt.Errorf("schema version %d, this program copies version %d", version, sqliteSchemaVersion)
	}
	r := sqliteReader{ctx: ctx, tx: tx}
	s := sqliteSnapshot{counts: map[string]int64{}}
	r.each(`SELECT id, email, password_hash, roles, claims, disabled, tokens_revoked_at, created_at, updated_at FROM users ORDER BY created_at, id`,
		func(rows *sql.Rows) error {
			var u store.User
			var roles, claims string
			var revoked, created, updated sql.NullInt64
			if err := rows.Scan(&u.ID, &u.Email, &u.PasswordHash, &roles, &claims, &u.Disabled, &revoked, &created, &updated); err != nil {
				return err
			}
			u.TokensRevokedAt, u.CreatedAt, u.UpdatedAt = fromMillis(revoked), fromMillis(created), fromMillis(updated)
			u.Roles = r.list(roles)
			if err := json.Unmarshal([]byte(claims), &u.Claims); err != nil {
				return fmt.Errorf("user %s: claims: %w", u.ID, err)
			}
			if len(u.Claims) == 0 {
				u.Claims = nil
			}
			s.Users = append(s.Users, u)
			return nil
		})
	r.each(`SELECT id, name, secret_hash, type, auth_method, redirect_uris, post_logout_redirect_uris, grant_types, scopes,
		first_party, set_cursor, created_at, updated_at, require_dpop, encryption_key FROM clients ORDER BY created_at, id`,
		func(rows *sql.Rows) error {
			var c store.Client
			var redirects, logouts, grants, scopes string
			var created, updated sql.NullInt64
			if err := rows.Scan(&c.ID, &c.Name, &c.SecretHash, &c.Type, &c.AuthMethod, &redirects, &logouts, &grants, &scopes,
				&c.FirstParty, &c.SETCursor, &created, &updated, &c.RequireDPoP, &c.EncryptionKey); err != nil {
				return err
			}
			c.RedirectURIs, c.PostLogoutRedirectURIs, c.GrantTypes, c.Scopes = r.list(redirects), r.list(logouts), r.list(grants), r.list(scopes)
			c.CreatedAt, c.UpdatedAt = fromMillis(created), fromMillis(updated)
			s.Clients = append(s.Clients, c)
			return nil
		})
	r.each(`SELECT id, user_id, token_hash, prev_hash, generation, rotated_at, reissues, created_at, last_used_at, expires_at,
		user_agent, ip, parent_id, revoked_at, revoke_reason, client_id, scopes, auth_time, dpop_jkt FROM sessions ORDER BY created_at, id`,
		func(rows *sql.Rows) error {
			var x store.Session
			var rotated, created, used, expires, revoked, authTime sql.NullInt64
			var reason, scopes string
			if err := rows.Scan(&x.ID, &x.UserID, &x.TokenHash, &x.PrevHash, &x.Generation, &rotated, &x.Reissues, &created, &used, &expires,
				&x.UserAgent, &x.IP, &x.ParentID, &revoked, &reason, &x.ClientID, &scopes, &authTime, &x.DPoPJKT); err != nil {
				return err
			}
			x.RotatedAt, x.CreatedAt, x.LastUsedAt, x.ExpiresAt = fromMillis(rotated), fromMillis(created), fromMillis(used), fromMillis(expires)
			x.RevokedAt, x.AuthTime, x.RevokeReason, x.Scopes = fromMillis(revoked), fromMillis(authTime), store.Reason(reason), r.list(scopes)
			s.Sessions = append(s.Sessions, x)
			return nil
		})
	r.each(`SELECT id, algorithm, sealed, public, created_at, activate_at, retire_at, remove_at, revoked_at FROM signing_keys ORDER BY activate_at, id`,
		func(rows *sql.Rows) error {
			var k store.SigningKey
			var created, activate, retire, remove, revoked sql.NullInt64
			if err := rows.Scan(&k.ID, &k.Algorithm, &k.Sealed, &k.Public, &created, &activate, &retire, &remove, &revoked); err != nil {
				return err
			}
			k.CreatedAt, k.ActivateAt, k.RetireAt, k.RemoveAt, k.RevokedAt = fromMillis(created), fromMillis(activate), fromMillis(retire), fromMillis(remove), fromMillis(revoked)
			s.Keys = append(s.Keys, k)
			return nil
		})
	r.each(`SELECT seq, kind, subject, user_id, reason, at, expires FROM revocations ORDER BY seq`,
		func(rows *sql.Rows) error {
			var v store.Revocation
			var kind, reason string
			var at, expires sql.NullInt64
			if err := rows.Scan(&v.Seq, &kind, &v.Subject, &v.UserID, &reason, &at, &expires); err != nil {
				return err
			}
			v.Kind, v.Reason, v.At, v.Expires = store.Kind(kind), store.Reason(reason), fromMillis(at), fromMillis(expires)
			s.Revocations = append(s.Revocations, v)
			return nil
		})
	r.each(`SELECT key, failures, last_failure, locked_until FROM throttles ORDER BY key`,
		func(rows *sql.Rows) error {
			var t store.Throttle
			var last, locked sql.NullInt64
			if err := rows.Scan(&t.Key, &t.Failures, &last, &locked); err != nil {
				return err
			}
			t.LastFailure, t.LockedUntil = fromMillis(last), fromMillis(locked)
			s.Throttles = append(s.Throttles, t)
			return nil
		})
	r.each(`SELECT hash, client_id, user_id, browser_session_id, redirect_uri, scopes, nonce, code_challenge,
		auth_time, created_at, expires_at, redeemed_at, session_id, replayed_at FROM auth_codes ORDER BY created_at, hash`,
		func(rows *sql.Rows) error {
			var c store.AuthCode
			var scopes string
			var authTime, created, expires, redeemed, replayed sql.NullInt64
			if err := rows.Scan(&c.Hash, &c.ClientID, &c.UserID, &c.BrowserSessionID, &c.RedirectURI, &scopes, &c.Nonce, &c.CodeChallenge,
				&authTime, &created, &expires, &redeemed, &c.SessionID, &replayed); err != nil {
				return err
			}
			c.Scopes = r.list(scopes)
			c.AuthTime, c.CreatedAt, c.ExpiresAt, c.RedeemedAt, c.ReplayedAt = fromMillis(authTime), fromMillis(created), fromMillis(expires), fromMillis(redeemed), fromMillis(replayed)
			s.AuthCodes = append(s.AuthCodes, c)
			return nil
		})
	r.each(`SELECT user_id, client_id, scopes, granted_at FROM consents ORDER BY user_id, client_id`,
		func(rows *sql.Rows) error {
			var c store.Consent
			var scopes string
			var granted sql.NullInt64
			if err := rows.Scan(&c.UserID, &c.ClientID, &scopes, &granted); err != nil {
				return err
			}
			c.Scopes, c.GrantedAt = r.list(scopes), fromMillis(granted)
			s.Consents = append(s.Consents, c)
			return nil
		})
	if r.err != nil {
		return sqliteSnapshot{}, r.err
	}
	// The feed's bounds as the SQLite backend keeps them: the pruned
	// watermark, and the AUTOINCREMENT counter, which is the highest seq
	// ever assigned.
	err = tx.QueryRowContext(ctx, `SELECT (SELECT seq FROM revocations_pruned),
		coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'revocations'), 0),
		(SELECT beats FROM heartbeat WHERE id = 1)`).Scan(&s.FeedPruned, &s.FeedHead, &s.beats)
	if err != nil {
		return sqliteSnapshot{}, err
	}
	for _, table := range copyOrder {
		var n int64
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM `+table).Scan(&n); err != nil {
			return sqliteSnapshot{}, err
		}
		s.counts[table] = n
	}
	return s, nil
}

// sqliteReader reads tables in one transaction, keeping the first error.
type sqliteReader struct {
	ctx context.Context
	tx  *sql.Tx
	err error
}

// each runs query and f on each row, unless an error came before.
func (r *sqliteReader) each(query string, f func(*sql.Rows) error) {
	if r.err != nil {
		return
	}
	rows, err := r.tx.QueryContext(r.ctx, query)
	if err != nil {
		r.err = err
		return
	}
	defer rows.Close()
	for rows.Next() && r.err == nil {
		if err := f(rows); err != nil {
			r.err = err
		}
	}
	if err := rows.Err(); err != nil && r.err == nil {
		r.err = err
	}
}

// list decodes a list column, a JSON array of strings; empty is nil.
func (r *sqliteReader) list(stored string) []string {
	var v []string
	if err := json.Unmarshal([]byte(stored), &v); err != nil && r.err == nil {
		r.err = fmt.Errorf("a list column: %w", err)
	}
	if len(v) == 0 {
		return nil
	}
	return v
}

// fromMillis is a time column, unix milliseconds; NULL is the zero time.
func fromMillis(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.UnixMilli(n.Int64).UTC()
}
