package main

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestServeTrustedProxies checks --trusted-proxies through the binary:
// the session list shows the client address a trusted proxy forwarded,
// malformed networks are usage errors, and the removed --trust-proxy is
// refused with a pointer to its replacement.
func TestServeTrustedProxies(t *testing.T) {
	t.Parallel()

	t.Run("forwarded address", func(t *testing.T) {
		t.Parallel()
		data := t.TempDir()
		addUser(t, data, "alice@example.com", alicePassword)
		// The test is the load balancer, on 127.0.0.1; the CDN edge in
		// 198.51.100.0/24 appended the client's address.
		d := startDaemon(t, data, []string{"LATCH_TRUSTED_PROXIES=127.0.0.1, 198.51.100.0/24"}, "--addr", "127.0.0.1:0", "--drain-period", "0s")
		req, err := http.NewRequest("POST", d.url+"/v1/login", strings.NewReader(credentials("alice@example.com", alicePassword)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", "192.0.2.1, 203.0.113.7, 198.51.100.9")
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var tk serveTokens
		err = json.NewDecoder(resp.Body).Decode(&tk)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || err != nil {
			t.Fatalf("POST /v1/login = %d, %v; want 200 with tokens", resp.StatusCode, err)
		}
		var list struct {
			Sessions []struct {
				IP string `json:"ip"`
			} `json:"sessions"`
		}
		if err := json.Unmarshal(d.mustCall(http.StatusOK, "GET", "/v1/sessions", "", tk.AccessToken), &list); err != nil || len(list.Sessions) != 1 || list.Sessions[0].IP != "203.0.113.7" {
			t.Errorf("GET /v1/sessions = %+v, %v; want one session from 203.0.113.7", list, err)
		}
		d.stopGracefully()
	})

	t.Run("usage errors", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct {
			name    string
			env     []string
			args    []string
			wantErr string
		}{
			{name: "trust-proxy flag", args: []string{"--trust-proxy"}, wantErr: "latch: error: --trust-proxy (LATCH_TRUST_PROXY) is removed: it let any client that reaches the port choose its address; list the networks of your proxies with --trusted-proxies"},
			{name: "trust-proxy variable", env: []string{"LATCH_TRUST_PROXY=true"}, wantErr: "latch: error: --trust-proxy (LATCH_TRUST_PROXY) is removed"},
			{name: "host bits set", args: []string{"--trusted-proxies", "10.0.0.1/8"}, wantErr: `latch: error: invalid value "10.0.0.1/8" for flag -trusted-proxies: "10.0.0.1/8" has host bits set: write 10.0.0.0/8 for the network or 10.0.0.1/32 for the one address`},
			{name: "everything trusted", args: []string{"--trusted-proxies", "0.0.0.0/0"}, wantErr: `trusts every address`},
			{name: "not a network", env: []string{"LATCH_TRUSTED_PROXIES=10.0.0.0/8,proxy.internal"}, wantErr: `latch: error: LATCH_TRUSTED_PROXIES="10.0.0.0/8,proxy.internal": "proxy.internal" is neither a network (CIDR) nor an IP address`},
			{name: "negative drain period", args: []string{"--drain-period", "-1s"}, wantErr: "latch: error: --drain-period must not be negative"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := cli(t, "", tt.env, append([]string{"serve", "--data", t.TempDir(), "--addr", "127.0.0.1:0"}, tt.args...)...)
				if r.code != exitUsage || !strings.HasPrefix(r.stderr, "latch: error: ") || !strings.Contains(r.stderr, tt.wantErr) || !strings.Contains(r.stderr, "usage: latch serve") {
					t.Errorf("latch serve %s: exit %d, stderr %q; want 2 and %q", strings.Join(tt.args, " "), r.code, r.stderr, tt.wantErr)
				}
			})
		}
	})
}
