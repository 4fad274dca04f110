package client_test

import (
	"crypto/sha256"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/client"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/sqlite"
)

func sha256Of(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

// registered is a client stored for the authentication tests, with its
// secret.
type registered struct {
	store.Client
	secret string
}

// registerAll stores a client for each registration.
func registerAll(t *testing.T, db *sqlite.DB, regs ...client.Registration) []registered {
	t.Helper()
	var out []registered
	for _, reg := range regs {
		c, secret, err := client.NewClient(reg, time.Now())
		if err != nil {
			t.Fatalf("NewClient(%+v) = %v", reg, err)
		}
		if err := db.CreateClient(t.Context(), c); err != nil {
			t.Fatalf("CreateClient(%s) = %v", c.Name, err)
		}
		out = append(out, registered{c, secret})
	}
	return out
}

func openDB(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "latch.db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("sqlite.Open = %v, want nil", err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestAuthenticateRequest(t *testing.T) {
	db := openDB(t)
	postReg := webApp()
	postReg.Name, postReg.AuthMethod = "post app", client.AuthClientSecretPost
	cs := registerAll(t, db, webApp(), postReg, nativeApp(),
		client.Registration{Name: "feed reader", Scopes: []string{client.ScopeRevocationsRead}})
	basicC, postC, public, feed := cs[0], cs[1], cs[2], cs[3]
	auth := client.NewAuthenticator(db)

	form := func(kv ...string) url.Values {
		v := url.Values{"grant_type": {"authorization_code"}, "code": {"abc"}}
		for i := 0; i < len(kv); i += 2 {
			v.Add(kv[i], kv[i+1])
		}
		return v
	}
	tests := []struct {
		name    string
		header  string // Authorization; "" for none
		form    url.Values
		wantID  string
		wantErr error
	}{
		{name: "client_secret_basic", header: basic(basicC.ID, basicC.secret), form: form(), wantID: basicC.ID},
		{name: "basic with the same client_id", header: basic(basicC.ID, basicC.secret), form: form("client_id", basicC.ID), wantID: basicC.ID},
		{name: "service client with basic", header: basic(feed.ID, feed.secret), form: form(), wantID: feed.ID},
		{name: "client_secret_post", form: form("client_id", postC.ID, "client_secret", postC.secret), wantID: postC.ID},
		{name: "public client", form: form("client_id", public.ID), wantID: public.ID},
		{name: "bearer header is not client authentication", header: "Bearer x.y.z", form: form("client_id", public.ID), wantID: public.ID},

		{name: "nothing", form: form(), wantErr: client.ErrNoCredentials},
		{name: "bearer only", header: "Bearer x.y.z", form: form(), wantErr: client.ErrNoCredentials},
		{name: "basic and post at once", header: basic(basicC.ID, basicC.secret), form: form("client_id", basicC.ID, "client_secret", basicC.secret), wantErr: client.ErrInvalidClient},
		{name: "basic with another client_id", header: basic(basicC.ID, basicC.secret), form: form("client_id", public.ID), wantErr: client.ErrInvalidClient},
		{name: "basic client using post", form: form("client_id", basicC.ID, "client_secret", basicC.secret), wantErr: client.ErrInvalidClient},
		{name: "post client using basic", header: basic(postC.ID, postC.secret), form: form(), wantErr: client.ErrInvalidClient},
		{name: "confidential client without its secret", form: form("client_id", basicC.ID), wantErr: client.ErrInvalidClient},
		{name: "post client without its secret", form: form("client_id", postC.ID), wantErr: client.ErrInvalidClient},
		{name: "public client with basic and no secret", header: basic(public.ID, "x"), form: form(), wantErr: client.ErrInvalidClient},
		{name: "public client with a secret parameter", form: form("client_id", public.ID, "client_secret", "anything"), wantErr: client.ErrInvalidClient},
		{name: "unknown public client", form: form("client_id", "c_00000000000000000000000000000000"), wantErr: client.ErrInvalidClient},
		{name: "wrong post secret", form: form("client_id", postC.ID, "client_secret", postC.secret+"x"), wantErr: client.ErrInvalidClient},
		{name: "another client's secret", form: form("client_id", postC.ID, "client_secret", basicC.secret), wantErr: client.ErrInvalidClient},
		{name: "unknown post client", form: form("client_id", "c_00000000000000000000000000000000", "client_secret", postC.secret), wantErr: client.ErrInvalidClient},
		{name: "secret without client_id", form: form("client_secret", postC.secret), wantErr: client.ErrInvalidClient},
		{name: "empty secret", form: form("client_id", postC.ID, "client_secret", ""), wantErr: client.ErrInvalidClient},
		{name: "empty client_id", form: form("client_id", ""), wantErr: client.ErrInvalidClient},
		{name: "client_id twice", form: form("client_id", public.ID, "client_id", public.ID), wantErr: client.ErrInvalidClient},
		{name: "client_secret twice", form: form("client_id", postC.ID, "client_secret", postC.secret, "client_secret", postC.secret), wantErr: client.ErrInvalidClient},
		{name: "client_id too long", form: form("client_id", strings.Repeat("c", client.MaxIDLength+1)), wantErr: client.ErrInvalidClient},
		{name: "client_secret too long", form: form("client_id", postC.ID, "client_secret", strings.Repeat("s", client.MaxAuthorizationSize+1)), wantErr: client.ErrInvalidClient},
		{name: "malformed basic", header: "Basic !!!", form: form("client_id", public.ID), wantErr: client.ErrInvalidClient},
		{name: "wrong basic secret", header: basic(basicC.ID, basicC.secret+"x"), form: form(), wantErr: client.ErrInvalidClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := http.NewRequestWithContext(t.Context(), "POST", "/oauth2/token", nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			got, err := auth.AuthenticateRequest(t.Context(), r, tt.form)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("AuthenticateRequest(%q, %v) = %q, %v, want %v", tt.header, tt.form, got.ID, err, tt.wantErr)
				}
				if got.ID != "" {
					t.Errorf("AuthenticateRequest returned client %q with its error", got.ID)
				}
				for _, c := range cs {
					if strings.Contains(err.Error(), c.secret) && c.secret != "" {
						t.Errorf("AuthenticateRequest error %q contains a secret", err)
					}
				}
				return
			}
			if err != nil || got.ID != tt.wantID {
				t.Fatalf("AuthenticateRequest(%q, %v) = %q, %v, want %q, nil", tt.header, tt.form, got.ID, err, tt.wantID)
			}
		})
	}
}

// TestAuthenticateServiceEndpoints checks the service endpoints' method:
// HTTP Basic for every confidential client, whatever method it registered
// for the token endpoint, and never a public client, even one whose
// stored record somehow holds a secret hash.
func TestAuthenticateServiceEndpoints(t *testing.T) {
	db := openDB(t)
	postReg := webApp()
	postReg.Name, postReg.AuthMethod = "post app", client.AuthClientSecretPost
	cs := registerAll(t, db, postReg, nativeApp())
	postC, public := cs[0], cs[1]
	forged := store.Client{ID: "c_forged", Name: "forged", Type: store.ClientPublic, AuthMethod: client.AuthNone,
		SecretHash: sha256Of("forged secret"), CreatedAt: time.Now()}
	if err := db.CreateClient(t.Context(), forged); err != nil {
		t.Fatal(err)
	}
	auth := client.NewAuthenticator(db)
	tests := []struct {
		name    string
		header  string
		wantID  string
		wantErr error
	}{
		{"client_secret_post client with basic", basic(postC.ID, postC.secret), postC.ID, nil},
		{"public client, empty secret", rawBasic(public.ID + ":"), "", client.ErrInvalidClient},
		{"public client, some secret", basic(public.ID, "guess"), "", client.ErrInvalidClient},
		{"public client holding a secret hash", basic(forged.ID, "forged secret"), "", client.ErrInvalidClient},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := http.NewRequestWithContext(t.Context(), "GET", "/v1/revocations", nil)
			r.Header.Set("Authorization", tt.header)
			got, err := auth.Authenticate(t.Context(), r)
			if !errors.Is(err, tt.wantErr) || got.ID != tt.wantID {
				t.Errorf("Authenticate(%s) = %q, %v, want %q, %v", tt.name, got.ID, err, tt.wantID, tt.wantErr)
			}
		})
	}
}

// TestAuthenticateRequestStoreFailure checks that a store failure is
// neither a refusal nor a success, for every method.
func TestAuthenticateRequestStoreFailure(t *testing.T) {
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "latch.db"), sqlite.Options{})
	if err != nil {
		t.Fatalf("sqlite.Open = %v, want nil", err)
	}
	db.Close()
	auth := client.NewAuthenticator(db)
	for _, tt := range []struct {
		name   string
		header string
		form   url.Values
	}{
		{"basic", basic("c_1", "secret"), url.Values{}},
		{"post", "", url.Values{"client_id": {"c_1"}, "client_secret": {"secret"}}},
		{"none", "", url.Values{"client_id": {"c_1"}}},
	} {
		r, _ := http.NewRequestWithContext(t.Context(), "POST", "/oauth2/token", nil)
		if tt.header != "" {
			r.Header.Set("Authorization", tt.header)
		}
		_, err := auth.AuthenticateRequest(t.Context(), r, tt.form)
		if err == nil || errors.Is(err, client.ErrInvalidClient) || errors.Is(err, client.ErrNoCredentials) {
			t.Errorf("AuthenticateRequest(%s) on a closed store = %v, want a store error", tt.name, err)
		}
	}
}
