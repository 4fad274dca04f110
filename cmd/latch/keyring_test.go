package main

import (
	"encoding/json"
	"regexp"
	"slices"
	"testing"
)

// ringKeys returns "latch keys list --json" by key ID.
func ringKeys(t *testing.T, data string) map[string]keyListRow {
	t.Helper()
	out := mustCLI(t, "", "keys", "list", "--data", data, "--json")
	var rows []keyListRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatalf("latch keys list --json = %q: %v", out, err)
	}
	m := map[string]keyListRow{}
	for _, r := range rows {
		m[r.Kid] = r
	}
	return m
}

// keyListRow is the part of a "latch keys list --json" row these tests
// read.
type keyListRow struct {
	Kid   string   `json:"kid"`
	Alg   string   `json:"alg"`
	State string   `json:"state"`
	Use   []string `json:"use"`
}

// TestKeysRevokeIDTokenKey revokes the ID-token key of a data directory:
// a new one replaces it, and the access-token key signs on.
func TestKeysRevokeIDTokenKey(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	startDaemon(t, data, nil, "--addr", "127.0.0.1:0").stopGracefully()

	var access, id string
	for kid, k := range ringKeys(t, data) {
		switch {
		case k.Alg == "ES256" && slices.Equal(k.Use, []string{"access"}) && k.State == "signing":
			access = kid
		case k.Alg == "RS256" && slices.Equal(k.Use, []string{"id_token"}) && k.State == "signing":
			id = kid
		default:
			t.Errorf("latch keys list: unexpected key %+v", k)
		}
	}
	if access == "" || id == "" {
		t.Fatalf("latch keys list after the first start = %v, want an ES256 access key and an RS256 id_token key signing", ringKeys(t, data))
	}

	out := mustCLI(t, "", "keys", "revoke", "--data", data, "--kid", id)
	m := regexp.MustCompile(`^revoked key ` + regexp.QuoteMeta(id) + `\ncreated key (\S+) \(RS256\) for ID tokens; it signs now\n$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("latch keys revoke --kid %s = %q, want the key revoked and an ID-token replacement", id, out)
	}
	keys := ringKeys(t, data)
	if keys[id].State != "revoked" || keys[m[1]].State != "signing" || !slices.Equal(keys[m[1]].Use, []string{"id_token"}) || keys[access].State != "signing" {
		t.Errorf("latch keys list after revoking %s = %+v, want it revoked, %s signing ID tokens, %s signing access tokens", id, keys, m[1], access)
	}
	// The table shows the use last.
	table := mustCLI(t, "", "keys", "list", "--data", data)
	if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(m[1]) + ` +RS256 +signing +\S+ +- +id_token$`).MatchString(table) {
		t.Errorf("latch keys list = %q, want %s signing, use id_token", table, m[1])
	}
}
