package revocation

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latch-auth/latch/jwt"
)

// denyAt is the At of the events of the deny list tests.
var denyAt = time.Unix(1764730000, 0).UTC()

// denyEvent returns an event of kind k for id, at denyAt, expiring an hour
// later.
func denyEvent(k Kind, id string) Event {
	return Event{Seq: 1, Kind: k, ID: id, At: denyAt, Expires: denyAt.Add(time.Hour)}
}

// denySubjectEvent returns a subject event for sub at the given At and Expires.
func denySubjectEvent(sub string, at, exp time.Time) Event {
	return Event{Seq: 1, Kind: KindSubject, ID: sub, At: at, Expires: exp}
}

// checkRevokedKind reports whether err is the error of a revocation of kind
// want ("" for none), and if not, why.
func checkRevokedKind(err error, want Kind) string {
	switch {
	case want == "" && err == nil:
		return ""
	case want == "":
		return fmt.Sprintf("error %v, want nil", err)
	case err == nil:
		return fmt.Sprintf("nil, want a %s revocation", want)
	case !errors.Is(err, ErrRevoked):
		return fmt.Sprintf("error %v does not match ErrRevoked", err)
	case err.Error() != "revocation: token revoked: "+string(want)+" revoked":
		return fmt.Sprintf("error %q does not name kind %q", err, want)
	}
	return ""
}

func TestDenyListCheck(t *testing.T) {
	iat := func(d time.Duration) time.Time { return denyAt.Add(d) }
	tests := []struct {
		name   string
		events []Event
		kid    string
		claims jwt.Claims
		want   Kind // "" when the token is not revoked
	}{
		{name: "empty list", kid: "k1", claims: jwt.Claims{ID: "j1", SessionID: "s1", Subject: "u1"}},

		{name: "token: jti matches", events: []Event{denyEvent(KindToken, "j1")},
			claims: jwt.Claims{ID: "j1"}, want: KindToken},
		{name: "token: other jti", events: []Event{denyEvent(KindToken, "j1")},
			claims: jwt.Claims{ID: "j2"}},
		{name: "token: jti is a prefix", events: []Event{denyEvent(KindToken, "j1")},
			claims: jwt.Claims{ID: "j"}},
		{name: "token: jti differs in case", events: []Event{denyEvent(KindToken, "j1")},
			claims: jwt.Claims{ID: "J1"}},
		{name: "token: no jti", events: []Event{denyEvent(KindToken, "j1")},
			claims: jwt.Claims{SessionID: "j1", Subject: "j1"}},
		{name: "token: matches jti only", events: []Event{denyEvent(KindToken, "x")},
			kid: "x", claims: jwt.Claims{SessionID: "x", Subject: "x"}},
		{name: "token: issued later still revoked", events: []Event{denyEvent(KindToken, "j1")},
			claims: jwt.Claims{ID: "j1", IssuedAt: iat(time.Hour)}, want: KindToken},

		{name: "session: sid matches", events: []Event{denyEvent(KindSession, "s1")},
			claims: jwt.Claims{ID: "j1", SessionID: "s1"}, want: KindSession},
		{name: "session: other sid", events: []Event{denyEvent(KindSession, "s1")},
			claims: jwt.Claims{SessionID: "s2"}},
		{name: "session: no sid", events: []Event{denyEvent(KindSession, "s1")},
			claims: jwt.Claims{ID: "s1", Subject: "s1"}},
		{name: "session: matches sid only", events: []Event{denyEvent(KindSession, "x")},
			kid: "x", claims: jwt.Claims{ID: "x", Subject: "x"}},

		{name: "subject: iat before At", events: []Event{denyEvent(KindSubject, "u1")},
			claims: jwt.Claims{Subject: "u1", IssuedAt: iat(-time.Second)}, want: KindSubject},
		{name: "subject: iat equal to At", events: []Event{denyEvent(KindSubject, "u1")},
			claims: jwt.Claims{Subject: "u1", IssuedAt: iat(0)}, want: KindSubject},
		{name: "subject: iat a fraction after At", events: []Event{denyEvent(KindSubject, "u1")},
			claims: jwt.Claims{Subject: "u1", IssuedAt: iat(999 * time.Millisecond)}, want: KindSubject},
		{name: "subject: iat a second after At", events: []Event{denyEvent(KindSubject, "u1")},
			claims: jwt.Claims{Subject: "u1", IssuedAt: iat(time.Second)}},
		{name: "subject: no iat fails closed", events: []Event{denyEvent(KindSubject, "u1")},
			claims: jwt.Claims{Subject: "u1"}, want: KindSubject},
		{name: "subject: iat at the epoch", events: []Event{denyEvent(KindSubject, "u1")},
			claims: jwt.Claims{Subject: "u1", IssuedAt: time.Unix(0, 0)}, want: KindSubject},
		{name: "subject: other sub", events: []Event{denyEvent(KindSubject, "u1")},
			claims: jwt.Claims{Subject: "u2"}},
		{name: "subject: no sub", events: []Event{denyEvent(KindSubject, "u1")},
			claims: jwt.Claims{ID: "u1", SessionID: "u1"}},
		{name: "subject: later At wins", events: []Event{
			denySubjectEvent("u1", denyAt, denyAt.Add(time.Hour)),
			denySubjectEvent("u1", denyAt.Add(time.Minute), denyAt.Add(time.Hour)),
		}, claims: jwt.Claims{Subject: "u1", IssuedAt: iat(30 * time.Second)}, want: KindSubject},
		{name: "subject: older At applied later is ignored", events: []Event{
			denySubjectEvent("u1", denyAt.Add(time.Minute), denyAt.Add(time.Hour)),
			denySubjectEvent("u1", denyAt, denyAt.Add(2*time.Hour)),
		}, claims: jwt.Claims{Subject: "u1", IssuedAt: iat(30 * time.Second)}, want: KindSubject},
		{name: "subject: issued after the latest At", events: []Event{
			denySubjectEvent("u1", denyAt.Add(time.Minute), denyAt.Add(time.Hour)),
			denySubjectEvent("u1", denyAt, denyAt.Add(2*time.Hour)),
		}, claims: jwt.Claims{Subject: "u1", IssuedAt: iat(time.Minute + time.Second)}},

		{name: "key: kid matches", events: []Event{denyEvent(KindKey, "k1")},
			kid: "k1", claims: jwt.Claims{ID: "j1"}, want: KindKey},
		{name: "key: other kid", events: []Event{denyEvent(KindKey, "k1")},
			kid: "k2", claims: jwt.Claims{ID: "j1"}},
		{name: "key: no kid", events: []Event{denyEvent(KindKey, "k1")},
			claims: jwt.Claims{ID: "k1", SessionID: "k1", Subject: "k1"}},

		{name: "several kinds: token named first", events: []Event{
			denyEvent(KindKey, "k1"), denyEvent(KindSubject, "u1"),
			denyEvent(KindSession, "s1"), denyEvent(KindToken, "j1"),
		}, kid: "k1", claims: jwt.Claims{ID: "j1", SessionID: "s1", Subject: "u1"}, want: KindToken},
		{name: "several kinds: session before subject", events: []Event{
			denyEvent(KindKey, "k1"), denyEvent(KindSubject, "u1"), denyEvent(KindSession, "s1"),
		}, kid: "k1", claims: jwt.Claims{ID: "j1", SessionID: "s1", Subject: "u1"}, want: KindSession},
		{name: "several kinds: subject before key", events: []Event{
			denyEvent(KindKey, "k1"), denyEvent(KindSubject, "u1"),
		}, kid: "k1", claims: jwt.Claims{ID: "j1", SessionID: "s1", Subject: "u1"}, want: KindSubject},
		{name: "several kinds: reissued subject, revoked key", events: []Event{
			denyEvent(KindKey, "k1"), denyEvent(KindSubject, "u1"),
		}, kid: "k1", claims: jwt.Claims{Subject: "u1", IssuedAt: iat(time.Hour)}, want: KindKey},
		{name: "several kinds: none matches", events: []Event{
			denyEvent(KindKey, "k1"), denyEvent(KindSubject, "u1"),
			denyEvent(KindSession, "s1"), denyEvent(KindToken, "j1"),
		}, kid: "k2", claims: jwt.Claims{ID: "j2", SessionID: "s2", Subject: "u2"}},

		{name: "expired entry still revokes", events: []Event{{
			Seq: 1, Kind: KindSession, ID: "s1", At: denyAt, Expires: denyAt,
		}}, claims: jwt.Claims{SessionID: "s1"}, want: KindSession},
		{name: "unicode id", events: []Event{denyEvent(KindSubject, "usér@exämple")},
			claims: jwt.Claims{Subject: "usér@exämple"}, want: KindSubject},
		{name: "long id", events: []Event{denyEvent(KindToken, strings.Repeat("j", MaxIDLength))},
			claims: jwt.Claims{ID: strings.Repeat("j", MaxIDLength)}, want: KindToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDenyList()
			for _, e := range tt.events {
				d.Apply(e)
			}
			if msg := checkRevokedKind(d.Check(tt.kid, &tt.claims), tt.want); msg != "" {
				t.Errorf("Check(%q, %+v) = %s", tt.kid, tt.claims, msg)
			}
		})
	}
}

// TestDenyListZeroValue checks that a DenyList needs no constructor.
func TestDenyListZeroValue(t *testing.T) {
	var d DenyList
	if err := d.Check("k1", &jwt.Claims{ID: "j1"}); err != nil {
		t.Fatalf("Check on a zero DenyList = %v, want nil", err)
	}
	if n := d.Prune(denyAt); n != 0 {
		t.Errorf("Prune on a zero DenyList = %d, want 0", n)
	}
	if !d.Apply(denyEvent(KindToken, "j1")) {
		t.Fatal("Apply on a zero DenyList = false, want true")
	}
	if msg := checkRevokedKind(d.Check("", &jwt.Claims{ID: "j1"}), KindToken); msg != "" {
		t.Errorf("Check after Apply = %s", msg)
	}
}

func TestDenyListApply(t *testing.T) {
	later := func(e Event, at, exp time.Duration) Event {
		e.At, e.Expires = e.At.Add(at), e.Expires.Add(exp)
		return e
	}
	tooLong := strings.Repeat("x", MaxIDLength+1)
	tests := []struct {
		name    string
		before  []Event
		e       Event
		want    bool
		wantLen int
	}{
		{name: "new", e: denyEvent(KindToken, "j1"), want: true, wantLen: 1},
		{name: "again", before: []Event{denyEvent(KindToken, "j1")},
			e: denyEvent(KindToken, "j1"), want: false, wantLen: 1},
		{name: "again with another seq and reason", before: []Event{denyEvent(KindSession, "s1")},
			e:    Event{Seq: 9, Kind: KindSession, ID: "s1", At: denyAt, Expires: denyAt.Add(time.Hour), Reason: "admin"},
			want: false, wantLen: 1},
		{name: "same id, other kind", before: []Event{denyEvent(KindToken, "x")},
			e: denyEvent(KindSession, "x"), want: true, wantLen: 2},
		{name: "token: later Expires", before: []Event{denyEvent(KindToken, "j1")},
			e: later(denyEvent(KindToken, "j1"), 0, time.Minute), want: true, wantLen: 1},
		{name: "token: earlier Expires", before: []Event{denyEvent(KindToken, "j1")},
			e: later(denyEvent(KindToken, "j1"), 0, -time.Minute), want: false, wantLen: 1},
		{name: "token: another At only", before: []Event{denyEvent(KindToken, "j1")},
			e: later(denyEvent(KindToken, "j1"), time.Minute, 0), want: false, wantLen: 1},
		{name: "subject: later At", before: []Event{denyEvent(KindSubject, "u1")},
			e: later(denyEvent(KindSubject, "u1"), time.Minute, 0), want: true, wantLen: 1},
		{name: "subject: later Expires", before: []Event{denyEvent(KindSubject, "u1")},
			e: later(denyEvent(KindSubject, "u1"), 0, time.Minute), want: true, wantLen: 1},
		{name: "subject: older At, later Expires", before: []Event{denyEvent(KindSubject, "u1")},
			e: later(denyEvent(KindSubject, "u1"), -time.Minute, time.Minute), want: true, wantLen: 1},
		{name: "subject: older At and Expires", before: []Event{denyEvent(KindSubject, "u1")},
			e: later(denyEvent(KindSubject, "u1"), -time.Minute, -time.Minute), want: false, wantLen: 1},
		{name: "seq is not used", e: Event{Kind: KindKey, ID: "k1", At: denyAt, Expires: denyAt},
			want: true, wantLen: 1},
		{name: "invalid: unknown kind", e: denyEvent("user", "u1")},
		{name: "invalid: empty kind", e: denyEvent("", "u1")},
		{name: "invalid: empty id", e: denyEvent(KindToken, "")},
		{name: "invalid: id too long", e: denyEvent(KindToken, tooLong)},
		{name: "invalid: no At", e: Event{Seq: 1, Kind: KindToken, ID: "j1", Expires: denyAt}},
		{name: "invalid: no Expires", e: Event{Seq: 1, Kind: KindToken, ID: "j1", At: denyAt}},
		{name: "invalid: reason too long", e: Event{Seq: 1, Kind: KindToken, ID: "j1", At: denyAt,
			Expires: denyAt, Reason: strings.Repeat("r", 65)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDenyList()
			for _, e := range tt.before {
				if !d.Apply(e) {
					t.Fatalf("Apply(%+v) = false on a fresh list", e)
				}
			}
			if got := d.Apply(tt.e); got != tt.want {
				t.Errorf("Apply(%+v) = %v, want %v", tt.e, got, tt.want)
			}
			if got := d.Len(); got != tt.wantLen {
				t.Errorf("Len() = %d, want %d", got, tt.wantLen)
			}
			if got := d.Apply(tt.e); got {
				t.Errorf("Apply(%+v) a second time = true, want false", tt.e)
			}
		})
	}
}

// TestDenyListApplyKeepsLatest checks that, whatever the order of a
// subject's events, the latest At decides and the latest Expires bounds
// the entry.
func TestDenyListApplyKeepsLatest(t *testing.T) {
	newer := denySubjectEvent("u1", denyAt.Add(time.Minute), denyAt.Add(time.Hour))
	older := denySubjectEvent("u1", denyAt, denyAt.Add(2*time.Hour))
	for _, tt := range []struct {
		name  string
		order []Event
	}{
		{"newer first", []Event{newer, older}},
		{"older first", []Event{older, newer}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDenyList()
			for _, e := range tt.order {
				d.Apply(e)
			}
			between := &jwt.Claims{Subject: "u1", IssuedAt: denyAt.Add(time.Minute)}
			if msg := checkRevokedKind(d.Check("", between), KindSubject); msg != "" {
				t.Errorf("Check(iat = newer At) = %s", msg)
			}
			after := &jwt.Claims{Subject: "u1", IssuedAt: denyAt.Add(time.Minute + time.Second)}
			if err := d.Check("", after); err != nil {
				t.Errorf("Check(iat after newer At) = %v, want nil", err)
			}
			// The later Expires (the older event's) keeps the entry.
			if n := d.Prune(denyAt.Add(90 * time.Minute)); n != 0 {
				t.Errorf("Prune before the latest Expires dropped %d, want 0", n)
			}
			if n := d.Prune(denyAt.Add(2*time.Hour + time.Second)); n != 1 {
				t.Errorf("Prune after the latest Expires dropped %d, want 1", n)
			}
		})
	}
}

// TestDenyListApplyCopiesID checks that the list does not depend on the
// memory of the ID it was given.
func TestDenyListApplyCopiesID(t *testing.T) {
	buf := []byte("session-1")
	d := NewDenyList()
	d.Apply(denyEvent(KindSession, string(buf)))
	copy(buf, "XXXXXXXXX")
	if msg := checkRevokedKind(d.Check("", &jwt.Claims{SessionID: "session-1"}), KindSession); msg != "" {
		t.Errorf("Check = %s", msg)
	}
}

func TestDenyListPrune(t *testing.T) {
	// Entries expiring at T-1s, T, T+1s, of every kind.
	const T = 1764733600
	at := func(sec int64, nsec int64) time.Time { return time.Unix(sec, nsec) }
	tests := []struct {
		name     string
		now      time.Time
		dropped  int
		wantLeft []int64 // the Expires, in seconds, still held
	}{
		{name: "before all", now: at(T-2, 0), dropped: 0, wantLeft: []int64{T - 1, T, T + 1}},
		{name: "equal to the first", now: at(T-1, 0), dropped: 0, wantLeft: []int64{T - 1, T, T + 1}},
		{name: "just after the first", now: at(T-1, 1), dropped: 4, wantLeft: []int64{T, T + 1}},
		{name: "equal to the second", now: at(T, 0), dropped: 4, wantLeft: []int64{T, T + 1}},
		{name: "between", now: at(T, 500_000_000), dropped: 8, wantLeft: []int64{T + 1}},
		{name: "equal to the last", now: at(T+1, 0), dropped: 8, wantLeft: []int64{T + 1}},
		{name: "after all", now: at(T+2, 0), dropped: 12},
		{name: "in another zone", now: at(T, 0).In(time.FixedZone("X", 3600)), dropped: 4, wantLeft: []int64{T, T + 1}},
	}
	kinds := []Kind{KindToken, KindSession, KindSubject, KindKey}
	id := func(k Kind, exp int64) string { return fmt.Sprintf("%s-%d", k, exp-T) }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDenyList()
			for _, exp := range []int64{T - 1, T, T + 1} {
				for _, k := range kinds {
					d.Apply(Event{Seq: 1, Kind: k, ID: id(k, exp), At: denyAt, Expires: time.Unix(exp, 0)})
				}
			}
			if got := d.Prune(tt.now); got != tt.dropped {
				t.Errorf("Prune(%v) = %d, want %d", tt.now, got, tt.dropped)
			}
			if got, want := d.Len(), 4*len(tt.wantLeft); got != want {
				t.Errorf("Len() after Prune = %d, want %d", got, want)
			}
			for _, exp := range []int64{T - 1, T, T + 1} {
				left := false
				for _, l := range tt.wantLeft {
					left = left || l == exp
				}
				for _, k := range kinds {
					var c jwt.Claims
					kid := ""
					switch k {
					case KindToken:
						c.ID = id(k, exp)
					case KindSession:
						c.SessionID = id(k, exp)
					case KindSubject:
						c.Subject = id(k, exp)
					case KindKey:
						kid = id(k, exp)
					}
					want := Kind("")
					if left {
						want = k
					}
					if msg := checkRevokedKind(d.Check(kid, &c), want); msg != "" {
						t.Errorf("Check of %s after Prune = %s", id(k, exp), msg)
					}
				}
			}
			if got := d.Prune(tt.now); got != 0 {
				t.Errorf("second Prune(%v) = %d, want 0", tt.now, got)
			}
		})
	}
}

// TestDenyListPruneFractionalExpires checks that an Expires between whole
// seconds is kept until it has passed.
func TestDenyListPruneFractionalExpires(t *testing.T) {
	exp := denyAt.Add(time.Hour + 300*time.Millisecond)
	d := NewDenyList()
	d.Apply(Event{Seq: 1, Kind: KindToken, ID: "j1", At: denyAt, Expires: exp})
	if n := d.Prune(exp.Add(-100 * time.Millisecond)); n != 0 {
		t.Errorf("Prune before Expires dropped %d, want 0", n)
	}
	if n := d.Prune(exp); n != 0 {
		t.Errorf("Prune at Expires dropped %d, want 0", n)
	}
	if n := d.Prune(exp.Add(time.Second)); n != 1 {
		t.Errorf("Prune a second after Expires dropped %d, want 1", n)
	}
}

func TestDenyListLen(t *testing.T) {
	tests := []struct {
		name   string
		events []Event
		want   int
	}{
		{name: "empty", want: 0},
		{name: "one of each kind", events: []Event{
			denyEvent(KindToken, "a"), denyEvent(KindSession, "b"),
			denyEvent(KindSubject, "c"), denyEvent(KindKey, "d"),
		}, want: 4},
		{name: "one id in every kind", events: []Event{
			denyEvent(KindToken, "a"), denyEvent(KindSession, "a"),
			denyEvent(KindSubject, "a"), denyEvent(KindKey, "a"),
		}, want: 4},
		{name: "repeated events", events: []Event{
			denyEvent(KindToken, "a"), denyEvent(KindToken, "a"),
			denySubjectEvent("u", denyAt, denyAt.Add(time.Hour)), denySubjectEvent("u", denyAt.Add(time.Second), denyAt.Add(time.Hour)),
		}, want: 2},
		{name: "invalid events", events: []Event{denyEvent("user", "a"), denyEvent(KindToken, "")}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDenyList()
			for _, e := range tt.events {
				d.Apply(e)
			}
			if got := d.Len(); got != tt.want {
				t.Errorf("Len() = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestDenyListMany checks a list through its growth: each ID is revoked
// as soon as it is applied and stays so, and IDs never applied, which
// share the tables' slots with them, are not.
func TestDenyListMany(t *testing.T) {
	const n = 5000
	kinds := []Kind{KindToken, KindSession, KindSubject, KindKey}
	claimsFor := func(k Kind, id string) (string, *jwt.Claims) {
		switch k {
		case KindToken:
			return "", &jwt.Claims{ID: id}
		case KindSession:
			return "", &jwt.Claims{SessionID: id}
		case KindSubject:
			return "", &jwt.Claims{Subject: id}
		}
		return id, &jwt.Claims{}
	}
	d := NewDenyList()
	for i := range n {
		for _, k := range kinds {
			id := fmt.Sprintf("id-%d", i)
			if !d.Apply(denyEvent(k, id)) {
				t.Fatalf("Apply(%s %s) = false", k, id)
			}
			if msg := checkRevokedKind(d.Check(claimsFor(k, id)), k); msg != "" {
				t.Fatalf("Check(%s %s) right after Apply = %s", k, id, msg)
			}
		}
	}
	if got := d.Len(); got != n*len(kinds) {
		t.Errorf("Len() = %d, want %d", got, n*len(kinds))
	}
	for i := range n {
		for _, k := range kinds {
			if msg := checkRevokedKind(d.Check(claimsFor(k, fmt.Sprintf("id-%d", i))), k); msg != "" {
				t.Fatalf("Check(%s id-%d) = %s", k, i, msg)
			}
			if err := d.Check(claimsFor(k, fmt.Sprintf("other-%d", i))); err != nil {
				t.Fatalf("Check(%s other-%d) = %v, want nil", k, i, err)
			}
		}
	}
}

// TestDenyListConcurrent runs Apply, Prune and Check from several
// goroutines (run it with -race), then checks what the list holds.
// Throughout, a token revoked before the start stays revoked and a token
// never revoked is never reported.
func TestDenyListConcurrent(t *testing.T) {
	const (
		writers   = 4
		perWriter = 2000
		checkers  = 4
	)
	now := denyAt.Add(10 * time.Minute)
	kinds := []Kind{KindToken, KindSession, KindSubject, KindKey}
	d := NewDenyList()
	d.Apply(denyEvent(KindSession, "always"))
	always := &jwt.Claims{ID: "j", SessionID: "always", Subject: "u", IssuedAt: denyAt}
	never := &jwt.Claims{ID: "never", SessionID: "never", Subject: "never", IssuedAt: denyAt}

	// live reports whether writer w's i-th event outlives now: half do,
	// half expired before it.
	live := func(i int) bool { return i%2 == 0 }
	event := func(w, i int) Event {
		e := denyEvent(kinds[i%len(kinds)], fmt.Sprintf("w%d-%d", w, i))
		if !live(i / len(kinds)) {
			e.Expires = now.Add(-time.Second)
		}
		return e
	}

	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, checkers+1)
	for range checkers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if err := d.Check("never", never); err != nil {
					errs <- fmt.Errorf("Check(never) = %v, want nil", err)
					return
				}
				if msg := checkRevokedKind(d.Check("never", always), KindSession); msg != "" {
					errs <- fmt.Errorf("Check(always) = %s", msg)
					return
				}
			}
		})
	}
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				d.Prune(now)
				d.Len()
			}
		}
	})
	var writing sync.WaitGroup
	for w := range writers {
		writing.Go(func() {
			for i := range perWriter {
				if !d.Apply(event(w, i)) {
					errs <- fmt.Errorf("Apply(%+v) = false", event(w, i))
					return
				}
				d.Apply(event(w, i/2)) // again: no effect
			}
		})
	}
	writing.Wait()
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	d.Prune(now)
	if got, want := d.Len(), 1+writers*perWriter/2; got != want {
		t.Errorf("Len() = %d, want %d", got, want)
	}
	for w := range writers {
		for i := range perWriter {
			e := event(w, i)
			var c jwt.Claims
			kid := ""
			switch e.Kind {
			case KindToken:
				c.ID = e.ID
			case KindSession:
				c.SessionID = e.ID
			case KindSubject:
				c.Subject, c.IssuedAt = e.ID, denyAt
			case KindKey:
				kid = e.ID
			}
			want := Kind("")
			if live(i / len(kinds)) {
				want = e.Kind
			}
			if msg := checkRevokedKind(d.Check(kid, &c), want); msg != "" {
				t.Errorf("Check of %s %s = %s", e.Kind, e.ID, msg)
			}
		}
	}
}

// TestDenyTableCollision checks that IDs whose hashes are equal, which
// seeded 64-bit hashes make too rare to meet by chance, are told apart by
// their text: a collision never revokes a token that is not in the list.
func TestDenyTableCollision(t *testing.T) {
	// Hashes chosen to collide, one of them at the last slot so that its
	// probe sequence wraps around.
	const h, last = 1<<63 | 5, 1<<63 | 7
	tbl := denyTable{slots: make([]denySlot, 8), filter: make([]atomic.Uint64, 1)}
	a := &denyEntry{id: "a"}
	tbl.insert(tbl.slot(h, "a"), h, a)
	tests := []struct {
		name string
		h    uint64
		id   string
		want *denyEntry
	}{
		{name: "the ID inserted", h: h, id: "a", want: a},
		{name: "same hash, other ID", h: h, id: "b"},
		{name: "same hash, ID a prefix", h: h, id: ""},
		{name: "other hash, same ID", h: h + 1, id: "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tbl.lookup(tt.h, tt.id); got != tt.want {
				t.Errorf("lookup(%#x, %q) = %v, want %v", tt.h, tt.id, got, tt.want)
			}
		})
	}

	b := &denyEntry{id: "b"}
	tbl.insert(tbl.slot(h, "b"), h, b)
	c, d := &denyEntry{id: "c"}, &denyEntry{id: "d"}
	tbl.insert(tbl.slot(last, "c"), last, c)
	tbl.insert(tbl.slot(last, "d"), last, d) // wraps to slot 0
	for _, tt := range []struct {
		h    uint64
		id   string
		want *denyEntry
	}{
		{h, "a", a}, {h, "b", b}, {h, "c", nil}, {last, "c", c}, {last, "d", d}, {last, "a", nil}, {last, "e", nil},
	} {
		if got := tbl.lookup(tt.h, tt.id); got != tt.want {
			t.Errorf("after collisions, lookup(%#x, %q) = %v, want %v", tt.h, tt.id, got, tt.want)
		}
		if tt.want != nil && !tbl.mayContain(tt.h) {
			t.Errorf("mayContain(%#x) = false for %q, which is in the table", tt.h, tt.id)
		}
	}
	if got := tbl.slot(h, "b"); got.entry.Load() != b {
		t.Errorf("slot(%#x, %q) holds %v, want its entry", uint64(h), "b", got.entry.Load())
	}
}
