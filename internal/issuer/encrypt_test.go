package issuer_test

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/latch-auth/latch/internal/issuer"
	"github.com/latch-auth/latch/internal/keyring"
	"github.com/latch-auth/latch/internal/keyring/keyringtest"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/sqlite"
	"github.com/latch-auth/latch/internal/testclock"
	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
)

// registry is a ring over a store whose client registry the test fills.
type registry struct {
	db   *sqlite.DB
	ring *keyring.Ring
	clk  *clock
}

func newRegistry(t *testing.T) registry {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "latch.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := testclock.New(t0)
	r, err := keyring.New(t.Context(), db, bytes.Repeat([]byte{1}, keyring.MasterKeySize),
		keyring.Config{Now: clk.Now, GenerateKey: keyringtest.GenerateKey})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	return registry{db: db, ring: r, clk: clk}
}

// addClient registers a client with the public half of key (nil: none).
func (g registry) addClient(t *testing.T, id, name string, key *jose.EncryptionKey) {
	t.Helper()
	c := store.Client{ID: id, Name: name, Type: store.ClientConfidential, AuthMethod: "client_secret_basic",
		Scopes: []string{"revocations:read"}, CreatedAt: g.clk.Now(), UpdatedAt: g.clk.Now()}
	if key != nil {
		c.EncryptionKey = publicJWK(t, key)
	}
	if err := g.db.CreateClient(t.Context(), c); err != nil {
		t.Fatal(err)
	}
}

func publicJWK(t *testing.T, key *jose.EncryptionKey) string {
	t.Helper()
	pub, err := key.Public()
	if err != nil {
		t.Fatal(err)
	}
	b, err := pub.PublicJWK()
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func genEncKey(t *testing.T, alg jose.KeyManagement) *jose.EncryptionKey {
	t.Helper()
	k, err := jose.GenerateEncryptionKey(alg, "")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// parseNested validates tok as the client holding dec would.
func parseNested(t *testing.T, g registry, aud string, dec *jose.EncryptionKey, tok string) (jwt.Claims, error) {
	t.Helper()
	keys, err := g.ring.VerificationKeys()
	if err != nil {
		t.Fatal(err)
	}
	set, err := jose.NewEncryptionKeySet(dec)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwt.NewValidator(keys, testIssuer, aud, jwt.ValidatorOptions{Type: jwt.TypeAccessToken, Now: g.clk.Now, Decryption: set})
	if err != nil {
		t.Fatal(err)
	}
	return v.Parse(tok)
}

func TestEncryptedAccessTokens(t *testing.T) {
	ordersKey := genEncKey(t, jose.ECDHESA256KW)
	tests := []struct {
		name      string
		clients   func(t *testing.T, g registry)
		encrypted bool
	}{
		{"no client has a key", func(t *testing.T, g registry) { g.addClient(t, "c_1", "orders", nil) }, false},
		{"client named in the audience", func(t *testing.T, g registry) { g.addClient(t, "c_1", "orders", ordersKey) }, true},
		{"client ID in the audience", func(t *testing.T, g registry) { g.addClient(t, "billing", "billing service", ordersKey) }, true},
		{"client with a key, not an audience", func(t *testing.T, g registry) { g.addClient(t, "c_1", "reports", ordersKey) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newRegistry(t)
			tt.clients(t, g)
			iss := newIssuer(t, g.ring, issuer.Config{Issuer: testIssuer, Audience: testAudience, Now: g.clk.Now, Clients: g.db})
			tok, claims, err := iss.Issue(alice, session)
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			if got := strings.Count(tok, ".") == 4; got != tt.encrypted {
				t.Fatalf("Issue gave a token of %d parts, want encrypted %v", strings.Count(tok, ".")+1, tt.encrypted)
			}
			if !tt.encrypted {
				return
			}
			got, err := parseNested(t, g, "orders", ordersKey, tok)
			if err != nil {
				t.Fatalf("the recipient's validator: %v", err)
			}
			if got.Subject != alice.ID || got.ID != claims.ID {
				t.Errorf("decrypted claims = %+v, want those Issue returned (%+v)", got, claims)
			}
			// Without the key, a clear refusal.
			if _, err := validator(t, g.ring, g.clk, "orders").Parse(tok); !errors.Is(err, jwt.ErrEncrypted) {
				t.Errorf("validator without the key: %v, want jwt.ErrEncrypted", err)
			}
			// ID tokens are for the client itself: never encrypted.
			id, err := iss.IssueID(issuer.IDParams{Subject: alice.ID, ClientID: "c_1", AuthTime: g.clk.Now(), AccessToken: tok})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Count(id, ".") != 2 {
				t.Errorf("IssueID gave %d parts, want a signed JWT", strings.Count(id, ".")+1)
			}
		})
	}
}

// TestEncryptionTwoRecipients: a compact JWE has one recipient, so an
// audience naming two clients with keys refuses to issue, naming both.
func TestEncryptionTwoRecipients(t *testing.T) {
	g := newRegistry(t)
	g.addClient(t, "c_1", "orders", genEncKey(t, jose.ECDHES))
	g.addClient(t, "c_2", "billing", genEncKey(t, jose.RSAOAEP256))
	iss := newIssuer(t, g.ring, issuer.Config{Issuer: testIssuer, Audience: testAudience, Now: g.clk.Now, Clients: g.db})
	tok, _, err := iss.Issue(alice, session)
	if !errors.Is(err, issuer.ErrEncryption) || tok != "" {
		t.Fatalf("Issue = %q, %v; want no token and issuer.ErrEncryption", tok, err)
	}
	for _, want := range []string{"c_1 (orders)", "c_2 (billing)", "one recipient"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// TestEncryptionKeyChanges: a key registered or removed applies within
// RecipientTTL.
func TestEncryptionKeyChanges(t *testing.T) {
	g := newRegistry(t)
	g.addClient(t, "c_1", "orders", nil)
	iss := newIssuer(t, g.ring, issuer.Config{Issuer: testIssuer, Audience: testAudience, Now: g.clk.Now, Clients: g.db})
	parts := func() int {
		t.Helper()
		tok, _, err := iss.Issue(alice, session)
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(tok, ".") + 1
	}
	if n := parts(); n != 3 {
		t.Fatalf("before any key: %d parts, want 3", n)
	}
	key := genEncKey(t, jose.ECDHESA128KW)
	set := func(jwk string) {
		t.Helper()
		if _, err := g.db.UpdateClient(t.Context(), "c_1", func(c store.Client) (store.Client, error) {
			c.EncryptionKey = jwk
			return c, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	set(publicJWK(t, key))
	g.clk.Advance(issuer.RecipientTTL)
	if n := parts(); n != 5 {
		t.Fatalf("a TTL after the key was registered: %d parts, want 5", n)
	}
	set("")
	g.clk.Advance(issuer.RecipientTTL)
	if n := parts(); n != 3 {
		t.Fatalf("a TTL after the key was removed: %d parts, want 3", n)
	}
}

// TestEncryptedTokenSizeBudget: MaxTokenSize applies to the token handed
// out, the encrypted one.
func TestEncryptedTokenSizeBudget(t *testing.T) {
	g := newRegistry(t)
	plain := newIssuer(t, g.ring, issuer.Config{Issuer: testIssuer, Audience: testAudience, Now: g.clk.Now})
	signed, _, err := plain.Issue(alice, session)
	if err != nil {
		t.Fatal(err)
	}
	g.addClient(t, "c_1", "orders", genEncKey(t, jose.RSAOAEP256))
	iss := newIssuer(t, g.ring, issuer.Config{Issuer: testIssuer, Audience: testAudience, Now: g.clk.Now, Clients: g.db,
		MaxTokenSize: len(signed) + 100})
	if tok, _, err := iss.Issue(alice, session); !errors.Is(err, issuer.ErrTokenTooLarge) {
		t.Errorf("Issue = %d bytes, %v; want issuer.ErrTokenTooLarge (signed %d bytes, limit %d)", len(tok), err, len(signed), len(signed)+100)
	}
}

// TestEncryptionFailsClosed: when the registry cannot be read, no token
// is issued, rather than one that may have had to be encrypted.
func TestEncryptionFailsClosed(t *testing.T) {
	g := newRegistry(t)
	iss := newIssuer(t, g.ring, issuer.Config{Issuer: testIssuer, Audience: testAudience, Now: g.clk.Now, Clients: g.db})
	g.db.Close()
	if tok, _, err := iss.Issue(alice, session); !errors.Is(err, issuer.ErrEncryption) {
		t.Errorf("Issue with the registry closed = %q, %v; want issuer.ErrEncryption", tok, err)
	}
}

func TestParseClientKey(t *testing.T) {
	priv := genEncKey(t, jose.ECDHES)
	privJWK, err := priv.PrivateJWK()
	if err != nil {
		t.Fatal(err)
	}
	secretJWK, err := genEncKey(t, jose.A256KW).PrivateJWK()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		jwk  string
		ok   bool
	}{
		{"public X25519", publicJWK(t, priv), true},
		{"public RSA", publicJWK(t, genEncKey(t, jose.RSAOAEP256)), true},
		{"private key", string(privJWK), false},
		{"shared secret", string(secretJWK), false},
		{"signing key", `{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`, false},
		{"not JSON", `orders`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := issuer.ParseClientKey(tt.jwk)
			if (err == nil) != tt.ok {
				t.Fatalf("ParseClientKey = %v, %v; want ok %v", k, err, tt.ok)
			}
			if err != nil && !errors.Is(err, jose.ErrInvalidKey) && !errors.Is(err, jose.ErrMalformed) {
				t.Errorf("ParseClientKey error %v matches neither jose.ErrInvalidKey nor jose.ErrMalformed", err)
			}
		})
	}
}
