package verifier_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/latch-auth/latch/jose"
	"github.com/latch-auth/latch/jwt"
	"github.com/latch-auth/latch/verifier"
)

// whoami answers 200 with the subject from the request context, or
// "anonymous" without claims.
var whoami = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	c, ok := verifier.FromContext(r.Context())
	if !ok {
		io.WriteString(w, "anonymous")
		return
	}
	io.WriteString(w, c.Subject)
})

// middlewareFixture is a verifier over one static key with a valid and an
// expired token.
type middlewareFixture struct {
	v                                *verifier.Verifier
	key                              *jose.Key
	valid, expired, notYet, otherAud string
}

func newMiddlewareFixture(t *testing.T) middlewareFixture {
	t.Helper()
	key := newKey(t, jose.ES256, "k1")
	v := newVerifier(t, verifier.Config{
		Issuers: []verifier.Issuer{{Issuer: issuerA, Audience: audOrders, Keys: keySet(t, key)}},
	})
	otherAud := claimsAt(time.Now())
	otherAud.Audience = jwt.Audience{audBill}
	return middlewareFixture{
		v: v, key: key,
		valid:    mint(t, key, claimsAt(time.Now())),
		expired:  mint(t, key, claimsAt(time.Now().Add(-time.Hour))),
		notYet:   mint(t, key, claimsAt(time.Now().Add(time.Hour))),
		otherAud: mint(t, key, otherAud),
	}
}

// errorBody is the JSON error every refusal carries.
type errorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
}

type middlewareCase struct {
	name       string
	header     string // Authorization
	cookie     string // __Host-latch_at
	wantStatus int
	wantBody   string // for 200
	wantAuth   string // WWW-Authenticate prefix, for refusals
	wantError  string // JSON "error", for refusals
}

func runMiddlewareCases(t *testing.T, h http.Handler, tests []middlewareCase, secrets ...string) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/orders/42", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			if tt.cookie != "" {
				r.AddCookie(&http.Cookie{Name: verifier.AccessCookie, Value: tt.cookie})
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			resp := w.Result()
			body := w.Body.String()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("GET with %s = %d %q, want %d", tt.name, resp.StatusCode, body, tt.wantStatus)
			}
			if tt.wantStatus == http.StatusOK {
				if body != tt.wantBody {
					t.Errorf("body = %q, want %q", body, tt.wantBody)
				}
				return
			}
			auth := resp.Header.Get("WWW-Authenticate")
			if !strings.HasPrefix(auth, tt.wantAuth) || (tt.wantAuth == "Bearer" && auth != "Bearer") {
				t.Errorf("WWW-Authenticate = %q, want prefix %q", auth, tt.wantAuth)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
			var e errorBody
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error != tt.wantError || e.Description == "" {
				t.Errorf("body = %q (%v), want error %q with a description", body, err, tt.wantError)
			}
			for _, s := range secrets {
				if s != "" && (strings.Contains(body, s) || strings.Contains(auth, s)) {
					t.Errorf("response echoes a token: %q %q", auth, body)
				}
			}
			for _, s := range []string{"eyJ", "jose:", "jwt:", "verifier:"} {
				if strings.Contains(body+auth, s) {
					t.Errorf("response %q %q leaks %q", auth, body, s)
				}
			}
		})
	}
}

func TestRequire(t *testing.T) {
	f := newMiddlewareFixture(t)
	forged := flip(f.valid, len(f.valid)-5)
	tests := []middlewareCase{
		{name: "Bearer header", header: "Bearer " + f.valid, wantStatus: 200, wantBody: "u_1"},
		{name: "lower-case scheme", header: "bearer " + f.valid, wantStatus: 200, wantBody: "u_1"},
		{name: "access cookie", cookie: f.valid, wantStatus: 200, wantBody: "u_1"},
		{name: "header and cookie differ", header: "Bearer " + forged, cookie: f.valid, wantStatus: 400, wantAuth: `Bearer error="invalid_request"`, wantError: "invalid_request"},
		{name: "header and cookie agree", header: "Bearer " + f.valid, cookie: f.valid, wantStatus: 200, wantBody: "u_1"},
		{name: "no token", wantStatus: 401, wantAuth: "Bearer", wantError: "invalid_request"},
		{name: "forged token", header: "Bearer " + forged, wantStatus: 401, wantAuth: `Bearer error="invalid_token"`, wantError: "invalid_token"},
		{name: "forged cookie", cookie: forged, wantStatus: 401, wantAuth: `Bearer error="invalid_token"`, wantError: "invalid_token"},
		{name: "expired token", header: "Bearer " + f.expired, wantStatus: 401, wantAuth: `Bearer error="invalid_token", error_description="token expired"`, wantError: "invalid_token"},
		{name: "not yet valid token", header: "Bearer " + f.notYet, wantStatus: 401, wantAuth: `Bearer error="invalid_token", error_description="token not yet valid"`, wantError: "invalid_token"},
		{name: "token for another audience", header: "Bearer " + f.otherAud, wantStatus: 401, wantAuth: `Bearer error="invalid_token", error_description="token not meant for this service"`, wantError: "invalid_token"},
		{name: "token too large", header: "Bearer " + strings.Repeat("a", jose.DefaultMaxTokenSize+1), wantStatus: 401, wantAuth: `Bearer error="invalid_token", error_description="token too large"`, wantError: "invalid_token"},
		{name: "Basic scheme", header: "Basic dXNlcjpwYXNz", wantStatus: 401, wantAuth: `Bearer error="invalid_token"`, wantError: "invalid_token"},
		{name: "Bearer without token", header: "Bearer ", wantStatus: 401, wantAuth: `Bearer error="invalid_token"`, wantError: "invalid_token"},
		{name: "two tokens", header: "Bearer " + f.valid + " " + f.valid, wantStatus: 401, wantAuth: `Bearer error="invalid_token"`, wantError: "invalid_token"},
		{name: "garbage", header: "Bearer x.y.z", wantStatus: 401, wantAuth: `Bearer error="invalid_token"`, wantError: "invalid_token"},
	}
	runMiddlewareCases(t, f.v.Require(whoami), tests, forged, f.expired, f.notYet, f.otherAud, "x.y.z")
}

// TestAmbiguousCredentials sends requests whose token is ambiguous to
// Require and Optional: several Authorization headers (the first used to
// win), an empty one, or several access cookies that differ. Each is 400
// invalid_request with a Bearer challenge naming it (RFC 6750 §3.1), and
// never reaches the handler, not even as anonymous.
func TestAmbiguousCredentials(t *testing.T) {
	f := newMiddlewareFixture(t)
	forged := flip(f.valid, len(f.valid)-5)
	cookie := func(tok string) *http.Cookie { return &http.Cookie{Name: verifier.AccessCookie, Value: tok} }
	tests := []struct {
		name    string
		auth    []string
		cookies []*http.Cookie
		want    int
	}{
		{name: "two Authorization headers", auth: []string{"Bearer " + f.valid, "Bearer " + forged}, want: 400},
		{name: "two Authorization headers, forged first", auth: []string{"Bearer " + forged, "Bearer " + f.valid}, want: 400},
		{name: "the same token twice", auth: []string{"Bearer " + f.valid, "Bearer " + f.valid}, want: 400},
		{name: "Bearer and Basic", auth: []string{"Bearer " + f.valid, "Basic dXNlcjpwYXNz"}, want: 400},
		{name: "empty Authorization header", auth: []string{""}, want: 400},
		{name: "empty Authorization header and a cookie", auth: []string{""}, cookies: []*http.Cookie{cookie(f.valid)}, want: 400},
		{name: "header and cookie differ", auth: []string{"Bearer " + f.valid}, cookies: []*http.Cookie{cookie(forged)}, want: 400},
		{name: "two cookies differ", cookies: []*http.Cookie{cookie(f.valid), cookie(forged)}, want: 400},
		{name: "two cookies agree", cookies: []*http.Cookie{cookie(f.valid), cookie(f.valid)}, want: 200},
	}
	for _, mw := range []struct {
		name string
		h    http.Handler
	}{{"Require", f.v.Require(whoami)}, {"Optional", f.v.Optional(whoami)}} {
		for _, tt := range tests {
			t.Run(mw.name+"/"+tt.name, func(t *testing.T) {
				r := httptest.NewRequest(http.MethodGet, "/orders/42", nil)
				for _, v := range tt.auth {
					r.Header.Add("Authorization", v)
				}
				for _, c := range tt.cookies {
					r.AddCookie(c)
				}
				w := httptest.NewRecorder()
				mw.h.ServeHTTP(w, r)
				if w.Code != tt.want {
					t.Fatalf("%s(%s) = %d %q, want %d", mw.name, tt.name, w.Code, w.Body, tt.want)
				}
				if tt.want == http.StatusOK {
					return
				}
				var e errorBody
				if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error != "invalid_request" || e.Description == "" {
					t.Errorf("%s(%s): body %q, want error invalid_request with a description", mw.name, tt.name, w.Body)
				}
				if wa := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(wa, `Bearer error="invalid_request", error_description="`) || strings.Contains(wa, "verifier:") {
					t.Errorf("%s(%s): WWW-Authenticate %q, want Bearer error=\"invalid_request\" with a description", mw.name, tt.name, wa)
				}
				if strings.Contains(w.Body.String(), f.valid) || strings.Contains(w.Body.String(), forged) {
					t.Errorf("%s(%s): body %q echoes a token", mw.name, tt.name, w.Body)
				}
			})
		}
	}
}

func TestOptional(t *testing.T) {
	f := newMiddlewareFixture(t)
	forged := flip(f.valid, len(f.valid)-5)
	tests := []middlewareCase{
		{name: "no token", wantStatus: 200, wantBody: "anonymous"},
		{name: "valid token", header: "Bearer " + f.valid, wantStatus: 200, wantBody: "u_1"},
		{name: "valid cookie", cookie: f.valid, wantStatus: 200, wantBody: "u_1"},
		{name: "forged token", header: "Bearer " + forged, wantStatus: 401, wantAuth: `Bearer error="invalid_token"`, wantError: "invalid_token"},
		{name: "expired token", header: "Bearer " + f.expired, wantStatus: 401, wantAuth: `Bearer error="invalid_token"`, wantError: "invalid_token"},
		{name: "malformed header", header: "Token abc", wantStatus: 401, wantAuth: `Bearer error="invalid_token"`, wantError: "invalid_token"},
	}
	runMiddlewareCases(t, f.v.Optional(whoami), tests, forged, f.expired)
}

func TestRequireScopeAndRole(t *testing.T) {
	f := newMiddlewareFixture(t)
	// The fixture token has scope "orders:read orders:write" and role "clerk".
	tests := []struct {
		name       string
		mw         func(http.Handler) http.Handler
		wantStatus int
		wantAuth   string
	}{
		{name: "one scope held", mw: verifier.RequireScope("orders:read"), wantStatus: 200},
		{name: "all scopes held", mw: verifier.RequireScope("orders:read", "orders:write"), wantStatus: 200},
		{name: "scope missing", mw: verifier.RequireScope("orders:delete"), wantStatus: 403, wantAuth: `Bearer error="insufficient_scope"`},
		{name: "one of two scopes missing", mw: verifier.RequireScope("orders:read", "billing:read"), wantStatus: 403, wantAuth: `Bearer error="insufficient_scope"`},
		{name: "scope prefix is not the scope", mw: verifier.RequireScope("orders"), wantStatus: 403, wantAuth: `Bearer error="insufficient_scope"`},
		{name: "role held", mw: verifier.RequireRole("clerk"), wantStatus: 200},
		{name: "one of the roles held", mw: verifier.RequireRole("admin", "clerk"), wantStatus: 200},
		{name: "role missing", mw: verifier.RequireRole("admin"), wantStatus: 403, wantAuth: `Bearer error="insufficient_scope"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := f.v.Require(tt.mw(whoami))
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", "Bearer "+f.valid)
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d %q, want %d", w.Code, w.Body, tt.wantStatus)
			}
			if tt.wantStatus == 200 {
				return
			}
			if got := w.Header().Get("WWW-Authenticate"); !strings.HasPrefix(got, tt.wantAuth) {
				t.Errorf("WWW-Authenticate = %q, want prefix %q", got, tt.wantAuth)
			}
			var e errorBody
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error != "insufficient_scope" {
				t.Errorf("body = %q, want error insufficient_scope", w.Body)
			}
		})
	}

	t.Run("without Require", func(t *testing.T) {
		for _, mw := range []func(http.Handler) http.Handler{verifier.RequireScope("orders:read"), verifier.RequireRole("clerk")} {
			w := httptest.NewRecorder()
			mw(whoami).ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
			if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("scope check without claims = %d %q, want 401 Bearer", w.Code, w.Header().Get("WWW-Authenticate"))
			}
		}
	})
}

func TestContext(t *testing.T) {
	if c, ok := verifier.FromContext(t.Context()); ok {
		t.Errorf("FromContext(empty) = %+v, true; want false", c)
	}
	want := jwt.Claims{Subject: "u_7", Scope: "orders:read", Roles: []string{"clerk"}}
	ctx := verifier.NewContext(t.Context(), want)
	got, ok := verifier.FromContext(ctx)
	if !ok || got.Subject != want.Subject || got.Scope != want.Scope {
		t.Errorf("FromContext(NewContext(%+v)) = %+v, %v", want, got, ok)
	}

	// A handler behind RequireScope can be tested without any token.
	h := verifier.RequireScope("orders:read")(whoami)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx))
	if w.Code != 200 || w.Body.String() != "u_7" {
		t.Errorf("RequireScope with NewContext claims = %d %q, want 200 u_7", w.Code, w.Body)
	}
}

// TestServeMux: the middleware composes with net/http's method and
// wildcard patterns, per route or around the whole mux.
func TestServeMux(t *testing.T) {
	f := newMiddlewareFixture(t)
	mux := http.NewServeMux()
	mux.Handle("GET /orders/{id}", f.v.Require(verifier.RequireScope("orders:read")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := verifier.FromContext(r.Context())
		io.WriteString(w, c.Subject+" reads order "+r.PathValue("id"))
	}))))
	mux.Handle("DELETE /orders/{id}", f.v.Require(verifier.RequireRole("admin")(whoami)))
	mux.Handle("GET /public", f.v.Optional(whoami))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	tests := []struct {
		method, path string
		token        string
		wantStatus   int
		wantBody     string
	}{
		{"GET", "/orders/42", f.valid, 200, "u_1 reads order 42"},
		{"GET", "/orders/42", "", 401, ""},
		{"DELETE", "/orders/42", f.valid, 403, ""},
		{"POST", "/orders/42", f.valid, 405, ""},
		{"GET", "/public", "", 200, "anonymous"},
		{"GET", "/public", f.valid, 200, "u_1"},
		{"GET", "/nowhere", f.valid, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.token != "" {
				req.Header.Set("Authorization", "Bearer "+tt.token)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("%s %s = %d %q, want %d", tt.method, tt.path, resp.StatusCode, body, tt.wantStatus)
			}
			if tt.wantBody != "" && string(body) != tt.wantBody {
				t.Errorf("%s %s body = %q, want %q", tt.method, tt.path, body, tt.wantBody)
			}
		})
	}
}
