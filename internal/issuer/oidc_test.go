package issuer_test

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/issuer"
	"github.com/latch-auth/latch/internal/keyring"
	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/verifier"
)

const testClient = "web-app"

func TestIssueAccess(t *testing.T) {
	now := t0.Truncate(time.Second)
	tests := []struct {
		name string
		p    issuer.AccessParams
	}{
		{
			name: "user token of an OAuth client",
			p: issuer.AccessParams{Subject: alice.ID, ClientID: testClient, SessionID: "s-client",
				Scope: "openid orders:read", Roles: alice.Roles},
		},
		{
			name: "client token (client credentials)",
			p:    issuer.AccessParams{Subject: testClient, ClientID: testClient, Scope: "orders:read"},
		},
		{
			name: "client token without scope",
			p:    issuer.AccessParams{Subject: testClient, ClientID: testClient},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, clk := newRing(t)
			iss := newIssuer(t, r, issuer.Config{Issuer: testIssuer, Audience: testAudience, Now: clk.Now})
			tok, claims, err := iss.IssueAccess(tt.p)
			if err != nil {
				t.Fatalf("IssueAccess(%+v): %v", tt.p, err)
			}
			got, err := validator(t, r, clk, testAudience[0]).Parse(tok)
			if err != nil {
				t.Fatalf("Parse(access token): %v", err)
			}
			checks := []struct {
				field     string
				got, want any
			}{
				{"sub", got.Subject, tt.p.Subject},
				{"client_id", got.ClientID, tt.p.ClientID},
				{"sid", got.SessionID, tt.p.SessionID},
				{"scope", got.Scope, tt.p.Scope},
				{"roles", strings.Join(got.Roles, " "), strings.Join(tt.p.Roles, " ")},
				{"aud", strings.Join(got.Audience, " "), strings.Join(testAudience, " ")},
				{"iat", got.IssuedAt, now},
				{"exp", got.ExpiresAt, now.Add(issuer.DefaultAccessTTL)},
				{"jti", got.ID, claims.ID},
			}
			for _, c := range checks {
				if !equal(c.got, c.want) {
					t.Errorf("IssueAccess claim %s = %v, want %v", c.field, c.got, c.want)
				}
			}
			raw := string(got.Raw())
			for name, absent := range map[string]bool{`"sid"`: tt.p.SessionID == "", `"roles"`: tt.p.Roles == nil, `"scope"`: tt.p.Scope == ""} {
				if has := strings.Contains(raw, name); has == absent {
					t.Errorf("claims %s: has %s = %v, want %v", raw, name, has, !absent)
				}
			}
		})
	}
}

func TestIssueAccessRefuses(t *testing.T) {
	r, clk := newRing(t)
	iss := newIssuer(t, r, issuer.Config{Issuer: testIssuer, Audience: testAudience, Now: clk.Now})
	for _, p := range []issuer.AccessParams{
		{ClientID: testClient},
		{Subject: alice.ID},
		{},
	} {
		tok, c, err := iss.IssueAccess(p)
		if !errors.Is(err, issuer.ErrInvalidParams) || tok != "" || c.Subject != "" {
			t.Errorf("IssueAccess(%+v) = %q, %+v, %v; want zero values, %v", p, tok, c, err, issuer.ErrInvalidParams)
		}
	}
}

// idValidator checks ID tokens as a relying party does: the published
// JWKS, typ "JWT", the client as audience.
func idValidator(t *testing.T, r *keyring.Ring, clk *clock) *jwt.Validator {
	t.Helper()
	b, _, err := r.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jose.ParseJWKSet(b)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwt.NewValidator(keys, testIssuer, testClient, jwt.ValidatorOptions{Type: issuer.TypeIDToken, Leeway: jwt.NoLeeway, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestIssueID(t *testing.T) {
	now := t0.Truncate(time.Second)
	authTime := t0.Add(-time.Hour)
	const access = "dNZX1hEZ9wBCzNL40Upu646bdzQA"
	tests := []struct {
		name       string
		p          issuer.IDParams
		wantAtHash string
		wantEmail  bool
	}{
		{
			name: "all claims",
			p: issuer.IDParams{Subject: alice.ID, ClientID: testClient, SessionID: "browser-1", AuthTime: authTime,
				Nonce: "n-0S6", AccessToken: access, Scope: "openid email", Email: alice.Email, EmailVerified: true},
			// Ping Identity's worked example of at_hash for RS256.
			wantAtHash: "wfgvmE9VxjAudsl9lc6TqA",
			wantEmail:  true,
		},
		{
			name: "no email scope",
			p: issuer.IDParams{Subject: alice.ID, ClientID: testClient, SessionID: "browser-1", AuthTime: authTime,
				AccessToken: access, Scope: "openid profile emails", Email: alice.Email, EmailVerified: true},
			wantAtHash: "wfgvmE9VxjAudsl9lc6TqA",
		},
		{
			name: "minimal",
			p:    issuer.IDParams{Subject: alice.ID, ClientID: testClient, AuthTime: authTime},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, clk := newRing(t)
			iss := newIssuer(t, r, issuer.Config{Issuer: testIssuer, Audience: testAudience, Now: clk.Now})
			tok, err := iss.IssueID(tt.p)
			if err != nil {
				t.Fatalf("IssueID(%+v): %v", tt.p, err)
			}
			h, _, err := jose.Verify(tok, mustJWKS(t, r), jose.VerifyOptions{})
			if err != nil {
				t.Fatalf("jose.Verify(ID token) with the JWKS: %v", err)
			}
			signer, err := r.IDTokenSigner()
			if err != nil {
				t.Fatal(err)
			}
			if h.Type != "JWT" || h.Algorithm != jose.RS256 || h.KeyID != signer.KeyID() {
				t.Errorf("ID token header typ %q alg %s kid %q, want \"JWT\" RS256 %q", h.Type, h.Algorithm, h.KeyID, signer.KeyID())
			}
			got, err := idValidator(t, r, clk).Parse(tok)
			if err != nil {
				t.Fatalf("relying party Parse(ID token): %v", err)
			}
			wantEmail, wantVerified := "", false
			if tt.wantEmail {
				wantEmail, wantVerified = tt.p.Email, tt.p.EmailVerified
			}
			checks := []struct {
				field     string
				got, want any
			}{
				{"iss", got.Issuer, testIssuer},
				{"sub", got.Subject, tt.p.Subject},
				{"aud", strings.Join(got.Audience, " "), testClient},
				{"azp", got.AuthorizedParty, testClient},
				{"iat", got.IssuedAt, now},
				{"exp", got.ExpiresAt, now.Add(issuer.DefaultAccessTTL)},
				{"auth_time", got.AuthTime, authTime.Truncate(time.Second)},
				{"nonce", got.Nonce, tt.p.Nonce},
				{"sid", got.SessionID, tt.p.SessionID},
				{"amr", strings.Join(got.AMR, " "), "pwd"},
				{"at_hash", got.AccessTokenHash, tt.wantAtHash},
				{"email", got.Email, wantEmail},
				{"email_verified", got.EmailVerified, wantVerified},
			}
			for _, c := range checks {
				if !equal(c.got, c.want) {
					t.Errorf("IssueID claim %s = %v, want %v", c.field, c.got, c.want)
				}
			}
			raw := string(got.Raw())
			for _, name := range []string{`"client_id"`, `"scope"`, `"roles"`} {
				if strings.Contains(raw, name) {
					t.Errorf("ID token claims %s have %s, an access-token claim", raw, name)
				}
			}
			if has, want := strings.Contains(raw, `"nonce"`), tt.p.Nonce != ""; has != want {
				t.Errorf("ID token claims %s: has nonce = %v, want %v", raw, has, want)
			}
		})
	}
}

func TestIssueIDRefuses(t *testing.T) {
	r, clk := newRing(t)
	iss := newIssuer(t, r, issuer.Config{Issuer: testIssuer, Audience: testAudience, Now: clk.Now})
	for _, p := range []issuer.IDParams{
		{ClientID: testClient, AuthTime: t0},
		{Subject: alice.ID, AuthTime: t0},
		{Subject: alice.ID, ClientID: testClient},
	} {
		if tok, err := iss.IssueID(p); !errors.Is(err, issuer.ErrInvalidParams) || tok != "" {
			t.Errorf("IssueID(%+v) = %q, %v; want \"\", %v", p, tok, err, issuer.ErrInvalidParams)
		}
	}
	empty, clk := emptyRing(t)
	iss = newIssuer(t, empty, issuer.Config{Issuer: testIssuer, Audience: testAudience, Now: clk.Now})
	if tok, err := iss.IssueID(issuer.IDParams{Subject: alice.ID, ClientID: testClient, AuthTime: t0}); !errors.Is(err, keyring.ErrNoSigningKey) || tok != "" {
		t.Errorf("IssueID() with no ID-token key = %q, %v; want \"\", %v", tok, err, keyring.ErrNoSigningKey)
	}
}

func TestAccessTokenHash(t *testing.T) {
	const tok = "dNZX1hEZ9wBCzNL40Upu646bdzQA"
	sum := sha256.Sum256([]byte(tok))
	tests := []struct {
		alg     jose.Algorithm
		want    string
		wantErr error
	}{
		{jose.RS256, "wfgvmE9VxjAudsl9lc6TqA", nil},
		{jose.ES256, base64.RawURLEncoding.EncodeToString(sum[:16]), nil},
		{jose.RS384, "", nil},
		{jose.PS512, "", nil},
		{jose.EdDSA, "", issuer.ErrInvalidParams},
	}
	for _, tt := range tests {
		got, err := issuer.AccessTokenHash(tt.alg, tok)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("AccessTokenHash(%s) error = %v, want %v", tt.alg, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		raw, derr := base64.RawURLEncoding.Strict().DecodeString(got)
		wantLen := map[jose.Algorithm]int{jose.RS256: 16, jose.ES256: 16, jose.RS384: 24, jose.PS512: 32}[tt.alg]
		if derr != nil || len(raw) != wantLen || (tt.want != "" && got != tt.want) {
			t.Errorf("AccessTokenHash(%s) = %q (%d bytes), want %q, %d bytes", tt.alg, got, len(raw), tt.want, wantLen)
		}
	}
}

func mustJWKS(t *testing.T, r *keyring.Ring) *jose.KeySet {
	t.Helper()
	b, _, err := r.JWKS()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jose.ParseJWKSet(b)
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// TestIDTokenIsNotAnAccessToken presents an ID token where an access
// token is expected, to a resource service that is also the client, so
// that its audience matches: the server's own checks and the verifier,
// which fetches the JWKS holding the ID-token key, refuse it.
func TestIDTokenIsNotAnAccessToken(t *testing.T) {
	for _, alg := range []jose.Algorithm{jose.ES256, jose.HS256, jose.RS256} {
		t.Run(string(alg), func(t *testing.T) {
			r, clk := emptyRingWith(t, keyring.Config{Algorithm: alg})
			if _, err := r.Ensure(t.Context()); err != nil {
				t.Fatal(err)
			}
			iss := newIssuer(t, r, issuer.Config{Issuer: testIssuer, Audience: []string{testClient}, Now: clk.Now})
			access, _, err := iss.IssueAccess(issuer.AccessParams{Subject: alice.ID, ClientID: testClient, SessionID: "s-1"})
			if err != nil {
				t.Fatal(err)
			}
			id, err := iss.IssueID(issuer.IDParams{Subject: alice.ID, ClientID: testClient, AuthTime: t0, AccessToken: access})
			if err != nil {
				t.Fatal(err)
			}

			// The server's own check, with the access-token keys.
			server := validator(t, r, clk, testClient)
			if _, err := server.Parse(access); err != nil {
				t.Errorf("server Parse(access token) = %v, want valid", err)
			}
			wantServer := jwt.ErrUnknownKey // not an access-token key
			if alg == jose.RS256 {
				wantServer = jwt.ErrType // the same key: the typ tells
			}
			if _, err := server.Parse(id); !errors.Is(err, wantServer) {
				t.Errorf("server Parse(ID token) = %v, want %v", err, wantServer)
			}

			// A resource service's verifier, fetching the JWKS.
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				b, _, err := r.JWKS()
				if err != nil {
					http.Error(w, err.Error(), http.StatusInternalServerError)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				w.Write(b)
			}))
			t.Cleanup(srv.Close)
			v, err := verifier.New(t.Context(), verifier.Config{
				Issuers: []verifier.Issuer{{Issuer: testIssuer, Audience: testClient, JWKSURL: srv.URL}},
				Now:     clk.Now,
			})
			if err != nil {
				t.Fatalf("verifier.New: %v", err)
			}
			t.Cleanup(v.Close)
			if alg != jose.HS256 {
				if _, err := v.Verify(t.Context(), access); err != nil {
					t.Errorf("verifier Verify(access token) = %v, want valid", err)
				}
			}
			if _, err := v.Verify(t.Context(), id); !errors.Is(err, jwt.ErrType) {
				t.Errorf("verifier Verify(ID token) = %v, want %v", err, jwt.ErrType)
			}
			// The same JWKS serves relying parties, which check ID tokens.
			if got := mustJWKS(t, r); !slices.ContainsFunc(got.Keys(), func(k *jose.Key) bool { return k.Algorithm() == jose.RS256 }) {
				t.Errorf("JWKS has no RS256 key for ID tokens")
			}
		})
	}
}
