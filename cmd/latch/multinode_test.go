package main

// Several "latch serve" processes on one PostgreSQL database, as an
// operator runs them behind a load balancer: the client here is the load
// balancer, sending each request to another node. The tests need the
// database LATCH_TEST_POSTGRES_DSN names (.ci/run sets it) and skip
// without it; each works in a schema of its own (search_path), dropped
// when it ends.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latch-auth/latch/internal/login"
	"github.com/latch-auth/latch/revocation"
	"github.com/latch-auth/latch/verifier"
)

// postgresDSNVar names the variable with the test database's connection
// string, a postgres:// URL.
const postgresDSNVar = "LATCH_TEST_POSTGRES_DSN"

// clusterIssuer is the issuer every node of a test cluster is given: the
// load balancer's URL, the same for all.
const clusterIssuer = "http://latch.test"

// postgresBase returns the test database's URL, or skips the test.
func postgresBase(t testing.TB) string {
	t.Helper()
	base := os.Getenv(postgresDSNVar)
	if base == "" {
		t.Skip(postgresDSNVar + " is not set: set it to a postgres:// URL, as .ci/run does, to run the PostgreSQL tests")
	}
	if !strings.HasPrefix(base, "postgres://") && !strings.HasPrefix(base, "postgresql://") {
		t.Fatalf("%s must be a postgres:// URL for the cmd/latch tests", postgresDSNVar)
	}
	return base
}

// withQuery is the URL raw with the query parameters params set.
func withQuery(t testing.TB, raw string, params map[string]string) string {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parsing %s: %v", postgresDSNVar, err)
	}
	q := u.Query()
	for k, v := range params {
		q.Set(k, v)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// postgresSchema creates a schema for the test, dropped with everything
// in it when the test ends, and returns the test database's URL with
// search_path set to it. The schema has no latch tables yet.
func postgresSchema(t testing.TB) string {
	t.Helper()
	base := postgresBase(t)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "latch_cmd_" + hex.EncodeToString(b)
	pgExec(t, base, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { pgExec(t, base, "DROP SCHEMA "+schema+" CASCADE") })
	return withQuery(t, base, map[string]string{"search_path": schema})
}

// pgExec runs a statement on the database at dsn.
func pgExec(t testing.TB, dsn, query string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), daemonTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connecting to the test database: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, query, args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
}

// pgInt runs a query that returns one integer.
func pgInt(t testing.TB, dsn, query string, args ...any) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), daemonTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connecting to the test database: %v", err)
	}
	defer conn.Close(ctx)
	var n int64
	if err := conn.QueryRow(ctx, query, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// newMasterKey returns a master key as LATCH_MASTER_KEY takes it.
func newMasterKey() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// cluster is a migrated PostgreSQL schema and the nodes serving it.
type cluster struct {
	t     *testing.T
	dsn   string
	env   []string // LATCH_DATABASE_URL and LATCH_MASTER_KEY
	nodes []*daemon
}

// newCluster migrates a schema of its own with "latch migrate" and starts
// n nodes on it with one master key, each with an empty data directory
// and args.
func newCluster(t *testing.T, n int, args ...string) *cluster {
	t.Helper()
	dsn := postgresSchema(t)
	c := &cluster{t: t, dsn: dsn, env: []string{"LATCH_DATABASE_URL=" + dsn, "LATCH_MASTER_KEY=" + newMasterKey()}}
	if out := c.cli("", "migrate"); !strings.Contains(out, "migrated the schema from version 0 to") {
		t.Fatalf("latch migrate = %q, want the versions", out)
	}
	for i := range n {
		c.start(i, args...)
	}
	return c
}

// start starts node i (again).
func (c *cluster) start(i int, args ...string) *daemon {
	c.t.Helper()
	d := startDaemon(c.t, c.t.TempDir(), c.env, append([]string{"--addr", "127.0.0.1:0", "--issuer", clusterIssuer}, args...)...)
	if i < len(c.nodes) {
		c.nodes[i] = d
	} else {
		c.nodes = append(c.nodes, d)
	}
	return d
}

// node is node i modulo the cluster's size: round robin.
func (c *cluster) node(i int) *daemon { return c.nodes[i%len(c.nodes)] }

// cli runs an administration command on the cluster's database and
// fails the test unless it succeeds.
func (c *cluster) cli(stdin string, args ...string) string {
	c.t.Helper()
	r := cli(c.t, stdin, c.env, args...)
	if r.code != 0 {
		c.t.Fatalf("latch %s: exit %d, want 0; stderr:\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// addUser creates a user with the CLI and returns its ID.
func (c *cluster) addUser(email string) string {
	c.t.Helper()
	out := c.cli(alicePassword+"\n", "user", "add", "--email", email, "--password-stdin")
	m := createdUser.FindStringSubmatch(out)
	if m == nil {
		c.t.Fatalf("latch user add = %q, want the user's ID", out)
	}
	return m[1]
}

// addClient registers a client with the CLI and returns its credentials.
func (c *cluster) addClient(args ...string) (id, secret string) {
	c.t.Helper()
	out := c.cli("", append([]string{"client", "add", "--json"}, args...)...)
	var v clientView
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.ID == "" || v.Secret == "" {
		c.t.Fatalf("latch client add --json = %q, %v; want a client ID and secret", out, err)
	}
	return v.ID, v.Secret
}

// refresh rotates a refresh token at d.
func (d *daemon) refresh(rt string) serveTokens {
	d.t.Helper()
	var tk serveTokens
	if err := json.Unmarshal(d.mustCall(http.StatusOK, "POST", "/v1/token/refresh", refreshBody(rt), ""), &tk); err != nil || tk.RefreshToken == "" {
		d.t.Fatalf("POST /v1/token/refresh: %v, want tokens", err)
	}
	return tk
}

// clientToken asks d for a client_credentials token.
func (d *daemon) clientToken(id, secret, scope string) (int, string, error) {
	req, _ := http.NewRequest("POST", d.url+"/oauth2/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}, "scope": {scope}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	body, _ := io.ReadAll(resp.Body)
	json.Unmarshal(body, &tok)
	return resp.StatusCode, tok.AccessToken, nil
}

// TestMultiNodeRoundRobin sends a client's every step to another node of
// three: login, using the access token, refresh, logout, OAuth
// client_credentials tokens, and checks that every node serves the same
// JWKS and that a token from one verifies with the keys of another.
func TestMultiNodeRoundRobin(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3)
	c.addUser("alice@example.com")

	var jwks []byte
	for i, d := range c.nodes {
		b := d.mustCall(http.StatusOK, "GET", "/.well-known/jwks.json", "", "")
		if i > 0 && !bytes.Equal(b, jwks) {
			t.Errorf("node %d serves JWKS %s, node 0 %s; want the same", i, b, jwks)
		}
		jwks = b
	}

	// The administration commands see the keys the nodes publish.
	var listed []struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal([]byte(c.cli("", "keys", "list", "--json")), &listed); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range listed {
		kids = append(kids, k.Kid)
	}
	slices.Sort(kids)
	if want := kidsOf(t, jwks); !slices.Equal(kids, want) {
		t.Errorf("latch keys list = %v, want the keys of the JWKS %v", kids, want)
	}

	for r := range 6 {
		tk := c.node(r).login("alice@example.com", alicePassword)
		c.node(r+1).mustCall(http.StatusOK, "GET", "/v1/me", "", tk.AccessToken)
		next := c.node(r + 2).refresh(tk.RefreshToken)
		c.node(r).mustCall(http.StatusOK, "GET", "/v1/me", "", next.AccessToken)
		c.node(r+1).mustCall(http.StatusOK, "POST", "/v1/logout", "", next.AccessToken)
		// The session ended on every node: its refresh token and its
		// access tokens are refused elsewhere at once.
		c.node(r+2).wantErrorCode(http.StatusBadRequest, "invalid_grant", "POST", "/v1/token/refresh", refreshBody(next.RefreshToken), "")
		c.node(r).wantErrorCode(http.StatusUnauthorized, "invalid_token", "GET", "/v1/me", "", next.AccessToken)
	}

	id, secret := c.addClient("--name", "svc", "--grant-type", "client_credentials", "--scope", "x")
	for i := range c.nodes {
		status, tok, err := c.node(i).clientToken(id, secret, "x")
		if err != nil || status != http.StatusOK || tok == "" {
			t.Fatalf("node %d: client_credentials = %d, %v; want 200 and a token", i, status, err)
		}
		// Verified with the keys another node publishes.
		v, err := verifier.New(t.Context(), verifier.Config{Issuers: []verifier.Issuer{{
			Issuer: clusterIssuer, Audience: clusterIssuer, JWKSURL: c.node(i+1).url + "/.well-known/jwks.json",
		}}})
		if err != nil {
			t.Fatal(err)
		}
		claims, err := v.Verify(t.Context(), tok)
		v.Close()
		if err != nil || claims.Subject != id {
			t.Errorf("node %d's client_credentials token at node %d's JWKS: sub %q, %v; want %s, nil", i, (i+1)%3, claims.Subject, err, id)
		}
	}
	// A wrong secret is refused by every node alike.
	for i := range c.nodes {
		if status, _, err := c.node(i).clientToken(id, "wrong", "x"); err != nil || status != http.StatusUnauthorized {
			t.Errorf("node %d: client_credentials with a wrong secret = %d, %v; want 401", i, status, err)
		}
	}
}

// TestMultiNodeConcurrentRefresh presents one refresh token to two nodes
// at once: the session rotates once, both answers carry the same
// successor, and presenting the token again within the grace window, to
// the third node, returns that successor too.
func TestMultiNodeConcurrentRefresh(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3)
	c.addUser("alice@example.com")
	for round := range 5 {
		tk := c.node(round).login("alice@example.com", alicePassword)
		var wg sync.WaitGroup
		start := make(chan struct{})
		got := make([]serveTokens, 2)
		errs := make([]error, 2)
		for i := range 2 {
			wg.Go(func() {
				<-start
				status, body, err := c.node(round+1+i).call("POST", "/v1/token/refresh", refreshBody(tk.RefreshToken), "")
				if err == nil && status != http.StatusOK {
					err = fmt.Errorf("status %d %s", status, body)
				}
				if err == nil {
					err = json.Unmarshal(body, &got[i])
				}
				errs[i] = err
			})
		}
		close(start)
		wg.Wait()
		if errs[0] != nil || errs[1] != nil {
			t.Fatalf("round %d: concurrent refreshes at two nodes = %v, %v; want both to succeed", round, errs[0], errs[1])
		}
		if got[0].RefreshToken != got[1].RefreshToken || got[0].RefreshToken == tk.RefreshToken {
			t.Errorf("round %d: concurrent refreshes returned different successors", round)
		}
		if gen := pgInt(t, c.dsn, `SELECT generation FROM sessions WHERE id = $1`, tk.SessionID); gen != 1 {
			t.Errorf("round %d: session generation %d after two concurrent refreshes, want 1", round, gen)
		}
		again := c.node(round + 3).refresh(tk.RefreshToken)
		if again.RefreshToken != got[0].RefreshToken {
			t.Errorf("round %d: a grace-window replay at the third node returned another successor", round)
		}
		c.node(round).mustCall(http.StatusOK, "GET", "/v1/me", "", again.AccessToken)
	}
}

// TestMultiNodeFeed revokes sessions on node A and measures how long a
// service following node C's revocation feed takes to refuse their
// tokens: within a second, carried by PostgreSQL's NOTIFY.
func TestMultiNodeFeed(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3)
	c.addUser("bob@example.com")
	id, secret := c.addClient("--name", "orders", "--scope", "revocations:read")
	a, b, cNode := c.nodes[0], c.nodes[1], c.nodes[2]
	v, err := verifier.New(t.Context(), verifier.Config{Issuers: []verifier.Issuer{{
		Issuer: clusterIssuer, Audience: clusterIssuer,
		JWKSURL:  b.url + "/.well-known/jwks.json",
		ClientID: id, ClientSecret: secret,
		RevocationsURL: cNode.url + "/v1/revocations",
	}}})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	for i := range 5 {
		tk := a.login("bob@example.com", alicePassword)
		mustVerify(t, v, tk.AccessToken, "the token before logout")
		a.mustCall(http.StatusOK, "POST", "/v1/logout", "", tk.AccessToken)
		start := time.Now()
		for {
			_, err := v.Verify(t.Context(), tk.AccessToken)
			if errors.Is(err, revocation.ErrRevoked) {
				break
			}
			if err != nil {
				t.Fatalf("Verify = %v while waiting for the revocation, want nil or %v", err, revocation.ErrRevoked)
			}
			if time.Since(start) > time.Second {
				t.Fatalf("logout %d on node A: the token was still accepted by a service following node C after 1s", i)
			}
			time.Sleep(time.Millisecond)
		}
		t.Logf("logout %d on node A reached node C's subscriber in %v", i, time.Since(start))
	}
}

// lockCount sends failed logins for email to the nodes in turn (step
// apart: 1 for round robin, 0 for one node) and returns the attempt at
// which the account was first locked (an answer with Retry-After), and
// when that attempt was sent.
func lockCount(t *testing.T, c *cluster, email string, step int) (int, time.Time) {
	t.Helper()
	for n := 1; n <= 20; n++ {
		d := c.node(n * step)
		sent := time.Now()
		req, _ := http.NewRequest("POST", d.url+"/v1/login", strings.NewReader(credentials(email, "wrong password!")))
		req.Header.Set("Content-Type", "application/json")
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatalf("login with a wrong password succeeded")
		}
		if resp.Header.Get("Retry-After") != "" {
			return n, sent
		}
	}
	t.Fatalf("%s: no lock after 20 failed logins", email)
	return 0, time.Time{}
}

// TestMultiNodeThrottles spreads failed logins over three nodes and
// checks that the account locks at the same count as on one node.
func TestMultiNodeThrottles(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3)
	c.addUser("eve@example.com")
	c.addUser("mallory@example.com")
	single, _ := lockCount(t, c, "mallory@example.com", 0)
	spread, lockedAt := lockCount(t, c, "eve@example.com", 1)
	// Locked everywhere: the right password is refused on another node,
	// while the first lock (login.DefaultBaseLock) lasts.
	status, _, err := c.node(spread+1).call("POST", "/v1/login", credentials("eve@example.com", alicePassword), "")
	within := time.Since(lockedAt) < login.DefaultBaseLock
	if spread != single || spread != login.DefaultAccountLimit {
		t.Errorf("account locked after %d failures spread over 3 nodes, %d on one node; want both %d", spread, single, login.DefaultAccountLimit)
	}
	switch {
	case err != nil:
		t.Fatal(err)
	case status == http.StatusOK && within:
		t.Errorf("login with the right password on another node during the lock = %d, want a refusal", status)
	case status == http.StatusOK:
		t.Logf("the lock had expired before the check (machine too slow); the refusal was not checked")
	}
}

// TestMultiNodeKill runs sign-ups, logins and logouts over three nodes
// and kills one with SIGKILL in the middle: the other two keep serving
// every request sent to them, and every user, session and revocation a
// node acknowledged is in the database.
func TestMultiNodeKill(t *testing.T) {
	t.Parallel()
	c := newCluster(t, 3, "--allow-signup", "--signup-limit", "100000")
	var killed atomic.Bool
	const victim = 1

	type outcome struct {
		users     []string // e-mail addresses whose sign-up was answered 201
		sessions  []serveTokens
		loggedOut []string // session IDs whose logout was answered 200
		failures  []string // requests to a live node that failed
	}
	var mu sync.Mutex
	var out outcome
	// do sends a request to node i, and reports the answer; a request to
	// the killed node may fail, one to another node must not.
	do := func(i int, method, path, body, bearer string, want int) ([]byte, bool) {
		d := c.node(i)
		status, b, err := d.call(method, path, body, bearer)
		if err == nil && status == want {
			return b, true
		}
		// Once killed is set, before the signal, requests to the
		// victim may fail, as clients of a dead node see.
		if i%3 != victim || !killed.Load() {
			mu.Lock()
			out.failures = append(out.failures, fmt.Sprintf("node %d: %s %s = %d %s, %v", i%3, method, path, status, b, err))
			mu.Unlock()
		}
		return nil, false
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var seq atomic.Int64
	for w := range 3 {
		wg.Go(func() {
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				email := fmt.Sprintf("user%d@example.com", seq.Add(1))
				if _, ok := do(i, "POST", "/v1/signup", credentials(email, alicePassword), "", http.StatusCreated); !ok {
					continue
				}
				mu.Lock()
				out.users = append(out.users, email)
				mu.Unlock()
				b, ok := do(i+1, "POST", "/v1/login", credentials(email, alicePassword), "", http.StatusOK)
				if !ok {
					continue
				}
				var tk serveTokens
				if err := json.Unmarshal(b, &tk); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				out.sessions = append(out.sessions, tk)
				mu.Unlock()
				if i%2 == 0 {
					// Logouts go to a third node: after the kill, a live
					// one (the sessions that survive come from logins on
					// the live nodes, whose third node is the victim).
					j := i + 2
					if killed.Load() && j%3 == victim {
						j++
					}
					if _, ok := do(j, "POST", "/v1/logout", "", tk.AccessToken, http.StatusOK); ok {
						mu.Lock()
						out.loggedOut = append(out.loggedOut, tk.SessionID)
						mu.Unlock()
					}
				}
			}
		})
	}
	// progress waits until the load has acknowledged more than users
	// sign-ups and logouts logouts, or a minute passed: a loaded machine
	// (-race, CI) may take far longer than a quiet one, and a fixed sleep
	// would test nothing there.
	progress := func(users, logouts int) {
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			mu.Lock()
			done := len(out.users) > users && len(out.loggedOut) > logouts
			mu.Unlock()
			if done {
				return
			}
		}
	}
	progress(2, 0)
	killed.Store(true)
	if err := c.nodes[victim].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-c.nodes[victim].exited
	mu.Lock()
	killedAt, logoutsAt := len(out.users), len(out.loggedOut)
	mu.Unlock()
	progress(killedAt+2, logoutsAt)
	close(stop)
	wg.Wait()

	if len(out.failures) > 0 {
		t.Errorf("live nodes failed %d requests, want none:\n%s", len(out.failures), strings.Join(out.failures, "\n"))
	}
	t.Logf("acknowledged: %d users (%d before the kill), %d sessions, %d logouts", len(out.users), killedAt, len(out.sessions), len(out.loggedOut))
	if len(out.users) <= killedAt || len(out.loggedOut) <= logoutsAt {
		t.Fatalf("the load did not go on after the kill (%d users, %d before it; %d logouts, %d before it)", len(out.users), killedAt, len(out.loggedOut), logoutsAt)
	}

	if n := pgInt(t, c.dsn, `SELECT count(*) FROM users WHERE email = ANY($1)`, out.users); n != int64(len(out.users)) {
		t.Errorf("%d of %d acknowledged users are in the database", n, len(out.users))
	}
	ids := make([]string, len(out.sessions))
	for i, s := range out.sessions {
		ids[i] = s.SessionID
	}
	if n := pgInt(t, c.dsn, `SELECT count(*) FROM sessions WHERE id = ANY($1)`, ids); n != int64(len(ids)) {
		t.Errorf("%d of %d acknowledged sessions are in the database", n, len(ids))
	}
	if n := pgInt(t, c.dsn, `SELECT count(*) FROM sessions WHERE id = ANY($1) AND revoked_at IS NOT NULL`, out.loggedOut); n != int64(len(out.loggedOut)) {
		t.Errorf("%d of %d acknowledged logouts ended their session", n, len(out.loggedOut))
	}
	if n := pgInt(t, c.dsn, `SELECT count(DISTINCT subject) FROM revocations WHERE kind = 'session' AND subject = ANY($1)`, out.loggedOut); n != int64(len(out.loggedOut)) {
		t.Errorf("%d of %d acknowledged logouts are in the revocation feed", n, len(out.loggedOut))
	}

	// The survivors serve the sessions the victim acknowledged: the
	// sessions still open refresh, the ended ones are refused.
	ended := map[string]bool{}
	for _, id := range out.loggedOut {
		ended[id] = true
	}
	checked := 0
	for _, s := range out.sessions {
		if ended[s.SessionID] || checked == 5 {
			continue
		}
		checked++
		c.nodes[2].refresh(s.RefreshToken)
	}
	for _, id := range out.loggedOut[:min(5, len(out.loggedOut))] {
		for _, s := range out.sessions {
			if s.SessionID == id {
				c.nodes[0].wantErrorCode(http.StatusBadRequest, "invalid_grant", "POST", "/v1/token/refresh", refreshBody(s.RefreshToken), "")
			}
		}
	}

	// The victim comes back and serves them too.
	d := c.start(victim)
	d.mustCall(http.StatusOK, "GET", "/readyz", "", "")
	d.login(out.users[0], alicePassword)
}

// TestPostgresGoesAway cuts a node off its database: it answers 503 with
// Retry-After and a JSON body, /readyz fails, the JWKS is still served;
// once the database is back, it serves again by itself.
func TestPostgresGoesAway(t *testing.T) {
	t.Parallel()
	dsn := postgresSchema(t)
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	target := u.Host
	if u.Port() == "" {
		target = net.JoinHostPort(u.Hostname(), "5432")
	}
	p := newCutProxy(t, target)
	u.Host = p.addr()
	env := []string{"LATCH_DATABASE_URL=" + u.String(), "LATCH_MASTER_KEY=" + newMasterKey()}
	if r := cli(t, "", env, "migrate"); r.code != 0 {
		t.Fatalf("latch migrate: exit %d: %s", r.code, r.stderr)
	}
	if r := cli(t, alicePassword+"\n", env, "user", "add", "--email", "alice@example.com", "--password-stdin"); r.code != 0 {
		t.Fatalf("latch user add: exit %d: %s", r.code, r.stderr)
	}
	d := startDaemon(t, t.TempDir(), env, "--addr", "127.0.0.1:0")
	tk := d.login("alice@example.com", alicePassword)
	d.mustCall(http.StatusOK, "GET", "/readyz", "", "")

	p.setCut(true)
	pollStatus(t, d, "/readyz", http.StatusServiceUnavailable)
	for _, req := range []struct{ path, body string }{
		{"/v1/login", credentials("alice@example.com", alicePassword)},
		{"/v1/token/refresh", refreshBody(tk.RefreshToken)},
	} {
		r, _ := http.NewRequest("POST", d.url+req.path, strings.NewReader(req.body))
		r.Header.Set("Content-Type", "application/json")
		resp, err := httpClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct {
			Error string `json:"error"`
		}
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
			json.Unmarshal(body, &e) != nil || e.Error != "temporarily_unavailable" {
			t.Errorf("POST %s without the database = %d, Retry-After %q, %s; want 503, Retry-After and temporarily_unavailable",
				req.path, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	}
	d.mustCall(http.StatusOK, "GET", "/.well-known/jwks.json", "", "")
	d.mustCall(http.StatusOK, "GET", "/healthz", "", "")

	p.setCut(false)
	pollStatus(t, d, "/readyz", http.StatusOK)
	next := d.refresh(tk.RefreshToken)
	d.mustCall(http.StatusOK, "GET", "/v1/me", "", next.AccessToken)
}

// pollStatus waits until GET path at d answers status.
func pollStatus(t *testing.T, d *daemon, path string, status int) {
	t.Helper()
	deadline := time.Now().Add(daemonTimeout)
	for {
		got, _, err := d.call("GET", path, "", "")
		if err == nil && got == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s = %d, %v for %v; want %d", path, got, err, daemonTimeout, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
