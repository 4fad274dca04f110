package revocation

import (
	"fmt"
	"hash/maphash"
	"math/bits"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/latch-auth/latch/jwt"
)

// The errors Check returns, allocated once so that Check never allocates.
var (
	errTokenRevoked   = fmt.Errorf("%w: token revoked", ErrRevoked)
	errSessionRevoked = fmt.Errorf("%w: session revoked", ErrRevoked)
	errSubjectRevoked = fmt.Errorf("%w: subject revoked", ErrRevoked)
	errKeyRevoked     = fmt.Errorf("%w: key revoked", ErrRevoked)
)

// The kinds as indexes into a DenyList's tables, in the order Check tests
// them.
const (
	kindToken = iota
	kindSession
	kindSubject
	kindKey
	numKinds
)

func kindIndex(k Kind) int {
	switch k {
	case KindToken:
		return kindToken
	case KindSession:
		return kindSession
	case KindSubject:
		return kindSubject
	case KindKey:
		return kindKey
	}
	return -1
}

// DenyList is the set of revocations in force for one issuer: what a
// verifier checks every token against after its signature and claims have
// been verified. Apply adds the events of the issuer's feed; Check tells
// whether a token is covered by one of them.
//
// A token is revoked when
//
//   - KindToken: its "jti" equals the event's ID;
//   - KindSession: its "sid" equals the event's ID;
//   - KindSubject: its "sub" equals the event's ID and its "iat", in whole
//     seconds, is at or before the event's At (a token issued in the same
//     second as the revocation is revoked, one issued a second later is
//     not). A token without "iat" is revoked: its age cannot be told, so
//     the list fails closed. Of several events for one subject, the latest
//     At and the latest Expires hold;
//   - KindKey: its header "kid" equals the event's ID.
//
// An absent (empty) "jti", "sid", "sub" or "kid" matches nothing.
// Comparisons are exact, byte for byte.
//
// Check ignores Expires: an entry past its Expires can only cover tokens
// that have expired too, which package jwt already rejects. Prune drops
// such entries to bound memory; call it periodically (a minute is plenty).
//
// All methods may be called concurrently. Check, on the verifier's hot
// path, takes no lock and does not allocate. Each kind has an
// open-addressing hash table of its IDs, found by a seeded 64-bit hash
// (hash/maphash), with a Bloom filter in front: a claim that no entry
// covers, the common case, is cleared by its hash and one word of the
// filter; a match is confirmed by comparing the IDs in full, so that a hash
// collision never revokes a valid token. Apply and Prune serialize on a
// mutex; they fill tables in place with atomic stores, or publish new ones
// with an atomic pointer, so Check never waits for them. With 100,000
// entries, Check costs a few tens of nanoseconds whether the token is
// revoked or not, and the list holds about 110 bytes per entry for IDs of
// 22 to 36 bytes (BenchmarkDenyListCheck, BenchmarkDenyListMemory).
//
// The zero DenyList is empty and ready to use.
type DenyList struct {
	// view is what Check reads, without a lock. A view's tables only gain
	// entries while it is current; Apply replaces it to grow a table,
	// Prune to drop entries. A Check still on a replaced view may see an
	// entry pruned since (which covers only expired tokens), but never
	// misses one that was applied before the Check began.
	view atomic.Pointer[denyView]

	mu     sync.Mutex // serializes Apply and Prune
	counts [numKinds]int
}

// denyView is a DenyList's tables. A view is replaced, never modified but
// for the slots its tables fill, by Apply when a table grows and by Prune.
type denyView struct {
	seed   maphash.Seed
	tables [numKinds]denyTable
}

// denyTable holds the IDs of one kind: an open-addressing (linear probing)
// hash table, at most half full so that every probe sequence ends at an
// empty slot, and in front of it a Bloom filter that clears most IDs not in
// the table in one memory access. Both are empty when the kind has no
// entries. Slots are filled once and never emptied: Prune builds a new
// table.
type denyTable struct {
	slots  []denySlot      // a power of two
	filter []atomic.Uint64 // a power of two, len(slots)/8: 16 to 32 bits per entry
}

// denySlot holds an entry once hash is not zero. The writer stores entry
// before hash, so a reader that sees the hash sees the entry.
type denySlot struct {
	hash  atomic.Uint64
	entry atomic.Pointer[denyEntry]
}

// denyEntry is what the list keeps of an ID's events: the latest At (for
// KindSubject only, zero for the other kinds) and the latest Expires, both
// in seconds since the epoch. An entry is never modified: a later event
// stores a new one in the slot.
type denyEntry struct {
	id      string
	at, exp int64
}

// hashID is id's hash in v's tables. Its top bit is set, so that it is
// never the zero of an empty slot.
func (v *denyView) hashID(id string) uint64 {
	return maphash.String(v.seed, id) | 1<<63
}

// filterMask is the three bits that the ID of hash h sets in its filter
// word (a register-blocked Bloom filter): at 16 bits per entry, about one
// ID in a hundred that is not in the table finds them all set. The word is
// chosen by the low bits of h, the bits by three fields below the top bit.
func filterMask(h uint64) uint64 {
	return 1<<(h>>40&63) | 1<<(h>>46&63) | 1<<(h>>52&63)
}

// mayContain reports whether the ID of hash h may be in t: false for
// every ID not in t but about one in a hundred.
func (t *denyTable) mayContain(h uint64) bool {
	m := filterMask(h)
	return t.filter[h&uint64(len(t.filter)-1)].Load()&m == m
}

// lookup returns the entry of id, of hash h, in t, or nil.
func (t *denyTable) lookup(h uint64, id string) *denyEntry {
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch t.slots[i].hash.Load() {
		case 0:
			return nil
		case h:
			if e := t.slots[i].entry.Load(); e.id == id {
				return e
			}
		}
	}
}

// slot returns the slot of the ID of hash h in t, or the empty slot where it
// belongs. The caller holds the list's mutex.
func (t *denyTable) slot(h uint64, id string) *denySlot {
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		switch t.slots[i].hash.Load() {
		case 0:
			return &t.slots[i]
		case h:
			if t.slots[i].entry.Load().id == id {
				return &t.slots[i]
			}
		}
	}
}

// insert fills s, the empty slot of hash h, with e.
func (t *denyTable) insert(s *denySlot, h uint64, e *denyEntry) {
	s.entry.Store(e)
	s.hash.Store(h)
	t.filter[h&uint64(len(t.filter)-1)].Or(filterMask(h))
}

// newDenyTable returns a table of the entries es, between a quarter and
// half full; an empty one for none.
func newDenyTable(seed maphash.Seed, es []*denyEntry) denyTable {
	if len(es) == 0 {
		return denyTable{}
	}
	n := 2 << bits.Len(uint(len(es)-1)) // 2 × the power of two >= len(es)
	t := denyTable{slots: make([]denySlot, n), filter: make([]atomic.Uint64, max(n/8, 1))}
	for _, e := range es {
		h := maphash.String(seed, e.id) | 1<<63
		t.insert(t.slot(h, e.id), h, e)
	}
	return t
}

// entries returns the entries of t.
func (t *denyTable) entries(dst []*denyEntry) []*denyEntry {
	for i := range t.slots {
		if t.slots[i].hash.Load() != 0 {
			dst = append(dst, t.slots[i].entry.Load())
		}
	}
	return dst
}

// NewDenyList returns an empty deny list.
func NewDenyList() *DenyList {
	return new(DenyList)
}

// Apply adds e to the list; applying an event again has no further effect.
// It reports whether the list changed: false for an event already applied,
// for one that another covers (a subject event with an earlier At and
// Expires than one applied before), and for an invalid event (one that
// AppendJSON refuses, Seq aside: the list does not use Seq).
//
// The list keeps its own copy of e.ID.
func (d *DenyList) Apply(e Event) bool {
	k := kindIndex(e.Kind)
	if k < 0 {
		return false
	}
	e.Seq = 1
	if e.check() != nil {
		return false
	}
	exp := e.Expires.Unix()
	if e.Expires.Nanosecond() != 0 {
		exp++ // round up: an entry may outlive its Expires, not the reverse
	}
	var at int64
	if k == kindSubject {
		at = e.At.Unix()
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	v := d.view.Load()
	if v == nil {
		v = &denyView{seed: maphash.MakeSeed()}
		d.view.Store(v)
	}
	h := v.hashID(e.ID)
	if t := &v.tables[k]; len(t.slots) > 0 {
		s := t.slot(h, e.ID)
		if old := s.entry.Load(); old != nil {
			if at <= old.at && exp <= old.exp {
				return false
			}
			s.entry.Store(&denyEntry{id: old.id, at: max(old.at, at), exp: max(old.exp, exp)})
			return true
		}
		if 2*(d.counts[k]+1) <= len(t.slots) {
			t.insert(s, h, &denyEntry{id: strings.Clone(e.ID), at: at, exp: exp})
			d.counts[k]++
			return true
		}
	}
	// The table is full, or there is none yet: publish a view with a
	// larger one.
	es := v.tables[k].entries(make([]*denyEntry, 0, d.counts[k]+1))
	es = append(es, &denyEntry{id: strings.Clone(e.ID), at: at, exp: exp})
	nv := *v
	nv.tables[k] = newDenyTable(v.seed, es)
	d.view.Store(&nv)
	d.counts[k]++
	return true
}

// Check returns nil when a token with header "kid" kid and claims c is
// covered by no revocation, and otherwise an error wrapping ErrRevoked that
// names the kind ("revocation: token revoked: session revoked"). When
// several revocations cover the token, the kind named is the first of
// token, session, subject and key.
//
// Check does not allocate and takes no lock.
func (d *DenyList) Check(kid string, c *jwt.Claims) error {
	v := d.view.Load()
	if v == nil {
		return nil
	}
	// For each kind with entries: the hash, the filter, and only if the
	// filter passes the ID, the table.
	if t := &v.tables[kindToken]; len(t.filter) > 0 && c.ID != "" {
		if h := v.hashID(c.ID); t.mayContain(h) && t.lookup(h, c.ID) != nil {
			return errTokenRevoked
		}
	}
	if t := &v.tables[kindSession]; len(t.filter) > 0 && c.SessionID != "" {
		if h := v.hashID(c.SessionID); t.mayContain(h) && t.lookup(h, c.SessionID) != nil {
			return errSessionRevoked
		}
	}
	if t := &v.tables[kindSubject]; len(t.filter) > 0 && c.Subject != "" {
		// iat is compared in whole seconds, as it travels; Unix rounds
		// a fractional iat down, towards revoked.
		if h := v.hashID(c.Subject); t.mayContain(h) {
			if e := t.lookup(h, c.Subject); e != nil && (c.IssuedAt.IsZero() || c.IssuedAt.Unix() <= e.at) {
				return errSubjectRevoked
			}
		}
	}
	if t := &v.tables[kindKey]; len(t.filter) > 0 && kid != "" {
		if h := v.hashID(kid); t.mayContain(h) && t.lookup(h, kid) != nil {
			return errKeyRevoked
		}
	}
	return nil
}

// Prune drops entries whose Expires is before now and returns how many it
// dropped. An entry whose Expires equals now is kept. Prune takes time in
// proportion to the list's size, during which Apply waits but Check does
// not.
func (d *DenyList) Prune(now time.Time) int {
	// An entry is dropped when its whole-second exp < now, that is
	// exp < cut, with cut now rounded up to a whole second.
	cut := now.Unix()
	if now.Nanosecond() != 0 {
		cut++
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	v := d.view.Load()
	if v == nil {
		return 0
	}
	var nv *denyView // a copy of v, once an entry is dropped
	dropped := 0
	for k := range v.tables {
		t := &v.tables[k]
		n := 0
		for i := range t.slots {
			if t.slots[i].hash.Load() != 0 && t.slots[i].entry.Load().exp < cut {
				n++
			}
		}
		if n == 0 {
			continue
		}
		live := make([]*denyEntry, 0, d.counts[k]-n)
		for _, e := range t.entries(nil) {
			if e.exp >= cut {
				live = append(live, e)
			}
		}
		if nv == nil {
			c := *v
			nv = &c
		}
		dropped += n
		d.counts[k] = len(live)
		nv.tables[k] = newDenyTable(v.seed, live)
	}
	if nv != nil {
		d.view.Store(nv)
	}
	return dropped
}

// Len returns the number of entries: the IDs revoked, each counted once
// per kind however many events named it.
func (d *DenyList) Len() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	n := 0
	for _, c := range d.counts {
		n += c
	}
	return n
}
