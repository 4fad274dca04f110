package revocation_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/revocation"
)

// denyAt is the At of the events of the deny list tests.
var denyAt = time.Unix(1764730000, 0).UTC()

// denyEvent returns an event of kind k for id, at denyAt, expiring an hour
// later.
func denyEvent(k revocation.Kind, id string) revocation.Event {
	return revocation.Event{Seq: 1, Kind: k, ID: id, At: denyAt, Expires: denyAt.Add(time.Hour)}
}

// subjectEvent returns a subject event for sub at the given At and Expires.
func subjectEvent(sub string, at, exp time.Time) revocation.Event {
	return revocation.Event{Seq: 1, Kind: revocation.KindSubject, ID: sub, At: at, Expires: exp}
}

// checkRevokedKind reports whether err is the error of a revocation of kind
// want ("" for none), and if not, why.
func checkRevokedKind(err error, want revocation.Kind) string {
	switch {
	case want == "" && err == nil:
		return ""
	case want == "":
		return fmt.Sprintf("error %v, want nil", err)
	case err == nil:
		return fmt.Sprintf("nil, want a %s revocation", want)
	case !errors.Is(err, revocation.ErrRevoked):
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
		events []revocation.Event
		kid    string
		claims jwt.Claims
		want   revocation.Kind // "" when the token is not revoked
	}{
		{name: "empty list", kid: "k1", claims: jwt.Claims{ID: "j1", SessionID: "s1", Subject: "u1"}},

		{name: "token: jti matches", events: []revocation.Event{denyEvent(revocation.KindToken, "j1")},
			claims: jwt.Claims{ID: "j1"}, want: revocation.KindToken},
		{name: "token: other jti", events: []revocation.Event{denyEvent(revocation.KindToken, "j1")},
			claims: jwt.Claims{ID: "j2"}},
		{name: "token: jti is a prefix", events: []revocation.Event{denyEvent(revocation.KindToken, "j1")},
			claims: jwt.Claims{ID: "j"}},
		{name: "token: jti differs in case", events: []revocation.Event{denyEvent(revocation.KindToken, "j1")},
			claims: jwt.Claims{ID: "J1"}},
		{name: "token: no jti", events: []revocation.Event{denyEvent(revocation.KindToken, "j1")},
			claims: jwt.Claims{SessionID: "j1", Subject: "j1"}},
		{name: "token: matches jti only", events: []revocation.Event{denyEvent(revocation.KindToken, "x")},
			kid: "x", claims: jwt.Claims{SessionID: "x", Subject: "x"}},
		{name: "token: issued later still revoked", events: []revocation.Event{denyEvent(revocation.KindToken, "j1")},
			claims: jwt.Claims{ID: "j1", IssuedAt: iat(time.Hour)}, want: revocation.KindToken},

		{name: "session: sid matches", events: []revocation.Event{denyEvent(revocation.KindSession, "s1")},
			claims: jwt.Claims{ID: "j1", SessionID: "s1"}, want: revocation.KindSession},
		{name: "session: other sid", events: []revocation.Event{denyEvent(revocation.KindSession, "s1")},
			claims: jwt.Claims{SessionID: "s2"}},
		{name: "session: no sid", events: []revocation.Event{denyEvent(revocation.KindSession, "s1")},
			claims: jwt.Claims{ID: "s1", Subject: "s1"}},
		{name: "session: matches sid only", events: []revocation.Event{denyEvent(revocation.KindSession, "x")},
			kid: "x", claims: jwt.Claims{ID: "x", Subject: "x"}},

		{name: "subject: iat before At", events: []revocation.Event{denyEvent(revocation.KindSubject, "u1")},
			claims: jwt.Claims{Subject: "u1", IssuedAt: iat(-time.Second)}, want: revocation.KindSubject},
		{name: "subject: iat equal to At", events: []revocation.Event{denyEvent(revocation.KindSubject, "u1")},
			claims: jwt.Claims{Subject: "u1", IssuedAt: iat(0)}, want: revocation.KindSubject},
		{name: "subject: iat a fraction after At", events: []revocation.Event{denyEvent(revocation.KindSubject, "u1")},
			claims: jwt.Claims{Subject: "u1", IssuedAt: iat(999 * time.Millisecond)}, want: revocation.KindSubject},
		{name: "subject: iat a second after At", events: []revocation.Event{denyEvent(revocation.KindSubject, "u1")},
			claims: jwt.Claims{Subject: "u1", IssuedAt: iat(time.Second)}},
		{name: "subject: no iat fails closed", events: []revocation.Event{denyEvent(revocation.KindSubject, "u1")},
			claims: jwt.Claims{Subject: "u1"}, want: revocation.KindSubject},
		{name: "subject: iat at the epoch", events: []revocation.Event{denyEvent(revocation.KindSubject, "u1")},
			claims: jwt.Claims{Subject: "u1", IssuedAt: time.Unix(0, 0)}, want: revocation.KindSubject},
		{name: "subject: other sub", events: []revocation.Event{denyEvent(revocation.KindSubject, "u1")},
			claims: jwt.Claims{Subject: "u2"}},
		{name: "subject: no sub", events: []revocation.Event{denyEvent(revocation.KindSubject, "u1")},
			claims: jwt.Claims{ID: "u1", SessionID: "u1"}},
		{name: "subject: later At wins", events: []revocation.Event{
			subjectEvent("u1", denyAt, denyAt.Add(time.Hour)),
			subjectEvent("u1", denyAt.Add(time.Minute), denyAt.Add(time.Hour)),
		}, claims: jwt.Claims{Subject: "u1", IssuedAt: iat(30 * time.Second)}, want: revocation.KindSubject},
		{name: "subject: older At applied later is ignored", events: []revocation.Event{
			subjectEvent("u1", denyAt.Add(time.Minute), denyAt.Add(time.Hour)),
			subjectEvent("u1", denyAt, denyAt.Add(2*time.Hour)),
		}, claims: jwt.Claims{Subject: "u1", IssuedAt: iat(30 * time.Second)}, want: revocation.KindSubject},
		{name: "subject: issued after the latest At", events: []revocation.Event{
			subjectEvent("u1", denyAt.Add(time.Minute), denyAt.Add(time.Hour)),
			subjectEvent("u1", denyAt, denyAt.Add(2*time.Hour)),
		}, claims: jwt.Claims{Subject: "u1", IssuedAt: iat(time.Minute + time.Second)}},

		{name: "key: kid matches", events: []revocation.Event{denyEvent(revocation.KindKey, "k1")},
			kid: "k1", claims: jwt.Claims{ID: "j1"}, want: revocation.KindKey},
		{name: "key: other kid", events: []revocation.Event{denyEvent(revocation.KindKey, "k1")},
			kid: "k2", claims: jwt.Claims{ID: "j1"}},
		{name: "key: no kid", events: []revocation.Event{denyEvent(revocation.KindKey, "k1")},
			claims: jwt.Claims{ID: "k1", SessionID: "k1", Subject: "k1"}},

		{name: "several kinds: token named first", events: []revocation.Event{
			denyEvent(revocation.KindKey, "k1"), denyEvent(revocation.KindSubject, "u1"),
			denyEvent(revocation.KindSession, "s1"), denyEvent(revocation.KindToken, "j1"),
		}, kid: "k1", claims: jwt.Claims{ID: "j1", SessionID: "s1", Subject: "u1"}, want: revocation.KindToken},
		{name: "several kinds: session before subject", events: []revocation.Event{
			denyEvent(revocation.KindKey, "k1"), denyEvent(revocation.KindSubject, "u1"), denyEvent(revocation.KindSession, "s1"),
		}, kid: "k1", claims: jwt.Claims{ID: "j1", SessionID: "s1", Subject: "u1"}, want: revocation.KindSession},
		{name: "several kinds: subject before key", events: []revocation.Event{
			denyEvent(revocation.KindKey, "k1"), denyEvent(revocation.KindSubject, "u1"),
		}, kid: "k1", claims: jwt.Claims{ID: "j1", SessionID: "s1", Subject: "u1"}, want: revocation.KindSubject},
		{name: "several kinds: reissued subject, revoked key", events: []revocation.Event{
			denyEvent(revocation.KindKey, "k1"), denyEvent(revocation.KindSubject, "u1"),
		}, kid: "k1", claims: jwt.Claims{Subject: "u1", IssuedAt: iat(time.Hour)}, want: revocation.KindKey},
		{name: "several kinds: none matches", events: []revocation.Event{
			denyEvent(revocation.KindKey, "k1"), denyEvent(revocation.KindSubject, "u1"),
			denyEvent(revocation.KindSession, "s1"), denyEvent(revocation.KindToken, "j1"),
		}, kid: "k2", claims: jwt.Claims{ID: "j2", SessionID: "s2", Subject: "u2"}},

		{name: "expired entry still revokes", events: []revocation.Event{{
			Seq: 1, Kind: revocation.KindSession, ID: "s1", At: denyAt, Expires: denyAt,
		}}, claims: jwt.Claims{SessionID: "s1"}, want: revocation.KindSession},
		{name: "unicode id", events: []revocation.Event{denyEvent(revocation.KindSubject, "usér@exämple")},
			claims: jwt.Claims{Subject: "usér@exämple"}, want: revocation.KindSubject},
		{name: "long id", events: []revocation.Event{denyEvent(revocation.KindToken, strings.Repeat("j", revocation.MaxIDLength))},
			claims: jwt.Claims{ID: strings.Repeat("j", revocation.MaxIDLength)}, want: revocation.KindToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := revocation.NewDenyList()
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
	var d revocation.DenyList
	if err := d.Check("k1", &jwt.Claims{ID: "j1"}); err != nil {
		t.Fatalf("Check on a zero DenyList = %v, want nil", err)
	}
	if n := d.Prune(denyAt); n != 0 {
		t.Errorf("Prune on a zero DenyList = %d, want 0", n)
	}
	if !d.Apply(denyEvent(revocation.KindToken, "j1")) {
		t.Fatal("Apply on a zero DenyList = false, want true")
	}
	if msg := checkRevokedKind(d.Check("", &jwt.Claims{ID: "j1"}), revocation.KindToken); msg != "" {
		t.Errorf("Check after Apply = %s", msg)
	}
}

func TestDenyListApply(t *testing.T) {
	later := func(e revocation.Event, at, exp time.Duration) revocation.Event {
		e.At, e.Expires = e.At.Add(at), e.Expires.Add(exp)
		return e
	}
	tooLong := strings.Repeat("x", revocation.MaxIDLength+1)
	tests := []struct {
		name    string
		before  []revocation.Event
		e       revocation.Event
		want    bool
		wantLen int
	}{
		{name: "new", e: denyEvent(revocation.KindToken, "j1"), want: true, wantLen: 1},
		{name: "again", before: []revocation.Event{denyEvent(revocation.KindToken, "j1")},
			e: denyEvent(revocation.KindToken, "j1"), want: false, wantLen: 1},
		{name: "again with another seq and reason", before: []revocation.Event{denyEvent(revocation.KindSession, "s1")},
			e:    revocation.Event{Seq: 9, Kind: revocation.KindSession, ID: "s1", At: denyAt, Expires: denyAt.Add(time.Hour), Reason: "admin"},
			want: false, wantLen: 1},
		{name: "same id, other kind", before: []revocation.Event{denyEvent(revocation.KindToken, "x")},
			e: denyEvent(revocation.KindSession, "x"), want: true, wantLen: 2},
		{name: "token: later Expires", before: []revocation.Event{denyEvent(revocation.KindToken, "j1")},
			e: later(denyEvent(revocation.KindToken, "j1"), 0, time.Minute), want: true, wantLen: 1},
		{name: "token: earlier Expires", before: []revocation.Event{denyEvent(revocation.KindToken, "j1")},
			e: later(denyEvent(revocation.KindToken, "j1"), 0, -time.Minute), want: false, wantLen: 1},
		{name: "token: another At only", before: []revocation.Event{denyEvent(revocation.KindToken, "j1")},
			e: later(denyEvent(revocation.KindToken, "j1"), time.Minute, 0), want: false, wantLen: 1},
		{name: "subject: later At", before: []revocation.Event{denyEvent(revocation.KindSubject, "u1")},
			e: later(denyEvent(revocation.KindSubject, "u1"), time.Minute, 0), want: true, wantLen: 1},
		{name: "subject: later Expires", before: []revocation.Event{denyEvent(revocation.KindSubject, "u1")},
			e: later(denyEvent(revocation.KindSubject, "u1"), 0, time.Minute), want: true, wantLen: 1},
		{name: "subject: older At, later Expires", before: []revocation.Event{denyEvent(revocation.KindSubject, "u1")},
			e: later(denyEvent(revocation.KindSubject, "u1"), -time.Minute, time.Minute), want: true, wantLen: 1},
		{name: "subject: older At and Expires", before: []revocation.Event{denyEvent(revocation.KindSubject, "u1")},
			e: later(denyEvent(revocation.KindSubject, "u1"), -time.Minute, -time.Minute), want: false, wantLen: 1},
		{name: "seq is not used", e: revocation.Event{Kind: revocation.KindKey, ID: "k1", At: denyAt, Expires: denyAt},
			want: true, wantLen: 1},
		{name: "invalid: unknown kind", e: denyEvent("user", "u1")},
		{name: "invalid: empty kind", e: denyEvent("", "u1")},
		{name: "invalid: empty id", e: denyEvent(revocation.KindToken, "")},
		{name: "invalid: id too long", e: denyEvent(revocation.KindToken, tooLong)},
		{name: "invalid: no At", e: revocation.Event{Seq: 1, Kind: revocation.KindToken, ID: "j1", Expires: denyAt}},
		{name: "invalid: no Expires", e: revocation.Event{Seq: 1, Kind: revocation.KindToken, ID: "j1", At: denyAt}},
		{name: "invalid: reason too long", e: revocation.Event{Seq: 1, Kind: revocation.KindToken, ID: "j1", At: denyAt,
			Expires: denyAt, Reason: strings.Repeat("r", 65)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := revocation.NewDenyList()
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
	newer := subjectEvent("u1", denyAt.Add(time.Minute), denyAt.Add(time.Hour))
	older := subjectEvent("u1", denyAt, denyAt.Add(2*time.Hour))
	for _, tt := range []struct {
		name  string
		order []revocation.Event
	}{
		{"newer first", []revocation.Event{newer, older}},
		{"older first", []revocation.Event{older, newer}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := revocation.NewDenyList()
			for _, e := range tt.order {
				d.Apply(e)
			}
			between := &jwt.Claims{Subject: "u1", IssuedAt: denyAt.Add(time.Minute)}
			if msg := checkRevokedKind(d.Check("", between), revocation.KindSubject); msg != "" {
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
	d := revocation.NewDenyList()
	d.Apply(denyEvent(revocation.KindSession, string(buf)))
	copy(buf, "XXXXXXXXX")
	if msg := checkRevokedKind(d.Check("", &jwt.Claims{SessionID: "session-1"}), revocation.KindSession); msg != "" {
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
	kinds := []revocation.Kind{revocation.KindToken, revocation.KindSession, revocation.KindSubject, revocation.KindKey}
	id := func(k revocation.Kind, exp int64) string { return fmt.Sprintf("%s-%d", k, exp-T) }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := revocation.NewDenyList()
			for _, exp := range []int64{T - 1, T, T + 1} {
				for _, k := range kinds {
					d.Apply(revocation.Event{Seq: 1, Kind: k, ID: id(k, exp), At: denyAt, Expires: time.Unix(exp, 0)})
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
					case revocation.KindToken:
						c.ID = id(k, exp)
					case revocation.KindSession:
						c.SessionID = id(k, exp)
					case revocation.KindSubject:
						c.Subject = id(k, exp)
					case revocation.KindKey:
						kid = id(k, exp)
					}
					want := revocation.Kind("")
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
	d := revocation.NewDenyList()
	d.Apply(revocation.Event{Seq: 1, Kind: revocation.KindToken, ID: "j1", At: denyAt, Expires: exp})
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
		events []revocation.Event
		want   int
	}{
		{name: "empty", want: 0},
		{name: "one of each kind", events: []revocation.Event{
			denyEvent(revocation.KindToken, "a"), denyEvent(revocation.KindSession, "b"),
			denyEvent(revocation.KindSubject, "c"), denyEvent(revocation.KindKey, "d"),
		}, want: 4},
		{name: "one id in every kind", events: []revocation.Event{
			denyEvent(revocation.KindToken, "a"), denyEvent(revocation.KindSession, "a"),
			denyEvent(revocation.KindSubject, "a"), denyEvent(revocation.KindKey, "a"),
		}, want: 4},
		{name: "repeated events", events: []revocation.Event{
			denyEvent(revocation.KindToken, "a"), denyEvent(revocation.KindToken, "a"),
			subjectEvent("u", denyAt, denyAt.Add(time.Hour)), subjectEvent("u", denyAt.Add(time.Second), denyAt.Add(time.Hour)),
		}, want: 2},
		{name: "invalid events", events: []revocation.Event{denyEvent("user", "a"), denyEvent(revocation.KindToken, "")}, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := revocation.NewDenyList()
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
	kinds := []revocation.Kind{revocation.KindToken, revocation.KindSession, revocation.KindSubject, revocation.KindKey}
	claimsFor := func(k revocation.Kind, id string) (string, *jwt.Claims) {
		switch k {
		case revocation.KindToken:
			return "", &jwt.Claims{ID: id}
		case revocation.KindSession:
			return "", &jwt.Claims{SessionID: id}
		case revocation.KindSubject:
			return "", &jwt.Claims{Subject: id}
		}
		return id, &jwt.Claims{}
	}
	d := revocation.NewDenyList()
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

// TestDenyListCheckAllocs holds Check to its budget of no allocation, on a
// list of 100,000 entries, for a token that is not revoked and for one
// revoked by each kind (STYLE.md rule 9).
func TestDenyListCheckAllocs(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a list of 100,000 entries")
	}
	m := denyMixOnce()
	tests := []struct {
		name   string
		kid    string
		claims *jwt.Claims
		want   revocation.Kind
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
			if msg := checkRevokedKind(m.list.Check(tt.kid, tt.claims), tt.want); msg != "" {
				t.Fatalf("Check = %s", msg)
			}
			got := testing.AllocsPerRun(1000, func() { m.list.Check(tt.kid, tt.claims) })
			if got != 0 {
				t.Errorf("Check allocates %v times, want 0", got)
			}
		})
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
	kinds := []revocation.Kind{revocation.KindToken, revocation.KindSession, revocation.KindSubject, revocation.KindKey}
	d := revocation.NewDenyList()
	d.Apply(denyEvent(revocation.KindSession, "always"))
	always := &jwt.Claims{ID: "j", SessionID: "always", Subject: "u", IssuedAt: denyAt}
	never := &jwt.Claims{ID: "never", SessionID: "never", Subject: "never", IssuedAt: denyAt}

	// live reports whether writer w's i-th event outlives now: half do,
	// half expired before it.
	live := func(i int) bool { return i%2 == 0 }
	event := func(w, i int) revocation.Event {
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
				if msg := checkRevokedKind(d.Check("never", always), revocation.KindSession); msg != "" {
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
			case revocation.KindToken:
				c.ID = e.ID
			case revocation.KindSession:
				c.SessionID = e.ID
			case revocation.KindSubject:
				c.Subject, c.IssuedAt = e.ID, denyAt
			case revocation.KindKey:
				kid = e.ID
			}
			want := revocation.Kind("")
			if live(i / len(kinds)) {
				want = e.Kind
			}
			if msg := checkRevokedKind(d.Check(kid, &c), want); msg != "" {
				t.Errorf("Check of %s %s = %s", e.Kind, e.ID, msg)
			}
		}
	}
}
