package client_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/client"
	"github.com/latch-auth/latch/internal/store"
)

func TestCheckScopes(t *testing.T) {
	many := make([]string, client.MaxScopes+1)
	for i := range many {
		many[i] = fmt.Sprint("s", i)
	}
	tests := []struct {
		name    string
		scopes  []string
		want    []string
		wantErr bool
	}{
		{name: "none", scopes: nil, want: []string{}},
		{name: "OpenID Connect", scopes: []string{client.ScopeOpenID, client.ScopeProfile, client.ScopeEmail, client.ScopeOfflineAccess},
			want: []string{"email", "offline_access", "openid", "profile"}},
		{name: "any scope-token", scopes: []string{"orders:read", "https://api.example.com/x", "!#$%&'()*+,-./[]^_`{|}~"},
			want: []string{"!#$%&'()*+,-./[]^_`{|}~", "https://api.example.com/x", "orders:read"}},
		{name: "sorted without duplicates", scopes: []string{"b", "a", "b", "a"}, want: []string{"a", "b"}},
		{name: "longest", scopes: []string{strings.Repeat("s", client.MaxScopeLength)}, want: []string{strings.Repeat("s", client.MaxScopeLength)}},
		{name: "most", scopes: many[:client.MaxScopes], want: slices.Sorted(slices.Values(many[:client.MaxScopes]))},
		{name: "too long", scopes: []string{strings.Repeat("s", client.MaxScopeLength+1)}, wantErr: true},
		{name: "too many", scopes: many, wantErr: true},
		{name: "empty", scopes: []string{""}, wantErr: true},
		{name: "space", scopes: []string{"openid profile"}, wantErr: true},
		{name: "quote", scopes: []string{`a"b`}, wantErr: true},
		{name: "backslash", scopes: []string{`a\b`}, wantErr: true},
		{name: "DEL", scopes: []string{"a\x7f"}, wantErr: true},
		{name: "control", scopes: []string{"a\nb"}, wantErr: true},
		{name: "non-ASCII", scopes: []string{"ünïcödé"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := client.CheckScopes(tt.scopes)
			if tt.wantErr {
				if !errors.Is(err, client.ErrInvalidScope) || got != nil {
					t.Errorf("CheckScopes(%q) = %q, %v, want nil, %v", tt.scopes, got, err, client.ErrInvalidScope)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("CheckScopes(%q) = %q, %v, want %q, nil", tt.scopes, got, err, tt.want)
			}
		})
	}
}

func TestCheckRedirectURI(t *testing.T) {
	tests := []struct {
		uri string
		ok  bool
	}{
		{"https://app.example.com/callback", true},
		{"https://app.example.com:8443/cb?x=1&y=a%20b", true},
		{"HTTPS://app.example.com/cb", true},
		{"https://app.example.com", true},
		{"http://127.0.0.1:8080/cb", true},
		{"http://127.0.0.1/cb", true},
		{"http://[::1]:51004/cb", true},
		{"http://localhost:3000/cb", true},
		{"com.example.app:/oauth2redirect/example-provider", true},
		{"com.example.app:/cb?x=1", true},
		{"com.example.app://cb", true},
		{"https://app.example.com/" + strings.Repeat("p", client.MaxRedirectURILength-len("https://app.example.com/")), true},

		{"", false},
		{"https://app.example.com/" + strings.Repeat("p", client.MaxRedirectURILength+1-len("https://app.example.com/")), false},
		{"/callback", false},
		{"app.example.com/callback", false},
		{"//app.example.com/callback", false},
		{"https://app.example.com/cb#frag", false},
		{"https://app.example.com/cb#", false},
		{"https://user@app.example.com/cb", false},
		{"https://user:pw@app.example.com/cb", false},
		{"http://[::1]@evil.example/cb", false},
		{"https://*.example.com/cb", false},
		{"https://app.example.com/*", false},
		{"http://app.example.com/cb", false},
		{"http://127.0.0.2/cb", false},
		{"http://localhost.evil.example/cb", false},
		{"http://127.0.0.1.nip.io/cb", false},
		{"http:///cb", false},
		{"https:///cb", false},
		{"https:app.example.com", false},
		{"javascript:alert(1)", false},
		{"data:text/html,<script>x</script>", false},
		{"file:///etc/passwd", false},
		{"myapp:/cb", false},
		{"com.example.app:", false},
		{"https://evil.example\\@app.example.com/", false},
		{"https://app.example.com/c b", false},
		{"https://app.example.com/cb\n", false},
		{"https://app.example.com/cb\x00", false},
		{"https://exämple.com/cb", false},
		{"https://app.example.com/<cb>", false},
		{"https://app.example.com:port/cb", false},
	}
	for _, tt := range tests {
		err := client.CheckRedirectURI(tt.uri)
		switch {
		case tt.ok && err != nil:
			t.Errorf("CheckRedirectURI(%.80q) = %v, want nil", tt.uri, err)
		case !tt.ok && !errors.Is(err, client.ErrInvalidRedirectURI):
			t.Errorf("CheckRedirectURI(%.80q) = %v, want %v", tt.uri, err, client.ErrInvalidRedirectURI)
		}
	}
}

// webApp is the registration of a confidential web application.
func webApp() client.Registration {
	return client.Registration{
		Name:                   "web app",
		RedirectURIs:           []string{"https://app.example.com/cb"},
		PostLogoutRedirectURIs: []string{"https://app.example.com/"},
		GrantTypes:             []string{client.GrantAuthorizationCode, client.GrantRefreshToken},
		Scopes:                 []string{client.ScopeOpenID, client.ScopeProfile},
	}
}

// nativeApp is the registration of a public native application.
func nativeApp() client.Registration {
	return client.Registration{
		Name:         "native app",
		Type:         store.ClientPublic,
		RedirectURIs: []string{"com.example.app:/cb", "http://127.0.0.1/cb"},
		GrantTypes:   []string{client.GrantAuthorizationCode},
		Scopes:       []string{client.ScopeOpenID},
	}
}

func TestNewClient(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	with := func(reg client.Registration, change func(*client.Registration)) client.Registration {
		change(&reg)
		return reg
	}
	tests := []struct {
		name    string
		reg     client.Registration
		want    store.Client // ID, SecretHash, CreatedAt, UpdatedAt not compared
		wantErr error
	}{
		{name: "service client", reg: client.Registration{Name: "svc", Scopes: []string{client.ScopeRevocationsRead}},
			want: store.Client{Name: "svc", Type: store.ClientConfidential, AuthMethod: client.AuthClientSecretBasic, Scopes: []string{client.ScopeRevocationsRead}}},
		{name: "confidential web app", reg: webApp(),
			want: store.Client{Name: "web app", Type: store.ClientConfidential, AuthMethod: client.AuthClientSecretBasic,
				RedirectURIs: []string{"https://app.example.com/cb"}, PostLogoutRedirectURIs: []string{"https://app.example.com/"},
				GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"openid", "profile"}}},
		{name: "client_secret_post, first party", reg: with(webApp(), func(r *client.Registration) {
			r.AuthMethod, r.FirstParty = client.AuthClientSecretPost, true
			r.GrantTypes = []string{client.GrantRefreshToken, client.GrantAuthorizationCode, client.GrantRefreshToken}
			r.RedirectURIs = []string{"https://b.example.com/cb", "https://a.example.com/cb", "https://b.example.com/cb"}
			r.PostLogoutRedirectURIs = nil
		}), want: store.Client{Name: "web app", Type: store.ClientConfidential, AuthMethod: client.AuthClientSecretPost,
			RedirectURIs: []string{"https://b.example.com/cb", "https://a.example.com/cb"},
			GrantTypes:   []string{"authorization_code", "refresh_token"}, Scopes: []string{"openid", "profile"}, FirstParty: true}},
		{name: "public native app", reg: nativeApp(),
			want: store.Client{Name: "native app", Type: store.ClientPublic, AuthMethod: client.AuthNone,
				RedirectURIs: []string{"com.example.app:/cb", "http://127.0.0.1/cb"},
				GrantTypes:   []string{"authorization_code"}, Scopes: []string{"openid"}}},
		{name: "client credentials with an API scope", reg: client.Registration{Name: "batch job",
			GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"orders:read", client.ScopeRevocationsRead}},
			want: store.Client{Name: "batch job", Type: store.ClientConfidential, AuthMethod: client.AuthClientSecretBasic,
				GrantTypes: []string{"client_credentials"}, Scopes: []string{"orders:read", "revocations:read"}}},

		{name: "bad name", reg: with(webApp(), func(r *client.Registration) { r.Name = "" }), wantErr: client.ErrInvalidName},
		{name: "unknown type", reg: with(webApp(), func(r *client.Registration) { r.Type = "trusted" }), wantErr: client.ErrInvalidRegistration},
		{name: "unknown auth method", reg: with(webApp(), func(r *client.Registration) { r.AuthMethod = "private_key_jwt" }), wantErr: client.ErrInvalidRegistration},
		{name: "confidential without authentication", reg: with(webApp(), func(r *client.Registration) { r.AuthMethod = client.AuthNone }), wantErr: client.ErrInvalidRegistration},
		{name: "public with a secret method", reg: with(nativeApp(), func(r *client.Registration) { r.AuthMethod = client.AuthClientSecretBasic }), wantErr: client.ErrInvalidRegistration},
		{name: "public with client credentials", reg: with(nativeApp(), func(r *client.Registration) {
			r.GrantTypes = append(r.GrantTypes, client.GrantClientCredentials)
		}), wantErr: client.ErrInvalidRegistration},
		{name: "public without the code grant", reg: client.Registration{Name: "p", Type: store.ClientPublic}, wantErr: client.ErrInvalidRegistration},
		{name: "unknown grant type", reg: with(webApp(), func(r *client.Registration) { r.GrantTypes = []string{"password"} }), wantErr: client.ErrInvalidRegistration},
		{name: "implicit grant", reg: with(webApp(), func(r *client.Registration) { r.GrantTypes = []string{"implicit"} }), wantErr: client.ErrInvalidRegistration},
		{name: "refresh token without code", reg: client.Registration{Name: "r", GrantTypes: []string{client.GrantRefreshToken, client.GrantClientCredentials}}, wantErr: client.ErrInvalidRegistration},
		{name: "code without redirect URI", reg: with(webApp(), func(r *client.Registration) { r.RedirectURIs = nil }), wantErr: client.ErrInvalidRegistration},
		{name: "redirect URI without code", reg: client.Registration{Name: "cc", GrantTypes: []string{client.GrantClientCredentials},
			RedirectURIs: []string{"https://app.example.com/cb"}}, wantErr: client.ErrInvalidRegistration},
		{name: "post-logout URI without code", reg: client.Registration{Name: "svc",
			PostLogoutRedirectURIs: []string{"https://app.example.com/"}}, wantErr: client.ErrInvalidRegistration},
		{name: "bad redirect URI", reg: with(webApp(), func(r *client.Registration) {
			r.RedirectURIs = append(r.RedirectURIs, "https://app.example.com/*")
		}), wantErr: client.ErrInvalidRedirectURI},
		{name: "bad post-logout URI", reg: with(webApp(), func(r *client.Registration) {
			r.PostLogoutRedirectURIs = []string{"http://app.example.com/"}
		}), wantErr: client.ErrInvalidRedirectURI},
		{name: "too many redirect URIs", reg: with(webApp(), func(r *client.Registration) {
			for i := range client.MaxRedirectURIs {
				r.RedirectURIs = append(r.RedirectURIs, fmt.Sprint("https://app.example.com/cb", i))
			}
		}), wantErr: client.ErrInvalidRedirectURI},
		{name: "bad scope", reg: with(webApp(), func(r *client.Registration) { r.Scopes = []string{"open id"} }), wantErr: client.ErrInvalidScope},
		{name: "OIDC scope for a service client", reg: client.Registration{Name: "svc", Scopes: []string{client.ScopeOpenID}}, wantErr: client.ErrInvalidScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, secret, err := client.NewClient(tt.reg, now)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("NewClient(%+v) = %v, want %v", tt.reg, err, tt.wantErr)
				}
				if c.ID != "" || secret != "" {
					t.Errorf("NewClient(%+v) returned a client or secret with its error", tt.reg)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewClient(%+v) = %v, want nil", tt.reg, err)
			}
			if !strings.HasPrefix(c.ID, "c_") || !c.CreatedAt.Equal(now) || !c.UpdatedAt.Equal(now) {
				t.Errorf("NewClient(%+v) = ID %q, created %v, updated %v, want c_..., %v, %v", tt.reg, c.ID, c.CreatedAt, c.UpdatedAt, now, now)
			}
			if tt.want.Type == store.ClientPublic {
				if secret != "" || len(c.SecretHash) != 0 {
					t.Errorf("NewClient(public) = secret %q, hash %x, want none", secret, c.SecretHash)
				}
			} else if secret == "" || string(c.SecretHash) != string(sha256Of(secret)) {
				t.Errorf("NewClient(confidential) = secret %q, hash %x, want a secret and its SHA-256", secret, c.SecretHash)
			}
			got := c
			got.ID, got.SecretHash, got.CreatedAt, got.UpdatedAt = "", nil, time.Time{}, time.Time{}
			if got.Scopes == nil {
				got.Scopes = []string{}
			}
			if tt.want.Scopes == nil {
				tt.want.Scopes = []string{}
			}
			if !equalClients(got, tt.want) {
				t.Errorf("NewClient(%+v) = %+v, want %+v", tt.reg, got, tt.want)
			}
		})
	}
}

// equalClients compares the registrations of two clients.
func equalClients(a, b store.Client) bool {
	return a.Name == b.Name && a.Type == b.Type && a.AuthMethod == b.AuthMethod && a.FirstParty == b.FirstParty &&
		slices.Equal(a.RedirectURIs, b.RedirectURIs) && slices.Equal(a.PostLogoutRedirectURIs, b.PostLogoutRedirectURIs) &&
		slices.Equal(a.GrantTypes, b.GrantTypes) && slices.Equal(a.Scopes, b.Scopes) &&
		string(a.SecretHash) == string(b.SecretHash) && a.ID == b.ID && a.SETCursor == b.SETCursor &&
		a.CreatedAt.Equal(b.CreatedAt) && a.UpdatedAt.Equal(b.UpdatedAt)
}

func TestUpdate(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := created.Add(time.Hour)
	web, _, err := client.NewClient(webApp(), created)
	if err != nil {
		t.Fatal(err)
	}
	web.SETCursor = 42

	t.Run("unchanged", func(t *testing.T) {
		got, err := client.Update(web, client.RegistrationOf(web), now)
		want := web
		want.UpdatedAt = now
		if err != nil || !equalClients(got, want) {
			t.Errorf("Update(c, RegistrationOf(c)) = %+v, %v, want %+v, nil", got, err, want)
		}
	})

	t.Run("RegistrationOfCopies", func(t *testing.T) {
		reg := client.RegistrationOf(web)
		reg.RedirectURIs[0], reg.Scopes[0] = "changed", "changed"
		if web.RedirectURIs[0] == "changed" || web.Scopes[0] == "changed" {
			t.Errorf("changing RegistrationOf(c) changed c: %+v", web)
		}
	})

	t.Run("ToPublicDropsTheSecret", func(t *testing.T) {
		reg := client.RegistrationOf(web)
		reg.Type, reg.AuthMethod = store.ClientPublic, ""
		got, err := client.Update(web, reg, now)
		if err != nil || got.Type != store.ClientPublic || got.AuthMethod != client.AuthNone || got.SecretHash != nil {
			t.Errorf("Update(c, public) = %+v, %v, want public, none, no secret hash, nil", got, err)
		}
		if got.ID != web.ID || got.SETCursor != 42 || !got.CreatedAt.Equal(created) || !got.UpdatedAt.Equal(now) {
			t.Errorf("Update(c, public) = %+v, want ID, SETCursor, CreatedAt kept and UpdatedAt %v", got, now)
		}
	})

	t.Run("Refused", func(t *testing.T) {
		reg := client.RegistrationOf(web)
		reg.RedirectURIs = []string{"http://evil.example/cb"}
		got, err := client.Update(web, reg, now)
		if !errors.Is(err, client.ErrInvalidRedirectURI) || got.ID != "" {
			t.Errorf("Update(c, bad redirect URI) = %+v, %v, want the zero Client, %v", got, err, client.ErrInvalidRedirectURI)
		}
	})
}

func TestHasGrantType(t *testing.T) {
	c := store.Client{GrantTypes: []string{client.GrantAuthorizationCode}}
	for _, tt := range []struct {
		grant string
		want  bool
	}{
		{client.GrantAuthorizationCode, true},
		{client.GrantRefreshToken, false},
		{client.GrantClientCredentials, false},
		{"", false},
	} {
		if got := client.HasGrantType(c, tt.grant); got != tt.want {
			t.Errorf("HasGrantType(%q, %q) = %v, want %v", c.GrantTypes, tt.grant, got, tt.want)
		}
	}
}
