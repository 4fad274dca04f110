package keyring_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

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

const (
	testIssuer   = "https://auth.example.com"
	testAudience = "orders"
)

// t0 is when every test's clock starts.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func newClock(t time.Time) *clock { return testclock.New(t) }

func testMaster(b byte) []byte { return bytes.Repeat([]byte{b}, keyring.MasterKeySize) }

func openStore(t *testing.T) *sqlite.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "latch.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newRing(t *testing.T, st store.Keys, master []byte, cfg keyring.Config) *keyring.Ring {
	t.Helper()
	if cfg.GenerateKey == nil {
		cfg.GenerateKey = keyringtest.GenerateKey
	}
	r, err := keyring.New(t.Context(), st, master, cfg)
	if err != nil {
		t.Fatalf("keyring.New: %v", err)
	}
	return r
}

// ensured returns a ring over a new store whose first key signs from t0.
func ensured(t *testing.T, cfg keyring.Config) (*keyring.Ring, *sqlite.DB, *clock) {
	t.Helper()
	db := openStore(t)
	clk := newClock(t0)
	cfg.Now = clk.Now
	r := newRing(t, db, testMaster(1), cfg)
	if created, err := r.Ensure(t.Context()); err != nil || !created {
		t.Fatalf("Ensure() on an empty store = %v, %v; want true, nil", created, err)
	}
	return r, db, clk
}

func signerID(t *testing.T, r *keyring.Ring) string {
	t.Helper()
	k, err := r.Signer()
	if err != nil {
		t.Fatalf("Signer(): %v", err)
	}
	return k.KeyID()
}

func storedKeys(t *testing.T, db store.Keys) []store.SigningKey {
	t.Helper()
	ks, err := db.ListKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func storedKey(t *testing.T, db store.Keys, id string) store.SigningKey {
	t.Helper()
	for _, k := range storedKeys(t, db) {
		if k.ID == id {
			return k
		}
	}
	t.Fatalf("key %s not in the store", id)
	return store.SigningKey{}
}

// jwksIDs returns the key IDs of the access-token keys in the ring's
// published JWK Set, parsing it as a verifier would; idJWKSIDs returns
// those of the ID-token keys. A key of both is in both.
func jwksIDs(t *testing.T, r *keyring.Ring) []string {
	t.Helper()
	return publishedIDs(t, r, keyring.UseAccess)
}

func idJWKSIDs(t *testing.T, r *keyring.Ring) []string {
	t.Helper()
	return publishedIDs(t, r, keyring.UseIDToken)
}

func publishedIDs(t *testing.T, r *keyring.Ring, use string) []string {
	t.Helper()
	set := publishedSet(t, r)
	var ids []string
	for _, k := range set.Keys() {
		if slices.Contains(r.Uses(store.SigningKey{Algorithm: string(k.Algorithm())}), use) {
			ids = append(ids, k.KeyID())
		}
	}
	slices.Sort(ids)
	return ids
}

// accessKeys returns the stored keys of the ring's access-token lifecycle.
func accessKeys(t *testing.T, r *keyring.Ring, db store.Keys) []store.SigningKey {
	t.Helper()
	var out []store.SigningKey
	for _, k := range storedKeys(t, db) {
		if slices.Contains(r.Uses(k), keyring.UseAccess) {
			out = append(out, k)
		}
	}
	return out
}

func idSignerID(t *testing.T, r *keyring.Ring) string {
	t.Helper()
	k, err := r.IDTokenSigner()
	if err != nil {
		t.Fatalf("IDTokenSigner(): %v", err)
	}
	return k.KeyID()
}

func publishedSet(t *testing.T, r *keyring.Ring) *jose.KeySet {
	t.Helper()
	b, _, err := r.JWKS()
	if err != nil {
		t.Fatalf("JWKS(): %v", err)
	}
	set, err := jose.ParseJWKSet(b)
	if err != nil {
		t.Fatalf("jose.ParseJWKSet(JWKS()): %v", err)
	}
	return set
}

func verifyIDs(t *testing.T, r *keyring.Ring) []string {
	t.Helper()
	set, err := r.VerificationKeys()
	if err != nil {
		t.Fatalf("VerificationKeys(): %v", err)
	}
	var ids []string
	for _, k := range set.Keys() {
		ids = append(ids, k.KeyID())
	}
	slices.Sort(ids)
	return ids
}

func sorted(ids ...string) []string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return ids
}

// token is an access token signed by a ring's signer.
type token struct {
	raw string
	kid string
	iat time.Time
	exp time.Time
}

func issue(t *testing.T, r *keyring.Ring, now time.Time, ttl time.Duration) token {
	t.Helper()
	key, err := r.Signer()
	if err != nil {
		t.Fatalf("Signer() at %v: %v", now, err)
	}
	return issueWith(t, key, now, ttl)
}

// issueWith is issue with key.
func issueWith(t *testing.T, key *jose.Key, now time.Time, ttl time.Duration) token {
	t.Helper()
	c := jwt.Claims{
		Issuer:    testIssuer,
		Subject:   "user-1",
		Audience:  jwt.Audience{testAudience},
		IssuedAt:  now,
		NotBefore: now,
		ExpiresAt: now.Add(ttl),
	}
	raw, err := jwt.Sign(key, &c, jose.SignOptions{Type: jwt.TypeAccessToken})
	if err != nil {
		t.Fatal(err)
	}
	return token{raw: raw, kid: key.KeyID(), iat: now, exp: now.Add(ttl)}
}

func validator(t *testing.T, keys *jose.KeySet, clk *clock) *jwt.Validator {
	t.Helper()
	v, err := jwt.NewValidator(keys, testIssuer, testAudience, jwt.ValidatorOptions{
		Type: jwt.TypeAccessToken, Leeway: jwt.NoLeeway, Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func serverValidator(t *testing.T, r *keyring.Ring, clk *clock) *jwt.Validator {
	t.Helper()
	keys, err := r.VerificationKeys()
	if err != nil {
		t.Fatalf("VerificationKeys(): %v", err)
	}
	return validator(t, keys, clk)
}

func TestConfigDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   keyring.Config
		want keyring.Config // Now is not compared
	}{
		{
			name: "zero",
			want: keyring.Config{
				Algorithm:      keyring.DefaultAlgorithm,
				RotationPeriod: keyring.DefaultRotationPeriod,
				JWKSMaxAge:     keyring.DefaultJWKSMaxAge,
				PublishAhead:   keyring.DefaultJWKSMaxAge + time.Minute,
				TokenTTL:       keyring.DefaultTokenTTL,
			},
		},
		{
			name: "publish ahead below max-age is raised",
			in:   keyring.Config{Algorithm: jose.EdDSA, JWKSMaxAge: time.Hour, PublishAhead: 10 * time.Minute, RotationPeriod: -1, TokenTTL: time.Minute},
			want: keyring.Config{Algorithm: jose.EdDSA, JWKSMaxAge: time.Hour, PublishAhead: time.Hour + time.Minute, RotationPeriod: -1, TokenTTL: time.Minute},
		},
		{
			name: "longer publish ahead is kept",
			in:   keyring.Config{JWKSMaxAge: time.Minute, PublishAhead: 3 * time.Hour},
			want: keyring.Config{
				Algorithm: keyring.DefaultAlgorithm, RotationPeriod: keyring.DefaultRotationPeriod,
				JWKSMaxAge: time.Minute, PublishAhead: 3 * time.Hour, TokenTTL: keyring.DefaultTokenTTL,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRing(t, openStore(t), testMaster(1), tt.in)
			got := r.Config()
			if got.Now == nil {
				t.Error("Config().Now = nil, want time.Now")
			}
			got.Now = nil
			got.GenerateKey = nil // newRing's, for fast RSA keys
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("New(%+v).Config() = %+v, want %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	tests := []struct {
		name   string
		master []byte
		cfg    keyring.Config
		want   error
	}{
		{"short master key", make([]byte, 16), keyring.Config{}, keyring.ErrMasterKey},
		{"long master key", make([]byte, 33), keyring.Config{}, keyring.ErrMasterKey},
		{"no master key", nil, keyring.Config{}, keyring.ErrMasterKey},
		{"none algorithm", testMaster(1), keyring.Config{Algorithm: "none"}, jose.ErrUnsupportedAlgorithm},
		{"unknown algorithm", testMaster(1), keyring.Config{Algorithm: "ES999"}, jose.ErrUnsupportedAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := keyring.New(t.Context(), openStore(t), tt.master, tt.cfg)
			if !errors.Is(err, tt.want) || r != nil {
				t.Errorf("New(%d-byte master, %q) = %v, %v; want nil, %v", len(tt.master), tt.cfg.Algorithm, r, err, tt.want)
			}
		})
	}
}

func TestEnsure(t *testing.T) {
	ctx := t.Context()
	db := openStore(t)
	clk := newClock(t0)
	r := newRing(t, db, testMaster(1), keyring.Config{Now: clk.Now})

	if k, err := r.Signer(); !errors.Is(err, keyring.ErrNoSigningKey) || k != nil {
		t.Fatalf("Signer() before Ensure = %v, %v; want nil, %v", k, err, keyring.ErrNoSigningKey)
	}
	created, err := r.Ensure(ctx)
	if err != nil || !created {
		t.Fatalf("Ensure() on an empty store = %v, %v; want true, nil", created, err)
	}
	ks := accessKeys(t, r, db)
	if len(ks) != 1 {
		t.Fatalf("after Ensure, store holds %d access-token keys, want 1", len(ks))
	}
	k := ks[0]
	if !k.CreatedAt.Equal(t0) || !k.ActivateAt.Equal(t0) || !k.RetireAt.IsZero() || !k.RemoveAt.IsZero() {
		t.Errorf("Ensure() stored times created %v activate %v retire %v remove %v; want %v, %v, zero, zero",
			k.CreatedAt, k.ActivateAt, k.RetireAt, k.RemoveAt, t0, t0)
	}
	if k.Algorithm != string(keyring.DefaultAlgorithm) {
		t.Errorf("Ensure() key algorithm = %s, want %s", k.Algorithm, keyring.DefaultAlgorithm)
	}
	if got := signerID(t, r); got != k.ID {
		t.Errorf("Signer() after Ensure = %s, want the new key %s", got, k.ID)
	}

	// With a key active, Ensure does nothing, also later and while a
	// successor is pending.
	steps := []struct {
		name string
		do   func()
	}{
		{"again", func() {}},
		{"an hour later", func() { clk.Advance(time.Hour) }},
		{"with a pending successor", func() {
			if _, err := r.Rotate(ctx, false); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, s := range steps {
		s.do()
		n := len(storedKeys(t, db))
		created, err := r.Ensure(ctx)
		if err != nil || created {
			t.Errorf("Ensure() %s = %v, %v; want false, nil", s.name, created, err)
		}
		if got := len(storedKeys(t, db)); got != n {
			t.Errorf("Ensure() %s changed the number of stored keys from %d to %d", s.name, n, got)
		}
	}
}

func TestEnsureSeesKeysOfOtherNodes(t *testing.T) {
	ctx := t.Context()
	db := openStore(t)
	clk := newClock(t0)
	a := newRing(t, db, testMaster(1), keyring.Config{Now: clk.Now})
	b := newRing(t, db, testMaster(1), keyring.Config{Now: clk.Now}) // loaded before a's key exists

	if created, err := a.Ensure(ctx); err != nil || !created {
		t.Fatalf("a.Ensure() = %v, %v; want true, nil", created, err)
	}
	if created, err := b.Ensure(ctx); err != nil || created {
		t.Errorf("b.Ensure() with a's key in the store = %v, %v; want false, nil", created, err)
	}
	if n := len(storedKeys(t, db)); n != 2 {
		t.Errorf("after two nodes' Ensure, store holds %d keys, want 2 (an access-token key and an ID-token key)", n)
	}
	if got, want := signerID(t, b), signerID(t, a); got != want {
		t.Errorf("b.Signer() = %s, want a's key %s", got, want)
	}
	if got, want := idSignerID(t, b), idSignerID(t, a); got != want {
		t.Errorf("b.IDTokenSigner() = %s, want a's key %s", got, want)
	}
}

func TestJWKSPublishesPublicMembersOnly(t *testing.T) {
	private := []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"}
	tests := []struct {
		alg jose.Algorithm
		kty string
	}{
		{jose.ES256, "EC"},
		{jose.ES384, "EC"},
		{jose.ES512, "EC"},
		{jose.EdDSA, "OKP"},
		{jose.RS256, "RSA"},
		{jose.PS256, "RSA"},
	}
	for _, tt := range tests {
		t.Run(string(tt.alg), func(t *testing.T) {
			r, _, clk := ensured(t, keyring.Config{Algorithm: tt.alg})
			b, maxAge, err := r.JWKS()
			if err != nil {
				t.Fatalf("JWKS(): %v", err)
			}
			if maxAge != keyring.DefaultJWKSMaxAge {
				t.Errorf("JWKS() max-age = %v, want %v", maxAge, keyring.DefaultJWKSMaxAge)
			}
			var set struct {
				Keys []map[string]json.RawMessage `json:"keys"`
			}
			if err := json.Unmarshal(b, &set); err != nil {
				t.Fatalf("JWKS() is not JSON: %v", err)
			}
			// The access-token key, and the ID-token key unless it is
			// the same.
			want := map[string]string{signerID(t, r): tt.kty, idSignerID(t, r): "RSA"}
			if len(set.Keys) != len(want) {
				t.Fatalf("JWKS() has %d keys, want %d", len(set.Keys), len(want))
			}
			for _, k := range set.Keys {
				for _, m := range private {
					if _, ok := k[m]; ok {
						t.Errorf("JWKS() key has private member %q", m)
					}
				}
				var kty, kid string
				json.Unmarshal(k["kty"], &kty)
				json.Unmarshal(k["kid"], &kid)
				if kty != want[kid] {
					t.Errorf("JWKS() key kty %q kid %q, want the keys %v (kid: kty)", kty, kid, want)
				}
			}
			pub := publishedSet(t, r)
			for _, k := range pub.Keys() {
				if k.IsPrivate() {
					t.Errorf("jose.ParseJWKSet(JWKS()) key %s is private", k.KeyID())
				}
			}
			// A verifier using only the JWKS accepts the signer's tokens.
			tok := issue(t, r, t0, time.Minute)
			if _, err := validator(t, pub, clk).Parse(tok.raw); err != nil {
				t.Errorf("Parse(token) with the published JWKS: %v", err)
			}
		})
	}
}

func TestHMACKeysAreNeverPublished(t *testing.T) {
	for _, alg := range []jose.Algorithm{jose.HS256, jose.HS384, jose.HS512} {
		t.Run(string(alg), func(t *testing.T) {
			r, _, clk := ensured(t, keyring.Config{Algorithm: alg})
			signer, err := r.Signer()
			if err != nil {
				t.Fatal(err)
			}
			b, _, err := r.JWKS()
			if err != nil {
				t.Fatalf("JWKS(): %v", err)
			}
			// Only the ID-token key is published.
			if got, want := publishedIDs(t, r, keyring.UseIDToken), []string{idSignerID(t, r)}; publishedSet(t, r).Len() != 1 || !slices.Equal(got, want) {
				t.Errorf("JWKS() of an %s ring = %s, want only the ID-token key %v", alg, b, want)
			}
			priv, err := signer.PrivateJWK()
			if err != nil {
				t.Fatal(err)
			}
			var m struct{ K string }
			if err := json.Unmarshal(priv, &m); err != nil || m.K == "" {
				t.Fatalf("PrivateJWK() has no \"k\": %v", err)
			}
			if bytes.Contains(b, []byte(m.K)) {
				t.Error("JWKS() contains the HMAC secret")
			}
			if got := verifyIDs(t, r); !slices.Equal(got, []string{signer.KeyID()}) {
				t.Errorf("VerificationKeys() = %v, want [%s]", got, signer.KeyID())
			}
			tok := issue(t, r, t0, time.Minute)
			if _, err := serverValidator(t, r, clk).Parse(tok.raw); err != nil {
				t.Errorf("Parse(token) with VerificationKeys(): %v", err)
			}
		})
	}
}

func TestSealedAtRest(t *testing.T) {
	r, db, _ := ensured(t, keyring.Config{})
	signer, err := r.Signer()
	if err != nil {
		t.Fatal(err)
	}
	priv, err := signer.PrivateJWK()
	if err != nil {
		t.Fatal(err)
	}
	var m struct{ D string }
	if err := json.Unmarshal(priv, &m); err != nil || m.D == "" {
		t.Fatalf("PrivateJWK() has no \"d\": %v", err)
	}
	k := storedKey(t, db, signer.KeyID())
	switch {
	case len(k.Sealed) == 0:
		t.Error("stored key has no sealed private key")
	case bytes.Contains(k.Sealed, priv):
		t.Error("stored Sealed contains the plaintext private JWK")
	case bytes.Contains(k.Sealed, []byte(m.D)):
		t.Error("stored Sealed contains the private scalar \"d\"")
	case bytes.Contains(k.Public, []byte(m.D)) || bytes.Contains(k.Public, []byte(`"d"`)):
		t.Errorf("stored Public has private members: %s", k.Public)
	}
	pub, err := jose.ParseJWK(k.Public, jose.Algorithm(k.Algorithm))
	if err != nil || pub.IsPrivate() || pub.KeyID() != k.ID {
		t.Errorf("stored Public = %v, %v; want the public key %s", pub, err, k.ID)
	}
}

func TestSealedKeyRefused(t *testing.T) {
	tests := []struct {
		name   string
		master []byte
		// tamper changes the stored keys of a ring that has rotated once.
		tamper func(t *testing.T, db *sqlite.DB, a, b store.SigningKey)
	}{
		{
			name:   "another master key",
			master: testMaster(2),
		},
		{
			name:   "sealed blobs swapped between two keys",
			master: testMaster(1),
			tamper: func(t *testing.T, db *sqlite.DB, a, b store.SigningKey) {
				setSealed(t, db, a.ID, b.Sealed)
				setSealed(t, db, b.ID, a.Sealed)
			},
		},
		{
			name:   "one key's blob copied onto another",
			master: testMaster(1),
			tamper: func(t *testing.T, db *sqlite.DB, a, b store.SigningKey) {
				setSealed(t, db, b.ID, a.Sealed)
			},
		},
		{
			name:   "bit flipped",
			master: testMaster(1),
			tamper: func(t *testing.T, db *sqlite.DB, a, _ store.SigningKey) {
				s := bytes.Clone(a.Sealed)
				s[len(s)/2] ^= 1
				setSealed(t, db, a.ID, s)
			},
		},
		{
			name:   "truncated",
			master: testMaster(1),
			tamper: func(t *testing.T, db *sqlite.DB, a, _ store.SigningKey) {
				setSealed(t, db, a.ID, a.Sealed[:len(a.Sealed)-1])
			},
		},
		{
			name:   "shorter than a nonce",
			master: testMaster(1),
			tamper: func(t *testing.T, db *sqlite.DB, a, _ store.SigningKey) {
				setSealed(t, db, a.ID, a.Sealed[:5])
			},
		},
		{
			name:   "empty",
			master: testMaster(1),
			tamper: func(t *testing.T, db *sqlite.DB, a, _ store.SigningKey) {
				setSealed(t, db, a.ID, nil)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, db, clk := ensured(t, keyring.Config{})
			if _, err := r.Rotate(t.Context(), false); err != nil {
				t.Fatal(err)
			}
			ks := accessKeys(t, r, db)
			if len(ks) != 2 {
				t.Fatalf("store holds %d access-token keys, want 2", len(ks))
			}
			if tt.tamper != nil {
				tt.tamper(t, db, ks[0], ks[1])
			}
			got, err := keyring.New(t.Context(), db, tt.master, keyring.Config{Now: clk.Now})
			if !errors.Is(err, keyring.ErrSealed) || got != nil {
				t.Errorf("New(store with %s) = %v, %v; want nil, %v", tt.name, got, err, keyring.ErrSealed)
			}
		})
	}
}

func setSealed(t *testing.T, db *sqlite.DB, id string, sealed []byte) {
	t.Helper()
	_, err := db.UpdateKey(t.Context(), id, func(k store.SigningKey) (store.SigningKey, error) {
		k.Sealed = sealed
		return k, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRotateImmediate(t *testing.T) {
	ctx := t.Context()
	r, db, clk := ensured(t, keyring.Config{})
	ttl := r.Config().TokenTTL
	old := signerID(t, r)
	clk.Advance(time.Hour)
	before := issue(t, r, clk.Now(), ttl)

	k, err := r.Rotate(ctx, true)
	if err != nil {
		t.Fatalf("Rotate(immediate): %v", err)
	}
	now := clk.Now()
	if !k.ActivateAt.Equal(now) {
		t.Errorf("Rotate(immediate) ActivateAt = %v, want now %v", k.ActivateAt, now)
	}
	if got := signerID(t, r); got != k.ID {
		t.Errorf("Signer() after Rotate(immediate) = %s, want the new key %s", got, k.ID)
	}
	o := storedKey(t, db, old)
	if wantRemove := now.Add(ttl + 5*time.Minute); !o.RetireAt.Equal(now) || !o.RemoveAt.Equal(wantRemove) {
		t.Errorf("old key retire %v remove %v, want %v, %v", o.RetireAt, o.RemoveAt, now, wantRemove)
	}
	if got, want := jwksIDs(t, r), sorted(old, k.ID); !slices.Equal(got, want) {
		t.Errorf("JWKS() after Rotate(immediate) = %v, want both keys %v", got, want)
	}
	v := serverValidator(t, r, clk)
	for _, at := range []time.Time{now, before.exp.Add(-time.Second)} {
		clk.Set(at)
		if _, err := v.Parse(before.raw); err != nil {
			t.Errorf("at %v, Parse(token of retired key) = %v, want it valid until %v", at, err, before.exp)
		}
	}
	clk.Set(before.exp)
	if _, err := v.Parse(before.raw); !errors.Is(err, jwt.ErrExpired) {
		t.Errorf("at exp, Parse(token of retired key) = %v, want %v", err, jwt.ErrExpired)
	}
}

func TestRetireRefuses(t *testing.T) {
	tests := []struct {
		name string
		// setup prepares the ring and returns the key ID to retire.
		setup func(t *testing.T, r *keyring.Ring, db *sqlite.DB) string
		want  error
	}{
		{
			name:  "only active key",
			setup: func(t *testing.T, r *keyring.Ring, _ *sqlite.DB) string { return signerID(t, r) },
			want:  keyring.ErrLastKey,
		},
		{
			name:  "unknown key",
			setup: func(t *testing.T, r *keyring.Ring, _ *sqlite.DB) string { return "no-such-kid" },
			want:  keyring.ErrUnknownKey,
		},
		{
			name:  "empty key ID",
			setup: func(t *testing.T, r *keyring.Ring, _ *sqlite.DB) string { return "" },
			want:  keyring.ErrUnknownKey,
		},
		{
			name: "signer while its successor is pending",
			setup: func(t *testing.T, r *keyring.Ring, _ *sqlite.DB) string {
				id := signerID(t, r)
				if _, err := r.Rotate(t.Context(), false); err != nil {
					t.Fatal(err)
				}
				return id
			},
			want: keyring.ErrLastKey,
		},
		{
			// The current key is already scheduled to retire when its
			// successor activates; retiring the successor would leave
			// nothing to sign with from then on.
			name: "pending successor",
			setup: func(t *testing.T, r *keyring.Ring, _ *sqlite.DB) string {
				k, err := r.Rotate(t.Context(), false)
				if err != nil {
					t.Fatal(err)
				}
				return k.ID
			},
			want: keyring.ErrLastKey,
		},
		{
			name: "new signer after an immediate rotation",
			setup: func(t *testing.T, r *keyring.Ring, _ *sqlite.DB) string {
				k, err := r.Rotate(t.Context(), true)
				if err != nil {
					t.Fatal(err)
				}
				return k.ID
			},
			want: keyring.ErrLastKey,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, db, clk := ensured(t, keyring.Config{})
			clk.Advance(time.Minute)
			id := tt.setup(t, r, db)
			before := storedKeys(t, db)
			err := r.Retire(t.Context(), id)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Retire(%q) = %v, want %v", id, err, tt.want)
			}
			if after := storedKeys(t, db); !slices.EqualFunc(before, after, sameSchedule) {
				t.Errorf("refused Retire(%q) changed the stored schedule", id)
			}
			// A signer remains, now and after every scheduled change.
			for _, d := range []time.Duration{0, r.Config().PublishAhead, 24 * time.Hour} {
				clk.Set(t0.Add(time.Minute + d))
				if _, err := r.Signer(); err != nil {
					t.Errorf("%v after refused Retire(%q): Signer() = %v", d, id, err)
				}
			}
		})
	}
}

func sameSchedule(a, b store.SigningKey) bool {
	return a.ID == b.ID && a.ActivateAt.Equal(b.ActivateAt) && a.RetireAt.Equal(b.RetireAt) && a.RemoveAt.Equal(b.RemoveAt)
}

// TestRetireWithTwoActiveKeys retires one of two active keys, as happens
// when two nodes whose clocks disagree both created a first key.
func TestRetireWithTwoActiveKeys(t *testing.T) {
	ctx := t.Context()
	db := openStore(t)
	clkA := newClock(t0.Add(time.Minute)) // node a's clock is a minute ahead
	clkB := newClock(t0)
	a := newRing(t, db, testMaster(1), keyring.Config{Now: clkA.Now})
	b := newRing(t, db, testMaster(1), keyring.Config{Now: clkB.Now})
	if _, err := a.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if created, err := b.Ensure(ctx); err != nil || !created {
		t.Fatalf("b.Ensure() while a's key is not yet created by b's clock = %v, %v; want true, nil", created, err)
	}
	clkB.Set(clkA.Now())
	if err := a.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	ka := signerID(t, a)
	var kb string
	for _, k := range accessKeys(t, a, db) {
		if k.ID != ka {
			kb = k.ID
		}
	}
	tok := issue(t, a, clkA.Now(), a.Config().TokenTTL)
	if tok.kid != ka {
		t.Fatalf("a signs with %s, want its newest active key %s", tok.kid, ka)
	}

	if err := a.Retire(ctx, ka); err != nil {
		t.Fatalf("Retire(%s) with %s active = %v, want nil", ka, kb, err)
	}
	if got := signerID(t, a); got != kb {
		t.Errorf("Signer() after Retire(%s) = %s, want %s", ka, got, kb)
	}
	if got, want := jwksIDs(t, a), sorted(ka, kb); !slices.Equal(got, want) {
		t.Errorf("JWKS() after Retire = %v, want the retired key still published: %v", got, want)
	}
	if _, err := serverValidator(t, a, clkA).Parse(tok.raw); err != nil {
		t.Errorf("Parse(token of the retired key) = %v, want valid", err)
	}
	if err := a.Retire(ctx, kb); !errors.Is(err, keyring.ErrLastKey) {
		t.Errorf("Retire(%s), the last active key = %v, want %v", kb, err, keyring.ErrLastKey)
	}
}

func TestMaintainRotation(t *testing.T) {
	tests := []struct {
		name   string
		period time.Duration
		at     time.Duration // after the first key activated
		rotate bool
	}{
		{"before period", 24 * time.Hour, 24*time.Hour - time.Second, false},
		{"at period", 24 * time.Hour, 24 * time.Hour, true},
		{"after period", 24 * time.Hour, 48 * time.Hour, true},
		{"default period, before", 0, keyring.DefaultRotationPeriod - time.Second, false},
		{"default period, at", 0, keyring.DefaultRotationPeriod, true},
		{"negative period disables", -1, 10 * keyring.DefaultRotationPeriod, false},
		{"negative hour disables", -time.Hour, 10 * keyring.DefaultRotationPeriod, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			r, db, clk := ensured(t, keyring.Config{RotationPeriod: tt.period})
			first := signerID(t, r)
			clk.Advance(tt.at)
			if err := r.Maintain(ctx); err != nil {
				t.Fatalf("Maintain(): %v", err)
			}
			ks := accessKeys(t, r, db)
			if rotated := len(ks) == 2; rotated != tt.rotate || len(ks) > 2 {
				t.Fatalf("Maintain() at +%v with period %v: %d keys stored, want rotation %v", tt.at, tt.period, len(ks), tt.rotate)
			}
			if !tt.rotate {
				return
			}
			next := ks[1]
			if want := clk.Now().Add(r.Config().PublishAhead); !next.ActivateAt.Equal(want) {
				t.Errorf("auto-rotated key activates at %v, want now + PublishAhead = %v", next.ActivateAt, want)
			}
			if got := signerID(t, r); got != first {
				t.Errorf("Signer() right after auto-rotation = %s, want the old key %s until the new one activates", got, first)
			}
			// Maintain again while the new key is pending: no further key.
			clk.Advance(time.Minute)
			if err := r.Maintain(ctx); err != nil {
				t.Fatal(err)
			}
			if n := len(accessKeys(t, r, db)); n != 2 {
				t.Errorf("second Maintain() while a key is pending: %d access-token keys stored, want 2", n)
			}
		})
	}
}

func TestSecondRingSeesChanges(t *testing.T) {
	ctx := t.Context()
	db := openStore(t)
	clk := newClock(t0)
	server := newRing(t, db, testMaster(1), keyring.Config{Now: clk.Now})
	if _, err := server.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	first := signerID(t, server)

	// Nodes that loaded the keys before the change, and how each picks
	// it up.
	nodes := []struct {
		name   string
		ring   *keyring.Ring
		reload func(*keyring.Ring) error
	}{
		{"Reload", newRing(t, db, testMaster(1), keyring.Config{Now: clk.Now}), func(r *keyring.Ring) error { return r.Reload(ctx) }},
		{"Maintain", newRing(t, db, testMaster(1), keyring.Config{Now: clk.Now}), func(r *keyring.Ring) error { return r.Maintain(ctx) }},
	}

	// Another process (the CLI) rotates through its own ring.
	cli := newRing(t, db, testMaster(1), keyring.Config{Now: clk.Now})
	if got := signerID(t, cli); got != first {
		t.Fatalf("second ring Signer() = %s, want %s", got, first)
	}
	clk.Advance(time.Minute)
	next, err := cli.Rotate(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		t.Run(n.name, func(t *testing.T) {
			if got := jwksIDs(t, n.ring); !slices.Equal(got, []string{first}) {
				t.Fatalf("JWKS() before %s = %v, want [%s]", n.name, got, first)
			}
			if err := n.reload(n.ring); err != nil {
				t.Fatalf("%s(): %v", n.name, err)
			}
			if got, want := jwksIDs(t, n.ring), sorted(first, next.ID); !slices.Equal(got, want) {
				t.Errorf("JWKS() after %s = %v, want %v", n.name, got, want)
			}
			if n := len(accessKeys(t, n.ring, db)); n != 2 {
				t.Errorf("store holds %d access-token keys, want 2: picking up a rotation must not rotate again", n)
			}
		})
	}

	if err := server.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if got, want := jwksIDs(t, server), sorted(first, next.ID); !slices.Equal(got, want) {
		t.Errorf("server JWKS() after Maintain = %v, want %v", got, want)
	}
	clk.Set(next.ActivateAt)
	if got := signerID(t, server); got != next.ID {
		t.Errorf("server Signer() at the CLI key's activation = %s, want %s", got, next.ID)
	}
	// The CLI lists what the server uses.
	infos, err := cli.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, in := range infos {
		states[in.ID] = in.State
	}
	if states[first] != "retired" || states[next.ID] != "signing" {
		t.Errorf("cli List() states = %v, want %s retired, %s signing", states, first, next.ID)
	}
}

// TestPendingKeyPublishedOnNodeBehind checks that a node whose clock is
// behind the node that rotated publishes the new key once its own clock
// reaches the key's creation time, without waiting for a reload.
func TestPendingKeyPublishedOnNodeBehind(t *testing.T) {
	ctx := t.Context()
	db := openStore(t)
	ahead := newClock(t0.Add(30 * time.Second))
	behind := newClock(t0)
	a := newRing(t, db, testMaster(1), keyring.Config{Now: ahead.Now})
	if _, err := a.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	ahead.Advance(time.Hour)
	behind.Advance(time.Hour)
	next, err := a.Rotate(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	b := newRing(t, db, testMaster(1), keyring.Config{Now: behind.Now})
	first := signerID(t, b)
	if got := jwksIDs(t, b); slices.Contains(got, next.ID) {
		t.Fatalf("b JWKS() before the key's creation time by b's clock = %v, want it pending", got)
	}
	behind.Set(next.CreatedAt)
	if got, want := jwksIDs(t, b), sorted(first, next.ID); !slices.Equal(got, want) {
		t.Errorf("b JWKS() at the key's creation time = %v, want %v", got, want)
	}
}

func TestList(t *testing.T) {
	ctx := t.Context()
	r, db, clk := ensured(t, keyring.Config{})
	first, firstID := signerID(t, r), idSignerID(t, r)
	clk.Advance(time.Hour)
	ks, err := r.RotateKeys(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(ks) != 2 || ks[0].Algorithm != string(keyring.DefaultAlgorithm) || ks[1].Algorithm != string(keyring.IDTokenAlgorithm) {
		t.Fatalf("RotateKeys() = %+v, want an access-token key and an ID-token key", ks)
	}
	next, nextID := ks[0], ks[1]
	old := storedKey(t, db, first)

	// Both lifecycles go through the same states at the same times.
	states := func(a, b string) map[string]string {
		return map[string]string{first: a, firstID: a, next.ID: b, nextID.ID: b}
	}
	tests := []struct {
		name string
		at   time.Time
		want map[string]string // kid -> state; absent: not listed
	}{
		{"after rotate", clk.Now(), states("signing", "pending")},
		{"just before activation", next.ActivateAt.Add(-time.Millisecond), states("signing", "pending")},
		{"at activation", next.ActivateAt, states("retired", "signing")},
		{"just before removal", old.RemoveAt.Add(-time.Millisecond), states("retired", "signing")},
		{"at removal", old.RemoveAt, states("expired", "signing")},
	}
	wantUses := map[string][]string{
		first: {keyring.UseAccess}, next.ID: {keyring.UseAccess},
		firstID: {keyring.UseIDToken}, nextID.ID: {keyring.UseIDToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Set(tt.at)
			infos, err := r.List(ctx)
			if err != nil {
				t.Fatalf("List(): %v", err)
			}
			got := map[string]string{}
			for _, in := range infos {
				got[in.ID] = in.State
				if in.Sealed != nil {
					t.Errorf("List() entry %s carries the sealed private key", in.ID)
				}
				if !slices.Equal(in.Uses, wantUses[in.ID]) {
					t.Errorf("List() entry %s (%s) uses %v, want %v", in.ID, in.Algorithm, in.Uses, wantUses[in.ID])
				}
			}
			if !mapsEqual(got, tt.want) {
				t.Errorf("List() at %v = %v, want %v", tt.at, got, tt.want)
			}
		})
	}

	clk.Set(old.RemoveAt)
	if err := r.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	infos, err := r.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, in := range infos {
		got[in.ID] = in.State
	}
	if want := map[string]string{next.ID: "signing", nextID.ID: "signing"}; !mapsEqual(got, want) {
		t.Errorf("List() after Maintain removed the old keys = %v, want %v", got, want)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestJWKSWithoutSigningKey(t *testing.T) {
	// Before Ensure there is nothing to publish, and that is not an error
	// for the JWKS, however long the ring has been up.
	clk := newClock(t0)
	r := newRing(t, openStore(t), testMaster(1), keyring.Config{Now: clk.Now})
	for _, d := range []time.Duration{0, time.Minute, 2 * time.Hour, 48 * time.Hour} {
		clk.Set(t0.Add(d))
		b, _, err := r.JWKS()
		if err != nil || string(b) != `{"keys":[]}` {
			t.Errorf("JWKS() at +%v with no keys = %s, %v; want {\"keys\":[]}, nil", d, b, err)
		}
		keys, err := r.VerificationKeys()
		if err != nil || keys == nil || keys.Len() != 0 {
			t.Errorf("VerificationKeys() at +%v with no keys = %v, %v; want an empty set", d, keys, err)
		}
		if k, err := r.Signer(); !errors.Is(err, keyring.ErrNoSigningKey) || k != nil {
			t.Errorf("Signer() at +%v with no keys = %v, %v; want nil, %v", d, k, err, keyring.ErrNoSigningKey)
		}
	}
}

// TestAlgorithmKindChange: a ring whose Algorithm changes between an HMAC
// algorithm and a public-key one holds keys of both kinds until the old
// ones are removed. A verification key set cannot mix them
// (jose.NewKeySet), so the server verifies with the keys of its signer's
// kind: it keeps working through the switch, and tokens of the old kind
// stop verifying on the server once the new key signs (clients refresh).
// The JWKS publishes the public keys all along.
func TestAlgorithmKindChange(t *testing.T) {
	for _, tt := range []struct{ from, to jose.Algorithm }{
		{jose.ES256, jose.HS256},
		{jose.HS256, jose.ES256},
		{jose.HS384, jose.EdDSA},
	} {
		t.Run(string(tt.from)+" to "+string(tt.to), func(t *testing.T) {
			ctx := t.Context()
			old, db, clk := ensured(t, keyring.Config{Algorithm: tt.from, RotationPeriod: -1})
			oldID := signerID(t, old)
			before := issue(t, old, clk.Now(), time.Minute)

			// The server restarts with the other algorithm and rotates.
			r := newRing(t, db, testMaster(1), keyring.Config{Algorithm: tt.to, RotationPeriod: -1, Now: clk.Now})
			k, err := r.Rotate(ctx, false)
			if err != nil {
				t.Fatalf("Rotate() to %s: %v", tt.to, err)
			}
			// Pending: the old key signs, and its tokens verify.
			if got := signerID(t, r); got != oldID {
				t.Errorf("Signer() while %s is pending = %s, want %s", tt.to, got, oldID)
			}
			if _, err := serverValidator(t, r, clk).Parse(before.raw); err != nil {
				t.Errorf("Parse(%s token) while %s is pending = %v", tt.from, tt.to, err)
			}
			if err := r.Maintain(ctx); err != nil {
				t.Errorf("Maintain() with keys of both kinds = %v", err)
			}

			// Switched: the new key signs and its tokens verify.
			clk.Set(k.ActivateAt)
			if got := signerID(t, r); got != k.ID {
				t.Fatalf("Signer() after activation = %s, want %s", got, k.ID)
			}
			if got := verifyIDs(t, r); !slices.Equal(got, []string{k.ID}) {
				t.Errorf("VerificationKeys() after the switch = %v, want the %s key only [%s]", got, tt.to, k.ID)
			}
			after := issue(t, r, clk.Now(), time.Minute)
			if _, err := serverValidator(t, r, clk).Parse(after.raw); err != nil {
				t.Errorf("Parse(%s token) after the switch = %v", tt.to, err)
			}
			if _, err := serverValidator(t, r, clk).Parse(issue(t, old, clk.Now(), time.Minute).raw); !errors.Is(err, jwt.ErrUnknownKey) {
				t.Errorf("Parse(%s token) after the switch = %v, want %v", tt.from, err, jwt.ErrUnknownKey)
			}
			var wantPublished []string
			for _, id := range []string{oldID, k.ID} {
				if storedKey(t, db, id).Public != nil {
					wantPublished = append(wantPublished, id)
				}
			}
			if got := jwksIDs(t, r); !slices.Equal(got, sorted(wantPublished...)) {
				t.Errorf("JWKS() after the switch = %v, want the public keys %v", got, sorted(wantPublished...))
			}
			if err := r.Maintain(ctx); err != nil {
				t.Errorf("Maintain() after the switch = %v", err)
			}
		})
	}
}
