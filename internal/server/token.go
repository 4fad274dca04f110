package server

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/latch-auth/latch/internal/client"
	"github.com/latch-auth/latch/internal/feed"
	"github.com/latch-auth/latch/internal/keyring"
	"github.com/latch-auth/latch/internal/oauth"
	"github.com/latch-auth/latch/internal/session"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
)

// The OAuth 2.0 endpoints' paths.
const (
	pathAuthorize  = "/oauth2/authorize"
	pathToken      = "/oauth2/token"
	pathRevoke     = "/oauth2/revoke"
	pathUserInfo   = "/oauth2/userinfo"
	pathIntrospect = "/oauth2/introspect"
	pathEndSession = "/oauth2/logout"
)

// oauthRoutes registers the machine-to-machine OAuth endpoints.
func (s *Server) oauthRoutes(m *http.ServeMux) {
	m.HandleFunc("POST "+pathToken, s.handleToken)
	m.HandleFunc("POST "+pathRevoke, s.handleRevoke)
	m.HandleFunc("GET "+pathUserInfo, s.handleUserInfo)
	m.HandleFunc("POST "+pathUserInfo, s.handleUserInfo)
}

// oauthTokenResponse is a successful token response (RFC 6749 §5.1,
// OpenID Connect Core §3.1.3.3).
type oauthTokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// noStore marks a response that carries or concerns credentials as not to
// be cached (RFC 6749 §5.1), for HTTP/1.0 caches too.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
}

// oauthForm reads the form of an OAuth endpoint: form-encoded only (415
// otherwise), within the body limit, each parameter at most once (RFC
// 6749 §3.2: invalid_request).
func (s *Server) oauthForm(w http.ResponseWriter, r *http.Request) (map[string][]string, error) {
	form, err := s.decodeForm(w, r)
	if err != nil {
		return nil, err
	}
	for k, vs := range form {
		if len(vs) > 1 {
			return nil, &oauth.Error{Code: oauth.CodeInvalidRequest, Description: "parameter given more than once: " + k}
		}
	}
	return form, nil
}

// handleToken serves POST /oauth2/token (RFC 6749 §3.2): the
// authorization_code (with PKCE), refresh_token and client_credentials
// grants of internal/oauth, for a client authenticated with its
// registered method (client.Authenticator.AuthenticateRequest) before
// any code or token is looked at. Every answer is no-store; errors are
// RFC 6749 §5.2 JSON, 400, or 401 with WWW-Authenticate for
// invalid_client.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	form, err := s.oauthForm(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	get := func(k string) string {
		if vs := form[k]; len(vs) > 0 {
			return vs[0]
		}
		return ""
	}
	grant := get("grant_type")
	switch grant {
	case "":
		s.writeError(w, r, &oauth.Error{Code: oauth.CodeInvalidRequest, Description: "grant_type is required"})
		return
	case client.GrantAuthorizationCode, client.GrantRefreshToken, client.GrantClientCredentials:
	default:
		s.writeError(w, r, &oauth.Error{Code: oauth.CodeUnsupportedGrantType, Description: "grant_type must be authorization_code, refresh_token or client_credentials"})
		return
	}
	if _, err := authorization(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.clients.AuthenticateRequest(r.Context(), r, form)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// A DPoP proof binds the tokens to the client's key (RFC 9449 §5).
	jkt, err := s.tokenRequestDPoP(r)
	if err == nil {
		err = requireDPoP(c, jkt)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var t oauth.Tokens
	switch grant {
	case client.GrantAuthorizationCode:
		t, err = s.d.OAuth.ExchangeCode(r.Context(), c, get("code"), get("redirect_uri"), get("code_verifier"),
			session.Client{UserAgent: r.UserAgent(), IP: s.clientAddr(r), DPoPJKT: jkt})
	case client.GrantRefreshToken:
		t, err = s.d.OAuth.RefreshTokenDPoP(r.Context(), c, get("refresh_token"), get("scope"), jkt)
		s.countRefresh(r, err)
	case client.GrantClientCredentials:
		t, err = s.d.OAuth.ClientCredentialsDPoP(r.Context(), c, get("scope"), jkt)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.d.Metrics.issued.Inc()
	s.d.Metrics.observeTokens(t)
	writeJSON(w, http.StatusOK, oauthTokenResponse{
		AccessToken:  t.AccessToken,
		TokenType:    tokenType(t.Claims),
		ExpiresIn:    int(t.ExpiresIn / time.Second),
		RefreshToken: t.RefreshToken,
		IDToken:      t.IDToken,
		Scope:        t.Scope,
	})
}

// countRefresh counts a refresh of the token endpoint in the metrics.
func (s *Server) countRefresh(r *http.Request, err error) {
	outcome := "success"
	switch {
	case err == nil:
	case errors.Is(err, session.ErrReuse):
		outcome = "reuse"
		s.d.Metrics.reuse.Inc()
		s.d.Metrics.revoked.WithLabelValues(string(store.ReasonReuse)).Inc()
		s.log.WarnContext(r.Context(), "refresh token reuse: session revoked", "err", err)
	case errors.Is(err, oauth.ErrDisabled):
		outcome = "invalid"
		s.d.Metrics.revoked.WithLabelValues(string(store.ReasonDisabled)).Inc()
	case errors.Is(err, oauth.ErrInvalidGrant):
		outcome = "invalid"
	case errors.As(err, new(*oauth.Error)):
		outcome = "bad_request"
	default:
		outcome = "unavailable"
	}
	s.d.Metrics.refreshes.WithLabelValues(outcome).Inc()
}

// handleRevoke serves POST /oauth2/revoke (RFC 7009): a token of the
// authenticated client is revoked; an invalid or unknown token, or
// another client's, is answered 200 all the same (§2.2).
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	form, err := s.oauthForm(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := authorization(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	c, err := s.clients.AuthenticateRequest(r.Context(), r, form)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var token, hint string
	if vs := form["token"]; len(vs) > 0 {
		token = vs[0]
	}
	if vs := form["token_type_hint"]; len(vs) > 0 {
		hint = vs[0]
	}
	if err := s.d.OAuth.Revoke(r.Context(), c, token, hint); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// handleUserInfo serves GET and POST /oauth2/userinfo (OpenID Connect
// Core §5.3) for an access token sent as a Bearer Authorization header
// (RFC 6750 §2.1): verified as the server's own endpoints verify one
// (signature, issuer, an audience of the server, typ at+jwt, the deny
// list, an active session, the user's own revocations), then answered
// with oauth.Provider.UserInfo. A missing or bad token is 401
// invalid_token, one without the scope openid 403 insufficient_scope,
// each with its WWW-Authenticate challenge.
func (s *Server) handleUserInfo(w http.ResponseWriter, r *http.Request) {
	noStore(w)
	h, err := authorization(r)
	if err != nil {
		s.writeError(w, r, bearerRefusal(err))
		return
	}
	scheme, tok, _ := strings.Cut(h, " ")
	if h == "" || !strings.EqualFold(scheme, "Bearer") && !strings.EqualFold(scheme, "DPoP") {
		s.writeError(w, r, errNoToken)
		return
	}
	tok = strings.TrimLeft(tok, " ")
	claims, err := s.verifyUserToken(r, tok)
	if err == nil {
		err = s.checkDPoPBinding(r, tok, &claims)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	info, err := s.d.OAuth.UserInfo(r.Context(), claims)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, info)
}

// verifyUserToken verifies an access token for userinfo: a user's token
// (with a session) of this server, for one of its audiences, not revoked.
func (s *Server) verifyUserToken(r *http.Request, tok string) (jwt.Claims, error) {
	keys, err := s.d.Keys.VerificationKeys()
	if err != nil {
		return jwt.Claims{}, err
	}
	var (
		claims jwt.Claims
		kid    string
	)
	err = jwt.ErrAudience
	for _, aud := range s.audiences {
		v, verr := jwt.NewValidator(keys, s.cfg.Issuer, aud, jwt.ValidatorOptions{Type: jwt.TypeAccessToken})
		if verr != nil {
			return jwt.Claims{}, verr
		}
		var hdr jose.Header
		hdr, claims, err = v.ParseWithHeader(tok)
		if errors.Is(err, jwt.ErrAudience) {
			continue
		}
		kid = hdr.KeyID
		break
	}
	if err != nil {
		return jwt.Claims{}, invalidToken(describeTokenError(err))
	}
	if claims.SessionID == "" {
		return jwt.Claims{}, invalidToken("not a user's access token")
	}
	if f := s.d.Feed; f != nil {
		select {
		case <-f.Ready():
		default:
			return jwt.Claims{}, feed.ErrNotReady
		}
		if err := f.DenyList().Check(kid, &claims); err != nil {
			return jwt.Claims{}, invalidToken(describeTokenError(err))
		}
	}
	if _, err := s.d.Sessions.Active(r.Context(), claims.SessionID); err != nil {
		if errors.Is(err, session.ErrEnded) {
			return jwt.Claims{}, invalidToken("session ended")
		}
		return jwt.Claims{}, err
	}
	if active, err := s.userActive(r.Context(), claims.Subject, claims.IssuedAt); err != nil || !active {
		if err != nil {
			return jwt.Claims{}, err
		}
		return jwt.Claims{}, invalidToken("token revoked")
	}
	return claims, nil
}

// handleDiscovery serves the server's metadata at
// /.well-known/openid-configuration (OpenID Connect Discovery 1.0 §3) and
// /.well-known/oauth-authorization-server (RFC 8414 §2): with the OAuth
// provider, every REQUIRED and RECOMMENDED member of both, listing only
// what the server serves; latch's own /v1 endpoints and revocation feed
// under names of its own.
func (s *Server) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	iss := strings.TrimRight(s.cfg.Issuer, "/")
	doc := map[string]any{
		"issuer":            s.cfg.Issuer,
		"jwks_uri":          iss + "/.well-known/jwks.json",
		"login_endpoint":    iss + "/v1/login",
		"refresh_endpoint":  iss + "/v1/token/refresh",
		"logout_endpoint":   iss + "/v1/logout",
		"sessions_endpoint": iss + "/v1/sessions",
		"me_endpoint":       iss + "/v1/me",
	}
	if s.cfg.AllowSignup {
		// Account sign-up, not OAuth dynamic client registration (RFC
		// 7591), so not "registration_endpoint".
		doc["signup_endpoint"] = iss + "/v1/signup"
	}
	if s.clients != nil {
		// RFC 8414 §2 names these for authorization server metadata.
		doc["introspection_endpoint"] = iss + pathIntrospect
		doc["introspection_endpoint_auth_methods_supported"] = []string{client.AuthClientSecretBasic}
	}
	if s.d.Feed != nil {
		// latch's own: the revocation feed as pages, as a stream, and as
		// Security Event Tokens to poll for (RFC 8936).
		doc["revocation_feed_endpoint"] = iss + "/v1/revocations"
		doc["revocation_feed_stream_endpoint"] = iss + "/v1/revocations/stream"
		doc["revocation_poll_endpoint"] = iss + "/v1/revocations/poll"
	}
	if key, err := s.d.Keys.Signer(); err == nil {
		doc["access_token_signing_alg_values_supported"] = []string{string(key.Algorithm())}
	}
	doc["dpop_signing_alg_values_supported"] = dpopSigningAlgs // RFC 9449 §5.1
	if s.d.OAuth != nil {
		authMethods := []string{client.AuthClientSecretBasic, client.AuthClientSecretPost, client.AuthNone}
		for k, v := range map[string]any{
			"authorization_endpoint":                         iss + pathAuthorize,
			"token_endpoint":                                 iss + pathToken,
			"userinfo_endpoint":                              iss + pathUserInfo,
			"revocation_endpoint":                            iss + pathRevoke,
			"end_session_endpoint":                           iss + pathEndSession,
			"scopes_supported":                               []string{client.ScopeOpenID, client.ScopeProfile, client.ScopeEmail, client.ScopeOfflineAccess},
			"response_types_supported":                       []string{"code"},
			"response_modes_supported":                       []string{"query"},
			"grant_types_supported":                          []string{client.GrantAuthorizationCode, client.GrantRefreshToken, client.GrantClientCredentials},
			"subject_types_supported":                        []string{"public"},
			"id_token_signing_alg_values_supported":          []string{string(keyring.IDTokenAlgorithm)},
			"token_endpoint_auth_methods_supported":          authMethods,
			"revocation_endpoint_auth_methods_supported":     authMethods,
			"code_challenge_methods_supported":               []string{oauth.CodeChallengeMethod},
			"claims_supported":                               []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "sid", "amr", "azp", "email", "email_verified", "updated_at"},
			"prompt_values_supported":                        []string{"none", "login", "consent"},
			"authorization_response_iss_parameter_supported": true,
			"request_parameter_supported":                    false,
			"request_uri_parameter_supported":                false,
			"claims_parameter_supported":                     false,
		} {
			doc[k] = v
		}
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	writeJSONCached(w, doc)
}
