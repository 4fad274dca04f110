package web_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"

	"github.com/latch-auth/latch/internal/web"
)

// A handler renders a form with a token for its purpose and checks the
// token the browser posts back.
func ExampleCSRF() {
	key := []byte("a 32-byte secret from the config") // in production: random
	csrf := web.NewCSRF(key)

	// GET /login: the browser gets the binding cookie and the form its token.
	w := httptest.NewRecorder()
	tok := csrf.Token(w, httptest.NewRequest(http.MethodGet, "/login", nil), web.PurposeLogin)
	cookie := w.Result().Cookies()[0]

	// POST /login from the page: cookie and token match.
	form := url.Values{web.CSRFField: {tok}}
	r := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(cookie)
	fmt.Println(csrf.Check(r, web.PurposeLogin, r.PostFormValue(web.CSRFField)))

	// A forged post from another site has no token for this browser.
	err := csrf.Check(r, web.PurposeLogin, "forged")
	fmt.Println(errors.Is(err, web.ErrCSRF))
	// Output:
	// <nil>
	// true
}

// The server sends web.CSP with every page.
func ExamplePages_Login() {
	pages, err := web.New()
	if err != nil {
		panic(err)
	}
	w := httptest.NewRecorder()
	w.Header().Set("Content-Security-Policy", web.CSP) // the server's part
	err = pages.Login(w, http.StatusOK, web.LoginData{Action: "/login", CSRF: "token"})
	fmt.Println(err, w.Code, w.Header().Get("Content-Type"))
	fmt.Println(strings.Contains(w.Body.String(), `<input id="password" name="password" type="password" autocomplete="current-password"`))
	// Output:
	// <nil> 200 text/html; charset=utf-8
	// true
}
