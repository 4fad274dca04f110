package keyring_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/latch-auth/latch/internal/keyring"
)

func TestLoadMasterKeyCreatesPrivateFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are not POSIX on Windows")
	}
	dir := t.TempDir()
	key, created, err := keyring.LoadMasterKey(dir, "")
	if err != nil {
		t.Fatalf("LoadMasterKey(empty dir) error: %v", err)
	}
	if !created || len(key) != keyring.MasterKeySize {
		t.Fatalf("LoadMasterKey(empty dir) = %d-byte key, created %v; want %d bytes, created true", len(key), created, keyring.MasterKeySize)
	}
	path := filepath.Join(dir, keyring.MasterKeyFile)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Mode().Perm(); got != 0o600 {
		t.Errorf("mode of %s = %v, want -rw-------", keyring.MasterKeyFile, got)
	}
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := hex.EncodeToString(key) + "\n"; string(content) != want {
		t.Errorf("content of %s does not hold the returned key as hex", keyring.MasterKeyFile)
	}

	again, created, err := keyring.LoadMasterKey(dir, "")
	if err != nil {
		t.Fatalf("LoadMasterKey(existing file) error: %v", err)
	}
	if created || !bytes.Equal(again, key) {
		t.Errorf("LoadMasterKey(existing file) = same key %v, created %v; want same key, created false", bytes.Equal(again, key), created)
	}

	other, _, err := keyring.LoadMasterKey(t.TempDir(), "")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(other, key) {
		t.Error("two new master keys are equal")
	}
}

func TestLoadMasterKeyRefusesLooseFile(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes are not POSIX on Windows")
	}
	tests := []struct {
		name string
		mode os.FileMode
	}{
		{"group readable", 0o640},
		{"world readable", 0o604},
		{"group writable", 0o620},
		{"everyone", 0o666},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, _, err := keyring.LoadMasterKey(dir, ""); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, keyring.MasterKeyFile)
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			key, created, err := keyring.LoadMasterKey(dir, "")
			if !errors.Is(err, keyring.ErrMasterKey) {
				t.Fatalf("LoadMasterKey(file mode %v) error = %v, want %v", tt.mode, err, keyring.ErrMasterKey)
			}
			if key != nil || created {
				t.Errorf("LoadMasterKey(file mode %v) = %d-byte key, created %v; want nil, false", tt.mode, len(key), created)
			}
		})
	}
}

func TestLoadMasterKeyBadFile(t *testing.T) {
	tests := []struct {
		name    string
		content string
	}{
		{"empty", ""},
		{"short hex", strings.Repeat("ab", 31) + "\n"},
		{"long hex", strings.Repeat("ab", 33) + "\n"},
		{"garbage", "not a key\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, keyring.MasterKeyFile), []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			key, _, err := keyring.LoadMasterKey(dir, "")
			if !errors.Is(err, keyring.ErrMasterKey) || key != nil {
				t.Errorf("LoadMasterKey(file %q) = %d-byte key, %v; want nil, %v", tt.content, len(key), err, keyring.ErrMasterKey)
			}
		})
	}
}

func TestLoadMasterKeyFromEnv(t *testing.T) {
	want := make([]byte, keyring.MasterKeySize)
	for i := range want {
		want[i] = byte(i*7 + 0xf0) // includes bytes that differ between base64 alphabets
	}
	tests := []struct {
		name string
		env  string
	}{
		{"hex", hex.EncodeToString(want)},
		{"upper-case hex", strings.ToUpper(hex.EncodeToString(want))},
		{"hex with newline", hex.EncodeToString(want) + "\n"},
		{"base64", base64.StdEncoding.EncodeToString(want)},
		{"base64 unpadded", base64.RawStdEncoding.EncodeToString(want)},
		{"base64url", base64.URLEncoding.EncodeToString(want)},
		{"base64url unpadded", base64.RawURLEncoding.EncodeToString(want)},
		{"base64 with spaces around", "  " + base64.StdEncoding.EncodeToString(want) + " \n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			got, created, err := keyring.LoadMasterKey(dir, tt.env)
			if err != nil {
				t.Fatalf("LoadMasterKey(env %q) error: %v", tt.env, err)
			}
			if !bytes.Equal(got, want) || created {
				t.Errorf("LoadMasterKey(env %q) = %x, created %v; want %x, false", tt.env, got, created, want)
			}
			if _, err := os.Stat(filepath.Join(dir, keyring.MasterKeyFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("LoadMasterKey(env) touched %s: stat error %v, want not exist", keyring.MasterKeyFile, err)
			}
		})
	}
}

func TestLoadMasterKeyEnvWinsOverFile(t *testing.T) {
	dir := t.TempDir()
	fromFile, _, err := keyring.LoadMasterKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Repeat([]byte{0x42}, keyring.MasterKeySize)
	got, _, err := keyring.LoadMasterKey(dir, hex.EncodeToString(want))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) || bytes.Equal(got, fromFile) {
		t.Errorf("LoadMasterKey(dir with file, env) = %x, want the env key %x", got, want)
	}
}

func TestLoadMasterKeyMalformedEnv(t *testing.T) {
	secret := strings.Repeat("c", 62) // a near-miss key must not be echoed
	tests := []struct {
		name string
		env  string
	}{
		{"short hex", secret},
		{"long hex", strings.Repeat("ab", 33)},
		{"odd hex", strings.Repeat("a", 63)},
		{"31 bytes base64", base64.StdEncoding.EncodeToString(make([]byte, 31))},
		{"33 bytes base64", base64.StdEncoding.EncodeToString(make([]byte, 33))},
		{"not an encoding", "correct horse battery staple!!"},
		{"only spaces", "   "},
		{"hex with inner space", strings.Repeat("ab", 16) + " " + strings.Repeat("ab", 16)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			key, created, err := keyring.LoadMasterKey(dir, tt.env)
			if !errors.Is(err, keyring.ErrMasterKey) {
				t.Fatalf("LoadMasterKey(env %q) error = %v, want %v", tt.env, err, keyring.ErrMasterKey)
			}
			if key != nil || created {
				t.Errorf("LoadMasterKey(env %q) = %d-byte key, created %v; want nil, false", tt.env, len(key), created)
			}
			if s := strings.TrimSpace(tt.env); s != "" && strings.Contains(err.Error(), s) {
				t.Errorf("LoadMasterKey(env %q) error %q quotes the key", tt.env, err)
			}
			if _, err := os.Stat(filepath.Join(dir, keyring.MasterKeyFile)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("LoadMasterKey(bad env) fell back to %s: stat error %v, want not exist", keyring.MasterKeyFile, err)
			}
		})
	}
}

func TestRefreshSecret(t *testing.T) {
	a := bytes.Repeat([]byte{1}, keyring.MasterKeySize)
	b := bytes.Repeat([]byte{2}, keyring.MasterKeySize)
	sa, err := keyring.RefreshSecret(a)
	if err != nil {
		t.Fatal(err)
	}
	again, err := keyring.RefreshSecret(bytes.Clone(a))
	if err != nil {
		t.Fatal(err)
	}
	sb, err := keyring.RefreshSecret(b)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case len(sa) != 32:
		t.Errorf("len(RefreshSecret(a)) = %d, want 32", len(sa))
	case !bytes.Equal(sa, again):
		t.Error("RefreshSecret(a) differs between calls; every node must derive the same secret")
	case bytes.Equal(sa, sb):
		t.Error("RefreshSecret(a) = RefreshSecret(b) for different master keys")
	case bytes.Equal(sa, a):
		t.Error("RefreshSecret(a) = a; want a derived subkey, not the master key")
	}
	for _, n := range []int{0, 16, 31, 33, 64} {
		if s, err := keyring.RefreshSecret(make([]byte, n)); !errors.Is(err, keyring.ErrMasterKey) || s != nil {
			t.Errorf("RefreshSecret(%d bytes) = %d bytes, %v; want nil, %v", n, len(s), err, keyring.ErrMasterKey)
		}
	}
}
