package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/latch-auth/latch/internal/client"
	"github.com/latch-auth/latch/internal/feed"
	"github.com/latch-auth/latch/internal/session"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/revocation"
)

// Cookie names. The access cookie uses the __Host- prefix: Secure, Path=/
// and no Domain, so no subdomain can plant or read it. The refresh cookie
// is scoped to the refresh endpoint (which rules out __Host-) and is
// SameSite=Strict.
const (
	accessCookie  = "__Host-latch_at"
	refreshCookie = "__Secure-latch_rt"
	refreshPath   = "/v1/token/refresh"
)

// authed wraps a handler that needs a valid access token, from the
// Authorization header (RFC 6750 §2.1) or the access cookie. With a feed,
// the token must not be covered by its deny list (a revoked token, key or
// subject: a role change, say). The server has the database at hand, so
// on its own endpoints it also checks that the token's session is still
// active: logout takes effect here at once.
func (s *Server) authed(h func(http.ResponseWriter, *http.Request, principal)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		tok, err := bearerToken(r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		keys, err := s.d.Keys.VerificationKeys()
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		v, err := jwt.NewValidator(keys, s.cfg.Issuer, s.cfg.Audience, jwt.ValidatorOptions{Type: jwt.TypeAccessToken})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		hdr, claims, err := v.ParseWithHeader(tok)
		if err != nil {
			s.writeError(w, r, invalidToken(describeTokenError(err)))
			return
		}
		if claims.SessionID == "" {
			s.writeError(w, r, invalidToken("token has no session"))
			return
		}
		if f := s.d.Feed; f != nil {
			select {
			case <-f.Ready():
			default:
				s.writeError(w, r, feed.ErrNotReady)
				return
			}
			if err := f.DenyList().Check(hdr.KeyID, &claims); err != nil {
				s.writeError(w, r, invalidToken(describeTokenError(err)))
				return
			}
		}
		if _, err := s.d.Sessions.Active(r.Context(), claims.SessionID); err != nil {
			if errors.Is(err, session.ErrEnded) {
				s.writeError(w, r, invalidToken("session ended"))
				return
			}
			s.writeError(w, r, err)
			return
		}
		h(w, r, principal{claims: claims})
	}
}

// clientAuthed wraps a handler for OAuth clients: the request must carry
// the credentials of a registered client (client_secret_basic, RFC 6749
// §2.3.1) that holds scope.
func (s *Server) clientAuthed(scope string, h func(http.ResponseWriter, *http.Request, store.Client)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if _, err := authorization(r); err != nil {
			s.writeError(w, r, err)
			return
		}
		c, err := s.clients.Authenticate(r.Context(), r)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if !client.HasScope(c, scope) {
			s.writeError(w, r, fmt.Errorf("%w: %s", client.ErrInsufficientScope, scope))
			return
		}
		h(w, r, c)
	}
}

// authorization returns the request's Authorization header, "" if it
// has none. A request with several is refused (400 invalid_request): the
// credential is ambiguous, and which one a component reads (the first,
// the last) must not decide who the caller is. So is an empty one: it
// carries no credential, but says the client meant to send one.
func authorization(r *http.Request) (string, error) {
	switch vs := r.Header.Values("Authorization"); {
	case len(vs) == 0:
		return "", nil
	case len(vs) > 1:
		return "", badRequest("more than one Authorization header")
	case strings.TrimSpace(vs[0]) == "":
		return "", badRequest("empty Authorization header")
	default:
		return vs[0], nil
	}
}

// bearerToken extracts the access token from the Authorization header
// (RFC 6750 §2.1) or the access cookie. The request must carry it in one
// way only (RFC 6750 §2: a client MUST NOT use more than one method): two
// Authorization headers, an empty one, or the header and the cookie with
// different tokens, or two access cookies that differ, are 400
// invalid_request. The same token in the header and the cookie is one
// credential, and accepted. No token at all is errNoToken, whose
// challenge carries no error code (RFC 6750 §3.1).
func bearerToken(r *http.Request) (string, error) {
	h, err := authorization(r)
	if err != nil {
		return "", bearerRefusal(err)
	}
	var cookie string
	for _, c := range r.CookiesNamed(accessCookie) {
		switch {
		case c.Value == "":
		case cookie == "":
			cookie = c.Value
		case c.Value != cookie:
			return "", bearerRefusal(badRequest("more than one access token cookie"))
		}
	}
	if h == "" {
		if cookie == "" {
			return "", errNoToken
		}
		return cookie, nil
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" || strings.ContainsAny(tok, " \t") {
		return "", invalidToken("Authorization header must be: Bearer <token>")
	}
	if cookie != "" && cookie != tok {
		return "", bearerRefusal(badRequest("access token in both the Authorization header and a cookie"))
	}
	return tok, nil
}

// bearerRefusal adds to a refused request for a protected resource the
// Bearer challenge with its error code (RFC 6750 §3).
func bearerRefusal(err error) error {
	ae := errorFor(err)
	c := *ae
	c.challenge = fmt.Sprintf(`Bearer realm="latch", error=%q, error_description=%q`, ae.code, ae.desc)
	return &c
}

// describeTokenError is the client-facing reason a token was refused:
// coarse, with no internal detail and never the token.
func describeTokenError(err error) string {
	switch {
	case errors.Is(err, jwt.ErrExpired):
		return "token expired"
	case errors.Is(err, jwt.ErrNotYetValid), errors.Is(err, jwt.ErrIssuedInFuture):
		return "token not yet valid"
	case errors.Is(err, jwt.ErrAudience), errors.Is(err, jwt.ErrIssuer), errors.Is(err, jwt.ErrType):
		return "token not meant for this service"
	case errors.Is(err, jwt.ErrTooLarge):
		return "token too large"
	case errors.Is(err, revocation.ErrRevoked):
		return "token revoked"
	}
	return "token invalid"
}

// setTokenCookies puts both tokens in cookies for browser clients.
func setTokenCookies(w http.ResponseWriter, access string, accessTTL time.Duration, refresh string, refreshTTL time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: accessCookie, Value: access, Path: "/", MaxAge: int(accessTTL / time.Second),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode,
	})
	http.SetCookie(w, &http.Cookie{
		Name: refreshCookie, Value: refresh, Path: refreshPath, MaxAge: int(refreshTTL / time.Second),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
	})
}

// clearTokenCookies deletes both cookies.
func clearTokenCookies(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: accessCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: refreshCookie, Path: refreshPath, MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}
