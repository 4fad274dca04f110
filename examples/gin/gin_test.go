package ginexample_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	ginexample "github.com/latch-auth/latch/examples/gin"
	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/verifier"
)

func TestGin(t *testing.T) {
	gin.SetMode(gin.TestMode)
	key, err := jose.GenerateKey(jose.ES256)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := key.Public()
	keys, _ := jose.NewKeySet(pub)
	v, err := verifier.New(context.Background(), verifier.Config{
		Issuers: []verifier.Issuer{{Issuer: "https://auth.example.com", Audience: "orders", Keys: keys}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	token := func(scope string, roles ...string) string {
		now := time.Now()
		tok, err := jwt.Sign(key, &jwt.Claims{
			Issuer: "https://auth.example.com", Subject: "u_1", Audience: jwt.Audience{"orders"},
			ExpiresAt: now.Add(time.Minute), IssuedAt: now, Scope: scope, Roles: roles,
		}, jose.SignOptions{Type: jwt.TypeAccessToken})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}

	r := ginexample.Router(v)
	tests := []struct {
		name, method, path, token string
		wantStatus                int
		wantBody, wantAuth        string
	}{
		{"reader", "GET", "/orders/7", token("orders:read"), 200, `"customer":"u_1"`, ""},
		{"no token", "GET", "/orders/7", "", 401, "", "Bearer"},
		{"bad token", "GET", "/orders/7", "x.y.z", 401, "invalid_token", `Bearer error="invalid_token"`},
		{"no scope", "GET", "/orders/7", token("profile"), 403, "insufficient_scope", `Bearer error="insufficient_scope"`},
		{"clerk", "POST", "/orders", token("", "clerk"), 201, `"clerk":"u_1"`, ""},
		{"not a clerk", "POST", "/orders", token("orders:read"), 403, "insufficient_scope", `Bearer error="insufficient_scope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			if w.Code != tt.wantStatus || !strings.Contains(w.Body.String(), tt.wantBody) {
				t.Errorf("%s %s = %d %s, want %d with %q", tt.method, tt.path, w.Code, w.Body, tt.wantStatus, tt.wantBody)
			}
			if got := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, tt.wantAuth) {
				t.Errorf("WWW-Authenticate = %q, want prefix %q", got, tt.wantAuth)
			}
		})
	}
}
