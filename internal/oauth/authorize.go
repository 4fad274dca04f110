package oauth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latch-auth/latch/internal/client"
	"github.com/latch-auth/latch/internal/session"
	"github.com/latch-auth/latch/internal/store"
)

// Limits on authorization request parameters, so that a code's record
// stays small.
const (
	// MaxStateLength bounds the state parameter in bytes.
	MaxStateLength = 1024
	// MaxNonceLength bounds the nonce parameter in bytes.
	MaxNonceLength = 512
)

// CodeChallengeMethod is the only PKCE method latch accepts (RFC 7636
// §4.2; RFC 9700 §2.1.1: "plain" is refused).
const CodeChallengeMethod = "S256"

// AuthorizeRequest is an authorization request's parameters (RFC 6749
// §4.1.1, RFC 7636 §4.3, OpenID Connect Core 1.0 §3.1.2.1), as
// ParseAuthorizeRequest reads them. Parameters not listed are ignored.
type AuthorizeRequest struct {
	ClientID            string
	RedirectURI         string
	ResponseType        string
	Scope               string
	State               string
	Nonce               string
	CodeChallenge       string
	CodeChallengeMethod string
	Prompt              string
	MaxAge              string
	ResponseMode        string
	// Request, RequestURI and Registration are OpenID Connect parameters
	// latch does not support (Core §6, Registration §2): present, they
	// are refused with request_not_supported, request_uri_not_supported
	// and registration_not_supported.
	Request      string
	RequestURI   string
	Registration string
	// Repeated lists the parameters above that were sent more than once,
	// which RFC 6749 §3.1 forbids (invalid_request); their first value is
	// kept.
	Repeated []string
}

// authorizeParams are the parameters ParseAuthorizeRequest reads, with
// where it puts them.
var authorizeParams = []struct {
	name  string
	field func(*AuthorizeRequest) *string
}{
	{"client_id", func(r *AuthorizeRequest) *string { return &r.ClientID }},
	{"redirect_uri", func(r *AuthorizeRequest) *string { return &r.RedirectURI }},
	{"response_type", func(r *AuthorizeRequest) *string { return &r.ResponseType }},
	{"scope", func(r *AuthorizeRequest) *string { return &r.Scope }},
	{"state", func(r *AuthorizeRequest) *string { return &r.State }},
	{"nonce", func(r *AuthorizeRequest) *string { return &r.Nonce }},
	{"code_challenge", func(r *AuthorizeRequest) *string { return &r.CodeChallenge }},
	{"code_challenge_method", func(r *AuthorizeRequest) *string { return &r.CodeChallengeMethod }},
	{"prompt", func(r *AuthorizeRequest) *string { return &r.Prompt }},
	{"max_age", func(r *AuthorizeRequest) *string { return &r.MaxAge }},
	{"response_mode", func(r *AuthorizeRequest) *string { return &r.ResponseMode }},
	{"request", func(r *AuthorizeRequest) *string { return &r.Request }},
	{"request_uri", func(r *AuthorizeRequest) *string { return &r.RequestURI }},
	{"registration", func(r *AuthorizeRequest) *string { return &r.Registration }},
}

// ParseAuthorizeRequest reads an authorization request from its query
// (or, for a form post, its form). Parameters sent more than once are
// listed in Repeated, their first value kept, for Validate to refuse.
func ParseAuthorizeRequest(q url.Values) AuthorizeRequest {
	var r AuthorizeRequest
	for _, p := range authorizeParams {
		vs := q[p.name]
		if len(vs) == 0 {
			continue
		}
		*p.field(&r) = vs[0]
		if len(vs) > 1 {
			r.Repeated = append(r.Repeated, p.name)
		}
	}
	return r
}

// Authorization is a validated authorization request.
type Authorization struct {
	Client store.Client
	// RedirectURI is where the response goes: the request's redirect_uri,
	// or the client's only one when the request named none.
	RedirectURI string
	// RequestedRedirectURI is the redirect_uri parameter as sent, empty
	// if there was none: the token request must then repeat it (RFC 6749
	// §4.1.3).
	RequestedRedirectURI string
	// Scopes are the requested scopes, sorted, without duplicates.
	Scopes        []string
	State         string
	Nonce         string
	CodeChallenge string
	// Prompt is the prompt parameter, checked: "" (none given), "none",
	// "login", "consent", or "consent login" for both. HasPrompt tests
	// for one value.
	Prompt string
	// MaxAge is max_age (OpenID Connect Core §3.1.2.1), when HasMaxAge:
	// a browser session whose AuthTime is older must enter the password
	// again.
	MaxAge    time.Duration
	HasMaxAge bool
}

// HasPrompt reports whether the request's prompt holds v ("none",
// "login" or "consent").
func (a Authorization) HasPrompt(v string) bool {
	return slices.Contains(strings.Fields(a.Prompt), v)
}

// NeedsLogin reports whether the user must enter their password although
// the browser session browser exists (authenticated at its AuthTime):
// prompt=login, or max_age elapsed since (OpenID Connect Core §3.1.2.1).
func (a Authorization) NeedsLogin(browser store.Session, now time.Time) bool {
	if a.HasPrompt("login") {
		return true
	}
	if !a.HasMaxAge {
		return false
	}
	auth := browser.AuthTime
	if auth.IsZero() {
		auth = browser.CreatedAt
	}
	return now.Sub(auth) > a.MaxAge
}

// Validate checks an authorization request (RFC 6749 §4.1.1, §3.1.2,
// RFC 7636, RFC 9700 §2.1, OpenID Connect Core §3.1.2.2).
//
// The client and the redirect URI are checked first: the client_id must
// name a registered client and the redirect_uri one of its redirect URIs,
// exactly (a loopback one with any port, RFC 8252 §7.3); a request without
// redirect_uri is allowed for a client with exactly one. If they fail,
// redirectOK is false and the caller must show an error page, never
// redirect (RFC 6749 §4.1.2.1: no open redirector). Otherwise redirectOK
// is true and an error is to be sent to a.RedirectURI (with a.State):
//
//   - a repeated parameter: invalid_request;
//   - request, request_uri, registration: request_not_supported,
//     request_uri_not_supported, registration_not_supported;
//   - response_type other than "code": unsupported_response_type (missing:
//     invalid_request); response_mode other than "query": invalid_request;
//   - a client not registered for authorization_code: unauthorized_client;
//   - no scope, or a scope the client does not hold, or a service scope
//     (introspect, revocations:read): invalid_scope;
//   - code_challenge missing or not an S256 challenge, or a
//     code_challenge_method other than S256 ("plain" included):
//     invalid_request;
//   - prompt with an unknown value or "none" with another, max_age not a
//     non-negative integer, an over-long state or nonce: invalid_request.
//
// Errors are *Error; store failures are returned as is, with redirectOK
// false.
func (p *Provider) Validate(ctx context.Context, req AuthorizeRequest) (a Authorization, redirectOK bool, err error) {
	if err := p.oauthReady(); err != nil {
		return Authorization{}, false, err
	}
	if slices.Contains(req.Repeated, "client_id") || slices.Contains(req.Repeated, "redirect_uri") {
		return Authorization{}, false, errf(CodeInvalidRequest, "client_id and redirect_uri may be given once")
	}
	if req.ClientID == "" {
		return Authorization{}, false, errf(CodeInvalidRequest, "client_id is required")
	}
	if len(req.ClientID) > client.MaxIDLength {
		return Authorization{}, false, errf(CodeInvalidRequest, "unknown client_id")
	}
	c, err := p.d.Clients.ClientByID(ctx, req.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		return Authorization{}, false, errf(CodeInvalidRequest, "unknown client_id")
	}
	if err != nil {
		return Authorization{}, false, err
	}
	a.Client = c
	switch {
	case req.RedirectURI != "":
		if !MatchRedirectURI(c.RedirectURIs, req.RedirectURI) {
			return Authorization{}, false, errf(CodeInvalidRequest, "redirect_uri is not registered for the client")
		}
		a.RedirectURI, a.RequestedRedirectURI = req.RedirectURI, req.RedirectURI
	case len(c.RedirectURIs) == 1:
		a.RedirectURI = c.RedirectURIs[0]
	case len(c.RedirectURIs) == 0:
		return Authorization{}, false, errf(CodeInvalidRequest, "the client has no redirect URI")
	default:
		return Authorization{}, false, errf(CodeInvalidRequest, "redirect_uri is required: the client has several")
	}
	// From here on errors go back to the client's redirect URI, with the
	// state if it is usable.
	if len(req.State) <= MaxStateLength && !slices.Contains(req.Repeated, "state") {
		a.State = req.State
	}
	fail := func(code, desc string) (Authorization, bool, error) {
		return Authorization{Client: c, RedirectURI: a.RedirectURI, RequestedRedirectURI: a.RequestedRedirectURI, State: a.State},
			true, errf(code, desc)
	}
	switch {
	case len(req.Repeated) > 0:
		return fail(CodeInvalidRequest, "parameter given more than once: "+req.Repeated[0])
	case req.Request != "":
		return fail(CodeRequestNotSupported, "request objects are not supported")
	case req.RequestURI != "":
		return fail(CodeRequestURINotSupported, "request_uri is not supported")
	case req.Registration != "":
		return fail(CodeRegistrationNotSupported, "the registration parameter is not supported")
	case req.ResponseType == "":
		return fail(CodeInvalidRequest, "response_type is required")
	case req.ResponseType != "code":
		return fail(CodeUnsupportedResponseType, `response_type must be "code"`)
	case req.ResponseMode != "" && req.ResponseMode != "query":
		return fail(CodeInvalidRequest, `response_mode must be "query"`)
	case !client.HasGrantType(c, client.GrantAuthorizationCode):
		return fail(CodeUnauthorizedClient, "the client may not use the authorization code grant")
	case len(req.State) > MaxStateLength:
		return fail(CodeInvalidRequest, fmt.Sprintf("state is longer than %d bytes", MaxStateLength))
	case len(req.Nonce) > MaxNonceLength:
		return fail(CodeInvalidRequest, fmt.Sprintf("nonce is longer than %d bytes", MaxNonceLength))
	}
	scopes, err := userScopes(c, req.Scope)
	if err != nil {
		return fail(CodeInvalidScope, err.Error())
	}
	switch {
	case req.CodeChallenge == "":
		return fail(CodeInvalidRequest, "code_challenge is required (PKCE, RFC 7636)")
	case req.CodeChallengeMethod != CodeChallengeMethod:
		return fail(CodeInvalidRequest, "code_challenge_method must be S256")
	case !validChallenge(req.CodeChallenge):
		return fail(CodeInvalidRequest, "code_challenge is not an S256 challenge")
	}
	prompt, err := checkPrompt(req.Prompt)
	if err != nil {
		return fail(CodeInvalidRequest, err.Error())
	}
	if req.MaxAge != "" {
		n, err := strconv.ParseUint(req.MaxAge, 10, 31)
		if err != nil {
			return fail(CodeInvalidRequest, "max_age must be a non-negative number of seconds")
		}
		a.MaxAge, a.HasMaxAge = time.Duration(n)*time.Second, true
	}
	a.Scopes, a.Nonce, a.CodeChallenge, a.Prompt = scopes, req.Nonce, req.CodeChallenge, prompt
	return a, true, nil
}

// userScopes parses the scope of a user's authorization request: at least
// one, each held by the client, none a service scope. The result is
// sorted, without duplicates.
func userScopes(c store.Client, scope string) ([]string, error) {
	scopes := parseScope(scope)
	if len(scopes) == 0 {
		return nil, errors.New("scope is required")
	}
	for _, s := range scopes {
		if slices.Contains(serviceScopes, s) {
			return nil, fmt.Errorf("scope %q is not for users' tokens", s)
		}
		if !client.HasScope(c, s) {
			return nil, fmt.Errorf("scope %q is not registered for the client", s)
		}
	}
	return scopes, nil
}

// parseScope splits a scope parameter (RFC 6749 §3.3) into its scopes,
// sorted, without duplicates.
func parseScope(scope string) []string {
	scopes := strings.Fields(scope)
	slices.Sort(scopes)
	return slices.Compact(scopes)
}

// checkPrompt checks a prompt parameter and returns its canonical form.
func checkPrompt(prompt string) (string, error) {
	vs := parseScope(prompt)
	for _, v := range vs {
		switch v {
		case "none", "login", "consent":
		default:
			return "", fmt.Errorf("prompt %q is not supported", v)
		}
	}
	if slices.Contains(vs, "none") && len(vs) > 1 {
		return "", errors.New(`prompt "none" cannot go with another value`)
	}
	return strings.Join(vs, " "), nil
}

// NeedsConsent reports whether the user must be asked to consent to the
// request: never for a first-party client; otherwise when the request
// says prompt=consent, or the user's stored consent does not cover every
// requested scope.
func (p *Provider) NeedsConsent(ctx context.Context, a Authorization, userID string) (bool, error) {
	if err := p.oauthReady(); err != nil {
		return false, err
	}
	if a.Client.FirstParty {
		return false, nil
	}
	if a.HasPrompt("consent") {
		return true, nil
	}
	c, err := p.d.Consents.ConsentFor(ctx, userID, a.Client.ID)
	if errors.Is(err, store.ErrNotFound) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	for _, s := range a.Scopes {
		if !slices.Contains(c.Scopes, s) {
			return true, nil
		}
	}
	return false, nil
}

// GrantConsent stores the user's consent to the requested scopes, added to
// any given before.
func (p *Provider) GrantConsent(ctx context.Context, a Authorization, userID string) error {
	if err := p.oauthReady(); err != nil {
		return err
	}
	return p.d.Consents.GrantConsent(ctx, store.Consent{
		UserID: userID, ClientID: a.Client.ID, Scopes: a.Scopes, GrantedAt: p.cfg.Now(),
	})
}

// codeBytes is the number of random bytes in an authorization code.
const codeBytes = 32

// IssueCode issues an authorization code for the validated request a,
// for user, who authorized it in the browser session browser (which must
// be user's). The code is single use, lives Config.CodeTTL, and is bound
// to the client, the redirect URI, the PKCE challenge, the nonce and the
// browser session; only its hash is stored.
func (p *Provider) IssueCode(ctx context.Context, a Authorization, user store.User, browser store.Session) (string, error) {
	if err := p.oauthReady(); err != nil {
		return "", err
	}
	if a.Client.ID == "" || a.CodeChallenge == "" || browser.UserID != user.ID || browser.ClientID != BrowserClientID {
		return "", errf(CodeServerError, "code for an unvalidated request or another user's session")
	}
	var b [codeBytes]byte
	rand.Read(b[:])
	code := base64.RawURLEncoding.EncodeToString(b[:])
	now := p.cfg.Now()
	auth := browser.AuthTime
	if auth.IsZero() {
		auth = browser.CreatedAt
	}
	err := p.d.Codes.CreateAuthCode(ctx, store.AuthCode{
		Hash:             codeHash(code),
		ClientID:         a.Client.ID,
		UserID:           user.ID,
		BrowserSessionID: browser.ID,
		RedirectURI:      a.RequestedRedirectURI,
		Scopes:           a.Scopes,
		Nonce:            a.Nonce,
		CodeChallenge:    a.CodeChallenge,
		AuthTime:         auth,
		CreatedAt:        now,
		ExpiresAt:        now.Add(p.cfg.CodeTTL),
	})
	if err != nil {
		return "", fmt.Errorf("oauth: issuing a code: %w", err)
	}
	return code, nil
}

// codeHash is the stored hash of an authorization code.
func codeHash(code string) []byte {
	h := sha256.Sum256([]byte(code))
	return h[:]
}

// StartBrowserSession starts a browser (single sign-on) session for user,
// who just entered their password (its AuthTime is now), and returns it
// with the value of the cookie that holds it: a refresh token of
// internal/session that is never rotated.
func (p *Provider) StartBrowserSession(ctx context.Context, user store.User, meta session.Client) (store.Session, string, error) {
	if user.ID == "" || user.Disabled {
		return store.Session{}, "", ErrLoginRequired
	}
	return p.d.Sessions.StartGrant(ctx, user.ID, meta, session.Grant{ClientID: BrowserClientID})
}

// BrowserSession returns the browser session a cookie value holds and its
// user. It returns ErrLoginRequired if the value is not an active browser
// session's token (a malformed, forged, ended or expired one, or the
// token of another kind of session) or the user no longer exists or is
// disabled; store failures as is.
func (p *Provider) BrowserSession(ctx context.Context, cookie string) (store.Session, store.User, error) {
	if cookie == "" {
		return store.Session{}, store.User{}, ErrLoginRequired
	}
	s, err := p.d.Sessions.Lookup(ctx, cookie)
	if errors.Is(err, session.ErrInvalidToken) {
		return store.Session{}, store.User{}, wrapf(CodeLoginRequired, "no browser session", err)
	}
	if err != nil {
		return store.Session{}, store.User{}, err
	}
	if s.ClientID != BrowserClientID {
		return store.Session{}, store.User{}, errf(CodeLoginRequired, "not a browser session")
	}
	u, err := p.d.Users.UserByID(ctx, s.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Session{}, store.User{}, errf(CodeLoginRequired, "no such user")
	}
	if err != nil {
		return store.Session{}, store.User{}, err
	}
	if u.Disabled {
		return store.Session{}, store.User{}, errf(CodeLoginRequired, "account disabled")
	}
	return s, u, nil
}

// EndBrowserSession ends the user's browser session browserID and every
// active session started from it (store.Session.ParentID), each recording
// a session revocation (reason logout) for the feed, so that every
// service learns of the logout. Ending an ended session is not an error;
// a session of another user is store.ErrNotFound.
func (p *Provider) EndBrowserSession(ctx context.Context, browserID, userID string) error {
	if err := p.d.Sessions.End(ctx, browserID, userID, store.ReasonLogout); err != nil {
		return err
	}
	list, err := p.d.Sessions.List(ctx, userID)
	if err != nil {
		return err
	}
	for _, s := range list {
		if s.ParentID != browserID {
			continue
		}
		if err := p.d.Sessions.End(ctx, s.ID, userID, store.ReasonLogout); err != nil {
			return err
		}
	}
	return nil
}
