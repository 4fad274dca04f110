package password

import "errors"

// The kinds of failure a caller can branch on with errors.Is. Apart from a
// context error returned unchanged from a wait for a hashing slot, every
// error returned by this package matches exactly one of them. No error
// text ever contains a password, a salt or a hash.
var (
	// ErrInvalidParams reports Params or a concurrency limit given to New
	// that are outside the documented bounds.
	ErrInvalidParams = errors.New("password: invalid parameters")
	// ErrMalformedHash reports a stored hash that is not a canonical
	// Argon2id PHC string: wrong number of fields, parameters other than
	// exactly "m=…,t=…,p=…", a number with a sign or leading zero, or a
	// salt or hash that is not standard base64 without padding.
	ErrMalformedHash = errors.New("password: malformed hash")
	// ErrUnsupportedHash reports a well-formed PHC string that latch
	// refuses to compute: another algorithm (argon2i, argon2d, bcrypt…),
	// an Argon2 version other than 19 (0x13), or parameters outside the
	// limits documented on Verify, such as a memory cost that would let a
	// single stored hash exhaust the server's memory.
	ErrUnsupportedHash = errors.New("password: unsupported hash")
	// ErrWeakPassword reports a password refused by CheckPolicy (too
	// short, empty or only white space, not valid UTF-8, one of the
	// common passwords, or the account's own e-mail address or name), or
	// an empty password given to Hash.
	ErrWeakPassword = errors.New("password: password does not meet policy")
	// ErrPasswordTooLong reports a password longer than MaxBytes. Hash,
	// Verify and VerifyDummy refuse it before any hashing, so an attacker
	// cannot make the server hash megabytes of input.
	ErrPasswordTooLong = errors.New("password: password too long")
)
