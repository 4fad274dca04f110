package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeLatch implements the endpoints latchload uses: sign-up, login,
// refresh with rotation (a token works once) and the client credentials
// grant, and counts what it served.
type fakeLatch struct {
	password  string
	failEvery int64 // refresh: every failEvery'th request answers 503; 0 never
	shed      bool  // those 503s carry Retry-After, as latch's load shedding does
	delay     time.Duration

	// The token endpoint answers 200 to a request from clientID with
	// clientSecret and 401 invalid_client to other credentials; but every
	// grantFailEvery'th request (0 never) answers grantFailStatus.
	clientID, clientSecret string
	grantFailEvery         int64
	grantFailStatus        int
	tokenRequests          tokenLog
	grants, grantsFailed   atomic.Int64

	mu     sync.Mutex
	users  map[string]bool
	tokens map[string]bool // current refresh tokens
	seq    int

	signups, logins, refreshes, failed, refused atomic.Int64
	mes, meRefused                              atomic.Int64
	inFlight, maxInFlight                       atomic.Int64
}

func newFakeLatch(t *testing.T, f *fakeLatch) *url.URL {
	t.Helper()
	f.users = make(map[string]bool)
	f.tokens = make(map[string]bool)
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (f *fakeLatch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := f.inFlight.Add(1)
	defer f.inFlight.Add(-1)
	for m := f.maxInFlight.Load(); n > m && !f.maxInFlight.CompareAndSwap(m, n); m = f.maxInFlight.Load() {
	}
	time.Sleep(f.delay)
	if r.URL.Path == tokenPath {
		f.token(w, r)
		return
	}
	if r.URL.Path == "/v1/me" {
		f.mes.Add(1)
		if r.Method != http.MethodGet || r.Header.Get("Authorization") != "Bearer at" {
			f.meRefused.Add(1)
			http.Error(w, `{"error":"invalid_token"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"u"}`)
		return
	}
	var req struct {
		Email, Password string
		RefreshToken    string `json:"refresh_token"`
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" ||
		json.NewDecoder(r.Body).Decode(&req) != nil {
		http.Error(w, `{"error":"invalid_request"}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/v1/signup":
		f.signups.Add(1)
		if f.users[req.Email] {
			http.Error(w, `{"error":"conflict"}`, http.StatusConflict)
			return
		}
		f.users[req.Email] = true
		f.issue(w, http.StatusCreated)
	case "/v1/login":
		f.logins.Add(1)
		if !f.users[req.Email] || req.Password != f.password {
			http.Error(w, `{"error":"invalid_credentials"}`, http.StatusUnauthorized)
			return
		}
		f.issue(w, http.StatusOK)
	case "/v1/token/refresh":
		n := f.refreshes.Add(1)
		if f.failEvery > 0 && n%f.failEvery == 0 {
			f.failed.Add(1)
			if f.shed {
				w.Header().Set("Retry-After", "1")
			}
			http.Error(w, `{"error":"temporarily_unavailable"}`, http.StatusServiceUnavailable)
			return
		}
		if !f.tokens[req.RefreshToken] {
			f.refused.Add(1)
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		delete(f.tokens, req.RefreshToken)
		f.issue(w, http.StatusOK)
	default:
		http.NotFound(w, r)
	}
}

// issue answers with a new token pair; f.mu is held.
func (f *fakeLatch) issue(w http.ResponseWriter, status int) {
	f.seq++
	tok := fmt.Sprintf("rt-%d", f.seq)
	f.tokens[tok] = true
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"access_token": "at", "token_type": "Bearer", "expires_in": 600, "refresh_token": tok, "session_id": "s",
	})
}

// tokenRequest is what the fake token endpoint saw of one request.
type tokenRequest struct {
	method, contentType, authorization, query string
	form                                      url.Values
	formErr                                   error
}

// tokenLog keeps the distinct requests the token endpoint saw: a run
// whose requests are all alike leaves one.
type tokenLog struct {
	mu   sync.Mutex
	seen []tokenRequest
}

func (l *tokenLog) add(tr tokenRequest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.seen {
		if reflect.DeepEqual(s, tr) {
			return
		}
	}
	l.seen = append(l.seen, tr)
}

func (l *tokenLog) distinct() []tokenRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.seen)
}

// token is the fake POST /oauth2/token: it authenticates the client the
// way RFC 6749 §2.3.1 has a server do it (Basic, then form-decoding of
// each half) and logs the request as sent.
func (f *fakeLatch) token(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, err := url.ParseQuery(string(body))
	f.tokenRequests.add(tokenRequest{
		method: r.Method, contentType: r.Header.Get("Content-Type"), authorization: r.Header.Get("Authorization"),
		query: r.URL.RawQuery, form: form, formErr: err,
	})
	n := f.grants.Add(1)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	fail := func(status int, code string) {
		f.grantsFailed.Add(1)
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="latch"`)
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"error":%q,"error_description":"fake refusal"}`, code)
	}
	user, pass, ok := r.BasicAuth()
	id, err1 := url.QueryUnescape(user)
	secret, err2 := url.QueryUnescape(pass)
	switch {
	case !ok || err1 != nil || err2 != nil || id != f.clientID || secret != f.clientSecret:
		fail(http.StatusUnauthorized, "invalid_client")
	case f.grantFailEvery > 0 && n%f.grantFailEvery == 0:
		fail(f.grantFailStatus, "invalid_scope")
	default:
		fmt.Fprintf(w, `{"access_token":"at-%d","token_type":"Bearer","expires_in":600,"scope":%q}`, n, form.Get("scope"))
	}
}

func TestRunClientCredentials(t *testing.T) {
	// Characters that form-encoding changes, in both halves: a ':' in the
	// ID must not reach the server as Basic's separator.
	const (
		id     = "svc:orders 1"
		secret = "s3cr+t/é%&=:x"
		// The header, written out: "svc%3Aorders+1:s3cr%2Bt%2F%C3%A9%25%26%3D%3Ax" in base64.
		wantAuth = "Basic c3ZjJTNBb3JkZXJzKzE6czNjciUyQnQlMkYlQzMlQTklMjUlMjYlM0QlM0F4"
	)
	tests := []struct {
		name       string
		scope      string
		wantForm   url.Values
		failEvery  int64
		failStatus int
	}{
		{
			name:     "one scope",
			scope:    "orders:read",
			wantForm: url.Values{"grant_type": {"client_credentials"}, "scope": {"orders:read"}},
		},
		{
			name:     "two scopes",
			scope:    "orders:read orders:write",
			wantForm: url.Values{"grant_type": {"client_credentials"}, "scope": {"orders:read orders:write"}},
		},
		{
			name:     "no scope",
			wantForm: url.Values{"grant_type": {"client_credentials"}},
		},
		{
			name:      "every 5th is 400",
			scope:     "orders:read",
			wantForm:  url.Values{"grant_type": {"client_credentials"}, "scope": {"orders:read"}},
			failEvery: 5, failStatus: http.StatusBadRequest,
		},
		{
			name:      "every 7th is 401",
			scope:     "orders:read",
			wantForm:  url.Values{"grant_type": {"client_credentials"}, "scope": {"orders:read"}},
			failEvery: 7, failStatus: http.StatusUnauthorized,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeLatch{clientID: id, clientSecret: secret, grantFailEvery: tt.failEvery, grantFailStatus: tt.failStatus}
			u := newFakeLatch(t, f)
			const conc = 4
			rep, err := Run(t.Context(), Config{
				URL: u, Scenario: ScenarioClientCredentials, Concurrency: conc, Duration: 10 * time.Second, Requests: 200,
				Users: 1, Password: DefaultPassword, EmailDomain: "example.com", Timeout: 5 * time.Second,
				ClientID: id, ClientSecret: secret, Scope: tt.scope, ServerPID: os.Getpid(),
			})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			want := tokenRequest{
				method: http.MethodPost, contentType: "application/x-www-form-urlencoded",
				authorization: wantAuth, form: tt.wantForm,
			}
			if got := f.tokenRequests.distinct(); len(got) != 1 || !reflect.DeepEqual(got[0], want) {
				t.Errorf("token requests sent = %+v, want each to be %+v", got, want)
			}
			if got := f.signups.Load() + f.logins.Load() + f.refreshes.Load(); got != 0 {
				t.Errorf("sign-up, login and refresh requests = %d, want 0", got)
			}
			// The set-up request is the first; the 200 measured follow.
			if got := f.grants.Load(); got != 201 {
				t.Errorf("token requests served = %d, want 201 (1 set-up + 200 measured)", got)
			}
			if rep.Total.Requests != 200 || rep.Ops[opClientCredentials] == nil || len(rep.Ops) != 1 {
				t.Errorf("report requests = %d, ops %v, want 200 client_credentials", rep.Total.Requests, slices.Collect(maps.Keys(rep.Ops)))
			}
			var wantErrors int
			if tt.failEvery > 0 {
				wantErrors = int(201 / tt.failEvery)
			}
			if got := int(f.grantsFailed.Load()); got != wantErrors {
				t.Fatalf("fake refused %d token requests, want %d", got, wantErrors)
			}
			wantStatuses := map[string]int{"200": 200 - wantErrors}
			if wantErrors > 0 {
				wantStatuses[strconv.Itoa(tt.failStatus)] = wantErrors
			}
			if rep.Total.Errors != wantErrors || !reflect.DeepEqual(rep.Total.Statuses, wantStatuses) {
				t.Errorf("report errors = %d, statuses %v, want %d, %v", rep.Total.Errors, rep.Total.Statuses, wantErrors, wantStatuses)
			}
			if got, want := rep.Failure() != "", wantErrors > 0; got != want {
				t.Errorf("Failure() = %q, want failed = %v", rep.Failure(), want)
			}
			if rep.Relogins != 0 {
				t.Errorf("relogins = %d, want 0: a refused grant has no session to replace", rep.Relogins)
			}
			if rep.Server == nil {
				t.Errorf("report server CPU = nil, want it measured with ServerPID")
			}
			if got := f.maxInFlight.Load(); got > conc {
				t.Errorf("max requests in flight = %d, want <= %d", got, conc)
			}
		})
	}
}

func TestBasicAuth(t *testing.T) {
	tests := []struct {
		id, secret string
		want       string // user-id:password before base64
	}{
		{"plain", "secret", "plain:secret"},
		{"a:b", "c:d", "a%3Ab:c%3Ad"},
		{"with space", "p+q", "with+space:p%2Bq"},
		{"ünï", "%/?#&=", "%C3%BCn%C3%AF:%25%2F%3F%23%26%3D"},
	}
	for _, tt := range tests {
		want := "Basic " + base64.StdEncoding.EncodeToString([]byte(tt.want))
		if got := basicAuth(tt.id, tt.secret); got != want {
			t.Errorf("basicAuth(%q, %q) = %q, want %q (base64 of %q)", tt.id, tt.secret, got, want, tt.want)
		}
	}
}

func TestRunClientCredentialsBadResponse(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"no access_token", `{"token_type":"Bearer","expires_in":600}`},
		{"not Bearer", `{"access_token":"at","token_type":"DPoP","expires_in":600}`},
		{"not JSON", `at`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, tt.body)
			}))
			t.Cleanup(srv.Close)
			u, _ := url.Parse(srv.URL)
			_, err := Run(t.Context(), Config{
				URL: u, Scenario: ScenarioClientCredentials, Concurrency: 1, Duration: time.Second,
				Users: 1, Password: "p", EmailDomain: "example.com", Timeout: time.Second,
				ClientID: "c", ClientSecret: "s",
			})
			if err == nil || !strings.Contains(err.Error(), "HTTP 200") {
				t.Errorf("Run against a token endpoint answering %s: err = %v, want a set-up failure naming HTTP 200", tt.body, err)
			}
		})
	}
}

func TestClientSecretNeverPrinted(t *testing.T) {
	const secret = "do-not-print-me-7f3a"
	f := &fakeLatch{clientID: "c", clientSecret: "another secret"}
	u := newFakeLatch(t, f)
	dir := t.TempDir()
	file := filepath.Join(dir, "secret")
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cc := []string{"-url", u.String(), "-scenario", "client_credentials", "-c", "1", "-d", "100ms", "-client-id", "c"}
	tests := []struct {
		name string
		args []string
		want int
		err  string // in stderr
	}{
		{"refused secret from file", append(cc, "-client-secret-file", file), 1, "HTTP 401 invalid_client"},
		{"refused secret from flag", append(cc, "-client-secret", secret), 1, "HTTP 401 invalid_client"},
		{"refused secret, json", append(cc, "-client-secret", secret, "-json"), 1, "HTTP 401 invalid_client"},
		{"both secret flags", append(cc, "-client-secret", secret, "-client-secret-file", file), 2, "exclude each other"},
		{"empty secret file", append(cc, "-client-secret-file", empty), 2, "is empty"},
		{"missing secret file", append(cc, "-client-secret-file", filepath.Join(dir, "nope")), 2, "no such file"},
		{"no client ID", []string{"-scenario", "client_credentials", "-client-secret", secret}, 2, "-client-id"},
		{"with -signup", append(cc, "-client-secret", secret, "-signup"), 2, "-signup"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if got := run(tt.args, &stdout, &stderr); got != tt.want {
				t.Errorf("run(...) = %d, want %d; stderr:\n%s", got, tt.want, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.err) {
				t.Errorf("run(...) stderr = %q, want it to contain %q", stderr.String(), tt.err)
			}
			if out := stdout.String() + stderr.String(); strings.Contains(out, secret) {
				t.Errorf("run(...) printed the client secret:\n%s", out)
			}
		})
	}
	if got := f.grants.Load(); got != 3 {
		t.Errorf("token requests served = %d, want 3 (one set-up request per refused run)", got)
	}
}

func TestRunRefresh(t *testing.T) {
	tests := []struct {
		name       string
		failEvery  int64
		wantFailed bool
	}{
		{name: "no errors"},
		{name: "every 20th is 503", failEvery: 20, wantFailed: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeLatch{password: DefaultPassword, failEvery: tt.failEvery}
			u := newFakeLatch(t, f)
			const conc = 4
			rep, err := Run(t.Context(), Config{
				URL: u, Scenario: ScenarioRefresh, Concurrency: conc, Duration: 300 * time.Millisecond,
				Users: 2, Signup: true, Password: DefaultPassword, EmailPrefix: "u", EmailDomain: "example.com",
				Timeout: 5 * time.Second, ServerPID: os.Getpid(),
			})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if rep.Server == nil {
				t.Errorf("report server CPU = nil, want it measured with ServerPID")
			}
			if got := f.signups.Load(); got != 2 {
				t.Errorf("signups served = %d, want 2", got)
			}
			if got := f.logins.Load(); got != conc {
				t.Errorf("logins served = %d, want %d (one per worker, in set-up)", got, conc)
			}
			if got, want := int64(rep.Total.Requests), f.refreshes.Load(); got != want || got == 0 {
				t.Errorf("report requests = %d, want the %d refreshes served (> 0)", got, want)
			}
			if got, want := int64(rep.Total.Errors), f.failed.Load(); got != want {
				t.Errorf("report errors = %d, want %d", got, want)
			}
			if got, want := int64(rep.Total.Statuses["503"]), f.failed.Load(); got != want {
				t.Errorf("report statuses[503] = %d, want %d", got, want)
			}
			if got, want := int64(rep.Total.Statuses["200"]), f.refreshes.Load()-f.failed.Load(); got != want {
				t.Errorf("report statuses[200] = %d, want %d", got, want)
			}
			// A 503 leaves the token valid, so no refresh is ever refused.
			if got := f.refused.Load(); got != 0 || rep.Relogins != 0 {
				t.Errorf("refused refreshes = %d, relogins = %d, want 0, 0", got, rep.Relogins)
			}
			if got := f.maxInFlight.Load(); got > conc {
				t.Errorf("max requests in flight = %d, want <= %d", got, conc)
			}
			if got := rep.Failure() != ""; got != tt.wantFailed {
				t.Errorf("Failure() = %q, want failed = %v", rep.Failure(), tt.wantFailed)
			}
			if rep.ElapsedSeconds < 0.3 || rep.ElapsedSeconds > 2 {
				t.Errorf("elapsed = %.2fs, want about 0.3s", rep.ElapsedSeconds)
			}
		})
	}
}

func TestRunLoginRequestLimit(t *testing.T) {
	f := &fakeLatch{password: DefaultPassword, delay: time.Millisecond}
	u := newFakeLatch(t, f)
	rep, err := Run(t.Context(), Config{
		URL: u, Scenario: ScenarioLogin, Concurrency: 50, Duration: 10 * time.Second, Requests: 200,
		Users: 5, Signup: true, Password: DefaultPassword, EmailPrefix: "u", EmailDomain: "example.com",
		Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Total.Requests != 200 || f.logins.Load() != 200 {
		t.Errorf("requests = %d reported, %d served, want 200, 200", rep.Total.Requests, f.logins.Load())
	}
	if rep.Total.Errors != 0 || rep.Failure() != "" {
		t.Errorf("errors = %d, Failure() = %q, want 0, \"\"", rep.Total.Errors, rep.Failure())
	}
	if rep.ElapsedSeconds > 5 {
		t.Errorf("elapsed = %.2fs, want the -n limit to end the run early", rep.ElapsedSeconds)
	}
	if got := f.maxInFlight.Load(); got > 50 {
		t.Errorf("max requests in flight = %d, want <= 50", got)
	}
}

func TestRunMixed(t *testing.T) {
	f := &fakeLatch{password: DefaultPassword}
	u := newFakeLatch(t, f)
	// Sign up first, then run against the existing accounts (a second
	// sign-up run would see 409s and carry on).
	cfg := Config{
		URL: u, Scenario: ScenarioMixed, Concurrency: 3, Duration: 300 * time.Millisecond,
		Users: 3, Signup: true, Password: DefaultPassword, EmailPrefix: "m", EmailDomain: "example.com",
		LoginEvery: 3, Timeout: 5 * time.Second,
	}
	for range 2 {
		rep, err := Run(t.Context(), cfg)
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		logins, refreshes := rep.Ops[opLogin], rep.Ops[opRefresh]
		if logins == nil || refreshes == nil {
			t.Fatalf("ops = %v, want login and refresh", rep.Ops)
		}
		// Each worker's every 3rd request is a login: a worker with n
		// requests made n/3 logins (rounded down) and the rest refreshes.
		if d := refreshes.Requests - 2*logins.Requests; d < 0 || d > 2*cfg.Concurrency {
			t.Errorf("refreshes = %d, logins = %d, want 2 refreshes per login", refreshes.Requests, logins.Requests)
		}
		if rep.Total.Errors != 0 || f.refused.Load() != 0 {
			t.Errorf("errors = %d, refused = %d, want 0, 0", rep.Total.Errors, f.refused.Load())
		}
	}
}

func TestRunSetupFailure(t *testing.T) {
	f := &fakeLatch{password: "the right one"}
	u := newFakeLatch(t, f)
	_, err := Run(t.Context(), Config{
		URL: u, Scenario: ScenarioRefresh, Concurrency: 2, Duration: time.Second,
		Users: 1, Signup: false, Password: "wrong password", EmailPrefix: "x", EmailDomain: "example.com",
		Timeout: time.Second,
	})
	if err == nil || !strings.Contains(err.Error(), "HTTP 401 invalid_credentials") {
		t.Errorf("Run with unknown accounts: err = %v, want HTTP 401 invalid_credentials", err)
	}
	if got := f.refreshes.Load(); got != 0 {
		t.Errorf("refreshes served after failed set-up = %d, want 0", got)
	}
}

func TestRemoteRefused(t *testing.T) {
	tests := []struct {
		host string
		ok   bool
	}{
		{"127.0.0.1", true},
		{"127.3.4.5", true},
		{"::1", true},
		{"localhost", true},
		{"192.0.2.1", false},
		{"10.0.0.1", false},
		{"::ffff:192.0.2.1", false},
	}
	for _, tt := range tests {
		err := checkHost(t.Context(), tt.host)
		if (err == nil) != tt.ok {
			t.Errorf("checkHost(%q) = %v, want ok = %v", tt.host, err, tt.ok)
		}
	}
	u, _ := url.Parse("http://192.0.2.1:9/")
	_, err := Run(t.Context(), Config{
		URL: u, Scenario: ScenarioLogin, Concurrency: 1, Duration: time.Second,
		Users: 1, Password: "p", EmailDomain: "example.com", Timeout: time.Second,
	})
	if err == nil || !strings.Contains(err.Error(), "-allow-remote") {
		t.Errorf("Run against 192.0.2.1 = %v, want a refusal naming -allow-remote", err)
	}
}

func TestProcessCPU(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	// Burn some CPU, then compare /proc's view of this process with
	// getrusage's: they agree to within a few clock ticks.
	for t0 := time.Now(); time.Since(t0) < 100*time.Millisecond; {
	}
	got, err := processCPU(os.Getpid())
	want := cpuTime()
	if err != nil || got <= 0 || got > want+50*time.Millisecond || got < want-50*time.Millisecond {
		t.Errorf("processCPU(self) = %v, %v, want about %v", got, err, want)
	}
	if _, err := processCPU(1 << 30); err == nil {
		t.Errorf("processCPU(no such pid) = nil error, want one")
	}
}

func TestPercentile(t *testing.T) {
	seq := func(n int) []time.Duration {
		s := make([]time.Duration, n)
		for i := range s {
			s[i] = time.Duration(i+1) * time.Millisecond
		}
		return s
	}
	tests := []struct {
		name    string
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one sample p50", seq(1), 50, time.Millisecond},
		{"one sample p99", seq(1), 99, time.Millisecond},
		{"1..100 p50", seq(100), 50, 50 * time.Millisecond},
		{"1..100 p90", seq(100), 90, 90 * time.Millisecond},
		{"1..100 p99", seq(100), 99, 99 * time.Millisecond},
		{"1..100 max", seq(100), 100, 100 * time.Millisecond},
		{"1..10 p50", seq(10), 50, 5 * time.Millisecond},
		{"1..10 p90", seq(10), 90, 9 * time.Millisecond},
		{"1..10 p99", seq(10), 99, 10 * time.Millisecond},
		{"1..1000 p99", seq(1000), 99, 990 * time.Millisecond},
		{"1..1000 p99.9", seq(1000), 99.9, 999 * time.Millisecond},
		{"1..3 p50", seq(3), 50, 2 * time.Millisecond},
		{"1..4 p50", seq(4), 50, 2 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.samples, tt.p); got != tt.want {
				t.Errorf("percentile(%s, %v) = %v, want %v", tt.name, tt.p, got, tt.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	// 200 requests over 2 s: 1..200 ms, 3 of them failed.
	s := &opStats{statuses: map[string]int{"200": 197, "500": 2, "transport": 1}, errors: 3}
	for i := 200; i >= 1; i-- {
		s.samples = append(s.samples, time.Duration(i)*time.Millisecond)
	}
	r := summarize(s, 2*time.Second)
	want := OpReport{
		Requests: 200, Errors: 3, ErrorRate: 0.015, Throughput: 100, Goodput: 98.5,
		LatencyMS: Latency{Mean: 100.5, P50: 100, P90: 180, P99: 198, Max: 200},
	}
	r.Statuses = nil
	if !reflect.DeepEqual(*r, want) {
		t.Errorf("summarize() = %+v, want %+v", *r, want)
	}
	rep := &Report{Total: *r}
	if rep.Failure() == "" {
		t.Errorf("Failure() with 1.5%% errors = \"\", want a failure")
	}
	rep.Total.Errors, rep.Total.ErrorRate = 2, 0.01
	if msg := rep.Failure(); msg != "" {
		t.Errorf("Failure() with exactly 1%% errors = %q, want \"\"", msg)
	}
}

func TestRunExitStatus(t *testing.T) {
	f := &fakeLatch{password: DefaultPassword, failEvery: 2}
	u := newFakeLatch(t, f)
	tests := []struct {
		name string
		args []string
		want int
		out  string
	}{
		{"errors over 1%", []string{"-url", u.String(), "-signup", "-c", "2", "-d", "100ms"}, 1, "503="},
		{"json", []string{"-url", u.String(), "-signup", "-c", "1", "-d", "100ms", "-json"}, 1, `"503":`},
		{"bad scenario", []string{"-scenario", "nope"}, 2, ""},
		{"bad flag", []string{"-nope"}, 2, ""},
		{"remote", []string{"-url", "http://192.0.2.1/"}, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if got := run(tt.args, &stdout, &stderr); got != tt.want {
				t.Errorf("run(%q) = %d, want %d; stderr:\n%s", tt.args, got, tt.want, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.out) {
				t.Errorf("run(%q) stdout = %q, want it to contain %q", tt.args, stdout.String(), tt.out)
			}
		})
	}
}

func TestShedOK(t *testing.T) {
	for _, tt := range []struct {
		name         string
		shed, shedOK bool
		wantErrors   bool
	}{
		{name: "shed answers, -shed-ok", shed: true, shedOK: true, wantErrors: false},
		{name: "shed answers, no -shed-ok", shed: true, shedOK: false, wantErrors: true},
		{name: "503 without Retry-After, -shed-ok", shed: false, shedOK: true, wantErrors: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeLatch{password: DefaultPassword, failEvery: 4, shed: tt.shed}
			u := newFakeLatch(t, f)
			rep, err := Run(t.Context(), Config{
				URL: u, Scenario: ScenarioRefresh, Concurrency: 4, Duration: 10 * time.Second, Requests: 200,
				Users: 4, Signup: true, Password: DefaultPassword, EmailPrefix: "u", EmailDomain: "example.com",
				Timeout: 5 * time.Second, ShedOK: tt.shedOK,
			})
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if rep.Total.Statuses["503"] == 0 {
				t.Fatalf("statuses %v: no 503 measured", rep.Total.Statuses)
			}
			if got := rep.Total.Errors > 0; got != tt.wantErrors {
				t.Errorf("errors = %d with %d 503s, want errors: %v", rep.Total.Errors, rep.Total.Statuses["503"], tt.wantErrors)
			}
			if got := rep.Failure() != ""; got != tt.wantErrors {
				t.Errorf("Failure() = %q, want a failure: %v", rep.Failure(), tt.wantErrors)
			}
		})
	}
}

func TestRunMe(t *testing.T) {
	f := &fakeLatch{password: DefaultPassword}
	u := newFakeLatch(t, f)
	const conc = 3
	rep, err := Run(t.Context(), Config{
		URL: u, Scenario: ScenarioMe, Concurrency: conc, Duration: 300 * time.Millisecond,
		Users: 2, Signup: true, Password: DefaultPassword, EmailPrefix: "u", EmailDomain: "example.com",
		Timeout: 5 * time.Second,
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := f.logins.Load(); got != conc {
		t.Errorf("logins served = %d, want %d (one per worker, in set-up)", got, conc)
	}
	if got, want := int64(rep.Ops[opMe].Requests), f.mes.Load(); got != want || got == 0 {
		t.Errorf("report me requests = %d, want the %d served (> 0)", got, want)
	}
	if got := f.meRefused.Load(); got != 0 || rep.Total.Errors != 0 {
		t.Errorf("refused /v1/me = %d, report errors = %d, want 0, 0 (every request with the login's access token)", got, rep.Total.Errors)
	}
}

func TestParseLevels(t *testing.T) {
	tests := []struct {
		in      string
		want    []int
		wantErr bool
	}{
		{in: "8", want: []int{8}},
		{in: "1,2,4,8,16", want: []int{1, 2, 4, 8, 16}},
		{in: " 4 , 2", want: []int{4, 2}},
		{in: "0", wantErr: true},
		{in: "1,,2", wantErr: true},
		{in: "x", wantErr: true},
		{in: "10001", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseLevels(tt.in)
		if (err != nil) != tt.wantErr || !slices.Equal(got, tt.want) {
			t.Errorf("parseLevels(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// TestRunSweep: -c with a list runs each level in turn, signs up once,
// and ends with a row per level.
func TestRunSweep(t *testing.T) {
	f := &fakeLatch{password: DefaultPassword}
	u := newFakeLatch(t, f)
	var stdout, stderr bytes.Buffer
	args := []string{"-url", u.String(), "-signup", "-users", "2", "-c", "1,2", "-d", "100ms", "-pid", fmt.Sprint(os.Getpid())}
	if got := run(args, &stdout, &stderr); got != 0 {
		t.Fatalf("run(%q) = %d, want 0; stderr:\n%s", args, got, stderr.String())
	}
	if got := f.signups.Load(); got != 2 {
		t.Errorf("signups served = %d, want 2 (once, before the first level)", got)
	}
	out := stdout.String()
	_, sweep, ok := strings.Cut(out, "sweep: scenario=refresh\n")
	if !ok {
		t.Fatalf("run(%q) stdout = %q, want a sweep table", args, out)
	}
	lines := strings.Split(strings.TrimSpace(sweep), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "server ms/req") ||
		strings.Fields(lines[1])[0] != "1" || strings.Fields(lines[2])[0] != "2" {
		t.Errorf("sweep table = %q, want a header and rows for c=1 and c=2", lines)
	}
}
