package oauth_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/latch-auth/latch/internal/client"
	"github.com/latch-auth/latch/internal/issuer"
	"github.com/latch-auth/latch/internal/session"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/jwt"
)

// setClaims gives the user u custom claims.
func (f *fixture) setClaims(u store.User, claims map[string]json.RawMessage) store.User {
	f.t.Helper()
	u, err := f.db.UpdateUser(f.t.Context(), u.ID, func(old store.User) (store.User, error) {
		old.Claims = claims
		return old, nil
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return u
}

// custom decodes the claims of c beyond the typed ones.
func custom(t *testing.T, c jwt.Claims) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := c.Decode(&m); err != nil {
		t.Fatal(err)
	}
	return m
}

var customClaims = map[string]json.RawMessage{
	"dept":   json.RawMessage(`"sales"`),
	"limits": json.RawMessage(`{"daily":5000}`),
}

// TestCustomClaimsByGrant: a user's custom claims are in every access
// token issued for the user (a code exchange, a refresh, a /v1 login and
// refresh), in ID tokens and UserInfo with the scope profile only, and
// never in a client's own token; a change reaches the next refresh.
func TestCustomClaimsByGrant(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	alice := f.setClaims(f.addUser("alice@example.com", "admin"), customClaims)
	web := f.webClient("web")
	browser, _ := f.browser(alice)

	for _, tc := range []struct {
		scope      string
		wantInID   bool
		wantInInfo bool
	}{
		{"openid profile email", true, true},
		{"openid email", false, false},
	} {
		t.Run(tc.scope, func(t *testing.T) {
			_, code := f.authorize(web, alice, browser, tc.scope)
			tok, err := f.exchange(web, code)
			if err != nil {
				t.Fatal(err)
			}
			access := f.accessClaims(tok.AccessToken)
			if m := custom(t, access); string(m["dept"]) != `"sales"` || string(m["limits"]) != `{"daily":5000}` {
				t.Errorf("access token of the code exchange = %v, want the custom claims", m)
			}
			m := custom(t, f.idClaims(web, tok.IDToken))
			if got := m["dept"] != nil; got != tc.wantInID {
				t.Errorf("ID token for scope %q has the custom claims: %v, want %v", tc.scope, got, tc.wantInID)
			}
			info, err := f.p.UserInfo(ctx, access)
			if err != nil {
				t.Fatal(err)
			}
			if _, got := info["dept"]; got != tc.wantInInfo {
				t.Errorf("UserInfo for scope %q = %v, custom claims present %v, want %v", tc.scope, info, got, tc.wantInInfo)
			}
			// Every name UserInfo writes itself is reserved.
			for name := range info {
				if _, isCustom := customClaims[name]; !isCustom && !issuer.IsReservedClaim(name) {
					t.Errorf("UserInfo claim %q is not reserved: a custom claim could take its name", name)
				}
			}

			// A change reaches the next refresh.
			f.setClaims(alice, map[string]json.RawMessage{"dept": json.RawMessage(`"support"`)})
			t.Cleanup(func() { f.setClaims(alice, customClaims) })
			next, err := f.p.RefreshToken(ctx, web, tok.RefreshToken, "")
			if err != nil {
				t.Fatal(err)
			}
			if m := custom(t, f.accessClaims(next.AccessToken)); string(m["dept"]) != `"support"` || m["limits"] != nil {
				t.Errorf("access token after refresh = %v, want dept support and no limits", m)
			}
		})
	}

	t.Run("v1 login", func(t *testing.T) {
		tok, err := f.p.PasswordLogin(ctx, alice.Email, testPassword, "192.0.2.1", session.Client{})
		if err != nil {
			t.Fatal(err)
		}
		if m := custom(t, f.accessClaims(tok.AccessToken)); string(m["dept"]) != `"sales"` {
			t.Errorf("/v1 access token = %v, want the custom claims", m)
		}
	})

	t.Run("client credentials", func(t *testing.T) {
		svc := f.addClient(client.Registration{Name: "svc", GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"orders:read"}})
		tok, err := f.p.ClientCredentials(ctx, svc, "")
		if err != nil {
			t.Fatal(err)
		}
		if m := custom(t, f.accessClaims(tok.AccessToken)); m["dept"] != nil {
			t.Errorf("client credentials token = %v, want no custom claims", m)
		}
	})
}

// TestUndeliverableSessionEnds: when a user's tokens cannot be issued (a
// reserved custom claim in the database, written around latch's checks),
// the login fails with the issuer's error and leaves no live session.
func TestUndeliverableSessionEnds(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	alice := f.setClaims(f.addUser("alice@example.com"), map[string]json.RawMessage{"sub": json.RawMessage(`"root"`)})
	_, err := f.p.PasswordLogin(ctx, alice.Email, testPassword, "192.0.2.1", session.Client{})
	if !errors.Is(err, issuer.ErrReservedClaim) {
		t.Fatalf("PasswordLogin(user with a reserved claim) = %v, want %v", err, issuer.ErrReservedClaim)
	}
	live, err := f.sessions.List(ctx, alice.ID)
	if err != nil || len(live) != 0 {
		t.Errorf("sessions after the failed login = %+v, %v; want none", live, err)
	}

	web := f.webClient("web")
	browser, _ := f.browser(alice)
	_, code := f.authorize(web, alice, browser, "openid")
	if _, err := f.exchange(web, code); !errors.Is(err, issuer.ErrReservedClaim) {
		t.Fatalf("ExchangeCode(user with a reserved claim) = %v, want %v", err, issuer.ErrReservedClaim)
	}
	live, err = f.sessions.List(ctx, alice.ID)
	if err != nil || len(live) != 1 || live[0].ID != browser.ID {
		t.Errorf("sessions after the failed exchange = %+v, %v; want the browser session only", live, err)
	}
}

// accessClaims verifies an access token of the provider.
func (f *fixture) accessClaims(tok string) jwt.Claims {
	f.t.Helper()
	keys, err := f.ring.VerificationKeys()
	if err != nil {
		f.t.Fatal(err)
	}
	v, err := jwt.NewValidator(keys, testIssuer, testAudience, jwt.ValidatorOptions{Type: jwt.TypeAccessToken, Now: f.clock.Now})
	if err != nil {
		f.t.Fatal(err)
	}
	c, err := v.Parse(tok)
	if err != nil {
		f.t.Fatalf("access token: %v", err)
	}
	return c
}
