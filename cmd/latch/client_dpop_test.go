package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestClientRequireDPoP: --require-dpop on "latch client add" and
// "update" sets and lifts store.Client.RequireDPoP, which "client list"
// shows, as dpop_bound_access_tokens (RFC 9449 §5.2) in JSON.
func TestClientRequireDPoP(t *testing.T) {
	data := t.TempDir()
	svc, _ := latchClient(t, "client", "add", "--data", data, "--name", "svc", "--json",
		"--grant-type", "client_credentials", "--scope", "orders:read", "--require-dpop")
	if !svc.RequireDPoP || !storedClient(t, data, svc.ID).RequireDPoP {
		t.Fatalf("latch client add --require-dpop = %+v, stored %v; want DPoP required", svc, storedClient(t, data, svc.ID).RequireDPoP)
	}
	tests := []struct {
		name string
		args []string
		want bool
	}{
		{"unrelated change keeps it", []string{"--name", "svc2"}, true},
		{"lifted", []string{"--require-dpop=false"}, false},
		{"set again", []string{"--require-dpop"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _ := latchClient(t, append([]string{"client", "update", "--data", data, "--id", svc.ID}, tt.args...)...)
			if v.RequireDPoP != tt.want || storedClient(t, data, svc.ID).RequireDPoP != tt.want {
				t.Errorf("latch client update %s: printed %v, stored %v; want %v", strings.Join(tt.args, " "), v.RequireDPoP, storedClient(t, data, svc.ID).RequireDPoP, tt.want)
			}
			r := latch(t, nil, "client", "list", "--data", data, "--json")
			var list []map[string]any
			if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 1 || list[0]["dpop_bound_access_tokens"] != tt.want {
				t.Errorf("latch client list --json = %s, %v; want dpop_bound_access_tokens %v", r.stdout, err, tt.want)
			}
			r = latch(t, nil, "client", "list", "--data", data)
			if got := strings.Contains(r.stdout, "DPoP required"); got != tt.want {
				t.Errorf("latch client list = %q: shows DPoP required %v, want %v", r.stdout, got, tt.want)
			}
		})
	}
	plain, _ := latchClient(t, "client", "add", "--data", data, "--name", "plain", "--json", "--scope", "introspect")
	if plain.RequireDPoP {
		t.Errorf("latch client add without --require-dpop = %+v, want DPoP not required", plain)
	}
}
