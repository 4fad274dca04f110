package main

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// Size limits on what latch reads.
const (
	maxKeySize     = 1 << 20  // a key file: JWK, JWK Set or PEM
	maxClaimsSize  = 1 << 20  // a claims object
	maxPayloadSize = 16 << 20 // a payload for "jws sign"
	maxTokenSize   = 64 << 10 // a JWT
	// maxJWSSize holds the compact form (4/3 of the payload, plus header
	// and signature) of the largest payload "jws sign" accepts, so that
	// whatever it signs "jws verify" can check.
	maxJWSSize = 22 << 20
)

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
		return nil, fmt.Errorf("%s is larger than %s", label, sizeText(max))
	}
	return data, nil
}

// readToken returns the token given as arg, or read from standard input
// for "-", with surrounding white space removed.
func (e *env) readToken(arg string, max int) (string, error) {
	if arg != "-" && strings.Count(arg, ".") < 2 && fileExists(arg) {
		return "", fmt.Errorf("%q is a file, but TOKEN is the token itself: use '- < %s'", truncate(arg, 64), truncate(arg, 64))
	}
	if arg != "-" {
		tok := strings.TrimSpace(arg)
		if len(tok) > max {
			return "", fmt.Errorf("token is larger than %s", sizeText(max))
		}
		return tok, nil
	}
	data, err := e.readInput("-", "token", max)
	if err != nil {
		return "", err
	}
	tok := strings.TrimSpace(string(data))
	if tok == "" {
		return "", fmt.Errorf("no token on standard input")
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
