package main

// The serve tests run "latch serve" from the binary TestMain builds
// (latchBin), as an operator would: started with flags and LATCH_*
// variables, administered with the user and keys commands while it runs,
// stopped with SIGTERM, and killed with SIGKILL.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "modernc.org/sqlite" // database/sql driver "sqlite", to inspect the data directory
)

const (
	alicePassword = "correct horse battery staple"
	// daemonTimeout bounds every wait on a server process.
	daemonTimeout = 20 * time.Second
)

// cleanEnv is the test process's environment without LATCH_* variables,
// plus extra.
func cleanEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LATCH_") {
			env = append(env, kv)
		}
	}
	return append(env, extra...)
}

// cliResult is the outcome of one run of the binary.
type cliResult struct {
	code           int
	stdout, stderr string
}

// cli runs the latch binary with args, stdin and the extra environment.
func cli(t testing.TB, stdin string, env []string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), daemonTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, latchBin, args...)
	cmd.Env = cleanEnv(env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := cliResult{code: cmd.ProcessState.ExitCode(), stdout: stdout.String(), stderr: stderr.String()}
	if err != nil && r.code < 0 {
		t.Fatalf("latch %s: %v", strings.Join(args, " "), err)
	}
	return r
}

// mustCLI runs the binary and fails the test unless it exits 0.
func mustCLI(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	r := cli(t, stdin, nil, args...)
	if r.code != 0 {
		t.Fatalf("latch %s: exit %d, want 0; stderr:\n%s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// wantCLI runs the binary and checks its exit status and that its
// standard error matches the pattern.
func wantCLI(t *testing.T, code int, stderrPattern string, args ...string) cliResult {
	t.Helper()
	r := cli(t, "", nil, args...)
	if r.code != code || !regexp.MustCompile(stderrPattern).MatchString(r.stderr) {
		t.Fatalf("latch %s: exit %d, stderr %q; want exit %d and stderr matching %q", strings.Join(args, " "), r.code, r.stderr, code, stderrPattern)
	}
	return r
}

var createdUser = regexp.MustCompile(`(?m)^created user (u_[0-9a-f]{32}) \(([^)]+)\)$`)

// addUser runs "latch user add" with a password on standard input and
// returns the new user's ID.
func addUser(t *testing.T, data, email, password string, roles ...string) string {
	t.Helper()
	args := []string{"user", "add", "--data", data, "--email", email, "--password-stdin"}
	for _, r := range roles {
		args = append(args, "--role", r)
	}
	out := mustCLI(t, password+"\n", args...)
	m := createdUser.FindStringSubmatch(out)
	if m == nil || strings.Contains(out, password) {
		t.Fatalf("latch %s = %q, want \"created user ID (%s)\" and no password", strings.Join(args, " "), out, email)
	}
	return m[1]
}

// daemon is a running "latch serve".
type daemon struct {
	t        testing.TB
	cmd      *exec.Cmd
	addr     string // from the "listening" log line
	issuer   string
	audience string
	url      string // http://addr

	mu     sync.Mutex
	lines  []string         // standard error, line by line
	more   chan struct{}    // closed when a line arrives or the process exits
	exited chan struct{}    // closed when the process has exited
	state  *os.ProcessState // set before exited closes
}

// startDaemon starts "latch serve --data data args..." with the extra
// environment and waits until it listens.
func startDaemon(t testing.TB, data string, env []string, args ...string) *daemon {
	t.Helper()
	d := &daemon{t: t, more: make(chan struct{}), exited: make(chan struct{})}
	d.cmd = exec.Command(latchBin, append([]string{"serve", "--data", data}, args...)...)
	// No drain period unless a test asks for one: a SIGTERM would
	// otherwise hold every test's server for the 5 s default.
	d.cmd.Env = cleanEnv(append([]string{"LATCH_DRAIN_PERIOD=0s"}, env...)...)
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			d.mu.Lock()
			d.lines = append(d.lines, sc.Text())
			close(d.more)
			d.more = make(chan struct{})
			d.mu.Unlock()
		}
		d.cmd.Wait()
		d.mu.Lock()
		d.state = d.cmd.ProcessState
		d.mu.Unlock()
		close(d.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-d.exited:
		default:
			d.cmd.Process.Kill()
			<-d.exited
		}
	})
	l := d.waitLog("listening")
	d.addr, d.issuer, d.audience = l.str("addr"), l.str("issuer"), l.str("audience")
	if d.addr == "" || d.issuer == "" || d.audience == "" {
		t.Fatalf("latch serve: listening line %v, want addr, issuer and audience", l)
	}
	d.url = "http://" + d.addr
	return d
}

// logLine is one JSON log record.
type logLine map[string]any

func (l logLine) str(k string) string { s, _ := l[k].(string); return s }

// findLog returns the first log record with message msg, if any.
func (d *daemon) findLog(msg string) (logLine, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, line := range d.lines {
		var l logLine
		if json.Unmarshal([]byte(line), &l) == nil && l.str("msg") == msg {
			return l, true
		}
	}
	return nil, false
}

// stderr returns what the process has written to standard error so far.
func (d *daemon) stderr() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.lines, "\n")
}

// waitStderr waits until standard error contains s, and reports whether
// it did before the process exited or daemonTimeout passed.
func (d *daemon) waitStderr(s string) bool {
	deadline := time.After(daemonTimeout)
	for {
		d.mu.Lock()
		more := d.more
		d.mu.Unlock()
		if strings.Contains(d.stderr(), s) {
			return true
		}
		select {
		case <-more:
		case <-d.exited:
			return strings.Contains(d.stderr(), s)
		case <-deadline:
			return false
		}
	}
}

// waitLog waits for a log record with message msg.
func (d *daemon) waitLog(msg string) logLine {
	d.t.Helper()
	deadline := time.After(daemonTimeout)
	for {
		d.mu.Lock()
		more := d.more
		d.mu.Unlock()
		if l, ok := d.findLog(msg); ok {
			return l
		}
		select {
		case <-more:
		case <-d.exited:
			if l, ok := d.findLog(msg); ok {
				return l
			}
			d.t.Fatalf("latch serve exited (%v) without logging %q; stderr:\n%s", d.state, msg, d.stderr())
		case <-deadline:
			d.t.Fatalf("latch serve did not log %q within %v; stderr:\n%s", msg, daemonTimeout, d.stderr())
		}
	}
}

// stop sends sig and returns the exit status.
func (d *daemon) stop(sig os.Signal) int {
	d.t.Helper()
	if err := d.cmd.Process.Signal(sig); err != nil {
		d.t.Fatalf("signalling latch serve: %v", err)
	}
	select {
	case <-d.exited:
	case <-time.After(daemonTimeout):
		d.t.Fatalf("latch serve did not exit within %v of %v; stderr:\n%s", daemonTimeout, sig, d.stderr())
	}
	return d.state.ExitCode()
}

// stopGracefully sends SIGTERM and checks for a clean exit.
func (d *daemon) stopGracefully() {
	d.t.Helper()
	if code := d.stop(syscall.SIGTERM); code != 0 {
		d.t.Fatalf("latch serve after SIGTERM: exit %d, want 0; stderr:\n%s", code, d.stderr())
	}
	d.waitLog("stopped")
}

var httpClient = &http.Client{Timeout: daemonTimeout}

// call sends a request to the daemon and returns the status and body.
func (d *daemon) call(method, path, body, bearer string) (int, []byte, error) {
	req, err := http.NewRequest(method, d.url+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// mustCall is call that fails the test on a transport error or a status
// other than want.
func (d *daemon) mustCall(want int, method, path, body, bearer string) []byte {
	d.t.Helper()
	status, b, err := d.call(method, path, body, bearer)
	if err != nil {
		d.t.Fatalf("%s %s: %v", method, path, err)
	}
	if status != want {
		d.t.Fatalf("%s %s = %d %s, want %d", method, path, status, b, want)
	}
	return b
}

// wantErrorCode is mustCall for an error response with the JSON code.
func (d *daemon) wantErrorCode(status int, code, method, path, body, bearer string) {
	d.t.Helper()
	b := d.mustCall(status, method, path, body, bearer)
	var e struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal(b, &e); err != nil || e.Error != code {
		d.t.Fatalf("%s %s = %d %s, want error %q", method, path, status, b, code)
	}
}

// serveTokens is a login or refresh response.
type serveTokens struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	SessionID    string `json:"session_id"`
}

func credentials(email, password string) string {
	b, _ := json.Marshal(map[string]string{"email": email, "password": password})
	return string(b)
}

func (d *daemon) login(email, password string) serveTokens {
	d.t.Helper()
	var tk serveTokens
	if err := json.Unmarshal(d.mustCall(http.StatusOK, "POST", "/v1/login", credentials(email, password), ""), &tk); err != nil || tk.AccessToken == "" {
		d.t.Fatalf("POST /v1/login: %v, want tokens", err)
	}
	return tk
}

func refreshBody(rt string) string { return `{"refresh_token":"` + rt + `"}` }

// TestServeTokenVerifiesWithCLI issues a token from a running server to a
// user created while it runs, and checks it with "latch token verify"
// against the published JWKS.
func TestServeTokenVerifiesWithCLI(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	d := startDaemon(t, data, nil, "--addr", "127.0.0.1:0")
	if d.issuer != d.url || d.audience != d.url {
		t.Errorf("listening: issuer %q, audience %q, want both %q by default", d.issuer, d.audience, d.url)
	}
	for _, msg := range []string{"created database", "signing keys ready", "no users yet; create the first one with: latch user add --data " + data + " --email you@example.com --role admin"} {
		if _, ok := d.findLog(msg); !ok {
			t.Errorf("first start did not log %q; stderr:\n%s", msg, d.stderr())
		}
	}
	if _, err := os.Stat(filepath.Join(data, "master.key")); err != nil {
		t.Errorf("first start: %v, want a master key in the data directory", err)
	}

	id := addUser(t, data, "alice@example.com", alicePassword, "admin")
	tk := d.login("alice@example.com", alicePassword)

	jwks := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(jwks, d.mustCall(http.StatusOK, "GET", "/.well-known/jwks.json", "", ""), 0o600); err != nil {
		t.Fatal(err)
	}
	out := mustCLI(t, tk.AccessToken+"\n", "token", "verify", "--key", jwks, "--iss", d.issuer, "--aud", d.audience, "--typ", "at+jwt")
	var claims struct {
		Iss   string   `json:"iss"`
		Sub   string   `json:"sub"`
		Aud   string   `json:"aud"`
		Sid   string   `json:"sid"`
		Roles []string `json:"roles"`
		Exp   int64    `json:"exp"`
		Iat   int64    `json:"iat"`
	}
	if err := json.Unmarshal([]byte(out), &claims); err != nil {
		t.Fatalf("latch token verify = %q, want claims: %v", out, err)
	}
	if claims.Iss != d.issuer || claims.Sub != id || claims.Aud != d.audience || claims.Sid != tk.SessionID ||
		!slices.Equal(claims.Roles, []string{"admin"}) || claims.Exp-claims.Iat != int64(defaultAccessTTL/time.Second) {
		t.Errorf("latch token verify = %s, want iss %s, sub %s, sid %s, roles [admin], a %v lifetime", out, d.issuer, id, tk.SessionID, defaultAccessTTL)
	}

	// The same token for another audience, or checked as another type,
	// is refused.
	r := cli(t, tk.AccessToken, nil, "token", "verify", "--key", jwks, "--iss", d.issuer, "--aud", "https://other.example")
	if r.code != 1 || !strings.HasPrefix(r.stderr, "latch: error: wrong audience") || r.stdout != "" {
		t.Errorf("latch token verify --aud other: exit %d, stderr %q, want 1 and a wrong-audience error", r.code, r.stderr)
	}
	r = cli(t, tk.AccessToken, nil, "token", "verify", "--key", jwks, "--iss", d.issuer, "--aud", d.audience, "--typ", "JWT")
	if r.code != 1 {
		t.Errorf("latch token verify --typ JWT: exit %d, stderr %q, want 1", r.code, r.stderr)
	}
	d.stopGracefully()
}

// TestServeGracefulShutdown sends SIGTERM while a login is in flight:
// the login completes, then the process exits 0.
func TestServeGracefulShutdown(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	addUser(t, data, "alice@example.com", alicePassword)
	d := startDaemon(t, data, nil, "--addr", "127.0.0.1:0")

	// A raw connection, so the test decides when the request body ends.
	conn, err := net.DialTimeout("tcp", d.addr, daemonTimeout)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(daemonTimeout))
	br := bufio.NewReader(conn)
	// One full request first proves the server accepted the connection.
	fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", d.addr)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	body := credentials("alice@example.com", alicePassword)
	fmt.Fprintf(conn, "POST /v1/login HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		d.addr, len(body), body[:10])
	time.Sleep(200 * time.Millisecond) // let the server read the headers: the connection is now active

	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	d.waitLog("shutting down: finishing in-flight requests")
	select {
	case <-d.exited:
		t.Fatalf("latch serve exited with a request in flight; stderr:\n%s", d.stderr())
	case <-time.After(100 * time.Millisecond):
	}
	io.WriteString(conn, body[10:])
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("in-flight login during shutdown: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var tk serveTokens
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &tk) != nil || tk.AccessToken == "" {
		t.Fatalf("in-flight login during shutdown = %d %s, want 200 with tokens", resp.StatusCode, b)
	}
	if code := d.stop(syscall.SIGTERM); code != 0 { // already stopping; the second signal is harmless
		t.Fatalf("latch serve after SIGTERM: exit %d, want 0; stderr:\n%s", code, d.stderr())
	}
	d.waitLog("stopped")
}

// refreshGeneration is the generation a refresh token carries (see the
// token layout in internal/session) and the SHA-256 the store keeps.
func refreshGeneration(t *testing.T, tok string) (int64, []byte) {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != 1+16+8+32+16 {
		t.Fatalf("refresh token %q: not the session package's layout", tok)
	}
	h := sha256.Sum256(raw)
	return int64(binary.BigEndian.Uint64(raw[17:25])), h[:]
}

// TestServeCrashSafety kills the server with SIGKILL while clients are
// rotating refresh tokens, and checks what survives.
//
// The refresh handler commits a rotation before it writes the response,
// so every refresh token a client received is committed. At the kill,
// each session is therefore at the generation of the last token its client
// received, or one further when a rotation had committed but its response
// was lost. In both cases that last token still works after a restart
// within the grace window: it is the current token, or the one just
// rotated, for which the server hands out the committed successor again.
func TestServeCrashSafety(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	addUser(t, data, "alice@example.com", alicePassword)
	args := []string{"--addr", "127.0.0.1:0", "--refresh-grace", "10m"}
	d := startDaemon(t, data, nil, args...)

	const clients = 4
	received := make([][]string, clients) // every refresh token each client received, in order
	sessions := make([]string, clients)
	var rotations atomic.Int64
	var wg sync.WaitGroup
	for i := range clients {
		tk := d.login("alice@example.com", alicePassword)
		sessions[i], received[i] = tk.SessionID, []string{tk.RefreshToken}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				rt := received[i][len(received[i])-1]
				status, b, err := d.call("POST", "/v1/token/refresh", refreshBody(rt), "")
				if err != nil {
					return // the server is gone
				}
				var next serveTokens
				if status != http.StatusOK || json.Unmarshal(b, &next) != nil || next.RefreshToken == "" {
					t.Errorf("client %d: POST /v1/token/refresh = %d %s before the kill, want 200", i, status, b)
					return
				}
				received[i] = append(received[i], next.RefreshToken)
				rotations.Add(1)
			}
		}()
	}
	deadline := time.Now().Add(daemonTimeout)
	for rotations.Load() < 200 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if code := d.stop(syscall.SIGKILL); code != -1 {
		t.Errorf("latch serve after SIGKILL: exit %d, want killed", code)
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	t.Logf("killed after %d rotations", rotations.Load())

	// The database as the kill left it.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, databaseFile)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var integrity string
	if err := db.QueryRow("PRAGMA integrity_check").Scan(&integrity); err != nil || integrity != "ok" {
		t.Fatalf("PRAGMA integrity_check = %q, %v, want ok", integrity, err)
	}
	ahead := 0
	for i, id := range sessions {
		var gen int64
		var cur, prev []byte
		if err := db.QueryRow("SELECT generation, token_hash, prev_hash FROM sessions WHERE id = ?", id).Scan(&gen, &cur, &prev); err != nil {
			t.Fatalf("session %s: %v", id, err)
		}
		last := received[i][len(received[i])-1]
		lastGen, lastHash := refreshGeneration(t, last)
		switch {
		case gen == lastGen && bytes.Equal(cur, lastHash):
		case gen == lastGen+1 && bytes.Equal(prev, lastHash):
			ahead++ // committed, response lost in the kill
		default:
			t.Errorf("client %d: session %s is at generation %d, want %d (the last token received) or %d", i, id, gen, lastGen, lastGen+1)
		}
	}
	t.Logf("%d of %d sessions had a rotation committed whose response was lost", ahead, clients)
	db.Close()

	d = startDaemon(t, data, nil, args...)
	d.mustCall(http.StatusOK, "GET", "/readyz", "", "")
	d.login("alice@example.com", alicePassword)
	for i := range sessions {
		last := received[i][len(received[i])-1]
		lastGen, _ := refreshGeneration(t, last)
		var next serveTokens
		if err := json.Unmarshal(d.mustCall(http.StatusOK, "POST", "/v1/token/refresh", refreshBody(last), ""), &next); err != nil {
			t.Fatal(err)
		}
		if gen, _ := refreshGeneration(t, next.RefreshToken); next.SessionID != sessions[i] || gen != lastGen+1 {
			t.Errorf("client %d: refresh after restart = session %s generation %d, want %s generation %d", i, next.SessionID, gen, sessions[i], lastGen+1)
		}
	}
	if out := mustCLI(t, "", "user", "list", "--data", data); !strings.Contains(out, "alice@example.com") {
		t.Errorf("latch user list = %q, want alice", out)
	}
	d.stopGracefully()
}

// freeAddr returns a loopback address with a port nothing listens on.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestServeEnvironment(t *testing.T) {
	t.Parallel()

	t.Run("variables apply", func(t *testing.T) {
		t.Parallel()
		addr := freeAddr(t)
		d := startDaemon(t, t.TempDir(), []string{
			"LATCH_ADDR=" + addr,
			"LATCH_ISSUER=https://auth.example.com",
			"LATCH_AUDIENCE=https://api.example.com,https://billing.example.com",
		})
		if d.addr != addr || d.issuer != "https://auth.example.com" || d.audience != "https://api.example.com,https://billing.example.com" {
			t.Errorf("listening on %s, issuer %s, audience %s; want LATCH_ADDR, LATCH_ISSUER, LATCH_AUDIENCE", d.addr, d.issuer, d.audience)
		}
		// Signup is off unless asked for.
		d.wantErrorCode(http.StatusNotFound, "not_found", "POST", "/v1/signup", credentials("new@example.com", alicePassword), "")
		d.stopGracefully()
	})

	t.Run("flags win", func(t *testing.T) {
		t.Parallel()
		// LATCH_ADDR names a port in use: the server starts only if
		// --addr takes precedence.
		busy, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer busy.Close()
		d := startDaemon(t, t.TempDir(), []string{
			"LATCH_ADDR=" + busy.Addr().String(),
			"LATCH_AUDIENCE=https://env.example.com",
			"LATCH_ALLOW_SIGNUP=true",
			"LATCH_SIGNUP_LIMIT=1",
		}, "--addr", "127.0.0.1:0", "--audience", "https://flag.example.com", "--signup-limit", "2")
		if d.addr == busy.Addr().String() || d.audience != "https://flag.example.com" {
			t.Errorf("listening on %s, audience %s; want --addr and --audience over the environment", d.addr, d.audience)
		}
		// --signup-limit 2 over LATCH_SIGNUP_LIMIT=1: the second sign-up
		// from this address passes, the third is refused.
		d.mustCall(http.StatusCreated, "POST", "/v1/signup", credentials("new@example.com", alicePassword), "")
		d.mustCall(http.StatusCreated, "POST", "/v1/signup", credentials("new2@example.com", alicePassword), "")
		d.wantErrorCode(http.StatusTooManyRequests, "too_many_requests", "POST", "/v1/signup", credentials("new3@example.com", alicePassword), "")
		d.stopGracefully()
	})

	t.Run("malformed variables", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct {
			env, wantErr string
		}{
			{env: "LATCH_ACCESS_TTL=forever", wantErr: `latch: error: LATCH_ACCESS_TTL="forever": parse error`},
			{env: "LATCH_ALLOW_SIGNUP=maybe", wantErr: `latch: error: LATCH_ALLOW_SIGNUP="maybe": parse error`},
			{env: "LATCH_MAX_BODY=64k", wantErr: `latch: error: LATCH_MAX_BODY="64k": parse error`},
			{env: "LATCH_SIGNUP_LIMIT=0", wantErr: `latch: error: --signup-limit must be at least 1`},
			{env: "LATCH_MAX_CONNECTIONS=-1", wantErr: `latch: error: --max-connections must not be negative`},
		} {
			data := filepath.Join(t.TempDir(), "data")
			r := cli(t, "", []string{tt.env}, "serve", "--data", data, "--addr", "127.0.0.1:0")
			if r.code != exitUsage || !strings.HasPrefix(r.stderr, tt.wantErr+"\n") || !strings.Contains(r.stderr, "usage: latch serve [flags]") {
				t.Errorf("%s latch serve: exit %d, stderr %q; want exit 2, %q and the usage", tt.env, r.code, r.stderr, tt.wantErr)
			}
			if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s latch serve: data directory %v, want none created", tt.env, err)
			}
		}
		r := cli(t, "", nil, "serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0", "--access-ttl", "forever")
		if r.code != exitUsage || !strings.Contains(r.stderr, "usage: latch serve") {
			t.Errorf("latch serve --access-ttl forever: exit %d, stderr %q, want 2 and the usage", r.code, r.stderr)
		}
	})

	t.Run("help", func(t *testing.T) {
		t.Parallel()
		out := mustCLI(t, "", "serve", "--help")
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		serve(serveCommand(), fs)
		n := 0
		fs.VisitAll(func(f *flag.Flag) {
			n++
			env := "LATCH_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
			if f.Name == "database" {
				env = "LATCH_DATABASE_URL" // the name the convention gives a database URL
			}
			re := regexp.MustCompile(`(?m)^  --` + regexp.QuoteMeta(f.Name) + `( \S+)?\n {8}.*\(env ` + env + `\)`)
			if !re.MatchString(out) {
				t.Errorf("latch serve --help does not list --%s with %s:\n%s", f.Name, env, out)
			}
		})
		if n == 0 {
			t.Errorf("latch serve defines no flags")
		}
	})
}

// TestServeUserCommands administers users while the server runs.
func TestServeUserCommands(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	d := startDaemon(t, data, nil, "--addr", "127.0.0.1:0")
	alice := addUser(t, data, "alice@example.com", alicePassword, "admin", "ops")

	// Without --password-stdin a password is generated and printed once.
	out := mustCLI(t, "", "user", "add", "--data", data, "--email", "Bob@Example.com")
	m := regexp.MustCompile(`(?m)^password: (\S{16,})$`).FindStringSubmatch(out)
	if !createdUser.MatchString(out) || m == nil || strings.Count(out, m[1]) != 1 {
		t.Fatalf("latch user add (generated password) = %q, want the user and the password once", out)
	}
	d.login("bob@example.com", m[1])

	wantCLI(t, 1, `^latch: error: a user with e-mail alice@example.com already exists\n$`, "user", "add", "--data", data, "--email", "ALICE@example.com")
	wantCLI(t, 1, `^latch: error: "not-an-address" is not a valid e-mail address\n$`, "user", "add", "--data", data, "--email", "not-an-address")
	wantCLI(t, 2, `^latch: error: --email is required\n`, "user", "add", "--data", data)
	wantCLI(t, 1, `^latch: error: no user with e-mail carol@example.com\n$`, "user", "disable", "--data", data, "--email", "carol@example.com")
	if r := cli(t, "short\n", nil, "user", "add", "--data", data, "--email", "weak@example.com", "--password-stdin"); r.code != 1 {
		t.Errorf("latch user add with a weak password: exit %d, stderr %q, want 1", r.code, r.stderr)
	}

	t.Run("passwd ends sessions", func(t *testing.T) {
		old := d.login("alice@example.com", alicePassword)
		const newPassword = "a whole new password"
		out := mustCLI(t, newPassword+"\n", "user", "passwd", "--data", data, "--email", "alice@example.com", "--password-stdin")
		if out != "password changed for alice@example.com; 1 session(s) revoked\n" {
			t.Errorf("latch user passwd = %q, want one session revoked", out)
		}
		d.wantErrorCode(http.StatusBadRequest, "invalid_grant", "POST", "/v1/token/refresh", refreshBody(old.RefreshToken), "")
		d.wantErrorCode(http.StatusUnauthorized, "invalid_token", "GET", "/v1/me", "", old.AccessToken)
		d.wantErrorCode(http.StatusUnauthorized, "invalid_credentials", "POST", "/v1/login", credentials("alice@example.com", alicePassword), "")
		d.login("alice@example.com", newPassword)
		// Put the known password back for the subtests below.
		mustCLI(t, alicePassword+"\n", "user", "passwd", "--data", data, "--email", "alice@example.com", "--password-stdin")
	})

	t.Run("disable and enable", func(t *testing.T) {
		tk := d.login("alice@example.com", alicePassword)
		out := mustCLI(t, "", "user", "disable", "--data", data, "--email", "alice@example.com")
		if out != "disabled alice@example.com; 1 session(s) revoked\n" {
			t.Errorf("latch user disable = %q, want one session revoked", out)
		}
		d.wantErrorCode(http.StatusForbidden, "account_disabled", "POST", "/v1/login", credentials("alice@example.com", alicePassword), "")
		d.wantErrorCode(http.StatusBadRequest, "invalid_grant", "POST", "/v1/token/refresh", refreshBody(tk.RefreshToken), "")
		d.wantErrorCode(http.StatusUnauthorized, "invalid_token", "GET", "/v1/me", "", tk.AccessToken)

		type row struct {
			ID       string   `json:"id"`
			Email    string   `json:"email"`
			Roles    []string `json:"roles"`
			Disabled bool     `json:"disabled"`
			Created  string   `json:"created_at"`
		}
		var rows []row
		out = mustCLI(t, "", "user", "list", "--data", data, "--json")
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatalf("latch user list --json = %q: %v", out, err)
		}
		if len(rows) != 2 || rows[0].ID != alice || rows[0].Email != "alice@example.com" || !rows[0].Disabled ||
			!slices.Equal(rows[0].Roles, []string{"admin", "ops"}) || rows[1].Email != "bob@example.com" || rows[1].Disabled ||
			rows[1].Roles == nil || len(rows[1].Roles) != 0 {
			t.Errorf("latch user list --json = %s, want alice (disabled, admin+ops) then bob (active, roles [])", out)
		}
		out = mustCLI(t, "", "user", "list", "--data", data)
		if !regexp.MustCompile(`(?m)^` + alice + ` +alice@example\.com +disabled +admin,ops$`).MatchString(out) {
			t.Errorf("latch user list = %q, want alice as disabled with admin,ops", out)
		}

		if out := mustCLI(t, "", "user", "enable", "--data", data, "--email", "alice@example.com"); out != "enabled alice@example.com\n" {
			t.Errorf("latch user enable = %q", out)
		}
		d.login("alice@example.com", alicePassword)
	})
	d.stopGracefully()
}

// keyRow is a line of "latch keys list --json".
type keyRow struct {
	Kid   string   `json:"kid"`
	Alg   string   `json:"alg"`
	State string   `json:"state"`
	Use   []string `json:"use"`
}

// listKeys returns the states of the keys with use ("access" or
// "id_token") by key ID.
func listKeys(t *testing.T, data, use string) map[string]string {
	t.Helper()
	out := mustCLI(t, "", "keys", "list", "--data", data, "--json")
	var rows []keyRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("latch keys list --json = %q: %v", out, err)
	}
	states := map[string]string{}
	for _, r := range rows {
		if slices.Contains(r.Use, use) {
			states[r.Kid] = r.State
		}
	}
	return states
}

// createdKeys matches the output of "latch keys rotate": the access-token
// key, then the ID-token key.
var createdKeys = regexp.MustCompile(`^created key (\S+) \(ES256\); it signs from \S+\ncreated key (\S+) \(RS256\) for ID tokens; it signs from \S+\n$`)

// TestServeKeysCommands manages the signing keys of a data directory and
// checks that a restarted server signs with the new key.
func TestServeKeysCommands(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	addUser(t, data, "alice@example.com", alicePassword)
	d := startDaemon(t, data, nil, "--addr", "127.0.0.1:0")
	d.stopGracefully()

	// The first start creates an access-token key and an ID-token key.
	var first, firstID string
	for use, kid := range map[string]*string{"access": &first, "id_token": &firstID} {
		keys := listKeys(t, data, use)
		if len(keys) != 1 {
			t.Fatalf("latch keys list after the first start = %v, want one %s key", keys, use)
		}
		for k, state := range keys {
			*kid = k
			if state != "signing" {
				t.Fatalf("latch keys list = %v, want the first %s key signing", keys, use)
			}
		}
	}
	out := mustCLI(t, "", "keys", "list", "--data", data)
	if !regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(first)+` +ES256 +signing +\S+ +- +access$`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(firstID)+` +RS256 +signing +\S+ +- +id_token$`).MatchString(out) {
		t.Errorf("latch keys list = %q, want %s signing access tokens and %s ID tokens", out, first, firstID)
	}

	// A normal rotation publishes the next keys before they sign.
	m := createdKeys.FindStringSubmatch(mustCLI(t, "", "keys", "rotate", "--data", data))
	if m == nil {
		t.Fatalf("latch keys rotate: want \"created key KID (ES256); ...\" and \"created key KID (RS256) for ID tokens; ...\"")
	}
	pending, pendingID := m[1], m[2]
	if keys := listKeys(t, data, "access"); keys[first] != "signing" || keys[pending] != "pending" || len(keys) != 2 {
		t.Errorf("latch keys list after rotate = %v, want %s signing and %s pending", keys, first, pending)
	}
	if keys := listKeys(t, data, "id_token"); keys[firstID] != "signing" || keys[pendingID] != "pending" || len(keys) != 2 {
		t.Errorf("latch keys list after rotate = %v, want ID-token keys %s signing and %s pending", keys, firstID, pendingID)
	}
	// The pending key does not sign yet, so the signing key is the only
	// active one.
	wantCLI(t, 1, `^latch: error: keyring: refusing to retire the only active key; rotate first\n$`, "keys", "retire", "--data", data, "--kid", first)
	wantCLI(t, 1, `^latch: error: keyring: unknown key: "nope"\n$`, "keys", "retire", "--data", data, "nope")
	wantCLI(t, 2, `^latch: error: want exactly one key ID\n`, "keys", "retire", "--data", data)

	// An immediate rotation signs at once; then the old key can go.
	m = createdKeys.FindStringSubmatch(mustCLI(t, "", "keys", "rotate", "--data", data, "--now"))
	if m == nil {
		t.Fatalf("latch keys rotate --now: want \"created key KID (ES256); ...\" and an ID-token key")
	}
	now, nowID := m[1], m[2]
	if out := mustCLI(t, "", "keys", "retire", "--data", data, "--kid", first); out != "retired key "+first+"\n" {
		t.Errorf("latch keys retire %s = %q", first, out)
	}
	if keys := listKeys(t, data, "access"); keys[now] != "signing" || keys[first] != "retired" || keys[pending] != "retired" {
		t.Errorf("latch keys list after rotate --now and retire = %v, want %s signing, %s and %s retired", keys, now, first, pending)
	}
	if keys := listKeys(t, data, "id_token"); keys[nowID] != "signing" || keys[firstID] != "retired" || keys[pendingID] != "retired" {
		t.Errorf("latch keys list after rotate --now = %v, want ID-token keys %s signing, %s and %s retired", keys, nowID, firstID, pendingID)
	}
	wantCLI(t, 1, `only active key`, "keys", "retire", "--data", data, "--kid", now)
	wantCLI(t, 1, `only active key`, "keys", "retire", "--data", data, "--kid", nowID)

	// A restarted server signs with the new key and still publishes the
	// retired ones, whose tokens may not have expired.
	d = startDaemon(t, data, nil, "--addr", "127.0.0.1:0")
	tk := d.login("alice@example.com", alicePassword)
	hdr, err := base64.RawURLEncoding.DecodeString(strings.Split(tk.AccessToken, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Kid string `json:"kid"`
	}
	if json.Unmarshal(hdr, &h); h.Kid != now {
		t.Errorf("access token kid = %q, want the new key %s", h.Kid, now)
	}
	jwks := string(d.mustCall(http.StatusOK, "GET", "/.well-known/jwks.json", "", ""))
	for _, kid := range []string{first, pending, now, firstID, pendingID, nowID} {
		if !strings.Contains(jwks, `"kid":"`+kid+`"`) {
			t.Errorf("JWKS after rotation = %s, want key %s published", jwks, kid)
		}
	}
	d.stopGracefully()
}

// dropAnswers starts a TCP proxy to the server at addr that passes each
// request on but never delivers the answer: it reads the answer in full,
// so the server has done all its work, hands it to lost, and closes the
// client's connection without a byte of it, as a network that fails after
// the server answered would. It returns the proxy's address.
func dropAnswers(t *testing.T, addr string, lost func(status int, body []byte)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				s, err := net.Dial("tcp", addr)
				if err != nil {
					return
				}
				defer s.Close()
				if err := req.Write(s); err != nil {
					return
				}
				resp, err := http.ReadResponse(bufio.NewReader(s), req)
				if err != nil {
					return
				}
				body, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err == nil {
					lost(resp.StatusCode, body)
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// TestServeLostRefreshAnswer is a client whose refresh answer the network
// lost after the server had committed the rotation, and that presents its
// refresh token again after the grace window: it gets a working token in
// the same session (a new successor, replacing the lost one), not a reuse
// verdict. The lost token, should anyone present it, is then a reuse and
// ends the session.
func TestServeLostRefreshAnswer(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	addUser(t, data, "alice@example.com", alicePassword)
	const grace = 200 * time.Millisecond
	d := startDaemon(t, data, nil, "--addr", "127.0.0.1:0", "--refresh-grace", grace.String())
	tk := d.login("alice@example.com", alicePassword)

	var lost serveTokens
	answered := make(chan struct{})
	var once sync.Once
	proxy := dropAnswers(t, d.addr, func(status int, body []byte) {
		once.Do(func() {
			if status != http.StatusOK || json.Unmarshal(body, &lost) != nil {
				t.Errorf("the answer the network lost = %d %s, want 200 with tokens", status, body)
			}
			close(answered)
		})
	})
	if resp, err := httpClient.Post("http://"+proxy+"/v1/token/refresh", "application/json", strings.NewReader(refreshBody(tk.RefreshToken))); err == nil {
		resp.Body.Close()
		t.Fatalf("POST /v1/token/refresh through a network that loses answers = %d, want no answer", resp.StatusCode)
	}
	<-answered
	time.Sleep(grace + 100*time.Millisecond)

	var next serveTokens
	if err := json.Unmarshal(d.mustCall(http.StatusOK, "POST", "/v1/token/refresh", refreshBody(tk.RefreshToken), ""), &next); err != nil {
		t.Fatal(err)
	}
	lostGen, _ := refreshGeneration(t, lost.RefreshToken)
	if gen, _ := refreshGeneration(t, next.RefreshToken); next.SessionID != tk.SessionID || gen != lostGen {
		t.Errorf("refresh retried after the lost answer = session %s generation %d, want %s generation %d", next.SessionID, gen, tk.SessionID, lostGen)
	}
	d.mustCall(http.StatusOK, "GET", "/v1/me", "", next.AccessToken)
	var third serveTokens
	if err := json.Unmarshal(d.mustCall(http.StatusOK, "POST", "/v1/token/refresh", refreshBody(next.RefreshToken), ""), &third); err != nil {
		t.Fatal(err)
	}

	// The lost token was replaced: whoever presents it holds what the
	// client does not, and the session ends.
	d.wantErrorCode(http.StatusBadRequest, "invalid_grant", "POST", "/v1/token/refresh", refreshBody(lost.RefreshToken), "")
	d.wantErrorCode(http.StatusBadRequest, "invalid_grant", "POST", "/v1/token/refresh", refreshBody(third.RefreshToken), "")
	d.stopGracefully()
}

// TestServeRefreshRetryAfterKill: the server commits a rotation, answers,
// and is killed with SIGKILL; the client, which never saw the answer,
// presents its refresh token again to the restarted server after the
// grace window, and keeps its session.
func TestServeRefreshRetryAfterKill(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	addUser(t, data, "alice@example.com", alicePassword)
	const grace = 200 * time.Millisecond
	args := []string{"--addr", "127.0.0.1:0", "--refresh-grace", grace.String()}
	d := startDaemon(t, data, nil, args...)
	tk := d.login("alice@example.com", alicePassword)
	var lost serveTokens
	if err := json.Unmarshal(d.mustCall(http.StatusOK, "POST", "/v1/token/refresh", refreshBody(tk.RefreshToken), ""), &lost); err != nil {
		t.Fatal(err)
	}
	if code := d.stop(syscall.SIGKILL); code != -1 {
		t.Errorf("latch serve after SIGKILL: exit %d, want killed", code)
	}

	// The rotation survived the kill.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, databaseFile)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var gen int64
	err = db.QueryRow("SELECT generation FROM sessions WHERE id = ?", tk.SessionID).Scan(&gen)
	db.Close()
	if lostGen, _ := refreshGeneration(t, lost.RefreshToken); err != nil || gen != lostGen {
		t.Fatalf("session %s after the kill = generation %d, %v, want %d", tk.SessionID, gen, err, lostGen)
	}

	d = startDaemon(t, data, nil, args...)
	time.Sleep(grace + 100*time.Millisecond)
	var next serveTokens
	if err := json.Unmarshal(d.mustCall(http.StatusOK, "POST", "/v1/token/refresh", refreshBody(tk.RefreshToken), ""), &next); err != nil {
		t.Fatal(err)
	}
	if g, _ := refreshGeneration(t, next.RefreshToken); next.SessionID != tk.SessionID || g != gen {
		t.Errorf("refresh retried after the restart = session %s generation %d, want %s generation %d", next.SessionID, g, tk.SessionID, gen)
	}
	d.mustCall(http.StatusOK, "GET", "/v1/me", "", next.AccessToken)
	d.mustCall(http.StatusOK, "POST", "/v1/token/refresh", refreshBody(next.RefreshToken), "")
	d.stopGracefully()
}

// TestServePortInUseCreatesNothing: a server that cannot bind its port
// fails before it creates the data directory, master key or signing key.
func TestServePortInUseCreatesNothing(t *testing.T) {
	t.Parallel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	data := filepath.Join(t.TempDir(), "data")
	r := cli(t, "", nil, "serve", "--data", data, "--addr", busy.Addr().String())
	if r.code != 1 || !strings.Contains(r.stderr, "listening on "+busy.Addr().String()) {
		t.Errorf("latch serve on a busy port: exit %d, stderr %q; want 1 and the listen error", r.code, r.stderr)
	}
	if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("latch serve on a busy port: data directory %v, want none created", err)
	}
}

// TestServeMaxConnections: with LATCH_MAX_CONNECTIONS=1, a second
// client is served at once, in the place of the first one's idle
// keep-alive connection, which latch serve closes (the idle timeout is 2
// minutes); the limit is logged at start.
func TestServeMaxConnections(t *testing.T) {
	t.Parallel()
	d := startDaemon(t, t.TempDir(), []string{"LATCH_MAX_CONNECTIONS=1"})
	if l := d.waitLog("connection limit"); l["max_connections"] != float64(1) {
		t.Errorf("connection limit log line %v, want max_connections 1", l)
	}
	get := func(c net.Conn, br *bufio.Reader) (int, error) {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: latch\r\n\r\n"); err != nil {
			return 0, err
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, err
	}
	var conns []net.Conn
	var readers []*bufio.Reader
	for i := range 2 {
		c, err := net.Dial("tcp", d.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns, readers = append(conns, c), append(readers, bufio.NewReader(c))
		if code, err := get(c, readers[i]); err != nil || code != http.StatusOK {
			t.Fatalf("GET /healthz on connection %d = %d, %v; want 200", i+1, code, err)
		}
	}
	conns[0].SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := readers[0].Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("first connection, idle, after a second one: read %d bytes, %v; want it closed (EOF)", n, err)
	}
}
