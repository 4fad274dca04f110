package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"time"
)

// CSP is the Content-Security-Policy to send with every page: nothing may
// load but the server's own style sheet and images, forms post only to the
// server itself, no page may frame a latch page, and no <base> element
// may move relative URLs elsewhere. Pages need nothing more: they have no
// script and no inline style.
const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// Form field names, the name attributes of the inputs and buttons the
// pages post.
const (
	// CSRFField holds the CSRF token in every form.
	CSRFField = "csrf"
	// RequestField holds the pending authorization request (LoginData,
	// ConsentData Request), when there is one.
	RequestField = "request"
	// EmailField and PasswordField are the login form's credentials.
	EmailField    = "email"
	PasswordField = "password"
	// DecisionField is the consent form's button: DecisionAllow or
	// DecisionDeny.
	DecisionField = "decision"
	// OpField says which account form was posted: OpLogoutSession,
	// OpLogoutOthers, OpChangePassword or OpRevokeApp.
	OpField = "op"
	// SessionField is the session ID of OpLogoutSession.
	SessionField = "session"
	// ClientField is the client ID of OpRevokeApp.
	ClientField = "client"
	// CurrentPasswordField and NewPasswordField are OpChangePassword's
	// passwords.
	CurrentPasswordField = "current_password"
	NewPasswordField     = "new_password"
)

// Values of DecisionField.
const (
	DecisionAllow = "allow"
	DecisionDeny  = "deny"
)

// Values of OpField, one per form of the account page.
const (
	// OpLogoutSession ends the session in SessionField.
	OpLogoutSession = "logout-session"
	// OpLogoutOthers ends every session but the current one.
	OpLogoutOthers = "logout-others"
	// OpChangePassword changes the password.
	OpChangePassword = "change-password"
	// OpRevokeApp withdraws the consent given to the client in
	// ClientField.
	OpRevokeApp = "revoke-app"
)

// LoginData fills the sign-in page. Its form posts EmailField,
// PasswordField, RequestField (when Request is set) and CSRFField to
// Action.
type LoginData struct {
	// Action is the URL the form posts to, such as "/login".
	Action string
	// Request identifies the pending authorization request, posted back
	// in RequestField; empty for none.
	Request string
	// ClientName, when set, is shown as the application the user signs
	// in to.
	ClientName string
	// Email prefills the e-mail input (after a failed attempt).
	Email string
	// Error, when set, is shown as an alert above the form.
	Error string
	// CSRF is the form's token (CSRF.Token).
	CSRF string
}

// ScopeItem is a requested scope on the consent page.
type ScopeItem struct {
	// Name is the scope token, such as "email".
	Name string
	// Description says what it grants in words a user understands;
	// empty shows the name alone.
	Description string
}

// ConsentData fills the consent page. Its form posts DecisionField
// (DecisionAllow or DecisionDeny), RequestField and CSRFField to Action.
type ConsentData struct {
	// Action is the URL the form posts to, such as "/consent".
	Action string
	// Request identifies the pending authorization request.
	Request string
	// ClientName is the application asking for access.
	ClientName string
	// RedirectOrigin, when set, is where the browser goes next (the
	// scheme and host of the redirect URI), so the user can spot an
	// application that is not what it claims.
	RedirectOrigin string
	// Email is the signed-in user's address; empty hides it.
	Email string
	// Scopes are the requested scopes (DescribeScopes makes them).
	Scopes []ScopeItem
	// CSRF is the form's token (CSRF.Token).
	CSRF string
}

// SessionItem is a signed-in device on the account page.
type SessionItem struct {
	// ID is the session ID, posted in SessionField to log it out.
	ID string
	// Device describes the browser or application (from its user
	// agent); empty shows "Unknown device".
	Device string
	// IP is the client address it last came from; empty hides it.
	IP string
	// Created is when it signed in; LastUsed when it was last used.
	// The zero time shows as unknown.
	Created, LastUsed time.Time
	// Current marks the session of the browser showing the page.
	Current bool
}

// AppItem is an application the user consented to, on the account page.
type AppItem struct {
	// ClientID is posted in ClientField to revoke the consent.
	ClientID string
	// Name is the client's name.
	Name string
	// Scopes are the granted scopes.
	Scopes []ScopeItem
	// Granted is when consent was (last) given; zero shows as unknown.
	Granted time.Time
}

// AccountData fills the account page. Each of its forms posts OpField and
// CSRFField to Action, with the fields of its operation (see the Op
// constants).
type AccountData struct {
	// Action is the URL the forms post to, such as "/account".
	Action string
	// Email is the signed-in user's address.
	Email string
	// Sessions are the user's signed-in devices.
	Sessions []SessionItem
	// Apps are the third-party applications with the user's consent;
	// empty hides the section.
	Apps []AppItem
	// MinPasswordLength, when positive, is announced and enforced by the
	// browser on the new password (the server checks it again).
	MinPasswordLength int
	// Message, when set, reports success (role="status"); Error, when
	// set, reports a failure (role="alert").
	Message, Error string
	// CSRF is the token of every form on the page (CSRF.Token).
	CSRF string
}

// HiddenField is a name and value the logout confirmation posts back.
type HiddenField struct {
	Name, Value string
}

// LogoutData fills the logout confirmation page (OpenID Connect
// RP-Initiated Logout 1.0 §2: the OP should ask the user before ending a
// session on a request it cannot attribute to the user). Its form posts
// Hidden and CSRFField to Action.
type LogoutData struct {
	// Action is the URL the form posts to, such as "/oauth2/logout".
	Action string
	// ClientName, when set, is the application that asks to sign out.
	ClientName string
	// Hidden are the request's parameters to post back (such as
	// post_logout_redirect_uri and state).
	Hidden []HiddenField
	// CSRF is the form's token (CSRF.Token).
	CSRF string
}

// LoggedOutData fills the signed-out page.
type LoggedOutData struct {
	// Message replaces the default text, "You have been signed out.".
	Message string
}

// ErrorData fills the error page, shown when an error must not be
// redirected to a client (such as an unknown client or redirect URI,
// RFC 6749 §4.1.2.1).
type ErrorData struct {
	// Title is the heading; empty shows "Something went wrong".
	Title string
	// Message explains what happened and what to do. It is shown to the
	// user: never put a secret or a token in it.
	Message string
}

//go:embed templates/*.html
var templateFS embed.FS

// Page template files, each executed through "layout" (layout.html).
const (
	loginPage     = "login.html"
	consentPage   = "consent.html"
	accountPage   = "account.html"
	logoutPage    = "logout.html"
	loggedOutPage = "loggedout.html"
	errorPage     = "error.html"
)

// Pages renders the HTML pages. It is safe for concurrent use.
type Pages struct {
	pages     map[string]*template.Template
	style     []byte // the style sheet
	stylePath string // where StaticHandler serves it
}

// New parses the embedded templates and style sheet.
func New() (*Pages, error) {
	style, err := styleFS.ReadFile(styleFile)
	if err != nil {
		return nil, fmt.Errorf("web: read style sheet: %w", err)
	}
	p := &Pages{pages: make(map[string]*template.Template), style: style, stylePath: stylePath(style)}
	funcs := template.FuncMap{
		"stylesheet": func() string { return p.stylePath },
		"datetime":   datetime,
		"when":       when,
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("web: parse layout: %w", err)
	}
	for _, name := range []string{loginPage, consentPage, accountPage, logoutPage, loggedOutPage, errorPage} {
		t, err := layout.Clone()
		if err == nil {
			t, err = t.ParseFS(templateFS, "templates/"+name)
		}
		if err != nil {
			return nil, fmt.Errorf("web: parse %s: %w", name, err)
		}
		p.pages[name] = t
	}
	return p, nil
}

// Login writes the sign-in page with status.
func (p *Pages) Login(w http.ResponseWriter, status int, d LoginData) error {
	return p.render(w, status, loginPage, d)
}

// Consent writes the consent page with status.
func (p *Pages) Consent(w http.ResponseWriter, status int, d ConsentData) error {
	return p.render(w, status, consentPage, d)
}

// Account writes the account page with status.
func (p *Pages) Account(w http.ResponseWriter, status int, d AccountData) error {
	return p.render(w, status, accountPage, d)
}

// Logout writes the logout confirmation page with status.
func (p *Pages) Logout(w http.ResponseWriter, status int, d LogoutData) error {
	return p.render(w, status, logoutPage, d)
}

// LoggedOut writes the signed-out page with status.
func (p *Pages) LoggedOut(w http.ResponseWriter, status int, d LoggedOutData) error {
	return p.render(w, status, loggedOutPage, d)
}

// Error writes the error page with status.
func (p *Pages) Error(w http.ResponseWriter, status int, d ErrorData) error {
	return p.render(w, status, errorPage, d)
}

// render executes the page into a buffer, then writes it, so that a
// failure writes nothing and the caller may still answer otherwise. It
// sets Content-Type and Content-Length, and no other header.
func (p *Pages) render(w http.ResponseWriter, status int, name string, data any) error {
	if status < 100 || status > 999 {
		return fmt.Errorf("web: invalid status code %d", status)
	}
	var buf bytes.Buffer
	if err := p.pages[name].ExecuteTemplate(&buf, "layout", data); err != nil {
		return fmt.Errorf("web: render %s: %w", name, err)
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("web: write %s: %w", name, err)
	}
	return nil
}

// datetime formats t for a <time datetime> attribute.
func datetime(t time.Time) string {
	return t.UTC().Format(time.RFC3339)
}

// when formats t for people, in UTC (the page cannot know the reader's
// zone without script).
func when(t time.Time) string {
	return t.UTC().Format("2 Jan 2006, 15:04 UTC")
}

// scopeDescriptions explain the scopes OpenID Connect defines (OIDC Core
// 1.0 §5.4, §11).
var scopeDescriptions = map[string]string{
	"openid":         "Sign you in with your latch account",
	"profile":        "See your basic profile information",
	"email":          "See your e-mail address",
	"offline_access": "Keep access while you are not using it, until you revoke it",
}

// DescribeScopes returns the scopes as ScopeItems, in order, with a
// description for the scopes OpenID Connect defines (openid, profile,
// email, offline_access) and none for others.
func DescribeScopes(scopes []string) []ScopeItem {
	items := make([]ScopeItem, len(scopes))
	for i, s := range scopes {
		items[i] = ScopeItem{Name: s, Description: scopeDescriptions[s]}
	}
	return items
}
