package verifier_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/verifier"
)

// A resource service trusts an issuer's published keys (its JWKS) and
// guards its routes with Require and RequireScope. An httptest server
// stands in for the issuer here; in production JWKSURL is the issuer's
// https://…/.well-known/jwks.json.
func Example() {
	// The issuer's side: a signing key, its public half published as a
	// JWKS, and an access token.
	signer, _ := jose.GenerateKey(jose.ES256)
	public, _ := signer.Public()
	published, _ := jose.NewKeySet(public)
	jwks, _ := published.PublicJWKS()
	issuer := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "max-age=300")
		w.Write(jwks)
	}))
	defer issuer.Close()
	now := time.Now()
	token, _ := jwt.Sign(signer, &jwt.Claims{
		Issuer: "https://auth.example.com", Subject: "u_42", Audience: jwt.Audience{"orders"},
		IssuedAt: now, ExpiresAt: now.Add(10 * time.Minute), Scope: "orders:read",
	}, jose.SignOptions{Type: jwt.TypeAccessToken})

	// The service's side.
	ctx := context.Background()
	v, err := verifier.New(ctx, verifier.Config{
		Issuers: []verifier.Issuer{{
			Issuer:   "https://auth.example.com",
			Audience: "orders",
			JWKSURL:  issuer.URL + "/.well-known/jwks.json",
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	mux := http.NewServeMux()
	mux.Handle("GET /orders/", v.Require(verifier.RequireScope("orders:read")(http.HandlerFunc(listOrders))))

	// A client's requests, with the token and without.
	for _, auth := range []string{"Bearer " + token, ""} {
		r := httptest.NewRequest("GET", "/orders/", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		fmt.Println(w.Code, w.Body.String())
	}
	// Output:
	// 200 orders of u_42
	// 401 {"error":"invalid_request","error_description":"access token required"}
}

// listOrders is a handler behind Require: the verified claims are in the
// request's context.
func listOrders(w http.ResponseWriter, r *http.Request) {
	claims, _ := verifier.FromContext(r.Context())
	fmt.Fprintf(w, "orders of %s", claims.Subject)
}
