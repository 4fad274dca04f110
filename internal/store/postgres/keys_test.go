package postgres

import (
	"testing"

	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/storetest"
)

// TestConformanceNodes runs the several-stores suite with DBs opened on one
// schema, each with its own pool, as the nodes of a deployment are.
func TestConformanceNodes(t *testing.T) {
	testDSN(t)
	storetest.RunNodes(t, func(t *testing.T, n int) []store.Store {
		dsn, _ := newSchema(t)
		sts := make([]store.Store, n)
		for i := range sts {
			sts[i] = openDSN(t, dsn, Options{Migrate: i == 0})
		}
		return sts
	})
}
