package oauth

import (
	"context"
	"errors"
	"fmt"

	"github.com/latch-auth/latch/internal/session"
	"github.com/latch-auth/latch/internal/store"
)

// PasswordLogin checks a user's credentials (login.Authenticator.Login,
// with its throttling and enumeration resistance; addr is the client
// address) and starts a session of latch's own first-party JSON API (/v1),
// with an access token (issuer.Issuer.Issue) and a refresh token. Its
// errors are those of login, session and issuer, as /v1 reports them.
func (p *Provider) PasswordLogin(ctx context.Context, email, password, addr string, meta session.Client) (Tokens, error) {
	u, err := p.d.Login.Login(ctx, email, password, addr)
	if err != nil {
		return Tokens{}, err
	}
	return p.StartV1(ctx, u, meta)
}

// StartV1 starts a /v1 session for u, who just authenticated (logged in
// or signed up), and issues its tokens.
func (p *Provider) StartV1(ctx context.Context, u store.User, meta session.Client) (Tokens, error) {
	sess, refresh, err := p.d.Sessions.Start(ctx, u.ID, meta)
	if err != nil {
		return Tokens{}, err
	}
	t, err := p.v1Tokens(u, sess, refresh)
	if err != nil {
		// No token reached the client (a token over the size budget,
		// custom claims refused): the session must not live on unheld.
		return Tokens{}, p.endUndelivered(ctx, sess.ID, err)
	}
	return t, nil
}

// endUndelivered ends the session whose tokens could not be issued (err,
// which it returns, joined with any failure to end it), with reason
// store.ReasonUndeliverable.
func (p *Provider) endUndelivered(ctx context.Context, sessionID string, err error) error {
	if endErr := p.d.Sessions.End(ctx, sessionID, "", store.ReasonUndeliverable); endErr != nil {
		return errors.Join(err, endErr)
	}
	return err
}

// RefreshV1 rotates the refresh token of a /v1 session
// (session.Manager.Rotate: grace window, reuse detection) and issues a
// new access token with the user's current roles. It refuses the token of
// an OAuth client's session or of a browser session with
// session.ErrInvalidToken, rotating nothing. A disabled user's session is
// ended (store.ReasonDisabled) and refused with session.ErrInvalidToken
// joined with ErrDisabled. Other errors are those of session and the
// store.
func (p *Provider) RefreshV1(ctx context.Context, refreshToken string) (Tokens, error) {
	return p.RefreshV1DPoP(ctx, refreshToken, "")
}

// RefreshV1DPoP is RefreshV1 for a request with a DPoP proof of the key
// whose thumbprint is jkt ("" for none). The refresh token of a session
// started with DPoP needs a proof of the same key (RFC 9449 §5): without
// one the request is invalid_dpop_proof, with another key's
// invalid_grant, and nothing is rotated.
func (p *Provider) RefreshV1DPoP(ctx context.Context, refreshToken, jkt string) (Tokens, error) {
	// Permissions are re-read on every refresh, in the rotation's own
	// transaction, so a changed role or a disabled account takes effect
	// within one access-token lifetime.
	sess, u, next, err := p.d.Sessions.RotateBound(ctx, refreshToken, "", jkt)
	if errors.Is(err, session.ErrDisabled) {
		return Tokens{}, fmt.Errorf("%w: %w", err, ErrDisabled)
	}
	if err != nil {
		return Tokens{}, bindingError(err)
	}
	return p.v1Tokens(u, sess, next)
}

// SessionV1 returns the /v1 session a refresh token belongs to, for a
// request the token authorizes without being rotated (a logout), and
// whether it is the session's current token rather than the predecessor
// of an unused current one (session.Manager.Authenticate). A token that
// a refresh would take for a reuse revokes its session here too
// (session.ErrReuse); the token of an OAuth client's or a browser session
// is session.ErrInvalidToken, as in RefreshV1. The refresh token of a
// session started with DPoP needs a proof of the same key (jkt), as in
// RefreshV1DPoP.
func (p *Provider) SessionV1(ctx context.Context, refreshToken, jkt string) (store.Session, bool, error) {
	if err := p.checkRefreshBinding(ctx, refreshToken, jkt); err != nil {
		return store.Session{}, false, err
	}
	return p.d.Sessions.Authenticate(ctx, refreshToken, "")
}

// v1Tokens issues the access token of a /v1 session.
func (p *Provider) v1Tokens(u store.User, sess store.Session, refresh string) (Tokens, error) {
	access, claims, err := p.d.Issuer.Issue(u, sess)
	if err != nil {
		return Tokens{}, err
	}
	return Tokens{
		AccessToken:  access,
		Claims:       claims,
		RefreshToken: refresh,
		ExpiresIn:    p.d.Issuer.AccessTTL(),
		Scope:        claims.Scope,
		Session:      sess,
		User:         u,
	}, nil
}
