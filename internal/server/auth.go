package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/latch-auth/latch/internal/client"
	"github.com/latch-auth/latch/internal/feed"
	"github.com/latch-auth/latch/internal/issuer"
	"github.com/latch-auth/latch/internal/session"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/verifier"
)

// Cookie names. The access cookie is the verifier's (verifier.AccessCookie),
// so that a resource service on the same host reads the cookie the
// server sets; it uses the __Host- prefix: Secure, Path=/ and no Domain,
// so no subdomain can plant or read it. The refresh cookie is scoped to
// the endpoints that take it (which rules out __Host-), the refresh
// endpoint and logout (set once on each path, with the same value), and
// is SameSite=Strict.
const (
	accessCookie  = verifier.AccessCookie
	refreshCookie = "__Secure-latch_rt"
	refreshPath   = "/v1/token/refresh"
	v1LogoutPath  = "/v1/logout"
)

// authed wraps a handler that needs a valid access token, found and
// checked as the verifier's middleware finds and checks one: from the
// Authorization header (RFC 6750 §2.1) or the access cookie
// (verifier.TokenFromRequest), then signature, issuer, audience, expiry
// and "typ" at+jwt (jwt.Validator), and a DPoP-bound token's proof (RFC
// 9449 §7; see checkDPoPBinding). With a feed,
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
		kv, err := s.keyValidators()
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		hdr, claims, err := kv.verified.parse(kv.byAudience[0], tok)
		if err != nil {
			s.writeError(w, r, invalidToken(describeTokenError(err)))
			return
		}
		if claims.SessionID == "" {
			s.writeError(w, r, invalidToken("token has no session"))
			return
		}
		if err := s.checkDPoPBinding(r, tok, &claims); err != nil {
			s.writeError(w, r, err)
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

// bearerToken returns the access token of a request for a protected
// resource, as verifier.TokenFromRequest finds it, and turns its refusals
// into the server's: a request that carries its token in more than one
// way (RFC 6750 §2), or an empty Authorization header, is 400
// invalid_request with a Bearer challenge; a malformed Authorization
// header is 401 invalid_token; no token at all is errNoToken, whose
// challenge carries no error code (RFC 6750 §3.1).
func bearerToken(r *http.Request) (string, error) {
	tok, err := verifier.TokenFromRequest(r)
	switch {
	case err == nil:
		return tok, nil
	case errors.Is(err, verifier.ErrNoToken):
		return "", errNoToken
	case errors.Is(err, verifier.ErrAmbiguousCredentials):
		return "", bearerRefusal(badRequest(verifier.ErrorDescription(err)))
	}
	return "", invalidToken(verifier.ErrorDescription(err))
}

// bearerRefusal adds to a refused request for a protected resource the
// Bearer challenge with its error code (RFC 6750 §3).
func bearerRefusal(err error) error {
	ae := errorFor(err)
	c := *ae
	c.challenge = fmt.Sprintf(`Bearer realm="latch", error=%q, error_description=%q`, ae.code, ae.desc)
	return &c
}

// describeTokenError is the client-facing reason a token was refused, the
// verifier middleware's (verifier.ErrorDescription): coarse, with no
// internal detail and never the token.
func describeTokenError(err error) string { return verifier.ErrorDescription(err) }

// accessValidators returns the validators of the server's access tokens
// (issuer, one audience, "typ" at+jwt) over the keyring's current
// verification keys, one per audience of s.audiences, Audience first.
// They are built once per key set: the keyring hands out the same
// *jose.KeySet until its keys change, and the validators built for the
// last one are kept with it.
func (s *Server) accessValidators() ([]*jwt.Validator, error) {
	kv, err := s.keyValidators()
	if err != nil {
		return nil, err
	}
	return kv.byAudience, nil
}

// keyValidators returns the validators of accessValidators with the
// tokens the first one verified.
func (s *Server) keyValidators() (*keyValidators, error) {
	keys, err := s.d.Keys.VerificationKeys()
	if err != nil {
		return nil, err
	}
	if c := s.validators.Load(); c != nil && c.keys == keys {
		return c, nil
	}
	vs := make([]*jwt.Validator, len(s.audiences))
	for i, aud := range s.audiences {
		if vs[i], err = jwt.NewValidator(keys, s.cfg.Issuer, aud, jwt.ValidatorOptions{Type: jwt.TypeAccessToken}); err != nil {
			return nil, err
		}
	}
	kv := &keyValidators{keys: keys, byAudience: vs, verified: new(verifiedTokens)}
	s.validators.Store(kv)
	return kv, nil
}

// keyValidators are the access-token validators over one key set.
type keyValidators struct {
	keys       *jose.KeySet
	byAudience []*jwt.Validator
	// verified caches the tokens byAudience[0] verified.
	verified *verifiedTokens
}

// maxCookieSize is the largest Set-Cookie header value, name, value and
// attributes together, that the server sends: browsers keep a cookie of
// up to 4096 bytes (RFC 6265 §6.1, RFC 6265bis §5.6) and silently drop a
// larger one, which would leave a login that seems to succeed and a
// client that is not logged in.
const maxCookieSize = 4096

// cookieTooLargeError reports a token cookie over maxCookieSize, which the
// server refuses to send: a browser would drop it. It names the claims
// that take the most room in the token (names and sizes, never values).
type cookieTooLargeError struct {
	Cookie string // the cookie's name
	Bytes  int    // the length of its Set-Cookie header value
	// LargestClaims are the token's largest claims, largest first.
	LargestClaims []issuer.ClaimSize
}

// Error names the cookie, its size, the limit and the largest claims.
func (e *cookieTooLargeError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "server: cookie %s would be %d bytes, over the %d bytes browsers keep; largest claims (bytes of JSON):",
		e.Cookie, e.Bytes, maxCookieSize)
	for _, c := range e.LargestClaims {
		fmt.Fprintf(&b, " %s:%d", c.Name, c.Bytes)
	}
	return b.String()
}

// setTokenCookies puts both tokens in cookies for browser clients (the
// refresh token on each path that takes it), or sets nothing and returns
// a *cookieTooLargeError if any cookie is over maxCookieSize.
func setTokenCookies(w http.ResponseWriter, access string, accessTTL time.Duration, refresh string, refreshTTL time.Duration) error {
	cookies := []*http.Cookie{{
		Name: accessCookie, Value: access, Path: "/", MaxAge: int(accessTTL / time.Second),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode,
	}, {
		Name: refreshCookie, Value: refresh, Path: v1LogoutPath, MaxAge: int(refreshTTL / time.Second),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
	}, {
		Name: refreshCookie, Value: refresh, Path: refreshPath, MaxAge: int(refreshTTL / time.Second),
		HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode,
	}}
	for _, c := range cookies {
		if n := len(c.String()); n > maxCookieSize {
			e := &cookieTooLargeError{Cookie: c.Name, Bytes: n}
			if sizes, err := issuer.TokenClaimSizes(c.Value); err == nil {
				e.LargestClaims = sizes[:min(5, len(sizes))]
			}
			return e
		}
	}
	for _, c := range cookies {
		http.SetCookie(w, c)
	}
	return nil
}

// clearTokenCookies deletes the token cookies.
func clearTokenCookies(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: accessCookie, Path: "/", MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteLaxMode})
	http.SetCookie(w, &http.Cookie{Name: refreshCookie, Path: v1LogoutPath, MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
	http.SetCookie(w, &http.Cookie{Name: refreshCookie, Path: refreshPath, MaxAge: -1, HttpOnly: true, Secure: true, SameSite: http.SameSiteStrictMode})
}
