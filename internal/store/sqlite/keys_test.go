package sqlite

import (
	"path/filepath"
	"testing"

	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/storetest"
)

// TestConformanceNodes runs the several-stores suite with DBs opened on one
// file, as several processes would open it: each has its own writer
// connection, and they meet at SQLite's file lock.
func TestConformanceNodes(t *testing.T) {
	storetest.RunNodes(t, func(t *testing.T, n int) []store.Store {
		path := filepath.Join(t.TempDir(), "latch.db")
		sts := make([]store.Store, n)
		for i := range sts {
			db, err := Open(t.Context(), path, Options{})
			if err != nil {
				t.Fatalf("Open(%s) #%d = %v, want nil", path, i+1, err)
			}
			t.Cleanup(func() { db.Close() })
			sts[i] = db
		}
		return sts
	})
}
