package microservices_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latch-auth/latch/examples/microservices"
	"github.com/latch-auth/latch/internal/issuer"
	"github.com/latch-auth/latch/internal/keyring"
	"github.com/latch-auth/latch/internal/login"
	"github.com/latch-auth/latch/internal/password"
	"github.com/latch-auth/latch/internal/server"
	"github.com/latch-auth/latch/internal/session"
	"github.com/latch-auth/latch/internal/store"
	"github.com/latch-auth/latch/internal/store/sqlite"
	"github.com/latch-auth/latch/verifier"
)

// authServer is a latch auth server running in-process, wired as
// cmd/latch's runServer wires it, with its data in a temporary directory.
type authServer struct {
	*httptest.Server
	ring   *keyring.Ring
	db     *sqlite.DB
	hasher *password.Hasher
}

// startAuth starts an auth server whose tokens carry the comma-separated
// audience, as `latch serve --audience` takes it.
func startAuth(t *testing.T, audience string) *authServer {
	t.Helper()
	ctx := t.Context()
	dir := t.TempDir()
	master, _, err := keyring.LoadMasterKey(dir, "")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(dir, "latch.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ring, err := keyring.New(ctx, db, master, keyring.Config{RotationPeriod: -1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ring.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	secret, err := keyring.RefreshSecret(master)
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := session.New(db, secret, session.Config{})
	if err != nil {
		t.Fatal(err)
	}
	// Small Argon2id parameters: the test logs in hundreds of times.
	hasher, err := password.New(password.Params{Memory: 8 << 10, Time: 1}, 2)
	if err != nil {
		t.Fatal(err)
	}

	// The issuer URL is the listener's address, known before serving.
	hs := httptest.NewUnstartedServer(nil)
	iss := "http://" + hs.Listener.Addr().String()
	auds := strings.Split(audience, ",")
	tokens, err := issuer.New(ring, issuer.Config{
		Issuer: iss, Audience: auds, Scope: "openid orders:read billing:read",
	})
	if err != nil {
		t.Fatal(err)
	}
	api, err := server.New(server.Config{Issuer: iss, Audience: auds[0]}, server.Deps{
		Users:    db,
		Login:    login.New(db, db, hasher, login.Config{}),
		Sessions: sessions,
		Issuer:   tokens,
		Keys:     ring,
		Hasher:   hasher,
		Ready:    db.Ping,
	})
	if err != nil {
		t.Fatal(err)
	}
	hs.Config.Handler = api.Handler()
	hs.Start()
	t.Cleanup(hs.Close)
	return &authServer{Server: hs, ring: ring, db: db, hasher: hasher}
}

// addUser creates a user, as `latch user add` does.
func (a *authServer) addUser(t *testing.T, email, pw string, roles ...string) {
	t.Helper()
	hash, err := a.hasher.Hash(t.Context(), pw)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	u := store.User{ID: server.NewUserID(), Email: email, PasswordHash: hash, Roles: roles, CreatedAt: now, UpdatedAt: now}
	if err := a.db.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
}

// login logs in over HTTP and returns the access token.
func logIn(ctx context.Context, authURL, email, pw string) (string, error) {
	body, _ := json.Marshal(map[string]string{"email": email, "password": pw})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, authURL+"/v1/login", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return "", fmt.Errorf("login: %s %s", resp.Status, b)
	}
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil {
		return "", err
	}
	return tr.AccessToken, nil
}

// call sends method url with the token and returns the status and the
// WWW-Authenticate header.
func call(ctx context.Context, method, url, token string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		return 0, "", err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("WWW-Authenticate"), nil
}

// services starts orders and billing against the auth server.
func services(t *testing.T, a *authServer, cfg verifier.Config) (orders, billing *httptest.Server) {
	t.Helper()
	start := func(aud string, h func(*verifier.Verifier) http.Handler) *httptest.Server {
		v, err := microservices.NewVerifier(t.Context(), a.URL, aud, cfg)
		if err != nil {
			t.Fatalf("NewVerifier(%s) = %v", aud, err)
		}
		t.Cleanup(v.Close)
		s := httptest.NewServer(h(v))
		t.Cleanup(s.Close)
		return s
	}
	return start(microservices.OrdersAudience, microservices.Orders), start(microservices.BillingAudience, microservices.Billing)
}

// kid returns the key ID in a token's header, "" if there is none.
func kid(token string) string {
	h, _, _ := strings.Cut(token, ".")
	b, _ := base64.RawURLEncoding.DecodeString(h)
	var hdr struct {
		Kid string `json:"kid"`
	}
	json.Unmarshal(b, &hdr)
	return hdr.Kid
}

// TestAudiences: orders and billing each accept only tokens meant for
// them; what the auth server is told its audience is decides which.
func TestAudiences(t *testing.T) {
	const pw = "correct horse battery staple"
	tests := []struct {
		name           string
		audience       string // the auth server's --audience
		wantBilling    int
		wantBillingErr string // WWW-Authenticate prefix on refusal
	}{
		{name: "server issues for orders only", audience: "orders", wantBilling: http.StatusUnauthorized,
			wantBillingErr: `Bearer error="invalid_token", error_description="token not meant for this service"`},
		{name: "server issues for orders and billing", audience: "orders,billing", wantBilling: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := t.Context()
			a := startAuth(t, tt.audience)
			a.addUser(t, "clerk@example.com", pw, "clerk")
			a.addUser(t, "customer@example.com", pw)
			orders, billing := services(t, a, verifier.Config{})
			clerk, err := logIn(ctx, a.URL, "clerk@example.com", pw)
			if err != nil {
				t.Fatal(err)
			}
			customer, err := logIn(ctx, a.URL, "customer@example.com", pw)
			if err != nil {
				t.Fatal(err)
			}

			steps := []struct {
				method, url, token string
				wantStatus         int
				wantAuth           string
			}{
				{"GET", orders.URL + "/orders/1", clerk, http.StatusOK, ""},
				{"GET", orders.URL + "/orders/1", customer, http.StatusOK, ""},
				{"POST", orders.URL + "/orders", clerk, http.StatusCreated, ""},
				{"POST", orders.URL + "/orders", customer, http.StatusForbidden, `Bearer error="insufficient_scope"`},
				{"GET", orders.URL + "/orders/1", "", http.StatusUnauthorized, "Bearer"},
				{"GET", billing.URL + "/invoices/9", customer, tt.wantBilling, tt.wantBillingErr},
				{"GET", billing.URL + "/invoices/9", "", http.StatusUnauthorized, "Bearer"},
			}
			for _, s := range steps {
				status, auth, err := call(ctx, s.method, s.url, s.token)
				if err != nil {
					t.Fatal(err)
				}
				if status != s.wantStatus || !strings.HasPrefix(auth, s.wantAuth) {
					t.Errorf("%s %s = %d %q, want %d %q", s.method, s.url, status, auth, s.wantStatus, s.wantAuth)
				}
			}
		})
	}
}

// TestRotationAndOutage: the auth server rotates its signing key at once
// while clients keep logging in and calling orders and billing; no request
// fails. Then the auth server goes away and the services keep verifying
// the tokens already issued, from the keys they hold.
func TestRotationAndOutage(t *testing.T) {
	const (
		pw        = "correct horse battery staple"
		rotations = 2
		interval  = 200 * time.Millisecond // MinRefreshInterval of the services
	)
	ctx := t.Context()
	a := startAuth(t, "orders,billing")
	a.addUser(t, "clerk@example.com", pw, "clerk")
	orders, billing := services(t, a, verifier.Config{MinRefreshInterval: interval})

	// Clients that log in afresh and call both services, until stopped.
	const clients = 4
	var (
		mu       sync.Mutex
		failures []string
		byKid    = map[string]int{} // successful calls by the token's kid; "" all

	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			tok, err := logIn(ctx, a.URL, "clerk@example.com", pw)
			if err != nil {
				mu.Lock()
				failures = append(failures, err.Error())
				mu.Unlock()
				continue
			}
			for _, u := range []string{orders.URL + "/orders/1", billing.URL + "/invoices/1"} {
				status, auth, err := call(ctx, "GET", u, tok)
				mu.Lock()
				if err != nil || status != http.StatusOK {
					failures = append(failures, fmt.Sprintf("GET %s = %d %q %v", u, status, auth, err))
				} else {
					byKid[kid(tok)]++
					byKid[""]++
				}
				mu.Unlock()
			}
		}
	}
	for range clients {
		wg.Go(client)
	}
	// waitFor waits until the clients have made n successful calls with
	// tokens of key kid ("" for any key).
	waitFor := func(kid string, n int) {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			mu.Lock()
			got := byKid[kid]
			mu.Unlock()
			if got >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("clients made %d successful calls with key %q in 30s, want %d", got, kid, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	waitFor("", 2*clients)
	for range rotations {
		k, err := a.ring.Rotate(ctx, true) // signs at once: verifiers learn it from the unknown kid
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("rotated to %s", k.ID)
		waitFor(k.ID, 2*clients)
		time.Sleep(interval) // a second rotation within the interval would wait for it
	}
	close(stop)
	wg.Wait()
	mu.Lock()
	t.Logf("successful calls by key: %v; %d failures", byKid, len(failures))
	if len(failures) > 0 {
		t.Errorf("%d requests failed during rotation, want 0; first: %s", len(failures), failures[0])
	}
	if got := len(byKid) - 1; got != rotations+1 {
		t.Errorf("tokens were signed by %d keys, want %d", got, rotations+1)
	}
	mu.Unlock()

	// Tokens issued before the outage: one already seen by the services,
	// two never presented (verified from the cached keys, not the token
	// cache).
	var toks []string
	for range 3 {
		tok, err := logIn(ctx, a.URL, "clerk@example.com", pw)
		if err != nil {
			t.Fatal(err)
		}
		toks = append(toks, tok)
	}
	if status, _, err := call(ctx, "GET", orders.URL+"/orders/1", toks[0]); err != nil || status != http.StatusOK {
		t.Fatalf("GET /orders/1 before the outage = %d, %v", status, err)
	}

	a.Close() // the auth server goes away
	if _, err := logIn(ctx, a.URL, "clerk@example.com", pw); err == nil {
		t.Fatal("login after the auth server stopped succeeded")
	}
	for i, tok := range toks {
		for _, u := range []string{orders.URL + "/orders/1", billing.URL + "/invoices/1"} {
			if status, auth, err := call(ctx, "GET", u, tok); err != nil || status != http.StatusOK {
				t.Errorf("GET %s with token %d during the outage = %d %q %v, want 200", u, i, status, auth, err)
			}
		}
	}
	// A new service instance, though, cannot start without its issuer.
	v, err := microservices.NewVerifier(ctx, a.URL, microservices.OrdersAudience, verifier.Config{FetchTimeout: time.Second})
	if err == nil {
		v.Close()
		t.Error("NewVerifier with the auth server down succeeded, want an error")
	} else if !strings.Contains(err.Error(), "JWKS") {
		t.Errorf("NewVerifier with the auth server down = %v, want a JWKS fetch error", err)
	}
}
