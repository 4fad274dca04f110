package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/latch-auth/latch/internal/client"
	"github.com/latch-auth/latch/internal/feed"
	"github.com/latch-auth/latch/internal/login"
	"github.com/latch-auth/latch/internal/oauth"
	"github.com/latch-auth/latch/internal/session"
	"github.com/latch-auth/latch/internal/store"
)

// apiError is an error with its wire form: an HTTP status and an RFC 6749
// / RFC 6750 style code. Handlers return them (or errors that errorFor
// maps) and writeError is the one place that writes errors.
type apiError struct {
	status int
	code   string
	desc   string
	err    error // cause, logged for 5xx, never sent
	// set writes the error as RFC 8935 §2.3 does, for the SET poll
	// endpoint (RFC 8936 §2.6): {"err": code, "description": desc}.
	set bool
	// challenge, when not empty, is the WWW-Authenticate header to send.
	challenge string
}

func (e *apiError) Error() string {
	if e.err != nil {
		return fmt.Sprintf("%s: %s: %v", e.code, e.desc, e.err)
	}
	return e.code + ": " + e.desc
}

func (e *apiError) Unwrap() error { return e.err }

func badRequest(desc string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "invalid_request", desc: desc}
}

var (
	errNotFound = &apiError{status: http.StatusNotFound, code: "not_found", desc: "no such resource"}
	// errNoToken answers a request for a protected resource that carries
	// no credential at all. RFC 6750 §3.1: the challenge then SHOULD NOT
	// include an error code. The body keeps invalid_token, as before, for
	// the clients that branch on it to refresh or log in again.
	errNoToken = &apiError{status: http.StatusUnauthorized, code: "invalid_token", desc: "missing access token", challenge: `Bearer realm="latch"`}
)

func invalidToken(desc string) *apiError {
	return &apiError{status: http.StatusUnauthorized, code: "invalid_token", desc: desc}
}

// setPollError marks an error of the SET poll endpoint: a refused
// request (invalid_request, 400, 413 or 415) is then written as RFC 8936
// §2.6 says, {"err": "invalid_request", "description": ...}; client
// authentication failures and server failures keep the usual form.
func setPollError(err error) error { return &pollError{err} }

type pollError struct{ err error }

func (e *pollError) Error() string { return e.err.Error() }
func (e *pollError) Unwrap() error { return e.err }

// errorFor maps any error to its wire form.
func errorFor(err error) *apiError {
	var ae *apiError
	var te *login.ThrottledError
	var pe *pollError
	var oe *oauth.Error
	switch {
	case errors.As(err, &pe):
		ae := errorFor(pe.err)
		if ae.code == "invalid_request" {
			set := *ae
			set.set = true
			return &set
		}
		return ae
	case errors.As(err, &ae):
		return ae
	case errors.As(err, &oe):
		return oauthError(oe)
	case errors.Is(err, feed.ErrInvalidPoll):
		return badRequest(strings.TrimPrefix(err.Error(), feed.ErrInvalidPoll.Error()+": "))
	case errors.As(err, &te):
		return &apiError{status: http.StatusTooManyRequests, code: "too_many_requests", desc: "too many attempts; retry later"}
	case errors.Is(err, login.ErrInvalidCredentials):
		return &apiError{status: http.StatusUnauthorized, code: "invalid_credentials", desc: "e-mail address or password is wrong"}
	case errors.Is(err, login.ErrDisabled):
		return &apiError{status: http.StatusForbidden, code: "account_disabled", desc: "this account is disabled"}
	case errors.Is(err, session.ErrReuse):
		return &apiError{status: http.StatusBadRequest, code: "invalid_grant", desc: "refresh token reuse detected; the session has been revoked"}
	case errors.Is(err, session.ErrInvalidToken):
		return &apiError{status: http.StatusBadRequest, code: "invalid_grant", desc: "refresh token is invalid, expired or revoked"}
	case errors.Is(err, client.ErrNoCredentials):
		return &apiError{status: http.StatusUnauthorized, code: "invalid_client", desc: "client authentication required"}
	case errors.Is(err, client.ErrInvalidClient):
		return &apiError{status: http.StatusUnauthorized, code: "invalid_client", desc: "client authentication failed"}
	case errors.Is(err, client.ErrInsufficientScope):
		return &apiError{status: http.StatusForbidden, code: "insufficient_scope", desc: "the client lacks the scope this request needs"}
	case errors.Is(err, feed.ErrNotReady):
		return &apiError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable", desc: "revocations are still loading; retry later", err: err}
	case errors.Is(err, feed.ErrStopped):
		return &apiError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable", desc: "server shutting down", err: err}
	case errors.Is(err, store.ErrNotFound):
		return errNotFound
	case errors.Is(err, store.ErrConflict):
		return &apiError{status: http.StatusConflict, code: "conflict", desc: "already exists"}
	case errors.Is(err, store.ErrBusy):
		// Another process held the database's lock past the busy
		// timeout: nothing was written, and a retry may succeed.
		return &apiError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable", desc: "database busy; retry later", err: err}
	case errors.Is(err, login.ErrBusy), errors.Is(err, context.DeadlineExceeded):
		return &apiError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable", desc: "server busy; retry later", err: err}
	case errors.Is(err, context.Canceled):
		return &apiError{status: http.StatusServiceUnavailable, code: "temporarily_unavailable", desc: "request cancelled", err: err}
	}
	return &apiError{status: http.StatusInternalServerError, code: "server_error", desc: "internal error", err: err}
}

// oauthError is the wire form of an OAuth error (RFC 6749 §5.2, RFC 6750
// §3.1): 401 for invalid_client (with a Basic challenge, see writeError)
// and invalid_token (with a Bearer one), 403 insufficient_scope, 500
// server_error, 503 temporarily_unavailable, 400 otherwise. The cause is
// kept for the log, never sent.
func oauthError(e *oauth.Error) *apiError {
	ae := &apiError{status: http.StatusBadRequest, code: e.Code, desc: e.Description, err: e.Err}
	switch e.Code {
	case oauth.CodeInvalidClient, oauth.CodeInvalidToken:
		ae.status = http.StatusUnauthorized
	case oauth.CodeInsufficientScope:
		ae.status = http.StatusForbidden
		ae.challenge = fmt.Sprintf(`Bearer realm="latch", error="insufficient_scope", error_description=%q`, e.Description)
	case oauth.CodeServerError:
		ae.status = http.StatusInternalServerError
		ae.err = e
	case oauth.CodeTemporarilyUnavailable:
		ae.status = http.StatusServiceUnavailable
	}
	if ae.desc == "" {
		ae.desc = strings.ReplaceAll(e.Code, "_", " ")
	}
	return ae
}

// writeError writes err as `{"error", "error_description"}` with its
// status, and logs server-side failures. Nothing secret is ever in desc.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := errorFor(err)
	var te *login.ThrottledError
	if errors.As(err, &te) {
		w.Header().Set("Retry-After", strconv.Itoa(int((te.RetryAfter+time.Second-1)/time.Second)))
	}
	if ae.status == http.StatusServiceUnavailable && ae.code == "temporarily_unavailable" {
		w.Header().Set("Retry-After", "2")
	}
	if ae.challenge != "" {
		w.Header().Set("WWW-Authenticate", ae.challenge)
	} else if ae.status == http.StatusUnauthorized && ae.code == "invalid_token" {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer realm="latch", error="invalid_token", error_description=%q`, ae.desc))
	}
	if ae.status == http.StatusUnauthorized && ae.code == "invalid_client" {
		// RFC 6749 §5.2: the scheme the client authenticates with.
		w.Header().Set("WWW-Authenticate", `Basic realm="latch"`)
	}
	if ae.status >= 500 && ae.status != http.StatusServiceUnavailable {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else if ae.status == http.StatusServiceUnavailable {
		s.log.WarnContext(r.Context(), "request shed", "method", r.Method, "path", r.URL.Path, "code", ae.code, "err", err)
	} else {
		s.log.DebugContext(r.Context(), "request refused", "method", r.Method, "path", r.URL.Path, "code", ae.code)
	}
	if ae.set {
		writeJSON(w, ae.status, struct {
			Err         string `json:"err"`
			Description string `json:"description"`
		}{ae.code, ae.desc})
		return
	}
	writeJSON(w, ae.status, struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}{ae.code, ae.desc})
}

// writeJSON writes v as the JSON response body.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		slog.Error("encoding response", "err", err)
		status = http.StatusInternalServerError
		b = []byte(`{"error":"server_error","error_description":"internal error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}
