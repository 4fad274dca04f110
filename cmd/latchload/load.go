package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Scenarios.
const (
	ScenarioRefresh = "refresh"
	ScenarioLogin   = "login"
	ScenarioMixed   = "mixed"
	// ScenarioClientCredentials loops OAuth 2.0 client credentials grants
	// (RFC 6749 §4.4) at POST /oauth2/token.
	ScenarioClientCredentials = "client_credentials"
	// ScenarioMe loops GET /v1/me with the access token of a set-up
	// login: the authenticated request path (token validation and the
	// session-active check).
	ScenarioMe = "me"
)

// Operations, as reported.
const (
	opLogin             = "login"
	opRefresh           = "refresh"
	opClientCredentials = "client_credentials"
	opMe                = "me"
)

// tokenPath is the OAuth 2.0 token endpoint (RFC 6749 §3.2).
const tokenPath = "/oauth2/token"

// DefaultPassword is the accounts' password when none is given.
const DefaultPassword = "latchload correct horse battery staple"

// maxConcurrency bounds -c: each worker holds one connection.
const maxConcurrency = 10000

// maxBody bounds a response body read.
const maxBody = 1 << 20

// Config is one load run.
type Config struct {
	URL         *url.URL      // base URL of the server
	Scenario    string        // ScenarioRefresh, ScenarioLogin, ScenarioMixed, ScenarioClientCredentials or ScenarioMe
	Concurrency int           // workers; also the connection limit
	Duration    time.Duration // measured window
	Requests    int           // total measured requests; 0 means no limit
	Users       int           // accounts; worker i uses account i mod Users
	Signup      bool          // create the accounts first
	Password    string
	EmailPrefix string
	EmailDomain string
	LoginEvery  int           // mixed: one login every LoginEvery requests
	Timeout     time.Duration // per request
	AllowRemote bool          // permit a non-loopback host
	ServerPID   int           // local server process to measure the CPU time of (Linux); 0 none
	// ShedOK counts the server's load-shedding answer (503
	// temporarily_unavailable with Retry-After) as handled, not failed:
	// for runs that overload the server on purpose, such as the memory
	// test. Such answers are still listed under "503".
	ShedOK bool
	// ClientID and ClientSecret authenticate the client_credentials
	// scenario's requests (client_secret_basic, RFC 6749 §2.3.1). The
	// secret never appears in a report, a log line or an error.
	ClientID     string
	ClientSecret string
	// Scope is the client_credentials requests' scope parameter
	// (space-separated, RFC 6749 §3.3); empty leaves it out, which asks
	// for the client's default scope.
	Scope string
	Log   io.Writer // set-up progress; nil discards
}

func (c *Config) validate() error {
	switch {
	case c.URL == nil || (c.URL.Scheme != "http" && c.URL.Scheme != "https") || c.URL.Host == "":
		return errors.New("-url must be an absolute http or https URL")
	case c.URL.User != nil || c.URL.RawQuery != "" || c.URL.Fragment != "":
		return errors.New("-url must not carry user info, a query or a fragment")
	case c.Scenario != ScenarioRefresh && c.Scenario != ScenarioLogin && c.Scenario != ScenarioMixed &&
		c.Scenario != ScenarioClientCredentials && c.Scenario != ScenarioMe:
		return fmt.Errorf("-scenario %q: want refresh, login, mixed, client_credentials or me", c.Scenario)
	case c.Scenario == ScenarioClientCredentials && (c.ClientID == "" || c.ClientSecret == ""):
		return errors.New("-scenario client_credentials needs -client-id and -client-secret or -client-secret-file")
	case c.Scenario == ScenarioClientCredentials && c.Signup:
		return errors.New("-signup creates accounts, which the client_credentials scenario does not use")
	case c.Concurrency < 1 || c.Concurrency > maxConcurrency:
		return fmt.Errorf("-c %d: want 1 to %d", c.Concurrency, maxConcurrency)
	case c.Duration <= 0:
		return errors.New("-d must be positive")
	case c.Requests < 0:
		return errors.New("-n must not be negative")
	case c.Users < 1:
		return errors.New("-users must be positive")
	case c.Password == "":
		return errors.New("-password must not be empty")
	case c.EmailDomain == "":
		return errors.New("-email-domain must not be empty")
	case c.Scenario == ScenarioMixed && c.LoginEvery < 1:
		return errors.New("-login-every must be positive")
	case c.Timeout <= 0:
		return errors.New("-timeout must be positive")
	case c.ServerPID < 0:
		return errors.New("-pid must not be negative")
	}
	return nil
}

// sessions reports whether the scenario's workers hold a session (a
// refresh token, or for ScenarioMe an access token) from a set-up login.
func (c *Config) sessions() bool {
	return c.Scenario == ScenarioRefresh || c.Scenario == ScenarioMixed || c.Scenario == ScenarioMe
}

func (c *Config) email(i int) string {
	return c.EmailPrefix + strconv.Itoa(i) + "@" + c.EmailDomain
}

func (c *Config) logf(format string, args ...any) {
	if c.Log != nil {
		fmt.Fprintf(c.Log, "latchload: "+format+"\n", args...)
	}
}

// checkHost refuses a host that is not, or does not resolve only to,
// loopback addresses.
func checkHost(ctx context.Context, host string) error {
	if ip, err := netip.ParseAddr(host); err == nil {
		if !ip.Unmap().IsLoopback() {
			return fmt.Errorf("host %s is not a loopback address; load against other machines needs -allow-remote", host)
		}
		return nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("resolving %s: %w", host, err)
	}
	for _, ip := range ips {
		if !ip.Unmap().IsLoopback() {
			return fmt.Errorf("host %s resolves to %s, not a loopback address; load against other machines needs -allow-remote", host, ip)
		}
	}
	return nil
}

// newDial returns the dial of a run's connections: no proxy and, unless
// allowRemote, no connection to a non-loopback address whatever the
// resolver says.
func newDial(allowRemote bool) func(ctx context.Context, network, addr string) (net.Conn, error) {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if allowRemote {
		return d.DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		if a, ok := conn.RemoteAddr().(*net.TCPAddr); !ok || !a.IP.IsLoopback() {
			conn.Close()
			return nil, fmt.Errorf("%w %s", errNotLoopback, conn.RemoteAddr())
		}
		return conn, nil
	}
}

// runner is the state of one run.
type runner struct {
	cfg  Config
	dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// prefix is the base URL's path, escaped, without a trailing slash:
	// what request targets start with.
	prefix string
	// tickets counts requests started, for Config.Requests.
	tickets atomic.Int64
	// clientAuth and grantForm are the client_credentials request's
	// Authorization header and body, the same for every request.
	clientAuth string
	grantForm  []byte
}

// Run performs the set-up and the measured load of cfg and returns the
// report. It returns an error for an invalid config, a refused host or a
// failed set-up; request failures during the measured window are in the
// report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if !cfg.AllowRemote {
		if err := checkHost(ctx, cfg.URL.Hostname()); err != nil {
			return nil, err
		}
	}
	if cfg.ServerPID > 0 {
		if _, err := processCPU(cfg.ServerPID); err != nil {
			return nil, fmt.Errorf("-pid: %w", err)
		}
	}
	r := &runner{
		cfg:    cfg,
		dial:   newDial(cfg.AllowRemote),
		prefix: trimSlash(cfg.URL.EscapedPath()),
	}
	if cfg.Signup {
		if err := r.signup(ctx); err != nil {
			return nil, err
		}
	}
	if cfg.Scenario == ScenarioClientCredentials {
		r.clientAuth = basicAuth(cfg.ClientID, cfg.ClientSecret)
		r.grantForm = grantForm(cfg.Scope)
		// One unmeasured request first, so that wrong credentials, a
		// scope the client lacks or a server without the endpoint fail
		// the set-up with the server's answer rather than the whole run.
		r.cfg.logf("requesting a client credentials token for client %q", cfg.ClientID)
		c := r.newWire()
		res := r.clientCredentials(ctx, c)
		c.close()
		if !res.ok() {
			return nil, fmt.Errorf("client credentials grant for client %q: %s", cfg.ClientID, res.describe())
		}
	}
	return r.load(ctx)
}

// basicAuth returns the Authorization header value of client_secret_basic
// (RFC 6749 §2.3.1): the client ID and secret are each encoded with the
// application/x-www-form-urlencoded algorithm (RFC 6749 Appendix B), and
// the results are the user-id and password of HTTP Basic (RFC 7617). The
// form-encoding is what differs from http.Request.SetBasicAuth: a ':' in
// the client ID reaches the server as "%3A", not as the separator.
func basicAuth(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret)))
}

// grantForm returns the body of a client credentials access token request
// (RFC 6749 §4.4.2): grant_type, and scope unless it is empty. The client
// authenticates with the Authorization header only, never in the body.
func grantForm(scope string) []byte {
	v := url.Values{"grant_type": {"client_credentials"}}
	if scope != "" {
		v.Set("scope", scope)
	}
	return []byte(v.Encode())
}

// newWire returns a worker's connection to the server, not yet dialled.
func (r *runner) newWire() *wire {
	host := r.cfg.URL.Host
	if r.cfg.URL.Port() == "" {
		port := "80"
		if r.cfg.URL.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(r.cfg.URL.Hostname(), port)
	}
	return &wire{scheme: r.cfg.URL.Scheme, host: host, authority: r.cfg.URL.Host, dial: r.dial, timeout: r.cfg.Timeout}
}

func trimSlash(s string) string {
	for len(s) > 0 && s[len(s)-1] == '/' {
		s = s[:len(s)-1]
	}
	return s
}

// signup creates the accounts, at most Concurrency at a time. An account
// that exists already (409) is kept.
func (r *runner) signup(ctx context.Context) error {
	r.cfg.logf("signing up %d accounts", r.cfg.Users)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
		created  int
	)
	next := make(chan int)
	for range min(r.cfg.Concurrency, r.cfg.Users) {
		wg.Go(func() {
			c := r.newWire()
			defer c.close()
			for i := range next {
				res := r.do(ctx, c, "/v1/signup", credentials(r.cfg.email(i), r.cfg.Password))
				mu.Lock()
				switch {
				case res.status == http.StatusCreated:
					created++
				case res.status == http.StatusConflict:
				case firstErr == nil:
					firstErr = fmt.Errorf("signing up %s: %s", r.cfg.email(i), res.describe())
				}
				mu.Unlock()
			}
		})
	}
	for i := range r.cfg.Users {
		next <- i
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	r.cfg.logf("signed up %d accounts (%d existed)", created, r.cfg.Users-created)
	return nil
}

// load runs the workers: set-up logins, then the measured window.
func (r *runner) load(ctx context.Context) (*Report, error) {
	needToken := r.cfg.sessions()
	if needToken {
		r.cfg.logf("logging in %d workers", r.cfg.Concurrency)
	}
	workers := make([]*workerStats, r.cfg.Concurrency)
	var (
		setup    sync.WaitGroup
		done     sync.WaitGroup
		mu       sync.Mutex
		setupErr error
		deadline time.Time
	)
	start := make(chan struct{})
	for i := range workers {
		w := newWorkerStats()
		workers[i] = w
		setup.Add(1)
		done.Go(func() {
			c := r.newWire()
			defer c.close()
			email := r.cfg.email(i % r.cfg.Users)
			var token string
			if needToken {
				res := r.login(ctx, c, email)
				if res.token == "" {
					mu.Lock()
					if setupErr == nil {
						setupErr = fmt.Errorf("logging in %s: %s", email, res.describe())
					}
					mu.Unlock()
				}
				token = r.sessionToken(res)
			}
			setup.Done()
			<-start
			mu.Lock()
			failed := setupErr != nil
			mu.Unlock()
			if !failed {
				r.work(ctx, c, deadline, email, token, w)
			}
		})
	}
	setup.Wait()
	cpu0 := cpuTime()
	srv0 := r.serverCPU()
	began := time.Now()
	deadline = began.Add(r.cfg.Duration)
	close(start) // publishes deadline to the workers
	done.Wait()
	elapsed := time.Since(began)
	cpu := cpuTime() - cpu0
	srv := r.serverCPU() - srv0
	if setupErr != nil {
		return nil, setupErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rep := newReport(r.cfg, elapsed, cpu, workers)
	if r.cfg.ServerPID > 0 {
		rep.setServerCPU(srv)
	}
	return rep, nil
}

// serverCPU returns the server's CPU time so far, or 0 without -pid.
func (r *runner) serverCPU() time.Duration {
	if r.cfg.ServerPID == 0 {
		return 0
	}
	d, err := processCPU(r.cfg.ServerPID)
	if err != nil {
		r.cfg.logf("reading the server's CPU time: %v", err)
	}
	return d
}

// take reports whether another request may start.
func (r *runner) take() bool {
	return r.cfg.Requests == 0 || r.tickets.Add(1) <= int64(r.cfg.Requests)
}

// work is one worker's measured loop.
func (r *runner) work(ctx context.Context, c *wire, deadline time.Time, email, token string, w *workerStats) {
	for n := 0; ctx.Err() == nil && time.Now().Before(deadline); {
		if r.cfg.sessions() && token == "" {
			// The session was refused: log in again, unmeasured.
			res := r.login(ctx, c, email)
			w.relogins++
			if res.token == "" {
				w.reloginErrors++
				sleepUntil(ctx, deadline, 100*time.Millisecond)
				continue
			}
			token = r.sessionToken(res)
		}
		if !r.take() {
			return
		}
		n++
		op := opRefresh
		switch {
		case r.cfg.Scenario == ScenarioClientCredentials:
			op = opClientCredentials
		case r.cfg.Scenario == ScenarioMe:
			op = opMe
		case r.cfg.Scenario == ScenarioLogin,
			r.cfg.Scenario == ScenarioMixed && n%r.cfg.LoginEvery == 0:
			op = opLogin
		}
		t0 := time.Now()
		var res result
		switch op {
		case opLogin:
			res = r.login(ctx, c, email)
		case opRefresh:
			res = r.refresh(ctx, c, token)
		case opMe:
			res = r.me(ctx, c, token)
		default:
			res = r.clientCredentials(ctx, c)
		}
		lat := time.Since(t0)
		if ctx.Err() != nil {
			return // interrupted: not a server failure
		}
		w.record(op, res.key(), res.ok() || (r.cfg.ShedOK && res.shed()), lat)
		if res.status == 0 && w.transportErr == "" {
			w.transportErr = res.err.Error()
		}
		switch {
		case op == opMe && res.status == http.StatusUnauthorized:
			token = "" // the access token expired, or its session ended
		case op == opMe:
		case res.token != "":
			token = r.sessionToken(res)
		case op == opRefresh && res.status >= 400 && res.status < 500:
			token = "" // refused: the session is gone
		}
		// On a 5xx or transport error the token is kept: if the server
		// rotated it, the grace window hands out the same successor.
	}
}

func sleepUntil(ctx context.Context, deadline time.Time, d time.Duration) {
	d = min(d, time.Until(deadline))
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// result is the outcome of one request. status 0 is a transport error.
type result struct {
	status     int
	retryAfter string // Retry-After of an error response
	token      string // refresh_token of a successful token response
	access     string // access_token of a successful /v1 token response
	err        error
	body       []byte // of an error response, for set-up messages
}

// ok reports whether the request succeeded: a 2xx token response with
// what the request's operation needs (see tokenResponse).
func (res result) ok() bool { return res.status/100 == 2 && res.err == nil }

// shed reports whether the server shed the request: 503
// temporarily_unavailable with a Retry-After, which latch answers when a
// login waited too long for a hashing slot.
func (res result) shed() bool {
	if res.status != http.StatusServiceUnavailable || res.retryAfter == "" {
		return false
	}
	var e struct {
		Error string `json:"error"`
	}
	return json.Unmarshal(res.body, &e) == nil && e.Error == "temporarily_unavailable"
}

// key is the outcome as reported: the status code, "transport" for a
// request that got no response, "bad_response" for a 2xx without the
// token the operation needs.
func (res result) key() string {
	switch {
	case res.status == 0:
		return "transport"
	case res.status/100 == 2 && !res.ok():
		return "bad_response"
	}
	return strconv.Itoa(res.status)
}

func (res result) describe() string {
	if res.status == 0 {
		return fmt.Sprintf("request failed: %v", res.err)
	}
	var e struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
	}
	if json.Unmarshal(res.body, &e) == nil && e.Error != "" {
		return fmt.Sprintf("HTTP %d %s: %s", res.status, e.Error, e.Description)
	}
	if res.err != nil {
		return fmt.Sprintf("HTTP %d: %v", res.status, res.err)
	}
	return fmt.Sprintf("HTTP %d", res.status)
}

func credentials(email, password string) []byte {
	b, _ := json.Marshal(struct {
		Email    string `json:"email"`
		Password string `json:"password"`
	}{email, password})
	return b
}

func (r *runner) login(ctx context.Context, c *wire, email string) result {
	return r.do(ctx, c, "/v1/login", credentials(email, r.cfg.Password))
}

func (r *runner) refresh(ctx context.Context, c *wire, token string) result {
	return r.do(ctx, c, "/v1/token/refresh", refreshBody(token))
}

// refreshBody returns the JSON body of a refresh request,
// {"refresh_token":"..."}.
func refreshBody(token string) []byte {
	const prefix, suffix = `{"refresh_token":`, `}`
	b := make([]byte, 0, len(prefix)+len(token)+len(`""`)+len(suffix))
	b = append(b, prefix...)
	b = appendJSONString(b, token)
	return append(b, suffix...)
}

// appendJSONString appends s to b as a JSON string (RFC 8259 §7). A
// string of printable ASCII without '"' or '\', such as a base64url
// token, is appended between quotes as it is; any other is left to
// json.Marshal.
func appendJSONString(b []byte, s string) []byte {
	for i := range len(s) {
		if c := s[i]; c < ' ' || c > '~' || c == '"' || c == '\\' {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// clientCredentials sends one client credentials access token request
// (RFC 6749 §4.4.2); success is a Bearer access token (§4.4.3, §5.1).
func (r *runner) clientCredentials(ctx context.Context, c *wire) result {
	return r.post(ctx, c, tokenPath, "application/x-www-form-urlencoded", r.clientAuth, r.grantForm, bearerToken)
}

// tokenResponse is the part of a token response latchload checks.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	RefreshToken string `json:"refresh_token"`
}

// tokenPair accepts a /v1 login or refresh response and returns the
// refresh token that continues the session.
func tokenPair(tr tokenResponse) (string, error) {
	if tr.RefreshToken == "" {
		return "", errors.New("response has no refresh_token")
	}
	return tr.RefreshToken, nil
}

// bearerToken accepts an OAuth 2.0 access token response of type Bearer
// (RFC 6749 §5.1; the type is case-insensitive, §7.1). It returns no
// token to continue with: a client credentials grant has no session.
func bearerToken(tr tokenResponse) (string, error) {
	switch {
	case tr.AccessToken == "":
		return "", errors.New("response has no access_token")
	case !strings.EqualFold(tr.TokenType, "Bearer"):
		return "", fmt.Errorf("response token_type %q, want Bearer", tr.TokenType)
	}
	return "", nil
}

// do POSTs body as JSON to path, for a /v1 token pair.
func (r *runner) do(ctx context.Context, c *wire, path string, body []byte) result {
	return r.post(ctx, c, path, "application/json", "", body, tokenPair)
}

// post POSTs body to path with the given Content-Type and, unless empty,
// Authorization header, and reads the whole response, so that the
// connection is reused. check judges a 2xx response's body: its error
// makes the response a bad one, its token is result.token.
func (r *runner) post(ctx context.Context, c *wire, path, contentType, authorization string, body []byte,
	check func(tokenResponse) (string, error)) result {
	header := [...]headerField{
		{"Content-Type", contentType},
		{"Accept", "application/json"},
		{"Authorization", authorization},
	}
	req := request{method: http.MethodPost, target: r.prefix + path, header: header[:2], body: body}
	if authorization != "" {
		req.header = header[:3]
	}
	resp, err := c.do(ctx, &req)
	if err != nil {
		return result{err: err} // a broken response counts as a transport error
	}
	res := result{status: resp.status}
	if resp.status/100 != 2 {
		res.body = bytes.Clone(resp.body) // the wire reuses resp.body
		res.retryAfter = resp.header.Get("Retry-After")
		return res
	}
	tr, err := decodeTokenResponse(resp.body)
	if err != nil {
		res.err = fmt.Errorf("decoding response: %w", err)
		return res
	}
	res.token, res.err = check(tr)
	res.access = tr.AccessToken
	return res
}

// sessionToken is what a worker continues with after a login or
// refresh: the access token in ScenarioMe, the refresh token otherwise.
func (r *runner) sessionToken(res result) string {
	if r.cfg.Scenario == ScenarioMe {
		if res.token == "" {
			return ""
		}
		return res.access
	}
	return res.token
}

// me sends GET /v1/me with the access token; success is any 2xx answer,
// read whole so that the connection is reused.
func (r *runner) me(ctx context.Context, c *wire, access string) result {
	header := [...]headerField{
		{"Accept", "application/json"},
		{"Authorization", "Bearer " + access},
	}
	resp, err := c.do(ctx, &request{method: http.MethodGet, target: r.prefix + "/v1/me", header: header[:]})
	if err != nil {
		return result{err: err}
	}
	res := result{status: resp.status}
	if resp.status/100 != 2 {
		res.body = bytes.Clone(resp.body) // the wire reuses resp.body
		res.retryAfter = resp.header.Get("Retry-After")
	}
	return res
}
