package sqlite_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/sqlite"
)

// BenchmarkRefreshPath is the store's share of one refresh: the rotation
// transaction (select, update, commit) and the user read.
func BenchmarkRefreshPath(b *testing.B) {
	ctx := b.Context()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "latch.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	now := time.Now()
	if err := db.CreateUser(ctx, store.User{ID: "u1", Email: "a@example.com", PasswordHash: "x", Roles: []string{"admin"}, CreatedAt: now, UpdatedAt: now}); err != nil {
		b.Fatal(err)
	}
	if err := db.CreateSession(ctx, store.Session{ID: "s1", UserID: "u1", TokenHash: []byte("h0"), CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := db.UpdateSession(ctx, "s1", func(s store.Session) (store.Session, error) {
			s.Generation++
			s.LastUsedAt = time.Now()
			return s, nil
		}); err != nil {
			b.Fatal(err)
		}
		if _, err := db.UserByID(ctx, "u1"); err != nil {
			b.Fatal(err)
		}
	}
}
