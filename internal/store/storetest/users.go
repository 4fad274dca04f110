package storetest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/store"
)

func newUser(id, email string, created time.Time) store.User {
	return store.User{
		ID:           id,
		Email:        email,
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
		Roles:        []string{"admin", "user"},
		CreatedAt:    created,
		UpdatedAt:    created.Add(time.Second),
	}
}

func testUsers(t *testing.T, open opener) {
	t.Run("CreateAndGet", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		u := newUser("u1", "alice@example.com", at(0))
		u.Disabled = true
		u.TokensRevokedAt = at(30 * time.Second)
		must(t, "CreateUser(u1)", st.CreateUser(ctx, u))

		got, err := st.UserByID(ctx, "u1")
		if err != nil || !same(normUser, got, u) {
			t.Errorf("UserByID(u1) = %+v, %v, want %+v, nil", got, err, u)
		}
		got, err = st.UserByEmail(ctx, "alice@example.com")
		if err != nil || !same(normUser, got, u) {
			t.Errorf("UserByEmail(alice@example.com) = %+v, %v, want %+v, nil", got, err, u)
		}
	})

	t.Run("Claims", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		// Values of every JSON kind, compact as the issuer writes them,
		// with characters an encoder might escape or reorder.
		claims := map[string]json.RawMessage{
			"dept":                      json.RawMessage(`"sales & <ops>"`),
			"tier":                      json.RawMessage(`"gold"`),
			"level":                     json.RawMessage(`3`),
			"big":                       json.RawMessage(`12345678901234567890`),
			"flags":                     json.RawMessage(`[true,false,null]`),
			"https://example.com/place": json.RawMessage(`{"z":1,"a":"Zürich \u2028"}`),
		}
		u := newUser("u1", "alice@example.com", at(0))
		u.Claims = claims
		must(t, "CreateUser(u1 with claims)", st.CreateUser(ctx, u))
		got, err := st.UserByID(ctx, "u1")
		if err != nil || !same(normUser, got, u) {
			t.Errorf("UserByID(u1) = %+v, %v, want %+v, nil", got, err, u)
		}
		list, err := st.ListUsers(ctx)
		if err != nil || !sameAll(normUser, list, []store.User{u}) {
			t.Errorf("ListUsers() = %+v, %v, want %+v, nil", list, err, []store.User{u})
		}

		tests := []struct {
			name   string
			claims map[string]json.RawMessage
		}{
			{"replace", map[string]json.RawMessage{"dept": json.RawMessage(`"support"`)}},
			{"empty map", map[string]json.RawMessage{}},
			{"set again", claims},
			{"nil", nil},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				want := u
				want.Claims = tc.claims
				got, err := st.UpdateUser(ctx, "u1", func(old store.User) (store.User, error) {
					old.Claims = tc.claims
					return old, nil
				})
				if err != nil || !same(normUser, got, want) {
					t.Errorf("UpdateUser(u1, claims %s) = %+v, %v, want %+v, nil", tc.name, got, err, want)
				}
				got, err = st.UserByEmail(ctx, "alice@example.com")
				if err != nil || !same(normUser, got, want) {
					t.Errorf("UserByEmail after UpdateUser(claims %s) = %+v, %v, want %+v, nil", tc.name, got, err, want)
				}
			})
		}

		// RevokeUser writes the claims fn sets in its transaction.
		want := u
		want.Claims = map[string]json.RawMessage{"tier": json.RawMessage(`"silver"`)}
		want.TokensRevokedAt = at(time.Minute)
		got, _, err = st.RevokeUser(ctx, "u1", store.ReasonClaimsChange, want.TokensRevokedAt, false, func(old store.User) (store.User, error) {
			old.Claims = want.Claims
			return old, nil
		})
		if err != nil || !same(normUser, got, want) {
			t.Errorf("RevokeUser(u1, setting claims) = %+v, %v, want %+v, nil", got, err, want)
		}
		got, err = st.UserByID(ctx, "u1")
		if err != nil || !same(normUser, got, want) {
			t.Errorf("UserByID(u1) after RevokeUser = %+v, %v, want %+v, nil", got, err, want)
		}

		// A value that is not JSON is refused, and nothing is written.
		bad := newUser("u2", "bob@example.com", at(0))
		bad.Claims = map[string]json.RawMessage{"dept": json.RawMessage(`{not json`)}
		if err := st.CreateUser(ctx, bad); err == nil {
			t.Errorf("CreateUser(u2 with a claim that is not JSON) = nil, want an error")
		}
		_, err = st.UserByID(ctx, "u2")
		wantErr(t, "UserByID(u2) after refused create", err, store.ErrNotFound)
	})

	t.Run("Conflict", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		first := newUser("u1", "alice@example.com", at(0))
		must(t, "CreateUser(u1)", st.CreateUser(ctx, first))
		for _, tc := range []struct {
			name string
			user store.User
		}{
			{"same ID", newUser("u1", "bob@example.com", at(time.Hour))},
			{"same email", newUser("u2", "alice@example.com", at(time.Hour))},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := st.CreateUser(ctx, tc.user)
				wantErr(t, fmt.Sprintf("CreateUser(%s, %s)", tc.user.ID, tc.user.Email), err, store.ErrConflict)
			})
		}
		got, err := st.UserByID(ctx, "u1")
		if err != nil || !same(normUser, got, first) {
			t.Errorf("UserByID(u1) after conflicts = %+v, %v, want %+v, nil", got, err, first)
		}
		_, err = st.UserByID(ctx, "u2")
		wantErr(t, "UserByID(u2) after conflict", err, store.ErrNotFound)
	})

	t.Run("NotFound", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		must(t, "CreateUser(u1)", st.CreateUser(ctx, newUser("u1", "alice@example.com", at(0))))

		_, err := st.UserByID(ctx, "nobody")
		wantErr(t, "UserByID(nobody)", err, store.ErrNotFound)
		_, err = st.UserByEmail(ctx, "nobody@example.com")
		wantErr(t, "UserByEmail(nobody@example.com)", err, store.ErrNotFound)
		called := false
		got, err := st.UpdateUser(ctx, "nobody", func(u store.User) (store.User, error) {
			called = true
			return u, nil
		})
		wantErr(t, "UpdateUser(nobody)", err, store.ErrNotFound)
		if called {
			t.Errorf("UpdateUser(nobody) called fn, want not called")
		}
		if !same(normUser, got, store.User{}) {
			t.Errorf("UpdateUser(nobody) = %+v, want the zero User", got)
		}
	})

	t.Run("ListOrderedByCreation", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		got, err := st.ListUsers(ctx)
		if err != nil || len(got) != 0 {
			t.Errorf("ListUsers() on an empty store = %+v, %v, want none, nil", got, err)
		}
		want := []store.User{
			newUser("u3", "carol@example.com", at(-time.Hour)),
			newUser("u1", "alice@example.com", at(0)),
			newUser("u2", "bob@example.com", at(time.Hour)),
		}
		for _, i := range []int{1, 2, 0} {
			must(t, "CreateUser("+want[i].ID+")", st.CreateUser(ctx, want[i]))
		}
		got, err = st.ListUsers(ctx)
		if err != nil || !sameAll(normUser, got, want) {
			t.Errorf("ListUsers() = %+v, %v, want %+v, nil", got, err, want)
		}
	})

	t.Run("Update", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		u := newUser("u1", "alice@example.com", at(0))
		must(t, "CreateUser(u1)", st.CreateUser(ctx, u))

		want := u
		want.PasswordHash = "$argon2id$v=19$m=65536,t=3,p=4$bmV3$bmV3"
		want.Roles = []string{"user"}
		want.Disabled = true
		want.UpdatedAt = at(time.Minute)
		var seen store.User
		got, err := st.UpdateUser(ctx, "u1", func(old store.User) (store.User, error) {
			seen = old
			old.PasswordHash, old.Roles, old.Disabled, old.UpdatedAt = want.PasswordHash, want.Roles, want.Disabled, want.UpdatedAt
			return old, nil
		})
		if !same(normUser, seen, u) {
			t.Errorf("UpdateUser(u1) passed fn %+v, want %+v", seen, u)
		}
		if err != nil || !same(normUser, got, want) {
			t.Errorf("UpdateUser(u1) = %+v, %v, want %+v, nil", got, err, want)
		}
		got, err = st.UserByID(ctx, "u1")
		if err != nil || !same(normUser, got, want) {
			t.Errorf("UserByID(u1) after update = %+v, %v, want %+v, nil", got, err, want)
		}
	})

	t.Run("UpdateFuncErrorAborts", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		u := newUser("u1", "alice@example.com", at(0))
		must(t, "CreateUser(u1)", st.CreateUser(ctx, u))

		got, err := st.UpdateUser(ctx, "u1", func(old store.User) (store.User, error) {
			old.Disabled, old.PasswordHash = true, "changed"
			return old, errAbort
		})
		if err != errAbort {
			t.Errorf("UpdateUser(u1, refusing fn) = %v, want %v as is", err, errAbort)
		}
		if !same(normUser, got, store.User{}) {
			t.Errorf("UpdateUser(u1, refusing fn) = %+v, want the zero User", got)
		}
		got, err = st.UserByID(ctx, "u1")
		if err != nil || !same(normUser, got, u) {
			t.Errorf("UserByID(u1) after refused update = %+v, %v, want %+v, nil", got, err, u)
		}
	})

	t.Run("UpdateKeepsIdentity", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		u := newUser("u1", "alice@example.com", at(0))
		must(t, "CreateUser(u1)", st.CreateUser(ctx, u))

		want := u
		want.PasswordHash = "changed"
		got, err := st.UpdateUser(ctx, "u1", func(old store.User) (store.User, error) {
			old.ID, old.Email, old.CreatedAt = "u2", "mallory@example.com", at(time.Hour)
			old.PasswordHash = "changed"
			return old, nil
		})
		if err != nil || !same(normUser, got, want) {
			t.Errorf("UpdateUser(u1, changing ID, Email, CreatedAt) = %+v, %v, want %+v, nil", got, err, want)
		}
		got, err = st.UserByEmail(ctx, "alice@example.com")
		if err != nil || !same(normUser, got, want) {
			t.Errorf("UserByEmail(alice@example.com) = %+v, %v, want %+v, nil", got, err, want)
		}
		_, err = st.UserByID(ctx, "u2")
		wantErr(t, "UserByID(u2)", err, store.ErrNotFound)
		_, err = st.UserByEmail(ctx, "mallory@example.com")
		wantErr(t, "UserByEmail(mallory@example.com)", err, store.ErrNotFound)
	})

	t.Run("UpdateKeepsTokensRevokedAt", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			revoked time.Time // set by RevokeUser before the update; zero: none
			change  time.Time // what fn sets
		}{
			{"set where none", time.Time{}, at(time.Hour)},
			{"clear", at(time.Minute), time.Time{}},
			{"move later", at(time.Minute), at(time.Hour)},
			{"move earlier", at(time.Minute), at(time.Second)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				st := open(t, store.Options{})
				ctx := t.Context()
				u := newUser("u1", "alice@example.com", at(0))
				must(t, "CreateUser(u1)", st.CreateUser(ctx, u))
				if !tc.revoked.IsZero() {
					_, _, err := st.RevokeUser(ctx, "u1", store.ReasonAdmin, tc.revoked, false, nil)
					must(t, "RevokeUser(u1)", err)
				}
				want := u
				want.TokensRevokedAt = tc.revoked
				want.PasswordHash = "changed"
				got, err := st.UpdateUser(ctx, "u1", func(old store.User) (store.User, error) {
					old.TokensRevokedAt = tc.change
					old.PasswordHash = "changed"
					return old, nil
				})
				if err != nil || !same(normUser, got, want) {
					t.Errorf("UpdateUser(u1, TokensRevokedAt %v) = %+v, %v, want %+v, nil", tc.change, got, err, want)
				}
				got, err = st.UserByID(ctx, "u1")
				if err != nil || !same(normUser, got, want) {
					t.Errorf("UserByID(u1) after update = %+v, %v, want %+v, nil", got, err, want)
				}
			})
		}
	})

	t.Run("RolesRoundTrip", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			roles []string
		}{
			{"nil", nil},
			{"empty", []string{}},
			{"one", []string{"admin"}},
			{"several in order", []string{"user", "admin", "auditor"}},
			{"awkward characters", []string{`quo"te`, "back\\slash", "comma,", "ünïcödé", ""}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				st := open(t, store.Options{})
				ctx := t.Context()
				u := newUser("u1", "alice@example.com", at(0))
				u.Roles = tc.roles
				must(t, "CreateUser(u1)", st.CreateUser(ctx, u))
				got, err := st.UserByID(ctx, "u1")
				if err != nil || !same(normUser, got, u) {
					t.Errorf("UserByID(u1) = Roles %q, %v, want Roles %q, nil", got.Roles, err, tc.roles)
				}
				got, err = st.UpdateUser(ctx, "u1", func(u store.User) (store.User, error) { return u, nil })
				if err != nil || !same(normUser, got, u) {
					t.Errorf("UpdateUser(u1, unchanged) = Roles %q, %v, want Roles %q, nil", got.Roles, err, tc.roles)
				}
			})
		}
	})

	t.Run("TimesRoundTrip", func(t *testing.T) {
		for _, tc := range []struct {
			name             string
			created, updated time.Time
		}{
			{"sub-millisecond in another zone", at(0), at(1500 * time.Microsecond)},
			{"UTC", time.Date(2030, 1, 2, 3, 4, 5, 6_000_000, time.UTC), time.Date(2030, 1, 2, 3, 4, 5, 7_000_000, time.UTC)},
			{"zero", time.Time{}, time.Time{}},
			{"before 1970", time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC), time.Date(1969, 7, 21, 2, 56, 15, 0, time.UTC)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				st := open(t, store.Options{})
				ctx := t.Context()
				u := newUser("u1", "alice@example.com", tc.created)
				u.UpdatedAt = tc.updated
				u.TokensRevokedAt = tc.updated
				must(t, "CreateUser(u1)", st.CreateUser(ctx, u))
				got, err := st.UserByID(ctx, "u1")
				if err != nil {
					t.Fatalf("UserByID(u1) = %v, want nil", err)
				}
				if !ms(got.CreatedAt).Equal(ms(tc.created)) || got.CreatedAt.IsZero() != tc.created.IsZero() {
					t.Errorf("UserByID(u1).CreatedAt = %v, want %v", got.CreatedAt, tc.created)
				}
				if !ms(got.UpdatedAt).Equal(ms(tc.updated)) || got.UpdatedAt.IsZero() != tc.updated.IsZero() {
					t.Errorf("UserByID(u1).UpdatedAt = %v, want %v", got.UpdatedAt, tc.updated)
				}
				if !ms(got.TokensRevokedAt).Equal(ms(tc.updated)) || got.TokensRevokedAt.IsZero() != tc.updated.IsZero() {
					t.Errorf("UserByID(u1).TokensRevokedAt = %v, want %v", got.TokensRevokedAt, tc.updated)
				}
			})
		}
	})
}
