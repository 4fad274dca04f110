package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/latch-auth/latch/jose"
)

// Size limits on what latch reads.
const (
	maxKeySize     = 1 << 20  // a key file: JWK, JWK Set or PEM
	maxClaimsSize  = 1 << 20  // a claims object
	maxPayloadSize = 16 << 20 // a payload for "jws sign"
	// maxJWSSize holds the compact form (4/3 of the payload, plus header
	// and signature) of the largest payload "jws sign" accepts, so that
	// whatever it signs "jws verify --max-token-size" can check. It is the
	// most --max-token-size allows.
	maxJWSSize = 22 << 20
)

// tokenSizeFlag is --max-token-size, of the commands that read a token:
// the largest token they accept, jose.DefaultMaxTokenSize (16 KiB) unless
// raised, as every verifier built on the library accepts by default.
type tokenSizeFlag struct{ n *int }

func addTokenSizeFlag(fs *flag.FlagSet) tokenSizeFlag {
	return tokenSizeFlag{fs.Int("max-token-size", jose.DefaultMaxTokenSize,
		fmt.Sprintf("refuse tokens over `N` bytes; the library default, at most %d", maxJWSSize))}
}

// value returns the limit, or a usage error for one out of range.
func (f tokenSizeFlag) value(c *command) (int, error) {
	if n := *f.n; n < 1 || n > maxJWSSize {
		return 0, usagef(c, "--max-token-size must be from 1 to %d bytes", maxJWSSize)
	}
	return *f.n, nil
}

// errTooLarge reports an input over its size limit.
type errTooLarge struct {
	label string
	max   int
}

func (e *errTooLarge) Error() string {
	return fmt.Sprintf("%s is larger than %s", e.label, sizeText(e.max))
}

// readInput reads name, or standard input for "-", refusing more than max
// bytes. what names the input in errors ("key", "payload").
func (e *env) readInput(name, what string, max int) ([]byte, error) {
	r := e.stdin
	label := what + " from standard input"
	if name == "-" {
		if e.stdinUsedBy != "" {
			return nil, fmt.Errorf("cannot read the %s from standard input: it holds the %s", what, e.stdinUsedBy)
		}
		e.stdinUsedBy = what
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, unwrapPathError(err))
		}
		defer f.Close()
		r = f
		label = fmt.Sprintf("%s file %s", what, name)
	}
	data, err := io.ReadAll(io.LimitReader(r, int64(max)+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", label, unwrapPathError(err))
	}
	if len(data) > max {
		return nil, &errTooLarge{label: label, max: max}
	}
	return data, nil
}

// readToken returns the token given as arg, or read from standard input
// for "-", with surrounding white space removed. A token over max bytes
// is refused, with a hint at --max-token-size.
func (e *env) readToken(arg string, max int) (string, error) {
	if arg != "-" && strings.Count(arg, ".") < 2 && fileExists(arg) {
		return "", fmt.Errorf("%q is a file, but TOKEN is the token itself: use '- < %s'", truncate(arg, 64), truncate(arg, 64))
	}
	const hint = "%w (--max-token-size raises the limit)"
	if arg != "-" {
		tok := strings.TrimSpace(arg)
		if len(tok) > max {
			return "", fmt.Errorf(hint, &errTooLarge{label: "token", max: max})
		}
		return tok, nil
	}
	// Room for the line break (and some white space) after a token of
	// exactly max bytes.
	const slack = 64
	tooLarge := fmt.Errorf(hint, &errTooLarge{label: "token from standard input", max: max})
	data, err := e.readInput("-", "token", max+slack)
	if tl := (*errTooLarge)(nil); errors.As(err, &tl) {
		return "", tooLarge
	}
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(string(data))
	switch {
	case tok == "":
		return "", fmt.Errorf("no token on standard input")
	case len(tok) > max:
		return "", tooLarge
	}
	return tok, nil
}

// unwrapPathError drops the operation and path of an *os.PathError, which
// the caller's message already names.
func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return fmt.Errorf("%s: %w", pe.Path, pe.Err)
	}
	return err
}

func sizeText(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

func fileExists(name string) bool {
	_, err := os.Stat(name)
	return err == nil
}
