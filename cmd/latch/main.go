// Command latch is the latch auth server, the commands that administer
// its data, and a tool that generates keys and signs, verifies and
// inspects JSON Web Signatures and JSON Web Tokens.
//
// Usage:
//
//	latch serve [flags]
//	latch healthcheck [--addr HOST:PORT | --url URL] [--tls-cert FILE] [--timeout D]
//	latch user add --email E [--password-stdin] [--role R]...
//	latch user passwd --email E [--password-stdin]
//	latch user disable --email E
//	latch user enable --email E
//	latch user roles --email E --set ROLES
//	latch user claims --email E [--set K=V,...] [--set-json K=JSON] [--unset K,...] [--clear] [--json]
//	latch user list [--json]
//	latch keys list [--json]
//	latch keys rotate [--now]
//	latch keys retire --kid KID | KID
//	latch keys revoke --kid KID | KID
//	latch client add --name NAME [--scope SCOPE]... [--grant-type GRANT]... [--redirect-uri URI]...
//	latch client update --id ID [flags]
//	latch client list [--json]
//	latch client remove --id ID
//	latch revoke --jti JTI | --sid SID | --sub USER_ID | --email E
//	latch migrate [--database URL] | --from DIR --to URL
//	latch keys generate --alg ALG [--kid KID]
//	latch keys public [--alg ALG] [--kid KID] [FILE|-]
//	latch jws sign --key FILE [--alg ALG] [--kid KID] [FILE|-]
//	latch jws verify --key FILE [--alg ALG] [--kid KID] [TOKEN|-]
//	latch jwe encrypt --key FILE [--alg ALG] [--enc ENC] [--cty CTY] [FILE|-]
//	latch jwe decrypt --key FILE [--alg ALG] [TOKEN|-]
//	latch jwe generate --alg ALG [--enc ENC] [--kid KID]
//	latch jwe public [--alg ALG] [FILE|-]
//	latch token sign --key FILE --claims JSON|@FILE [--ttl 15m] [--typ JWT]
//	latch token verify --key FILE --iss ISS --aud AUD [--leeway 30s] [--now UNIX] [--typ T] [TOKEN|-]
//	latch token decode [--size] [TOKEN|-]
//	latch version
//	latch help [COMMAND...]
//
// "serve" runs the server on a data directory (default ./latch-data: the
// SQLite database and the master key), creating it on first start; every
// flag has a LATCH_* environment variable. "healthcheck" exits 0 when the
// server at LATCH_ADDR answers GET /readyz with 200. The user, keys
// list|rotate|retire|revoke, client and revoke commands work on an
// existing data directory (--data, LATCH_DATA) while the server runs; they
// refuse one that does not exist rather than create an empty one. "latch
// help COMMAND" describes each.
//
// Keys are JWKs (RFC 7517) printed as indented JSON. "keys generate" prints
// a private JWK whose default "kid" is its RFC 7638 thumbprint; "keys
// public" prints the public half of a JWK, PEM key or JWK Set (an HMAC
// secret has none and is refused).
//
// Every --key FILE accepts a JWK, a JWK Set ({"keys": [...]}) or a PEM key.
// PEM carries neither algorithm nor key ID, so it needs --alg, and --kid
// gives it an ID (default: the thumbprint). For a JWK or JWK Set, --alg and
// --kid keep only the matching keys. To sign, exactly one private key must
// be left. To verify, every key left is trusted and the token's "kid" (or,
// without one, its "alg") selects the key; the algorithm is always the
// key's own.
//
// "jws sign" signs the raw bytes of a file or of standard input and "jws
// verify" writes the verified payload back byte for byte, with no newline
// added. "token sign" builds a JWT from a claims object: iat and nbf
// default to now, exp to now plus --ttl (15 minutes), jti to 128 random
// bits. "token verify" requires the expected --iss and --aud and prints the
// verified claims, indented. "token decode" prints the header and payload of
// a token WITHOUT verifying it, as {"header": {...}, "payload": {...}}, and
// warns on standard error about risky content: see decode.go for the list.
//
// "jwe encrypt" and "jwe decrypt" are JWE (RFC 7516) over any bytes, with
// encryption keys that "jwe generate" and "jwe public" make (JWK, or PEM).
// "token sign --encrypt-to FILE" issues a nested JWT, signed then
// encrypted to the recipient's public key; "token verify --decrypt-key
// FILE" decrypts and verifies one; "token decode" says a token is
// encrypted and shows only its public header.
//
// A TOKEN argument is the compact token itself; "-" or no argument reads
// it from standard input, ignoring surrounding white space. Inputs are
// bounded: key and claims files 1 MiB, JWS payloads 16 MiB, and the tokens
// "token verify", "token decode" and "jws verify" read 16 KiB, the limit
// of jose.DefaultMaxTokenSize that verifiers apply by default, unless
// --max-token-size says otherwise.
//
// Exit status: 0 on success; 1 when a token, key or input is rejected, with
// one line "latch: error: ..." on standard error naming the reason (never
// key material or the token); 2 on a usage error (unknown command or flag,
// missing required flag), with the usage on standard error. Help requested
// with "help", -h or --help goes to standard output with status 0.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"
)

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// version is the release, set with -ldflags "-X main.version=v1.2.3"; when
// empty, the module version recorded by the Go toolchain is printed.
var version string

// env is what a command may touch: its standard streams, the clock, the
// environment variables and a context that ends on SIGINT or SIGTERM.
type env struct {
	ctx            context.Context
	stdin          io.Reader
	stdout, stderr io.Writer
	now            func() time.Time
	getenv         func(string) string
	stdinUsedBy    string // what standard input was read for, if anything
}

// run executes the command line args and returns the exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return (&env{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr, now: time.Now, getenv: os.Getenv}).main(args)
}

// Exit statuses.
const (
	exitOK       = 0
	exitRejected = 1 // a token, key or input was refused
	exitUsage    = 2
)

// main dispatches args and turns the outcome into an exit status and at
// most one error line (plus the usage, for usage errors).
func (e *env) main(args []string) int {
	err := e.dispatch(rootCommand(), args)
	var uerr *usageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &uerr):
		fmt.Fprintf(e.stderr, "latch: error: %s\n", oneLine(uerr.msg))
		writeUsage(e.stderr, uerr.cmd)
		return exitUsage
	default:
		fmt.Fprintf(e.stderr, "latch: error: %s\n", errorText(err))
		return exitRejected
	}
}

// usageError is a command line that does not fit the command's usage.
type usageError struct {
	cmd *command
	msg string
}

func (e *usageError) Error() string { return e.msg }

func usagef(cmd *command, format string, args ...any) error {
	return &usageError{cmd: cmd, msg: fmt.Sprintf(format, args...)}
}

// errorText is err's message for a person: on one line, without the
// "jose: " and "jwt: " package prefixes that wrapped errors repeat.
func errorText(err error) string {
	s := oneLine(err.Error())
	for _, p := range []string{"jose: ", "jwt: "} {
		s = strings.TrimPrefix(s, p)
		s = strings.ReplaceAll(s, ": "+p, ": ")
	}
	return s
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func warn(w io.Writer, format string, args ...any) {
	fmt.Fprintf(w, "latch: warning: %s\n", oneLine(fmt.Sprintf(format, args...)))
}

// versionString is the version line "latch version" prints.
func versionString() string {
	v := version
	goVersion := "unknown Go"
	if info, ok := debug.ReadBuildInfo(); ok {
		goVersion = info.GoVersion
		if v == "" {
			v = info.Main.Version
		}
	}
	if v == "" {
		v = "(devel)"
	}
	return fmt.Sprintf("latch %s (%s)", v, goVersion)
}
