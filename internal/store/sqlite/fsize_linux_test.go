package sqlite

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/store"
)

// fullDiskChild names the database that TestPingFailsWhenWritesFail's
// child process works on.
const fullDiskChild = "LATCH_TEST_FULL_DISK_DB"

// TestPingFailsWhenWritesFail checks that Ping, the readiness check, fails
// while writes fail and reads still work, as on a full disk, and recovers
// with the disk. A full disk is stood in for by RLIMIT_FSIZE, which makes
// every write to a file at an offset past the limit fail with EFBIG (Go
// ignores the SIGXFSZ that comes with it). Unlike a read-only mode or a
// full tmpfs, that works for root too and needs no privilege; the limit
// is the whole process's, so the test runs in a child process of its own.
func TestPingFailsWhenWritesFail(t *testing.T) {
	if path := os.Getenv(fullDiskChild); path != "" {
		pingWithFullDisk(t, path)
		return
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestPingFailsWhenWritesFail$", "-test.v")
	cmd.Env = append(os.Environ(), fullDiskChild+"="+filepath.Join(t.TempDir(), "latch.db"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the child process with RLIMIT_FSIZE failed: %v\n%s", err, out)
	}
	t.Logf("child process:\n%s", out)
}

// pingWithFullDisk runs in the child process.
func pingWithFullDisk(t *testing.T, path string) {
	ctx := t.Context()
	db, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("Open(%s) = %v, want nil", path, err)
	}
	defer db.Close()
	if err := db.CreateUser(ctx, store.User{ID: "u1", Email: "alice@example.com"}); err != nil {
		t.Fatalf("CreateUser(u1) = %v, want nil", err)
	}
	if err := db.Ping(ctx); err != nil {
		t.Fatalf("Ping() = %v, want nil", err)
	}

	var limit syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &limit); err != nil {
		t.Fatalf("getrlimit(RLIMIT_FSIZE) = %v", err)
	}
	full := limit
	full.Cur = 1 // no write past the first byte of any file
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &full); err != nil {
		t.Fatalf("setrlimit(RLIMIT_FSIZE, 1) = %v", err)
	}
	restored := false
	restore := func() {
		if !restored {
			restored = true
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limit); err != nil {
				t.Fatalf("setrlimit(RLIMIT_FSIZE) back = %v", err)
			}
		}
	}
	defer restore()

	if err := db.CreateUser(ctx, store.User{ID: "u2", Email: "bob@example.com"}); err == nil {
		t.Fatalf("CreateUser(u2) with writes failing = nil, want an error")
	}
	time.Sleep(pingInterval) // past the last check, which Ping may answer from
	err = db.Ping(ctx)
	if err == nil {
		t.Errorf("Ping() with writes failing = nil, want an error")
	}
	t.Logf("Ping() with writes failing = %v", err)
	if u, err := db.UserByID(ctx, "u1"); err != nil || u.Email != "alice@example.com" {
		t.Errorf("UserByID(u1) with writes failing = %+v, %v, want alice, nil", u, err)
	}

	restore()
	time.Sleep(pingInterval)
	if err := db.Ping(ctx); err != nil {
		t.Errorf("Ping() once writes work again = %v, want nil", err)
	}
	if err := db.CreateUser(ctx, store.User{ID: "u2", Email: "bob@example.com"}); err != nil {
		t.Errorf("CreateUser(u2) once writes work again = %v, want nil", err)
	}
}
