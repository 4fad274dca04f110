// Command latchload is a closed-loop HTTP load generator for a latch
// server's login, refresh and OAuth 2.0 token endpoints. It uses the
// standard library only.
//
// Usage:
//
//	latchload [-url http://127.0.0.1:8080] [-scenario refresh|login|mixed|client_credentials|me]
//	          [-c 8 | -c 1,2,4,8,16] [-d 10s] [-n 0] [-users N] [-signup]
//	          [-password P] [-email-prefix latchload-user] [-email-domain example.com]
//	          [-login-every 10] [-timeout 30s] [-pid PID] [-json] [-shed-ok] [-allow-remote]
//	          [-client-id ID (-client-secret-file FILE | -client-secret S)] [-scope SCOPE]
//
// Set-up, outside the measured window: with -signup, -users accounts are
// created through POST /v1/signup (the server must run with
// --allow-signup; an account that already exists is reused); without it,
// the accounts PREFIX0@DOMAIN ... PREFIX{N-1}@DOMAIN must already exist
// with the given -password. Worker i uses account i mod N. The
// client_credentials scenario uses no accounts: it needs a registered
// client instead,
//
//	latch client add --name latchload --grant-type client_credentials --scope orders:read
//
// whose client ID and secret it takes from -client-id and
// -client-secret-file (a file holding the secret, one trailing newline
// ignored) or -client-secret (visible to other local users in the process
// list: prefer the file). The secret is never printed.
//
// Scenarios, each run by -c workers that send one request at a time
// (closed loop, so never more than -c requests in flight):
//
//   - refresh: every worker logs in once during set-up, then loops
//     POST /v1/token/refresh with its own current refresh token, so each
//     request is one rotation plus one access-token issuance on the
//     server. A worker whose token is refused (4xx) logs in again; that
//     login is counted under "relogins", not in the measured requests.
//   - login: workers loop POST /v1/login (one argon2id verification per
//     request on the server).
//   - mixed: like refresh, but every -login-every'th request of a worker
//     is a login whose new session the worker continues with.
//   - me: every worker logs in once during set-up, then loops GET /v1/me
//     with its access token (Authorization: Bearer), so each request is
//     one access-token validation plus the session-active check on the
//     server. A 401 (the token expired) makes the worker log in again,
//     counted under "relogins".
//   - client_credentials: workers loop POST /oauth2/token with the form
//     grant_type=client_credentials&scope=SCOPE (the -scope, form-encoded;
//     no scope parameter when it is empty) and the client authenticated by
//     HTTP Basic as RFC 6749 §2.3.1 has it (client_secret_basic: ID and
//     secret each form-encoded, then base64). Each request is one client
//     authentication plus one access-token issuance on the server; success
//     is a 2xx JSON answer with an access_token of token_type Bearer. One
//     unmeasured request during set-up checks the credentials and scope.
//
// -c takes a comma-separated list to sweep concurrency levels: one run
// per level, in the order given, each of -d (and -n), the accounts signed
// up once before the first; a summary table with a row per level
// (throughput, server CPU per request, p50 and p99) follows the runs'
// reports. With -json the reports are printed as a JSON array.
//
// The run stops issuing requests after -d, or once -n requests (in total,
// over all workers) have been sent, whichever comes first; requests in
// flight then finish, each bounded by -timeout. SIGINT stops at once.
//
// Only the host of -url is contacted, through a transport that ignores
// proxy settings and follows no redirects. Hosts that are not loopback
// addresses are refused (and connections to non-loopback addresses
// dropped) unless -allow-remote is given: never point a load generator at
// a machine you are not allowed to load.
//
// The report (stdout; JSON with -json) gives requests, errors by status
// code, throughput and latency percentiles (nearest rank over every
// measured request) per operation and in total, and latchload's own CPU
// time. With -pid, the server's CPU time in the measured window too (from
// /proc, Linux), and from it the CPU cost per request: on a shared machine
// that figure holds when throughput does not.
//
// Exit status: 0 on success; 1 when set-up fails, no request completes or
// more than 1% of the measured requests fail (with -shed-ok, the server's
// load-shedding 503s do not count as failures); 2 on a usage error.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if _, ok := os.LookupEnv("GOGC"); !ok {
		// latchload's live heap is small (the workers' buffers and
		// the latency samples, 8 bytes a request) and its memory does
		// not matter, but its CPU does: the server it measures runs on
		// the same machine. A heap goal of five times the live heap
		// rather than twice makes collections a quarter as frequent.
		// GOGC, when set, decides instead.
		debug.SetGCPercent(400)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// errUsage marks a command-line error (exit status 2).
var errUsage = errors.New("usage")

func run(args []string, stdout, stderr io.Writer) int {
	cfg, levels, asJSON, err := parseFlags(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return 0
	case err != nil:
		if !errors.Is(err, errUsage) {
			fmt.Fprintf(stderr, "latchload: error: %v\n", err)
		}
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var reps []*Report
	status := 0
	for i, c := range levels {
		cfg.Concurrency = c
		cfg.Signup = cfg.Signup && i == 0 // the accounts exist after the first run
		rep, err := Run(ctx, cfg)
		if err != nil {
			fmt.Fprintf(stderr, "latchload: error: %v\n", err)
			return 1
		}
		reps = append(reps, rep)
		if !asJSON {
			if i > 0 {
				fmt.Fprintln(stdout)
			}
			rep.WriteTable(stdout)
		}
		if msg := rep.Failure(); msg != "" {
			fmt.Fprintf(stderr, "latchload: error: c=%d: %s\n", c, msg)
			status = 1
		}
	}
	switch {
	case asJSON && len(reps) == 1:
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(reps[0])
	case asJSON:
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(reps)
	case len(reps) > 1:
		fmt.Fprintln(stdout)
		WriteSweep(stdout, reps)
	}
	return status
}

// parseLevels parses -c: one concurrency, or a comma-separated list.
func parseLevels(s string) ([]int, error) {
	var levels []int
	for f := range strings.SplitSeq(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > maxConcurrency {
			return nil, fmt.Errorf("-c %q: want concurrencies from 1 to %d, separated by commas", s, maxConcurrency)
		}
		levels = append(levels, n)
	}
	return levels, nil
}

// parseFlags returns the runs' Config, the concurrency of each run and
// whether to print JSON.
func parseFlags(args []string, stderr io.Writer) (Config, []int, bool, error) {
	fs := flag.NewFlagSet("latchload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg       Config
		rawURL    string
		asJSON    bool
		rawLevels string
	)
	fs.StringVar(&rawURL, "url", "http://127.0.0.1:8080", "base `URL` of the latch server (loopback only unless -allow-remote)")
	fs.StringVar(&cfg.Scenario, "scenario", ScenarioRefresh, "`SCENARIO`: refresh, login, mixed, client_credentials or me")
	fs.StringVar(&rawLevels, "c", "8", "concurrent workers `N` (= maximum requests in flight and connections); a comma-separated list runs each in turn")
	fs.DurationVar(&cfg.Duration, "d", 10*time.Second, "measured duration `D`")
	fs.IntVar(&cfg.Requests, "n", 0, "stop after `N` measured requests in total (0: no limit; -d still applies)")
	fs.IntVar(&cfg.Users, "users", 0, "number of accounts `N` (default: min(c, 16))")
	fs.BoolVar(&cfg.Signup, "signup", false, "create the accounts through POST /v1/signup first (server needs --allow-signup)")
	fs.StringVar(&cfg.Password, "password", DefaultPassword, "password `P` of every account")
	fs.StringVar(&cfg.EmailPrefix, "email-prefix", "latchload-user", "accounts are `PREFIX`0@DOMAIN, PREFIX1@DOMAIN, ...")
	fs.StringVar(&cfg.EmailDomain, "email-domain", "example.com", "`DOMAIN` of the account e-mail addresses")
	fs.IntVar(&cfg.LoginEvery, "login-every", 10, "mixed scenario: one login every `N` requests per worker")
	fs.DurationVar(&cfg.Timeout, "timeout", 30*time.Second, "per-request timeout `D`")
	fs.BoolVar(&asJSON, "json", false, "print the report as JSON")
	fs.IntVar(&cfg.ServerPID, "pid", 0, "also report the CPU time of the local server process `PID` in the measured window (Linux)")
	fs.BoolVar(&cfg.ShedOK, "shed-ok", false, "count 503 temporarily_unavailable answers with Retry-After (load shedding) as handled, not failed")
	fs.BoolVar(&cfg.AllowRemote, "allow-remote", false, "allow a non-loopback host (only with permission to load it)")
	fs.StringVar(&cfg.ClientID, "client-id", "", "client_credentials scenario: the client's `ID`")
	fs.StringVar(&cfg.ClientSecret, "client-secret", "", "client_credentials scenario: the client's `SECRET` (visible in the process list; prefer -client-secret-file)")
	secretFile := fs.String("client-secret-file", "", "client_credentials scenario: read the client's secret from `FILE`")
	fs.StringVar(&cfg.Scope, "scope", "", "client_credentials scenario: the `SCOPE` requested (space-separated; empty: the client's default)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return Config{}, nil, false, err
		}
		return Config{}, nil, false, errUsage
	}
	if fs.NArg() > 0 {
		return Config{}, nil, false, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	levels, err := parseLevels(rawLevels)
	if err != nil {
		return Config{}, nil, false, err
	}
	cfg.Concurrency = slices.Max(levels)
	u, err := url.Parse(rawURL)
	if err != nil {
		return Config{}, nil, false, fmt.Errorf("-url: %v", err)
	}
	cfg.URL = u
	cfg.Log = stderr
	if *secretFile != "" {
		if cfg.ClientSecret != "" {
			return Config{}, nil, false, errors.New("-client-secret and -client-secret-file exclude each other")
		}
		if cfg.ClientSecret, err = readSecret(*secretFile); err != nil {
			return Config{}, nil, false, fmt.Errorf("-client-secret-file: %w", err)
		}
	}
	if cfg.Users == 0 {
		cfg.Users = min(cfg.Concurrency, 16)
	}
	if err := cfg.validate(); err != nil {
		return Config{}, nil, false, err
	}
	return cfg, levels, asJSON, nil
}

// readSecret returns the contents of file less its trailing newline. Its
// errors never quote the contents.
func readSecret(file string) (string, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return "", err
	}
	secret := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if secret == "" {
		return "", fmt.Errorf("%s is empty", file)
	}
	return secret, nil
}
