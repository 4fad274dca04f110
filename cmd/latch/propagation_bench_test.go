package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latch-auth/latch/revocation"
	"github.com/latch-auth/latch/verifier"
)

// propagationSubscribers is the number of services following the feed in
// BenchmarkRevocationPropagation.
const propagationSubscribers = 50

// BenchmarkRevocationPropagation measures how long a revocation takes to
// reach the services that follow the feed: "latch serve" runs as its own
// process, 50 verifiers (each with its own HTTP transport, so its own
// connection) follow its feed, and every iteration ends one session with
// DELETE /v1/sessions/{id}, then waits until all 50 verifiers refuse that
// session's access token. The latency of an iteration runs from the
// DELETE's response to the last verifier refusing. It reports the p50,
// p99 and maximum of those latencies, the server's CPU time per
// revocation and per subscriber, and its memory per subscriber.
//
// The sessions are opened by password logins before the timer starts
// (argon2id: about 25 ms of CPU each), so use a fixed count:
//
//	go test ./cmd/latch -run '^$' -bench RevocationPropagation -benchtime 1000x
func BenchmarkRevocationPropagation(b *testing.B) {
	data := b.TempDir()
	const email, password = "bench@example.com", "correct horse battery staple"
	out := mustCLI(b, password+"\n", "user", "add", "--data", data, "--email", email, "--password-stdin")
	if !strings.HasPrefix(out, "created user") {
		b.Fatalf("latch user add = %q", out)
	}
	m := clientLines.FindStringSubmatch(mustCLI(b, "", "client", "add", "--data", data, "--name", "bench", "--scope", "revocations:read"))
	if m == nil {
		b.Fatal("latch client add printed no credentials")
	}
	clientID, secret := m[1], m[2]
	d := startDaemon(b, data, nil, "--addr", "127.0.0.1:0")
	pid := d.cmd.Process.Pid

	// The caller's own session, used to end the others.
	admin := d.login(email, password)
	memBefore := rssKiB(b, pid)
	vs := make([]*verifier.Verifier, propagationSubscribers)
	for i := range vs {
		ctx, cancel := context.WithTimeout(b.Context(), daemonTimeout)
		v, err := verifier.New(ctx, verifier.Config{
			HTTPClient: &http.Client{Transport: &http.Transport{}},
			Issuers: []verifier.Issuer{{
				Issuer: d.issuer, Audience: d.audience, JWKSURL: d.url + "/.well-known/jwks.json",
				ClientID: clientID, ClientSecret: secret,
			}},
		})
		cancel()
		if err != nil {
			b.Fatalf("verifier %d: %v", i, err)
		}
		defer v.Close()
		vs[i] = v
	}
	time.Sleep(200 * time.Millisecond) // let the streams settle before reading memory
	memAfter := rssKiB(b, pid)

	// Sessions to revoke, opened concurrently (two hash workers).
	type session struct{ id, access string }
	sessions := make([]session, b.N)
	var wg sync.WaitGroup
	var mu sync.Mutex
	n := 0
	var loginErr error
	for range 4 {
		wg.Go(func() {
			for {
				mu.Lock()
				i := n
				n++
				mu.Unlock()
				if i >= len(sessions) {
					return
				}
				var tk serveTokens
				status, body, err := d.call("POST", "/v1/login", credentials(email, password), "")
				if err == nil && status != http.StatusOK {
					err = fmt.Errorf("status %d: %s", status, body)
				}
				if err == nil {
					err = json.Unmarshal(body, &tk)
				}
				if err != nil {
					mu.Lock()
					loginErr = err
					mu.Unlock()
					return
				}
				sessions[i] = session{tk.SessionID, tk.AccessToken}
			}
		})
	}
	wg.Wait()
	if loginErr != nil {
		b.Fatalf("POST /v1/login: %v", loginErr)
	}
	for _, s := range sessions[:min(len(sessions), 3)] {
		for _, v := range vs {
			if _, err := v.Verify(b.Context(), s.access); err != nil {
				b.Fatalf("Verify(fresh token) = %v", err)
			}
		}
	}

	lat := make([]time.Duration, 0, b.N)
	cpuBefore := cpuTicks(b, pid)
	pending := make([]*verifier.Verifier, 0, len(vs))
	b.ResetTimer()
	for i := range b.N {
		s := sessions[i]
		status, body, err := d.call("DELETE", "/v1/sessions/"+s.id, "", admin.AccessToken)
		if err != nil || status != http.StatusNoContent {
			b.Fatalf("DELETE /v1/sessions/%s = %d %s, %v", s.id, status, body, err)
		}
		start := time.Now()
		pending = append(pending[:0], vs...)
		for len(pending) > 0 {
			left := pending[:0]
			for _, v := range pending {
				_, err := v.Verify(b.Context(), s.access)
				switch {
				case errors.Is(err, revocation.ErrRevoked):
				case err != nil:
					b.Fatalf("Verify = %v, want nil or revoked", err)
				default:
					left = append(left, v)
				}
			}
			pending = left
			if len(pending) > 0 {
				if time.Since(start) > daemonTimeout {
					b.Fatalf("revocation %d not seen by %d verifiers after %v", i, len(pending), daemonTimeout)
				}
				time.Sleep(50 * time.Microsecond)
			}
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	cpu := cpuTicks(b, pid) - cpuBefore

	slices.Sort(lat)
	q := func(p float64) float64 { return float64(lat[int(p*float64(len(lat)-1))]) / float64(time.Millisecond) }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1])/float64(time.Millisecond), "max-ms")
	perRevocation := float64(cpu) * 1e6 / clockTicks / float64(b.N) // µs
	b.ReportMetric(perRevocation, "server-cpu-µs/revocation")
	b.ReportMetric(perRevocation/propagationSubscribers, "server-cpu-µs/revocation/subscriber")
	b.ReportMetric(float64(memAfter-memBefore)/propagationSubscribers, "server-rss-KiB/subscriber")
}

// clockTicks is the kernel's USER_HZ, the unit of /proc/PID/stat times.
const clockTicks = 100

// cpuTicks returns the user plus system CPU time of process pid, in
// clock ticks.
func cpuTicks(b *testing.B, pid int) int64 {
	b.Helper()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Skipf("no /proc: %v", err)
	}
	// Fields after the parenthesised command name; utime and stime are
	// fields 14 and 15 of the whole line.
	f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return utime + stime
}

// rssKiB returns the resident set size of process pid.
func rssKiB(b *testing.B, pid int) int64 {
	b.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
