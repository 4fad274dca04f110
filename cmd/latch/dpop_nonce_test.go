package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/verifier"
)

// TestServeDPoPNonce: "latch serve --dpop-nonce" (or LATCH_DPOP_NONCE)
// requires a server nonce in DPoP proofs, and nodes with the same master
// key accept each other's nonces without sharing anything else, while a
// node with another master key refuses them.
func TestServeDPoPNonce(t *testing.T) {
	t.Parallel()
	const issuer = "http://latch.test"
	master := "LATCH_MASTER_KEY=" + strings.Repeat("ab", 32)
	other := "LATCH_MASTER_KEY=" + strings.Repeat("cd", 32)
	a := startDaemon(t, t.TempDir(), []string{master}, "--addr", "127.0.0.1:0", "--issuer", issuer, "--dpop-nonce")
	b := startDaemon(t, t.TempDir(), []string{master, "LATCH_DPOP_NONCE=true"}, "--addr", "127.0.0.1:0", "--issuer", issuer)
	c := startDaemon(t, t.TempDir(), []string{other}, "--addr", "127.0.0.1:0", "--issuer", issuer, "--dpop-nonce")
	off := startDaemon(t, t.TempDir(), []string{master}, "--addr", "127.0.0.1:0", "--issuer", issuer)
	key, err := jose.GenerateKey(jose.ES256)
	if err != nil {
		t.Fatal(err)
	}
	// login posts unknown credentials with a proof carrying nonce: a
	// proof the node accepts gets as far as the password (401
	// invalid_credentials); one without a good nonce is 400
	// use_dpop_nonce.
	login := func(d *daemon, nonce string) (int, string, string) {
		t.Helper()
		p, err := verifier.NewDPoPProof(key, verifier.DPoPProofClaims{Method: "POST", URL: issuer + "/v1/login", Nonce: nonce})
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("POST", d.url+"/v1/login", strings.NewReader(credentials("nobody@example.com", "not the password")))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("DPoP", p)
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(b, &e)
		return resp.StatusCode, e.Error, resp.Header.Get("DPoP-Nonce")
	}
	status, code, nonce := login(a, "")
	if status != 400 || code != "use_dpop_nonce" || nonce == "" {
		t.Fatalf("login without a nonce = %d %s, DPoP-Nonce %q; want 400 use_dpop_nonce and a nonce", status, code, nonce)
	}
	tests := []struct {
		name       string
		node       *daemon
		wantStatus int
		wantCode   string
	}{
		{"same node", a, 401, "invalid_credentials"},
		{"another node, same master key", b, 401, "invalid_credentials"},
		{"a node with another master key", c, 400, "use_dpop_nonce"},
		{"a node without --dpop-nonce", off, 401, "invalid_credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, code, _ := login(tt.node, nonce)
			if status != tt.wantStatus || code != tt.wantCode {
				t.Errorf("login with a's nonce = %d %s, want %d %s", status, code, tt.wantStatus, tt.wantCode)
			}
		})
	}
	if _, _, n := login(off, ""); n != "" {
		t.Errorf("a node without --dpop-nonce sent DPoP-Nonce %q", n)
	}
}
