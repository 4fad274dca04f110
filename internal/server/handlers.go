package server

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/latch-auth/latch/internal/login"
	"github.com/latch-auth/latch/internal/oauth"
	"github.com/latch-auth/latch/internal/password"
	"github.com/latch-auth/latch/internal/session"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/strictjson"
	"github.com/latch-auth/latch/jwt"
)

// tokenResponse is the body of a successful login or refresh. In cookie
// mode the tokens travel in cookies only and are omitted here.
type tokenResponse struct {
	AccessToken  string `json:"access_token,omitempty"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	SessionID    string `json:"session_id"`
}

// cookieMode reports whether the client asked for tokens in cookies.
func cookieMode(r *http.Request) (bool, error) {
	switch r.URL.Query().Get("mode") {
	case "", "json":
		return false, nil
	case "cookie":
		return true, nil
	}
	return false, badRequest(`mode must be "json" or "cookie"`)
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	cookies, err := cookieMode(r)
	if err == nil {
		err = s.decodeJSON(w, r, &req)
	}
	if err == nil && (req.Email == "" || req.Password == "") {
		err = badRequest("email and password are required")
	}
	meta := s.sessionClient(r)
	if err == nil {
		// A DPoP proof binds the session and its tokens to the client's
		// key (RFC 9449 §5); it is checked before the password is.
		meta.DPoPJKT, err = s.tokenRequestDPoP(r)
	}
	if err != nil {
		s.d.Metrics.logins.WithLabelValues("bad_request").Inc()
		s.writeError(w, r, err)
		return
	}
	t, err := s.grants.PasswordLogin(r.Context(), req.Email, req.Password, s.clientAddr(r), meta)
	if err != nil {
		s.d.Metrics.logins.WithLabelValues(loginOutcome(err)).Inc()
		s.writeError(w, r, err)
		return
	}
	if err := s.respondTokens(w, r, t, cookies, http.StatusOK); err != nil {
		s.d.Metrics.logins.WithLabelValues("token_too_large").Inc()
		return
	}
	s.d.Metrics.logins.WithLabelValues("success").Inc()
}

// sessionClient describes the request's client for the session list.
func (s *Server) sessionClient(r *http.Request) session.Client {
	return session.Client{UserAgent: r.UserAgent(), IP: s.clientAddr(r)}
}

func loginOutcome(err error) string {
	var te *login.ThrottledError
	switch {
	case errors.As(err, &te):
		return "throttled"
	case errors.Is(err, login.ErrInvalidCredentials):
		return "invalid_credentials"
	case errors.Is(err, login.ErrDisabled):
		return "disabled"
	case errors.Is(err, login.ErrBusy):
		return "overloaded"
	}
	return "error"
}

// startSession opens a session for u and answers with its tokens.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, u store.User, cookies bool, status int) {
	meta := s.sessionClient(r)
	var err error
	if meta.DPoPJKT, err = s.tokenRequestDPoP(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	t, err := s.grants.StartV1(r.Context(), u, meta)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.respondTokens(w, r, t, cookies, status)
}

// respondTokens writes the token response of a /v1 login or refresh.
//
// In cookie mode a cookie a browser would drop (cookieTooLargeError) is
// never sent: the session, whose refresh token then reaches nobody, is
// ended (store.ReasonUndeliverable), the token cookies are cleared, and
// the answer is 500 token_too_large, logged at ERROR with the claims that
// take the room. The error is returned, having been written.
func (s *Server) respondTokens(w http.ResponseWriter, r *http.Request, t oauth.Tokens, cookies bool, status int) error {
	s.d.Metrics.issued.Inc()
	s.d.Metrics.observeTokens(t)
	resp := tokenResponse{TokenType: tokenType(t.Claims), ExpiresIn: int(t.ExpiresIn / time.Second), SessionID: t.Session.ID}
	if cookies {
		if err := setTokenCookies(w, t.AccessToken, t.ExpiresIn, t.RefreshToken, time.Until(t.Session.ExpiresAt)); err != nil {
			if endErr := s.d.Sessions.End(r.Context(), t.Session.ID, "", store.ReasonUndeliverable); endErr != nil {
				err = errors.Join(err, endErr)
			} else {
				s.d.Metrics.revoked.WithLabelValues(string(store.ReasonUndeliverable)).Inc()
			}
			clearTokenCookies(w)
			s.writeError(w, r, &apiError{status: http.StatusInternalServerError, code: "token_too_large",
				desc: "the tokens are too large for a cookie (browsers drop cookies over 4096 bytes): " +
					"the account's roles or claims must be reduced by the operator, or the client can use mode=json",
				err: fmt.Errorf("user %s: %w", t.User.ID, err)})
			return err
		}
	} else {
		resp.AccessToken, resp.RefreshToken = t.AccessToken, t.RefreshToken
	}
	writeJSON(w, status, resp)
	return nil
}

func (s *Server) handleRefresh(w http.ResponseWriter, r *http.Request) {
	cookies, err := cookieMode(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var refresh string
	if cookies {
		c, err := r.Cookie(refreshCookie)
		if err != nil || c.Value == "" {
			s.d.Metrics.refreshes.WithLabelValues("bad_request").Inc()
			s.writeError(w, r, badRequest("no refresh token cookie"))
			return
		}
		refresh = c.Value
	} else {
		var req struct {
			RefreshToken string `json:"refresh_token"`
		}
		if err := s.decodeJSON(w, r, &req); err != nil {
			s.d.Metrics.refreshes.WithLabelValues("bad_request").Inc()
			s.writeError(w, r, err)
			return
		}
		if req.RefreshToken == "" {
			s.d.Metrics.refreshes.WithLabelValues("bad_request").Inc()
			s.writeError(w, r, badRequest("refresh_token is required"))
			return
		}
		refresh = req.RefreshToken
	}
	jkt, err := s.tokenRequestDPoP(r)
	if err != nil {
		s.d.Metrics.refreshes.WithLabelValues("bad_request").Inc()
		s.writeError(w, r, err)
		return
	}
	t, err := s.grants.RefreshV1DPoP(r.Context(), refresh, jkt)
	if err != nil {
		switch {
		case errors.Is(err, session.ErrReuse):
			s.d.Metrics.reuse.Inc()
			s.d.Metrics.revoked.WithLabelValues(string(store.ReasonReuse)).Inc()
			s.log.WarnContext(r.Context(), "refresh token reuse: session revoked", "err", err)
		case errors.Is(err, oauth.ErrDisabled):
			s.d.Metrics.revoked.WithLabelValues(string(store.ReasonDisabled)).Inc()
		}
		s.refreshFailed(w, r, err, cookies)
		return
	}
	if err := s.respondTokens(w, r, t, cookies, http.StatusOK); err != nil {
		s.d.Metrics.refreshes.WithLabelValues("token_too_large").Inc()
		return
	}
	s.d.Metrics.refreshes.WithLabelValues("success").Inc()
}

// refreshFailed answers a refresh that failed. Only a refresh token that
// is invalid or reused ends a cookie session in the browser: after a
// temporary failure (a busy database, a timeout) the client retries with
// the same cookie.
func (s *Server) refreshFailed(w http.ResponseWriter, r *http.Request, err error, cookies bool) {
	outcome := "unavailable"
	switch {
	case errors.Is(err, session.ErrReuse):
		outcome = "reuse"
	case errors.Is(err, session.ErrInvalidToken):
		outcome = "invalid"
	}
	s.d.Metrics.refreshes.WithLabelValues(outcome).Inc()
	if cookies && outcome != "unavailable" {
		clearTokenCookies(w)
	}
	s.writeError(w, r, err)
}

// logoutRequest is the body of POST /v1/logout, which may be empty.
type logoutRequest struct {
	Scope string `json:"scope"`
	// RefreshToken, in json mode, authenticates the logout in place of
	// the access token.
	RefreshToken string `json:"refresh_token"`
}

// handleLogout ends the caller's session (scope "session", the default),
// the user's other sessions ("others") or all of them ("all").
//
// The caller is known by its access token (authed), or by the refresh
// token of a /v1 session: in cookie mode the refresh cookie (set on
// v1LogoutPath as well as refreshPath), in json mode refresh_token in the
// body. The refresh token serves the clients whose access tokens the
// server cannot read (encrypted to a resource service) or that have
// expired; see logoutByRefresh. A refresh token, when presented, decides.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	cookies, err := cookieMode(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req := logoutRequest{Scope: "session"}
	if r.ContentLength != 0 {
		if err := s.decodeJSON(w, r, &req); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	refresh := req.RefreshToken
	if cookies {
		if refresh, err = logoutRefreshCookie(r, refresh); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if refresh == "" {
		s.authed(func(w http.ResponseWriter, r *http.Request, p principal) {
			s.endSessions(w, r, cookies, req.Scope, p.claims.Subject, p.claims.SessionID)
		})(w, r)
		return
	}
	s.logoutByRefresh(w, r, cookies, req.Scope, refresh)
}

// logoutRefreshCookie returns the refresh cookie of a cookie-mode logout,
// "" for none. In cookie mode the refresh token travels in the cookie
// only (body is the body's refresh_token, which must be empty), and
// several refresh cookies with different values (one planted by a
// sibling domain, say) are ambiguous: which one ends which session must
// not depend on the order a browser sends them in.
func logoutRefreshCookie(r *http.Request, body string) (string, error) {
	if body != "" {
		return "", badRequest("in cookie mode the refresh token is the cookie, not refresh_token")
	}
	var tok string
	for _, c := range r.CookiesNamed(refreshCookie) {
		switch {
		case c.Value == "" || c.Value == tok:
		case tok != "":
			return "", badRequest("more than one refresh token cookie")
		default:
			tok = c.Value
		}
	}
	return tok, nil
}

// logoutByRefresh ends sessions for the holder of a /v1 session's refresh
// token, which is not rotated (oauth.Provider.SessionV1).
//
//   - Scope "session" takes the session's current token or the
//     predecessor of an unused current one: the tokens a refresh
//     redeems. "others" and "all" take the current token only, so that
//     a copy of a token the client has since refreshed cannot log the
//     user out everywhere: the predecessor is 401 invalid_token and
//     changes nothing (a client whose refresh answer was lost refreshes
//     first).
//   - A token a refresh would take for a reuse (an older one) is one
//     here too: the session is revoked, as a refresh would revoke it,
//     and the answer is 401. Whoever presents it holds a token of the
//     session that its client has moved past, and could revoke it with
//     a refresh anyway.
//   - A malformed, forged, unknown or expired token, one of an ended
//     session, of an OAuth client's or of a browser session is 401
//     invalid_token, the same for all, and changes nothing. No
//     throttle counts it: a refresh token is not guessable.
//   - An access token presented too (the access cookie always is, in
//     cookie mode) must, if the server can verify it, name the same
//     session: otherwise the request is 400 and changes nothing. One it
//     cannot verify (encrypted to a resource service, expired) adds
//     nothing to the refresh token and is ignored.
//   - The refresh token of a session started with DPoP needs a proof of
//     its key, as a refresh does.
//
// In cookie mode the cookies are cleared as with an access token, and
// also when the refresh token is invalid or reused (as a refresh clears
// them).
func (s *Server) logoutByRefresh(w http.ResponseWriter, r *http.Request, cookies bool, scope, refresh string) {
	if scope != "session" && scope != "others" && scope != "all" {
		s.writeError(w, r, badRequest(`scope must be "session", "others" or "all"`))
		return
	}
	accessSID, err := s.accessTokenSession(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	jkt, err := s.tokenRequestDPoP(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	sess, current, err := s.grants.SessionV1(r.Context(), refresh, jkt)
	if err != nil {
		switch {
		case errors.Is(err, session.ErrReuse):
			s.d.Metrics.reuse.Inc()
			s.d.Metrics.revoked.WithLabelValues(string(store.ReasonReuse)).Inc()
			s.log.WarnContext(r.Context(), "refresh token reuse at logout: session revoked", "err", err)
			err = invalidToken("refresh token reuse detected; the session has been revoked")
		case errors.Is(err, session.ErrInvalidToken), errors.Is(err, oauth.ErrInvalidGrant):
			err = invalidToken("refresh token is invalid, expired or revoked")
		default:
			s.writeError(w, r, err)
			return
		}
		if cookies {
			clearTokenCookies(w)
		}
		s.writeError(w, r, err)
		return
	}
	switch {
	case accessSID != "" && accessSID != sess.ID:
		s.writeError(w, r, badRequest("the access token and the refresh token are of different sessions"))
		return
	case scope != "session" && !current:
		s.writeError(w, r, invalidToken(`refresh token has been rotated: scope "others" and "all" need the current one`))
		return
	}
	s.endSessions(w, r, cookies, scope, sess.UserID, sess.ID)
}

// accessTokenSession returns the session the request's access token
// names, for a logout authenticated by a refresh token: "" if it carries
// none, or one the server cannot verify. A credential sent ambiguously is
// refused as everywhere (bearerToken).
func (s *Server) accessTokenSession(r *http.Request) (string, error) {
	tok, err := bearerToken(r)
	var ae *apiError
	switch {
	case errors.As(err, &ae) && ae.status == http.StatusBadRequest:
		return "", err
	case err != nil:
		return "", nil
	}
	kv, err := s.keyValidators()
	if err != nil {
		return "", err
	}
	_, claims, err := kv.verified.parse(kv.byAudience[0], tok)
	if err != nil {
		return "", nil
	}
	return claims.SessionID, nil
}

// endSessions ends the sessions scope names for the user userID, whose
// session sessionID the request comes from, and answers the logout.
func (s *Server) endSessions(w http.ResponseWriter, r *http.Request, cookies bool, scope, userID, sessionID string) {
	var n int
	var err error
	switch scope {
	case "session":
		err = s.d.Sessions.End(r.Context(), sessionID, userID, store.ReasonLogout)
		n = 1
	case "others":
		n, err = s.d.Sessions.EndAll(r.Context(), userID, sessionID, store.ReasonLogout)
	case "all":
		n, err = s.d.Sessions.EndAll(r.Context(), userID, "", store.ReasonLogout)
	default:
		err = badRequest(`scope must be "session", "others" or "all"`)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.d.Metrics.revoked.WithLabelValues(string(store.ReasonLogout)).Add(float64(n))
	if cookies && scope != "others" {
		clearTokenCookies(w)
	}
	writeJSON(w, http.StatusOK, struct {
		Revoked int `json:"revoked_sessions"`
	}{n})
}

type sessionView struct {
	ID         string    `json:"id"`
	CreatedAt  time.Time `json:"created_at"`
	LastUsedAt time.Time `json:"last_used_at"`
	ExpiresAt  time.Time `json:"expires_at"`
	UserAgent  string    `json:"user_agent"`
	IP         string    `json:"ip"`
	Current    bool      `json:"current"`
}

func (s *Server) handleSessions(w http.ResponseWriter, r *http.Request, p principal) {
	list, err := s.d.Sessions.List(r.Context(), p.claims.Subject)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	out := make([]sessionView, 0, len(list))
	for _, x := range list {
		out = append(out, sessionView{
			ID: x.ID, CreatedAt: x.CreatedAt.UTC(), LastUsedAt: x.LastUsedAt.UTC(), ExpiresAt: x.ExpiresAt.UTC(),
			UserAgent: x.UserAgent, IP: x.IP, Current: x.ID == p.claims.SessionID,
		})
	}
	writeJSON(w, http.StatusOK, struct {
		Sessions []sessionView `json:"sessions"`
	}{out})
}

func (s *Server) handleEndSession(w http.ResponseWriter, r *http.Request, p principal) {
	id := r.PathValue("id")
	if len(id) != 32 || strings.Trim(id, "0123456789abcdef") != "" {
		s.writeError(w, r, errNotFound)
		return
	}
	if err := s.d.Sessions.End(r.Context(), id, p.claims.Subject, store.ReasonLogout); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.d.Metrics.revoked.WithLabelValues(string(store.ReasonLogout)).Inc()
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleMe(w http.ResponseWriter, r *http.Request, p principal) {
	u, err := s.d.Users.UserByID(r.Context(), p.claims.Subject)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	roles := u.Roles
	if roles == nil {
		roles = []string{}
	}
	writeJSON(w, http.StatusOK, struct {
		Claims json.RawMessage `json:"claims"`
		User   any             `json:"user"`
	}{
		Claims: p.claims.Raw(),
		User: struct {
			ID        string    `json:"id"`
			Email     string    `json:"email"`
			Roles     []string  `json:"roles"`
			CreatedAt time.Time `json:"created_at"`
		}{u.ID, u.Email, roles, u.CreatedAt.UTC()},
	})
}

// handleSignup creates an account and starts its session. The address
// goes through login.NormalizeEmail (400 invalid_request if refused), the
// password through password.CheckPolicy with the address (400
// weak_password), and then the client address through the sign-up
// throttle (login.Authenticator.ThrottleSignup: 429 too_many_requests
// with Retry-After past the limit), before anything is hashed or stored.
func (s *Server) handleSignup(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}
	cookies, err := cookieMode(r)
	if err == nil {
		err = s.decodeJSON(w, r, &req)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	email, err := login.NormalizeEmail(req.Email)
	if err != nil {
		s.writeError(w, r, badRequest("email is not a valid address: "+strings.TrimPrefix(err.Error(), login.ErrInvalidEmail.Error()+": ")))
		return
	}
	if err := password.CheckPolicy(req.Password, email); err != nil {
		s.writeError(w, r, &apiError{status: http.StatusBadRequest, code: "weak_password", desc: err.Error()})
		return
	}
	// Counted once the input is known good, before the work a sign-up
	// costs (a hash) and the answer that tells whether an address has an
	// account (409).
	if err := s.d.Login.ThrottleSignup(r.Context(), s.clientAddr(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.cfg.HashQueueTimeout)
	hash, err := s.d.Hasher.Hash(ctx, req.Password)
	cancel()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	now := time.Now()
	u := store.User{ID: NewUserID(), Email: email, PasswordHash: hash, CreatedAt: now, UpdatedAt: now}
	if err := s.d.Users.CreateUser(r.Context(), u); err != nil {
		s.writeError(w, r, err)
		return
	}
	s.startSession(w, r, u, cookies, http.StatusCreated)
}

// NewUserID returns a random user ID.
func NewUserID() string {
	var b [16]byte
	rand.Read(b[:])
	return "u_" + hex.EncodeToString(b[:])
}

func (s *Server) handleJWKS(w http.ResponseWriter, r *http.Request) {
	body, maxAge, err := s.d.Keys.JWKS()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/jwk-set+json")
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(maxAge/time.Second)))
	w.Write(body)
}

// writeJSONCached writes v without overriding the caller's Cache-Control.
func writeJSONCached(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Write(append(b, '\n'))
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReady answers the readiness probe: ready when the database serves
// reads and commits writes (Deps.Ready, the store's Ping, which writes a
// heartbeat at most once a second) and a key can sign. A server whose
// writes fail (a full disk, a database locked by another process) is not
// ready: it could not log anyone in nor refresh a token.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.d.Ready(ctx); err != nil {
		s.log.WarnContext(r.Context(), "not ready", "err", err)
		s.writeError(w, r, &apiError{status: http.StatusServiceUnavailable, code: "not_ready", desc: "database cannot serve reads and writes"})
		return
	}
	if _, err := s.d.Keys.Signer(); err != nil {
		s.writeError(w, r, &apiError{status: http.StatusServiceUnavailable, code: "not_ready", desc: "no active signing key"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// checkNoDuplicates refuses bodies with duplicate or invalid members,
// which encoding/json would silently accept (last one wins).
func checkNoDuplicates(body []byte) error {
	if err := strictjson.Validate(body); err != nil {
		var se *strictjson.SyntaxError
		switch {
		case errors.Is(err, strictjson.ErrDuplicateName):
			return badRequest("duplicate field in JSON object")
		case errors.As(err, &se):
			return badRequest("malformed JSON at byte " + strconv.Itoa(se.Offset))
		}
		return badRequest("malformed JSON")
	}
	return nil
}

// principal is the verified caller of a protected endpoint.
type principal struct {
	claims jwt.Claims
}
