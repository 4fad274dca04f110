// Package microservices shows two resource services that accept latch
// access tokens with package verifier, and nothing else from latch: they
// never call the auth server on the request path.
//
//   - orders (audience "orders"): GET /orders/{id} needs the scope
//     "orders:read"; POST /orders also needs the role "clerk".
//   - billing (audience "billing"): GET /invoices/{id} needs a token meant
//     for billing. A token the auth server issued only for "orders" is
//     refused there (401 invalid_token); a server run with
//     --audience orders,billing issues tokens both accept.
//
// Each service builds its own Verifier from the issuer URL and its own
// audience (NewVerifier), and wraps its routes in the verifier's
// middleware. The test in this package runs the whole flow against an
// in-process auth server: login, both services, a key rotation under load,
// and the auth server going away.
package microservices

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/latch-auth/latch/verifier"
)

// Audiences of the two services: the "aud" their tokens must carry.
const (
	OrdersAudience  = "orders"
	BillingAudience = "billing"
)

// NewVerifier returns a Verifier for tokens from the latch server at
// issuer (its URL, as in the tokens' "iss") meant for audience. It fetches
// the server's JWKS before returning, so a service that cannot reach its
// issuer fails at start rather than refusing every request. cfg may tune
// the key cache; its Issuers are replaced.
func NewVerifier(ctx context.Context, issuer, audience string, cfg verifier.Config) (*verifier.Verifier, error) {
	cfg.Issuers = []verifier.Issuer{{
		Issuer:   issuer,
		Audience: audience,
		JWKSURL:  strings.TrimSuffix(issuer, "/") + "/.well-known/jwks.json",
	}}
	return verifier.New(ctx, cfg)
}

// Orders returns the orders service.
func Orders(v *verifier.Verifier) http.Handler {
	mux := http.NewServeMux()
	read := verifier.RequireScope("orders:read")
	mux.Handle("GET /orders/{id}", v.Require(read(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := verifier.FromContext(r.Context())
		writeJSON(w, http.StatusOK, map[string]string{"order": r.PathValue("id"), "customer": c.Subject})
	}))))
	mux.Handle("POST /orders", v.Require(read(verifier.RequireRole("clerk")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := verifier.FromContext(r.Context())
		writeJSON(w, http.StatusCreated, map[string]string{"order": "new", "clerk": c.Subject})
	})))))
	return mux
}

// Billing returns the billing service.
func Billing(v *verifier.Verifier) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /invoices/{id}", v.Require(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := verifier.FromContext(r.Context())
		writeJSON(w, http.StatusOK, map[string]string{"invoice": r.PathValue("id"), "customer": c.Subject})
	})))
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}
