// Package oauth is latch's OAuth 2.0 and OpenID Connect provider logic: the
// grants, token revocation and the UserInfo claims, as functions over
// requests and stores that return tokens or typed errors. It has no HTTP in
// it: internal/server adapts it to /v1 JSON, /oauth2 forms and the browser
// pages, as fosite keeps its flows apart from their transport.
//
// The flows follow RFC 6749 with the OAuth 2.0 Security BCP (RFC 9700):
//
//   - Authorization code (RFC 6749 §4.1) only, with PKCE S256 (RFC 7636)
//     required of every client; "plain" and the implicit and hybrid flows
//     do not exist. Redirect URIs match the registered ones exactly, but
//     for loopback ones, whose port may vary (RFC 8252 §7.3). A code is
//     single use, lives at most Config.CodeTTL (60 s), and is bound to its
//     client, redirect URI and PKCE challenge; a code presented again
//     revokes the session its first redemption started (RFC 6749 §4.1.2).
//   - Refresh tokens (RFC 6749 §6) are those of internal/session, with its
//     rotation, grace window and reuse detection; a session belongs to the
//     client it was issued to, and /v1 sessions and OAuth sessions never
//     cross over.
//   - Client credentials (RFC 6749 §4.4) for confidential clients only,
//     with no refresh token and no ID token.
//   - ID tokens (OpenID Connect Core 1.0 §2) carry nonce, at_hash,
//     auth_time, sid (the browser session), amr and azp, and are signed
//     with RS256 by the keyring's ID-token key.
//
// Errors are *Error values carrying an RFC 6749 error code; test them with
// errors.Is against the Err… sentinels, which compare codes.
package oauth

import (
	"errors"
	"time"

	"github.com/latch-auth/latch/internal/client"
	"github.com/latch-auth/latch/internal/issuer"
	"github.com/latch-auth/latch/internal/keyring"
	"github.com/latch-auth/latch/internal/login"
	"github.com/latch-auth/latch/internal/session"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/jwt"
)

// Error codes (RFC 6749 §4.1.2.1, §5.2; RFC 6750 §3.1; OpenID Connect Core
// 1.0 §3.1.2.6).
const (
	CodeInvalidRequest           = "invalid_request"
	CodeInvalidClient            = "invalid_client"
	CodeInvalidGrant             = "invalid_grant"
	CodeUnauthorizedClient       = "unauthorized_client"
	CodeUnsupportedGrantType     = "unsupported_grant_type"
	CodeInvalidScope             = "invalid_scope"
	CodeAccessDenied             = "access_denied"
	CodeUnsupportedResponseType  = "unsupported_response_type"
	CodeLoginRequired            = "login_required"
	CodeConsentRequired          = "consent_required"
	CodeServerError              = "server_error"
	CodeTemporarilyUnavailable   = "temporarily_unavailable"
	CodeRequestNotSupported      = "request_not_supported"
	CodeRequestURINotSupported   = "request_uri_not_supported"
	CodeRegistrationNotSupported = "registration_not_supported"
	CodeInvalidToken             = "invalid_token"
	CodeInsufficientScope        = "insufficient_scope"
	CodeUnsupportedTokenType     = "unsupported_token_type"
	CodeInvalidDPoPProof         = "invalid_dpop_proof" // RFC 9449 §5.10
)

// Error is an OAuth 2.0 error (RFC 6749 §4.1.2.1, §5.2; OpenID Connect Core
// 1.0 §3.1.2.6): a code from the list above, a description for the
// client's developer (never holding a secret or a token), and the cause,
// if any.
type Error struct {
	Code        string
	Description string
	Err         error
}

// Error returns "oauth: CODE: DESCRIPTION".
func (e *Error) Error() string {
	s := "oauth: " + e.Code
	if e.Description != "" {
		s += ": " + e.Description
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is an *Error with the same code, so that
// errors.Is(err, ErrInvalidGrant) holds for every invalid_grant.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinels, one per code; errors.Is(err, ErrX) matches every *Error with
// that code.
var (
	ErrInvalidRequest           = &Error{Code: CodeInvalidRequest}
	ErrInvalidClient            = &Error{Code: CodeInvalidClient}
	ErrInvalidGrant             = &Error{Code: CodeInvalidGrant}
	ErrUnauthorizedClient       = &Error{Code: CodeUnauthorizedClient}
	ErrUnsupportedGrantType     = &Error{Code: CodeUnsupportedGrantType}
	ErrInvalidScope             = &Error{Code: CodeInvalidScope}
	ErrAccessDenied             = &Error{Code: CodeAccessDenied}
	ErrUnsupportedResponseType  = &Error{Code: CodeUnsupportedResponseType}
	ErrLoginRequired            = &Error{Code: CodeLoginRequired}
	ErrConsentRequired          = &Error{Code: CodeConsentRequired}
	ErrServerError              = &Error{Code: CodeServerError}
	ErrTemporarilyUnavailable   = &Error{Code: CodeTemporarilyUnavailable}
	ErrRequestNotSupported      = &Error{Code: CodeRequestNotSupported}
	ErrRequestURINotSupported   = &Error{Code: CodeRequestURINotSupported}
	ErrRegistrationNotSupported = &Error{Code: CodeRegistrationNotSupported}
	ErrInvalidToken             = &Error{Code: CodeInvalidToken}
	ErrInsufficientScope        = &Error{Code: CodeInsufficientScope}
	ErrUnsupportedTokenType     = &Error{Code: CodeUnsupportedTokenType}
	ErrInvalidDPoPProof         = &Error{Code: CodeInvalidDPoPProof}
)

// DefaultCodeTTL is Config.CodeTTL's default and maximum.
const DefaultCodeTTL = 60 * time.Second

// Config tunes a Provider.
type Config struct {
	// Issuer is the issuer URL ("iss", RFC 9207's iss parameter).
	// Required.
	Issuer string
	// Audience is the audience of the access tokens the provider issues
	// (as issuer.Config.Audience). Informational; required.
	Audience []string
	// CodeTTL is the lifetime of authorization codes. Default and
	// maximum DefaultCodeTTL.
	CodeTTL time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Deps are the components a Provider works with. Users, Sessions, Issuer
// and Login are required: they are all the /v1 grants (PasswordLogin,
// RefreshV1) use. The OAuth endpoints need Clients, Codes and Consents
// too, and return an error without them. Keys and Revocations, both or
// neither, let Revoke revoke access tokens (by their "jti") besides
// refresh tokens.
type Deps struct {
	Users       store.Users
	Clients     store.Clients
	Codes       store.AuthCodes
	Consents    store.Consents
	Sessions    *session.Manager
	Issuer      *issuer.Issuer
	Login       *login.Authenticator
	Keys        *keyring.Ring
	Revocations store.Revocations
}

// Provider runs the grants. It is safe for concurrent use.
type Provider struct {
	cfg Config
	d   Deps
}

// oauthReady reports whether p has what the OAuth grants need.
func (p *Provider) oauthReady() error {
	if p.d.Clients == nil || p.d.Codes == nil || p.d.Consents == nil {
		return errf(CodeServerError, "the OAuth provider is not configured")
	}
	return nil
}

// errf returns an *Error with code and description.
func errf(code, desc string) *Error { return &Error{Code: code, Description: desc} }

// wrapf returns an *Error with code, description and cause.
func wrapf(code, desc string, err error) *Error {
	return &Error{Code: code, Description: desc, Err: err}
}

// New returns a Provider.
func New(cfg Config, d Deps) (*Provider, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("oauth: issuer is required")
	}
	if d.Users == nil || d.Sessions == nil || d.Issuer == nil || d.Login == nil {
		return nil, errors.New("oauth: missing dependency")
	}
	if (d.Keys == nil) != (d.Revocations == nil) {
		return nil, errors.New("oauth: Keys and Revocations go together")
	}
	if cfg.CodeTTL <= 0 || cfg.CodeTTL > DefaultCodeTTL {
		cfg.CodeTTL = DefaultCodeTTL
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Provider{cfg: cfg, d: d}, nil
}

// Issuer returns the issuer URL, for RFC 9207's iss parameter.
func (p *Provider) Issuer() string { return p.cfg.Issuer }

// Tokens is what a grant yields.
type Tokens struct {
	// AccessToken is the signed access token and Claims its claims.
	AccessToken string
	Claims      jwt.Claims
	// RefreshToken is empty when the grant issues none.
	RefreshToken string
	// IDToken is empty when the grant issues none.
	IDToken string
	// ExpiresIn is the access token's lifetime.
	ExpiresIn time.Duration
	// Scope is the granted scope, space-separated.
	Scope string
	// Session is the session the tokens belong to; zero for client
	// credentials.
	Session store.Session
	// User is the user the tokens are for; zero for client credentials.
	User store.User
}

// BrowserClientID is the store.Session ClientID of browser (single
// sign-on) sessions, which no registered client can have (their IDs are
// "c_" and hex). A browser session's refresh token is the value of the
// browser's cookie: it is never redeemed at a token endpoint, only looked
// up (BrowserSession).
const BrowserClientID = "latch:browser"

// ErrDisabled is joined to the refresh error of a disabled user's session,
// which the refresh ended (reason store.ReasonDisabled).
var ErrDisabled = errors.New("oauth: account disabled")

// Scopes with a meaning to latch's own endpoints, never granted to users'
// tokens: the client holds them, and they are checked when the client
// authenticates.
var serviceScopes = []string{client.ScopeIntrospect, client.ScopeRevocationsRead}

// oidcScopes are the OpenID Connect scopes, which only mean something for a
// user: a client's own token (client credentials) never carries them.
var oidcScopes = []string{client.ScopeOpenID, client.ScopeProfile, client.ScopeEmail, client.ScopeOfflineAccess}
