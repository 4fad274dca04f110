package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/latch-auth/latch/internal/feed"
	"github.com/latch-auth/latch/internal/issuer"
	"github.com/latch-auth/latch/internal/session"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/jwt"
)

// hintRefreshToken is the token type hint of a refresh token (RFC 7009
// §2.1), and the "token_type" introspection gives one.
const hintRefreshToken = "refresh_token"

// introspection is the answer of token introspection (RFC 7662 §2.2). An
// inactive token is {"active": false} and nothing else.
//
// An access token (token_type "Bearer", RFC 6750) is described by its
// claims: scope, client_id, sub, aud (a string for one audience, an
// array for several, as in the token), iss, exp, iat, nbf, jti, sid and
// roles. A DPoP-bound access token has token_type "DPoP" and, as RFC
// 9449 §6.2 has it, its binding in cnf: {"jkt": thumbprint of the
// client's key}, so that a resource server that introspects can check
// the proof's key against it. A refresh token has token_type "refresh_token": RFC 7662 takes
// token_type from the access-token types of RFC 6749 §7.1, which have no
// name for a refresh token, so it is the hint value of RFC 7009 §2.1,
// unlike any access-token type so that a resource server that checks
// for "Bearer" cannot mistake it for one. It has sub, sid, iss,
// client_id, iat (when the session began) and exp (when the session
// ends unless refreshed: the earlier of its absolute expiry and its idle
// timeout).
type introspection struct {
	Active    bool     `json:"active"`
	Scope     string   `json:"scope,omitempty"`
	ClientID  string   `json:"client_id,omitempty"`
	TokenType string   `json:"token_type,omitempty"`
	Exp       int64    `json:"exp,omitempty"`
	IssuedAt  int64    `json:"iat,omitempty"`
	NotBefore int64    `json:"nbf,omitempty"`
	Subject   string   `json:"sub,omitempty"`
	Audience  any      `json:"aud,omitempty"`
	Issuer    string   `json:"iss,omitempty"`
	JTI       string   `json:"jti,omitempty"`
	SessionID string   `json:"sid,omitempty"`
	Roles     []string `json:"roles,omitempty"`
	// Confirmation is a DPoP-bound token's binding (RFC 9449 §6.2).
	Confirmation *confirmation `json:"cnf,omitempty"`
}

// confirmation is the "cnf" member of an introspection (RFC 7800 §3.1,
// RFC 9449 §6).
type confirmation struct {
	JKT string `json:"jkt"`
}

// handleIntrospect serves POST /oauth2/introspect (RFC 7662 §2): a
// form-encoded body with "token" and, optionally, "token_type_hint",
// from a client authenticated with client_secret_basic that holds the
// scope introspect; the answer is an introspection. Failed client
// authentication is 401 invalid_client, a missing scope 403
// insufficient_scope (RFC 7662 §2.3), a malformed request 400 (415 for a
// body that is not form-encoded).
func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request, _ store.Client) {
	form, err := s.decodeForm(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	token, hint := form["token"], form["token_type_hint"]
	switch {
	case len(token) != 1 || token[0] == "":
		err = badRequest("token is required, once")
	case len(hint) > 1:
		err = badRequest("token_type_hint may be given once")
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var h string
	if len(hint) == 1 {
		h = hint[0]
	}
	res, err := s.introspect(r.Context(), token[0], h)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// decodeForm reads an application/x-www-form-urlencoded request body,
// within the size limit, as RFC 6749 §3.2 and RFC 7662 §2.1 send
// parameters. Parameters in the URL are not read.
func (s *Server) decodeForm(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if ct == "" || err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, &apiError{status: http.StatusUnsupportedMediaType, code: "invalid_request", desc: "Content-Type must be application/x-www-form-urlencoded"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &apiError{status: http.StatusRequestEntityTooLarge, code: "invalid_request", desc: fmt.Sprintf("body larger than %d bytes", mbe.Limit)}
		}
		return nil, badRequest("cannot read body")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, badRequest("malformed form body")
	}
	return form, nil
}

// introspect is token introspection (RFC 7662 §2.2) without HTTP: it
// reports whether token is an access or refresh token of this server
// that is active now, and what it is. The hint (RFC 7662 §2.1) says which
// kind to try first; the other is tried next, as §2.1 requires, and an
// unknown hint is ignored.
//
// An access token is active when it verifies as authed verifies one
// (signed by a published key, this issuer, "typ" at+jwt, not expired,
// with a session), its "aud" names one of the server's audiences, the
// feed's deny list does not cover it, its session is active and its user
// exists, is not disabled and has not had the token revoked (the
// database says so at once, before the deny list hears of it). A refresh
// token is active when its session is and its user exists and is not
// disabled.
//
// Any token that is not active (malformed, forged, expired, revoked,
// unknown) is {"active": false}, without saying why. The error is for
// failures of the server only: ErrNotReady while the feed loads, store
// failures.
func (s *Server) introspect(ctx context.Context, token, hint string) (introspection, error) {
	tryRefresh := func() (introspection, bool, error) { return s.introspectRefresh(ctx, token) }
	tryAccess := func() (introspection, bool, error) { return s.introspectAccess(ctx, token) }
	order := [2]func() (introspection, bool, error){tryAccess, tryRefresh}
	if hint == hintRefreshToken {
		order[0], order[1] = tryRefresh, tryAccess
	}
	for _, try := range order {
		res, found, err := try()
		if err != nil {
			return introspection{}, err
		}
		if found {
			return res, nil
		}
	}
	return introspection{}, nil
}

// introspectAccess introspects token as an access token; found is false
// when it is not one of this server's.
func (s *Server) introspectAccess(ctx context.Context, token string) (introspection, bool, error) {
	vs, err := s.accessValidators()
	if err != nil {
		return introspection{}, false, err
	}
	var (
		claims jwt.Claims
		kid    string
		found  bool
	)
	for _, v := range vs {
		hdr, c, err := v.ParseWithHeader(token)
		if errors.Is(err, jwt.ErrAudience) {
			continue // signed by this server for another audience: try the next
		}
		if err != nil {
			return introspection{}, false, nil
		}
		claims, kid, found = c, hdr.KeyID, true
		break
	}
	if !found || claims.SessionID == "" {
		return introspection{}, false, nil
	}
	// From here on the token is this server's: inactive is the answer.
	if f := s.d.Feed; f != nil {
		select {
		case <-f.Ready():
		default:
			return introspection{}, true, feed.ErrNotReady
		}
		if f.DenyList().Check(kid, &claims) != nil {
			return introspection{}, true, nil
		}
	}
	if _, err := s.d.Sessions.Active(ctx, claims.SessionID); err != nil {
		if errors.Is(err, session.ErrEnded) {
			return introspection{}, true, nil
		}
		return introspection{}, true, err
	}
	if active, err := s.userActive(ctx, claims.Subject, claims.IssuedAt); err != nil || !active {
		return introspection{}, true, err
	}
	res := introspection{
		Active:    true,
		Scope:     claims.Scope,
		ClientID:  claims.ClientID,
		TokenType: "Bearer",
		Exp:       unix(claims.ExpiresAt),
		IssuedAt:  unix(claims.IssuedAt),
		NotBefore: unix(claims.NotBefore),
		Subject:   claims.Subject,
		Issuer:    claims.Issuer,
		JTI:       claims.ID,
		SessionID: claims.SessionID,
		Roles:     claims.Roles,
	}
	if jkt := claims.Confirmation.JKT; jkt != "" {
		res.TokenType = tokenType(claims)
		res.Confirmation = &confirmation{JKT: jkt}
	}
	if len(claims.Audience) == 1 {
		res.Audience = claims.Audience[0]
	} else {
		res.Audience = []string(claims.Audience)
	}
	return res, true, nil
}

// introspectRefresh introspects token as a refresh token; found is false
// when it is not an active one.
func (s *Server) introspectRefresh(ctx context.Context, token string) (introspection, bool, error) {
	sess, err := s.d.Sessions.Lookup(ctx, token)
	if errors.Is(err, session.ErrInvalidToken) {
		return introspection{}, false, nil
	}
	if err != nil {
		return introspection{}, false, err
	}
	if active, err := s.userActive(ctx, sess.UserID, time.Time{}); err != nil || !active {
		return introspection{}, true, err
	}
	exp := sess.ExpiresAt
	if idle := sess.LastUsedAt.Add(s.d.Sessions.IdleTimeout()); idle.Before(exp) {
		exp = idle
	}
	// A session started by an OAuth client belongs to it and holds the
	// scopes it was granted; a /v1 session is the first-party API's.
	clientID := issuer.ClientID
	if sess.ClientID != "" {
		clientID = sess.ClientID
	}
	return introspection{
		Active:    true,
		ClientID:  clientID,
		Scope:     strings.Join(sess.Scopes, " "),
		TokenType: hintRefreshToken,
		Exp:       unix(exp),
		IssuedAt:  unix(sess.CreatedAt),
		Subject:   sess.UserID,
		Issuer:    s.cfg.Issuer,
		SessionID: sess.ID,
	}, true, nil
}

// userActive reports whether the user with ID id exists, is not disabled
// and, for an access token issued at iat (zero: a refresh token), has not
// had it revoked: a subject revocation covers "iat" at or before
// TokensRevokedAt, to the second.
func (s *Server) userActive(ctx context.Context, id string, iat time.Time) (bool, error) {
	u, err := s.d.Users.UserByID(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return false, nil
	case err != nil:
		return false, err
	case u.Disabled:
		return false, nil
	case !iat.IsZero() && !u.TokensRevokedAt.IsZero() && !iat.After(u.TokensRevokedAt.Truncate(time.Second)):
		return false, nil
	}
	return true, nil
}

// unix is t as a NumericDate, 0 (omitted) for the zero time.
func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
