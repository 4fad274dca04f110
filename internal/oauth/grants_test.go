package oauth_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/client"
	"github.com/latch-auth/latch/internal/issuer"
	"github.com/latch-auth/latch/internal/oauth"
	"github.com/latch-auth/latch/internal/session"
	"github.com/latch-auth/latch/internal/store"
)

func TestExchangeCode(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	alice := f.addUser("alice@example.com", "admin")
	web := f.webClient("web")
	browser, _ := f.browser(alice)
	f.clock.Advance(time.Minute)
	_, code := f.authorize(web, alice, browser, "openid email orders:read")

	tok, err := f.exchange(web, code)
	if err != nil {
		t.Fatalf("ExchangeCode = %v, want nil", err)
	}
	c := tok.Claims
	if c.Subject != alice.ID || c.ClientID != web.ID || c.SessionID != tok.Session.ID || c.Scope != "email openid orders:read" ||
		!slices.Equal(c.Roles, []string{"admin"}) {
		t.Errorf("access token claims = %+v, want sub %s, client_id %s, sid %s, the scope and roles", c, alice.ID, web.ID, tok.Session.ID)
	}
	if tok.RefreshToken == "" || tok.IDToken == "" || tok.Scope != c.Scope {
		t.Errorf("ExchangeCode: refresh token %v, ID token %v, scope %q; want both and %q", tok.RefreshToken != "", tok.IDToken != "", tok.Scope, c.Scope)
	}
	s, err := f.db.SessionByID(ctx, tok.Session.ID)
	if err != nil {
		t.Fatal(err)
	}
	if s.ClientID != web.ID || s.ParentID != browser.ID || !slices.Equal(s.Scopes, []string{"email", "openid", "orders:read"}) ||
		!s.AuthTime.Equal(browser.AuthTime.Truncate(time.Millisecond)) {
		t.Errorf("client session = client %q, parent %q, scopes %q, auth time %v; want %s, %s, the scopes, %v",
			s.ClientID, s.ParentID, s.Scopes, s.AuthTime, web.ID, browser.ID, browser.AuthTime)
	}
	id := f.idClaims(web, tok.IDToken)
	atHash, _ := issuer.AccessTokenHash("RS256", tok.AccessToken)
	if id.Subject != alice.ID || id.Nonce != "n-0S6" || id.SessionID != browser.ID || id.AuthorizedParty != web.ID ||
		id.AccessTokenHash != atHash || !id.AuthTime.Equal(browser.AuthTime.Truncate(time.Second)) ||
		!slices.Equal(id.AMR, []string{"pwd"}) || id.Email != alice.Email {
		t.Errorf("ID token = %+v, want sub, nonce, sid of the browser session, azp, at_hash, auth_time, amr pwd, email", id)
	}

	t.Run("no openid, no ID token; no refresh_token grant, no refresh token", func(t *testing.T) {
		shop := f.addClient(client.Registration{Name: "shop", Type: store.ClientPublic, RedirectURIs: []string{testRedirect},
			GrantTypes: []string{client.GrantAuthorizationCode}, Scopes: []string{"openid", "orders:read"}})
		_, code := f.authorize(shop, alice, browser, "orders:read")
		tok, err := f.exchange(shop, code)
		if err != nil || tok.IDToken != "" || tok.RefreshToken != "" || tok.AccessToken == "" {
			t.Errorf("ExchangeCode = ID token %v, refresh token %v, %v; want only an access token", tok.IDToken != "", tok.RefreshToken != "", err)
		}
	})
}

func TestExchangeCodeRefusals(t *testing.T) {
	f := newFixture(t)
	alice := f.addUser("alice@example.com")
	web := f.webClient("web")
	other := f.webClient("other")
	svc := f.addClient(client.Registration{Name: "svc", GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"orders:read"}})
	browser, _ := f.browser(alice)

	tests := []struct {
		name     string
		client   store.Client
		code     func(code string) string
		redirect string
		verifier string
		wait     time.Duration
		want     string
		// spent: the refusal redeemed the code, which then fails
		// even when presented right.
		spent bool
	}{
		{name: "missing verifier", verifier: "-", want: oauth.CodeInvalidRequest},
		{name: "wrong verifier", verifier: strings.Repeat("a", 43), want: oauth.CodeInvalidGrant, spent: true},
		{name: "verifier too short", verifier: testVerifier[:42], want: oauth.CodeInvalidGrant, spent: true},
		{name: "verifier as the challenge (plain)", verifier: testChallenge, want: oauth.CodeInvalidGrant, spent: true},
		{name: "verifier with a bad character", verifier: testVerifier[:42] + "!", want: oauth.CodeInvalidGrant, spent: true},
		{name: "another client", client: other, want: oauth.CodeInvalidGrant, spent: true},
		{name: "client without the grant", client: svc, want: oauth.CodeUnauthorizedClient},
		{name: "another redirect URI", redirect: testRedirect + "/x", want: oauth.CodeInvalidGrant, spent: true},
		{name: "no redirect URI", redirect: "-", want: oauth.CodeInvalidGrant, spent: true},
		{name: "expired", wait: oauth.DefaultCodeTTL, want: oauth.CodeInvalidGrant, spent: true},
		{name: "unknown code", code: func(string) string { return strings.Repeat("A", 43) }, want: oauth.CodeInvalidGrant},
		{name: "no code", code: func(string) string { return "" }, want: oauth.CodeInvalidRequest},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, code := f.authorize(web, alice, browser, "openid")
			c, presented, redirect, verifier := web, code, testRedirect, testVerifier
			if tc.client.ID != "" {
				c = tc.client
			}
			if tc.code != nil {
				presented = tc.code(code)
			}
			if tc.redirect == "-" {
				redirect = ""
			} else if tc.redirect != "" {
				redirect = tc.redirect
			}
			if tc.verifier == "-" {
				verifier = ""
			} else if tc.verifier != "" {
				verifier = tc.verifier
			}
			f.clock.Advance(tc.wait)
			tok, err := f.p.ExchangeCode(t.Context(), c, presented, redirect, verifier, session.Client{})
			wantCode(t, "ExchangeCode", err, tc.want)
			if tok.AccessToken != "" {
				t.Errorf("ExchangeCode refused with an access token")
			}
			if tc.wait > 0 {
				return
			}
			_, err = f.exchange(web, code)
			if tc.spent {
				wantCode(t, "ExchangeCode(the code, right, after the refusal)", err, oauth.CodeInvalidGrant)
			} else if err != nil {
				t.Errorf("ExchangeCode(the code, right, after a refusal that did not touch it) = %v, want nil", err)
			}
		})
	}
}

func TestCodeReplayRevokesSession(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	alice := f.addUser("alice@example.com")
	web := f.webClient("web")
	browser, _ := f.browser(alice)
	_, code := f.authorize(web, alice, browser, "openid")
	tok, err := f.exchange(web, code)
	if err != nil {
		t.Fatal(err)
	}
	_, head, _ := f.db.RevocationBounds(ctx)

	_, err = f.exchange(web, code)
	wantCode(t, "ExchangeCode(replayed code)", err, oauth.CodeInvalidGrant)
	if !errors.Is(err, store.ErrCodeReplayed) {
		t.Errorf("ExchangeCode(replayed code) = %v, want it to wrap store.ErrCodeReplayed", err)
	}
	s, err := f.db.SessionByID(ctx, tok.Session.ID)
	if err != nil || s.RevokedAt.IsZero() || s.RevokeReason != store.ReasonReuse {
		t.Errorf("session of the first redemption = revoked %v (%s), %v; want revoked for reuse", s.RevokedAt, s.RevokeReason, err)
	}
	revs, err := f.db.RevocationsSince(ctx, head, 10)
	if err != nil || len(revs) != 1 || revs[0].Kind != store.KindSession || revs[0].Subject != tok.Session.ID {
		t.Errorf("revocations after the replay = %+v, %v; want one session revocation of %s for the feed", revs, err, tok.Session.ID)
	}
	if _, err := f.p.RefreshToken(ctx, web, tok.RefreshToken, ""); !errors.Is(err, oauth.ErrInvalidGrant) {
		t.Errorf("RefreshToken(token of the revoked session) = %v, want invalid_grant", err)
	}
	if _, err := f.sessions.Active(ctx, browser.ID); err != nil {
		t.Errorf("browser session after a replay = %v, want still active (only what the code issued is revoked)", err)
	}
}

func TestCodeAfterLogout(t *testing.T) {
	f := newFixture(t)
	alice := f.addUser("alice@example.com")
	web := f.webClient("web")
	browser, _ := f.browser(alice)
	_, code := f.authorize(web, alice, browser, "openid")
	if err := f.p.EndBrowserSession(t.Context(), browser.ID, alice.ID); err != nil {
		t.Fatal(err)
	}
	_, err := f.exchange(web, code)
	wantCode(t, "ExchangeCode(code of an ended browser session)", err, oauth.CodeInvalidGrant)
}

func TestRefreshToken(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	alice := f.addUser("alice@example.com")
	web := f.webClient("web")
	other := f.webClient("other")
	browser, _ := f.browser(alice)
	_, code := f.authorize(web, alice, browser, "openid email orders:read")
	first, err := f.exchange(web, code)
	if err != nil {
		t.Fatal(err)
	}

	// Another client cannot redeem it, nor rotate it away.
	_, err = f.p.RefreshToken(ctx, other, first.RefreshToken, "")
	wantCode(t, "RefreshToken(another client)", err, oauth.CodeInvalidGrant)

	// Widening is refused before rotating.
	_, err = f.p.RefreshToken(ctx, web, first.RefreshToken, "openid orders:write")
	wantCode(t, "RefreshToken(wider scope)", err, oauth.CodeInvalidScope)

	// Narrowing applies to this token only.
	narrow, err := f.p.RefreshToken(ctx, web, first.RefreshToken, "orders:read")
	if err != nil {
		t.Fatalf("RefreshToken(narrower scope) = %v, want nil", err)
	}
	if narrow.Scope != "orders:read" || narrow.IDToken != "" || narrow.RefreshToken == first.RefreshToken || narrow.Claims.SessionID != first.Session.ID {
		t.Errorf("RefreshToken(narrower) = scope %q, ID token %v, rotated %v, sid %s; want orders:read, none, rotated, %s",
			narrow.Scope, narrow.IDToken != "", narrow.RefreshToken != first.RefreshToken, narrow.Claims.SessionID, first.Session.ID)
	}
	full, err := f.p.RefreshToken(ctx, web, narrow.RefreshToken, "")
	if err != nil {
		t.Fatalf("RefreshToken = %v, want nil", err)
	}
	if full.Scope != "email openid orders:read" || full.IDToken == "" {
		t.Errorf("RefreshToken(no scope) = scope %q, ID token %v; want the session's whole scope and an ID token", full.Scope, full.IDToken != "")
	}
	id, firstID := f.idClaims(web, full.IDToken), f.idClaims(web, first.IDToken)
	if id.SessionID != firstID.SessionID || !id.AuthTime.Equal(firstID.AuthTime) || id.Nonce != "" {
		t.Errorf("refreshed ID token: sid %q, auth_time %v, nonce %q; want %q, %v, none", id.SessionID, id.AuthTime, id.Nonce, firstID.SessionID, firstID.AuthTime)
	}

	// The first token, whose successor was used, is a reuse: the session
	// is revoked.
	f.clock.Advance(time.Minute)
	_, err = f.p.RefreshToken(ctx, web, first.RefreshToken, "")
	wantCode(t, "RefreshToken(reused token)", err, oauth.CodeInvalidGrant)
	if !errors.Is(err, session.ErrReuse) {
		t.Errorf("RefreshToken(reused token) = %v, want it to wrap session.ErrReuse", err)
	}
	if _, err := f.p.RefreshToken(ctx, web, full.RefreshToken, ""); !errors.Is(err, oauth.ErrInvalidGrant) {
		t.Errorf("RefreshToken(current token after a reuse) = %v, want invalid_grant", err)
	}
}

func TestRefreshCrossover(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	alice := f.addUser("alice@example.com")
	web := f.webClient("web")
	browser, cookie := f.browser(alice)
	_, code := f.authorize(web, alice, browser, "openid")
	tok, err := f.exchange(web, code)
	if err != nil {
		t.Fatal(err)
	}
	v1, err := f.p.PasswordLogin(ctx, alice.Email, testPassword, "", session.Client{})
	if err != nil {
		t.Fatal(err)
	}

	// /v1 refuses an OAuth client's and a browser session's tokens,
	// without rotating them.
	for name, rt := range map[string]string{"client session": tok.RefreshToken, "browser session": cookie} {
		if _, err := f.p.RefreshV1(ctx, rt); !errors.Is(err, session.ErrInvalidToken) {
			t.Errorf("RefreshV1(%s token) = %v, want session.ErrInvalidToken", name, err)
		}
	}
	// /oauth2/token refuses /v1 and browser sessions' tokens.
	for name, rt := range map[string]string{"/v1 session": v1.RefreshToken, "browser session": cookie} {
		_, err := f.p.RefreshToken(ctx, web, rt, "")
		wantCode(t, "RefreshToken("+name+" token)", err, oauth.CodeInvalidGrant)
	}
	// Untouched: each still works where it belongs.
	if _, err := f.p.RefreshToken(ctx, web, tok.RefreshToken, ""); err != nil {
		t.Errorf("RefreshToken(client session token) after the refusals = %v, want nil", err)
	}
	if _, err := f.p.RefreshV1(ctx, v1.RefreshToken); err != nil {
		t.Errorf("RefreshV1(/v1 token) after the refusals = %v, want nil", err)
	}
	if _, _, err := f.p.BrowserSession(ctx, cookie); err != nil {
		t.Errorf("BrowserSession(cookie) after the refusals = %v, want nil", err)
	}
	if _, _, err := f.p.BrowserSession(ctx, v1.RefreshToken); !errors.Is(err, oauth.ErrLoginRequired) {
		t.Errorf("BrowserSession(/v1 refresh token) = %v, want login_required", err)
	}
}

func TestRefreshDisabledUser(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	alice := f.addUser("alice@example.com")
	web := f.webClient("web")
	browser, _ := f.browser(alice)
	_, code := f.authorize(web, alice, browser, "openid")
	tok, err := f.exchange(web, code)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.db.UpdateUser(ctx, alice.ID, func(u store.User) (store.User, error) { u.Disabled = true; return u, nil }); err != nil {
		t.Fatal(err)
	}
	_, err = f.p.RefreshToken(ctx, web, tok.RefreshToken, "")
	wantCode(t, "RefreshToken(disabled user)", err, oauth.CodeInvalidGrant)
	if !errors.Is(err, oauth.ErrDisabled) {
		t.Errorf("RefreshToken(disabled user) = %v, want it to wrap %v", err, oauth.ErrDisabled)
	}
	if s, _ := f.db.SessionByID(ctx, tok.Session.ID); s.RevokeReason != store.ReasonDisabled {
		t.Errorf("session of a disabled user after refresh: revoked for %q, want %q", s.RevokeReason, store.ReasonDisabled)
	}
}

func TestClientCredentials(t *testing.T) {
	f := newFixture(t)
	svc := f.addClient(client.Registration{Name: "svc", GrantTypes: []string{client.GrantClientCredentials},
		Scopes: []string{"orders:read", "orders:write", "openid"}})
	web := f.webClient("web")
	public := f.addClient(client.Registration{Name: "pub", Type: store.ClientPublic, RedirectURIs: []string{testRedirect},
		GrantTypes: []string{client.GrantAuthorizationCode}, Scopes: []string{"orders:read"}})
	tests := []struct {
		name   string
		client store.Client
		scope  string
		want   string // scope granted
		code   string
	}{
		{name: "default scope", client: svc, want: "orders:read orders:write"},
		{name: "narrower", client: svc, scope: "orders:read", want: "orders:read"},
		{name: "unsorted with duplicates", client: svc, scope: "orders:write orders:read orders:write", want: "orders:read orders:write"},
		{name: "unregistered scope", client: svc, scope: "orders:read admin", code: oauth.CodeInvalidScope},
		{name: "openid is for users", client: svc, scope: "openid", code: oauth.CodeInvalidScope},
		{name: "client without the grant", client: web, code: oauth.CodeUnauthorizedClient},
		{name: "public client", client: public, code: oauth.CodeUnauthorizedClient},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := f.p.ClientCredentials(t.Context(), tc.client, tc.scope)
			if tc.code != "" {
				wantCode(t, "ClientCredentials", err, tc.code)
				return
			}
			if err != nil {
				t.Fatalf("ClientCredentials = %v, want nil", err)
			}
			c := tok.Claims
			if c.Subject != tc.client.ID || c.ClientID != tc.client.ID || c.SessionID != "" || len(c.Roles) != 0 || c.Scope != tc.want || tok.Scope != tc.want {
				t.Errorf("ClientCredentials claims = %+v, want sub = client_id = %s, no sid, no roles, scope %q", c, tc.client.ID, tc.want)
			}
			if tok.RefreshToken != "" || tok.IDToken != "" {
				t.Errorf("ClientCredentials gave a refresh token (%v) or an ID token (%v), want neither", tok.RefreshToken != "", tok.IDToken != "")
			}
		})
	}
}

func TestBrowserSessions(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	alice := f.addUser("alice@example.com")
	bob := f.addUser("bob@example.com")
	web := f.webClient("web")
	browser, cookie := f.browser(alice)
	other, _ := f.browser(alice)
	got, u, err := f.p.BrowserSession(ctx, cookie)
	if err != nil || got.ID != browser.ID || u.ID != alice.ID || got.AuthTime.IsZero() {
		t.Fatalf("BrowserSession = %s, %s, %v; want %s, %s, nil, with an auth time", got.ID, u.ID, err, browser.ID, alice.ID)
	}
	// Another character in the middle: the MAC no longer matches. (The
	// last character carries only two bits, so changing it to a fixed
	// letter would leave the token as it was one time in four.)
	mid, swap := len(cookie)/2, "A"
	if cookie[len(cookie)/2] == 'A' {
		swap = "B"
	}
	flipped := cookie[:mid] + swap + cookie[mid+1:]
	for _, bad := range []string{"", "garbage", flipped} {
		if _, _, err := f.p.BrowserSession(ctx, bad); !errors.Is(err, oauth.ErrLoginRequired) {
			t.Errorf("BrowserSession(%q) = %v, want login_required", bad, err)
		}
	}
	if _, err := f.p.IssueCode(ctx, oauth.Authorization{Client: web, CodeChallenge: testChallenge}, bob, browser); err == nil {
		t.Errorf("IssueCode(bob, alice's browser session) = nil, want an error")
	}

	var children []string
	for range 2 {
		_, code := f.authorize(web, alice, browser, "openid")
		tok, err := f.exchange(web, code)
		if err != nil {
			t.Fatal(err)
		}
		children = append(children, tok.Session.ID)
	}
	_, code := f.authorize(web, alice, other, "openid")
	unrelated, err := f.exchange(web, code)
	if err != nil {
		t.Fatal(err)
	}

	if err := f.p.EndBrowserSession(ctx, browser.ID, bob.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("EndBrowserSession(alice's session, bob) = %v, want store.ErrNotFound", err)
	}
	if err := f.p.EndBrowserSession(ctx, browser.ID, alice.ID); err != nil {
		t.Fatalf("EndBrowserSession = %v, want nil", err)
	}
	for _, id := range append([]string{browser.ID}, children...) {
		if s, _ := f.db.SessionByID(ctx, id); s.RevokedAt.IsZero() || s.RevokeReason != store.ReasonLogout {
			t.Errorf("session %s after EndBrowserSession: revoked %v (%s), want revoked for logout", id, s.RevokedAt, s.RevokeReason)
		}
	}
	for _, id := range []string{other.ID, unrelated.Session.ID} {
		if _, err := f.sessions.Active(ctx, id); err != nil {
			t.Errorf("session %s of another browser session after EndBrowserSession = %v, want active", id, err)
		}
	}
	if _, _, err := f.p.BrowserSession(ctx, cookie); !errors.Is(err, oauth.ErrLoginRequired) {
		t.Errorf("BrowserSession(ended) = %v, want login_required", err)
	}
}

func TestRevoke(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	alice := f.addUser("alice@example.com")
	web := f.webClient("web")
	other := f.webClient("other")
	browser, _ := f.browser(alice)
	issue := func() oauth.Tokens {
		_, code := f.authorize(web, alice, browser, "openid")
		tok, err := f.exchange(web, code)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	t.Run("refresh token of another client: left alone", func(t *testing.T) {
		tok := issue()
		if err := f.p.Revoke(ctx, other, tok.RefreshToken, ""); err != nil {
			t.Errorf("Revoke = %v, want nil (RFC 7009 §2.2)", err)
		}
		if _, err := f.sessions.Active(ctx, tok.Session.ID); err != nil {
			t.Errorf("session after another client's revocation = %v, want active", err)
		}
	})
	t.Run("refresh token", func(t *testing.T) {
		tok := issue()
		if err := f.p.Revoke(ctx, web, tok.RefreshToken, oauth.HintRefreshToken); err != nil {
			t.Errorf("Revoke = %v, want nil", err)
		}
		if _, err := f.sessions.Active(ctx, tok.Session.ID); !errors.Is(err, session.ErrEnded) {
			t.Errorf("session after revoking its refresh token = %v, want ended", err)
		}
	})
	t.Run("access token", func(t *testing.T) {
		tok := issue()
		_, head, _ := f.db.RevocationBounds(ctx)
		if err := f.p.Revoke(ctx, web, tok.AccessToken, oauth.HintAccessToken); err != nil {
			t.Errorf("Revoke = %v, want nil", err)
		}
		revs, err := f.db.RevocationsSince(ctx, head, 10)
		if err != nil || len(revs) != 1 || revs[0].Kind != store.KindToken || revs[0].Subject != tok.Claims.ID {
			t.Errorf("revocations after revoking an access token = %+v, %v; want one token revocation of its jti", revs, err)
		}
	})
	t.Run("access token of another client", func(t *testing.T) {
		tok := issue()
		_, head, _ := f.db.RevocationBounds(ctx)
		if err := f.p.Revoke(ctx, other, tok.AccessToken, ""); err != nil {
			t.Errorf("Revoke = %v, want nil", err)
		}
		if revs, _ := f.db.RevocationsSince(ctx, head, 10); len(revs) != 0 {
			t.Errorf("revocations after another client's revocation = %+v, want none", revs)
		}
	})
	t.Run("unknown token", func(t *testing.T) {
		if err := f.p.Revoke(ctx, web, "not-a-token", ""); err != nil {
			t.Errorf("Revoke(unknown) = %v, want nil", err)
		}
	})
	t.Run("no token", func(t *testing.T) {
		wantCode(t, "Revoke(no token)", f.p.Revoke(ctx, web, "", ""), oauth.CodeInvalidRequest)
	})
}

func TestUserInfo(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	alice := f.addUser("alice@example.com")
	web := f.webClient("web")
	browser, _ := f.browser(alice)
	_, code := f.authorize(web, alice, browser, "openid email")
	tok, err := f.exchange(web, code)
	if err != nil {
		t.Fatal(err)
	}
	info, err := f.p.UserInfo(ctx, tok.Claims)
	if err != nil || info["sub"] != alice.ID || info["email"] != alice.Email || info["email_verified"] != false {
		t.Errorf("UserInfo = %v, %v; want sub, email, email_verified", info, err)
	}
	noOpenID := tok.Claims
	noOpenID.Scope = "email"
	_, err = f.p.UserInfo(ctx, noOpenID)
	wantCode(t, "UserInfo(no openid)", err, oauth.CodeInsufficientScope)
	svc := f.addClient(client.Registration{Name: "svc", GrantTypes: []string{client.GrantClientCredentials}, Scopes: []string{"orders:read"}})
	ct, err := f.p.ClientCredentials(ctx, svc, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.p.UserInfo(ctx, ct.Claims)
	wantCode(t, "UserInfo(client token)", err, oauth.CodeInvalidToken)
}
