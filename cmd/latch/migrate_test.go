package main

import (
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/keyring"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/postgres"
	"github.com/latch-auth/latch/internal/store/sqlite"
	"github.com/latch-auth/latch/revocation"
	"github.com/latch-auth/latch/verifier"
)

// TestMigrateCommand migrates a new schema, runs again to find it up to
// date, and checks the usage errors.
func TestMigrateCommand(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	db := map[string]string{"LATCH_DATABASE_URL": dsn}
	r := latchEnv(t, nil, "migrate", "--database", dsn)
	m := regexp.MustCompile(`^migrated the schema from version 0 to ([1-9][0-9]*)\n$`).FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil {
		t.Fatalf("latch migrate on an empty schema = exit %d, %q, %q; want 0 and the versions", r.code, r.stdout, r.stderr)
	}
	if r := latchEnv(t, db, "migrate"); r.code != 0 || r.stdout != "schema version "+m[1]+": up to date\n" {
		t.Errorf("latch migrate again (LATCH_DATABASE_URL) = exit %d, %q, %q; want 0, schema version %s: up to date", r.code, r.stdout, r.stderr, m[1])
	}

	usage := []struct {
		name string
		vars map[string]string
		args []string
		want string
	}{
		{"no database", nil, []string{"migrate"}, "--database (or LATCH_DATABASE_URL) is required"},
		{"to without from", db, []string{"migrate", "--to", dsn}, "--to goes with --from"},
		{"from without to", nil, []string{"migrate", "--from", t.TempDir()}, "--to is required with --from"},
		{"not postgres", nil, []string{"migrate", "--database", "sqlite:///tmp/x.db"}, "must be a postgres:// or postgresql:// URL"},
	}
	for _, tt := range usage {
		if r := latchEnv(t, tt.vars, tt.args...); r.code != exitUsage || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%s: latch %s = exit %d, stderr %q; want exit 2 and %q", tt.name, strings.Join(tt.args, " "), r.code, r.stderr, tt.want)
		}
	}
}

// TestServeRefusesOtherSchema checks that serve and the administration
// commands refuse a database that was not migrated, or was migrated by a
// newer latch, with a message that says what to do.
func TestServeRefusesOtherSchema(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	env := []string{"LATCH_DATABASE_URL=" + dsn, "LATCH_MASTER_KEY=" + newMasterKey()}
	for _, args := range [][]string{{"serve", "--addr", "127.0.0.1:0"}, {"user", "list"}} {
		r := cli(t, "", env, args...)
		if r.code != exitRejected || !strings.Contains(r.stderr, `run "latch migrate" with the same --database`) {
			t.Errorf("latch %s on an unmigrated schema = exit %d, stderr %q; want 1 and the way to migrate", args[0], r.code, r.stderr)
		}
	}
	if r := cli(t, "", env, "migrate"); r.code != 0 {
		t.Fatalf("latch migrate: exit %d: %s", r.code, r.stderr)
	}
	pgExec(t, dsn, `INSERT INTO schema_migrations (version, name) VALUES (99, '0099_future.sql')`)
	r := cli(t, "", env, "serve", "--addr", "127.0.0.1:0")
	if r.code != exitRejected || !strings.Contains(r.stderr, "newer") {
		t.Errorf("latch serve on a newer schema = exit %d, stderr %q; want 1, newer", r.code, r.stderr)
	}
	if r := cli(t, "", env, "migrate"); r.code != exitRejected || !strings.Contains(r.stderr, "newer") {
		t.Errorf("latch migrate on a newer schema = exit %d, stderr %q; want 1, newer", r.code, r.stderr)
	}
}

// TestPostgresMasterKey checks where the nodes of a PostgreSQL database
// take the master key from, and that a node without the others' key is
// refused before it can serve.
func TestPostgresMasterKey(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	db := "LATCH_DATABASE_URL=" + dsn
	if r := cli(t, "", []string{db}, "migrate"); r.code != 0 {
		t.Fatalf("latch migrate: exit %d: %s", r.code, r.stderr)
	}
	// Without a master key, an administration command creates none.
	empty := t.TempDir()
	if r := cli(t, "", []string{db}, "user", "list", "--data", empty); r.code != exitRejected || !strings.Contains(r.stderr, "no master key: set LATCH_MASTER_KEY") {
		t.Errorf("latch user list without a master key = exit %d, stderr %q; want 1, no master key", r.code, r.stderr)
	}
	missing := filepath.Join(empty, "missing")
	if r := cli(t, "", []string{db}, "user", "list", "--data", missing); r.code != exitRejected || !strings.Contains(r.stderr, "does not exist") ||
		!strings.Contains(r.stderr, "LATCH_MASTER_KEY") {
		t.Errorf("latch user list --data missing = exit %d, stderr %q; want 1, does not exist, LATCH_MASTER_KEY", r.code, r.stderr)
	}
	// The first node, on the empty database, creates one.
	first := t.TempDir()
	d := startDaemon(t, first, []string{db}, "--addr", "127.0.0.1:0")
	if l, ok := d.findLog("created master key: back it up, and give every other node this same key (LATCH_MASTER_KEY or this file): the signing keys cannot be decrypted without it"); !ok || l.str("path") != filepath.Join(first, keyring.MasterKeyFile) {
		t.Errorf("the first node did not log the master key it created; stderr:\n%s", d.stderr())
	}
	d.stopGracefully()
	if _, err := os.Stat(filepath.Join(empty, keyring.MasterKeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("latch user list created a master key (stat: %v), want none", err)
	}

	// A second node with no master key, or another one, is refused.
	second := t.TempDir()
	r := cli(t, "", []string{db, "LATCH_DRAIN_PERIOD=0s"}, "serve", "--data", second, "--addr", "127.0.0.1:0")
	if r.code != exitRejected || !strings.Contains(r.stderr, "the database has signing keys but this node has no master key") {
		t.Errorf("latch serve without the master key = exit %d, stderr %q; want 1, no master key", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(second, keyring.MasterKeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the refused node created a master key (stat: %v), want none", err)
	}
	r = cli(t, "", []string{db, "LATCH_MASTER_KEY=" + newMasterKey()}, "serve", "--data", second, "--addr", "127.0.0.1:0")
	if r.code != exitRejected || !strings.Contains(r.stderr, "every node of a PostgreSQL database must use the same master key") {
		t.Errorf("latch serve with another master key = exit %d, stderr %q; want 1, the same master key", r.code, r.stderr)
	}

	// The first node's key, as a file or in the environment, works.
	key, err := os.ReadFile(filepath.Join(first, keyring.MasterKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if r := cli(t, alicePassword+"\n", []string{db}, "user", "add", "--data", first, "--email", "alice@example.com", "--password-stdin"); r.code != 0 {
		t.Errorf("latch user add with the data directory's master key: exit %d: %s", r.code, r.stderr)
	}
	a := startDaemon(t, first, []string{db}, "--addr", "127.0.0.1:0", "--issuer", clusterIssuer)
	b := startDaemon(t, filepath.Join(t.TempDir(), "absent"), []string{db, "LATCH_MASTER_KEY=" + strings.TrimSpace(string(key))},
		"--addr", "127.0.0.1:0", "--issuer", clusterIssuer)
	tk := a.login("alice@example.com", alicePassword)
	b.refresh(tk.RefreshToken)
}

// TestMoveToPostgres moves a server's data from SQLite onto PostgreSQL:
// the sessions, access tokens, revocations and feed clients of the
// SQLite server work on the PostgreSQL server that takes its place.
func TestMoveToPostgres(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	data := t.TempDir()
	addUser(t, data, "alice@example.com", alicePassword)
	feedID, feedSecret := addClient(t, data, "orders", "revocations:read")

	old := startDaemon(t, data, nil, "--addr", "127.0.0.1:0", "--issuer", clusterIssuer)
	kept, ended := old.login("alice@example.com", alicePassword), old.login("alice@example.com", alicePassword)
	old.mustCall(http.StatusOK, "POST", "/v1/logout", "", ended.AccessToken)
	jwks := old.mustCall(http.StatusOK, "GET", "/.well-known/jwks.json", "", "")
	old.stopGracefully()

	r := cli(t, "", nil, "migrate", "--from", data, "--to", dsn)
	if r.code != 0 {
		t.Fatalf("latch migrate --from --to: exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{`(?m)^migrated the schema from version 0 to [1-9][0-9]*$`, `(?m)^copied users +1$`, `(?m)^copied sessions +2$`,
		`(?m)^copied signing_keys +2$`, `(?m)^copied revocations +1$`, `(?m)^copied clients +1$`, `(?m)^revocation feed at seq 1 \(pruned up to 0\)$`,
		`(?m)^verified: every table has as many rows as in `, `give every node the master key ` + regexp.QuoteMeta(filepath.Join(data, keyring.MasterKeyFile))} {
		if !regexp.MustCompile(want).MatchString(r.stdout) {
			t.Errorf("latch migrate --from --to printed:\n%s\nwant a line matching %s", r.stdout, want)
		}
	}
	if r.stderr != "" {
		t.Errorf("latch migrate --from --to: stderr %q, want none", r.stderr)
	}

	// The new server reads the master key from the same data directory.
	d := startDaemon(t, data, []string{"LATCH_DATABASE_URL=" + dsn}, "--addr", "127.0.0.1:0", "--issuer", clusterIssuer)
	if got := d.mustCall(http.StatusOK, "GET", "/.well-known/jwks.json", "", ""); !slices.Equal(kidsOf(t, got), kidsOf(t, jwks)) {
		t.Errorf("JWKS after the move: %s, want the keys of before: %s", got, jwks)
	}
	d.mustCall(http.StatusOK, "GET", "/v1/me", "", kept.AccessToken)
	next := d.refresh(kept.RefreshToken)
	d.mustCall(http.StatusOK, "GET", "/v1/me", "", next.AccessToken)
	d.wantErrorCode(http.StatusBadRequest, "invalid_grant", "POST", "/v1/token/refresh", refreshBody(ended.RefreshToken), "")
	d.wantErrorCode(http.StatusUnauthorized, "invalid_token", "GET", "/v1/me", "", ended.AccessToken)

	// A service following the feed with the copied credentials refuses
	// the token revoked before the move, and the feed goes on from there.
	v, err := verifier.New(t.Context(), verifier.Config{Issuers: []verifier.Issuer{{
		Issuer: clusterIssuer, Audience: clusterIssuer, JWKSURL: d.url + "/.well-known/jwks.json",
		ClientID: feedID, ClientSecret: feedSecret, RevocationsURL: d.url + "/v1/revocations",
	}}})
	if err != nil {
		t.Fatalf("verifier.New with the copied client: %v", err)
	}
	defer v.Close()
	if _, err := v.Verify(t.Context(), ended.AccessToken); !errors.Is(err, revocation.ErrRevoked) {
		t.Errorf("Verify(token revoked before the move) = %v, want %v", err, revocation.ErrRevoked)
	}
	mustVerify(t, v, next.AccessToken, "the token refreshed after the move")
	d.mustCall(http.StatusOK, "POST", "/v1/logout", "", next.AccessToken)
	waitRevoked(t, v, next.AccessToken)
	if seq := pgInt(t, dsn, `SELECT max(seq) FROM revocations`); seq != 2 {
		t.Errorf("the first revocation after the move has seq %d, want 2", seq)
	}

	// The database holds data now: a second copy is refused.
	r = cli(t, "", nil, "migrate", "--from", data, "--to", dsn)
	if r.code != exitRejected || !strings.Contains(r.stderr, "not empty") {
		t.Errorf("latch migrate --from --to into a database with data = exit %d, stderr %q; want 1, not empty", r.code, r.stderr)
	}
}

// kidsOf returns the sorted key IDs of a JWKS.
func kidsOf(t *testing.T, jwks []byte) []string {
	t.Helper()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(jwks, &set); err != nil {
		t.Fatalf("JWKS %s: %v", jwks, err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.Kid)
	}
	slices.Sort(kids)
	return kids
}

// TestCopyEveryRecord fills an SQLite database with a record of every
// kind through the store, copies it with latch migrate, and reads every
// record back from both databases through the store.
func TestCopyEveryRecord(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	data := t.TempDir()
	ctx := t.Context()
	src, err := sqlite.Open(ctx, filepath.Join(data, databaseFile), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	fillStore(t, src)

	if r := latchEnv(t, nil, "migrate", "--from", data, "--to", dsn); r.code != 0 {
		t.Fatalf("latch migrate --from --to: exit %d: %s", r.code, r.stderr)
	}
	dst, err := postgres.Open(ctx, dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	want, got := dumpStore(t, src), dumpStore(t, dst)
	for name := range want {
		if fmt.Sprintf("%+v", got[name]) != fmt.Sprintf("%+v", want[name]) {
			t.Errorf("%s after the copy:\n%+v\nwant, as in SQLite:\n%+v", name, got[name], want[name])
		}
	}
}

// fillStore writes a record of every kind into st: a browser session and
// an OAuth session started from it, a revoked session, a redeemed and a
// pending authorization code, a consent, throttles, a pruned revocation
// and a retained one, a revoked signing key and a client's SET cursor.
func fillStore(t *testing.T, st store.Store) {
	t.Helper()
	ctx := t.Context()
	at := func(min int) time.Time {
		return time.Now().Add(time.Duration(min) * time.Minute).Truncate(time.Millisecond).UTC()
	}
	hash := func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateUser(ctx, store.User{ID: "u_alice", Email: "alice@example.com", PasswordHash: "$argon2id$a", Roles: []string{"admin"},
		Claims:    map[string]json.RawMessage{"dept": json.RawMessage(`"sales & ops"`), "limits": json.RawMessage(`{"daily":500,"tags":["a"]}`)},
		CreatedAt: at(-60), UpdatedAt: at(-60)}))
	must(st.CreateUser(ctx, store.User{ID: "u_bob", Email: "bob@example.com", PasswordHash: "$argon2id$b", Disabled: true, CreatedAt: at(-59), UpdatedAt: at(-50)}))
	must(st.CreateClient(ctx, store.Client{ID: "c_app", Name: "app", SecretHash: hash("s"), Type: store.ClientConfidential, AuthMethod: "client_secret_post",
		RedirectURIs: []string{"https://app.example/cb"}, PostLogoutRedirectURIs: []string{"https://app.example/"},
		GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"openid", "email"}, CreatedAt: at(-58), UpdatedAt: at(-58),
		RequireDPoP: true, EncryptionKey: `{"kty":"OKP","use":"enc","alg":"ECDH-ES","crv":"X25519","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}`}))
	must(st.CreateClient(ctx, store.Client{ID: "c_spa", Name: "spa", Type: store.ClientPublic, AuthMethod: "none", FirstParty: true,
		RedirectURIs: []string{"http://127.0.0.1/cb"}, GrantTypes: []string{"authorization_code"}, Scopes: []string{"openid"}, CreatedAt: at(-57), UpdatedAt: at(-57)}))
	if _, err := st.UpdateClient(ctx, "c_app", func(c store.Client) (store.Client, error) { c.SETCursor = 1; return c, nil }); err != nil {
		t.Fatal(err)
	}
	must(st.CreateSession(ctx, store.Session{ID: "s_browser", UserID: "u_alice", TokenHash: hash("t1"), CreatedAt: at(-40), LastUsedAt: at(-40),
		ExpiresAt: at(600), UserAgent: "Firefox", IP: "192.0.2.1", ClientID: "browser", AuthTime: at(-40)}))
	must(st.CreateSession(ctx, store.Session{ID: "s_app", UserID: "u_alice", TokenHash: hash("t2"), CreatedAt: at(-39), LastUsedAt: at(-39),
		ExpiresAt: at(600), UserAgent: "app", IP: "192.0.2.2", ParentID: "s_browser", ClientID: "c_app", Scopes: []string{"openid"}, AuthTime: at(-40),
		DPoPJKT: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}))
	if _, err := st.UpdateSession(ctx, "s_app", func(s store.Session) (store.Session, error) {
		s.PrevHash, s.TokenHash, s.Generation, s.RotatedAt, s.LastUsedAt, s.Reissues = s.TokenHash, hash("t3"), 1, at(-30), at(-30), 1
		return s, nil
	}); err != nil {
		t.Fatal(err)
	}
	must(st.CreateSession(ctx, store.Session{ID: "s_bob", UserID: "u_bob", TokenHash: hash("t4"), CreatedAt: at(-50), LastUsedAt: at(-50),
		ExpiresAt: at(600), UserAgent: "curl", IP: "192.0.2.3"}))
	if _, _, err := st.RevokeUser(ctx, "u_bob", store.ReasonDisabled, at(-20), true, nil); err != nil {
		t.Fatal(err)
	}
	must(st.CreateKey(ctx, store.SigningKey{ID: "k1", Algorithm: "ES256", Sealed: []byte("sealed-1"), Public: []byte(`{"kty":"EC"}`),
		CreatedAt: at(-60), ActivateAt: at(-60), RetireAt: at(600), RemoveAt: at(700)}))
	must(st.CreateKey(ctx, store.SigningKey{ID: "k2", Algorithm: "RS256", Sealed: []byte("sealed-2"), Public: []byte(`{"kty":"RSA"}`),
		CreatedAt: at(-60), ActivateAt: at(-60)}))
	if _, err := st.UpdateKey(ctx, "k2", func(k store.SigningKey) (store.SigningKey, error) { k.RevokedAt = at(-10); return k, nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddRevocation(ctx, store.Revocation{Kind: store.KindToken, Subject: "jti-old", Reason: store.ReasonAdmin, At: at(-100), Expires: at(-90)}); err != nil {
		t.Fatal(err)
	}
	if n, err := st.PruneRevocations(ctx, at(-80)); err != nil || n != 1 {
		t.Fatalf("PruneRevocations = %d, %v; want 1, nil", n, err)
	}
	for _, key := range []string{"account:bob@example.com", "address:192.0.2.9"} {
		if _, err := st.UpdateThrottle(ctx, key, func(th store.Throttle) (store.Throttle, error) {
			th.Failures, th.LastFailure, th.LockedUntil = 6, at(-1), at(5)
			return th, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	must(st.CreateAuthCode(ctx, store.AuthCode{Hash: hash("code1"), ClientID: "c_app", UserID: "u_alice", BrowserSessionID: "s_browser",
		RedirectURI: "https://app.example/cb", Scopes: []string{"openid"}, Nonce: "n", CodeChallenge: "cc", AuthTime: at(-40), CreatedAt: at(-39), ExpiresAt: at(-38)}))
	if _, err := st.RedeemAuthCode(ctx, hash("code1"), at(-39)); err != nil {
		t.Fatal(err)
	}
	must(st.BindAuthCode(ctx, hash("code1"), "s_app"))
	must(st.CreateAuthCode(ctx, store.AuthCode{Hash: hash("code2"), ClientID: "c_spa", UserID: "u_alice", BrowserSessionID: "s_browser",
		RedirectURI: "http://127.0.0.1/cb", CodeChallenge: "cc2", AuthTime: at(-40), CreatedAt: at(0), ExpiresAt: at(1)}))
	must(st.GrantConsent(ctx, store.Consent{UserID: "u_alice", ClientID: "c_app", Scopes: []string{"email", "openid"}, GrantedAt: at(-39)}))
}

// dumpStore reads what fillStore wrote through the store's methods.
func dumpStore(t *testing.T, st store.Store) map[string]any {
	t.Helper()
	ctx := t.Context()
	d := map[string]any{}
	var err error
	add := func(name string, v any, e error) {
		if e != nil && err == nil {
			err = fmt.Errorf("%s: %w", name, e)
		}
		d[name] = v
	}
	users, e := st.ListUsers(ctx)
	add("users", users, e)
	clients, e := st.ListClients(ctx)
	add("clients", clients, e)
	for _, id := range []string{"s_browser", "s_app", "s_bob"} {
		s, e := st.SessionByID(ctx, id)
		add("session "+id, s, e)
	}
	keys, e := st.ListKeys(ctx)
	add("keys", keys, e)
	revs, e := st.RevocationsSince(ctx, 0, 100)
	add("revocations", revs, e)
	pruned, head, e := st.RevocationBounds(ctx)
	add("revocation bounds", [2]int64{pruned, head}, e)
	errRead := errors.New("read")
	for _, key := range []string{"account:bob@example.com", "address:192.0.2.9"} {
		var th store.Throttle
		_, e := st.UpdateThrottle(ctx, key, func(x store.Throttle) (store.Throttle, error) { th = x; return x, errRead })
		if errors.Is(e, errRead) {
			e = nil
		}
		add("throttle "+key, th, e)
	}
	for _, code := range []string{"code1", "code2"} {
		h := sha256.Sum256([]byte(code))
		// A redemption reads the code; the time is fixed, so that both
		// stores return the same.
		c, e := st.RedeemAuthCode(ctx, h[:], time.UnixMilli(1_800_000_000_000))
		if errors.Is(e, store.ErrCodeReplayed) {
			e = nil
		}
		add("auth code "+code, c, e)
	}
	consent, e := st.ConsentFor(ctx, "u_alice", "c_app")
	add("consent", consent, e)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestReadSQLiteKnowsEveryColumn fails when the SQLite schema gains a
// migration or a column that latch migrate --from does not copy.
func TestReadSQLiteKnowsEveryColumn(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), databaseFile)
	db, err := sqlite.Open(t.Context(), path, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var version int
	if err := raw.QueryRow(`SELECT max(version) FROM schema_migrations`).Scan(&version); err != nil || version != sqliteSchemaVersion {
		t.Fatalf("SQLite schema version %d (%v), readSQLite knows %d: teach it the new migration's columns", version, err, sqliteSchemaVersion)
	}
	// The columns readSQLite reads, table by table.
	known := map[string]string{
		"users":        "id email password_hash roles claims disabled tokens_revoked_at created_at updated_at",
		"clients":      "id name secret_hash type auth_method redirect_uris post_logout_redirect_uris grant_types scopes first_party set_cursor created_at updated_at require_dpop encryption_key",
		"sessions":     "id user_id token_hash prev_hash generation rotated_at reissues created_at last_used_at expires_at user_agent ip parent_id revoked_at revoke_reason client_id scopes auth_time dpop_jkt",
		"signing_keys": "id algorithm sealed public created_at activate_at retire_at remove_at revoked_at",
		"revocations":  "seq kind subject user_id reason at expires",
		"throttles":    "key failures last_failure locked_until",
		"auth_codes":   "hash client_id user_id browser_session_id redirect_uri scopes nonce code_challenge auth_time created_at expires_at redeemed_at session_id replayed_at",
		"consents":     "user_id client_id scopes granted_at",
	}
	// Tables that hold no record of the store: bookkeeping.
	ignored := map[string]bool{"schema_migrations": true, "sqlite_sequence": true, "revocations_pruned": true, "heartbeat": true}
	rows, err := raw.Query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var name string
		rows.Scan(&name)
		tables = append(tables, name)
	}
	rows.Close()
	for _, table := range tables {
		if ignored[table] {
			continue
		}
		want, ok := known[table]
		if !ok {
			t.Errorf("SQLite table %s is not copied by latch migrate --from", table)
			continue
		}
		var cols []string
		rows, err := raw.Query(`SELECT name FROM pragma_table_info(?)`, table)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var name string
			rows.Scan(&name)
			cols = append(cols, name)
		}
		rows.Close()
		slices.Sort(cols)
		wantCols := strings.Fields(want)
		slices.Sort(wantCols)
		if !slices.Equal(cols, wantCols) {
			t.Errorf("SQLite table %s has columns %v, readSQLite reads %v", table, cols, wantCols)
		}
	}
	if !slices.Equal(slices.Sorted(maps.Keys(known)), slices.Sorted(slices.Values(copyOrder))) {
		t.Errorf("copyOrder = %v, want the tables %v", copyOrder, known)
	}
}

// TestMigrateFromRefusals checks what latch migrate --from refuses before
// it writes anything.
func TestMigrateFromRefusals(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	empty := t.TempDir()
	missing := filepath.Join(empty, "nowhere")
	for _, tt := range []struct{ from, want string }{
		{missing, "does not exist"},
		{empty, "no SQLite database in " + empty},
	} {
		if r := latchEnv(t, nil, "migrate", "--from", tt.from, "--to", dsn); r.code != exitRejected || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("latch migrate --from %s = exit %d, stderr %q; want 1, %q", tt.from, r.code, r.stderr, tt.want)
		}
	}
	if _, err := os.Stat(filepath.Join(empty, databaseFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("latch migrate --from created %s (stat: %v), want nothing", databaseFile, err)
	}
}
