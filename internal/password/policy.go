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
// characters (code points) and at most MaxBytes bytes, not one of the
// common passwords latch ships (see below), and not one of identifiers,
// the names the account is known by (its e-mail address, say), nor the
// part of one before its last "@". In line with NIST SP 800-63B §5.1.1.2
// there are no composition rules (required digits, symbols or cases) and
// spaces and all Unicode characters are allowed.
//
// The common passwords, which NIST SP 800-63B §5.1.1.2 requires refusing
// ("passwords obtained from previous breach corpuses", "commonly-used,
// expected, or compromised"), are the 15,769 of at least MinLength
// characters among the 47,023 most common of a ten-million-password
// corpus (common_passwords.md has the source and licence). They and
// identifiers are compared ignoring case and white space at either end.
// The list is built into the binary and looked up in a set, so a check
// costs well under a microsecond.
//
// CheckPolicy returns ErrPasswordTooLong or ErrWeakPassword, whose text
// says which rule failed ("this password is too common") without quoting
// the password or an identifier.
func CheckPolicy(password string, identifiers ...string) error {
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
	folded := foldPassword(password)
	if isCommon(folded) {
		return fmt.Errorf("%w: this password is too common", ErrWeakPassword)
	}
	for _, id := range identifiers {
		id = foldPassword(id)
		if id == "" {
			continue
		}
		local := id
		if at := strings.LastIndexByte(id, '@'); at >= 0 {
			local = id[:at]
		}
		if folded == id || folded == local {
			return fmt.Errorf("%w: the same as the account's e-mail address or name", ErrWeakPassword)
		}
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
