package routers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/examples/routers"
	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/verifier"
)

func TestRouters(t *testing.T) {
	key, err := jose.GenerateKey(jose.ES256)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := key.Public()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := jose.NewKeySet(pub)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verifier.New(context.Background(), verifier.Config{
		Issuers: []verifier.Issuer{{Issuer: "https://auth.example.com", Audience: "orders", Keys: keys}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	token := func(aud, scope string) string {
		now := time.Now()
		tok, err := jwt.Sign(key, &jwt.Claims{
			Issuer: "https://auth.example.com", Subject: "u_1", Audience: jwt.Audience{aud},
			ExpiresAt: now.Add(time.Minute), IssuedAt: now, Scope: scope,
		}, jose.SignOptions{Type: jwt.TypeAccessToken})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	tests := []struct {
		name, method, token string
		wantStatus          int
		wantBody, wantAuth  string
	}{
		{"valid", "GET", token("orders", "orders:read"), 200, `{"customer":"u_1","order":"7"}`, ""},
		{"valid with scope", "POST", token("orders", "orders:read orders:write"), 200, `{"customer":"u_1","order":"7"}`, ""},
		{"missing token", "GET", "", 401, `"invalid_request"`, "Bearer"},
		{"wrong audience", "GET", token("billing", "orders:read"), 401, `"invalid_token"`, `Bearer error="invalid_token"`},
		{"missing scope", "POST", token("orders", "orders:read"), 403, `"insufficient_scope"`, `Bearer error="insufficient_scope"`},
	}
	for _, router := range []struct {
		name string
		h    http.Handler
	}{
		{"chi", routers.Chi(v)},
		{"gorilla", routers.Gorilla(v)},
	} {
		for _, tt := range tests {
			t.Run(router.name+"/"+tt.name, func(t *testing.T) {
				req := httptest.NewRequest(tt.method, "/orders/7", nil)
				if tt.token != "" {
					req.Header.Set("Authorization", "Bearer "+tt.token)
				}
				w := httptest.NewRecorder()
				router.h.ServeHTTP(w, req)
				if w.Code != tt.wantStatus || !strings.Contains(w.Body.String(), tt.wantBody) {
					t.Errorf("%s /orders/7 = %d %s, want %d with %s", tt.method, w.Code, w.Body, tt.wantStatus, tt.wantBody)
				}
				got := w.Header().Get("WWW-Authenticate")
				if tt.wantAuth == "" && got != "" || !strings.HasPrefix(got, tt.wantAuth) {
					t.Errorf("WWW-Authenticate = %q, want prefix %q", got, tt.wantAuth)
				}
			})
		}
	}
}
