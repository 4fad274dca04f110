package oauth

// What the account page needs: the user's consents, and withdrawing one.

import (
	"context"
	"fmt"

	"github.com/latch-auth/latch/internal/store"
)

// Consents returns the user's consents to third-party clients, newest
// first, for the account page.
func (p *Provider) Consents(ctx context.Context, userID string) ([]store.Consent, error) {
	if err := p.oauthReady(); err != nil {
		return nil, err
	}
	list, err := p.d.Consents.ListConsents(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("oauth: consents: %w", err)
	}
	return list, nil
}

// RevokeConsent withdraws the user's consent to the client and ends the
// user's sessions of that client (each with a revocation for the feed),
// so that the client loses the access the consent gave it. It returns an
// error matching store.ErrNotFound if the user had not consented to the
// client.
func (p *Provider) RevokeConsent(ctx context.Context, userID, clientID string) error {
	if err := p.oauthReady(); err != nil {
		return err
	}
	if err := p.d.Consents.RevokeConsent(ctx, userID, clientID); err != nil {
		return fmt.Errorf("oauth: revoke consent: %w", err)
	}
	list, err := p.d.Sessions.List(ctx, userID)
	if err != nil {
		return fmt.Errorf("oauth: revoke consent: %w", err)
	}
	for _, s := range list {
		if s.ClientID != clientID {
			continue
		}
		if err := p.d.Sessions.End(ctx, s.ID, userID, store.ReasonLogout); err != nil {
			return fmt.Errorf("oauth: revoke consent: %w", err)
		}
	}
	return nil
}

// AuthTooOld reports whether the request's max_age asks for a more recent
// sign-in than the browser session's (OpenID Connect Core 1.0 §3.1.2.1:
// max_age=0 always does), by the provider's clock.
func (p *Provider) AuthTooOld(a Authorization, browser store.Session) bool {
	if !a.HasMaxAge {
		return false
	}
	at := browser.AuthTime
	if at.IsZero() {
		at = browser.CreatedAt
	}
	return a.MaxAge <= 0 || p.cfg.Now().Sub(at) > a.MaxAge
}
