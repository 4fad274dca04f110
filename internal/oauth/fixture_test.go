package oauth_test

// The tests of this package run the provider over every real component,
// wired as cmd/latch wires them, on a SQLite database in t.TempDir(), with
// a settable clock.

import (
	"crypto/rand"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/client"
	"github.com/latch-auth/latch/internal/issuer"
	"github.com/latch-auth/latch/internal/keyring"
	"github.com/latch-auth/latch/internal/keyring/keyringtest"
	"github.com/latch-auth/latch/internal/login"
	"github.com/latch-auth/latch/internal/oauth"
	"github.com/latch-auth/latch/internal/password"
	"github.com/latch-auth/latch/internal/session"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/sqlite"
	"github.com/latch-auth/latch/internal/testclock"
	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
)

const (
	testIssuer   = "https://auth.latch.test"
	testAudience = "https://api.latch.test"
	testPassword = "correct horse battery staple"
	testRedirect = "https://app.example.com/callback"
	// testVerifier and testChallenge are RFC 7636 Appendix B's example.
	testVerifier  = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	testChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
)

// fixture is a provider and what stands behind it.
type fixture struct {
	t        *testing.T
	p        *oauth.Provider
	db       *sqlite.DB
	ring     *keyring.Ring
	sessions *session.Manager
	clock    *testclock.Clock
	hasher   *password.Hasher
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := t.Context()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "latch.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	master := make([]byte, keyring.MasterKeySize)
	rand.Read(master)
	clk := testclock.New(time.Now())
	ring, err := keyring.New(ctx, db, master, keyring.Config{GenerateKey: keyringtest.GenerateKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ring.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	secret, err := keyring.RefreshSecret(master)
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := session.New(db, secret, session.Config{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := password.New(password.Params{Memory: 8 * 1024, Time: 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := issuer.New(ring, issuer.Config{Issuer: testIssuer, Audience: []string{testAudience}, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	p, err := oauth.New(oauth.Config{Issuer: testIssuer, Audience: []string{testAudience}, Now: clk.Now}, oauth.Deps{
		Users: db, Clients: db, Codes: db, Consents: db, Sessions: sessions, Issuer: iss,
		Login: login.New(db, db, hasher, login.Config{}), Keys: ring, Revocations: db,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, p: p, db: db, ring: ring, sessions: sessions, clock: clk, hasher: hasher}
}

// addUser creates a user with testPassword.
func (f *fixture) addUser(email string, roles ...string) store.User {
	f.t.Helper()
	hash, err := f.hasher.Hash(f.t.Context(), testPassword)
	if err != nil {
		f.t.Fatal(err)
	}
	now := f.clock.Now()
	u := store.User{ID: "u_" + email, Email: email, PasswordHash: hash, Roles: roles, CreatedAt: now, UpdatedAt: now}
	if err := f.db.CreateUser(f.t.Context(), u); err != nil {
		f.t.Fatal(err)
	}
	return u
}

// addClient registers a client.
func (f *fixture) addClient(reg client.Registration) store.Client {
	f.t.Helper()
	c, _, err := client.NewClient(reg, f.clock.Now())
	if err != nil {
		f.t.Fatalf("client.NewClient(%+v) = %v", reg, err)
	}
	if err := f.db.CreateClient(f.t.Context(), c); err != nil {
		f.t.Fatal(err)
	}
	return c
}

// webClient is a first-party confidential client with refresh tokens.
func (f *fixture) webClient(name string, redirects ...string) store.Client {
	if len(redirects) == 0 {
		redirects = []string{testRedirect}
	}
	return f.addClient(client.Registration{
		Name: name, RedirectURIs: redirects, FirstParty: true,
		GrantTypes: []string{client.GrantAuthorizationCode, client.GrantRefreshToken},
		Scopes:     []string{"openid", "profile", "email", "offline_access", "orders:read", "orders:write"},
	})
}

// browser starts a browser session for u.
func (f *fixture) browser(u store.User) (store.Session, string) {
	f.t.Helper()
	s, cookie, err := f.p.StartBrowserSession(f.t.Context(), u, session.Client{UserAgent: "test"})
	if err != nil {
		f.t.Fatalf("StartBrowserSession = %v", err)
	}
	return s, cookie
}

// authorize validates a request of c for scope with the test challenge
// and issues a code for u in browser b.
func (f *fixture) authorize(c store.Client, u store.User, b store.Session, scope string) (oauth.Authorization, string) {
	f.t.Helper()
	a, _, err := f.p.Validate(f.t.Context(), oauth.AuthorizeRequest{
		ClientID: c.ID, RedirectURI: c.RedirectURIs[0], ResponseType: "code", Scope: scope, State: "st", Nonce: "n-0S6",
		CodeChallenge: testChallenge, CodeChallengeMethod: "S256",
	})
	if err != nil {
		f.t.Fatalf("Validate = %v", err)
	}
	code, err := f.p.IssueCode(f.t.Context(), a, u, b)
	if err != nil {
		f.t.Fatalf("IssueCode = %v", err)
	}
	return a, code
}

// exchange redeems code for c with the test verifier.
func (f *fixture) exchange(c store.Client, code string) (oauth.Tokens, error) {
	return f.p.ExchangeCode(f.t.Context(), c, code, c.RedirectURIs[0], testVerifier, session.Client{UserAgent: "test"})
}

// idClaims verifies an ID token for c.
func (f *fixture) idClaims(c store.Client, tok string) jwt.Claims {
	f.t.Helper()
	jwks, _, err := f.ring.JWKS()
	if err != nil {
		f.t.Fatal(err)
	}
	keys, err := jose.ParseJWKSet(jwks)
	if err != nil {
		f.t.Fatal(err)
	}
	v, err := jwt.NewValidator(keys, testIssuer, c.ID, jwt.ValidatorOptions{Type: "JWT", Now: f.clock.Now})
	if err != nil {
		f.t.Fatal(err)
	}
	claims, err := v.Parse(tok)
	if err != nil {
		f.t.Fatalf("ID token: %v", err)
	}
	return claims
}

// wantCode fails unless err is an *oauth.Error with code.
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	var oe *oauth.Error
	if !errors.As(err, &oe) || oe.Code != code {
		t.Errorf("%s = %v, want an oauth error %s", what, err, code)
	}
}
