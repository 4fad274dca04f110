package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// This file runs the real latch binary for the end-to-end tests: it builds
// ../cmd/latch once, starts "latch serve" on a fresh data directory and a
// free loopback port, and drives the CLI to create users and clients.

// latchTimeout bounds every CLI run and the wait for the server to listen.
const latchTimeout = 60 * time.Second

// binDir holds the binary built for this test run; TestMain removes it.
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// buildLatch builds ../cmd/latch with the main module's own go.mod (not
// this module's), once per test binary.
var buildLatch = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "latch-interop-")
	if err != nil {
		return "", err
	}
	binDir = dir
	bin := filepath.Join(dir, "latch")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/latch")
	cmd.Dir = ".." // the main module's root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/latch: %v\n%s", err, out)
	}
	return bin, nil
})

// latchBin returns the path of the latch binary, building it on first use.
func latchBin(t testing.TB) string {
	t.Helper()
	bin, err := buildLatch()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// latchEnv is the environment without LATCH_ variables, so that the
// caller's configuration cannot change what the tests run.
func latchEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "LATCH_") {
			env = append(env, kv)
		}
	}
	return env
}

// runLatch runs the latch CLI with stdin and returns its standard output;
// a non-zero exit fails the test with the command's standard error.
func runLatch(t testing.TB, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), latchTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, latchBin(t), args...)
	cmd.Env = latchEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("latch %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// latchd is a running "latch serve".
type latchd struct {
	data     string // the data directory
	addr     string // host:port, from the "listening" log line
	issuer   string // the issuer URL
	audience string // the audience of the access tokens it issues

	cmd    *exec.Cmd
	mu     sync.Mutex
	lines  []string      // standard error (JSON log records), line by line
	more   chan struct{} // closed when a line arrives or the process exits
	exited chan struct{} // closed when the process has exited
}

// startLatch starts "latch serve" on a new data directory and a free
// loopback port, with args added to its command line, and waits until it
// listens. The server stops when the test ends; if the test failed, its
// log is printed.
func startLatch(t testing.TB, args ...string) *latchd {
	t.Helper()
	d := &latchd{data: t.TempDir(), more: make(chan struct{}), exited: make(chan struct{})}
	d.cmd = exec.Command(latchBin(t), append([]string{"serve", "--data", d.data, "--addr", "127.0.0.1:0", "--drain-period", "0s"}, args...)...)
	d.cmd.Env = latchEnv()
	stderr, err := d.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			d.mu.Lock()
			d.lines = append(d.lines, sc.Text())
			close(d.more)
			d.more = make(chan struct{})
			d.mu.Unlock()
		}
		d.cmd.Wait()
		close(d.exited)
	}()
	t.Cleanup(func() {
		d.cmd.Process.Signal(os.Interrupt)
		select {
		case <-d.exited:
		case <-time.After(10 * time.Second):
			d.cmd.Process.Kill()
			<-d.exited
		}
		if t.Failed() {
			t.Logf("latch serve log:\n%s", d.log())
		}
	})
	l := d.waitLog(t, "listening")
	d.addr, _ = l["addr"].(string)
	d.issuer, _ = l["issuer"].(string)
	d.audience, _ = l["audience"].(string)
	if d.addr == "" || d.issuer == "" || d.audience == "" {
		t.Fatalf("latch serve: listening record %v, want addr, issuer and audience", l)
	}
	return d
}

// log returns what the server has logged so far.
func (d *latchd) log() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return strings.Join(d.lines, "\n")
}

// waitLog waits for the first log record with message msg.
func (d *latchd) waitLog(t testing.TB, msg string) map[string]any {
	t.Helper()
	deadline := time.After(latchTimeout)
	for {
		d.mu.Lock()
		lines, more := d.lines, d.more
		d.mu.Unlock()
		for _, line := range lines {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
				return rec
			}
		}
		select {
		case <-more:
		case <-d.exited:
			t.Fatalf("latch serve exited before logging %q:\n%s", msg, d.log())
		case <-deadline:
			t.Fatalf("latch serve: no %q log record after %v:\n%s", msg, latchTimeout, d.log())
		}
	}
}

var createdUser = regexp.MustCompile(`(?m)^created user (u_[0-9a-f]+) `)

// addUser creates a user with "latch user add --password-stdin" and
// returns the user's ID.
func (d *latchd) addUser(t testing.TB, email, password string) string {
	t.Helper()
	out := runLatch(t, password+"\n", "user", "add", "--data", d.data, "--email", email, "--password-stdin")
	m := createdUser.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("latch user add --email %s printed %q, want \"created user ID (%s)\"", email, out, email)
	}
	return m[1]
}

// registeredClient is what "latch client add --json" prints.
type registeredClient struct {
	ID     string `json:"client_id"`
	Secret string `json:"client_secret"` // absent for a public client
	Type   string `json:"type"`          // confidential or public
}

// addClient registers a client with "latch client add --data DIR --json
// args..." and returns its ID and secret.
func (d *latchd) addClient(t testing.TB, args ...string) registeredClient {
	t.Helper()
	args = append([]string{"client", "add", "--data", d.data, "--json"}, args...)
	out := runLatch(t, "", args...)
	var c registeredClient
	if err := json.Unmarshal([]byte(out), &c); err != nil || c.ID == "" {
		t.Fatalf("latch %s printed %q, want a JSON object with client_id (%v)", strings.Join(args, " "), out, err)
	}
	return c
}
