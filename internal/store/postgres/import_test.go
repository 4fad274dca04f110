package postgres

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/store"
)

// importSnapshot is a store's content with a record of every kind, zero
// times and empty lists included, and a feed whose oldest records were
// pruned.
func importSnapshot() Snapshot {
	at := func(min int) time.Time { return time.UnixMilli(1_750_000_000_000 + int64(min)*60_000).UTC() }
	hash := func(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }
	return Snapshot{
		Users: []store.User{
			{ID: "u_alice", Email: "alice@example.com", PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
				Roles: []string{"admin", "ops"}, TokensRevokedAt: at(5), CreatedAt: at(0), UpdatedAt: at(5)},
			{ID: "u_bob", Email: "bob@example.com", PasswordHash: "$argon2id$x", Disabled: true, CreatedAt: at(1), UpdatedAt: at(1)},
		},
		Clients: []store.Client{
			{ID: "c_app", Name: "app", SecretHash: hash("secret"), Type: store.ClientConfidential, AuthMethod: "client_secret_basic",
				RedirectURIs: []string{"https://app.example/cb"}, PostLogoutRedirectURIs: []string{"https://app.example/"},
				GrantTypes: []string{"authorization_code", "refresh_token"}, Scopes: []string{"openid", "profile"},
				FirstParty: true, SETCursor: 7, CreatedAt: at(2), UpdatedAt: at(3), RequireDPoP: true},
			{ID: "c_spa", Name: "spa", Type: store.ClientPublic, AuthMethod: "none", CreatedAt: at(2), UpdatedAt: at(2)},
		},
		Sessions: []store.Session{
			{ID: "s_browser", UserID: "u_alice", TokenHash: hash("t1"), Generation: 0, CreatedAt: at(10), LastUsedAt: at(10),
				ExpiresAt: at(100), UserAgent: "Firefox", IP: "192.0.2.1", ClientID: "browser", AuthTime: at(10)},
			{ID: "s_app", UserID: "u_alice", TokenHash: hash("t3"), PrevHash: hash("t2"), Generation: 4, RotatedAt: at(12), Reissues: 1,
				CreatedAt: at(11), LastUsedAt: at(12), ExpiresAt: at(100), UserAgent: "app/1.0", IP: "192.0.2.2",
				ParentID: "s_browser", ClientID: "c_app", Scopes: []string{"openid"}, AuthTime: at(10), DPoPJKT: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"},
			{ID: "s_old", UserID: "u_bob", TokenHash: hash("t4"), CreatedAt: at(1), LastUsedAt: at(1), ExpiresAt: at(90),
				RevokedAt: at(4), RevokeReason: store.ReasonLogout},
		},
		Keys: []store.SigningKey{
			{ID: "k1", Algorithm: "ES256", Sealed: []byte("sealed-1"), Public: []byte(`{"kty":"EC"}`), CreatedAt: at(0), ActivateAt: at(0),
				RetireAt: at(30), RemoveAt: at(60)},
			{ID: "k2", Algorithm: "RS256", Sealed: []byte("sealed-2"), Public: []byte(`{"kty":"RSA"}`), CreatedAt: at(0), ActivateAt: at(16),
				RevokedAt: at(20)},
		},
		Revocations: []store.Revocation{
			{Seq: 4, Kind: store.KindSession, Subject: "s_old", UserID: "u_bob", Reason: store.ReasonLogout, At: at(4), Expires: at(1444)},
			{Seq: 6, Kind: store.KindSubject, Subject: "u_alice", UserID: "u_alice", Reason: store.ReasonAdmin, At: at(5), Expires: at(1445)},
		},
		FeedPruned: 3,
		FeedHead:   7, // 5 and 7 expired: pruned later than 1..3
		Throttles: []store.Throttle{
			{Key: "account:bob@example.com", Failures: 6, LastFailure: at(8), LockedUntil: at(9)},
			{Key: "address:192.0.2.9", Failures: 1, LastFailure: at(8)},
		},
		AuthCodes: []store.AuthCode{
			{Hash: hash("code"), ClientID: "c_app", UserID: "u_alice", BrowserSessionID: "s_browser", RedirectURI: "https://app.example/cb",
				Scopes: []string{"openid"}, Nonce: "n-1", CodeChallenge: "challenge", AuthTime: at(10), CreatedAt: at(11), ExpiresAt: at(12)},
		},
		Consents: []store.Consent{
			{UserID: "u_alice", ClientID: "c_spa", Scopes: []string{"openid", "profile"}, GrantedAt: at(13)},
		},
	}
}

// same reports whether a and b print alike: equal records, where an empty
// list may come back nil.
func same(a, b any) bool { return fmt.Sprintf("%+v", a) == fmt.Sprintf("%+v", b) }

// TestImport copies a snapshot into an empty database and reads every
// record back through the store's methods.
func TestImport(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx := t.Context()
	s := importSnapshot()
	if err := db.Import(ctx, s); err != nil {
		t.Fatalf("Import = %v, want nil", err)
	}

	for _, want := range s.Users {
		if got, err := db.UserByID(ctx, want.ID); err != nil || !same(got, want) {
			t.Errorf("UserByID(%s) = %+v, %v; want %+v", want.ID, got, err, want)
		}
	}
	for _, want := range s.Clients {
		if got, err := db.ClientByID(ctx, want.ID); err != nil || !same(got, want) {
			t.Errorf("ClientByID(%s) = %+v, %v; want %+v", want.ID, got, err, want)
		}
	}
	for _, want := range s.Sessions {
		if got, err := db.SessionByID(ctx, want.ID); err != nil || !same(got, want) {
			t.Errorf("SessionByID(%s) = %+v, %v; want %+v", want.ID, got, err, want)
		}
	}
	if got, err := db.ListKeys(ctx); err != nil || !same(got, s.Keys) {
		t.Errorf("ListKeys = %+v, %v; want %+v", got, err, s.Keys)
	}
	if got, err := db.RevocationsSince(ctx, 0, 100); err != nil || !same(got, s.Revocations) {
		t.Errorf("RevocationsSince(0) = %+v, %v; want %+v", got, err, s.Revocations)
	}
	if pruned, head, err := db.RevocationBounds(ctx); err != nil || pruned != s.FeedPruned || head != s.FeedHead {
		t.Errorf("RevocationBounds = %d, %d, %v; want %d, %d, nil", pruned, head, err, s.FeedPruned, s.FeedHead)
	}
	errRead := errors.New("read only")
	for _, want := range s.Throttles {
		var got store.Throttle
		_, err := db.UpdateThrottle(ctx, want.Key, func(t store.Throttle) (store.Throttle, error) { got = t; return t, errRead })
		if !errors.Is(err, errRead) || !same(got, want) {
			t.Errorf("UpdateThrottle(%s) saw %+v (%v), want %+v", want.Key, got, err, want)
		}
	}
	for _, want := range s.AuthCodes {
		now := time.UnixMilli(1_760_000_000_000).UTC()
		got, err := db.RedeemAuthCode(ctx, want.Hash, now)
		want.RedeemedAt = now
		if err != nil || !same(got, want) {
			t.Errorf("RedeemAuthCode = %+v, %v; want %+v", got, err, want)
		}
	}
	for _, want := range s.Consents {
		if got, err := db.ConsentFor(ctx, want.UserID, want.ClientID); err != nil || !same(got, want) {
			t.Errorf("ConsentFor(%s, %s) = %+v, %v; want %+v", want.UserID, want.ClientID, got, err, want)
		}
	}

	wantCounts := map[string]int64{"users": 2, "clients": 2, "sessions": 3, "signing_keys": 2, "revocations": 2,
		"throttles": 2, "auth_codes": 1, "consents": 1}
	if got, err := db.Counts(ctx); err != nil || !same(got, wantCounts) {
		t.Errorf("Counts = %v, %v; want %v", got, err, wantCounts)
	}

	// The feed goes on from the imported head.
	seq, err := db.AddRevocation(ctx, store.Revocation{Kind: store.KindToken, Subject: "jti-1", Reason: store.ReasonAdmin,
		At: time.Now(), Expires: time.Now().Add(time.Hour)})
	if err != nil || seq != s.FeedHead+1 {
		t.Errorf("AddRevocation after Import = %d, %v; want %d, nil", seq, err, s.FeedHead+1)
	}
}

// TestImportRefusesNonEmpty checks that Import writes nothing into a
// database that has a record of any kind, or whose feed has moved.
func TestImportRefusesNonEmpty(t *testing.T) {
	ctx := t.Context()
	now := time.Now()
	tests := []struct {
		name string
		fill func(t *testing.T, db *DB)
	}{
		{"a user", func(t *testing.T, db *DB) {
			if err := db.CreateUser(ctx, store.User{ID: "u_1", Email: "x@example.com", PasswordHash: "h"}); err != nil {
				t.Fatal(err)
			}
		}},
		{"a throttle", func(t *testing.T, db *DB) {
			if _, err := db.UpdateThrottle(ctx, "k", func(t store.Throttle) (store.Throttle, error) {
				t.Failures, t.LastFailure = 1, now
				return t, nil
			}); err != nil {
				t.Fatal(err)
			}
		}},
		{"a pruned feed", func(t *testing.T, db *DB) {
			if _, err := db.AddRevocation(ctx, store.Revocation{Kind: store.KindToken, Subject: "j", At: now, Expires: now}); err != nil {
				t.Fatal(err)
			}
			if n, err := db.PruneRevocations(ctx, now.Add(time.Hour)); n != 1 || err != nil {
				t.Fatalf("PruneRevocations = %d, %v; want 1, nil", n, err)
			}
		}},
		{"a snapshot imported before", func(t *testing.T, db *DB) {
			if err := db.Import(ctx, importSnapshot()); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openTest(t, Options{})
			tt.fill(t, db)
			before, err := db.Counts(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if err := db.Import(ctx, importSnapshot()); !errors.Is(err, ErrNotEmpty) {
				t.Errorf("Import into a database with %s = %v, want %v", tt.name, err, ErrNotEmpty)
			}
			if after, err := db.Counts(ctx); err != nil || !same(after, before) {
				t.Errorf("Counts after a refused Import = %v, %v; want %v as before", after, err, before)
			}
		})
	}
}

// TestImportInvalid checks that a snapshot that breaks the feed's order
// or the schema's constraints writes nothing.
func TestImportInvalid(t *testing.T) {
	tests := []struct {
		name   string
		change func(s *Snapshot)
	}{
		{"seq above the head", func(s *Snapshot) { s.Revocations[1].Seq = s.FeedHead + 1 }},
		{"seq zero", func(s *Snapshot) { s.Revocations[0].Seq = 0 }},
		{"pruned above the head", func(s *Snapshot) { s.FeedPruned = s.FeedHead + 1 }},
		{"session of an unknown user", func(s *Snapshot) { s.Sessions[2].UserID = "u_nobody" }},
		{"duplicate e-mail", func(s *Snapshot) { s.Users[1].Email = s.Users[0].Email }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, _ := openTest(t, Options{})
			s := importSnapshot()
			tt.change(&s)
			if err := db.Import(t.Context(), s); err == nil {
				t.Fatalf("Import(%s) = nil, want an error", tt.name)
			}
			counts, err := db.Counts(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			for table, n := range counts {
				if n != 0 {
					t.Errorf("after a failed Import, %s has %d rows, want 0", table, n)
				}
			}
			if _, head, err := db.RevocationBounds(t.Context()); err != nil || head != 0 {
				t.Errorf("RevocationBounds after a failed Import: head %d, %v; want 0, nil", head, err)
			}
		})
	}
}

// TestImportCanceled checks that Import gives up with its context.
func TestImportCanceled(t *testing.T) {
	db, _ := openTest(t, Options{})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := db.Import(ctx, importSnapshot()); !errors.Is(err, context.Canceled) {
		t.Errorf("Import with a cancelled context = %v, want %v", err, context.Canceled)
	}
}
