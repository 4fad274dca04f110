package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latch-auth/latch/internal/login"
	"github.com/latch-auth/latch/internal/oauth"
	"github.com/latch-auth/latch/internal/password"
	"github.com/latch-auth/latch/internal/session"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/strictjson"
	"github.com/latch-auth/latch/internal/web"
	"github.com/latch-auth/latch/jose"
)

// The browser endpoints: the pages a person sees (internal/web) in the
// OAuth 2.0 authorization code flow and around it.
//
//   - GET /oauth2/authorize (RFC 6749 §4.1.1, OpenID Connect Core 1.0
//     §3.1.2): validates the request (oauth.Provider.Validate). An error
//     goes back to the client only when the client is known and the
//     redirect URI is one of its own (RFC 6749 §4.1.2.1), as a 303 to
//     redirect_uri?error=..&error_description=..&state=..&iss=..; any
//     other error is an error page, never a redirect (RFC 9700 §4.1: no
//     open redirector). With the single sign-on cookie, the user is not
//     asked for a password again unless prompt=login or max_age says so;
//     a third-party client the user has not consented to gets the consent
//     page. Success is a 303 to redirect_uri?code=..&state=..&iss=..
//     (RFC 9207: iss names the issuer, against mix-up attacks).
//   - GET /login and POST /login: the sign-in page. Its hidden "request"
//     field is the authorization request's query, validated again on the
//     post and never trusted. The credentials go through the same
//     login.Authenticator as POST /v1/login: the same throttling, and the
//     same answer for an unknown address as for a wrong password.
//   - POST /consent: the consent page's answer.
//   - GET /account and POST /account: the user's signed-in devices and
//     applications, log out one or the others, withdraw an application's
//     access, change the password.
//   - GET and POST /oauth2/logout: RP-initiated logout (OpenID Connect
//     RP-Initiated Logout 1.0, the end_session_endpoint).
//   - GET /static/: the pages' style sheet.
//
// Every form carries a CSRF token (web.CSRF) for its purpose; those that
// act for a signed-in browser (consent, account, logout confirmation) are
// also bound to the browser session's ID. Every page is sent with
// web.CSP, X-Frame-Options DENY and Cache-Control no-store. In an
// authorization flow the CSP's form-action also allows the redirect URI's
// origin: Chrome applies form-action to the redirect that answers a form
// post, and the login and consent forms are answered with a redirect to
// the client.

// ssoCookie holds the refresh token of the browser (single sign-on)
// session: HttpOnly, SameSite=Lax (it must reach /oauth2/authorize when
// another site sends the browser there), Path=/.
const ssoCookie = "latch_sso"

// Paths of the browser endpoints.
const (
	authorizePath = "/oauth2/authorize"
	loginPath     = "/login"
	consentPath   = "/consent"
	accountPath   = "/account"
	logoutPath    = "/oauth2/logout"
)

// Parameters of RP-initiated logout (OpenID Connect RP-Initiated Logout
// 1.0 §2).
const (
	paramIDTokenHint           = "id_token_hint"
	paramClientID              = "client_id"
	paramPostLogoutRedirectURI = "post_logout_redirect_uri"
	paramState                 = "state"
)

// browser serves the browser endpoints for a Server with Deps.OAuth.
type browser struct {
	s     *Server
	p     *oauth.Provider
	pages *web.Pages
	csrf  *web.CSRF
	// secure marks the cookies Secure on every response: the issuer URL
	// is https (TLS may end at a proxy in front of the server).
	secure bool
}

// browserRoutes registers the browser endpoints on m. Config.CSRFKey keys
// their forms' CSRF tokens: shorter than web.MinCSRFKeySize, every form
// post is refused.
func (s *Server) browserRoutes(m *http.ServeMux) {
	pages, err := web.New()
	if err != nil {
		// The templates are embedded and parsed by internal/web's tests:
		// a failure here is a build defect, as with template.Must.
		panic(fmt.Sprintf("server: %v", err))
	}
	b := &browser{
		s:      s,
		p:      s.d.OAuth,
		pages:  pages,
		csrf:   web.NewCSRF(s.cfg.CSRFKey),
		secure: strings.HasPrefix(strings.ToLower(s.cfg.Issuer), "https://"),
	}
	b.csrf.Secure = b.secure
	m.HandleFunc("GET "+authorizePath, b.handleAuthorize)
	m.HandleFunc("GET "+loginPath, b.handleLoginPage)
	m.HandleFunc("POST "+loginPath, b.handleLogin)
	m.HandleFunc("POST "+consentPath, b.handleConsent)
	m.HandleFunc("GET "+accountPath, b.handleAccountPage)
	m.HandleFunc("POST "+accountPath, b.handleAccount)
	m.HandleFunc("GET "+logoutPath, b.handleLogout)
	m.HandleFunc("POST "+logoutPath, b.handleLogout)
	m.Handle("GET /static/", pages.StaticHandler())
}

// ---- authorization ----------------------------------------------------

// handleAuthorize is the authorization endpoint (RFC 6749 §3.1).
func (b *browser) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	raw := r.URL.RawQuery
	a, ok := b.validate(w, r, raw)
	if !ok {
		return
	}
	sess, u, signedIn, err := b.browserSession(r)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	if !signedIn || a.Prompt == "login" || b.p.AuthTooOld(a, sess) {
		if a.Prompt == "none" {
			// OpenID Connect Core 1.0 §3.1.2.6.
			b.redirectError(w, r, a, oauth.CodeLoginRequired, "the user must sign in")
			return
		}
		b.loginPage(w, r, http.StatusOK, raw, &a, "", "")
		return
	}
	b.proceed(w, r, raw, a, sess, u)
}

// validate parses and validates the authorization request in raw (a
// query string). On failure it has answered: with an error redirect when
// the provider says the redirect URI may receive it, else with an error
// page.
func (b *browser) validate(w http.ResponseWriter, r *http.Request, raw string) (oauth.Authorization, bool) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		b.errorPage(w, r, http.StatusBadRequest, "Invalid sign-in request", "The sign-in request is malformed. Go back to the application and try again.")
		return oauth.Authorization{}, false
	}
	req := oauth.ParseAuthorizeRequest(q)
	a, redirectOK, err := b.p.Validate(r.Context(), req)
	if err == nil {
		return a, true
	}
	var oe *oauth.Error
	if !errors.As(err, &oe) {
		b.fail(w, r, err)
		return oauth.Authorization{}, false
	}
	if redirectOK && a.RedirectURI != "" {
		if a.State == "" {
			a.State = req.State
		}
		b.redirectError(w, r, a, oe.Code, oe.Description)
		return oauth.Authorization{}, false
	}
	msg := "The application sent a sign-in request that cannot be accepted."
	if oe.Description != "" {
		msg += " " + upperFirst(oe.Description) + "."
	}
	b.errorPage(w, r, http.StatusBadRequest, "Invalid sign-in request", msg)
	return oauth.Authorization{}, false
}

// proceed continues a validated authorization for a signed-in user: the
// consent page if the client needs the user's consent, else the code.
func (b *browser) proceed(w http.ResponseWriter, r *http.Request, raw string, a oauth.Authorization, sess store.Session, u store.User) {
	need, err := b.p.NeedsConsent(r.Context(), a, u.ID)
	if err != nil {
		b.flowError(w, r, a, err)
		return
	}
	if need || (a.Prompt == "consent" && !a.Client.FirstParty) {
		if a.Prompt == "none" {
			b.redirectError(w, r, a, oauth.CodeConsentRequired, "the user must consent to the request")
			return
		}
		b.consentPage(w, r, raw, a, sess, u)
		return
	}
	b.issueCode(w, r, a, sess, u)
}

// issueCode answers the authorization request with a code (RFC 6749
// §4.1.2) and the issuer (RFC 9207 §2).
func (b *browser) issueCode(w http.ResponseWriter, r *http.Request, a oauth.Authorization, sess store.Session, u store.User) {
	code, err := b.p.IssueCode(r.Context(), a, u, sess)
	if err != nil {
		b.flowError(w, r, a, err)
		return
	}
	b.redirect(w, a.RedirectURI, url.Values{"code": {code}}, a.State)
}

// flowError answers a failure after validation: an OAuth error goes to
// the (validated) redirect URI, anything else is a server failure page.
func (b *browser) flowError(w http.ResponseWriter, r *http.Request, a oauth.Authorization, err error) {
	var oe *oauth.Error
	if errors.As(err, &oe) {
		b.redirectError(w, r, a, oe.Code, oe.Description)
		return
	}
	b.fail(w, r, err)
}

// redirectError sends an authorization error response to the validated
// redirect URI (RFC 6749 §4.1.2.1, RFC 9207 §2).
func (b *browser) redirectError(w http.ResponseWriter, r *http.Request, a oauth.Authorization, code, desc string) {
	b.s.log.DebugContext(r.Context(), "authorization refused", "client", a.Client.ID, "code", code)
	v := url.Values{"error": {code}}
	if desc != "" {
		v.Set("error_description", desc)
	}
	b.redirect(w, a.RedirectURI, v, a.State)
}

// redirect answers 303 See Other to target with params, state (when
// set) and iss added to its query, which it keeps (RFC 6749 §3.1.2).
func (b *browser) redirect(w http.ResponseWriter, target string, params url.Values, state string) {
	if state != "" {
		params.Set("state", state)
	}
	params.Set("iss", b.s.cfg.Issuer)
	w.Header().Set("Location", appendQuery(target, params))
	w.WriteHeader(http.StatusSeeOther)
}

// appendQuery returns uri with params added to its query.
func appendQuery(uri string, params url.Values) string {
	sep := "?"
	if strings.Contains(uri, "?") {
		sep = "&"
		if strings.HasSuffix(uri, "?") || strings.HasSuffix(uri, "&") {
			sep = ""
		}
	}
	return uri + sep + params.Encode()
}

// ---- sign in ----------------------------------------------------------

// handleLoginPage shows the sign-in page for the account page, or sends a
// browser already signed in there.
func (b *browser) handleLoginPage(w http.ResponseWriter, r *http.Request) {
	_, _, signedIn, err := b.browserSession(r)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	if signedIn {
		seeOther(w, accountPath)
		return
	}
	b.loginPage(w, r, http.StatusOK, "", nil, "", "")
}

// loginPage writes the sign-in page for the authorization request raw (a
// for its client), or for none.
func (b *browser) loginPage(w http.ResponseWriter, r *http.Request, status int, raw string, a *oauth.Authorization, email, msg string) {
	d := web.LoginData{Action: loginPath, Request: raw, Email: email, Error: msg, CSRF: b.csrf.Token(w, r, web.PurposeLogin)}
	var origins []string
	if a != nil {
		d.ClientName = a.Client.Name
		origins = append(origins, a.RedirectURI)
	}
	b.pageHeaders(w, origins...)
	b.render(w, r, func(w http.ResponseWriter) error { return b.pages.Login(w, status, d) })
}

// handleLogin signs a user in from the sign-in form, starts their browser
// session, and continues the authorization request the form carries, or
// goes to the account page.
func (b *browser) handleLogin(w http.ResponseWriter, r *http.Request) {
	form, ok := b.postForm(w, r)
	if !ok {
		return
	}
	if err := b.csrf.Check(r, web.PurposeLogin, form.Get(web.CSRFField)); err != nil {
		b.csrfRefused(w, r, err)
		return
	}
	raw := form.Get(web.RequestField)
	var a *oauth.Authorization
	if raw != "" {
		v, ok := b.validate(w, r, raw)
		if !ok {
			return
		}
		a = &v
	}
	email, pw := form.Get(web.EmailField), form.Get(web.PasswordField)
	if email == "" || pw == "" {
		b.s.d.Metrics.logins.WithLabelValues("bad_request").Inc()
		b.loginPage(w, r, http.StatusBadRequest, raw, a, email, "Enter your e-mail address and password.")
		return
	}
	u, err := b.s.d.Login.Login(r.Context(), email, pw, b.s.clientAddr(r))
	if err != nil {
		b.s.d.Metrics.logins.WithLabelValues(loginOutcome(err)).Inc()
		b.loginFailed(w, r, raw, a, email, err)
		return
	}
	b.s.d.Metrics.logins.WithLabelValues("success").Inc()
	// A sign-in always starts a new browser session (no session
	// fixation); the one it replaces in this browser ends alone, its
	// applications' sessions keep going.
	if old, _, signedIn, err := b.browserSession(r); err == nil && signedIn {
		if err := b.s.d.Sessions.End(r.Context(), old.ID, "", store.ReasonLogout); err != nil {
			b.fail(w, r, err)
			return
		}
	}
	sess, cookie, err := b.p.StartBrowserSession(r.Context(), u, b.meta(r))
	if err != nil {
		b.fail(w, r, err)
		return
	}
	b.setSSOCookie(w, r, cookie, sess.ExpiresAt)
	if a == nil {
		seeOther(w, accountPath)
		return
	}
	b.proceed(w, r, raw, *a, sess, u)
}

// loginFailed answers refused credentials with the sign-in page. An
// unknown address and a wrong password get the same answer (status and
// text), as on POST /v1/login.
func (b *browser) loginFailed(w http.ResponseWriter, r *http.Request, raw string, a *oauth.Authorization, email string, err error) {
	var te *login.ThrottledError
	switch {
	case errors.As(err, &te):
		// Before ErrInvalidCredentials: the failure that locks the
		// account matches both.
		w.Header().Set("Retry-After", strconv.Itoa(int((te.RetryAfter+time.Second-1)/time.Second)))
		b.loginPage(w, r, http.StatusTooManyRequests, raw, a, email, "Too many attempts. Wait a while, then try again.")
	case errors.Is(err, login.ErrInvalidCredentials):
		b.loginPage(w, r, http.StatusUnauthorized, raw, a, email, "The e-mail address or password is wrong.")
	case errors.Is(err, login.ErrDisabled):
		b.loginPage(w, r, http.StatusForbidden, raw, a, email, "This account is disabled.")
	case errors.Is(err, login.ErrBusy):
		w.Header().Set("Retry-After", "2")
		b.loginPage(w, r, http.StatusServiceUnavailable, raw, a, email, "The server is busy. Try again in a moment.")
	default:
		b.fail(w, r, err)
	}
}

// ---- consent ----------------------------------------------------------

// consentPage asks the user to let a third-party client access their
// account.
func (b *browser) consentPage(w http.ResponseWriter, r *http.Request, raw string, a oauth.Authorization, sess store.Session, u store.User) {
	d := web.ConsentData{
		Action:         consentPath,
		Request:        raw,
		ClientName:     a.Client.Name,
		RedirectOrigin: displayOrigin(a.RedirectURI),
		Email:          u.Email,
		Scopes:         web.DescribeScopes(a.Scopes),
		CSRF:           b.csrf.Token(w, r, sessionPurpose(web.PurposeConsent, sess)),
	}
	b.pageHeaders(w, a.RedirectURI)
	b.render(w, r, func(w http.ResponseWriter) error { return b.pages.Consent(w, http.StatusOK, d) })
}

// handleConsent takes the consent page's answer: allow stores the consent
// and issues the code, deny answers access_denied (RFC 6749 §4.1.2.1).
func (b *browser) handleConsent(w http.ResponseWriter, r *http.Request) {
	form, ok := b.postForm(w, r)
	if !ok {
		return
	}
	sess, u, signedIn, err := b.browserSession(r)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	if !signedIn {
		// The browser session ended meanwhile (or never was: a forged
		// post): nothing to consent for.
		b.errorPage(w, r, http.StatusForbidden, "Not signed in", "Your session has ended. Go back to the application and sign in again.")
		return
	}
	if err := b.csrf.Check(r, sessionPurpose(web.PurposeConsent, sess), form.Get(web.CSRFField)); err != nil {
		b.csrfRefused(w, r, err)
		return
	}
	raw := form.Get(web.RequestField)
	a, ok := b.validate(w, r, raw)
	if !ok {
		return
	}
	switch form.Get(web.DecisionField) {
	case web.DecisionAllow:
		if err := b.p.GrantConsent(r.Context(), a, u.ID); err != nil {
			b.flowError(w, r, a, err)
			return
		}
		b.issueCode(w, r, a, sess, u)
	case web.DecisionDeny:
		b.redirectError(w, r, a, oauth.CodeAccessDenied, "the user denied the request")
	default:
		b.errorPage(w, r, http.StatusBadRequest, "Invalid answer", "Choose Allow or Deny.")
	}
}

// ---- account ----------------------------------------------------------

// accountMessages are the confirmations GET /account shows after a form
// post succeeded (its "done" parameter names the operation).
var accountMessages = map[string]string{
	web.OpLogoutSession:  "The device was logged out.",
	web.OpLogoutOthers:   "All other devices were logged out.",
	web.OpRevokeApp:      "The application no longer has access to your account.",
	web.OpChangePassword: "Your password was changed, and your other devices were logged out.",
}

// handleAccountPage shows the account page of the signed-in browser.
func (b *browser) handleAccountPage(w http.ResponseWriter, r *http.Request) {
	sess, u, signedIn, err := b.browserSession(r)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	if !signedIn {
		seeOther(w, loginPath)
		return
	}
	b.accountPage(w, r, http.StatusOK, sess, u, accountMessages[r.URL.Query().Get("done")], "")
}

// accountPage writes the account page: the user's active sessions (the
// browser's own marked current) and the applications they consented to.
func (b *browser) accountPage(w http.ResponseWriter, r *http.Request, status int, sess store.Session, u store.User, msg, errMsg string) {
	ctx := r.Context()
	list, err := b.s.d.Sessions.List(ctx, u.ID)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	names := map[string]string{} // client ID -> name, "" if none
	clientName := func(id string) (string, error) {
		if name, ok := names[id]; ok {
			return name, nil
		}
		c, err := b.s.d.Clients.ClientByID(ctx, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return "", err
		}
		names[id] = c.Name
		return c.Name, nil
	}
	items := make([]web.SessionItem, 0, len(list))
	for _, x := range list {
		device := x.UserAgent
		if x.ClientID != "" {
			name, err := clientName(x.ClientID)
			if err != nil {
				b.fail(w, r, err)
				return
			}
			if name != "" {
				device = name + " (application)"
			}
		}
		items = append(items, web.SessionItem{
			ID: x.ID, Device: device, IP: x.IP, Created: x.CreatedAt, LastUsed: x.LastUsedAt, Current: x.ID == sess.ID,
		})
	}
	consents, err := b.p.Consents(ctx, u.ID)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	apps := make([]web.AppItem, 0, len(consents))
	for _, c := range consents {
		name, err := clientName(c.ClientID)
		if err != nil {
			b.fail(w, r, err)
			return
		}
		if name == "" {
			continue // removed meanwhile
		}
		apps = append(apps, web.AppItem{ClientID: c.ClientID, Name: name, Scopes: web.DescribeScopes(c.Scopes), Granted: c.GrantedAt})
	}
	d := web.AccountData{
		Action: accountPath, Email: u.Email, Sessions: items, Apps: apps,
		MinPasswordLength: password.MinLength, Message: msg, Error: errMsg,
		CSRF: b.csrf.Token(w, r, sessionPurpose(web.PurposeAccount, sess)),
	}
	b.pageHeaders(w)
	b.render(w, r, func(w http.ResponseWriter) error { return b.pages.Account(w, status, d) })
}

// handleAccount runs one of the account page's forms (web.OpField), then
// goes back to the page (Post/Redirect/Get) with its confirmation.
func (b *browser) handleAccount(w http.ResponseWriter, r *http.Request) {
	form, ok := b.postForm(w, r)
	if !ok {
		return
	}
	sess, u, signedIn, err := b.browserSession(r)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	if !signedIn {
		seeOther(w, loginPath)
		return
	}
	if err := b.csrf.Check(r, sessionPurpose(web.PurposeAccount, sess), form.Get(web.CSRFField)); err != nil {
		b.csrfRefused(w, r, err)
		return
	}
	ctx := r.Context()
	op := form.Get(web.OpField)
	switch op {
	case web.OpLogoutSession:
		id := form.Get(web.SessionField)
		if id == sess.ID {
			// This browser's own session: a sign-out.
			if err := b.p.EndBrowserSession(ctx, sess.ID, u.ID); err != nil {
				b.fail(w, r, err)
				return
			}
			b.clearSSOCookie(w, r)
			b.pageHeaders(w)
			b.render(w, r, func(w http.ResponseWriter) error { return b.pages.LoggedOut(w, http.StatusOK, web.LoggedOutData{}) })
			return
		}
		list, err := b.s.d.Sessions.List(ctx, u.ID)
		if err != nil {
			b.fail(w, r, err)
			return
		}
		if !slices.ContainsFunc(list, func(x store.Session) bool { return x.ID == id }) {
			// Not an active session of this user's: nothing to say
			// about whose it is.
			b.errorPage(w, r, http.StatusNotFound, "No such device", "That device is not signed in to your account.")
			return
		}
		// Ends the session and, for another browser's session, the
		// applications' sessions started from it.
		if err := b.p.EndBrowserSession(ctx, id, u.ID); err != nil {
			b.fail(w, r, err)
			return
		}
	case web.OpLogoutOthers:
		list, err := b.s.d.Sessions.List(ctx, u.ID)
		if err != nil {
			b.fail(w, r, err)
			return
		}
		for _, x := range list {
			if x.ID == sess.ID || x.ParentID == sess.ID {
				continue // this browser and the applications it signed in to
			}
			if err := b.s.d.Sessions.End(ctx, x.ID, u.ID, store.ReasonLogout); err != nil {
				b.fail(w, r, err)
				return
			}
			b.s.d.Metrics.revoked.WithLabelValues(string(store.ReasonLogout)).Inc()
		}
	case web.OpRevokeApp:
		err := b.p.RevokeConsent(ctx, u.ID, form.Get(web.ClientField))
		if errors.Is(err, store.ErrNotFound) {
			b.errorPage(w, r, http.StatusNotFound, "No such application", "That application has no access to your account.")
			return
		}
		if err != nil {
			b.fail(w, r, err)
			return
		}
	case web.OpChangePassword:
		if !b.changePassword(w, r, form, sess, u) {
			return
		}
	default:
		b.errorPage(w, r, http.StatusBadRequest, "Invalid request", "The account form sent an unknown operation.")
		return
	}
	seeOther(w, accountPath+"?done="+op)
}

// changePassword changes the signed-in user's password: the current one
// is checked as a sign-in is (login.Authenticator, with its throttling),
// the new one against password.CheckPolicy with the user's address. In
// one transaction the password changes and every session and access
// token of the user is revoked (as `latch user passwd` does); this
// browser then gets a new session, so the user stays signed in here. On
// failure it has answered with the account page and its error.
func (b *browser) changePassword(w http.ResponseWriter, r *http.Request, form url.Values, sess store.Session, u store.User) bool {
	ctx := r.Context()
	current, next := form.Get(web.CurrentPasswordField), form.Get(web.NewPasswordField)
	if current == "" || next == "" {
		b.accountPage(w, r, http.StatusBadRequest, sess, u, "", "Enter your current password and a new one.")
		return false
	}
	if _, err := b.s.d.Login.Login(ctx, u.Email, current, b.s.clientAddr(r)); err != nil {
		var te *login.ThrottledError
		switch {
		case errors.As(err, &te):
			w.Header().Set("Retry-After", strconv.Itoa(int((te.RetryAfter+time.Second-1)/time.Second)))
			b.accountPage(w, r, http.StatusTooManyRequests, sess, u, "", "Too many attempts. Wait a while, then try again.")
		case errors.Is(err, login.ErrInvalidCredentials):
			b.accountPage(w, r, http.StatusUnauthorized, sess, u, "", "The current password is wrong.")
		default:
			b.fail(w, r, err)
		}
		return false
	}
	if err := password.CheckPolicy(next, u.Email); err != nil {
		b.accountPage(w, r, http.StatusBadRequest, sess, u, "", "The new password cannot be used: "+strings.TrimPrefix(strings.TrimPrefix(err.Error(), "password: "), "weak password: ")+".")
		return false
	}
	hctx, cancel := context.WithTimeout(ctx, b.s.cfg.HashQueueTimeout)
	hash, err := b.s.d.Hasher.Hash(hctx, next)
	cancel()
	if err != nil {
		b.fail(w, r, err)
		return false
	}
	now := time.Now()
	_, n, err := b.s.d.Users.RevokeUser(ctx, u.ID, store.ReasonPasswordChange, now, true, func(old store.User) (store.User, error) {
		old.PasswordHash, old.UpdatedAt = hash, now
		return old, nil
	})
	if err != nil {
		b.fail(w, r, err)
		return false
	}
	b.s.d.Metrics.revoked.WithLabelValues(string(store.ReasonPasswordChange)).Add(float64(n))
	nsess, cookie, err := b.p.StartBrowserSession(ctx, u, b.meta(r))
	if err != nil {
		b.fail(w, r, err)
		return false
	}
	b.setSSOCookie(w, r, cookie, nsess.ExpiresAt)
	return true
}

// ---- logout -----------------------------------------------------------

// handleLogout is the end_session_endpoint (OpenID Connect RP-Initiated
// Logout 1.0 §2, §3). Parameters come in the query (GET) or the form
// (POST).
//
// An id_token_hint must be an ID token the server issued (signature by
// one of its published keys, RS256 included; iss the issuer; "typ" JWT;
// an expired one is fine, §2) or the request is refused with an error
// page. post_logout_redirect_uri must be one the client (named by the
// hint, or by client_id, which must then agree) registered, exactly, or
// the request is refused with an error page: never a redirect elsewhere.
// A hint for the browser's signed-in user logs out at once; without one
// the user confirms on a page whose form carries a CSRF token. Logging out
// ends the browser session and every application session started from
// it, each with a revocation for the feed, and clears the cookie; then
// the browser goes to post_logout_redirect_uri with state, or sees the
// signed-out page.
func (b *browser) handleLogout(w http.ResponseWriter, r *http.Request) {
	var params url.Values
	if r.Method == http.MethodPost {
		form, ok := b.postForm(w, r)
		if !ok {
			return
		}
		params = form
	} else {
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err == nil {
			err = checkOnce(q)
		}
		if err != nil {
			b.errorPage(w, r, http.StatusBadRequest, "Invalid sign-out request", "The sign-out request is malformed.")
			return
		}
		params = q
	}
	ctx := r.Context()
	clientID := params.Get(paramClientID)
	var hint *idTokenHint
	if raw := params.Get(paramIDTokenHint); raw != "" {
		h, err := b.verifyIDTokenHint(raw)
		if err != nil {
			b.s.log.DebugContext(ctx, "logout refused: id_token_hint", "err", err)
			b.errorPage(w, r, http.StatusBadRequest, "Invalid sign-out request", "The application's sign-out request carries an ID token this server did not issue.")
			return
		}
		switch {
		case clientID == "":
			clientID = h.client
		case !slices.Contains(h.audience, clientID):
			b.errorPage(w, r, http.StatusBadRequest, "Invalid sign-out request", "The sign-out request's client_id does not match its ID token.")
			return
		}
		hint = &h
	}
	var c store.Client
	if clientID != "" {
		var err error
		c, err = b.s.d.Clients.ClientByID(ctx, clientID)
		if errors.Is(err, store.ErrNotFound) {
			b.errorPage(w, r, http.StatusBadRequest, "Invalid sign-out request", "The sign-out request names an unknown application.")
			return
		}
		if err != nil {
			b.fail(w, r, err)
			return
		}
	}
	target := params.Get(paramPostLogoutRedirectURI)
	if target != "" && (clientID == "" || !slices.Contains(c.PostLogoutRedirectURIs, target)) {
		b.errorPage(w, r, http.StatusBadRequest, "Invalid sign-out request", "The application asks to return to an address it has not registered.")
		return
	}
	state := params.Get(paramState)

	sess, u, signedIn, err := b.browserSession(r)
	if err != nil {
		b.fail(w, r, err)
		return
	}
	confirmed := !signedIn || (hint != nil && hint.subject == u.ID)
	if r.Method == http.MethodPost && params.Has(web.CSRFField) {
		// The confirmation form.
		if err := b.csrf.Check(r, logoutPurpose(sess, signedIn), params.Get(web.CSRFField)); err != nil {
			b.csrfRefused(w, r, err)
			return
		}
		confirmed = true
	}
	if !confirmed {
		var hidden []web.HiddenField
		if clientID != "" {
			hidden = append(hidden, web.HiddenField{Name: paramClientID, Value: clientID})
		}
		if target != "" {
			hidden = append(hidden, web.HiddenField{Name: paramPostLogoutRedirectURI, Value: target})
		}
		if state != "" {
			hidden = append(hidden, web.HiddenField{Name: paramState, Value: state})
		}
		d := web.LogoutData{Action: logoutPath, ClientName: c.Name, Hidden: hidden, CSRF: b.csrf.Token(w, r, logoutPurpose(sess, signedIn))}
		var origins []string
		if target != "" {
			origins = append(origins, target)
		}
		b.pageHeaders(w, origins...)
		b.render(w, r, func(w http.ResponseWriter) error { return b.pages.Logout(w, http.StatusOK, d) })
		return
	}
	if signedIn {
		if err := b.p.EndBrowserSession(ctx, sess.ID, u.ID); err != nil {
			b.fail(w, r, err)
			return
		}
	}
	b.clearSSOCookie(w, r)
	if target != "" {
		v := url.Values{}
		if state != "" {
			v.Set("state", state)
		}
		if len(v) == 0 {
			seeOther(w, target)
			return
		}
		seeOther(w, appendQuery(target, v))
		return
	}
	b.pageHeaders(w)
	b.render(w, r, func(w http.ResponseWriter) error { return b.pages.LoggedOut(w, http.StatusOK, web.LoggedOutData{}) })
}

// logoutPurpose is the CSRF purpose of the logout confirmation: bound to
// the browser session when there is one.
func logoutPurpose(sess store.Session, signedIn bool) string {
	if !signedIn {
		return web.PurposeLogout
	}
	return sessionPurpose(web.PurposeLogout, sess)
}

// idTokenHint is what RP-initiated logout uses of an id_token_hint.
type idTokenHint struct {
	subject  string
	audience []string
	// client is the client the token was issued to: azp, or the only
	// audience.
	client string
}

// verifyIDTokenHint checks an id_token_hint: a JWS signed by one of the
// keys the server publishes (so RS256 ID tokens too, while the access
// tokens' keys may be of another kind), header "typ" JWT (an access
// token, "at+jwt", is not an ID token), iss the issuer, sub and aud
// present. Its expiry is not checked: an RP may log out with an expired
// ID token (RP-Initiated Logout 1.0 §2).
func (b *browser) verifyIDTokenHint(tok string) (idTokenHint, error) {
	jwks, _, err := b.s.d.Keys.JWKS()
	if err != nil {
		return idTokenHint{}, err
	}
	keys, err := jose.ParseJWKSet(jwks)
	if err != nil {
		return idTokenHint{}, err
	}
	hdr, payload, err := jose.Verify(tok, keys, jose.VerifyOptions{})
	if err != nil {
		return idTokenHint{}, err
	}
	if t := strings.TrimPrefix(strings.ToLower(hdr.Type), "application/"); t != "jwt" {
		return idTokenHint{}, fmt.Errorf("server: id_token_hint has typ %q", hdr.Type)
	}
	if err := strictjson.Validate(payload); err != nil {
		return idTokenHint{}, err
	}
	var c struct {
		Issuer   string          `json:"iss"`
		Subject  string          `json:"sub"`
		Audience json.RawMessage `json:"aud"`
		Azp      string          `json:"azp"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return idTokenHint{}, fmt.Errorf("server: id_token_hint claims: %w", err)
	}
	var h idTokenHint
	var one string
	if err := json.Unmarshal(c.Audience, &one); err == nil {
		h.audience = []string{one}
	} else if err := json.Unmarshal(c.Audience, &h.audience); err != nil {
		return idTokenHint{}, errors.New("server: id_token_hint has no valid aud")
	}
	h.subject = c.Subject
	switch {
	case c.Issuer != b.s.cfg.Issuer:
		return idTokenHint{}, errors.New("server: id_token_hint from another issuer")
	case h.subject == "" || len(h.audience) == 0 || slices.Contains(h.audience, ""):
		return idTokenHint{}, errors.New("server: id_token_hint lacks sub or aud")
	case c.Azp != "":
		if !slices.Contains(h.audience, c.Azp) {
			return idTokenHint{}, errors.New("server: id_token_hint azp is not an audience")
		}
		h.client = c.Azp
	case len(h.audience) == 1:
		h.client = h.audience[0]
	default:
		return idTokenHint{}, errors.New("server: id_token_hint has several audiences and no azp")
	}
	return h, nil
}

// ---- plumbing ---------------------------------------------------------

// browserSession returns the browser session of r's latch_sso cookie and
// its user; signedIn is false if there is none (no cookie, or one for a
// session that ended, or a disabled user). The error is a failure to
// find out (the database), not the absence of a session.
func (b *browser) browserSession(r *http.Request) (store.Session, store.User, bool, error) {
	var value string
	for _, c := range r.CookiesNamed(ssoCookie) {
		switch {
		case c.Value == "" || c.Value == value:
		case value == "":
			value = c.Value
		default:
			// Two different sessions: one may have been planted by a
			// sibling domain (cookie tossing). Trust neither.
			return store.Session{}, store.User{}, false, nil
		}
	}
	if value == "" {
		return store.Session{}, store.User{}, false, nil
	}
	sess, u, err := b.p.BrowserSession(r.Context(), value)
	switch {
	case errors.Is(err, oauth.ErrLoginRequired), errors.Is(err, session.ErrInvalidToken), errors.Is(err, session.ErrEnded):
		return store.Session{}, store.User{}, false, nil
	case err != nil:
		return store.Session{}, store.User{}, false, err
	}
	return sess, u, true, nil
}

// setSSOCookie gives the browser its single sign-on cookie, lasting as
// long as the session may.
func (b *browser) setSSOCookie(w http.ResponseWriter, r *http.Request, value string, expires time.Time) {
	maxAge := int(time.Until(expires) / time.Second)
	if maxAge <= 0 {
		maxAge = -1
	}
	http.SetCookie(w, &http.Cookie{
		Name: ssoCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: b.secure || r.TLS != nil, SameSite: http.SameSiteLaxMode,
	})
}

// clearSSOCookie deletes the single sign-on cookie.
func (b *browser) clearSSOCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{
		Name: ssoCookie, Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: b.secure || r.TLS != nil, SameSite: http.SameSiteLaxMode,
	})
}

// meta describes the browser for the session list.
func (b *browser) meta(r *http.Request) session.Client {
	return session.Client{UserAgent: r.UserAgent(), IP: b.s.clientAddr(r)}
}

// sessionPurpose ties a form's CSRF purpose to the browser session, so a
// token is good only for the session it was shown to.
func sessionPurpose(purpose string, sess store.Session) string {
	return purpose + ":" + sess.ID
}

// postForm reads a page's form post: application/x-www-form-urlencoded,
// at most Config.MaxBody bytes, each field at most once (a repeated field
// would leave it to the reader which one counts). On failure it has
// answered with an error page.
func (b *browser) postForm(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		b.errorPage(w, r, http.StatusUnsupportedMediaType, "Invalid form", "The form was not sent as a form.")
		return nil, false
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, b.s.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			b.errorPage(w, r, http.StatusRequestEntityTooLarge, "Invalid form", "The form is too large.")
		} else {
			b.errorPage(w, r, http.StatusBadRequest, "Invalid form", "The form could not be read.")
		}
		return nil, false
	}
	form, err := url.ParseQuery(string(body))
	if err == nil {
		err = checkOnce(form)
	}
	if err != nil {
		b.errorPage(w, r, http.StatusBadRequest, "Invalid form", "The form is malformed.")
		return nil, false
	}
	return form, true
}

// checkOnce refuses parameters sent more than once.
func checkOnce(v url.Values) error {
	for k, vs := range v {
		if len(vs) > 1 {
			return fmt.Errorf("server: parameter %q repeated", k)
		}
	}
	return nil
}

// csrfRefused answers a form post whose CSRF token is missing or wrong:
// 403, and nothing done.
func (b *browser) csrfRefused(w http.ResponseWriter, r *http.Request, err error) {
	b.s.log.DebugContext(r.Context(), "form refused", "path", r.URL.Path, "err", err)
	b.errorPage(w, r, http.StatusForbidden, "Form expired", "This form has expired or did not come from this site. Go back, reload the page and try again.")
}

// pageHeaders sets the headers of an HTML page: web.CSP, with the origins
// of formTargets added to form-action (the redirect the page's form post
// is answered with goes there), X-Frame-Options DENY, and no caching.
func (b *browser) pageHeaders(w http.ResponseWriter, formTargets ...string) {
	csp := web.CSP
	var extra []string
	for _, t := range formTargets {
		if src := cspSource(t); src != "" && !slices.Contains(extra, src) {
			extra = append(extra, src)
		}
	}
	if len(extra) > 0 {
		csp = strings.Replace(csp, "form-action 'self'", "form-action 'self' "+strings.Join(extra, " "), 1)
	}
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
}

// cspSource returns the CSP source expression (CSP Level 3 §2.3.1) that
// allows the origin of uri: scheme://host[:port] for http and https (the
// scheme "http:" alone for an IPv6 literal host, which a host-source
// cannot name), the scheme "scheme:" for a private-use URI scheme (RFC
// 8252 §7.1). "" for anything else, or anything holding a character that
// could end the directive (the URI comes from the registration, which
// client.CheckRedirectURI checked).
func cspSource(uri string) string {
	u, err := url.Parse(uri)
	if err != nil || u.Scheme == "" {
		return ""
	}
	scheme := strings.ToLower(u.Scheme)
	for _, c := range scheme {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.') {
			return ""
		}
	}
	if scheme != "http" && scheme != "https" {
		return scheme + ":"
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return ""
	}
	if strings.Contains(host, ":") {
		return scheme + ":"
	}
	for _, c := range host {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.') {
			return ""
		}
	}
	src := scheme + "://" + host
	if p := u.Port(); p != "" {
		if _, err := strconv.ParseUint(p, 10, 16); err != nil {
			return ""
		}
		src += ":" + p
	}
	return src
}

// displayOrigin is where a redirect URI goes, for people: its scheme and
// host ("https://app.example.com"), or its scheme for a native app's.
func displayOrigin(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return ""
	}
	if u.Host == "" {
		return u.Scheme + ":"
	}
	return u.Scheme + "://" + u.Host
}

// errorPage writes the error page.
func (b *browser) errorPage(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	b.pageHeaders(w)
	b.render(w, r, func(w http.ResponseWriter) error {
		return b.pages.Error(w, status, web.ErrorData{Title: title, Message: msg})
	})
}

// fail answers a failure that is not the user's: the status errorFor
// gives err (503 with Retry-After for a busy server, 500 otherwise),
// logged as writeError logs, on the error page.
func (b *browser) fail(w http.ResponseWriter, r *http.Request, err error) {
	ae := errorFor(err)
	status, msg := ae.status, "Something went wrong on our side. Try again later."
	switch {
	case status == http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "2")
		msg = "The server is busy. Try again in a moment."
		b.s.log.WarnContext(r.Context(), "request shed", "method", r.Method, "path", r.URL.Path, "err", err)
	case status >= 500:
		b.s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	default:
		// A store.ErrNotFound or the like that escaped a handler's own
		// check: not the user's doing either.
		status = http.StatusInternalServerError
		b.s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	b.errorPage(w, r, status, "", msg)
}

// render writes a page with write. A page that cannot be rendered (write
// wrote nothing) is answered with a plain 500; one that could not be
// sent is only logged.
func (b *browser) render(w http.ResponseWriter, r *http.Request, write func(http.ResponseWriter) error) {
	tw := &trackingWriter{ResponseWriter: w}
	if err := write(tw); err != nil {
		b.s.log.ErrorContext(r.Context(), "rendering page", "path", r.URL.Path, "err", err)
		if !tw.wrote {
			w.Header().Del("Content-Length")
			http.Error(w, "internal error", http.StatusInternalServerError)
		}
	}
}

// trackingWriter notes whether a response was begun.
type trackingWriter struct {
	http.ResponseWriter
	wrote bool
}

func (t *trackingWriter) WriteHeader(code int) {
	t.wrote = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(p []byte) (int, error) {
	t.wrote = true
	return t.ResponseWriter.Write(p)
}

// seeOther answers 303 See Other to a path of the server.
func seeOther(w http.ResponseWriter, path string) {
	w.Header().Set("Location", path)
	w.WriteHeader(http.StatusSeeOther)
}

// upperFirst returns s with its first letter in upper case.
func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
