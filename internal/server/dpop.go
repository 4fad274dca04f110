package server

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/latch-auth/latch/internal/oauth"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/verifier"
)

// dpopChecker is the verifier's DPoP proof checker (RFC 9449), as the
// server uses it at its token endpoints and on its own resources.
type dpopChecker = verifier.DPoPChecker

// dpopSigningAlgs are the DPoP proof algorithms the server accepts, as
// discovery lists them (RFC 9449 §5.1).
var dpopSigningAlgs = strings.Fields(verifier.DPoPAlgorithms)

// codeUseDPoPNonce is the error of a proof without the server's current
// nonce (RFC 9449 §8, §9).
const codeUseDPoPNonce = "use_dpop_nonce"

// newDPoPChecker returns the server's checker. A proof's "htu" is
// compared with the issuer URL and the request path, never with the
// request's Host header: a proof made for another server cannot be
// replayed here by naming that server in Host. With Config.DPoPNonceKey,
// every proof must carry a nonce the server handed out (see
// dpopNonceRoutes).
func (s *Server) newDPoPChecker() (*dpopChecker, error) {
	base := strings.TrimRight(s.cfg.Issuer, "/")
	cfg := verifier.DPoPConfig{
		RequestURL: func(r *http.Request) string { return base + r.URL.EscapedPath() },
	}
	if s.cfg.DPoPNonceKey != nil {
		n, err := verifier.NewDPoPNonces(verifier.DPoPNonceConfig{Key: s.cfg.DPoPNonceKey})
		if err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
		cfg.Nonces = n
	}
	return verifier.NewDPoPChecker(cfg), nil
}

// dpopNonceRoutes are the routes whose every response carries the
// current DPoP-Nonce when nonces are required (RFC 9449 §8.2, §9): the
// token-issuing endpoints and the resources the server serves itself,
// where proofs are checked.
var dpopNonceRoutes = map[string]bool{
	"POST /v1/login": true, "POST /v1/signup": true, "POST " + refreshPath: true, "POST " + pathToken: true,
	"GET /v1/me": true, "GET /v1/sessions": true, "DELETE /v1/sessions/{id}": true, "POST /v1/logout": true,
	"GET " + pathUserInfo: true, "POST " + pathUserInfo: true,
}

// setDPoPNonce sets the DPoP-Nonce header of a response to a request for
// the route pattern, when the server requires nonces and pattern is one
// of dpopNonceRoutes: a client learns the nonce from any answer, success
// or error, and retries or goes on with it.
func (s *Server) setDPoPNonce(w http.ResponseWriter, pattern string) {
	if s.dpop == nil || !dpopNonceRoutes[pattern] {
		return
	}
	if n := s.dpop.Nonce(); n != "" {
		w.Header().Set("DPoP-Nonce", n)
	}
}

// tokenRequestDPoP checks the DPoP proof of a request to a token endpoint
// (RFC 9449 §5), if it has one, and returns its key's thumbprint; "" for
// a request without a proof. A bad proof is 400 invalid_dpop_proof.
func (s *Server) tokenRequestDPoP(r *http.Request) (string, error) {
	if !verifier.HasProof(r) {
		return "", nil
	}
	p, err := s.dpop.CheckRequest(r, "", "")
	if err != nil {
		return "", dpopProofError(err)
	}
	return p.JKT, nil
}

// dpopProofError is the wire form of a refused proof at a token endpoint
// (RFC 9449 §5.10): 400 invalid_dpop_proof, with a DPoP challenge; or,
// for a proof without the current nonce, 400 use_dpop_nonce (RFC 9449
// §8), the nonce to retry with being in the DPoP-Nonce header.
func dpopProofError(err error) error {
	if errors.Is(err, verifier.ErrDPoPNonce) {
		return &apiError{status: http.StatusBadRequest, code: codeUseDPoPNonce, desc: "authorization server requires nonce in DPoP proof", err: err}
	}
	return &apiError{
		status: http.StatusBadRequest, code: oauth.CodeInvalidDPoPProof, desc: verifier.ErrorDescription(err), err: err,
		challenge: fmt.Sprintf(`DPoP error="invalid_dpop_proof", error_description=%q`, verifier.ErrorDescription(err)),
	}
}

// requireDPoP refuses a token request of a client that must use DPoP
// (store.Client.RequireDPoP) and sent no proof.
func requireDPoP(c store.Client, jkt string) error {
	if c.RequireDPoP && jkt == "" {
		return &apiError{
			status: http.StatusBadRequest, code: oauth.CodeInvalidDPoPProof, desc: "this client must send a DPoP proof",
			challenge: `DPoP error="invalid_dpop_proof", error_description="this client must send a DPoP proof"`,
		}
	}
	return nil
}

// tokenType is the token_type of a response carrying an access token
// with claims c (RFC 9449 §5.1).
func tokenType(c jwt.Claims) string {
	if c.Confirmation.JKT != "" {
		return "DPoP"
	}
	return "Bearer"
}

// checkDPoPBinding checks a verified access token of the server's own
// resources against how the request presented it (verifier's
// DPoPChecker.CheckBinding): a DPoP-bound token needs the DPoP scheme and
// a proof of its key; a bound token sent as Bearer is refused. Refusals
// are 401 with a DPoP challenge: invalid_dpop_proof for a bad proof,
// use_dpop_nonce for a proof without the current nonce (RFC 9449 §9),
// invalid_token for a token used against its binding.
func (s *Server) checkDPoPBinding(r *http.Request, tok string, claims *jwt.Claims) error {
	err := s.dpop.CheckBinding(r, tok, claims)
	if err == nil {
		return nil
	}
	desc := verifier.ErrorDescription(err)
	code := "invalid_token"
	switch {
	case errors.Is(err, verifier.ErrDPoPProof):
		code = oauth.CodeInvalidDPoPProof
	case errors.Is(err, verifier.ErrDPoPNonce):
		code, desc = codeUseDPoPNonce, "resource server requires nonce in DPoP proof"
	}
	return &apiError{
		status: http.StatusUnauthorized, code: code, desc: desc, err: err,
		challenge: fmt.Sprintf(`DPoP error=%q, error_description=%q`, code, desc),
	}
}
