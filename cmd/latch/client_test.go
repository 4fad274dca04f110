package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/sqlite"
)

// storedClient reads the client with ID id from the data directory.
func storedClient(t *testing.T, data, id string) store.Client {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(data, databaseFile), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	c, err := db.ClientByID(t.Context(), id)
	if err != nil {
		t.Fatalf("ClientByID(%s) = %v, want nil", id, err)
	}
	return c
}

// latchClient runs a client command that prints a client as JSON and
// decodes it; it fails the test unless the command succeeds.
func latchClient(t *testing.T, args ...string) (clientView, result) {
	t.Helper()
	r := latch(t, nil, args...)
	if r.code != 0 {
		t.Fatalf("latch %s: exit %d, want 0; stderr: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	var v clientView
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("latch %s = %q: %v, want a client in JSON", strings.Join(args, " "), r.stdout, err)
	}
	return v, r
}

func hashOf(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

// TestClientAddApplications registers OAuth applications, confidential
// and public, and checks what is printed and what is stored.
func TestClientAddApplications(t *testing.T) {
	data := t.TempDir()
	const commaURI = "https://app.example.com/cb?a=1,2"
	web, r := latchClient(t, "client", "add", "--data", data, "--name", "web app", "--json",
		"--grant-type", "refresh_token,authorization_code", "--scope", "openid,profile", "--scope", "orders:read",
		"--redirect-uri", commaURI, "--redirect-uri", "http://127.0.0.1:8080/cb",
		"--post-logout-redirect-uri", "https://app.example.com/", "--auth-method", "client_secret_post", "--first-party")
	want := clientView{
		ID: web.ID, Secret: web.Secret, Name: "web app", Type: store.ClientConfidential, AuthMethod: "client_secret_post",
		GrantTypes: []string{"authorization_code", "refresh_token"}, RedirectURIs: []string{commaURI, "http://127.0.0.1:8080/cb"},
		PostLogoutRedirectURIs: []string{"https://app.example.com/"}, Scopes: []string{"openid", "orders:read", "profile"},
		FirstParty: true, CreatedAt: testNow.UTC(), UpdatedAt: testNow.UTC(),
	}
	if !strings.HasPrefix(web.ID, "c_") || len(web.Secret) < 43 || !sameView(web, want) {
		t.Errorf("latch client add (web app) = %+v, want %+v with an ID and a secret", web, want)
	}
	if !strings.Contains(r.stderr, "shown only once") {
		t.Errorf("latch client add (web app) stderr = %q, want the note that the secret is shown once", r.stderr)
	}
	if c := storedClient(t, data, web.ID); !bytes.Equal(c.SecretHash, hashOf(web.Secret)) || c.AuthMethod != "client_secret_post" {
		t.Errorf("stored web app = %+v, want the secret's hash and client_secret_post", c)
	}

	// A public client: no secret printed, none stored, no note.
	r = latch(t, nil, "client", "add", "--data", data, "--name", "native app", "--public",
		"--grant-type", "authorization_code", "--scope", "openid", "--redirect-uri", "com.example.app:/cb")
	m := regexp.MustCompile(`^client_id:\s+(c_[0-9a-f]{32})\n$`).FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil || r.stderr != "" {
		t.Fatalf("latch client add --public = exit %d, stdout %q, stderr %q; want 0, the client_id line alone, no stderr", r.code, r.stdout, r.stderr)
	}
	if c := storedClient(t, data, m[1]); len(c.SecretHash) != 0 || c.Type != store.ClientPublic || c.AuthMethod != "none" {
		t.Errorf("stored native app = %+v, want public, none, no secret hash", c)
	}

	// The list shows both, without secrets.
	r = latch(t, nil, "client", "list", "--data", data, "--json")
	var list []clientView
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || len(list) != 2 {
		t.Fatalf("latch client list --json = %q, %v, want two clients", r.stdout, err)
	}
	want.Secret = ""
	// Both were created at testNow: the order between them is by ID.
	i := slices.IndexFunc(list, func(v clientView) bool { return v.ID == web.ID })
	if i < 0 || !sameView(list[i], want) || list[1-i].ID != m[1] || list[1-i].Type != store.ClientPublic {
		t.Errorf("latch client list --json = %+v, want %+v and the public client %s", list, want, m[1])
	}
	if strings.Contains(r.stdout, web.Secret) || strings.Contains(r.stdout, "client_secret\"") {
		t.Errorf("latch client list --json shows a secret: %q", r.stdout)
	}
	r = latch(t, nil, "client", "list", "--data", data)
	if !strings.Contains(r.stdout, "authorization_code,refresh_token") || !strings.Contains(r.stdout, "public") {
		t.Errorf("latch client list = %q, want grant types and types shown", r.stdout)
	}
}

// sameView compares two printed clients.
func sameView(a, b clientView) bool {
	return a.ID == b.ID && a.Secret == b.Secret && a.Name == b.Name && a.Type == b.Type && a.AuthMethod == b.AuthMethod &&
		slices.Equal(a.GrantTypes, b.GrantTypes) && slices.Equal(a.RedirectURIs, b.RedirectURIs) &&
		slices.Equal(a.PostLogoutRedirectURIs, b.PostLogoutRedirectURIs) && slices.Equal(a.Scopes, b.Scopes) &&
		a.FirstParty == b.FirstParty && a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt)
}

// TestClientAddRefusals checks the registrations "latch client add"
// refuses, and that it stores nothing for them.
func TestClientAddRefusals(t *testing.T) {
	data := t.TempDir()
	add := func(args ...string) []string {
		return append([]string{"client", "add", "--data", data, "--name", "app"}, args...)
	}
	code := []string{"--grant-type", "authorization_code", "--scope", "openid"}
	for _, tt := range []struct {
		name    string
		code    int
		pattern string
		args    []string
	}{
		{"no scope for a service", 2, "--scope is required", add()},
		{"OIDC scope for a service", 1, "invalid scope", add("--scope", "openid")},
		{"code without redirect URI", 1, "redirect URI", add(code...)},
		{"plain http redirect", 1, "loopback", add(append(code, "--redirect-uri", "http://app.example.com/cb")...)},
		{"redirect with a fragment", 1, "fragment", add(append(code, "--redirect-uri", "https://app.example.com/cb#x")...)},
		{"wildcard redirect", 1, "wildcard", add(append(code, "--redirect-uri", "https://*.example.com/cb")...)},
		{"javascript redirect", 1, "scheme", add(append(code, "--redirect-uri", "javascript:alert(1)")...)},
		{"bad post-logout URI", 1, "post-logout redirect URI", add(append(code, "--redirect-uri", "https://a.example/cb", "--post-logout-redirect-uri", "http://a.example/")...)},
		{"unknown grant type", 1, "unknown grant type", add("--grant-type", "password", "--scope", "openid")},
		{"refresh without code", 1, "refresh_token needs", add("--grant-type", "refresh_token", "--scope", "openid")},
		{"public with a secret method", 1, "public client", add(append(code, "--redirect-uri", "https://a.example/cb", "--public", "--auth-method", "client_secret_basic")...)},
		{"public with client credentials", 1, "public client", add("--public", "--grant-type", "authorization_code,client_credentials", "--scope", "openid", "--redirect-uri", "https://a.example/cb")},
		{"confidential without authentication", 1, "authentication method", add(append(code, "--redirect-uri", "https://a.example/cb", "--auth-method", "none")...)},
		{"bad scope", 1, "scope token", add("--grant-type", "client_credentials", "--scope", `a"b`)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := latch(t, nil, tt.args...)
			if r.code != tt.code || !regexp.MustCompile(tt.pattern).MatchString(r.stderr) {
				t.Errorf("latch %s = exit %d, stderr %q; want exit %d and stderr matching %q", strings.Join(tt.args, " "), r.code, r.stderr, tt.code, tt.pattern)
			}
			if r.stdout != "" {
				t.Errorf("latch %s printed %q, want nothing", strings.Join(tt.args, " "), r.stdout)
			}
		})
	}
	if r := latch(t, nil, "client", "list", "--data", data, "--json"); strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("latch client list after refusals = %q, want []", r.stdout)
	}
}

// TestClientUpdate changes a client step by step, checking each time what
// is printed and stored, and that refused changes store nothing.
func TestClientUpdate(t *testing.T) {
	data := t.TempDir()
	web, _ := latchClient(t, "client", "add", "--data", data, "--name", "web app", "--json",
		"--grant-type", "authorization_code", "--scope", "openid", "--redirect-uri", "https://app.example.com/cb")
	latch(t, nil, "client", "add", "--data", data, "--name", "other", "--scope", "introspect")
	update := func(args ...string) []string {
		return append([]string{"client", "update", "--data", data, "--id", web.ID}, args...)
	}

	// A list flag replaces the list; the rest, the secret included, stays.
	got, r := latchClient(t, update("--redirect-uri", "https://app.example.com/new", "--redirect-uri", "http://[::1]:9000/cb")...)
	if !slices.Equal(got.RedirectURIs, []string{"https://app.example.com/new", "http://[::1]:9000/cb"}) ||
		!slices.Equal(got.Scopes, []string{"openid"}) || got.Name != "web app" || got.Secret != "" || r.stderr != "" {
		t.Errorf("latch client update --redirect-uri = %+v, stderr %q; want the new URIs, the rest kept, no secret", got, r.stderr)
	}
	if c := storedClient(t, data, web.ID); !bytes.Equal(c.SecretHash, hashOf(web.Secret)) {
		t.Errorf("the secret changed with the redirect URIs")
	}

	// Rotating the secret prints the new one once.
	got, r = latchClient(t, update("--rotate-secret")...)
	if got.Secret == "" || got.Secret == web.Secret || !strings.Contains(r.stderr, "shown only once") {
		t.Fatalf("latch client update --rotate-secret = %+v, stderr %q; want a new secret and the note", got, r.stderr)
	}
	if c := storedClient(t, data, web.ID); !bytes.Equal(c.SecretHash, hashOf(got.Secret)) {
		t.Errorf("stored secret hash after --rotate-secret is not the new secret's")
	}

	// Public drops the secret; confidential again draws a new one.
	got, _ = latchClient(t, update("--public")...)
	if got.Type != store.ClientPublic || got.AuthMethod != "none" || got.Secret != "" {
		t.Errorf("latch client update --public = %+v, want public, none, no secret", got)
	}
	if c := storedClient(t, data, web.ID); len(c.SecretHash) != 0 {
		t.Errorf("a public client kept a secret hash")
	}
	got, _ = latchClient(t, update("--public=false", "--auth-method", "client_secret_post", "--first-party", "--name", "web app 2")...)
	if got.Type != store.ClientConfidential || got.AuthMethod != "client_secret_post" || got.Secret == "" || !got.FirstParty || got.Name != "web app 2" {
		t.Errorf("latch client update --public=false ... = %+v, want confidential, client_secret_post, a new secret, first party, renamed", got)
	}
	if c := storedClient(t, data, web.ID); !bytes.Equal(c.SecretHash, hashOf(got.Secret)) {
		t.Errorf("stored secret hash after --public=false is not the printed secret's")
	}
	before := storedClient(t, data, web.ID)

	for _, tt := range []struct {
		name    string
		code    int
		pattern string
		args    []string
	}{
		{"nothing to change", 2, "nothing to change", update()},
		{"no id", 2, "--id is required", []string{"client", "update", "--data", data, "--name", "x"}},
		{"unknown id", 1, "no client with ID", []string{"client", "update", "--data", data, "--id", "c_nobody", "--name", "x"}},
		{"name taken", 1, "already exists", update("--name", "other")},
		{"grant types cleared under redirect URIs", 1, "redirect URIs are only for", update("--grant-type", "")},
		{"redirect URIs cleared under the code grant", 1, "needs at least one redirect URI", update("--redirect-uri", "")},
		{"bad redirect URI", 1, "invalid redirect URI", update("--redirect-uri", "https://user@app.example.com/cb")},
		{"public with a secret method", 1, "public client", update("--public", "--auth-method", "client_secret_post")},
		{"rotate a public client's secret", 1, "public client has no secret", []string{"client", "update", "--data", data, "--id", web.ID, "--public", "--auth-method", "none", "--rotate-secret"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := latch(t, nil, tt.args...)
			if r.code != tt.code || !regexp.MustCompile(tt.pattern).MatchString(r.stderr) {
				t.Errorf("latch %s = exit %d, stderr %q; want exit %d and stderr matching %q", strings.Join(tt.args, " "), r.code, r.stderr, tt.code, tt.pattern)
			}
			if r.stdout != "" {
				t.Errorf("latch %s printed %q, want nothing", strings.Join(tt.args, " "), r.stdout)
			}
		})
	}
	after := storedClient(t, data, web.ID)
	if !bytes.Equal(after.SecretHash, before.SecretHash) || after.Name != before.Name || after.Type != before.Type ||
		!slices.Equal(after.RedirectURIs, before.RedirectURIs) || !slices.Equal(after.GrantTypes, before.GrantTypes) {
		t.Errorf("client after refused updates = %+v, want unchanged %+v", after, before)
	}
}

// TestClientUpdateFeedClient checks that a service client registered the
// old way can be updated and keeps its secret.
func TestClientUpdateFeedClient(t *testing.T) {
	data := t.TempDir()
	r := latch(t, nil, "client", "add", "--data", data, "--name", "orders", "--scope", "revocations:read")
	m := regexp.MustCompile(`(?m)^client_id:\s+(\S+)\nclient_secret:\s+(\S+)$`).FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil {
		t.Fatalf("latch client add (feed client) = exit %d, %q, want the client_id and client_secret lines", r.code, r.stdout)
	}
	got, _ := latchClient(t, "client", "update", "--data", data, "--id", m[1], "--scope", "revocations:read,introspect")
	if !slices.Equal(got.Scopes, []string{"introspect", "revocations:read"}) || got.AuthMethod != "client_secret_basic" ||
		got.Type != store.ClientConfidential || len(got.GrantTypes) != 0 || got.Secret != "" {
		t.Errorf("latch client update --scope (feed client) = %+v, want both scopes, basic, confidential, no grants, no new secret", got)
	}
	if c := storedClient(t, data, m[1]); !bytes.Equal(c.SecretHash, hashOf(m[2])) {
		t.Errorf("the feed client's secret changed with its scopes")
	}
	if r := latch(t, nil, "client", "update", "--data", data, "--id", m[1], "--scope", "openid"); r.code != 1 || !strings.Contains(r.stderr, "invalid scope") {
		t.Errorf("latch client update --scope openid (feed client) = exit %d, stderr %q, want 1 and invalid scope", r.code, r.stderr)
	}
}
