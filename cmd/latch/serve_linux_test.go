package main

import (
	"net/http"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// setFileSizeLimit sets the soft RLIMIT_FSIZE of the process pid to cur
// bytes with prlimit(2), keeping its hard limit.
func setFileSizeLimit(t *testing.T, pid int, cur uint64) {
	t.Helper()
	var old syscall.Rlimit
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), syscall.RLIMIT_FSIZE,
		0, uintptr(unsafe.Pointer(&old)), 0, 0); errno != 0 {
		t.Fatalf("prlimit(%d, RLIMIT_FSIZE) = %v", pid, errno)
	}
	limit := syscall.Rlimit{Cur: min(cur, old.Max), Max: old.Max}
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), syscall.RLIMIT_FSIZE,
		uintptr(unsafe.Pointer(&limit)), 0, 0, 0); errno != 0 {
		t.Fatalf("prlimit(%d, RLIMIT_FSIZE, %d) = %v", pid, cur, errno)
	}
}

// pollUntil polls cond every 100 ms for up to 5 s.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestServeReadyReflectsWrites checks that /readyz fails while the server
// can read its database but not write it, as on a full disk, and recovers
// with the disk. The full disk is stood in for by lowering the running
// server's RLIMIT_FSIZE to one byte: every write to a file past its first
// byte then fails with EFBIG (Go ignores the SIGXFSZ that comes with it).
// That works as root and without a file system of its own, unlike a full
// tmpfs, a read-only remount or a chmod (which root ignores).
func TestServeReadyReflectsWrites(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	addUser(t, data, "alice@example.com", alicePassword)
	d := startDaemon(t, data, nil, "--addr", "127.0.0.1:0")
	tk := d.login("alice@example.com", alicePassword)
	d.mustCall(http.StatusOK, "GET", "/readyz", "", "")

	setFileSizeLimit(t, d.cmd.Process.Pid, 1)
	// Writes fail: a refresh cannot commit its rotation.
	if status, b, err := d.call("POST", "/v1/token/refresh", refreshBody(tk.RefreshToken), ""); err != nil || status < 500 {
		t.Errorf("POST /v1/token/refresh with writes failing = %d %s, %v, want a 5xx", status, b, err)
	}
	pollUntil(t, "GET /readyz = 503 with writes failing", func() bool {
		status, _, err := d.call("GET", "/readyz", "", "")
		return err == nil && status == http.StatusServiceUnavailable
	})
	d.wantErrorCode(http.StatusServiceUnavailable, "not_ready", "GET", "/readyz", "", "")
	// Reads still work.
	d.mustCall(http.StatusOK, "GET", "/v1/me", "", tk.AccessToken)

	setFileSizeLimit(t, d.cmd.Process.Pid, ^uint64(0)) // RLIM_INFINITY, capped at the hard limit
	pollUntil(t, "GET /readyz = 200 once writes work again", func() bool {
		status, _, err := d.call("GET", "/readyz", "", "")
		return err == nil && status == http.StatusOK
	})
	// The refresh that failed changed nothing: the same token works.
	d.mustCall(http.StatusOK, "POST", "/v1/token/refresh", refreshBody(tk.RefreshToken), "")
	d.stopGracefully()
}
