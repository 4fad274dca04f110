package issuer_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/latch-auth/latch/internal/issuer"
	"github.com/latch-auth/latch/internal/store"
)

// raw is a claims map from name/JSON pairs.
func raw(kv ...string) map[string]json.RawMessage {
	m := map[string]json.RawMessage{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = json.RawMessage(kv[i+1])
	}
	return m
}

func TestCheckClaims(t *testing.T) {
	many := map[string]json.RawMessage{}
	for i := range issuer.MaxCustomClaims + 1 {
		many[fmt.Sprintf("c%d", i)] = json.RawMessage(`1`)
	}
	big := map[string]json.RawMessage{}
	for i := range 5 {
		big[fmt.Sprintf("c%d", i)] = json.RawMessage(`"` + strings.Repeat("x", 900) + `"`)
	}
	tests := []struct {
		name    string
		claims  map[string]json.RawMessage
		wantErr error
	}{
		{"none", nil, nil},
		{"strings", raw("dept", `"sales"`, "tier", `"gold"`), nil},
		{"every JSON kind", raw("n", `-1.5e3`, "b", `true`, "z", `null`, "a", `[1,"x"]`, "o", `{"k":{"v":[]}}`), nil},
		{"URI name", raw("https://example.com/claims/dept", `"sales"`), nil},
		{"name at the limit", raw(strings.Repeat("n", issuer.MaxClaimNameLen), `1`), nil},
		{"value at the limit", raw("v", `"`+strings.Repeat("x", issuer.MaxClaimValueSize-2)+`"`), nil},
		{"as many as allowed", func() map[string]json.RawMessage { m := maps.Clone(many); delete(m, "c0"); return m }(), nil},

		{"registered claim sub", raw("sub", `"admin"`), issuer.ErrReservedClaim},
		{"registered claim exp", raw("exp", `9999999999`), issuer.ErrReservedClaim},
		{"roles", raw("roles", `["admin"]`), issuer.ErrReservedClaim},
		{"scope", raw("scope", `"admin"`), issuer.ErrReservedClaim},
		{"cnf", raw("cnf", `{"jkt":"x"}`), issuer.ErrReservedClaim},
		{"email", raw("email", `"ceo@example.com"`), issuer.ErrReservedClaim},
		{"email_verified", raw("email_verified", `true`), issuer.ErrReservedClaim},
		{"acr", raw("acr", `"phr"`), issuer.ErrReservedClaim},
		{"act", raw("act", `{"sub":"admin"}`), issuer.ErrReservedClaim},
		{"latch_ prefix", raw("latch_expires", `1`), issuer.ErrReservedClaim},
		{"a reserved name among good ones", raw("dept", `"x"`, "client_id", `"latch"`), issuer.ErrReservedClaim},

		{"empty name", raw("", `1`), issuer.ErrInvalidClaims},
		{"name too long", raw(strings.Repeat("n", issuer.MaxClaimNameLen+1), `1`), issuer.ErrInvalidClaims},
		{"space in name", raw("my dept", `1`), issuer.ErrInvalidClaims},
		{"control character in name", raw("dept\x1b[2J", `1`), issuer.ErrInvalidClaims},
		{"non-ASCII name", raw("département", `1`), issuer.ErrInvalidClaims},
		{"quote in name", raw(`"sub`, `1`), issuer.ErrInvalidClaims},
		{"not JSON", raw("dept", `sales`), issuer.ErrInvalidClaims},
		{"two values", raw("dept", `"a" "b"`), issuer.ErrInvalidClaims},
		{"empty value", raw("dept", ``), issuer.ErrInvalidClaims},
		{"duplicate nested member", raw("o", `{"a":1,"a":2}`), issuer.ErrInvalidClaims},
		{"invalid UTF-8", raw("dept", "\"\xff\""), issuer.ErrInvalidClaims},
		{"value too large", raw("v", `"`+strings.Repeat("x", issuer.MaxClaimValueSize-1)+`"`), issuer.ErrInvalidClaims},
		{"too many", many, issuer.ErrInvalidClaims},
		{"too large together", big, issuer.ErrInvalidClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := issuer.CheckClaims(tt.claims)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("CheckClaims(%s) = %v, want %v", tt.name, err, tt.wantErr)
			}
			if err != nil && (errors.Is(err, issuer.ErrReservedClaim) == errors.Is(err, issuer.ErrInvalidClaims)) {
				t.Errorf("CheckClaims(%s) = %v, want exactly one of ErrReservedClaim, ErrInvalidClaims", tt.name, err)
			}
			if err != nil && !strings.HasPrefix(err.Error(), "issuer: ") {
				t.Errorf("CheckClaims(%s) error %q, want the \"issuer: \" prefix", tt.name, err)
			}
		})
	}
}

// TestReservedClaimsCoverIssuedTokens: every claim the issuer writes, in
// an access token and an ID token with every parameter set, is a reserved
// name, so that no custom claim can collide with it; and the list is
// sorted and each of its names is refused.
func TestReservedClaimsCoverIssuedTokens(t *testing.T) {
	r, clk := newRing(t)
	iss := newIssuer(t, r, issuer.Config{Issuer: testIssuer, Audience: testAudience, Now: clk.Now})
	access, _, err := iss.IssueAccess(issuer.AccessParams{Subject: alice.ID, ClientID: testClient, SessionID: "s-1",
		Scope: "openid profile email", Roles: alice.Roles, TokensRevokedAt: t0, DPoPJKT: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"})
	if err != nil {
		t.Fatal(err)
	}
	id, err := iss.IssueID(issuer.IDParams{Subject: alice.ID, ClientID: testClient, SessionID: "browser-1", AuthTime: t0,
		Nonce: "n", AccessToken: access, Scope: "openid profile email", Email: alice.Email, EmailVerified: true})
	if err != nil {
		t.Fatal(err)
	}
	for kind, tok := range map[string]string{"access": access, "ID": id} {
		payload, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
		if err != nil {
			t.Fatal(err)
		}
		var claims map[string]json.RawMessage
		if err := json.Unmarshal(payload, &claims); err != nil {
			t.Fatal(err)
		}
		for name := range claims {
			if !issuer.IsReservedClaim(name) {
				t.Errorf("the %s token has claim %q, which IsReservedClaim does not reserve", kind, name)
			}
		}
	}
	list := issuer.ReservedClaims()
	if !slices.IsSorted(list) || len(list) < 20 {
		t.Errorf("ReservedClaims() = %q, want a sorted list of at least 20 names", list)
	}
	for _, name := range list {
		if err := issuer.CheckClaims(raw(name, `"x"`)); !errors.Is(err, issuer.ErrReservedClaim) {
			t.Errorf("CheckClaims(%q) = %v, want %v", name, err, issuer.ErrReservedClaim)
		}
	}
}

// TestCustomClaimsInTokens: a user's custom claims are in its access
// tokens, and in ID tokens with the scope profile only; reserved or
// invalid ones make issuing fail, with zero values.
func TestCustomClaimsInTokens(t *testing.T) {
	r, clk := newRing(t)
	iss := newIssuer(t, r, issuer.Config{Issuer: testIssuer, Audience: testAudience, Now: clk.Now})
	custom := raw("dept", `"sales"`, "tier", `"gold"`, "limits", `{"daily":5000,"tags":["a","b"]}`)
	user := alice
	user.Claims = custom

	tok, c, err := iss.Issue(user, session)
	if err != nil {
		t.Fatal(err)
	}
	got, err := validator(t, r, clk, testAudience[0]).Parse(tok)
	if err != nil {
		t.Fatalf("Parse(access token with custom claims): %v", err)
	}
	var decoded map[string]json.RawMessage
	if err := got.Decode(&decoded); err != nil {
		t.Fatal(err)
	}
	for name, want := range custom {
		if string(decoded[name]) != string(want) {
			t.Errorf("access token claim %s = %s, want %s", name, decoded[name], want)
		}
	}
	if got.Subject != user.ID || got.SessionID != session.ID || !slices.Equal(got.Roles, user.Roles) || c.Extra == nil {
		t.Errorf("access token claims = %+v, want the user's, roles and session beside the custom ones", got)
	}

	idClaims := func(scope string) map[string]json.RawMessage {
		t.Helper()
		id, err := iss.IssueID(issuer.IDParams{Subject: user.ID, ClientID: testClient, AuthTime: t0, Scope: scope, Claims: custom})
		if err != nil {
			t.Fatalf("IssueID(scope %q): %v", scope, err)
		}
		payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(id, ".")[1])
		var m map[string]json.RawMessage
		if err := json.Unmarshal(payload, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	if m := idClaims("openid profile"); string(m["dept"]) != `"sales"` || string(m["limits"]) != string(custom["limits"]) {
		t.Errorf("ID token with scope profile = %v, want the custom claims", m)
	}
	if m := idClaims("openid email"); m["dept"] != nil || m["tier"] != nil {
		t.Errorf("ID token without scope profile = %v, want no custom claims", m)
	}

	tests := []struct {
		name    string
		claims  map[string]json.RawMessage
		wantErr error
	}{
		{"reserved sub", raw("sub", `"admin"`), issuer.ErrReservedClaim},
		{"reserved roles", raw("roles", `["admin"]`), issuer.ErrReservedClaim},
		{"invalid value", raw("dept", `{`), issuer.ErrInvalidClaims},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := alice
			u.Claims = tt.claims
			tok, c, err := iss.Issue(u, session)
			if !errors.Is(err, tt.wantErr) || tok != "" || c.Subject != "" {
				t.Errorf("Issue(user with claims %s) = %q, %+v, %v; want zero values, %v", tt.name, tok, c, err, tt.wantErr)
			}
			id, err := iss.IssueID(issuer.IDParams{Subject: u.ID, ClientID: testClient, AuthTime: t0, Scope: "openid profile", Claims: tt.claims})
			if !errors.Is(err, tt.wantErr) || id != "" {
				t.Errorf("IssueID(claims %s) = %q, %v; want \"\", %v", tt.name, id, err, tt.wantErr)
			}
		})
	}
}

// TestTokenTooLargeNamesClaims: the error of a token over the budget
// names the claims that take the room and their sizes, not their values.
func TestTokenTooLargeNamesClaims(t *testing.T) {
	r, clk := newRing(t)
	iss := newIssuer(t, r, issuer.Config{Issuer: testIssuer, Audience: testAudience, Now: clk.Now, MaxTokenSize: 1024})
	u := store.User{ID: "u-big", Claims: raw("notes", `"`+strings.Repeat("secret ", 140)+`"`)}
	_, _, err := iss.Issue(u, session)
	if !errors.Is(err, issuer.ErrTokenTooLarge) {
		t.Fatalf("Issue(user with a 1 KiB claim), limit 1 KiB = %v, want %v", err, issuer.ErrTokenTooLarge)
	}
	if msg := err.Error(); !strings.Contains(msg, "notes:990") || strings.Contains(msg, "secret") || !strings.Contains(msg, "limit 1024") {
		t.Errorf("Issue error = %q, want it to name notes:990 and the limit, without the value", msg)
	}
	_, err = iss.IssueID(issuer.IDParams{Subject: u.ID, ClientID: testClient, AuthTime: t0, Scope: "openid profile", Claims: u.Claims})
	if !errors.Is(err, issuer.ErrTokenTooLarge) || !strings.Contains(err.Error(), "id token") {
		t.Errorf("IssueID(large claims), limit 1 KiB = %v, want %v for the id token", err, issuer.ErrTokenTooLarge)
	}
}

func TestClaimSizes(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    []issuer.ClaimSize
		wantErr bool
	}{
		{"empty", `{}`, nil, false},
		{"largest first, ties by name", `{"sub":"alice","b":1,"a":2,"roles":["x","y"]}`,
			[]issuer.ClaimSize{{"roles", 17}, {"sub", 13}, {"a", 5}, {"b", 5}}, false},
		{"escaped name", `{"a\u0062":true}`, []issuer.ClaimSize{{"ab", 14}}, false},
		{"not an object", `[1]`, nil, true},
		{"duplicate", `{"a":1,"a":2}`, nil, true},
		{"not JSON", `{"a":`, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := issuer.ClaimSizes([]byte(tt.payload))
			if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
				t.Errorf("ClaimSizes(%s) = %v, %v; want %v, error %v", tt.payload, got, err, tt.want, tt.wantErr)
			}
		})
	}
	tok := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"ES256"}`)) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"a"}`)) + ".c2ln"
	if got, err := issuer.TokenClaimSizes(tok); err != nil || !slices.Equal(got, []issuer.ClaimSize{{"sub", 9}}) {
		t.Errorf("TokenClaimSizes(token) = %v, %v; want [{sub 9}], nil", got, err)
	}
	if _, err := issuer.TokenClaimSizes("a.b"); err == nil {
		t.Error("TokenClaimSizes(a.b) = nil error, want one")
	}
}
