package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeOAuth checks the wiring of the OAuth provider into "latch
// serve": discovery names the /oauth2 endpoints, a client registered with
// "latch client add" gets a client_credentials token at /oauth2/token
// that verifies with the published keys, and the browser pages are served
// (their CSRF key comes from the master key).
func TestServeOAuth(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	d := startDaemon(t, data, nil, "--addr", "127.0.0.1:0")

	var disc map[string]any
	if err := json.Unmarshal(d.mustCall(http.StatusOK, "GET", "/.well-known/openid-configuration", "", ""), &disc); err != nil {
		t.Fatal(err)
	}
	if disc["token_endpoint"] != d.issuer+"/oauth2/token" || disc["userinfo_endpoint"] != d.issuer+"/oauth2/userinfo" ||
		disc["authorization_endpoint"] != d.issuer+"/oauth2/authorize" {
		t.Errorf("discovery = %v, want the /oauth2 token, userinfo and authorization endpoints", disc)
	}

	out := mustCLI(t, "", "client", "add", "--data", data, "--name", "svc", "--grant-type", "client_credentials", "--scope", "orders:read", "--json")
	var c struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(out), &c); err != nil || c.ID == "" || c.Secret == "" {
		t.Fatalf("latch client add --json = %q, %v; want a client ID and secret", out, err)
	}
	req, _ := http.NewRequest("POST", d.url+"/oauth2/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(c.ID), url.QueryEscape(c.Secret))
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
		Scope       string `json:"scope"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(body, &tok) != nil || tok.Scope != "orders:read" {
		t.Fatalf("POST /oauth2/token (client_credentials) = %d %s, want 200 and scope orders:read", resp.StatusCode, body)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("POST /oauth2/token: Cache-Control %q, want no-store", resp.Header.Get("Cache-Control"))
	}
	jwks := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(jwks, d.mustCall(http.StatusOK, "GET", "/.well-known/jwks.json", "", ""), 0o600); err != nil {
		t.Fatal(err)
	}
	out = mustCLI(t, tok.AccessToken+"\n", "token", "verify", "--key", jwks, "--iss", d.issuer, "--aud", d.audience, "--typ", "at+jwt")
	var claims struct {
		Sub      string `json:"sub"`
		ClientID string `json:"client_id"`
	}
	if err := json.Unmarshal([]byte(out), &claims); err != nil || claims.Sub != c.ID || claims.ClientID != c.ID {
		t.Errorf("latch token verify = %s, want sub = client_id = %s", out, c.ID)
	}

	d.mustCall(http.StatusOK, "GET", "/login", "", "")
	d.stopGracefully()
}
