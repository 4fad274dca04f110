package verifier

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/revocation"
)

// AccessCookie is the cookie latch's cookie mode puts the access token
// in; TokenFromRequest reads it.
const AccessCookie = "__Host-latch_at"

// contextKey is unexported so only this package can set claims.
type contextKey struct{}

// FromContext returns the verified claims the middleware stored in ctx.
func FromContext(ctx context.Context) (jwt.Claims, bool) {
	c, ok := ctx.Value(contextKey{}).(*jwt.Claims)
	if !ok {
		return jwt.Claims{}, false
	}
	return *c, true
}

// NewContext returns ctx carrying claims, as the middleware does; for
// tests of handlers behind it.
func NewContext(ctx context.Context, claims jwt.Claims) context.Context {
	return context.WithValue(ctx, contextKey{}, &claims)
}

// Require passes requests with a valid access token to next, with the
// claims in the request context (FromContext), and answers others with 401
// and a WWW-Authenticate challenge (RFC 6750 §3): a request with no token
// gets `Bearer` alone (no error code, RFC 6750 §3.1), one with a bad token
// `Bearer error="invalid_token"`. A request whose token is ambiguous (see
// TokenFromRequest) gets 400 and `Bearer error="invalid_request"`.
//
// A DPoP-bound token (RFC 9449) must come as `Authorization: DPoP <token>`
// with a valid `DPoP` proof header by the key it is bound to (see
// DPoPChecker.CheckBinding); a bad proof gets `DPoP
// error="invalid_dpop_proof"`, and a bound token sent as Bearer (or an
// unbound one sent as DPoP) `DPoP error="invalid_token"`.
func (v *Verifier) Require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v.setDPoPNonce(w)
		claims, err := v.VerifyRequest(r)
		if err != nil {
			challenge(w, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), claims)))
	})
}

// VerifyRequest finds the access token r carries (TokenFromRequest),
// verifies it (Verify) and checks it against how r presents it: a
// DPoP-bound token needs `Authorization: DPoP` and a valid proof of its key
// (DPoPChecker.CheckBinding, RFC 9449 §7.1). It is what Require does, for
// adapters to other routers: Verify alone does not look at the request,
// so it cannot tell a bound token sent as Bearer.
func (v *Verifier) VerifyRequest(r *http.Request) (jwt.Claims, error) {
	tok, err := TokenFromRequest(r)
	if err != nil {
		return jwt.Claims{}, err
	}
	claims, err := v.Verify(r.Context(), tok)
	if err != nil {
		return jwt.Claims{}, err
	}
	if err := v.dpop.CheckBinding(r, tok, &claims); err != nil {
		return jwt.Claims{}, err
	}
	return claims, nil
}

// Optional passes every request to next; one with a valid token carries
// its claims in the context. A request with an invalid or ambiguous token
// is refused as Require refuses it, since a client that sends one expects
// it to count.
func (v *Verifier) Optional(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v.setDPoPNonce(w)
		tok, err := TokenFromRequest(r)
		if errors.Is(err, ErrNoToken) {
			next.ServeHTTP(w, r)
			return
		}
		if err != nil {
			challenge(w, err)
			return
		}
		claims, err := v.Verify(r.Context(), tok)
		if err == nil {
			err = v.dpop.CheckBinding(r, tok, &claims)
		}
		if err != nil {
			challenge(w, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), claims)))
	})
}

// RequireScope returns middleware that lets through only requests whose
// verified token has every one of scopes, answering others 403
// insufficient_scope. Put it inside Require.
func RequireScope(scopes ...string) func(http.Handler) http.Handler {
	return require(func(c *jwt.Claims) bool {
		for _, s := range scopes {
			if !c.HasScope(s) {
				return false
			}
		}
		return true
	}, "scope", strings.Join(scopes, " "))
}

// RequireRole returns middleware that lets through only requests whose
// verified token has at least one of roles. Put it inside Require.
func RequireRole(roles ...string) func(http.Handler) http.Handler {
	return require(func(c *jwt.Claims) bool {
		for _, r := range roles {
			if c.HasRole(r) {
				return true
			}
		}
		return false
	}, "role", strings.Join(roles, " "))
}

func require(ok func(*jwt.Claims) bool, what, want string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, found := r.Context().Value(contextKey{}).(*jwt.Claims)
			if !found {
				challenge(w, ErrNoToken)
				return
			}
			if !ok(c) {
				h := w.Header()
				h.Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="insufficient_scope", error_description="missing %s", scope=%q`, what, want))
				writeError(w, http.StatusForbidden, "insufficient_scope", "missing "+what+" "+want)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// The errors of TokenFromRequest.
var (
	// ErrNoToken reports a request that carries no access token at all.
	ErrNoToken = errors.New("verifier: no access token")
	// ErrAmbiguousCredentials reports a request that carries its token in
	// more than one way, or an empty Authorization header (RFC 6750 §2).
	ErrAmbiguousCredentials = errors.New("verifier: ambiguous credentials")
)

// errAuthorizationHeader reports an Authorization header that is not
// `Bearer <token>`; it matches jwt.ErrMalformed.
var errAuthorizationHeader = fmt.Errorf("%w: Authorization header must be: Bearer <token> or DPoP <token>", jwt.ErrMalformed)

// ambiguityError is an ErrAmbiguousCredentials with what made the request
// ambiguous.
type ambiguityError struct{ reason string }

func (e *ambiguityError) Error() string { return ErrAmbiguousCredentials.Error() + ": " + e.reason }
func (e *ambiguityError) Unwrap() error { return ErrAmbiguousCredentials }

// TokenFromRequest returns the access token r carries, unverified: from
// the Authorization header (RFC 6750 §2.1) or the AccessCookie, and from
// one of them only (RFC 6750 §2: a client MUST NOT use more than one
// method). It is how Require and Optional find the token, for handlers
// that need the token itself (to pass it on, say) and for latch's own
// server, which accepts tokens as the middleware does.
//
// A request with more than one Authorization header, with an empty one,
// with the header and the cookie holding different tokens, or with two
// access cookies that differ is ambiguous: ErrAmbiguousCredentials, which
// the middleware answers 400 invalid_request. The same token in the header
// and the cookie is one credential. A request with neither is ErrNoToken;
// an Authorization header that is not `Bearer <token>` is an error
// matching jwt.ErrMalformed. ErrorDescription describes each for a client.
// The DPoP scheme (RFC 9449 §7.1) is read as Bearer is; whether the token
// may be used that way is DPoPChecker.CheckBinding's question.
func TokenFromRequest(r *http.Request) (string, error) {
	var h string
	switch vs := r.Header.Values("Authorization"); {
	case len(vs) > 1:
		return "", &ambiguityError{"more than one Authorization header"}
	case len(vs) == 1 && strings.TrimSpace(vs[0]) == "":
		return "", &ambiguityError{"empty Authorization header"}
	case len(vs) == 1:
		h = vs[0]
	}
	var cookie string
	for _, c := range r.CookiesNamed(AccessCookie) {
		switch {
		case c.Value == "":
		case cookie == "":
			cookie = c.Value
		case c.Value != cookie:
			return "", &ambiguityError{"more than one access token cookie"}
		}
	}
	if h == "" {
		if cookie == "" {
			return "", ErrNoToken
		}
		return cookie, nil
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "DPoP") || tok == "" || strings.ContainsAny(tok, " \t") {
		return "", errAuthorizationHeader
	}
	if cookie != "" && cookie != tok {
		return "", &ambiguityError{"access token in both the Authorization header and a cookie"}
	}
	return tok, nil
}

// ErrorDescription returns the reason, fit for the client, that a request
// was refused with err, an error of TokenFromRequest or Verify: what the
// middleware sends as error_description (RFC 6750 §3). It names the kind
// of failure ("token expired", "token not meant for this service", "more
// than one Authorization header", ...) but no internal detail, and never
// the token.
func ErrorDescription(err error) string {
	var ae *ambiguityError
	switch {
	case errors.Is(err, ErrNoToken):
		return "access token required"
	case errors.As(err, &ae):
		return ae.reason
	case errors.Is(err, errAuthorizationHeader):
		return "Authorization header must be: Bearer <token> or DPoP <token>"
	case errors.Is(err, ErrDPoPReplay):
		return "DPoP proof replayed"
	case errors.Is(err, ErrDPoPProof):
		return "invalid DPoP proof"
	case errors.Is(err, ErrDPoPNonce):
		return "DPoP nonce required"
	case errors.Is(err, ErrDPoPBinding):
		return "token used against its DPoP binding"
	case errors.Is(err, jwt.ErrExpired):
		return "token expired"
	case errors.Is(err, jwt.ErrNotYetValid), errors.Is(err, jwt.ErrIssuedInFuture):
		return "token not yet valid"
	case errors.Is(err, jwt.ErrAudience), errors.Is(err, jwt.ErrIssuer), errors.Is(err, jwt.ErrType):
		return "token not meant for this service"
	case errors.Is(err, jwt.ErrTooLarge):
		return "token too large"
	case errors.Is(err, jwt.ErrEncrypted):
		return "token is encrypted for another recipient: this service cannot read it"
	case errors.Is(err, jwt.ErrNotEncrypted):
		return "token must be encrypted"
	case errors.Is(err, revocation.ErrRevoked):
		return "token revoked"
	}
	return "token invalid"
}

// challenge answers a refused request: 401 with a description that names
// the kind of failure but no internal detail and never the token, 400 for
// ambiguous credentials, 503 when revocation cannot be checked.
func challenge(w http.ResponseWriter, err error) {
	desc := ErrorDescription(err)
	switch {
	case errors.Is(err, ErrNoToken):
		// RFC 6750 §3.1: no error code for a request without
		// authentication information.
		w.Header().Set("WWW-Authenticate", `Bearer`)
		writeError(w, http.StatusUnauthorized, "invalid_request", desc)
	case errors.Is(err, ErrAmbiguousCredentials):
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="invalid_request", error_description=%q`, desc))
		writeError(w, http.StatusBadRequest, "invalid_request", desc)
	case errors.Is(err, ErrDPoPProof):
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`DPoP error="invalid_dpop_proof", error_description=%q, algs=%q`, desc, dpopAlgs))
		writeError(w, http.StatusUnauthorized, "invalid_dpop_proof", desc)
	case errors.Is(err, ErrDPoPNonce):
		// RFC 9449 §9: the nonce to retry with comes as DPoP-Nonce.
		if ne := (*DPoPNonceError)(nil); errors.As(err, &ne) && ne.Nonce != "" {
			w.Header().Set("DPoP-Nonce", ne.Nonce)
		}
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`DPoP error="use_dpop_nonce", error_description=%q, algs=%q`, desc, dpopAlgs))
		writeError(w, http.StatusUnauthorized, "use_dpop_nonce", desc)
	case errors.Is(err, ErrDPoPBinding):
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`DPoP error="invalid_token", error_description=%q, algs=%q`, desc, dpopAlgs))
		writeError(w, http.StatusUnauthorized, "invalid_token", desc)
	case errors.Is(err, ErrRevocationsStale) || errors.Is(err, ErrIntrospection):
		// Not the client's fault: the service cannot check revocation now.
		w.Header().Set("Retry-After", "5")
		writeError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "cannot check token revocation now; retry later")
	default:
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="invalid_token", error_description=%q`, desc))
		writeError(w, http.StatusUnauthorized, "invalid_token", desc)
	}
}

// DPoPAlgorithms are the proof algorithms DPoPChecker accepts, space
// separated, as a DPoP challenge lists them (RFC 9449 §7.1).
const DPoPAlgorithms = "ES256 ES384 ES512 EdDSA PS256 PS384 PS512 RS256 RS384 RS512"

const dpopAlgs = DPoPAlgorithms

func writeError(w http.ResponseWriter, status int, code, desc string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	b, _ := json.Marshal(struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{code, desc})
	w.Write(append(b, '\n'))
}
