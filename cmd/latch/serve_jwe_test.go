package main

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/verifier"
)

// TestServeEncryptedAccessTokens runs "latch serve" with a resource
// service ("orders") in its audience that registered an encryption key:
// the access tokens of a login are nested JWTs encrypted to it, which a
// verifier with its private key accepts, one without refuses clearly, and
// "latch token decode" reports as encrypted.
func TestServeEncryptedAccessTokens(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	keys := t.TempDir()
	ordersPriv, ordersPub := writeEncKeys(t, keys, jose.ECDHESA256KW)
	_, billingPub := writeEncKeys(t, keys, jose.RSAOAEP256)
	dec, err := os.ReadFile(ordersPriv)
	if err != nil {
		t.Fatal(err)
	}
	decKey, err := jose.ParseEncryptionJWK(dec, "", "")
	if err != nil {
		t.Fatal(err)
	}
	decSet, err := jose.NewEncryptionKeySet(decKey)
	if err != nil {
		t.Fatal(err)
	}

	var orders clientView
	if err := json.Unmarshal([]byte(mustCLI(t, "", "client", "add", "--data", data, "--name", "orders",
		"--scope", "revocations:read", "--encryption-key", ordersPub, "--json")), &orders); err != nil {
		t.Fatal(err)
	}
	var billing clientView
	if err := json.Unmarshal([]byte(mustCLI(t, "", "client", "add", "--data", data, "--name", "billing",
		"--scope", "revocations:read", "--json")), &billing); err != nil {
		t.Fatal(err)
	}
	const iss = "https://auth.example.test"
	d := startDaemon(t, data, nil, "--addr", "127.0.0.1:0", "--issuer", iss, "--audience", iss+",orders,billing")
	id := addUser(t, data, "alice@example.com", alicePassword, "clerk")
	tk := d.login("alice@example.com", alicePassword)
	if n := strings.Count(tk.AccessToken, ".") + 1; n != 5 {
		t.Fatalf("login access token has %d parts, want 5 (a JWE)", n)
	}
	if strings.Count(tk.RefreshToken, ".") == 4 {
		t.Errorf("the refresh token is a JWE; refresh tokens are not encrypted")
	}

	// A resource service, over HTTP, with and without the key.
	jwksURL := d.url + "/.well-known/jwks.json"
	newService := func(dec *jose.EncryptionKeySet) (*verifier.Verifier, string) {
		v, err := verifier.New(t.Context(), verifier.Config{
			Issuers:        []verifier.Issuer{{Issuer: iss, Audience: "orders", JWKSURL: jwksURL}},
			DecryptionKeys: dec,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(v.Close)
		srv := httptest.NewServer(v.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := verifier.FromContext(r.Context())
			io.WriteString(w, c.Subject)
		})))
		t.Cleanup(srv.Close)
		return v, srv.URL
	}
	withKey, withKeyURL := newService(decSet)
	withoutKey, withoutKeyURL := newService(nil)
	get := func(url, tok string) (int, string) {
		t.Helper()
		req, _ := http.NewRequestWithContext(t.Context(), "GET", url+"/orders", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if status, body := get(withKeyURL, tk.AccessToken); status != 200 || body != id {
		t.Errorf("service with the key: %d %s, want 200 %s", status, body, id)
	}
	if status, body := get(withoutKeyURL, tk.AccessToken); status != 401 || !strings.Contains(body, "token is encrypted for another recipient") {
		t.Errorf("service without the key: %d %s, want 401 saying the token is encrypted", status, body)
	}
	if c, err := withKey.Verify(t.Context(), tk.AccessToken); err != nil || c.Subject != id || !c.Audience.Contains("orders") {
		t.Errorf("Verify with the key = %+v, %v; want alice's claims", c, err)
	}
	if _, err := withoutKey.Verify(t.Context(), tk.AccessToken); !errors.Is(err, jwt.ErrEncrypted) {
		t.Errorf("Verify without the key = %v, want jwt.ErrEncrypted", err)
	}

	// latch's own endpoints cannot read a token encrypted to a service,
	// and say so.
	if status, body, err := d.call("GET", "/v1/me", "", tk.AccessToken); err != nil || status != 401 ||
		!strings.Contains(string(body), "token is encrypted for another recipient") {
		t.Errorf("GET /v1/me with the encrypted token = %d %s, %v; want 401 saying it is encrypted", status, body, err)
	}

	// The CLI: verify against the running server with the key; decode
	// says the token is encrypted.
	out := mustCLI(t, tk.AccessToken, "token", "verify", "--issuer-url", d.url, "--iss", iss, "--aud", "orders",
		"--typ", "at+jwt", "--decrypt-key", ordersPriv)
	if !strings.Contains(out, `"sub": "`+id+`"`) {
		t.Errorf("latch token verify --decrypt-key = %s, want alice's claims", out)
	}
	r := cli(t, tk.AccessToken, nil, "token", "decode")
	if r.code != 1 || !strings.Contains(r.stderr, "an encrypted JWE holding a signed JWT (a nested JWT), alg ECDH-ES+A256KW") {
		t.Errorf("latch token decode: exit %d, stderr %q; want 1 and that it is a nested JWT", r.code, r.stderr)
	}

	// Refreshed access tokens are encrypted too.
	var next serveTokens
	if err := json.Unmarshal(d.mustCall(http.StatusOK, "POST", "/v1/token/refresh", refreshBody(tk.RefreshToken), ""), &next); err != nil {
		t.Fatal(err)
	}
	if status, body := get(withKeyURL, next.AccessToken); strings.Count(next.AccessToken, ".") != 4 || status != 200 {
		t.Errorf("refreshed access token: %d parts, service says %d %s; want 5 parts, 200", strings.Count(next.AccessToken, ".")+1, status, body)
	}

	// The app logs out with its refresh token (the encrypted access token
	// beside it is ignored), after which that token no longer refreshes.
	d.mustCall(http.StatusOK, "POST", "/v1/logout", refreshBody(next.RefreshToken), next.AccessToken)
	if status, body, err := d.call("POST", "/v1/token/refresh", refreshBody(next.RefreshToken), ""); err != nil || status != http.StatusBadRequest {
		t.Errorf("refresh after logging out with the refresh token = %d %s, %v; want 400", status, body, err)
	}

	// Two clients of the audience with keys: a compact JWE has one
	// recipient, so the server refuses to issue, and says why in its log.
	mustCLI(t, "", "client", "update", "--data", data, "--id", billing.ID, "--encryption-key", billingPub)
	time.Sleep(1100 * time.Millisecond) // the issuer reads the registry at most once a second
	status, body, err := d.call("POST", "/v1/login", credentials("alice@example.com", alicePassword), "")
	if err != nil || status != http.StatusInternalServerError || strings.Contains(string(body), "eyJ") {
		t.Errorf("login with two recipients = %d %s, %v; want 500 and no token", status, body, err)
	}
	// The log line may reach the pipe after the response does.
	if !d.waitStderr("one recipient") {
		t.Errorf("the server log does not explain the refusal; stderr:\n%s", d.stderr())
	}
	mustCLI(t, "", "client", "update", "--data", data, "--id", billing.ID, "--encryption-key", "")
	time.Sleep(1100 * time.Millisecond)
	if tk := d.login("alice@example.com", alicePassword); strings.Count(tk.AccessToken, ".") != 4 {
		t.Errorf("after billing's key was removed, the access token has %d parts, want 5", strings.Count(tk.AccessToken, ".")+1)
	}

	// Once orders removes its key too, tokens are signed only.
	mustCLI(t, "", "client", "update", "--data", data, "--id", orders.ID, "--encryption-key", "")
	time.Sleep(1100 * time.Millisecond)
	if tk := d.login("alice@example.com", alicePassword); strings.Count(tk.AccessToken, ".") != 2 {
		t.Errorf("with no key registered, the access token has %d parts, want 3", strings.Count(tk.AccessToken, ".")+1)
	}
	d.stopGracefully()
}
