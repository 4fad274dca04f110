package session

import (
	"errors"
	"slices"
	"testing"
	"time"
)

func TestStartGrant(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	auth := f.clk.Now().Add(-time.Hour)
	s, _, err := f.m.StartGrant(ctx, "u1", Client{}, Grant{ClientID: "c_web", ParentID: "browser", Scopes: []string{"openid"}, AuthTime: auth})
	if err != nil {
		t.Fatalf("StartGrant = %v, want nil", err)
	}
	got, err := f.db.SessionByID(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.ClientID != "c_web" || got.ParentID != "browser" || !slices.Equal(got.Scopes, []string{"openid"}) || !got.AuthTime.Equal(auth) {
		t.Errorf("stored session = client %q, parent %q, scopes %q, auth time %v; want c_web, browser, [openid], %v",
			got.ClientID, got.ParentID, got.Scopes, got.AuthTime, auth)
	}
	v1, _ := f.start(t, "u1")
	if v1.ClientID != "" || !v1.AuthTime.Equal(f.clk.Now()) {
		t.Errorf("Start = client %q, auth time %v; want none, now (%v)", v1.ClientID, v1.AuthTime, f.clk.Now())
	}
}

func TestRotateFor(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	s, tok, err := f.m.StartGrant(ctx, "u1", Client{}, Grant{ClientID: "c_web"})
	if err != nil {
		t.Fatal(err)
	}
	for _, other := range []string{"", "c_other"} {
		if _, _, err := f.m.RotateFor(ctx, tok, other); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("RotateFor(token of c_web, %q) = %v, want ErrInvalidToken", other, err)
		}
	}
	got, _ := f.db.SessionByID(ctx, s.ID)
	if got.Generation != 0 || !got.RevokedAt.IsZero() {
		t.Errorf("session after refusals = generation %d, revoked %v; want untouched", got.Generation, got.RevokedAt)
	}
	if _, _, err := f.m.RotateFor(ctx, tok, "c_web"); err != nil {
		t.Errorf("RotateFor(token of c_web, c_web) = %v, want nil", err)
	}
}
