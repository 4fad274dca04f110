// Command orders is a resource service that accepts latch access tokens.
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/latch-auth/latch/verifier"
)

func main() {
	v, err := verifier.New(context.Background(), verifier.Config{
		Issuers: []verifier.Issuer{{
			Issuer:   "http://127.0.0.1:8080",
			Audience: "http://127.0.0.1:8080", // latch serve --audience sets it
			JWKSURL:  "http://127.0.0.1:8080/.well-known/jwks.json",
			// Credentials from `latch client add --scope revocations:read`
			// make the service follow the revocation feed; without them it
			// accepts every token until it expires.
			ClientID:     os.Getenv("LATCH_CLIENT_ID"),
			ClientSecret: os.Getenv("LATCH_CLIENT_SECRET"),
		}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /orders", v.Require(verifier.RequireRole("admin")(http.HandlerFunc(ordersHandler))))
	log.Fatal(http.ListenAndServe("127.0.0.1:9090", mux))
}

func ordersHandler(w http.ResponseWriter, r *http.Request) {
	claims, _ := verifier.FromContext(r.Context())
	fmt.Fprintf(w, "orders for %s\n", claims.Subject)
}
