package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latch-auth/latch/internal/issuer"
	"github.com/latch-auth/latch/jose"
)

// writeEncKeys writes a new encryption key of alg as a private and a
// public JWK file in dir, and returns their paths.
func writeEncKeys(t *testing.T, dir string, alg jose.KeyManagement) (priv, pub string) {
	t.Helper()
	k, err := jose.GenerateEncryptionKey(alg, "")
	if err != nil {
		t.Fatal(err)
	}
	privJWK, err := k.PrivateJWK()
	if err != nil {
		t.Fatal(err)
	}
	priv = filepath.Join(dir, string(alg)+".priv.json")
	if err := os.WriteFile(priv, privJWK, 0o600); err != nil {
		t.Fatal(err)
	}
	if k.IsSymmetric() {
		return priv, ""
	}
	p, err := k.Public()
	if err != nil {
		t.Fatal(err)
	}
	pubJWK, err := p.PublicJWK()
	if err != nil {
		t.Fatal(err)
	}
	pub = filepath.Join(dir, string(alg)+".pub.json")
	if err := os.WriteFile(pub, pubJWK, 0o644); err != nil {
		t.Fatal(err)
	}
	return priv, pub
}

// TestClientEncryptionKey registers, replaces and removes a client's
// encryption key, and checks the keys that are refused.
func TestClientEncryptionKey(t *testing.T) {
	data := t.TempDir()
	keys := t.TempDir()
	ecPriv, ecPub := writeEncKeys(t, keys, jose.ECDHESA256KW)
	_, rsaPub := writeEncKeys(t, keys, jose.RSAOAEP256)
	secret, _ := writeEncKeys(t, keys, jose.A256KW)

	v, _ := latchClient(t, "client", "add", "--data", data, "--name", "orders", "--scope", "revocations:read",
		"--encryption-key", ecPub, "--json")
	stored := storedClient(t, data, v.ID)
	key, err := issuer.ParseClientKey(stored.EncryptionKey)
	if err != nil || key.Algorithm() != jose.ECDHESA256KW {
		t.Fatalf("stored encryption key %q: %v, %v; want a public ECDH-ES+A256KW JWK", stored.EncryptionKey, key, err)
	}
	if !strings.Contains(string(v.EncryptionKey), `"alg": "ECDH-ES+A256KW"`) {
		t.Errorf("client add --json encryption_key = %s, want the JWK", v.EncryptionKey)
	}

	v, _ = latchClient(t, "client", "update", "--data", data, "--id", v.ID, "--encryption-key", rsaPub)
	if c := storedClient(t, data, v.ID); !strings.Contains(c.EncryptionKey, `"RSA-OAEP-256"`) {
		t.Errorf("after update, stored key = %q, want the RSA key", c.EncryptionKey)
	}
	v, _ = latchClient(t, "client", "update", "--data", data, "--id", v.ID, "--encryption-key", "")
	if c := storedClient(t, data, v.ID); c.EncryptionKey != "" || v.EncryptionKey != nil {
		t.Errorf("after --encryption-key '', stored key = %q, view %s; want none", c.EncryptionKey, v.EncryptionKey)
	}

	tests := []struct {
		name, file, want string
	}{
		{"private key", ecPriv, "is a private key: register its public half"},
		{"shared secret", secret, "is a shared secret (A256KW): register a public key"},
		{"not a key", filepath.Join(keys, "missing.json"), "missing.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, args := range [][]string{
				{"client", "add", "--data", data, "--name", "svc " + tt.name, "--scope", "introspect", "--encryption-key", tt.file},
				{"client", "update", "--data", data, "--id", v.ID, "--encryption-key", tt.file},
			} {
				r := latch(t, nil, args...)
				if r.code != 1 || r.stdout != "" || !isErrorLine(r.stderr) || !strings.Contains(r.stderr, tt.want) {
					t.Errorf("latch %s: exit %d, stdout %q, stderr %q; want 1 and one error line with %q",
						strings.Join(args[:2], " "), r.code, r.stdout, r.stderr, tt.want)
				}
			}
			if c := storedClient(t, data, v.ID); c.EncryptionKey != "" {
				t.Errorf("a refused key was stored: %q", c.EncryptionKey)
			}
		})
	}
}
