package revocation_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/revocation"
)

// The mix of a large deny list: the benchmarks and the allocation test use
// 100,000 entries, as an issuer with a busy day of logouts would publish.
const (
	mixSessions = 50_000
	mixTokens   = 40_000
	mixSubjects = 10_000
	mixKeys     = 4
)

// denyMixAt is the At of every event of the mix; its Expires is an hour
// later.
var denyMixAt = time.Unix(1764730000, 0).UTC()

// denyMix is a deny list of the mix above, with claims that it covers and
// claims that it does not. IDs have the shapes latch issues: 128-bit
// base64url "jti" and "sid", UUID "sub", RFC 7638 thumbprint "kid".
type denyMix struct {
	events []revocation.Event
	list   *revocation.DenyList

	kid        string     // a key that is not revoked
	miss       jwt.Claims // covered by nothing
	reissued   jwt.Claims // sub revoked, but issued after the revocation
	hitToken   jwt.Claims
	hitSession jwt.Claims
	hitSubject jwt.Claims
	revokedKid string
	misses     []jwt.Claims // distinct uncovered claims, to defeat caches
}

var denyMixOnce = sync.OnceValue(newDenyMix)

// mixRand draws the mix's IDs; the fixed seed keeps runs comparable.
type mixRand struct{ r *rand.ChaCha8 }

func (m mixRand) b64(n int) string {
	b := make([]byte, n)
	m.r.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (m mixRand) uuid() string {
	b := make([]byte, 16)
	m.r.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func (m mixRand) claims() jwt.Claims {
	return jwt.Claims{
		Issuer: "https://auth.example.com", Subject: m.uuid(), Audience: jwt.Audience{"api"},
		IssuedAt: denyMixAt.Add(time.Minute), ExpiresAt: denyMixAt.Add(16 * time.Minute),
		ID: m.b64(16), SessionID: m.b64(16), ClientID: "web",
	}
}

func newDenyMix() *denyMix {
	r := mixRand{rand.NewChaCha8([32]byte{'d', 'e', 'n', 'y'})}
	m := &denyMix{list: revocation.NewDenyList()}
	seq := int64(0)
	add := func(k revocation.Kind, id string) string {
		seq++
		m.events = append(m.events, revocation.Event{
			Seq: seq, Kind: k, ID: id, At: denyMixAt, Expires: denyMixAt.Add(time.Hour), Reason: "logout",
		})
		return id
	}
	// Interleave the kinds, as a feed would.
	for i := range max(mixSessions, mixTokens, mixSubjects, mixKeys) {
		if i < mixSessions {
			add(revocation.KindSession, r.b64(16))
		}
		if i < mixTokens {
			add(revocation.KindToken, r.b64(16))
		}
		if i < mixSubjects {
			add(revocation.KindSubject, r.uuid())
		}
		if i < mixKeys {
			add(revocation.KindKey, r.b64(32))
		}
	}
	for _, e := range m.events {
		m.list.Apply(e)
	}
	// find returns the ID of the middle event of kind k.
	find := func(k revocation.Kind) string {
		var ids []string
		for _, e := range m.events {
			if e.Kind == k {
				ids = append(ids, e.ID)
			}
		}
		return ids[len(ids)/2]
	}
	m.kid = r.b64(32)
	m.miss = r.claims()
	m.reissued = r.claims()
	m.reissued.Subject = find(revocation.KindSubject)
	m.hitToken = r.claims()
	m.hitToken.ID = find(revocation.KindToken)
	m.hitSession = r.claims()
	m.hitSession.SessionID = find(revocation.KindSession)
	m.hitSubject = r.claims()
	m.hitSubject.Subject = find(revocation.KindSubject)
	m.hitSubject.IssuedAt = denyMixAt
	m.revokedKid = find(revocation.KindKey)
	for range 4096 {
		m.misses = append(m.misses, r.claims())
	}
	return m
}

// TestDenyListCheckAllocs holds Check to its budget of no allocation, on a
// list of 100,000 entries, for a token that is not revoked and for one
// revoked by each kind: a hot-path budget that fails the build.
func TestDenyListCheckAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a list of 100,000 entries")
	}
	m := denyMixOnce()
	tests := []struct {
		name   string
		kid    string
		claims *jwt.Claims
		want   revocation.Kind // "" when the token is not revoked
	}{
		{name: "miss", kid: m.kid, claims: &m.miss},
		{name: "miss, reissued subject", kid: m.kid, claims: &m.reissued},
		{name: "hit token", kid: m.kid, claims: &m.hitToken, want: revocation.KindToken},
		{name: "hit session", kid: m.kid, claims: &m.hitSession, want: revocation.KindSession},
		{name: "hit subject", kid: m.kid, claims: &m.hitSubject, want: revocation.KindSubject},
		{name: "hit key", kid: m.revokedKid, claims: &m.miss, want: revocation.KindKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.list.Check(tt.kid, tt.claims)
			if tt.want == "" && err != nil || tt.want != "" && (!errors.Is(err, revocation.ErrRevoked) || !strings.Contains(fmt.Sprint(err), string(tt.want)+" revoked")) {
				t.Fatalf("Check = %v, want revoked by %q", err, tt.want)
			}
			got := testing.AllocsPerRun(1000, func() { m.list.Check(tt.kid, tt.claims) })
			if got != 0 {
				t.Errorf("Check allocates %v times, want 0", got)
			}
		})
	}
}

// BenchmarkDenyListCheck measures Check against 100,000 entries: on the
// common path (a token nothing covers: miss), for a revoked token of each
// kind (hit), for a token of a revoked subject issued after the revocation
// (reissued: the user logged in again), and on an empty list.
//
//	go test -run=NONE -bench=DenyList -benchmem ./revocation/
func BenchmarkDenyListCheck(b *testing.B) {
	m := denyMixOnce()
	empty := revocation.NewDenyList()
	tests := []struct {
		name    string
		list    *revocation.DenyList
		kid     string
		claims  *jwt.Claims
		revoked bool
	}{
		{name: "miss/100k", list: m.list, kid: m.kid, claims: &m.miss},
		{name: "miss-reissued/100k", list: m.list, kid: m.kid, claims: &m.reissued},
		{name: "hit-token/100k", list: m.list, kid: m.kid, claims: &m.hitToken, revoked: true},
		{name: "hit-session/100k", list: m.list, kid: m.kid, claims: &m.hitSession, revoked: true},
		{name: "hit-subject/100k", list: m.list, kid: m.kid, claims: &m.hitSubject, revoked: true},
		{name: "hit-key/100k", list: m.list, kid: m.revokedKid, claims: &m.miss, revoked: true},
		{name: "miss/empty", list: empty, kid: m.kid, claims: &m.miss},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			for b.Loop() {
				if err := tt.list.Check(tt.kid, tt.claims); (err != nil) != tt.revoked {
					b.Fatalf("Check = %v, want revoked %v", err, tt.revoked)
				}
			}
		})
	}
	// Distinct tokens in turn, so that the filter and the claims are not
	// all in the L1 cache.
	b.Run("miss-varied/100k", func(b *testing.B) {
		i := 0
		for b.Loop() {
			if err := m.list.Check(m.kid, &m.misses[i%len(m.misses)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	for _, tt := range []struct {
		name    string
		claims  *jwt.Claims
		revoked bool
	}{
		{"parallel-miss/100k", &m.miss, false},
		{"parallel-miss-reissued/100k", &m.reissued, false},
		{"parallel-hit-session/100k", &m.hitSession, true},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := m.list.Check(m.kid, tt.claims); (err != nil) != tt.revoked {
						b.Errorf("Check = %v, want revoked %v", err, tt.revoked)
						return
					}
				}
			})
		})
	}
}

// BenchmarkDenyListApply measures Apply of a new event into a list that
// grows to 100,000 entries (new), and of an event already applied (again).
func BenchmarkDenyListApply(b *testing.B) {
	m := denyMixOnce()
	b.Run("new", func(b *testing.B) {
		d := revocation.NewDenyList()
		i := 0
		for b.Loop() {
			if i == len(m.events) {
				b.StopTimer()
				d, i = revocation.NewDenyList(), 0
				b.StartTimer()
			}
			if !d.Apply(m.events[i]) {
				b.Fatal("Apply of a new event = false")
			}
			i++
		}
	})
	b.Run("again", func(b *testing.B) {
		e := m.events[len(m.events)/2]
		for b.Loop() {
			if m.list.Apply(e) {
				b.Fatal("Apply of an applied event = true")
			}
		}
	})
	b.Run("parallel-check", func(b *testing.B) {
		// Apply while Check runs on the other processors, as a feed
		// does under load.
		d := revocation.NewDenyList()
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range max(runtime.GOMAXPROCS(0)-1, 1) {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
						d.Check(m.kid, &m.miss)
					}
				}
			})
		}
		i := 0
		for b.Loop() {
			if i == len(m.events) {
				b.StopTimer()
				d.Prune(denyMixAt.Add(2 * time.Hour))
				i = 0
				b.StartTimer()
			}
			d.Apply(m.events[i])
			i++
		}
		close(stop)
		wg.Wait()
	})
}

// BenchmarkDenyListPrune measures a Prune that drops nothing, the usual
// case, over 100,000 entries.
func BenchmarkDenyListPrune(b *testing.B) {
	m := denyMixOnce()
	for b.Loop() {
		if n := m.list.Prune(denyMixAt); n != 0 {
			b.Fatalf("Prune dropped %d", n)
		}
	}
}

// BenchmarkDenyListMemory reports the heap a list of the 100,000-entry
// mix holds, per entry (B/entry), IDs included.
func BenchmarkDenyListMemory(b *testing.B) {
	m := denyMixOnce()
	var perEntry float64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		d := revocation.NewDenyList()
		for _, e := range m.events {
			d.Apply(e)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perEntry = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(d.Len())
		runtime.KeepAlive(d)
	}
	b.ReportMetric(perEntry, "B/entry")
}
