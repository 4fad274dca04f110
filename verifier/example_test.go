package verifier_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/verifier"
)

// A Verifier over fixed keys (tests, air-gapped services) needs no network.
// In production, set JWKSURL instead of Keys.
func ExampleNew() {
	// The issuer's side: a signing key and a token.
	signer, _ := jose.GenerateKey(jose.ES256)
	now := time.Now()
	token, _ := jwt.Sign(signer, &jwt.Claims{
		Issuer:    "https://auth.example.com",
		Subject:   "u_42",
		Audience:  jwt.Audience{"orders"},
		ExpiresAt: now.Add(10 * time.Minute),
		IssuedAt:  now,
		Scope:     "orders:read",
	}, jose.SignOptions{Type: jwt.TypeAccessToken})

	// The service's side: trust the public key for this issuer and audience.
	public, _ := signer.Public()
	keys, _ := jose.NewKeySet(public)
	v, err := verifier.New(context.Background(), verifier.Config{
		Issuers: []verifier.Issuer{{
			Issuer:   "https://auth.example.com",
			Audience: "orders",
			Keys:     keys,
		}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()

	claims, err := v.Verify(context.Background(), token)
	fmt.Println(claims.Subject, claims.HasScope("orders:read"), err)

	// A token for another service is refused with an error to branch on.
	billing, _ := jwt.Sign(signer, &jwt.Claims{
		Issuer:    "https://auth.example.com",
		Audience:  jwt.Audience{"billing"},
		ExpiresAt: now.Add(10 * time.Minute),
	}, jose.SignOptions{Type: jwt.TypeAccessToken})
	_, err = v.Verify(context.Background(), billing)
	fmt.Println(errors.Is(err, jwt.ErrAudience))
	// Output:
	// u_42 true <nil>
	// true
}

// Require guards a handler; RequireScope inside it checks what the token
// allows; FromContext hands the claims to the handler.
func ExampleVerifier_Require() {
	signer, _ := jose.GenerateKey(jose.EdDSA)
	public, _ := signer.Public()
	keys, _ := jose.NewKeySet(public)
	v, _ := verifier.New(context.Background(), verifier.Config{
		Issuers: []verifier.Issuer{{Issuer: "https://auth.example.com", Audience: "orders", Keys: keys}},
	})
	defer v.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /orders/{id}", v.Require(verifier.RequireScope("orders:read")(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			claims, _ := verifier.FromContext(r.Context())
			fmt.Fprintf(w, "order %s for %s", r.PathValue("id"), claims.Subject)
		}))))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	token := func(scope string) string {
		now := time.Now()
		t, _ := jwt.Sign(signer, &jwt.Claims{
			Issuer: "https://auth.example.com", Subject: "u_42", Audience: jwt.Audience{"orders"},
			ExpiresAt: now.Add(10 * time.Minute), IssuedAt: now, Scope: scope,
		}, jose.SignOptions{Type: jwt.TypeAccessToken})
		return t
	}
	get := func(token string) {
		req, _ := http.NewRequest("GET", srv.URL+"/orders/7", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			fmt.Println(err)
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == http.StatusOK {
			fmt.Println(resp.StatusCode, string(body))
			return
		}
		fmt.Println(resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	get(token("orders:read"))
	get("")
	get("not-a-token")
	get(token("profile"))
	// Output:
	// 200 order 7 for u_42
	// 401 Bearer
	// 401 Bearer error="invalid_token", error_description="token invalid"
	// 403 Bearer error="insufficient_scope", error_description="missing scope", scope="orders:read"
}
