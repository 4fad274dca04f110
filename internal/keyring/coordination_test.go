package keyring_test

import (
	"bytes"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/keyring"
	"github.com/latch-auth/latch/internal/keyring/keyringtest"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/sqlite"
	"github.com/latch-auth/latch/jose"
)

// nodeStores opens n stores on one new database file, as n server nodes
// (or processes) have: each with its own connections.
func nodeStores(t *testing.T, n int) []*sqlite.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "latch.db")
	dbs := make([]*sqlite.DB, n)
	for i := range dbs {
		db, err := sqlite.Open(t.Context(), path, sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs[i] = db
	}
	return dbs
}

// meeting makes n rings generate their first new key at the same moment:
// the GenerateKey of each, on its first call, waits until every ring has
// called its own. So every ring has decided, from the keys it read, that a
// change is due before any of them stores one, the widest race two nodes
// can run. A ring that never generates a key holds the others up for
// meetingTimeout, and fails the test.
type meeting struct {
	t    *testing.T
	wg   sync.WaitGroup
	done chan struct{}
}

const meetingTimeout = 10 * time.Second

func newMeeting(t *testing.T, n int) *meeting {
	m := &meeting{t: t, done: make(chan struct{})}
	m.wg.Add(n)
	go func() { m.wg.Wait(); close(m.done) }()
	return m
}

// generate returns the GenerateKey of one ring.
func (m *meeting) generate() func(jose.Algorithm) (*jose.Key, error) {
	var once sync.Once
	return func(alg jose.Algorithm) (*jose.Key, error) {
		once.Do(func() {
			m.wg.Done()
			select {
			case <-m.done:
			case <-time.After(meetingTimeout):
				m.t.Errorf("a ring did not generate a key within %v of another", meetingTimeout)
			}
		})
		return keyringtest.GenerateKey(alg)
	}
}

// concurrently runs f(0) ... f(n-1) at once and returns their errors.
func concurrently(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { errs[i] = f(i) })
	}
	wg.Wait()
	return errs
}

// lifecycleConfigs are the configurations with two lifecycles of keys and
// with one (RS256 keys sign both kinds of token), and how many keys a
// rotation creates under each.
var lifecycleConfigs = []struct {
	name string
	alg  jose.Algorithm
	keys int
}{
	{"ES256 and RS256 keys", jose.ES256, 2},
	{"RS256 keys only", jose.RS256, 1},
}

// TestEnsureOnceAcrossNodes starts two nodes on an empty store at once:
// one creates a key per lifecycle, the other uses them.
func TestEnsureOnceAcrossNodes(t *testing.T) {
	for _, lc := range lifecycleConfigs {
		t.Run(lc.name, func(t *testing.T) {
			ctx := t.Context()
			dbs := nodeStores(t, 2)
			clk := newClock(t0)
			m := newMeeting(t, len(dbs))
			rings := make([]*keyring.Ring, len(dbs))
			for i, db := range dbs {
				rings[i] = newRing(t, db, testMaster(1), keyring.Config{Algorithm: lc.alg, Now: clk.Now, GenerateKey: m.generate()})
			}
			created := make([]bool, len(rings))
			errs := concurrently(len(rings), func(i int) error {
				var err error
				created[i], err = rings[i].Ensure(ctx)
				return err
			})
			for i, err := range errs {
				if err != nil {
					t.Fatalf("node %d: Ensure() = %v, want nil", i, err)
				}
			}
			if n := len(storedKeys(t, dbs[0])); n != lc.keys {
				t.Errorf("keys stored after two nodes' Ensure() at once = %d, want %d (one per lifecycle)", n, lc.keys)
			}
			if n := count(created, true); n != 1 {
				t.Errorf("nodes whose Ensure() reported a new key = %d (%v), want 1", n, created)
			}
			checkSameKeys(t, rings)
		})
	}
}

// TestMaintainRotatesOnceAcrossNodes runs the maintenance of two nodes at
// once when a rotation is due: one node rotates each lifecycle, and both
// then publish the same JWKS.
func TestMaintainRotatesOnceAcrossNodes(t *testing.T) {
	for _, lc := range lifecycleConfigs {
		t.Run(lc.name, func(t *testing.T) {
			ctx := t.Context()
			dbs := nodeStores(t, 2)
			clk := newClock(t0)
			first := newRing(t, dbs[0], testMaster(1), keyring.Config{Algorithm: lc.alg, Now: clk.Now})
			if _, err := first.Ensure(ctx); err != nil {
				t.Fatal(err)
			}
			before := storedKeys(t, dbs[0])
			m := newMeeting(t, len(dbs))
			rings := make([]*keyring.Ring, len(dbs))
			for i, db := range dbs {
				rings[i] = newRing(t, db, testMaster(1), keyring.Config{Algorithm: lc.alg, Now: clk.Now, GenerateKey: m.generate()})
			}
			clk.Advance(keyring.DefaultRotationPeriod)

			for i, err := range concurrently(len(rings), func(i int) error { return rings[i].Maintain(ctx) }) {
				if err != nil {
					t.Fatalf("node %d: Maintain() = %v, want nil", i, err)
				}
			}
			after := storedKeys(t, dbs[1])
			if n := len(after) - len(before); n != lc.keys {
				t.Fatalf("keys created by two nodes' Maintain() at once = %d, want %d (one per lifecycle)", n, lc.keys)
			}
			activate := clk.Now().Add(rings[0].Config().PublishAhead)
			for _, k := range after {
				isNew := !slices.ContainsFunc(before, func(o store.SigningKey) bool { return o.ID == k.ID })
				switch {
				case isNew && !k.ActivateAt.Equal(activate):
					t.Errorf("new key %s activates at %v, want %v", k.ID, k.ActivateAt, activate)
				case !isNew && !k.RetireAt.Equal(activate):
					t.Errorf("old key %s retires at %v, want the new key's activation %v", k.ID, k.RetireAt, activate)
				}
			}
			checkSameKeys(t, rings)

			// Once the new keys sign, no node rotates again.
			clk.Set(activate)
			for i, r := range rings {
				if err := r.Maintain(ctx); err != nil {
					t.Fatalf("node %d: Maintain() at the new keys' activation = %v, want nil", i, err)
				}
			}
			if n := len(storedKeys(t, dbs[0])); n != len(after) {
				t.Errorf("keys stored after Maintain() at the new keys' activation = %d, want still %d", n, len(after))
			}
			checkSameKeys(t, rings)
		})
	}
}

// TestRevokeOnceAcrossNodes revokes the signing key through two nodes at
// once: it is revoked once, with one replacement.
func TestRevokeOnceAcrossNodes(t *testing.T) {
	ctx := t.Context()
	dbs := nodeStores(t, 2)
	clk := newClock(t0)
	first := newRing(t, dbs[0], testMaster(1), keyring.Config{Now: clk.Now})
	if _, err := first.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	revoked := signerID(t, first)
	m := newMeeting(t, len(dbs))
	rings := make([]*keyring.Ring, len(dbs))
	for i, db := range dbs {
		rings[i] = newRing(t, db, testMaster(1), keyring.Config{Now: clk.Now, GenerateKey: m.generate()})
	}
	clk.Advance(time.Hour)

	repl := make([]store.SigningKey, len(rings))
	errs := concurrently(len(rings), func(i int) error {
		var err error
		repl[i], err = rings[i].Revoke(ctx, revoked)
		return err
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: Revoke(%s) = %v, want nil", i, revoked, err)
		}
	}
	ids := []string{repl[0].ID, repl[1].ID}
	if count(ids, "") != 1 {
		t.Errorf("replacements returned by two nodes' Revoke() at once = %q, want one", ids)
	}
	if n := len(storedKeys(t, dbs[0])); n != 3 {
		t.Errorf("keys stored after revoking the signer through two nodes = %d, want 3 (the revoked key, its replacement and the ID-token key)", n)
	}
	if revs := keyRevocations(t, dbs[0]); len(revs) != 1 || revs[0].Subject != revoked {
		t.Errorf("key revocations = %d, want 1, of %s", len(revs), revoked)
	}
	checkSameKeys(t, rings)
}

// TestRotateAlwaysRotates rotates through the CLI right after a node's
// maintenance rotated: an explicit rotation is not the same as an
// automatic one, and happens too. The key that maintenance created signs
// only until the CLI's key activates.
func TestRotateAlwaysRotates(t *testing.T) {
	ctx := t.Context()
	dbs := nodeStores(t, 2)
	clk := newClock(t0)
	node := newRing(t, dbs[0], testMaster(1), keyring.Config{Now: clk.Now})
	if _, err := node.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	cli := newRing(t, dbs[1], testMaster(1), keyring.Config{Now: clk.Now})
	clk.Advance(keyring.DefaultRotationPeriod)
	if err := node.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	auto := storedKeys(t, dbs[0])
	clk.Advance(time.Second)
	rotated, err := cli.RotateKeys(ctx, false)
	if err != nil || len(rotated) != 2 {
		t.Fatalf("RotateKeys() a second after an automatic rotation = %d keys, %v, want 2, nil", len(rotated), err)
	}
	after := storedKeysByID(t, dbs[1])
	if len(after) != len(auto)+2 {
		t.Errorf("keys stored = %d, want %d", len(after), len(auto)+2)
	}
	for _, k := range auto {
		if k.ActivateAt.After(clk.Now()) && !after[k.ID].RetireAt.Equal(rotated[0].ActivateAt) {
			t.Errorf("key %s of the automatic rotation retires at %v, want the explicit rotation's activation %v",
				k.ID, after[k.ID].RetireAt, rotated[0].ActivateAt)
		}
	}
}

// checkSameKeys fails unless every ring publishes the same JWKS and signs
// with the same keys, once each has reloaded.
func checkSameKeys(t *testing.T, rings []*keyring.Ring) {
	t.Helper()
	var want []byte
	for i, r := range rings {
		if err := r.Reload(t.Context()); err != nil {
			t.Fatal(err)
		}
		jwks, _, err := r.JWKS()
		if err != nil {
			t.Fatalf("node %d: JWKS() = %v, want nil", i, err)
		}
		if i == 0 {
			want = jwks
			continue
		}
		if !bytes.Equal(jwks, want) {
			t.Errorf("node %d: JWKS() = %s, want node 0's %s", i, jwks, want)
		}
		if got, want := fmt.Sprint(signerID(t, r), idSignerID(t, r)), fmt.Sprint(signerID(t, rings[0]), idSignerID(t, rings[0])); got != want {
			t.Errorf("node %d signs with %s, want node 0's %s", i, got, want)
		}
	}
}

// count returns how many of vs are v.
func count[T comparable](vs []T, v T) int {
	n := 0
	for _, x := range vs {
		if x == v {
			n++
		}
	}
	return n
}

// TestEnsureDecidesOnKeysChangedMeanwhile changes the keys while a node's
// Ensure generates the key it found missing: under the store's lock it
// finds another key missing too, generates it and creates both.
func TestEnsureDecidesOnKeysChangedMeanwhile(t *testing.T) {
	ctx := t.Context()
	dbs := nodeStores(t, 2)
	clk := newClock(t0)
	// An RS256 key signs both kinds of token, until the access tokens
	// move to ES256.
	rs := newRing(t, dbs[0], testMaster(1), keyring.Config{Algorithm: jose.RS256, Now: clk.Now})
	if _, err := rs.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	old := signerID(t, rs)
	clk.Advance(time.Hour)
	var once sync.Once
	r := newRing(t, dbs[1], testMaster(1), keyring.Config{Now: clk.Now, GenerateKey: func(alg jose.Algorithm) (*jose.Key, error) {
		once.Do(func() {
			// Another node revokes the RS256 key meanwhile.
			_, err := dbs[0].UpdateKey(ctx, old, func(k store.SigningKey) (store.SigningKey, error) {
				k.RevokedAt, k.RetireAt, k.RemoveAt = clk.Now(), clk.Now(), clk.Now()
				return k, nil
			})
			if err != nil {
				t.Errorf("revoking %s = %v, want nil", old, err)
			}
		})
		return keyringtest.GenerateKey(alg)
	}})

	if created, err := r.Ensure(ctx); err != nil || !created {
		t.Fatalf("Ensure() = %v, %v, want true, nil", created, err)
	}
	keys := storedKeys(t, dbs[1])
	var algs []string
	for _, k := range keys {
		if k.ID != old {
			algs = append(algs, k.Algorithm)
		}
	}
	slices.Sort(algs)
	if want := []string{"ES256", "RS256"}; !slices.Equal(algs, want) {
		t.Errorf("keys Ensure() created = %q, want %q", algs, want)
	}
	if id := idSignerID(t, r); id == old {
		t.Errorf("IDTokenSigner() = the revoked key %s, want a new one", id)
	}
}
