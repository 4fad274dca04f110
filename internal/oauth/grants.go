package oauth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/latch-auth/latch/internal/client"
	"github.com/latch-auth/latch/internal/issuer"
	"github.com/latch-auth/latch/internal/session"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/jwt"
)

// maxCodeLength bounds a presented authorization code; latch's are 43
// characters.
const maxCodeLength = 256

// ExchangeCode redeems an authorization code for the client c, which the
// caller has authenticated (client.Authenticator.AuthenticateRequest)
// before the code is touched (RFC 6749 §4.1.3, RFC 7636 §4.6).
//
// The client must be registered for authorization_code
// (unauthorized_client). code and code_verifier are required
// (invalid_request; a malformed verifier is invalid_grant). The code is
// then redeemed, once: a code that is unknown, expired (Config.CodeTTL),
// issued to another client, for another redirect URI (when the
// authorization request named one, redirectURI must be the same string;
// when it did not, redirectURI may be empty or a registered URI), or
// whose PKCE challenge the verifier does not match is invalid_grant, and
// spent. A code presented again after its redemption is invalid_grant and
// revokes the session its first redemption started (reason reuse, with a
// revocation for the feed), since someone else holds it (RFC 6749
// §4.1.2). So does a code whose browser session has ended meanwhile, or
// whose user is disabled or gone, without a session.
//
// The tokens: an access token for the user, with sid the new session (a
// child of the browser session the user authorized in), client_id c.ID
// and the granted scope; a refresh token when the client is registered
// for refresh_token; an ID token when the scope holds openid (nonce,
// at_hash, auth_time, sid the browser session, amr, azp).
func (p *Provider) ExchangeCode(ctx context.Context, c store.Client, code, redirectURI, verifier string, meta session.Client) (Tokens, error) {
	if err := p.oauthReady(); err != nil {
		return Tokens{}, err
	}
	switch {
	case !client.HasGrantType(c, client.GrantAuthorizationCode):
		return Tokens{}, errf(CodeUnauthorizedClient, "the client may not use the authorization code grant")
	case code == "":
		return Tokens{}, errf(CodeInvalidRequest, "code is required")
	case verifier == "":
		return Tokens{}, errf(CodeInvalidRequest, "code_verifier is required (PKCE, RFC 7636)")
	case len(code) > maxCodeLength:
		return Tokens{}, errf(CodeInvalidGrant, "unknown authorization code")
	}
	hash := codeHash(code)
	now := p.cfg.Now()
	ac, err := p.d.Codes.RedeemAuthCode(ctx, hash, now)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return Tokens{}, errf(CodeInvalidGrant, "unknown authorization code")
	case errors.Is(err, store.ErrCodeReplayed):
		if ac.SessionID != "" {
			if endErr := p.d.Sessions.End(ctx, ac.SessionID, "", store.ReasonReuse); endErr != nil {
				return Tokens{}, endErr
			}
		}
		return Tokens{}, wrapf(CodeInvalidGrant, "authorization code already used; what it issued is revoked", err)
	case err != nil:
		return Tokens{}, err
	}
	switch {
	case ac.ClientID != c.ID:
		return Tokens{}, errf(CodeInvalidGrant, "authorization code issued to another client")
	case !now.Before(ac.ExpiresAt):
		return Tokens{}, errf(CodeInvalidGrant, "authorization code expired")
	case ac.RedirectURI != "" && redirectURI != ac.RedirectURI:
		return Tokens{}, errf(CodeInvalidGrant, "redirect_uri differs from the authorization request's")
	case ac.RedirectURI == "" && redirectURI != "" && !slices.Contains(c.RedirectURIs, redirectURI):
		return Tokens{}, errf(CodeInvalidGrant, "redirect_uri is not registered for the client")
	case !verifierMatches(verifier, ac.CodeChallenge):
		return Tokens{}, errf(CodeInvalidGrant, "code_verifier does not match the code_challenge")
	}
	if _, err := p.d.Sessions.Active(ctx, ac.BrowserSessionID); err != nil {
		if errors.Is(err, session.ErrEnded) {
			return Tokens{}, wrapf(CodeInvalidGrant, "the browser session ended", err)
		}
		return Tokens{}, err
	}
	u, err := p.activeUser(ctx, ac.UserID)
	if err != nil {
		return Tokens{}, err
	}
	// The access token is bound to the DPoP key of the request, if any;
	// so is the refresh token of a public client. A confidential client's
	// is bound to its credentials instead, and may be used with another
	// key (RFC 9449 §5).
	jkt := meta.DPoPJKT
	if c.Type != store.ClientPublic {
		meta.DPoPJKT = ""
	}
	sess, refresh, err := p.d.Sessions.StartGrant(ctx, u.ID, meta, session.Grant{
		ClientID: c.ID, ParentID: ac.BrowserSessionID, Scopes: ac.Scopes, AuthTime: ac.AuthTime,
	})
	if err != nil {
		return Tokens{}, err
	}
	if err := p.d.Codes.BindAuthCode(ctx, hash, sess.ID); err != nil {
		// Replayed meanwhile (or a failure): the session must not
		// outlive the code's single use.
		if endErr := p.d.Sessions.End(ctx, sess.ID, "", store.ReasonReuse); endErr != nil {
			return Tokens{}, endErr
		}
		if errors.Is(err, store.ErrCodeReplayed) {
			return Tokens{}, wrapf(CodeInvalidGrant, "authorization code already used; what it issued is revoked", err)
		}
		return Tokens{}, err
	}
	if !client.HasGrantType(c, client.GrantRefreshToken) {
		refresh = ""
	}
	sess.DPoPJKT = jkt
	t, err := p.userTokens(c, u, sess, ac.Scopes, refresh, ac.Nonce)
	if err != nil {
		return Tokens{}, p.endUndelivered(ctx, sess.ID, err)
	}
	return t, nil
}

// activeUser returns the user with ID id if it exists and is not
// disabled, and invalid_grant otherwise.
func (p *Provider) activeUser(ctx context.Context, id string) (store.User, error) {
	u, err := p.d.Users.UserByID(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return store.User{}, wrapf(CodeInvalidGrant, "the user no longer exists", err)
	case err != nil:
		return store.User{}, err
	case u.Disabled:
		return store.User{}, wrapf(CodeInvalidGrant, "the account is disabled", ErrDisabled)
	}
	return u, nil
}

// userTokens issues the access token of a client's session, and its ID
// token when scopes hold openid.
func (p *Provider) userTokens(c store.Client, u store.User, sess store.Session, scopes []string, refresh, nonce string) (Tokens, error) {
	scope := strings.Join(scopes, " ")
	access, claims, err := p.d.Issuer.IssueAccess(issuer.AccessParams{
		Subject:         u.ID,
		ClientID:        c.ID,
		SessionID:       sess.ID,
		Scope:           scope,
		Roles:           u.Roles,
		Claims:          u.Claims,
		TokensRevokedAt: u.TokensRevokedAt,
		DPoPJKT:         sess.DPoPJKT,
	})
	if err != nil {
		return Tokens{}, err
	}
	t := Tokens{
		AccessToken:  access,
		Claims:       claims,
		RefreshToken: refresh,
		ExpiresIn:    p.d.Issuer.AccessTTL(),
		Scope:        scope,
		Session:      sess,
		User:         u,
	}
	if slices.Contains(scopes, client.ScopeOpenID) {
		auth := sess.AuthTime
		if auth.IsZero() {
			auth = sess.CreatedAt
		}
		t.IDToken, err = p.d.Issuer.IssueID(issuer.IDParams{
			Subject:     u.ID,
			ClientID:    c.ID,
			SessionID:   sess.ParentID,
			AuthTime:    auth,
			Nonce:       nonce,
			AccessToken: access,
			Scope:       scope,
			Email:       u.Email,
			Claims:      u.Claims,
		})
		if err != nil {
			return Tokens{}, err
		}
	}
	return t, nil
}

// RefreshToken rotates the refresh token of c's session (RFC 6749 §6)
// with internal/session's rotation, grace window and reuse detection,
// and issues a new access token with the user's current roles, and a new
// ID token (same sid and auth_time, no nonce) when the scope holds
// openid.
//
// The client must be registered for refresh_token (unauthorized_client);
// refresh_token is required (invalid_request). A token that is not an
// active session's current token, or belongs to another client's session
// or to a /v1 or browser session, is invalid_grant, and only the session
// it belongs to can be touched: a reused token revokes its session
// (errors.Is session.ErrReuse), another client's is left as it was. A
// scope narrower than the session's is granted to this access token
// alone; one wider is invalid_scope (checked before rotating). A disabled
// user's session is ended: invalid_grant.
func (p *Provider) RefreshToken(ctx context.Context, c store.Client, refreshToken, scope string) (Tokens, error) {
	return p.RefreshTokenDPoP(ctx, c, refreshToken, scope, "")
}

// RefreshTokenDPoP is RefreshToken for a request with a DPoP proof of the
// key whose thumbprint is jkt ("" for none; RFC 9449 §5). The new access
// token is bound to that key. A session bound to a key (a public client's
// that started with DPoP) needs a proof of the same key: without one the
// request is invalid_dpop_proof, with another key's invalid_grant, and
// nothing is rotated.
func (p *Provider) RefreshTokenDPoP(ctx context.Context, c store.Client, refreshToken, scope, jkt string) (Tokens, error) {
	switch {
	case !client.HasGrantType(c, client.GrantRefreshToken):
		return Tokens{}, errf(CodeUnauthorizedClient, "the client may not use the refresh token grant")
	case refreshToken == "":
		return Tokens{}, errf(CodeInvalidRequest, "refresh_token is required")
	}
	requested := parseScope(scope)
	if len(requested) > 0 {
		s, err := p.d.Sessions.Lookup(ctx, refreshToken)
		if err != nil {
			return Tokens{}, refreshError(err)
		}
		if s.ClientID != c.ID {
			return Tokens{}, errf(CodeInvalidGrant, "refresh token is invalid, expired or revoked")
		}
		for _, r := range requested {
			if !slices.Contains(s.Scopes, r) {
				return Tokens{}, errf(CodeInvalidScope, fmt.Sprintf("scope %q was not granted to the session", r))
			}
		}
	}
	sess, u, next, err := p.d.Sessions.RotateBound(ctx, refreshToken, c.ID, jkt)
	if errors.Is(err, session.ErrDisabled) {
		// The rotation ended the session instead.
		return Tokens{}, wrapf(CodeInvalidGrant, "the account is disabled", errors.Join(ErrDisabled, err))
	}
	if err != nil {
		return Tokens{}, refreshError(bindingError(err))
	}
	sess.DPoPJKT = jkt // the key this access token is bound to
	granted := sess.Scopes
	if len(requested) > 0 {
		granted = requested
	}
	// A scope the client no longer holds is no longer granted.
	granted = slices.DeleteFunc(slices.Clone(granted), func(s string) bool { return !client.HasScope(c, s) })
	return p.userTokens(c, u, sess, granted, next, "")
}

// checkRefreshBinding refuses, before anything rotates, a refresh token
// whose session is bound to a DPoP key without a proof of that key (jkt
// is the proof's thumbprint, "" for none). A token that is not a
// session's is left to the rotation to refuse. Refreshes check the
// binding in the rotation instead (session.Manager.RotateBound).
func (p *Provider) checkRefreshBinding(ctx context.Context, refreshToken, jkt string) error {
	s, err := p.d.Sessions.Lookup(ctx, refreshToken)
	if err != nil || s.DPoPJKT == "" {
		return nil
	}
	switch {
	case jkt == "":
		return errf(CodeInvalidDPoPProof, "the refresh token is DPoP-bound: a DPoP proof of its key is required")
	case subtle.ConstantTimeCompare([]byte(jkt), []byte(s.DPoPJKT)) != 1:
		return errf(CodeInvalidGrant, "the refresh token is bound to another DPoP key")
	}
	return nil
}

// bindingError maps the refusal of a DPoP-bound refresh token
// (session.RotateBound) to its OAuth error: without a proof of the
// session's key invalid_dpop_proof, with another key's invalid_grant.
// Other errors are returned as they are.
func bindingError(err error) error {
	switch {
	case errors.Is(err, session.ErrDPoPProofRequired):
		return errf(CodeInvalidDPoPProof, "the refresh token is DPoP-bound: a DPoP proof of its key is required")
	case errors.Is(err, session.ErrDPoPKey):
		return errf(CodeInvalidGrant, "the refresh token is bound to another DPoP key")
	}
	return err
}

// refreshError maps a session error of a refresh to invalid_grant,
// keeping it as the cause (errors.Is session.ErrReuse tells a reuse).
func refreshError(err error) error {
	switch {
	case errors.Is(err, session.ErrReuse):
		return wrapf(CodeInvalidGrant, "refresh token reuse detected; the session has been revoked", err)
	case errors.Is(err, session.ErrInvalidToken):
		return wrapf(CodeInvalidGrant, "refresh token is invalid, expired or revoked", err)
	}
	return err
}

// ClientCredentials issues c a token of its own (RFC 6749 §4.4): sub and
// client_id c.ID, the granted scope, no session, no roles, no refresh
// token (§4.4.3), no ID token.
//
// The client must be confidential and registered for client_credentials
// (unauthorized_client). Without a scope it is granted every scope it
// holds but the OpenID Connect ones (openid, profile, email,
// offline_access), which are about users; a requested scope must be one
// of those (invalid_scope).
func (p *Provider) ClientCredentials(ctx context.Context, c store.Client, scope string) (Tokens, error) {
	return p.ClientCredentialsDPoP(ctx, c, scope, "")
}

// ClientCredentialsDPoP is ClientCredentials for a request with a DPoP
// proof of the key whose thumbprint is jkt ("" for none): the token is
// bound to that key (RFC 9449 §5).
func (p *Provider) ClientCredentialsDPoP(ctx context.Context, c store.Client, scope, jkt string) (Tokens, error) {
	if c.Type != store.ClientConfidential || !client.HasGrantType(c, client.GrantClientCredentials) {
		return Tokens{}, errf(CodeUnauthorizedClient, "the client may not use the client credentials grant")
	}
	var allowed []string
	for _, s := range c.Scopes {
		if !slices.Contains(oidcScopes, s) {
			allowed = append(allowed, s)
		}
	}
	granted := allowed
	if scope != "" {
		granted = parseScope(scope)
		for _, s := range granted {
			if !slices.Contains(allowed, s) {
				return Tokens{}, errf(CodeInvalidScope, fmt.Sprintf("scope %q is not registered for the client's own tokens", s))
			}
		}
	}
	slices.Sort(granted)
	sc := strings.Join(granted, " ")
	access, claims, err := p.d.Issuer.IssueAccess(issuer.AccessParams{Subject: c.ID, ClientID: c.ID, Scope: sc, DPoPJKT: jkt})
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{AccessToken: access, Claims: claims, ExpiresIn: p.d.Issuer.AccessTTL(), Scope: sc}, nil
}

// HintAccessToken and HintRefreshToken are the token type hints of RFC
// 7009 §2.1.
const (
	HintAccessToken  = "access_token"
	HintRefreshToken = "refresh_token"
)

// Revoke revokes a token that was issued to the client c (RFC 7009 §2.1).
// A refresh token ends its session (reason logout, with a revocation for
// the feed), which makes every access token of the session invalid too.
// An access token, when the Provider has Keys and Revocations, is revoked
// by its "jti" (a token revocation for the feed). hint says which kind to
// try first; an unknown hint is ignored. A token that is invalid,
// unknown, expired, or issued to another client is not an error (RFC
// 7009 §2.2: the client cannot do anything about it) and is left alone.
func (p *Provider) Revoke(ctx context.Context, c store.Client, token, hint string) error {
	if token == "" {
		return errf(CodeInvalidRequest, "token is required")
	}
	refresh := func() (bool, error) { return p.revokeRefresh(ctx, c, token) }
	access := func() (bool, error) { return p.revokeAccess(ctx, c, token) }
	order := [2]func() (bool, error){refresh, access}
	if hint == HintAccessToken {
		order[0], order[1] = access, refresh
	}
	for _, try := range order {
		done, err := try()
		if err != nil || done {
			return err
		}
	}
	return nil
}

// revokeRefresh revokes token as a refresh token of c; done is false if
// it is not one.
func (p *Provider) revokeRefresh(ctx context.Context, c store.Client, token string) (bool, error) {
	if len(token) != session.EncodedLen {
		return false, nil
	}
	s, err := p.d.Sessions.Lookup(ctx, token)
	if errors.Is(err, session.ErrInvalidToken) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if s.ClientID != c.ID {
		return true, nil // another client's, or a /v1 or browser session: left alone
	}
	return true, p.d.Sessions.End(ctx, s.ID, s.UserID, store.ReasonLogout)
}

// revokeMargin is how long after its expiry a revoked access token's
// record stays in the feed: verifiers accept a token a little past its
// "exp" (clock skew).
const revokeMargin = 5 * time.Minute

// revokeAccess revokes token as an access token of c; done is false if
// it is not one of this server's.
func (p *Provider) revokeAccess(ctx context.Context, c store.Client, token string) (bool, error) {
	if p.d.Keys == nil {
		return false, nil
	}
	claims, ok, err := p.verifyAccess(token)
	if err != nil || !ok {
		return false, err
	}
	if claims.ClientID != c.ID || claims.ID == "" {
		return true, nil
	}
	r := store.Revocation{
		Kind:    store.KindToken,
		Subject: claims.ID,
		Reason:  store.ReasonLogout,
		At:      p.cfg.Now(),
		Expires: claims.ExpiresAt.Add(revokeMargin),
	}
	if claims.SessionID != "" {
		r.UserID = claims.Subject
	}
	if _, err := p.d.Revocations.AddRevocation(ctx, r); err != nil {
		return true, err
	}
	return true, nil
}

// verifyAccess verifies token as an unexpired access token of this
// server, for one of Config.Audience; ok is false if it is not one.
func (p *Provider) verifyAccess(token string) (jwt.Claims, bool, error) {
	keys, err := p.d.Keys.VerificationKeys()
	if err != nil {
		return jwt.Claims{}, false, err
	}
	for _, aud := range p.cfg.Audience {
		v, err := jwt.NewValidator(keys, p.cfg.Issuer, aud, jwt.ValidatorOptions{Type: jwt.TypeAccessToken, Now: p.cfg.Now})
		if err != nil {
			return jwt.Claims{}, false, err
		}
		claims, err := v.Parse(token)
		if errors.Is(err, jwt.ErrAudience) {
			continue
		}
		if err != nil {
			return jwt.Claims{}, false, nil
		}
		return claims, true, nil
	}
	return jwt.Claims{}, false, nil
}

// UserInfo returns the claims about the user an access token is for
// (OpenID Connect Core 1.0 §5.3), given the token's verified claims: sub;
// with scope email, email and email_verified; with scope profile,
// updated_at and the user's custom claims (store.User.Claims), as the ID
// token has them. The token must hold the scope openid (insufficient_scope)
// and be a user's token whose user exists and is not disabled
// (invalid_token).
func (p *Provider) UserInfo(ctx context.Context, claims jwt.Claims) (map[string]any, error) {
	if claims.SessionID == "" || claims.Subject == "" {
		return nil, errf(CodeInvalidToken, "not a user's access token")
	}
	if !claims.HasScope(client.ScopeOpenID) {
		return nil, errf(CodeInsufficientScope, "the access token lacks the scope openid")
	}
	u, err := p.d.Users.UserByID(ctx, claims.Subject)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, errf(CodeInvalidToken, "no such user")
	case err != nil:
		return nil, err
	case u.Disabled:
		return nil, errf(CodeInvalidToken, "the account is disabled")
	}
	info := map[string]any{"sub": u.ID}
	if claims.HasScope(client.ScopeEmail) {
		info["email"] = u.Email
		info["email_verified"] = false
	}
	if claims.HasScope(client.ScopeProfile) {
		if !u.UpdatedAt.IsZero() {
			info["updated_at"] = u.UpdatedAt.Unix()
		}
		// The names are not reserved (issuer.CheckClaims), so none
		// replaces a claim above; checked again all the same.
		for name, v := range u.Claims {
			if !issuer.IsReservedClaim(name) {
				info[name] = v
			}
		}
	}
	return info, nil
}
