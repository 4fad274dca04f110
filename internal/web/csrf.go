package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
)

// ErrCSRF reports a form post whose CSRF token is missing, malformed, or
// not the one for its purpose and the browser's binding cookie.
var ErrCSRF = errors.New("web: invalid csrf token")

// CSRFCookie is the name of the cookie holding the browser's binding
// value.
const CSRFCookie = "latch_csrf"

// Form purposes, the purpose argument of CSRF.Token and CSRF.Check for
// each page's form. A token made for one purpose is refused for another.
// Where a form acts for a signed-in session, appending the session's ID
// (PurposeAccount + ":" + id) also ties the token to that session.
const (
	PurposeLogin   = "login"
	PurposeConsent = "consent"
	PurposeAccount = "account"
	PurposeLogout  = "logout"
)

// MinCSRFKeySize is the shortest key NewCSRF accepts: with a shorter one,
// every Check fails.
const MinCSRFKeySize = 32

// bindingSize is the number of random bytes in the binding cookie.
const bindingSize = 32

// CSRF makes and checks the CSRF tokens of forms. A token is
//
//	base64url(HMAC-SHA256(key, purpose || binding))
//
// where binding is 32 random bytes kept in the browser's latch_csrf
// cookie (base64url, HttpOnly, SameSite=Strict, Path=/, ending with the
// browser session). The server stores nothing: Check recomputes the HMAC
// from the posted form's purpose and the cookie the browser sends, and
// compares it in constant time. Another site can neither read the cookie
// nor, without the key, compute a token for it.
//
// The cookie is not __Host- prefixed (it must work over plain HTTP in
// development), so a sibling subdomain could plant a binding value of its
// choice; tying account forms to the session (see the Purpose constants)
// keeps such a planted value from being enough there.
type CSRF struct {
	key []byte
	// Secure marks the cookie Secure on every response, not only on
	// requests that came over TLS: set it when the server's public URL
	// is https behind a proxy that terminates TLS.
	Secure bool
}

// NewCSRF returns a CSRF with key, which must be at least MinCSRFKeySize
// secret random bytes, used for nothing else. NewCSRF copies key.
func NewCSRF(key []byte) *CSRF {
	return &CSRF{key: append([]byte(nil), key...)}
}

// Token returns the token for a form with purpose, to render as its
// CSRFField. It uses the binding value of the request's latch_csrf
// cookie, or the one an earlier call set on w, or else makes a new one
// and sets the cookie on w: call it before writing the response.
func (c *CSRF) Token(w http.ResponseWriter, r *http.Request, purpose string) string {
	binding, ok := requestBinding(r)
	if !ok {
		binding, ok = responseBinding(w)
	}
	if !ok {
		binding = make([]byte, bindingSize)
		rand.Read(binding) // never fails (crypto/rand documents it)
		http.SetCookie(w, &http.Cookie{
			Name:     CSRFCookie,
			Value:    base64.RawURLEncoding.EncodeToString(binding),
			Path:     "/",
			HttpOnly: true,
			Secure:   c.Secure || r.TLS != nil,
			SameSite: http.SameSiteStrictMode,
		})
	}
	return base64.RawURLEncoding.EncodeToString(c.mac(purpose, binding))
}

// Check reports whether token is the token for a form with purpose in the
// browser that sent r: nil if so, else an error matching ErrCSRF.
func (c *CSRF) Check(r *http.Request, purpose, token string) error {
	if len(c.key) < MinCSRFKeySize {
		return fmt.Errorf("%w: key too short", ErrCSRF)
	}
	binding, ok := requestBinding(r)
	if !ok {
		return fmt.Errorf("%w: no binding cookie", ErrCSRF)
	}
	got, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: malformed token", ErrCSRF)
	}
	if !hmac.Equal(got, c.mac(purpose, binding)) {
		return fmt.Errorf("%w: token does not match", ErrCSRF)
	}
	return nil
}

// mac is HMAC-SHA256(key, purpose || binding). The binding has a fixed
// length, so the concatenation is unambiguous.
func (c *CSRF) mac(purpose string, binding []byte) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(purpose))
	m.Write(binding)
	return m.Sum(nil)
}

// requestBinding returns the binding value of the first well-formed
// latch_csrf cookie of r.
func requestBinding(r *http.Request) ([]byte, bool) {
	for _, ck := range r.CookiesNamed(CSRFCookie) {
		if b, ok := decodeBinding(ck.Value); ok {
			return b, true
		}
	}
	return nil, false
}

// responseBinding returns the binding value of a latch_csrf cookie
// already set on w, so that every token of one response uses one binding.
func responseBinding(w http.ResponseWriter) ([]byte, bool) {
	for _, line := range w.Header().Values("Set-Cookie") {
		ck, err := http.ParseSetCookie(line)
		if err != nil || ck.Name != CSRFCookie {
			continue
		}
		if b, ok := decodeBinding(ck.Value); ok {
			return b, true
		}
	}
	return nil, false
}

// decodeBinding decodes a binding cookie value: bindingSize bytes,
// unpadded base64url.
func decodeBinding(v string) ([]byte, bool) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(v)
	if err != nil || len(b) != bindingSize {
		return nil, false
	}
	return b, true
}
