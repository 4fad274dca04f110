package keyring_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/keyring"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
)

// idToken is an ID token signed by the ring's ID-token key, for client
// testAudience.
func idToken(t *testing.T, r *keyring.Ring, now time.Time) token {
	t.Helper()
	key, err := r.IDTokenSigner()
	if err != nil {
		t.Fatalf("IDTokenSigner() at %v: %v", now, err)
	}
	c := jwt.Claims{
		Issuer: testIssuer, Subject: "user-1", Audience: jwt.Audience{testAudience},
		IssuedAt: now, ExpiresAt: now.Add(time.Minute), AuthTime: now, Nonce: "n",
	}
	raw, err := jwt.Sign(key, &c, jose.SignOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return token{raw: raw, kid: key.KeyID(), iat: now, exp: now.Add(time.Minute)}
}

// idValidator is how a relying party checks an ID token: with the JWKS,
// typ "JWT".
func idValidator(t *testing.T, r *keyring.Ring, clk *clock) *jwt.Validator {
	t.Helper()
	v, err := jwt.NewValidator(publishedSet(t, r), testIssuer, testAudience, jwt.ValidatorOptions{
		Type: "JWT", Leeway: jwt.NoLeeway, Now: clk.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestEnsureBothLifecycles(t *testing.T) {
	for _, alg := range []jose.Algorithm{jose.ES256, jose.EdDSA, jose.HS256, jose.PS256, jose.RS256} {
		t.Run(string(alg), func(t *testing.T) {
			r, db, _ := ensured(t, keyring.Config{Algorithm: alg})
			access, err := r.Signer()
			if err != nil {
				t.Fatal(err)
			}
			id, err := r.IDTokenSigner()
			if err != nil {
				t.Fatalf("IDTokenSigner() after Ensure = %v", err)
			}
			if access.Algorithm() != alg || id.Algorithm() != keyring.IDTokenAlgorithm {
				t.Errorf("signers after Ensure: access %s, ID tokens %s; want %s, %s", access.Algorithm(), id.Algorithm(), alg, keyring.IDTokenAlgorithm)
			}
			// One RS256 key signs both; otherwise there are two keys.
			same := alg == keyring.IDTokenAlgorithm
			if got := access.KeyID() == id.KeyID(); got != same {
				t.Errorf("with %s, access signer %s, ID-token signer %s: same key %v, want %v", alg, access.KeyID(), id.KeyID(), got, same)
			}
			want := 2
			if same {
				want = 1
			}
			if n := len(storedKeys(t, db)); n != want {
				t.Errorf("with %s, Ensure stored %d keys, want %d", alg, n, want)
			}
			if created, err := r.Ensure(t.Context()); err != nil || created {
				t.Errorf("Ensure() again = %v, %v; want false, nil", created, err)
			}
		})
	}
}

// TestEnsureAddsIDTokenKey: a store from before ID tokens holds only an
// access-token key; Ensure adds an ID-token key that signs at once and
// leaves the access-token key alone.
func TestEnsureAddsIDTokenKey(t *testing.T) {
	ctx := t.Context()
	r, db, clk := ensured(t, keyring.Config{})
	access, id := signerID(t, r), idSignerID(t, r)
	if err := db.DeleteKey(ctx, id); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Hour)
	r = newRing(t, db, testMaster(1), keyring.Config{Now: clk.Now})
	if k, err := r.IDTokenSigner(); !errors.Is(err, keyring.ErrNoSigningKey) || k != nil {
		t.Fatalf("IDTokenSigner() with no RS256 key = %v, %v; want nil, %v", k, err, keyring.ErrNoSigningKey)
	}
	if created, err := r.Ensure(ctx); err != nil || !created {
		t.Fatalf("Ensure() without an ID-token key = %v, %v; want true, nil", created, err)
	}
	if got := signerID(t, r); got != access {
		t.Errorf("Signer() after Ensure = %s, want the access-token key %s unchanged", got, access)
	}
	k := storedKey(t, db, idSignerID(t, r))
	if k.Algorithm != string(keyring.IDTokenAlgorithm) || !k.ActivateAt.Equal(clk.Now()) {
		t.Errorf("new ID-token key %s activates at %v, want an RS256 key signing now (%v)", k.Algorithm, k.ActivateAt, clk.Now())
	}
	if n := len(storedKeys(t, db)); n != 2 {
		t.Errorf("store holds %d keys, want 2", n)
	}
}

// TestKeysOfEachUse checks what each lifecycle's keys are used for: the
// JWKS publishes both, the server verifies access tokens with the
// access-token keys only, and an ID token is refused as an access token.
func TestKeysOfEachUse(t *testing.T) {
	tests := []struct {
		alg jose.Algorithm
		// publishAccess: the access-token key is public and published.
		publishAccess bool
		// idTokenAsAccess is how the server refuses an ID token
		// presented as an access token.
		idTokenAsAccess error
	}{
		{jose.ES256, true, jwt.ErrUnknownKey},
		{jose.EdDSA, true, jwt.ErrUnknownKey},
		{jose.HS256, false, jwt.ErrUnknownKey},
		{jose.PS256, true, jwt.ErrUnknownKey},
		// One key signs both: the header typ tells them apart.
		{jose.RS256, true, jwt.ErrType},
	}
	for _, tt := range tests {
		t.Run(string(tt.alg), func(t *testing.T) {
			r, _, clk := ensured(t, keyring.Config{Algorithm: tt.alg})
			access, id := signerID(t, r), idSignerID(t, r)

			wantJWKS := []string{id}
			if tt.publishAccess && access != id {
				wantJWKS = sorted(access, id)
			}
			var all []string
			for _, k := range publishedSet(t, r).Keys() {
				all = append(all, k.KeyID())
			}
			if slices.Sort(all); !slices.Equal(all, wantJWKS) {
				t.Errorf("JWKS() = %v, want %v", all, wantJWKS)
			}
			if got := verifyIDs(t, r); !slices.Equal(got, []string{access}) {
				t.Errorf("VerificationKeys() = %v, want the access-token key only [%s]", got, access)
			}

			tok := idToken(t, r, clk.Now())
			if _, err := idValidator(t, r, clk).Parse(tok.raw); err != nil {
				t.Errorf("relying party Parse(ID token) with the JWKS = %v, want valid", err)
			}
			if _, err := serverValidator(t, r, clk).Parse(tok.raw); !errors.Is(err, tt.idTokenAsAccess) {
				t.Errorf("server Parse(ID token as an access token) = %v, want %v", err, tt.idTokenAsAccess)
			}
			if _, err := serverValidator(t, r, clk).Parse(issue(t, r, clk.Now(), time.Minute).raw); err != nil {
				t.Errorf("server Parse(access token) = %v, want valid", err)
			}
		})
	}
}

func TestRotateKeysBothLifecycles(t *testing.T) {
	tests := []struct {
		alg       jose.Algorithm
		immediate bool
		wantKeys  int // created by RotateKeys
	}{
		{jose.ES256, false, 2},
		{jose.ES256, true, 2},
		{jose.HS256, false, 2},
		{jose.RS256, false, 1},
		{jose.RS256, true, 1},
	}
	for _, tt := range tests {
		name := string(tt.alg)
		if tt.immediate {
			name += " immediate"
		}
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			r, _, clk := ensured(t, keyring.Config{Algorithm: tt.alg})
			access, id := signerID(t, r), idSignerID(t, r)
			clk.Advance(time.Hour)
			ks, err := r.RotateKeys(ctx, tt.immediate)
			if err != nil {
				t.Fatalf("RotateKeys(%v): %v", tt.immediate, err)
			}
			if len(ks) != tt.wantKeys {
				t.Fatalf("RotateKeys(%v) with %s created %d keys, want %d", tt.immediate, tt.alg, len(ks), tt.wantKeys)
			}
			next, nextID := ks[0], ks[len(ks)-1]
			if next.Algorithm != string(tt.alg) || nextID.Algorithm != string(keyring.IDTokenAlgorithm) {
				t.Errorf("RotateKeys() created %s and %s keys, want %s and %s", next.Algorithm, nextID.Algorithm, tt.alg, keyring.IDTokenAlgorithm)
			}
			if !tt.immediate {
				// Published ahead, the old keys sign until the new ones
				// activate, together.
				if got := idJWKSIDs(t, r); !slices.Contains(got, nextID.ID) {
					t.Errorf("JWKS() ID-token keys after RotateKeys = %v, want the new one %s published at once", got, nextID.ID)
				}
				if a, i := signerID(t, r), idSignerID(t, r); a != access || i != id {
					t.Errorf("signers while the new keys are pending = %s, %s; want the old ones %s, %s", a, i, access, id)
				}
				clk.Set(next.ActivateAt)
			}
			if a, i := signerID(t, r), idSignerID(t, r); a != next.ID || i != nextID.ID {
				t.Errorf("signers once the new keys activate = %s, %s; want %s, %s", a, i, next.ID, nextID.ID)
			}
			if got := idJWKSIDs(t, r); !slices.Contains(got, id) {
				t.Errorf("JWKS() ID-token keys after the switch = %v, want the retired key %s still published", got, id)
			}
		})
	}
}

// TestRetireEachLifecycle checks that each lifecycle keeps a signer on
// its own: a key of the other one does not stand in for it.
func TestRetireEachLifecycle(t *testing.T) {
	ctx := t.Context()
	r, _, clk := ensured(t, keyring.Config{})
	access, id := signerID(t, r), idSignerID(t, r)
	for _, kid := range []string{access, id} {
		if err := r.Retire(ctx, kid); !errors.Is(err, keyring.ErrLastKey) {
			t.Errorf("Retire(%s), the only key of its lifecycle = %v, want %v", kid, err, keyring.ErrLastKey)
		}
	}
	clk.Advance(time.Minute)
	ks, err := r.RotateKeys(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, kid := range []string{id, ks[1].ID} {
		if err := r.Retire(ctx, kid); !errors.Is(err, keyring.ErrLastKey) {
			t.Errorf("Retire(%s) with the ID-token successor pending = %v, want %v", kid, err, keyring.ErrLastKey)
		}
	}
}

// TestRetireOneOfTwoIDTokenKeys: two nodes whose clocks disagree both
// created first keys; either ID-token key can then be retired.
func TestRetireOneOfTwoIDTokenKeys(t *testing.T) {
	ctx := t.Context()
	db := openStore(t)
	clkA := newClock(t0.Add(time.Minute))
	clkB := newClock(t0)
	a := newRing(t, db, testMaster(1), keyring.Config{Now: clkA.Now})
	b := newRing(t, db, testMaster(1), keyring.Config{Now: clkB.Now})
	if _, err := a.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	clkB.Set(clkA.Now())
	if err := a.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	access, idA := signerID(t, a), idSignerID(t, a)
	var idB string
	for _, k := range storedKeys(t, db) {
		if k.Algorithm == string(keyring.IDTokenAlgorithm) && k.ID != idA {
			idB = k.ID
		}
	}
	tok := idToken(t, a, clkA.Now())
	if err := a.Retire(ctx, idA); err != nil {
		t.Fatalf("Retire(%s) with %s active = %v, want nil", idA, idB, err)
	}
	if got := idSignerID(t, a); got != idB {
		t.Errorf("IDTokenSigner() after Retire(%s) = %s, want %s", idA, got, idB)
	}
	if got := signerID(t, a); got != access {
		t.Errorf("Signer() after retiring an ID-token key = %s, want %s unchanged", got, access)
	}
	if _, err := idValidator(t, a, clkA).Parse(tok.raw); err != nil {
		t.Errorf("Parse(ID token of the retired key) with the JWKS = %v, want valid", err)
	}
	if err := a.Retire(ctx, idB); !errors.Is(err, keyring.ErrLastKey) {
		t.Errorf("Retire(%s), the last ID-token key = %v, want %v", idB, err, keyring.ErrLastKey)
	}
}

func TestRevokeIDTokenKey(t *testing.T) {
	for _, alg := range []jose.Algorithm{jose.ES256, jose.HS256} {
		t.Run(string(alg), func(t *testing.T) {
			ctx := t.Context()
			r, db, clk := ensured(t, keyring.Config{Algorithm: alg})
			access, id := signerID(t, r), idSignerID(t, r)
			clk.Advance(time.Hour)
			tok := idToken(t, r, clk.Now())

			repl, err := r.Revoke(ctx, id)
			if err != nil {
				t.Fatalf("Revoke(ID-token key) = %v", err)
			}
			now := clk.Now()
			if repl.ID == "" || repl.Algorithm != string(keyring.IDTokenAlgorithm) || !repl.ActivateAt.Equal(now) {
				t.Fatalf("Revoke(only ID-token key) replacement = %+v, want an %s key signing from %v", repl, keyring.IDTokenAlgorithm, now)
			}
			if got := idSignerID(t, r); got != repl.ID {
				t.Errorf("IDTokenSigner() after Revoke = %s, want the replacement %s", got, repl.ID)
			}
			if got := signerID(t, r); got != access {
				t.Errorf("Signer() after revoking the ID-token key = %s, want %s unchanged", got, access)
			}
			if got := idJWKSIDs(t, r); !slices.Equal(got, []string{repl.ID}) {
				t.Errorf("JWKS() ID-token keys after Revoke = %v, want only the replacement %s", got, repl.ID)
			}
			if got := verifyIDs(t, r); !slices.Equal(got, []string{access}) {
				t.Errorf("VerificationKeys() after Revoke = %v, want [%s]", got, access)
			}
			if _, err := idValidator(t, r, clk).Parse(tok.raw); !errors.Is(err, jwt.ErrUnknownKey) {
				t.Errorf("Parse(ID token of the revoked key) = %v, want %v", err, jwt.ErrUnknownKey)
			}
			revs := keyRevocations(t, db)
			if len(revs) != 1 || revs[0].Subject != id || revs[0].Reason != store.ReasonKeyRevoked {
				t.Errorf("key revocations = %+v, want one for %s", revs, id)
			}
			if n := len(storedKeys(t, db)); n != 3 {
				t.Errorf("store holds %d keys, want 3 (access, revoked, replacement)", n)
			}
		})
	}
}

// TestRevokeSharedKey: with RS256 access tokens one key signs both, and
// one replacement takes over both.
func TestRevokeSharedKey(t *testing.T) {
	ctx := t.Context()
	r, db, clk := ensured(t, keyring.Config{Algorithm: jose.RS256})
	old := signerID(t, r)
	clk.Advance(time.Minute)
	repl, err := r.Revoke(ctx, old)
	if err != nil || repl.ID == "" {
		t.Fatalf("Revoke(the only key) = %+v, %v; want a replacement", repl, err)
	}
	if a, i := signerID(t, r), idSignerID(t, r); a != repl.ID || i != repl.ID {
		t.Errorf("signers after Revoke = %s, %s; want the replacement %s for both", a, i, repl.ID)
	}
	if n := len(storedKeys(t, db)); n != 2 {
		t.Errorf("store holds %d keys, want 2 (revoked, one replacement)", n)
	}
}

// TestRevokeAccessKeyLeavesIDTokenKey: the access-token key's replacement
// is of Config.Algorithm, and the ID-token key signs on.
func TestRevokeAccessKeyLeavesIDTokenKey(t *testing.T) {
	ctx := t.Context()
	r, _, clk := ensured(t, keyring.Config{})
	access, id := signerID(t, r), idSignerID(t, r)
	clk.Advance(time.Minute)
	repl, err := r.Revoke(ctx, access)
	if err != nil || repl.Algorithm != string(keyring.DefaultAlgorithm) {
		t.Fatalf("Revoke(access-token key) = %+v, %v; want a %s replacement", repl, err, keyring.DefaultAlgorithm)
	}
	if got := idSignerID(t, r); got != id {
		t.Errorf("IDTokenSigner() after revoking the access-token key = %s, want %s unchanged", got, id)
	}
	if got := idJWKSIDs(t, r); !slices.Equal(got, []string{id}) {
		t.Errorf("JWKS() ID-token keys = %v, want [%s]", got, id)
	}
}

// TestMaintainRotatesEachLifecycle: each lifecycle rotates when its own
// newest key has signed for RotationPeriod.
func TestMaintainRotatesEachLifecycle(t *testing.T) {
	ctx := t.Context()
	const period = 30 * 24 * time.Hour
	r, db, clk := ensured(t, keyring.Config{RotationPeriod: period})
	// The ID-token key came ten days after the access-token key (an
	// upgraded store).
	if err := db.DeleteKey(ctx, idSignerID(t, r)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * 24 * time.Hour)
	if created, err := r.Ensure(ctx); err != nil || !created {
		t.Fatalf("Ensure() = %v, %v", created, err)
	}
	// count returns how many keys of each lifecycle there have been.
	seen := map[string]string{}
	count := func() (access, id int) {
		for _, k := range storedKeys(t, db) {
			seen[k.ID] = k.Algorithm
		}
		for _, alg := range seen {
			if alg == string(keyring.IDTokenAlgorithm) {
				id++
			} else {
				access++
			}
		}
		return access, id
	}
	steps := []struct {
		at             time.Duration // after t0
		access, idKeys int           // keys created by then
	}{
		{period - time.Second, 1, 1},
		{period, 2, 1},
		{period + 10*24*time.Hour - time.Second, 2, 1},
		{period + 10*24*time.Hour, 2, 2},
	}
	for _, s := range steps {
		clk.Set(t0.Add(s.at))
		if err := r.Maintain(ctx); err != nil {
			t.Fatalf("Maintain() at +%v: %v", s.at, err)
		}
		if a, i := count(); a != s.access || i != s.idKeys {
			t.Errorf("after Maintain() at +%v: %d access-token keys, %d ID-token keys; want %d, %d", s.at, a, i, s.access, s.idKeys)
		}
	}
}

// TestGenerateKeyChecked: a Config.GenerateKey that returns a key of
// another algorithm, a public key or nothing is refused, and nothing is
// stored.
func TestGenerateKeyChecked(t *testing.T) {
	es, err := jose.GenerateKey(jose.ES256)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := es.Public()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		gen  func(jose.Algorithm) (*jose.Key, error)
	}{
		{"wrong algorithm", func(jose.Algorithm) (*jose.Key, error) { return jose.GenerateKey(jose.ES384) }},
		{"public key", func(jose.Algorithm) (*jose.Key, error) { return pub, nil }},
		{"nil key", func(jose.Algorithm) (*jose.Key, error) { return nil, nil }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := openStore(t)
			r := newRing(t, db, testMaster(1), keyring.Config{GenerateKey: tt.gen})
			if created, err := r.Ensure(t.Context()); err == nil || created {
				t.Errorf("Ensure() with a GenerateKey giving a %s = %v, %v; want false, an error", tt.name, created, err)
			}
			if n := len(storedKeys(t, db)); n != 0 {
				t.Errorf("store holds %d keys, want none", n)
			}
		})
	}
}
