package password

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Password length limits of CheckPolicy, after NIST SP 800-63B §5.1.1.2
// ("Memorized Secret Verifiers"): at least 8 characters, and at least 64
// must be allowed.
const (
	// MinLength is the minimum length of a new password in Unicode code
	// points.
	MinLength = 8
	// MaxBytes is the maximum length of any password in bytes (at least
	// 256 characters of any script). It bounds the input Hash, Verify and
	// VerifyDummy will hash.
	MaxBytes = 1024
)

// CheckPolicy reports whether password may be set as a new password: it
// must be valid UTF-8, not empty or only white space, at least MinLength
// characters (code points) and at most MaxBytes bytes. In line with NIST
// SP 800-63B §5.1.1.2 there are no composition rules (required digits,
// symbols or cases) and spaces and all Unicode characters are allowed.
// The package does not normalize Unicode or check breached-password lists;
// a caller that does so runs it before CheckPolicy.
//
// CheckPolicy returns ErrPasswordTooLong or ErrWeakPassword, whose text
// says which rule failed without quoting the password.
func CheckPolicy(password string) error {
	if err := checkLength(password); err != nil {
		return err
	}
	switch {
	case !utf8.ValidString(password):
		return fmt.Errorf("%w: not valid UTF-8", ErrWeakPassword)
	case strings.TrimFunc(password, unicode.IsSpace) == "":
		return fmt.Errorf("%w: empty or only white space", ErrWeakPassword)
	case utf8.RuneCountInString(password) < MinLength:
		return fmt.Errorf("%w: shorter than %d characters", ErrWeakPassword, MinLength)
	}
	return nil
}

// checkLength returns ErrPasswordTooLong for a password over MaxBytes.
func checkLength(password string) error {
	if len(password) > MaxBytes {
		return fmt.Errorf("%w: longer than %d bytes", ErrPasswordTooLong, MaxBytes)
	}
	return nil
}
