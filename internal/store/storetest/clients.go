package storetest

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/store"
)

func newClient(id, name string, created time.Time) store.Client {
	return store.Client{
		ID:         id,
		Name:       name,
		SecretHash: hash("secret of " + id),
		Type:       store.ClientConfidential,
		AuthMethod: "client_secret_post",
		RedirectURIs: []string{
			"https://app.example.com/callback",
			"http://127.0.0.1:8080/cb?x=1",
		},
		PostLogoutRedirectURIs: []string{"https://app.example.com/bye"},
		GrantTypes:             []string{"authorization_code", "refresh_token"},
		Scopes:                 []string{"revocations:read", "introspect", "openid"},
		FirstParty:             true,
		RequireDPoP:            true,
		EncryptionKey:          testEncryptionKey,
		SETCursor:              7,
		CreatedAt:              created,
		UpdatedAt:              created.Add(time.Second),
	}
}

// testEncryptionKey is a public X25519 encryption JWK, as a client
// registers one; the store keeps it as opaque text.
const testEncryptionKey = `{"kty":"OKP","kid":"enc-1","use":"enc","alg":"ECDH-ES+A256KW","crv":"X25519","x":"hSDwCYkwp1R0i33ctD73Wg2_Og0mOBr066SpjqqbTmo"}`

// newPublicClient is a public client: no secret, PKCE only.
func newPublicClient(id, name string, created time.Time) store.Client {
	return store.Client{
		ID:           id,
		Name:         name,
		Type:         store.ClientPublic,
		AuthMethod:   "none",
		RedirectURIs: []string{"com.example.app:/oauth2redirect"},
		GrantTypes:   []string{"authorization_code"},
		Scopes:       []string{"openid", "profile"},
		CreatedAt:    created,
		UpdatedAt:    created,
	}
}

// checkClient fails unless the stored client want.ID equals want.
func checkClient(t *testing.T, st store.Store, want store.Client) {
	t.Helper()
	got, err := st.ClientByID(t.Context(), want.ID)
	if err != nil || !same(normClient, got, want) {
		t.Errorf("ClientByID(%q) = %+v, %v, want %+v, nil", want.ID, got, err, want)
	}
}

func testClients(t *testing.T, open opener) {
	t.Run("CreateAndGet", func(t *testing.T) {
		st := open(t, store.Options{})
		c := newClient("c1", "orders service", at(0))
		must(t, "CreateClient(c1)", st.CreateClient(t.Context(), c))
		checkClient(t, st, c)
	})

	t.Run("CreatePublicAndGet", func(t *testing.T) {
		st := open(t, store.Options{})
		c := newPublicClient("c1", "mobile app", at(0))
		must(t, "CreateClient(c1)", st.CreateClient(t.Context(), c))
		checkClient(t, st, c)
	})

	t.Run("FeedClientDefaults", func(t *testing.T) {
		// A service client as before OAuth grants: no lists, not first
		// party; the empty lists come back empty.
		st := open(t, store.Options{})
		c := store.Client{
			ID: "c1", Name: "feed reader", SecretHash: hash("s"),
			Type: store.ClientConfidential, AuthMethod: "client_secret_basic",
			Scopes: []string{"revocations:read"}, CreatedAt: at(0), UpdatedAt: at(0),
		}
		must(t, "CreateClient(c1)", st.CreateClient(t.Context(), c))
		got, err := st.ClientByID(t.Context(), "c1")
		if err != nil || len(got.RedirectURIs)+len(got.PostLogoutRedirectURIs)+len(got.GrantTypes) != 0 || got.FirstParty || got.RequireDPoP || got.EncryptionKey != "" {
			t.Errorf("ClientByID(c1) = %+v, %v, want no lists, not first party, no DPoP requirement, no encryption key, nil", got, err)
		}
		checkClient(t, st, c)
	})

	t.Run("Conflict", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		first := newClient("c1", "orders service", at(0))
		must(t, "CreateClient(c1)", st.CreateClient(ctx, first))
		for _, tc := range []struct {
			name   string
			client store.Client
		}{
			{"same ID", newClient("c1", "billing service", at(time.Hour))},
			{"same name", newClient("c2", "orders service", at(time.Hour))},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := st.CreateClient(ctx, tc.client)
				wantErr(t, "CreateClient("+tc.client.ID+", "+tc.client.Name+")", err, store.ErrConflict)
			})
		}
		checkClient(t, st, first)
		_, err := st.ClientByID(ctx, "c2")
		wantErr(t, "ClientByID(c2) after conflict", err, store.ErrNotFound)
	})

	t.Run("NotFound", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		must(t, "CreateClient(c1)", st.CreateClient(ctx, newClient("c1", "orders service", at(0))))
		_, err := st.ClientByID(ctx, "nobody")
		wantErr(t, "ClientByID(nobody)", err, store.ErrNotFound)
		called := false
		got, err := st.UpdateClient(ctx, "nobody", func(c store.Client) (store.Client, error) {
			called = true
			return c, nil
		})
		wantErr(t, "UpdateClient(nobody)", err, store.ErrNotFound)
		if called {
			t.Errorf("UpdateClient(nobody) called fn, want not called")
		}
		if !same(normClient, got, store.Client{}) {
			t.Errorf("UpdateClient(nobody) = %+v, want the zero Client", got)
		}
		wantErr(t, "DeleteClient(nobody)", st.DeleteClient(ctx, "nobody"), store.ErrNotFound)
	})

	t.Run("ListOrderedByCreation", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		got, err := st.ListClients(ctx)
		if err != nil || len(got) != 0 {
			t.Errorf("ListClients() on an empty store = %+v, %v, want none, nil", got, err)
		}
		want := []store.Client{
			newClient("c3", "carol", at(-time.Hour)),
			newClient("c1", "alice", at(0)),
			newClient("c2", "bob", at(time.Hour)),
		}
		for _, i := range []int{1, 2, 0} {
			must(t, "CreateClient("+want[i].ID+")", st.CreateClient(ctx, want[i]))
		}
		got, err = st.ListClients(ctx)
		if err != nil || !sameAll(normClient, got, want) {
			t.Errorf("ListClients() = %+v, %v, want %+v, nil", got, err, want)
		}
	})

	t.Run("EncryptionKeyRoundTrip", func(t *testing.T) {
		// Set at creation, replaced, removed: the JWK comes back byte for
		// byte each time.
		st := open(t, store.Options{})
		ctx := t.Context()
		c := newClient("c1", "orders service", at(0))
		c.EncryptionKey = ""
		must(t, "CreateClient(c1)", st.CreateClient(ctx, c))
		checkClient(t, st, c)
		for _, key := range []string{testEncryptionKey, `{"kty":"RSA","alg":"RSA-OAEP-256","n":"AQAB","e":"AQAB"}`, ""} {
			got, err := st.UpdateClient(ctx, "c1", func(old store.Client) (store.Client, error) {
				old.EncryptionKey = key
				return old, nil
			})
			if err != nil || got.EncryptionKey != key {
				t.Errorf("UpdateClient(c1, EncryptionKey %.20q) = %.20q, %v, want it back, nil", key, got.EncryptionKey, err)
			}
			c.EncryptionKey = key
			checkClient(t, st, c)
		}
	})

	t.Run("Update", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		c := newClient("c1", "orders service", at(0))
		must(t, "CreateClient(c1)", st.CreateClient(ctx, c))

		want := c
		want.Name = "orders service (v2)"
		want.SecretHash = hash("rotated secret")
		want.Scopes = []string{"revocations:read"}
		want.Type, want.AuthMethod = store.ClientPublic, "none"
		want.RedirectURIs = []string{"https://new.example.com/cb"}
		want.PostLogoutRedirectURIs = nil
		want.GrantTypes = []string{"client_credentials"}
		want.FirstParty = false
		want.RequireDPoP = false
		want.EncryptionKey = `{"kty":"EC","kid":"enc-2","use":"enc","alg":"ECDH-ES","crv":"P-256","x":"gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0","y":"SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps"}`
		want.SETCursor = 1 << 40
		want.UpdatedAt = at(time.Hour)
		var seen store.Client
		got, err := st.UpdateClient(ctx, "c1", func(old store.Client) (store.Client, error) {
			seen = old
			v := want
			v.ID, v.CreatedAt = "c2", at(2*time.Hour) // cannot change
			return v, nil
		})
		if !same(normClient, seen, c) {
			t.Errorf("UpdateClient(c1) passed fn %+v, want %+v", seen, c)
		}
		if err != nil || !same(normClient, got, want) {
			t.Errorf("UpdateClient(c1) = %+v, %v, want %+v, nil", got, err, want)
		}
		checkClient(t, st, want)
		_, err = st.ClientByID(ctx, "c2")
		wantErr(t, "ClientByID(c2)", err, store.ErrNotFound)
	})

	t.Run("UpdateNameConflict", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		c1, c2 := newClient("c1", "orders service", at(0)), newClient("c2", "billing service", at(time.Hour))
		must(t, "CreateClient(c1)", st.CreateClient(ctx, c1))
		must(t, "CreateClient(c2)", st.CreateClient(ctx, c2))
		_, err := st.UpdateClient(ctx, "c2", func(c store.Client) (store.Client, error) {
			c.Name = c1.Name
			c.Scopes = nil
			return c, nil
		})
		wantErr(t, "UpdateClient(c2, name of c1)", err, store.ErrConflict)
		checkClient(t, st, c1)
		checkClient(t, st, c2)
	})

	t.Run("UpdateFuncErrorAborts", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		c := newClient("c1", "orders service", at(0))
		must(t, "CreateClient(c1)", st.CreateClient(ctx, c))
		got, err := st.UpdateClient(ctx, "c1", func(old store.Client) (store.Client, error) {
			old.Name, old.Scopes = "changed", []string{"admin"}
			return old, errAbort
		})
		if err != errAbort {
			t.Errorf("UpdateClient(c1, refusing fn) = %v, want %v as is", err, errAbort)
		}
		if !same(normClient, got, store.Client{}) {
			t.Errorf("UpdateClient(c1, refusing fn) = %+v, want the zero Client", got)
		}
		checkClient(t, st, c)
	})

	t.Run("Delete", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		c1, c2 := newClient("c1", "orders service", at(0)), newClient("c2", "billing service", at(time.Hour))
		must(t, "CreateClient(c1)", st.CreateClient(ctx, c1))
		must(t, "CreateClient(c2)", st.CreateClient(ctx, c2))
		must(t, "DeleteClient(c1)", st.DeleteClient(ctx, "c1"))
		_, err := st.ClientByID(ctx, "c1")
		wantErr(t, "ClientByID(c1) after DeleteClient(c1)", err, store.ErrNotFound)
		list, err := st.ListClients(ctx)
		if err != nil || !sameAll(normClient, list, []store.Client{c2}) {
			t.Errorf("ListClients() after DeleteClient(c1) = %+v, %v, want [%+v], nil", list, err, c2)
		}
		wantErr(t, "DeleteClient(c1) again", st.DeleteClient(ctx, "c1"), store.ErrNotFound)
		// Its ID and name are free again.
		again := newClient("c1", "orders service", at(2*time.Hour))
		must(t, "CreateClient(c1) after its deletion", st.CreateClient(ctx, again))
		checkClient(t, st, again)
	})

	t.Run("ScopesRoundTrip", func(t *testing.T) {
		for _, tc := range []struct {
			name   string
			scopes []string
		}{
			{"nil", nil},
			{"empty", []string{}},
			{"one", []string{"revocations:read"}},
			{"several in order", []string{"introspect", "revocations:read", "a"}},
			{"awkward characters", []string{`quo"te`, "back\\slash", "comma,", "ünïcödé", ""}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				st := open(t, store.Options{})
				ctx := t.Context()
				c := newClient("c1", "orders service", at(0))
				c.Scopes = tc.scopes
				must(t, "CreateClient(c1)", st.CreateClient(ctx, c))
				got, err := st.ClientByID(ctx, "c1")
				if err != nil || !slices.Equal(got.Scopes, tc.scopes) {
					t.Errorf("ClientByID(c1) = Scopes %q, %v, want %q, nil", got.Scopes, err, tc.scopes)
				}
				got, err = st.UpdateClient(ctx, "c1", func(c store.Client) (store.Client, error) { return c, nil })
				if err != nil || !slices.Equal(got.Scopes, tc.scopes) {
					t.Errorf("UpdateClient(c1, unchanged) = Scopes %q, %v, want %q, nil", got.Scopes, err, tc.scopes)
				}
				got, err = st.ClientByID(ctx, "c1")
				if err != nil || !slices.Equal(got.Scopes, tc.scopes) {
					t.Errorf("ClientByID(c1) after update = Scopes %q, %v, want %q, nil", got.Scopes, err, tc.scopes)
				}
			})
		}
	})

	t.Run("ListsRoundTrip", func(t *testing.T) {
		type lists struct{ redirect, postLogout, grants []string }
		for _, tc := range []struct {
			name string
			l    lists
		}{
			{"nil", lists{}},
			{"empty", lists{[]string{}, []string{}, []string{}}},
			{"one each", lists{[]string{"https://a.example/cb"}, []string{"https://a.example/bye"}, []string{"client_credentials"}}},
			{"order kept", lists{
				[]string{"https://b.example/cb", "https://a.example/cb", "com.example.app:/cb"},
				[]string{"https://b.example/", "https://a.example/"},
				[]string{"refresh_token", "authorization_code"},
			}},
			{"awkward characters", lists{[]string{`https://a.example/cb?q="x"&y=\`, "ünïcödé"}, []string{""}, []string{"a,b"}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				st := open(t, store.Options{})
				ctx := t.Context()
				c := newClient("c1", "orders service", at(0))
				c.RedirectURIs, c.PostLogoutRedirectURIs, c.GrantTypes = tc.l.redirect, tc.l.postLogout, tc.l.grants
				check := func(call string, got store.Client, err error) {
					t.Helper()
					if err != nil || !slices.Equal(got.RedirectURIs, tc.l.redirect) ||
						!slices.Equal(got.PostLogoutRedirectURIs, tc.l.postLogout) || !slices.Equal(got.GrantTypes, tc.l.grants) {
						t.Errorf("%s = lists %q, %q, %q, %v, want %q, %q, %q, nil", call,
							got.RedirectURIs, got.PostLogoutRedirectURIs, got.GrantTypes, err,
							tc.l.redirect, tc.l.postLogout, tc.l.grants)
					}
				}
				must(t, "CreateClient(c1)", st.CreateClient(ctx, c))
				got, err := st.ClientByID(ctx, "c1")
				check("ClientByID(c1)", got, err)
				got, err = st.UpdateClient(ctx, "c1", func(c store.Client) (store.Client, error) { return c, nil })
				check("UpdateClient(c1, unchanged)", got, err)
				list, err := st.ListClients(ctx)
				if len(list) != 1 {
					t.Fatalf("ListClients() = %d clients, %v, want 1, nil", len(list), err)
				}
				check("ListClients()[0]", list[0], err)
			})
		}
	})

	t.Run("SETCursorRoundTrip", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		c := newClient("c1", "orders service", at(0))
		c.SETCursor = 0
		must(t, "CreateClient(c1)", st.CreateClient(ctx, c))
		checkClient(t, st, c)
		// The feed moves the cursor alone, forward and (after a restored
		// database) back; nothing else changes.
		for _, cursor := range []int64{1, 2, 1 << 62, 3, 0} {
			want := c
			want.SETCursor = cursor
			got, err := st.UpdateClient(ctx, "c1", func(old store.Client) (store.Client, error) {
				old.SETCursor = cursor
				return old, nil
			})
			if err != nil || !same(normClient, got, want) {
				t.Errorf("UpdateClient(c1, SETCursor %d) = %+v, %v, want %+v, nil", cursor, got, err, want)
			}
			checkClient(t, st, want)
		}
	})

	t.Run("SecretHashRoundTrip", func(t *testing.T) {
		st := open(t, store.Options{})
		ctx := t.Context()
		c := newClient("c1", "orders service", at(0))
		c.SecretHash = []byte{0, 0xff, 0, 1, 0x80}
		must(t, "CreateClient(c1)", st.CreateClient(ctx, c))
		got, err := st.ClientByID(ctx, "c1")
		if err != nil || !bytes.Equal(got.SecretHash, c.SecretHash) {
			t.Errorf("ClientByID(c1) = SecretHash %x, %v, want %x, nil", got.SecretHash, err, c.SecretHash)
		}
	})
}
