package keyring

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// MasterKeySize is the size of the master key in bytes.
const MasterKeySize = 32

// MasterKeyFile is the name of the master key file in the data directory.
const MasterKeyFile = "master.key"

// ErrMasterKey reports a master key that cannot be used.
var ErrMasterKey = errors.New("keyring: bad master key")

// LoadMasterKey returns the master key that encrypts signing keys at rest.
//
// If env is not empty it is the key, as 64 hex digits or as base64 of 32
// bytes (the LATCH_MASTER_KEY variable). Otherwise the key is read from
// MasterKeyFile in dir; if that file does not exist, a new random key is
// written there with mode 0600 and created is true, so the caller can warn
// the operator to back it up: without it the signing keys in the database
// cannot be decrypted. A key file readable by group or others is refused.
func LoadMasterKey(dir, env string) (key []byte, created bool, err error) {
	if env != "" {
		key, err := parseMasterKey(env)
		if err != nil {
			return nil, false, fmt.Errorf("%w: LATCH_MASTER_KEY: %v", ErrMasterKey, err)
		}
		return key, false, nil
	}
	path := filepath.Join(dir, MasterKeyFile)
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		info, err := os.Stat(path)
		if err != nil {
			return nil, false, fmt.Errorf("keyring: %w", err)
		}
		if info.Mode().Perm()&0o077 != 0 {
			return nil, false, fmt.Errorf("%w: %s is accessible by group or others (mode %v); chmod 600 it", ErrMasterKey, path, info.Mode().Perm())
		}
		key, err := parseMasterKey(string(b))
		if err != nil {
			return nil, false, fmt.Errorf("%w: %s: %v", ErrMasterKey, path, err)
		}
		return key, false, nil
	case errors.Is(err, fs.ErrNotExist):
		key = make([]byte, MasterKeySize)
		rand.Read(key)
		if err := writeNew(path, []byte(hex.EncodeToString(key)+"\n")); err != nil {
			return nil, false, fmt.Errorf("keyring: creating master key: %w", err)
		}
		return key, true, nil
	default:
		return nil, false, fmt.Errorf("keyring: reading master key: %w", err)
	}
}

func parseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if k, err := hex.DecodeString(s); err == nil && len(k) == MasterKeySize {
		return k, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == MasterKeySize {
			return k, nil
		}
	}
	return nil, fmt.Errorf("want %d bytes as 64 hex digits or base64", MasterKeySize)
}

// writeNew creates path with mode 0600, failing if it exists, and syncs it.
func writeNew(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}

// derive returns a subkey of the master key for one purpose (HKDF-SHA256).
func derive(master []byte, purpose string) ([]byte, error) {
	if len(master) != MasterKeySize {
		return nil, fmt.Errorf("%w: %d bytes, want %d", ErrMasterKey, len(master), MasterKeySize)
	}
	return hkdf.Key(sha256.New, master, nil, "latch "+purpose, 32)
}

// RefreshSecret derives the secret that authenticates refresh tokens
// (internal/session) from the master key, so it needs no storage of its
// own and is shared by every server node that has the master key.
func RefreshSecret(master []byte) ([]byte, error) { return derive(master, "refresh tokens v1") }
