package issuer_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/issuer"
	"github.com/latch-auth/latch/internal/keyring"
	"github.com/latch-auth/latch/internal/keyring/keyringtest"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/sqlite"
	"github.com/latch-auth/latch/internal/testclock"
	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
)

// clock is the shared settable test clock.
type clock = testclock.Clock

const testIssuer = "https://auth.example.com"

var testAudience = []string{"orders", "billing"}

// t0 is when every test's clock starts; not on a whole second, as a real
// clock rarely is.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 700_000_000, time.UTC)

// newRing returns a ring over a new store with a signing key, and its
// clock.
func newRing(t *testing.T) (*keyring.Ring, *clock) {
	t.Helper()
	r, clk := emptyRing(t)
	if _, err := r.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	return r, clk
}

func emptyRing(t *testing.T) (*keyring.Ring, *clock) {
	t.Helper()
	return emptyRingWith(t, keyring.Config{})
}

// emptyRingWith is emptyRing with cfg; its clock and key generation are
// the test's.
func emptyRingWith(t *testing.T, cfg keyring.Config) (*keyring.Ring, *clock) {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "latch.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clk := testclock.New(t0)
	cfg.Now, cfg.GenerateKey = clk.Now, keyringtest.GenerateKey
	r, err := keyring.New(t.Context(), db, bytes.Repeat([]byte{1}, keyring.MasterKeySize), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r, clk
}

func newIssuer(t *testing.T, r *keyring.Ring, cfg issuer.Config) *issuer.Issuer {
	t.Helper()
	iss, err := issuer.New(r, cfg)
	if err != nil {
		t.Fatalf("issuer.New: %v", err)
	}
	return iss
}

func validator(t *testing.T, r *keyring.Ring, clk *clock, aud string) *jwt.Validator {
	t.Helper()
	keys, err := r.VerificationKeys()
	if err != nil {
		t.Fatal(err)
	}
	v, err := jwt.NewValidator(keys, testIssuer, aud, jwt.ValidatorOptions{
		Type: jwt.TypeAccessToken, Leeway: jwt.NoLeeway, Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

var (
	alice   = store.User{ID: "u-alice", Email: "alice@example.com", Roles: []string{"admin", "support"}}
	session = store.Session{ID: "s-123", UserID: "u-alice"}
)

func TestIssue(t *testing.T) {
	now := t0.Truncate(time.Second) // NumericDate is whole seconds
	tests := []struct {
		name      string
		cfg       issuer.Config
		user      store.User
		wantTTL   time.Duration
		wantScope string
	}{
		{
			name:      "defaults",
			cfg:       issuer.Config{Issuer: testIssuer, Audience: testAudience},
			user:      alice,
			wantTTL:   issuer.DefaultAccessTTL,
			wantScope: issuer.DefaultScope,
		},
		{
			name:      "custom lifetime and scope",
			cfg:       issuer.Config{Issuer: testIssuer, Audience: testAudience[:1], AccessTTL: 5 * time.Minute, Scope: "orders:read"},
			user:      alice,
			wantTTL:   5 * time.Minute,
			wantScope: "orders:read",
		},
		{
			name:      "no roles",
			cfg:       issuer.Config{Issuer: testIssuer, Audience: testAudience},
			user:      store.User{ID: "u-bob", Email: "bob@example.com"},
			wantTTL:   issuer.DefaultAccessTTL,
			wantScope: issuer.DefaultScope,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, clk := newRing(t)
			tt.cfg.Now = clk.Now
			iss := newIssuer(t, r, tt.cfg)
			if got := iss.AccessTTL(); got != tt.wantTTL {
				t.Errorf("AccessTTL() = %v, want %v", got, tt.wantTTL)
			}
			tok, claims, err := iss.Issue(tt.user, session)
			if err != nil {
				t.Fatalf("Issue(%s) error: %v", tt.user.ID, err)
			}

			keys, err := r.VerificationKeys()
			if err != nil {
				t.Fatal(err)
			}
			h, _, err := jose.Verify(tok, keys, jose.VerifyOptions{})
			if err != nil {
				t.Fatalf("jose.Verify(token): %v", err)
			}
			signer, err := r.Signer()
			if err != nil {
				t.Fatal(err)
			}
			if h.Type != jwt.TypeAccessToken || h.KeyID != signer.KeyID() || h.Algorithm != signer.Algorithm() {
				t.Errorf("token header typ %q kid %q alg %s, want %q %q %s", h.Type, h.KeyID, h.Algorithm, jwt.TypeAccessToken, signer.KeyID(), signer.Algorithm())
			}

			for _, aud := range tt.cfg.Audience {
				got, err := validator(t, r, clk, aud).Parse(tok)
				if err != nil {
					t.Fatalf("Parse(token) for audience %q: %v", aud, err)
				}
				checks := []struct {
					field     string
					got, want any
				}{
					{"iss", got.Issuer, testIssuer},
					{"sub", got.Subject, tt.user.ID},
					{"aud", strings.Join(got.Audience, " "), strings.Join(tt.cfg.Audience, " ")},
					{"sid", got.SessionID, session.ID},
					{"client_id", got.ClientID, issuer.ClientID},
					{"scope", got.Scope, tt.wantScope},
					{"roles", strings.Join(got.Roles, " "), strings.Join(tt.user.Roles, " ")},
					{"iat", got.IssuedAt, now},
					{"nbf", got.NotBefore, now},
					{"exp", got.ExpiresAt, now.Add(tt.wantTTL)},
					{"jti", got.ID, claims.ID},
				}
				for _, c := range checks {
					if !equal(c.got, c.want) {
						t.Errorf("Issue(%s) claim %s = %v, want %v", tt.user.ID, c.field, c.got, c.want)
					}
				}
			}
			// The returned claims are what was signed.
			if !claims.IssuedAt.Equal(now) || !claims.ExpiresAt.Equal(now.Add(tt.wantTTL)) || claims.Subject != tt.user.ID ||
				claims.SessionID != session.ID || claims.Issuer != testIssuer || claims.Scope != tt.wantScope {
				t.Errorf("Issue(%s) returned claims %+v, do not match the token", tt.user.ID, claims)
			}

			// The token is valid until exp and not at exp.
			v := validator(t, r, clk, tt.cfg.Audience[0])
			clk.Set(now.Add(tt.wantTTL - time.Second))
			if _, err := v.Parse(tok); err != nil {
				t.Errorf("Parse(token) a second before exp = %v, want valid", err)
			}
			clk.Set(now.Add(tt.wantTTL))
			if _, err := v.Parse(tok); !errors.Is(err, jwt.ErrExpired) {
				t.Errorf("Parse(token) at exp = %v, want %v", err, jwt.ErrExpired)
			}
		})
	}
}

func equal(a, b any) bool {
	if ta, ok := a.(time.Time); ok {
		tb, ok := b.(time.Time)
		return ok && ta.Equal(tb)
	}
	return a == b
}

// TestIssueAfterTokensRevoked checks that a token's "iat" is after the
// user's TokensRevokedAt at the second precision verifiers compare them
// with, so that a token issued after a subject revocation is not covered
// by it, while nbf and exp stay relative to now.
func TestIssueAfterTokensRevoked(t *testing.T) {
	now := t0.Truncate(time.Second) // t0 is 700 ms into this second
	tests := []struct {
		name    string
		revoked time.Time
		wantIat time.Time
	}{
		{"never revoked", time.Time{}, now},
		{"a minute earlier", t0.Add(-time.Minute), now},
		{"at the end of the previous second", now.Add(-time.Millisecond), now},
		{"at the start of this second", now, now.Add(time.Second)},
		{"earlier in this second", t0.Add(-500 * time.Millisecond), now.Add(time.Second)},
		{"at now", t0, now.Add(time.Second)},
		{"later in this second", t0.Add(200 * time.Millisecond), now.Add(time.Second)},
		{"a later second", t0.Add(3 * time.Second), now.Add(4 * time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, clk := newRing(t)
			iss := newIssuer(t, r, issuer.Config{Issuer: testIssuer, Audience: testAudience, Now: clk.Now})
			user := alice
			user.TokensRevokedAt = tt.revoked
			tok, claims, err := iss.Issue(user, session)
			if err != nil {
				t.Fatalf("Issue(TokensRevokedAt %v) error: %v", tt.revoked, err)
			}
			if !claims.IssuedAt.Equal(tt.wantIat) || !claims.NotBefore.Equal(now) || !claims.ExpiresAt.Equal(now.Add(issuer.DefaultAccessTTL)) {
				t.Errorf("Issue(TokensRevokedAt %v) = iat %v, nbf %v, exp %v, want %v, %v, %v",
					tt.revoked, claims.IssuedAt, claims.NotBefore, claims.ExpiresAt, tt.wantIat, now, now.Add(issuer.DefaultAccessTTL))
			}
			if !tt.revoked.IsZero() && !claims.IssuedAt.After(tt.revoked.Truncate(time.Second)) {
				t.Errorf("Issue(TokensRevokedAt %v) = iat %v, want after %v (covered by the revocation otherwise)",
					tt.revoked, claims.IssuedAt, tt.revoked.Truncate(time.Second))
			}

			// What was signed is what was returned, and a verifier with
			// the default leeway accepts it.
			keys, err := r.VerificationKeys()
			if err != nil {
				t.Fatal(err)
			}
			v, err := jwt.NewValidator(keys, testIssuer, testAudience[0], jwt.ValidatorOptions{Type: jwt.TypeAccessToken, Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Parse(tok)
			if err != nil || !got.IssuedAt.Equal(tt.wantIat) {
				t.Errorf("Parse(token) = iat %v, %v, want %v, nil", got.IssuedAt, err, tt.wantIat)
			}
		})
	}
}

func TestIssueRefusedByOtherVerifiers(t *testing.T) {
	r, clk := newRing(t)
	iss := newIssuer(t, r, issuer.Config{Issuer: testIssuer, Audience: testAudience, Now: clk.Now})
	tok, _, err := iss.Issue(alice, session)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := r.VerificationKeys()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := newRing(t)
	otherKeys, err := other.VerificationKeys()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		keys *jose.KeySet
		iss  string
		aud  string
		typ  string
		want error
	}{
		{"other audience", keys, testIssuer, "payroll", jwt.TypeAccessToken, jwt.ErrAudience},
		{"other issuer", keys, "https://evil.example.com", "orders", jwt.TypeAccessToken, jwt.ErrIssuer},
		{"other keys", otherKeys, testIssuer, "orders", jwt.TypeAccessToken, jwt.ErrUnknownKey},
		{"other type", keys, testIssuer, "orders", "JWT", jwt.ErrType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := jwt.NewValidator(tt.keys, tt.iss, tt.aud, jwt.ValidatorOptions{Type: tt.typ, Now: clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := v.Parse(tok); !errors.Is(err, tt.want) {
				t.Errorf("Parse(token) by a verifier with %s = %v, want %v", tt.name, err, tt.want)
			}
		})
	}
}

func TestJTI(t *testing.T) {
	r, clk := newRing(t)
	iss := newIssuer(t, r, issuer.Config{Issuer: testIssuer, Audience: testAudience, Now: clk.Now})
	seen := map[string]bool{}
	for i := range 200 {
		_, c, err := iss.Issue(alice, session)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := base64.RawURLEncoding.Strict().DecodeString(c.ID)
		if err != nil || len(raw) != 16 {
			t.Fatalf("Issue() #%d jti %q: %d bytes, %v; want 16 bytes (128 bits) of base64url", i, c.ID, len(raw), err)
		}
		if seen[c.ID] {
			t.Fatalf("Issue() #%d jti %q repeats an earlier one", i, c.ID)
		}
		seen[c.ID] = true
	}
}

// userWithRoles returns a user with n roles of 32 bytes each.
func userWithRoles(n int) store.User {
	u := store.User{ID: "u-many", Email: "many@example.com"}
	for i := range n {
		u.Roles = append(u.Roles, fmt.Sprintf("role-%026d", i))
	}
	return u
}

func TestTokenTooLarge(t *testing.T) {
	r, clk := newRing(t)
	// The size of the token for a user depends only on its claims: the
	// jti and the ES256 signature have fixed lengths.
	probe := newIssuer(t, r, issuer.Config{Issuer: testIssuer, Audience: testAudience, Now: clk.Now, MaxTokenSize: 1 << 20})
	tok, _, err := probe.Issue(userWithRoles(20), session)
	if err != nil {
		t.Fatal(err)
	}
	size := len(tok)

	tests := []struct {
		name    string
		max     int
		user    store.User
		wantErr error
	}{
		{"default limit, few roles", 0, alice, nil},
		{"default limit, 300 roles", 0, userWithRoles(300), issuer.ErrTokenTooLarge},
		{"at the limit", size, userWithRoles(20), nil},
		{"one byte over the limit", size - 1, userWithRoles(20), issuer.ErrTokenTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss := newIssuer(t, r, issuer.Config{Issuer: testIssuer, Audience: testAudience, Now: clk.Now, MaxTokenSize: tt.max})
			tok, c, err := iss.Issue(tt.user, session)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Issue(user with %d roles), limit %d = %d bytes, %v; want %v", len(tt.user.Roles), tt.max, len(tok), err, tt.wantErr)
			}
			if err != nil && (tok != "" || c.ID != "" || c.Subject != "") {
				t.Errorf("Issue(user with %d roles) = %d-byte token, claims %q; want zero values with the error", len(tt.user.Roles), len(tok), c.ID)
			}
		})
	}
}

// TestLargeTokenWarning: a token from WarnTokenPercent of MaxTokenSize
// is logged at WARN with its size, the limit, the subject and its largest
// claims by name and size; never a claim's value nor the token.
func TestLargeTokenWarning(t *testing.T) {
	r, clk := newRing(t)
	probe := newIssuer(t, r, issuer.Config{Issuer: testIssuer, Audience: testAudience, Now: clk.Now})
	secretish := userWithRoles(4)
	secretish.Claims = map[string]json.RawMessage{
		"notes": json.RawMessage(`"` + strings.Repeat("confidential ", 60) + `"`),
		"dept":  json.RawMessage(`"sales"`),
	}
	tok, _, err := probe.Issue(secretish, session)
	if err != nil {
		t.Fatal(err)
	}
	size := len(tok)
	// limit puts size at pct percent of it.
	limit := func(pct int) int { return size * 100 / pct }
	tests := []struct {
		name  string
		max   int
		warns bool
	}{
		{"well under the budget", limit(50), false},
		{"just under 75%", limit(74), false},
		{"at 75%", limit(75), true},
		{"at 100%", size, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
			iss := newIssuer(t, r, issuer.Config{Issuer: testIssuer, Audience: testAudience, Now: clk.Now, Logger: logger, MaxTokenSize: tt.max})
			tok, _, err := iss.Issue(secretish, session)
			if err != nil || len(tok) != size {
				t.Fatalf("Issue() = %d bytes, %v; want %d, nil", len(tok), err, size)
			}
			if !tt.warns {
				if buf.Len() != 0 {
					t.Errorf("Issue(%d-byte token, limit %d) logged %s, want nothing", len(tok), tt.max, buf.String())
				}
				return
			}
			var rec struct {
				Level, Msg, Kind, User string
				Bytes, Limit, Roles    int
				LargestClaims          string `json:"largest_claims"`
			}
			lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
			if len(lines) != 1 {
				t.Fatalf("Issue(%d-byte token) logged %d records, want 1:\n%s", len(tok), len(lines), buf.String())
			}
			if err := json.Unmarshal(lines[0], &rec); err != nil {
				t.Fatal(err)
			}
			if rec.Level != "WARN" || rec.Kind != issuer.KindAccess || rec.Bytes != len(tok) || rec.Limit != tt.max ||
				rec.User != secretish.ID || rec.Roles != len(secretish.Roles) {
				t.Errorf("warning = %+v, want level WARN, kind access, bytes %d, limit %d, user %s, roles %d", rec, len(tok), tt.max, secretish.ID, len(secretish.Roles))
			}
			if !strings.HasPrefix(rec.LargestClaims, "notes:") || !strings.Contains(rec.LargestClaims, " roles:") {
				t.Errorf("warning largest_claims = %q, want notes first, then roles among them", rec.LargestClaims)
			}
			sig := tok[strings.LastIndexByte(tok, '.')+1:]
			if strings.Contains(buf.String(), sig) || strings.Contains(buf.String(), "confidential") || strings.Contains(buf.String(), "sales") {
				t.Errorf("large-token warning %s contains the token or a claim's value", buf.String())
			}
		})
	}
}

func TestIssueWithoutSigningKey(t *testing.T) {
	r, clk := emptyRing(t)
	iss := newIssuer(t, r, issuer.Config{Issuer: testIssuer, Audience: testAudience, Now: clk.Now})
	tok, c, err := iss.Issue(alice, session)
	if !errors.Is(err, keyring.ErrNoSigningKey) || tok != "" || c.ID != "" {
		t.Errorf("Issue() with no signing key = %q, %q, %v; want zero values, %v", tok, c.ID, err, keyring.ErrNoSigningKey)
	}
}

func TestNewRefuses(t *testing.T) {
	r, _ := newRing(t)
	tests := []struct {
		name string
		ring *keyring.Ring
		cfg  issuer.Config
	}{
		{"no issuer", r, issuer.Config{Audience: testAudience}},
		{"nil audience", r, issuer.Config{Issuer: testIssuer}},
		{"empty audience", r, issuer.Config{Issuer: testIssuer, Audience: []string{}}},
		{"empty audience value", r, issuer.Config{Issuer: testIssuer, Audience: []string{""}}},
		{"empty among audiences", r, issuer.Config{Issuer: testIssuer, Audience: []string{"orders", ""}}},
		{"no ring", nil, issuer.Config{Issuer: testIssuer, Audience: testAudience}},
		// Retired keys stay published for the ring's TokenTTL: a longer
		// access-token lifetime would outlive its key.
		{"lifetime beyond the ring's TokenTTL", r, issuer.Config{Issuer: testIssuer, Audience: testAudience, AccessTTL: r.Config().TokenTTL + time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iss, err := issuer.New(tt.ring, tt.cfg)
			if err == nil || iss != nil {
				t.Fatalf("issuer.New(%+v) = %v, %v; want nil, an error", tt.cfg, iss, err)
			}
			if !strings.HasPrefix(err.Error(), "issuer: ") {
				t.Errorf("issuer.New error %q, want the \"issuer: \" prefix", err)
			}
		})
	}
	if _, err := issuer.New(r, issuer.Config{Issuer: testIssuer, Audience: testAudience, AccessTTL: r.Config().TokenTTL}); err != nil {
		t.Errorf("issuer.New(AccessTTL = ring TokenTTL) = %v, want nil", err)
	}
}
