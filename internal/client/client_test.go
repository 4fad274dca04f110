package client_test

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/client"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/sqlite"
)

func TestNew(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name       string
		clientName string
		scopes     []string
		wantScopes []string
		wantErr    error
	}{
		{name: "feed reader", clientName: "api gateway", scopes: []string{client.ScopeRevocationsRead}, wantScopes: []string{client.ScopeRevocationsRead}},
		{name: "sorted without duplicates", clientName: "svc", scopes: []string{client.ScopeRevocationsRead, client.ScopeIntrospect, client.ScopeRevocationsRead}, wantScopes: []string{client.ScopeIntrospect, client.ScopeRevocationsRead}},
		{name: "no scope", clientName: "svc", scopes: nil, wantScopes: []string{}},
		{name: "unicode name", clientName: "Zählwerk ✓", scopes: nil, wantScopes: []string{}},
		{name: "empty name", clientName: "", wantErr: client.ErrInvalidName},
		{name: "long name", clientName: strings.Repeat("n", client.MaxNameLength+1), wantErr: client.ErrInvalidName},
		{name: "longest name", clientName: strings.Repeat("n", client.MaxNameLength), wantScopes: []string{}},
		{name: "control character", clientName: "a\x00b", wantErr: client.ErrInvalidName},
		{name: "newline", clientName: "a\nb", wantErr: client.ErrInvalidName},
		{name: "tab", clientName: "a\tb", wantErr: client.ErrInvalidName},
		{name: "leading space", clientName: " svc", wantErr: client.ErrInvalidName},
		{name: "trailing space", clientName: "svc ", wantErr: client.ErrInvalidName},
		{name: "invalid UTF-8", clientName: "svc\xff", wantErr: client.ErrInvalidName},
		{name: "unknown scope", clientName: "svc", scopes: []string{"admin"}, wantErr: client.ErrInvalidScope},
		{name: "empty scope", clientName: "svc", scopes: []string{""}, wantErr: client.ErrInvalidScope},
		{name: "scope with space", clientName: "svc", scopes: []string{"revocations:read introspect"}, wantErr: client.ErrInvalidScope},
		{name: "scope with quote", clientName: "svc", scopes: []string{`intro"spect`}, wantErr: client.ErrInvalidScope},
		{name: "scope case differs", clientName: "svc", scopes: []string{"Introspect"}, wantErr: client.ErrInvalidScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, secret, err := client.New(tt.clientName, tt.scopes, now)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("New(%q, %q) = %v, want %v", tt.clientName, tt.scopes, err, tt.wantErr)
				}
				if c.ID != "" || secret != "" {
					t.Errorf("New(%q, %q) returned a client or secret with its error", tt.clientName, tt.scopes)
				}
				return
			}
			if err != nil {
				t.Fatalf("New(%q, %q) = %v, want nil", tt.clientName, tt.scopes, err)
			}
			if len(c.ID) != 2+32 || !strings.HasPrefix(c.ID, "c_") {
				t.Errorf("ID = %q, want c_ and 32 hex digits", c.ID)
			}
			raw, err := base64.RawURLEncoding.DecodeString(secret)
			if err != nil || len(raw) != client.SecretSize {
				t.Errorf("secret %q is not %d bytes of base64url: %v", secret, client.SecretSize, err)
			}
			sum := sha256.Sum256([]byte(secret))
			if string(c.SecretHash) != string(sum[:]) {
				t.Errorf("SecretHash is not SHA-256 of the secret")
			}
			if !slices.Equal(c.Scopes, tt.wantScopes) {
				t.Errorf("Scopes = %q, want %q", c.Scopes, tt.wantScopes)
			}
			if c.Name != tt.clientName || !c.CreatedAt.Equal(now) || !c.UpdatedAt.Equal(now) {
				t.Errorf("New = %+v, want name %q created and updated at %v", c, tt.clientName, now)
			}
		})
	}
}

func TestNewIsRandom(t *testing.T) {
	ids, secrets := map[string]bool{}, map[string]bool{}
	for range 100 {
		c, secret, err := client.New("svc", nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if ids[c.ID] || secrets[secret] {
			t.Fatalf("New repeated an ID or a secret")
		}
		ids[c.ID], secrets[secret] = true, true
	}
}

func TestHasScope(t *testing.T) {
	c := store.Client{Scopes: []string{client.ScopeRevocationsRead}}
	tests := []struct {
		scope string
		want  bool
	}{
		{client.ScopeRevocationsRead, true},
		{client.ScopeIntrospect, false},
		{"", false},
		{"revocations", false},
	}
	for _, tt := range tests {
		if got := client.HasScope(c, tt.scope); got != tt.want {
			t.Errorf("HasScope(%q, %q) = %v, want %v", c.Scopes, tt.scope, got, tt.want)
		}
	}
	if client.HasScope(store.Client{}, client.ScopeIntrospect) {
		t.Errorf("HasScope(no scopes, %q) = true, want false", client.ScopeIntrospect)
	}
}

// basic is an Authorization header for id and secret as RFC 6749 §2.3.1
// has it: each form-urlencoded, then base64 of "id:secret".
func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

func rawBasic(s string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(s)) }

func TestAuthenticate(t *testing.T) {
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "latch.db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("sqlite.Open = %v, want nil", err)
	}
	t.Cleanup(func() { db.Close() })
	c, secret, err := client.New("feed reader", []string{client.ScopeRevocationsRead}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateClient(ctx, c); err != nil {
		t.Fatalf("CreateClient = %v, want nil", err)
	}
	// A client whose secret needs form-encoding: RFC 6749 §2.3.1 says
	// each part is form-urlencoded before base64.
	odd := store.Client{ID: "odd:id+1", Name: "odd", CreatedAt: time.Now(), UpdatedAt: time.Now()}
	oddSecret := "s3cret with space+plus:colon%"
	sum := sha256.Sum256([]byte(oddSecret))
	odd.SecretHash = sum[:]
	if err := db.CreateClient(ctx, odd); err != nil {
		t.Fatalf("CreateClient = %v, want nil", err)
	}
	auth := client.NewAuthenticator(db)

	tests := []struct {
		name    string
		header  []string // Authorization values; nil for none
		wantID  string
		wantErr error
	}{
		{name: "good", header: []string{basic(c.ID, secret)}, wantID: c.ID},
		{name: "scheme case-insensitive", header: []string{"bAsIc " + strings.TrimPrefix(basic(c.ID, secret), "Basic ")}, wantID: c.ID},
		{name: "form-encoded id and secret", header: []string{basic(odd.ID, oddSecret)}, wantID: odd.ID},
		{name: "no header", wantErr: client.ErrNoCredentials},
		{name: "bearer", header: []string{"Bearer abc.def.ghi"}, wantErr: client.ErrNoCredentials},
		{name: "scheme only", header: []string{"Basic"}, wantErr: client.ErrInvalidClient},
		{name: "wrong secret", header: []string{basic(c.ID, secret+"x")}, wantErr: client.ErrInvalidClient},
		{name: "secret of another client", header: []string{basic(c.ID, oddSecret)}, wantErr: client.ErrInvalidClient},
		{name: "unknown client", header: []string{basic("c_00000000000000000000000000000000", secret)}, wantErr: client.ErrInvalidClient},
		{name: "empty secret", header: []string{basic(c.ID, "")}, wantErr: client.ErrInvalidClient},
		{name: "empty id", header: []string{basic("", secret)}, wantErr: client.ErrInvalidClient},
		{name: "no colon", header: []string{rawBasic(c.ID + secret)}, wantErr: client.ErrInvalidClient},
		{name: "not base64", header: []string{"Basic !!!"}, wantErr: client.ErrInvalidClient},
		{name: "unpadded base64", header: []string{"Basic " + base64.RawStdEncoding.EncodeToString([]byte(c.ID+":"+secret+"xy"))}, wantErr: client.ErrInvalidClient},
		{name: "bad percent escape", header: []string{rawBasic(c.ID + ":%zz")}, wantErr: client.ErrInvalidClient},
		{name: "unencoded form: plus is a space", header: []string{rawBasic(odd.ID + ":" + oddSecret)}, wantErr: client.ErrInvalidClient},
		{name: "two headers", header: []string{basic(c.ID, secret), basic(c.ID, secret)}, wantErr: client.ErrInvalidClient},
		{name: "header too large", header: []string{basic(c.ID, secret+strings.Repeat("x", client.MaxAuthorizationSize))}, wantErr: client.ErrInvalidClient},
		{name: "id too long", header: []string{basic(strings.Repeat("c", client.MaxIDLength+1), secret)}, wantErr: client.ErrInvalidClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := http.NewRequestWithContext(t.Context(), "GET", "/v1/revocations", nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range tt.header {
				r.Header.Add("Authorization", v)
			}
			got, err := auth.Authenticate(t.Context(), r)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Authenticate(%q) = %v, want %v", tt.header, err, tt.wantErr)
				}
				if got.ID != "" {
					t.Errorf("Authenticate(%q) returned client %q with its error", tt.header, got.ID)
				}
				if strings.Contains(err.Error(), secret) {
					t.Errorf("Authenticate error %q contains the secret", err)
				}
				return
			}
			if err != nil || got.ID != tt.wantID {
				t.Fatalf("Authenticate(%q) = %q, %v, want %q, nil", tt.header, got.ID, err, tt.wantID)
			}
		})
	}
}

// TestAuthenticateStoreFailure checks that a store failure is neither a
// refusal nor a success.
func TestAuthenticateStoreFailure(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "latch.db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("sqlite.Open = %v, want nil", err)
	}
	db.Close()
	r, _ := http.NewRequestWithContext(t.Context(), "GET", "/", nil)
	r.Header.Set("Authorization", basic("c_1", "secret"))
	_, err = client.NewAuthenticator(db).Authenticate(t.Context(), r)
	if err == nil || errors.Is(err, client.ErrInvalidClient) || errors.Is(err, client.ErrNoCredentials) {
		t.Fatalf("Authenticate on a closed store = %v, want a store error", err)
	}
}
