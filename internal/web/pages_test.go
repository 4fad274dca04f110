package web_test

import (
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/internal/web"
)

const token = "csrf-token-value"

var when = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// input is an input a page must have.
type input struct {
	id, name, typ, autocomplete string
	label                       string // text of its <label for=id>
}

// button is a submit button a page must have, in a form posting hidden.
type button struct {
	id, name, value, text string
	hidden                map[string]string // hidden inputs of its form
}

// pageCase is a page rendered with data.
type pageCase struct {
	name    string
	render  func(p *web.Pages, w http.ResponseWriter) error
	status  int
	title   string // the <title> starts with it
	h1      string // the <h1> contains it
	inputs  []input
	buttons []button
	text    []string // the page's text contains each
	absent  []string // and contains none of these
}

func pageCases() []pageCase {
	sessions := []web.SessionItem{
		{ID: "sess-1", Device: "Firefox on Linux", IP: "192.0.2.1", Created: when, LastUsed: when.Add(time.Hour), Current: true},
		{ID: "sess-2", Device: "", IP: "", Created: when},
	}
	return []pageCase{
		{
			name: "login",
			render: func(p *web.Pages, w http.ResponseWriter) error {
				return p.Login(w, http.StatusOK, web.LoginData{Action: "/login", Request: "req-1", ClientName: "Example App", CSRF: token})
			},
			status: http.StatusOK,
			title:  "Sign in",
			h1:     "Sign in",
			inputs: []input{
				{id: "email", name: web.EmailField, typ: "email", autocomplete: "username", label: "E-mail address"},
				{id: "password", name: web.PasswordField, typ: "password", autocomplete: "current-password", label: "Password"},
			},
			buttons: []button{{id: "sign-in", text: "Sign in", hidden: map[string]string{web.CSRFField: token, web.RequestField: "req-1"}}},
			text:    []string{"to continue to Example App"},
		},
		{
			name: "login failed",
			render: func(p *web.Pages, w http.ResponseWriter) error {
				return p.Login(w, http.StatusUnauthorized, web.LoginData{Action: "/login", Email: "ann@example.com", Error: "Wrong e-mail address or password.", CSRF: token})
			},
			status: http.StatusUnauthorized,
			title:  "Sign in",
			h1:     "Sign in",
			inputs: []input{
				{id: "email", name: web.EmailField, typ: "email", autocomplete: "username", label: "E-mail address"},
				{id: "password", name: web.PasswordField, typ: "password", autocomplete: "current-password", label: "Password"},
			},
			buttons: []button{{id: "sign-in", text: "Sign in", hidden: map[string]string{web.CSRFField: token}}},
			text:    []string{"Wrong e-mail address or password."},
			absent:  []string{"to continue to"},
		},
		{
			name: "consent",
			render: func(p *web.Pages, w http.ResponseWriter) error {
				return p.Consent(w, http.StatusOK, web.ConsentData{
					Action: "/consent", Request: "req-2", ClientName: "Photo Printer", RedirectOrigin: "https://photos.example",
					Email: "ann@example.com", Scopes: web.DescribeScopes([]string{"openid", "email", "photos.read"}), CSRF: token,
				})
			},
			status: http.StatusOK,
			title:  "Allow access",
			h1:     "Allow Photo Printer to access your account?",
			buttons: []button{
				{id: "allow", name: web.DecisionField, value: web.DecisionAllow, text: "Allow", hidden: map[string]string{web.CSRFField: token, web.RequestField: "req-2"}},
				{id: "deny", name: web.DecisionField, value: web.DecisionDeny, text: "Deny", hidden: map[string]string{web.CSRFField: token, web.RequestField: "req-2"}},
			},
			text: []string{"See your e-mail address email", "photos.read", "https://photos.example", "ann@example.com"},
		},
		{
			name: "account",
			render: func(p *web.Pages, w http.ResponseWriter) error {
				return p.Account(w, http.StatusOK, web.AccountData{
					Action: "/account", Email: "ann@example.com", Sessions: sessions, MinPasswordLength: 12,
					Apps:    []web.AppItem{{ClientID: "client-9", Name: "Photo Printer", Scopes: web.DescribeScopes([]string{"openid"}), Granted: when}},
					Message: "Password changed.", CSRF: token,
				})
			},
			status: http.StatusOK,
			title:  "Your account",
			h1:     "Your account",
			inputs: []input{
				{id: "current-password", name: web.CurrentPasswordField, typ: "password", autocomplete: "current-password", label: "Current password"},
				{id: "new-password", name: web.NewPasswordField, typ: "password", autocomplete: "new-password", label: "New password"},
			},
			buttons: []button{
				{id: "logout-session-0", text: "Log out this device", hidden: map[string]string{web.CSRFField: token, web.OpField: web.OpLogoutSession, web.SessionField: "sess-1"}},
				{id: "logout-session-1", text: "Log out this device", hidden: map[string]string{web.CSRFField: token, web.OpField: web.OpLogoutSession, web.SessionField: "sess-2"}},
				{id: "logout-others", text: "Log out all other devices", hidden: map[string]string{web.CSRFField: token, web.OpField: web.OpLogoutOthers}},
				{id: "revoke-app-0", text: "Remove access", hidden: map[string]string{web.CSRFField: token, web.OpField: web.OpRevokeApp, web.ClientField: "client-9"}},
				{id: "change-password", text: "Change password", hidden: map[string]string{web.CSRFField: token, web.OpField: web.OpChangePassword}},
			},
			text: []string{
				"ann@example.com", "Password changed.", "Firefox on Linux This device", "192.0.2.1",
				"4 Mar 2026, 05:06 UTC", "4 Mar 2026, 06:06 UTC", "Unknown device", "Photo Printer", "At least 12 characters.",
			},
		},
		{
			name: "account with one session",
			render: func(p *web.Pages, w http.ResponseWriter) error {
				return p.Account(w, http.StatusBadRequest, web.AccountData{
					Action: "/account", Email: "ann@example.com", Sessions: sessions[:1], Error: "Your current password is wrong.", CSRF: token,
				})
			},
			status: http.StatusBadRequest,
			title:  "Your account",
			h1:     "Your account",
			inputs: []input{
				{id: "current-password", name: web.CurrentPasswordField, typ: "password", autocomplete: "current-password", label: "Current password"},
				{id: "new-password", name: web.NewPasswordField, typ: "password", autocomplete: "new-password", label: "New password"},
			},
			buttons: []button{
				{id: "logout-session-0", text: "Log out this device", hidden: map[string]string{web.CSRFField: token, web.OpField: web.OpLogoutSession, web.SessionField: "sess-1"}},
				{id: "change-password", text: "Change password", hidden: map[string]string{web.CSRFField: token, web.OpField: web.OpChangePassword}},
			},
			text:   []string{"Your current password is wrong."},
			absent: []string{"Log out all other devices", "Applications with access", "At least"},
		},
		{
			name: "logout confirmation",
			render: func(p *web.Pages, w http.ResponseWriter) error {
				return p.Logout(w, http.StatusOK, web.LogoutData{
					Action: "/oauth2/logout", ClientName: "Photo Printer", CSRF: token,
					Hidden: []web.HiddenField{{Name: "post_logout_redirect_uri", Value: "https://photos.example/bye"}, {Name: "state", Value: "s t"}},
				})
			},
			status: http.StatusOK,
			title:  "Sign out",
			h1:     "Sign out?",
			buttons: []button{{id: "sign-out", text: "Sign out", hidden: map[string]string{
				web.CSRFField: token, "post_logout_redirect_uri": "https://photos.example/bye", "state": "s t",
			}}},
			text: []string{"Photo Printer asks to sign you out"},
		},
		{
			name: "logged out",
			render: func(p *web.Pages, w http.ResponseWriter) error {
				return p.LoggedOut(w, http.StatusOK, web.LoggedOutData{})
			},
			status: http.StatusOK,
			title:  "Signed out",
			h1:     "Signed out",
			text:   []string{"You have been signed out."},
		},
		{
			name: "logged out with message",
			render: func(p *web.Pages, w http.ResponseWriter) error {
				return p.LoggedOut(w, http.StatusOK, web.LoggedOutData{Message: "Signed out of 3 applications."})
			},
			status: http.StatusOK,
			title:  "Signed out",
			h1:     "Signed out",
			text:   []string{"Signed out of 3 applications."},
			absent: []string{"You have been signed out."},
		},
		{
			name: "error",
			render: func(p *web.Pages, w http.ResponseWriter) error {
				return p.Error(w, http.StatusBadRequest, web.ErrorData{Title: "Unknown application", Message: "The redirect URI is not registered."})
			},
			status: http.StatusBadRequest,
			title:  "Unknown application",
			h1:     "Unknown application",
			text:   []string{"The redirect URI is not registered."},
		},
		{
			name: "error without title",
			render: func(p *web.Pages, w http.ResponseWriter) error {
				return p.Error(w, http.StatusInternalServerError, web.ErrorData{})
			},
			status: http.StatusInternalServerError,
			title:  "Something went wrong",
			h1:     "Something went wrong",
		},
	}
}

func newPages(t *testing.T) *web.Pages {
	t.Helper()
	p, err := web.New()
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	return p
}

// TestPages renders every page and checks its status, headers, style
// sheet, labelled inputs, and forms with their CSRF token.
func TestPages(t *testing.T) {
	p := newPages(t)
	for _, tc := range pageCases() {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			if err := tc.render(p, w); err != nil {
				t.Fatalf("render error = %v", err)
			}
			if w.Code != tc.status {
				t.Errorf("status = %d, want %d", w.Code, tc.status)
			}
			if got, want := w.Header().Get("Content-Type"), "text/html; charset=utf-8"; got != want {
				t.Errorf("Content-Type = %q, want %q", got, want)
			}
			for name := range w.Header() {
				if name != "Content-Type" && name != "Content-Length" {
					t.Errorf("render set header %s; security headers are the server's", name)
				}
			}
			body := w.Body.String()
			if !strings.HasPrefix(body, "<!DOCTYPE html>") {
				t.Errorf("page does not start with <!DOCTYPE html>: %.40q", body)
			}
			doc := parseHTML(t, body)

			if html := doc.tagged("html"); len(html) != 1 || html[0].attr["lang"] != "en" {
				t.Errorf("want one <html lang=en>")
			}
			if titles := doc.tagged("title"); len(titles) != 1 || !strings.HasPrefix(titles[0].content(), tc.title) {
				t.Errorf("<title> = %v, want it to start with %q", contents(titles), tc.title)
			}
			if h1 := doc.tagged("h1"); len(h1) != 1 || !strings.Contains(h1[0].content(), tc.h1) {
				t.Errorf("<h1> = %v, want one containing %q", contents(h1), tc.h1)
			}
			if len(doc.tagged("main")) != 1 {
				t.Errorf("want one <main>")
			}
			links := doc.all(func(n *node) bool { return n.tag == "link" && n.attr["rel"] == "stylesheet" })
			if len(links) != 1 || links[0].attr["href"] != p.StylePath() {
				t.Errorf("style sheet links = %d, want one to %q", len(links), p.StylePath())
			}
			text := doc.content()
			for _, s := range tc.text {
				if !strings.Contains(text, s) {
					t.Errorf("page text lacks %q:\n%s", s, text)
				}
			}
			for _, s := range tc.absent {
				if strings.Contains(text, s) {
					t.Errorf("page text has %q", s)
				}
			}

			checkLabels(t, doc)
			for _, f := range doc.tagged("form") {
				if f.attr["method"] != "post" {
					t.Errorf("form %q method = %q, want post", f.attr["action"], f.attr["method"])
				}
				if got := hiddenInputs(t, f)[web.CSRFField]; got != token {
					t.Errorf("form %q CSRF input = %q, want %q", f.attr["action"], got, token)
				}
				if len(f.tagged("form")) > 1 {
					t.Errorf("form %q is nested", f.attr["action"])
				}
			}
			for _, want := range tc.inputs {
				in := doc.byID(want.id)
				if in == nil || in.tag != "input" {
					t.Errorf("no <input id=%q>", want.id)
					continue
				}
				if in.attr["name"] != want.name || in.attr["type"] != want.typ || in.attr["autocomplete"] != want.autocomplete {
					t.Errorf("input #%s name, type, autocomplete = %q, %q, %q, want %q, %q, %q", want.id,
						in.attr["name"], in.attr["type"], in.attr["autocomplete"], want.name, want.typ, want.autocomplete)
				}
				if !in.has("required") {
					t.Errorf("input #%s is not required", want.id)
				}
				if in.form() == nil {
					t.Errorf("input #%s is in no form", want.id)
				}
				if got := labelFor(doc, want.id); got != want.label {
					t.Errorf("label of #%s = %q, want %q", want.id, got, want.label)
				}
			}
			for _, want := range tc.buttons {
				b := doc.byID(want.id)
				if b == nil || b.tag != "button" {
					t.Errorf("no <button id=%q>", want.id)
					continue
				}
				if b.attr["type"] != "submit" || b.attr["name"] != want.name || b.attr["value"] != want.value || b.content() != want.text {
					t.Errorf("button #%s type, name, value, text = %q, %q, %q, %q, want submit, %q, %q, %q", want.id,
						b.attr["type"], b.attr["name"], b.attr["value"], b.content(), want.name, want.value, want.text)
				}
				f := b.form()
				if f == nil {
					t.Errorf("button #%s is in no form", want.id)
					continue
				}
				if got := hiddenInputs(t, f); !equalMaps(got, want.hidden) {
					t.Errorf("hidden inputs of the form of #%s = %v, want %v", want.id, got, want.hidden)
				}
			}
			if got, want := len(doc.tagged("button")), len(tc.buttons); got != want {
				t.Errorf("page has %d buttons, want %d", got, want)
			}
		})
	}
}

// checkLabels checks that ids are unique, that every label names an
// input, and that every visible input has exactly one label.
func checkLabels(t *testing.T, doc *node) {
	t.Helper()
	ids := map[string]bool{}
	for _, n := range doc.all(func(n *node) bool { return n.has("id") }) {
		if ids[n.attr["id"]] {
			t.Errorf("id %q is used twice", n.attr["id"])
		}
		ids[n.attr["id"]] = true
	}
	for _, l := range doc.tagged("label") {
		if in := doc.byID(l.attr["for"]); in == nil || in.tag != "input" {
			t.Errorf("<label for=%q> names no input", l.attr["for"])
		}
	}
	for _, in := range doc.tagged("input") {
		if in.attr["type"] == "hidden" || in.has("hidden") {
			continue
		}
		n := len(doc.all(func(l *node) bool { return l.tag == "label" && l.attr["for"] == in.attr["id"] }))
		if in.attr["id"] == "" || n != 1 {
			t.Errorf("input %q (id %q) has %d labels, want 1", in.attr["name"], in.attr["id"], n)
		}
	}
	for _, n := range doc.all(func(n *node) bool { return n.has("aria-describedby") }) {
		if doc.byID(n.attr["aria-describedby"]) == nil {
			t.Errorf("aria-describedby=%q names no element", n.attr["aria-describedby"])
		}
	}
}

// labelFor returns the text of the label for id.
func labelFor(doc *node, id string) string {
	for _, l := range doc.tagged("label") {
		if l.attr["for"] == id {
			return l.content()
		}
	}
	return ""
}

func contents(nodes []*node) []string {
	var res []string
	for _, n := range nodes {
		res = append(res, n.content())
	}
	return res
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestPagesNeedNoScriptOrOtherOrigin checks what lets the pages work under
// CSP: no script, no inline style or event handler, nothing loaded from
// another origin.
func TestPagesNeedNoScriptOrOtherOrigin(t *testing.T) {
	p := newPages(t)
	for _, tc := range pageCases() {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			if err := tc.render(p, w); err != nil {
				t.Fatalf("render error = %v", err)
			}
			doc := parseHTML(t, w.Body.String())
			for _, n := range doc.all(func(*node) bool { return true }) {
				switch n.tag {
				case "script", "style", "iframe", "object", "embed", "base", "img":
					t.Errorf("page has <%s>", n.tag)
				}
				for _, a := range n.order {
					if a == "style" || strings.HasPrefix(a, "on") {
						t.Errorf("<%s> has attribute %s", n.tag, a)
					}
				}
				for _, a := range []string{"href", "src", "action", "formaction"} {
					if v, ok := n.attr[a]; ok && !strings.HasPrefix(v, "/") {
						t.Errorf("<%s %s=%q> is not a path on this server", n.tag, a, v)
					}
				}
			}
		})
	}
}

// TestPagesEscape renders hostile values and checks that they come out as
// text, never markup.
func TestPagesEscape(t *testing.T) {
	const (
		script = `<script>alert(1)</script>`
		email  = `ann"><script>alert(2)</script>'@example.com`
	)
	p := newPages(t)
	tests := []struct {
		name   string
		render func(w http.ResponseWriter) error
		check  func(t *testing.T, doc *node)
	}{
		{
			name: "consent client name",
			render: func(w http.ResponseWriter) error {
				return p.Consent(w, http.StatusOK, web.ConsentData{Action: "/consent", ClientName: script, Email: email,
					Scopes: []web.ScopeItem{{Name: `x"y`, Description: script}}, CSRF: `"><b>`})
			},
			check: func(t *testing.T, doc *node) {
				if got := doc.tagged("h1")[0].content(); !strings.Contains(got, script) {
					t.Errorf("<h1> = %q, want it to show %q as text", got, script)
				}
				if got := hiddenInputs(t, doc.tagged("form")[0])[web.CSRFField]; got != `"><b>` {
					t.Errorf("CSRF input = %q, want %q", got, `"><b>`)
				}
			},
		},
		{
			name: "login e-mail",
			render: func(w http.ResponseWriter) error {
				return p.Login(w, http.StatusOK, web.LoginData{Action: "/login", Email: email, Error: script, ClientName: script, Request: `"'<>`, CSRF: token})
			},
			check: func(t *testing.T, doc *node) {
				if got := doc.byID("email").attr["value"]; got != email {
					t.Errorf("e-mail input value = %q, want %q", got, email)
				}
				if got := hiddenInputs(t, doc.tagged("form")[0])[web.RequestField]; got != `"'<>` {
					t.Errorf("request input = %q, want %q", got, `"'<>`)
				}
			},
		},
		{
			name: "account",
			render: func(w http.ResponseWriter) error {
				return p.Account(w, http.StatusOK, web.AccountData{Action: "/account", Email: email, Error: script,
					Sessions: []web.SessionItem{{ID: `"><i>`, Device: script, IP: script}},
					Apps:     []web.AppItem{{ClientID: "c", Name: script}}, CSRF: token})
			},
			check: func(t *testing.T, doc *node) {
				if got := hiddenInputs(t, doc.byID("logout-session-0").form())[web.SessionField]; got != `"><i>` {
					t.Errorf("session input = %q, want %q", got, `"><i>`)
				}
			},
		},
		{
			name: "logout hidden fields",
			render: func(w http.ResponseWriter) error {
				return p.Logout(w, http.StatusOK, web.LogoutData{Action: "/oauth2/logout", ClientName: script, CSRF: token,
					Hidden: []web.HiddenField{{Name: `a"><script>`, Value: `b"><script>`}}})
			},
			check: func(t *testing.T, doc *node) {
				if got := hiddenInputs(t, doc.tagged("form")[0])[`a"><script>`]; got != `b"><script>` {
					t.Errorf("hidden input = %q, want %q", got, `b"><script>`)
				}
			},
		},
		{
			name: "error",
			render: func(w http.ResponseWriter) error {
				return p.Error(w, http.StatusBadRequest, web.ErrorData{Title: script, Message: script})
			},
			check: func(t *testing.T, doc *node) {
				if got := doc.tagged("title")[0].content(); !strings.HasPrefix(got, script) {
					t.Errorf("<title> = %q, want it to start with %q", got, script)
				}
			},
		},
		{
			name: "javascript action",
			render: func(w http.ResponseWriter) error {
				return p.Login(w, http.StatusOK, web.LoginData{Action: "javascript:alert(1)", CSRF: token})
			},
			check: func(t *testing.T, doc *node) {
				if got := doc.tagged("form")[0].attr["action"]; strings.Contains(got, "javascript") {
					t.Errorf("form action = %q, want the unsafe URL replaced", got)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			if err := tc.render(w); err != nil {
				t.Fatalf("render error = %v", err)
			}
			body := w.Body.String()
			for _, s := range []string{"<script", "<b>", "<i>"} {
				if strings.Contains(body, s) {
					t.Errorf("page contains %q unescaped", s)
				}
			}
			doc := parseHTML(t, body)
			if n := doc.tagged("script"); len(n) != 0 {
				t.Errorf("page has %d <script> elements", len(n))
			}
			tc.check(t, doc)
		})
	}
}

// TestRenderInvalidStatus checks that a bad status is an error and that
// nothing was written, so the caller can still answer.
func TestRenderInvalidStatus(t *testing.T) {
	p := newPages(t)
	for _, status := range []int{0, 99, 1000, -200} {
		w := httptest.NewRecorder()
		err := p.Error(w, status, web.ErrorData{})
		if err == nil {
			t.Errorf("Error(status %d) error = nil, want an error", status)
		}
		if w.Body.Len() != 0 || len(w.Header()) != 0 || w.Code != http.StatusOK || w.Flushed {
			t.Errorf("Error(status %d) wrote a response: %d %v %q", status, w.Code, w.Header(), w.Body)
		}
	}
}

// failingWriter fails every write.
type failingWriter struct{ httptest.ResponseRecorder }

var errWrite = errors.New("connection closed")

func (w *failingWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestRenderWriteError(t *testing.T) {
	p := newPages(t)
	w := &failingWriter{*httptest.NewRecorder()}
	if err := p.LoggedOut(w, http.StatusOK, web.LoggedOutData{}); !errors.Is(err, errWrite) {
		t.Errorf("LoggedOut on a failing writer error = %v, want %v", err, errWrite)
	}
}

func TestDescribeScopes(t *testing.T) {
	got := web.DescribeScopes([]string{"openid", "profile", "email", "offline_access", "photos.read"})
	wantNames := []string{"openid", "profile", "email", "offline_access", "photos.read"}
	if len(got) != len(wantNames) {
		t.Fatalf("DescribeScopes returned %d items, want %d", len(got), len(wantNames))
	}
	for i, item := range got {
		if item.Name != wantNames[i] {
			t.Errorf("item %d name = %q, want %q", i, item.Name, wantNames[i])
		}
		if known := i < 4; (item.Description != "") != known {
			t.Errorf("item %q description = %q, want one: %v", item.Name, item.Description, known)
		}
	}
	if got := web.DescribeScopes(nil); len(got) != 0 {
		t.Errorf("DescribeScopes(nil) = %v, want empty", got)
	}
	descs := map[string]bool{}
	for _, item := range got[:4] {
		descs[item.Description] = true
	}
	if len(descs) != 4 {
		t.Errorf("descriptions are not distinct: %v", slices.Collect(maps.Keys(descs)))
	}
}

// TestCSPConstant pins the policy the pages are written for.
func TestCSPConstant(t *testing.T) {
	want := "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	if web.CSP != want {
		t.Errorf("CSP = %q, want %q", web.CSP, want)
	}
}
