package session

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/sqlite"
	"github.com/latch-auth/latch/internal/testclock"
)

// clock is the shared settable test clock.
type clock = testclock.Clock

type fixture struct {
	db  *sqlite.DB
	m   *Manager
	clk *clock
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "latch.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := t.Context()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	if err := db.CreateUser(ctx, store.User{ID: "u1", Email: "a@example.com", PasswordHash: "x", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUser(ctx, store.User{ID: "u2", Email: "b@example.com", PasswordHash: "x", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	clk := testclock.New(now)
	m, err := New(db, bytes.Repeat([]byte{7}, SecretSize), Config{IdleTimeout: time.Hour, Lifetime: 24 * time.Hour, Grace: 5 * time.Second, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{db: db, m: m, clk: clk}
}

func (f fixture) start(t *testing.T, user string) (store.Session, string) {
	t.Helper()
	s, tok, err := f.m.Start(t.Context(), user, Client{UserAgent: "test", IP: "192.0.2.1"})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return s, tok
}

func TestRotateChain(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	s0, t0 := f.start(t, "u1")
	if len(t0) != EncodedLen {
		t.Fatalf("token length = %d, want %d", len(t0), EncodedLen)
	}
	s1, t1, err := f.m.Rotate(ctx, t0)
	if err != nil {
		t.Fatalf("Rotate(t0): %v", err)
	}
	if s1.ID != s0.ID || s1.Generation != 1 || t1 == t0 {
		t.Fatalf("Rotate(t0) = session %s gen %d, token changed %v; want %s gen 1, changed", s1.ID, s1.Generation, t1 != t0, s0.ID)
	}
	f.clk.Advance(time.Minute)
	s2, t2, err := f.m.Rotate(ctx, t1)
	if err != nil || s2.Generation != 2 || t2 == t1 {
		t.Fatalf("Rotate(t1) = gen %d, %v; want gen 2", s2.Generation, err)
	}
}

func TestGraceWindowReturnsSameSuccessor(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	_, t0 := f.start(t, "u1")
	_, t1, err := f.m.Rotate(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(4 * time.Second)
	s, again, err := f.m.Rotate(ctx, t0)
	if err != nil {
		t.Fatalf("Rotate(t0) within grace: %v", err)
	}
	if again != t1 || s.Generation != 1 {
		t.Fatalf("Rotate(t0) within grace = gen %d, same successor %v; want gen 1, same", s.Generation, again == t1)
	}
	// The successor handed out twice still works once.
	if _, _, err := f.m.Rotate(ctx, t1); err != nil {
		t.Fatalf("Rotate(t1): %v", err)
	}
}

func TestReuseRevokesFamily(t *testing.T) {
	tests := []struct {
		name  string
		steps int           // rotations before the reuse
		wait  time.Duration // time between last rotation and the reuse
		reuse int           // which token generation is presented again
	}{
		{name: "predecessor once its successor was used", steps: 2, wait: time.Second, reuse: 0},
		{name: "predecessor once its successor was used, after grace", steps: 2, wait: time.Minute, reuse: 0},
		{name: "two generations back after grace", steps: 3, wait: time.Minute, reuse: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := t.Context()
			s, tok := f.start(t, "u1")
			toks := []string{tok}
			for range tt.steps {
				_, next, err := f.m.Rotate(ctx, toks[len(toks)-1])
				if err != nil {
					t.Fatal(err)
				}
				toks = append(toks, next)
			}
			f.clk.Advance(tt.wait)
			if _, _, err := f.m.Rotate(ctx, toks[tt.reuse]); !errors.Is(err, ErrReuse) {
				t.Fatalf("Rotate(generation %d) error = %v, want ErrReuse", tt.reuse, err)
			}
			got, err := f.db.SessionByID(ctx, s.ID)
			if err != nil || got.RevokedAt.IsZero() || got.RevokeReason != store.ReasonReuse {
				t.Fatalf("session after reuse = revoked %v reason %q, %v; want revoked for reuse", got.RevokedAt, got.RevokeReason, err)
			}
			// The legitimate holder of the newest token is logged out too.
			if _, _, err := f.m.Rotate(ctx, toks[len(toks)-1]); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("Rotate(newest) after reuse error = %v, want ErrInvalidToken", err)
			}
			revs, err := f.db.RevocationsSince(ctx, 0, 10)
			if err != nil || len(revs) != 1 || revs[0].Kind != store.KindSession || revs[0].Subject != s.ID || revs[0].Reason != store.ReasonReuse {
				t.Errorf("revocations = %+v, %v; want one session revocation for reuse", revs, err)
			}
		})
	}
}

func TestRotateRejects(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	_, tok := f.start(t, "u1")
	other, err := New(f.db, bytes.Repeat([]byte{8}, SecretSize), Config{Now: f.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	_, foreign, err := other.Start(ctx, "u2", Client{})
	if err != nil {
		t.Fatal(err)
	}
	flipped := []byte(tok)
	flipped[30] ^= 1
	if flipped[30] == '-' || flipped[30] == '_' {
		flipped[30] = 'A'
	}
	tests := []struct {
		name string
		tok  string
	}{
		{name: "empty", tok: ""},
		{name: "garbage", tok: "not a token"},
		{name: "right length, not base64", tok: string(bytes.Repeat([]byte{'!'}, EncodedLen))},
		{name: "bit flipped", tok: string(flipped)},
		{name: "other server's secret", tok: foreign},
		{name: "truncated", tok: tok[:len(tok)-1]},
		{name: "padded", tok: tok + "="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := f.m.Rotate(ctx, tt.tok); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("Rotate(%s) error = %v, want ErrInvalidToken", tt.name, err)
			}
		})
	}
	// None of that touched the real session.
	if _, _, err := f.m.Rotate(ctx, tok); err != nil {
		t.Errorf("Rotate(real token) after forgeries: %v", err)
	}
}

func TestExpiry(t *testing.T) {
	tests := []struct {
		name    string
		advance []time.Duration // rotations happen after each step
	}{
		{name: "idle timeout", advance: []time.Duration{61 * time.Minute}},
		{name: "absolute lifetime despite activity", advance: []time.Duration{50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute, 50 * time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := t.Context()
			_, tok := f.start(t, "u1")
			var err error
			for i, d := range tt.advance {
				f.clk.Advance(d)
				var next string
				_, next, err = f.m.Rotate(ctx, tok)
				if err != nil {
					if i != len(tt.advance)-1 {
						t.Fatalf("Rotate after step %d: %v", i, err)
					}
					break
				}
				tok = next
			}
			if !errors.Is(err, ErrInvalidToken) {
				t.Errorf("last Rotate error = %v, want ErrInvalidToken", err)
			}
		})
	}
}

// TestConcurrentRotation is the multi-tab case: 50 goroutines present the
// same refresh token at once. Every one gets the same successor (or a clean
// error), and exactly one rotation happens.
func TestConcurrentRotation(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	s, tok := f.start(t, "u1")
	const n = 50
	var wg sync.WaitGroup
	results := make([]string, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, results[i], errs[i] = f.m.Rotate(ctx, tok)
		})
	}
	close(start)
	wg.Wait()
	var ok int
	successor := ""
	for i := range n {
		if errs[i] != nil {
			if !errors.Is(errs[i], ErrInvalidToken) && !errors.Is(errs[i], context.DeadlineExceeded) {
				t.Errorf("goroutine %d: unexpected error %v", i, errs[i])
			}
			continue
		}
		ok++
		if successor == "" {
			successor = results[i]
		}
		if results[i] != successor {
			t.Errorf("goroutine %d got a different successor", i)
		}
	}
	if ok == 0 {
		t.Fatal("no goroutine got a successor")
	}
	got, err := f.db.SessionByID(ctx, s.ID)
	if err != nil || got.Generation != 1 || !got.RevokedAt.IsZero() {
		t.Fatalf("session after concurrent rotation = gen %d revoked %v, %v; want gen 1, active", got.Generation, got.RevokedAt, err)
	}
	if _, _, err := f.m.Rotate(ctx, successor); err != nil {
		t.Errorf("Rotate(successor): %v", err)
	}
}

// TestConcurrentReuseRace: while the legitimate client rotates, an attacker
// replays the old token after the grace window; afterwards the session is
// revoked exactly once, however the two interleave. Either side may be the
// one found out: the attacker if the client's rotation came first, the
// client if the attacker's replay replaced its unused token.
func TestConcurrentReuseRace(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	s, t0 := f.start(t, "u1")
	_, t1, err := f.m.Rotate(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(10 * time.Second)
	var reuse atomic.Int32
	var wg sync.WaitGroup
	for range 20 {
		for _, tok := range []string{t0, t1} {
			wg.Go(func() {
				if _, _, err := f.m.Rotate(ctx, tok); errors.Is(err, ErrReuse) {
					reuse.Add(1)
				}
			})
		}
	}
	wg.Wait()
	if reuse.Load() != 1 {
		t.Errorf("reuse detections = %d, want 1", reuse.Load())
	}
	if got, err := f.db.SessionByID(ctx, s.ID); err != nil || got.RevokeReason != store.ReasonReuse {
		t.Errorf("session after the race = revoked %v reason %q, %v; want revoked for reuse", got.RevokedAt, got.RevokeReason, err)
	}
	revs, err := f.db.RevocationsSince(ctx, 0, 100)
	if err != nil || len(revs) != 1 || revs[0].Subject != s.ID {
		t.Errorf("revocations = %+v, %v; want exactly one for %s", revs, err, s.ID)
	}
}

func TestEndAndList(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	a, _ := f.start(t, "u1")
	f.clk.Advance(time.Second)
	b, tb := f.start(t, "u1")
	f.clk.Advance(time.Second)
	c, _ := f.start(t, "u1")
	other, _ := f.start(t, "u2")

	if err := f.m.End(ctx, other.ID, "u1", store.ReasonLogout); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("End(another user's session) error = %v, want ErrNotFound", err)
	}
	if _, err := f.m.Active(ctx, other.ID); err != nil {
		t.Errorf("other user's session ended by a stranger: %v", err)
	}
	if err := f.m.End(ctx, a.ID, "u1", store.ReasonLogout); err != nil {
		t.Fatal(err)
	}
	if err := f.m.End(ctx, a.ID, "u1", store.ReasonLogout); err != nil {
		t.Errorf("End(ended session) error = %v, want nil", err)
	}
	if _, err := f.m.Active(ctx, a.ID); !errors.Is(err, ErrEnded) {
		t.Errorf("Active(ended) error = %v, want ErrEnded", err)
	}
	list, err := f.m.List(ctx, "u1")
	if err != nil || len(list) != 2 || list[0].ID != c.ID || list[1].ID != b.ID {
		t.Fatalf("List = %v, %v; want [%s %s]", ids(list), err, c.ID, b.ID)
	}
	n, err := f.m.EndAll(ctx, "u1", b.ID, store.ReasonLogout)
	if err != nil || n != 1 {
		t.Fatalf("EndAll(keep b) = %d, %v; want 1", n, err)
	}
	if s, err := f.m.Lookup(ctx, tb); err != nil || s.ID != b.ID {
		t.Errorf("Lookup(b's token) = %s, %v; want %s", s.ID, err, b.ID)
	}
	n, err = f.m.EndAll(ctx, "u1", "", store.ReasonPasswordChange)
	if err != nil || n != 1 {
		t.Fatalf("EndAll() = %d, %v; want 1", n, err)
	}
	if _, _, err := f.m.Rotate(ctx, tb); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Rotate after EndAll error = %v, want ErrInvalidToken", err)
	}
	if _, err := f.m.Active(ctx, other.ID); err != nil {
		t.Errorf("EndAll(u1) ended u2's session: %v", err)
	}
}

func TestEndAll(t *testing.T) {
	for _, tc := range []struct {
		name        string
		keep        bool // keep the second session
		wantEnded   int
		wantSubject bool // a subject revocation of u1 at now
	}{
		{"every session", false, 2, true},
		{"other sessions", true, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := t.Context()
			a, _ := f.start(t, "u1")
			f.clk.Advance(time.Second)
			b, tb := f.start(t, "u1")
			other, _ := f.start(t, "u2")
			f.clk.Advance(time.Minute)
			now := f.clk.Now()
			keep := ""
			if tc.keep {
				keep = b.ID
			}

			n, err := f.m.EndAll(ctx, "u1", keep, store.ReasonPasswordChange)
			if err != nil || n != tc.wantEnded {
				t.Fatalf("EndAll(u1, keep %q) = %d, %v, want %d, nil", keep, n, err, tc.wantEnded)
			}
			if _, err := f.m.Active(ctx, a.ID); !errors.Is(err, ErrEnded) {
				t.Errorf("Active(a) after EndAll(u1, keep %q) = %v, want %v", keep, err, ErrEnded)
			}
			if _, err := f.m.Lookup(ctx, tb); (err == nil) != tc.keep {
				t.Errorf("Lookup(b's token) after EndAll(u1, keep %q) = %v, want valid %v", keep, err, tc.keep)
			}
			if _, err := f.m.Active(ctx, other.ID); err != nil {
				t.Errorf("Active(u2's session) after EndAll(u1, keep %q) = %v, want nil", keep, err)
			}

			// Without keep, the user's access tokens are revoked too.
			u, err := f.db.UserByID(ctx, "u1")
			wantRevokedAt := time.Time{}
			if tc.wantSubject {
				wantRevokedAt = now
			}
			if err != nil || !u.TokensRevokedAt.Equal(wantRevokedAt) {
				t.Errorf("UserByID(u1) after EndAll(u1, keep %q) = TokensRevokedAt %v, %v, want %v, nil", keep, u.TokensRevokedAt, err, wantRevokedAt)
			}
			revs, err := f.db.RevocationsSince(ctx, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			var subjects []store.Revocation
			for _, r := range revs {
				if r.Kind == store.KindSubject {
					subjects = append(subjects, r)
				}
			}
			switch {
			case !tc.wantSubject && len(subjects) != 0:
				t.Errorf("subject revocations after EndAll(u1, keep %q) = %+v, want none", keep, subjects)
			case tc.wantSubject && (len(subjects) != 1 || subjects[0].Subject != "u1" || subjects[0].Reason != store.ReasonPasswordChange || !subjects[0].At.Equal(now)):
				t.Errorf("subject revocations after EndAll(u1, keep %q) = %+v, want one of u1 for %s at %v", keep, subjects, store.ReasonPasswordChange, now)
			}
		})
	}
}

func TestEndAllUnknownUser(t *testing.T) {
	f := newFixture(t)
	n, err := f.m.EndAll(t.Context(), "nobody", "", store.ReasonAdmin)
	if !errors.Is(err, store.ErrNotFound) || n != 0 {
		t.Errorf("EndAll(nobody) = %d, %v, want 0, %v", n, err, store.ErrNotFound)
	}
}

func ids(list []store.Session) []string {
	var out []string
	for _, s := range list {
		out = append(out, s.ID)
	}
	return out
}

func TestNewRefusesBadSecret(t *testing.T) {
	for _, n := range []int{0, 16, 31, 33} {
		if _, err := New(nil, make([]byte, n), Config{}); err == nil {
			t.Errorf("New(secret of %d bytes) succeeded, want error", n)
		}
	}
}

// TestLookupGrace checks which tokens Lookup accepts: the current one
// always, its predecessor while the current one is unused (Rotate would
// redeem it), older ones never.
func TestLookupGrace(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	s, t0 := f.start(t, "u1")
	_, t1, err := f.m.Rotate(ctx, t0)
	if err != nil {
		t.Fatal(err)
	}
	_, t2, err := f.m.Rotate(ctx, t1)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		tok   string
		after time.Duration // clock advance before the lookup, cumulative
		want  bool
	}{
		{"current", t2, 0, true},
		{"just rotated, within grace", t1, 0, true},
		{"two generations back", t0, 0, false},
		{"just rotated, past grace", t1, 6 * time.Second, true},
		{"current, past grace", t2, 0, true},
		{"just rotated, a day later", t1, 24 * time.Hour, false}, // the session has expired
	}
	for _, tt := range tests {
		f.clk.Advance(tt.after)
		got, err := f.m.Lookup(ctx, tt.tok)
		if tt.want && (err != nil || got.ID != s.ID) {
			t.Errorf("%s: Lookup = %s, %v; want session %s", tt.name, got.ID, err, s.ID)
		}
		if !tt.want && !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: Lookup = %v, want %v", tt.name, err, ErrInvalidToken)
		}
	}
}

// TestAuthenticate checks how Authenticate judges a refresh token without
// rotating it: the current token and the redeemable predecessor identify
// the session (current tells them apart) and change nothing; a token
// Rotate would take for a reuse revokes the session as Rotate would;
// forged, unknown and other clients' tokens are refused and change
// nothing.
func TestAuthenticate(t *testing.T) {
	ctx := t.Context()
	tests := []struct {
		name string
		// present starts a session of u1 in a fresh fixture and
		// returns its ID and the token to authenticate.
		present     func(t *testing.T, f fixture) (string, string)
		clientID    string
		wantCurrent bool
		wantErr     error // nil: the session, unchanged
		wantRevoked bool
	}{
		{name: "current token", wantCurrent: true, present: func(t *testing.T, f fixture) (string, string) {
			s, t0 := f.start(t, "u1")
			return s.ID, t0
		}},
		{name: "rotated, successor unused", present: func(t *testing.T, f fixture) (string, string) {
			s, t0 := f.start(t, "u1")
			if _, _, err := f.m.Rotate(ctx, t0); err != nil {
				t.Fatal(err)
			}
			f.clk.Advance(time.Minute) // past the grace window too
			return s.ID, t0
		}},
		{name: "rotated, successor used", wantErr: ErrReuse, wantRevoked: true, present: func(t *testing.T, f fixture) (string, string) {
			s, t0 := f.start(t, "u1")
			_, t1, err := f.m.Rotate(ctx, t0)
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := f.m.Rotate(ctx, t1); err != nil {
				t.Fatal(err)
			}
			return s.ID, t0
		}},
		{name: "successor replaced by a reissue", wantErr: ErrReuse, wantRevoked: true, present: func(t *testing.T, f fixture) (string, string) {
			s, t0 := f.start(t, "u1")
			_, t1, err := f.m.Rotate(ctx, t0)
			if err != nil {
				t.Fatal(err)
			}
			f.clk.Advance(time.Minute)
			if _, _, err := f.m.Rotate(ctx, t0); err != nil {
				t.Fatal(err)
			}
			return s.ID, t1
		}},
		{name: "another client's session", clientID: "c_other", wantErr: ErrInvalidToken, present: func(t *testing.T, f fixture) (string, string) {
			s, t0 := f.start(t, "u1")
			return s.ID, t0
		}},
		{name: "forged", wantErr: ErrInvalidToken, present: func(t *testing.T, f fixture) (string, string) {
			s, t0 := f.start(t, "u1")
			b := []byte(t0)
			if i := len(b) - 5; b[i] == 'A' { // a character of the tag
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			return s.ID, string(b)
		}},
		{name: "ended session", wantErr: ErrInvalidToken, present: func(t *testing.T, f fixture) (string, string) {
			s, t0 := f.start(t, "u1")
			if err := f.m.End(ctx, s.ID, "", store.ReasonLogout); err != nil {
				t.Fatal(err)
			}
			return s.ID, t0
		}},
		{name: "expired session", wantErr: ErrInvalidToken, present: func(t *testing.T, f fixture) (string, string) {
			s, t0 := f.start(t, "u1")
			f.clk.Advance(2 * time.Hour) // past the idle timeout
			return s.ID, t0
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			id, tok := tt.present(t, f)
			before, err := f.db.SessionByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			got, current, err := f.m.Authenticate(ctx, tok, tt.clientID)
			if tt.wantErr == nil && (err != nil || got.ID != before.ID || current != tt.wantCurrent) {
				t.Errorf("Authenticate = %s, current %v, %v; want %s, current %v, nil", got.ID, current, err, before.ID, tt.wantCurrent)
			}
			if tt.wantErr != nil && (!errors.Is(err, tt.wantErr) || got.ID != "" || current) {
				t.Errorf("Authenticate = %s, current %v, %v; want zero, %v", got.ID, current, err, tt.wantErr)
			}
			after, err := f.db.SessionByID(ctx, before.ID)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.wantRevoked && after.RevokeReason != store.ReasonReuse:
				t.Errorf("after Authenticate: session revoked %v (%q), want revoked for reuse", after.RevokedAt, after.RevokeReason)
			case !tt.wantRevoked && (after.Generation != before.Generation || !bytes.Equal(after.TokenHash, before.TokenHash) ||
				!after.RevokedAt.Equal(before.RevokedAt) || after.Reissues != before.Reissues):
				t.Errorf("after Authenticate: session %+v, want it unchanged from %+v", after, before)
			}
		})
	}
}

// TestLostAnswer is a client whose refresh answer never arrived (the
// server committed the rotation, then crashed or the network dropped it)
// and that presents the same token again, however late: its session
// survives. Within the grace window it gets the successor it lost; after
// it, a new successor that replaces the lost one.
func TestLostAnswer(t *testing.T) {
	for _, tc := range []struct {
		name     string
		wait     time.Duration // from the lost answer to the retry
		wantSame bool          // the retry gets the lost successor
	}{
		{"retry within grace", 4 * time.Second, true},
		{"retry after grace", 6 * time.Second, false},
		{"retry much later", 50 * time.Minute, false}, // within the idle timeout
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := t.Context()
			s, t0 := f.start(t, "u1")
			_, lost, err := f.m.Rotate(ctx, t0)
			if err != nil {
				t.Fatalf("Rotate(t0) = %v, want nil", err)
			}
			f.clk.Advance(tc.wait)
			got, t1, err := f.m.Rotate(ctx, t0)
			if err != nil {
				t.Fatalf("Rotate(t0) again %v after its answer was lost = %v, want nil", tc.wait, err)
			}
			if got.ID != s.ID || got.Generation != 1 || !got.RevokedAt.IsZero() {
				t.Errorf("Rotate(t0) again = session %s generation %d revoked %v, want %s generation 1, active", got.ID, got.Generation, got.RevokedAt, s.ID)
			}
			if (t1 == lost) != tc.wantSame {
				t.Errorf("Rotate(t0) again returned the lost successor: %v, want %v", t1 == lost, tc.wantSame)
			}
			// A second retry, at once: the same token as the first.
			if _, again, err := f.m.Rotate(ctx, t0); err != nil || again != t1 {
				t.Errorf("Rotate(t0) a third time at once = same token %v, %v, want the same, nil", again == t1, err)
			}
			f.clk.Advance(time.Minute)
			s2, t2, err := f.m.Rotate(ctx, t1)
			if err != nil || s2.Generation != 2 {
				t.Fatalf("Rotate(the retry's successor) = generation %d, %v, want 2, nil", s2.Generation, err)
			}
			if _, _, err := f.m.Rotate(ctx, t2); err != nil {
				t.Errorf("Rotate(t2) = %v, want nil", err)
			}
			if revs, err := f.db.RevocationsSince(ctx, 0, 10); err != nil || len(revs) != 0 {
				t.Errorf("revocations = %+v, %v, want none", revs, err)
			}
		})
	}
}

// TestReissueExposesTheOtherHolder: after the grace window, presenting a
// predecessor whose successor is unused cannot tell a client that lost its
// answer from a thief who copied the predecessor, so both get a new
// successor that replaces the old one. Whoever holds the replaced token
// is found out when they present it: the session is revoked, as for any
// reuse. Reuse detection thus still ends every stolen family, one refresh
// later at worst.
func TestReissueExposesTheOtherHolder(t *testing.T) {
	for _, tc := range []struct {
		name         string
		thiefRotates bool // the thief uses its token before the victim uses theirs
	}{
		{"victim presents the replaced token", false},
		{"thief rotates first, then the victim presents", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := t.Context()
			s, t0 := f.start(t, "u1")
			_, victim, err := f.m.Rotate(ctx, t0) // the victim's refresh
			if err != nil {
				t.Fatal(err)
			}
			f.clk.Advance(time.Minute)
			_, thief, err := f.m.Rotate(ctx, t0) // a copy of t0, presented later
			if err != nil {
				t.Fatalf("Rotate(copy of t0) after grace with the successor unused = %v, want nil", err)
			}
			if thief == victim {
				t.Fatalf("Rotate(copy of t0) returned the victim's successor, want a new one")
			}
			if tc.thiefRotates {
				f.clk.Advance(time.Minute)
				if _, thief, err = f.m.Rotate(ctx, thief); err != nil {
					t.Fatalf("Rotate(thief's token) = %v, want nil", err)
				}
			}
			f.clk.Advance(time.Minute)
			if _, _, err := f.m.Rotate(ctx, victim); !errors.Is(err, ErrReuse) {
				t.Fatalf("Rotate(the replaced successor) = %v, want ErrReuse", err)
			}
			got, err := f.db.SessionByID(ctx, s.ID)
			if err != nil || got.RevokedAt.IsZero() || got.RevokeReason != store.ReasonReuse {
				t.Errorf("session after reuse = revoked %v reason %q, %v; want revoked for reuse", got.RevokedAt, got.RevokeReason, err)
			}
			if _, _, err := f.m.Rotate(ctx, thief); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("Rotate(thief's token) after reuse = %v, want ErrInvalidToken", err)
			}
			revs, err := f.db.RevocationsSince(ctx, 0, 10)
			if err != nil || len(revs) != 1 || revs[0].Kind != store.KindSession || revs[0].Subject != s.ID || revs[0].Reason != store.ReasonReuse {
				t.Errorf("revocations = %+v, %v; want one session revocation for reuse", revs, err)
			}
		})
	}
}

// TestConcurrentRetryAfterLostAnswer is many tabs retrying at once, after
// the grace window, the token whose answer was lost: one new successor,
// the same for all, and the session stays.
func TestConcurrentRetryAfterLostAnswer(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	s, t0 := f.start(t, "u1")
	if _, _, err := f.m.Rotate(ctx, t0); err != nil {
		t.Fatal(err)
	}
	f.clk.Advance(time.Minute)
	const n = 50
	var wg sync.WaitGroup
	results := make([]string, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			_, results[i], errs[i] = f.m.Rotate(ctx, t0)
		})
	}
	close(start)
	wg.Wait()
	var successor string
	for i := range n {
		if errs[i] != nil {
			t.Errorf("goroutine %d: Rotate(t0) = %v, want nil", i, errs[i])
			continue
		}
		if successor == "" {
			successor = results[i]
		}
		if results[i] != successor {
			t.Errorf("goroutine %d got a different successor", i)
		}
	}
	got, err := f.db.SessionByID(ctx, s.ID)
	if err != nil || got.Generation != 1 || got.Reissues != 1 || !got.RevokedAt.IsZero() {
		t.Fatalf("session after concurrent retries = generation %d, reissues %d, revoked %v, %v; want 1, 1, active", got.Generation, got.Reissues, got.RevokedAt, err)
	}
	if _, _, err := f.m.Rotate(ctx, successor); err != nil {
		t.Errorf("Rotate(successor) = %v, want nil", err)
	}
}

// TestStartCleansClientText: what a client sends as its User-Agent is
// stored as valid UTF-8 without control characters, within its limit.
func TestStartCleansClientText(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct{ ua, want string }{
		{"Mozilla/5.0 (X11)", "Mozilla/5.0 (X11)"},
		{"a\x00b\xffc\x1b[31md\u0085e", "abc[31mde"},
		{strings.Repeat("é", 200), strings.Repeat("é", 128)},
	} {
		s, _, err := f.m.Start(t.Context(), "u1", Client{UserAgent: tt.ua, IP: "192.0.2.1\x00"})
		if err != nil {
			t.Fatalf("Start(%q): %v", tt.ua, err)
		}
		got, err := f.db.SessionByID(t.Context(), s.ID)
		if err != nil || got.UserAgent != tt.want || got.IP != "192.0.2.1" {
			t.Errorf("Start(user agent %q) stored %q, IP %q (%v); want %q, 192.0.2.1", tt.ua, got.UserAgent, got.IP, err, tt.want)
		}
	}
}
