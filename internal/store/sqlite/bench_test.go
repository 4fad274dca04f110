package sqlite_test

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
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

// BenchmarkRotateParallel is concurrent refreshes of distinct sessions,
// as many at once as -cpu × 8 goroutines: the rotations that group commit
// lets share transactions. With FullSync each commit syncs the log.
func BenchmarkRotateParallel(b *testing.B) {
	for _, full := range []bool{false, true} {
		b.Run(fmt.Sprintf("FullSync=%v", full), func(b *testing.B) {
			ctx := b.Context()
			db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "latch.db"), sqlite.Options{FullSync: full})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { db.Close() })
			now := time.Now()
			if err := db.CreateUser(ctx, store.User{ID: "u1", Email: "a@example.com", PasswordHash: "x", CreatedAt: now, UpdatedAt: now}); err != nil {
				b.Fatal(err)
			}
			const sessions = 256
			for i := range sessions {
				s := store.Session{ID: fmt.Sprint("s", i), UserID: "u1", TokenHash: fmt.Append(nil, "h", i), CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}
				if err := db.CreateSession(ctx, s); err != nil {
					b.Fatal(err)
				}
			}
			var next atomic.Int64
			b.SetParallelism(8)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				id := fmt.Sprint("s", next.Add(1)%sessions)
				for pb.Next() {
					if _, err := db.UpdateSession(ctx, id, func(s store.Session) (store.Session, error) {
						s.Generation++
						s.LastUsedAt = time.Now()
						return s, nil
					}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkSessionByID is the session-active check of every
// authenticated request, with a request's cancellable context.
func BenchmarkSessionByID(b *testing.B) {
	ctx := b.Context()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "latch.db"), sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	now := time.Now()
	if err := db.CreateUser(ctx, store.User{ID: "u1", Email: "a@example.com", PasswordHash: "x", CreatedAt: now, UpdatedAt: now}); err != nil {
		b.Fatal(err)
	}
	if err := db.CreateSession(ctx, store.Session{ID: "s1", UserID: "u1", TokenHash: []byte("h0"), CreatedAt: now, LastUsedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := db.SessionByID(ctx, "s1"); err != nil {
			b.Fatal(err)
		}
	}
}
