package jose

import "errors"

// The kinds of failure a caller can branch on with errors.Is. Every error
// returned by this package matches exactly one of them (a more specific
// cause, such as ErrNonCanonical or ErrDuplicateMember, also matches
// ErrMalformed).
var (
	// ErrMalformed reports input that is not a well-formed compact JWS,
	// JWK, JWK Set or PEM key.
	ErrMalformed = errors.New("jose: malformed input")
	// ErrNonCanonical reports base64url that is padded, uses the standard
	// alphabet, contains white space or has non-zero trailing bits, and
	// JWK integers with leading zero octets (RFC 7518 §6.3.1). It also
	// matches ErrMalformed.
	ErrNonCanonical = errors.New("jose: non-canonical base64url")
	// ErrDuplicateMember reports a JSON object with a repeated member
	// name. It also matches ErrMalformed.
	ErrDuplicateMember = errors.New("jose: duplicate JSON member")
	// ErrTooLarge reports a token over the configured size limit.
	ErrTooLarge = errors.New("jose: token too large")
	// ErrUnsupportedAlgorithm reports an algorithm latch does not
	// implement, including "none" in any letter case.
	ErrUnsupportedAlgorithm = errors.New("jose: unsupported algorithm")
	// ErrAlgorithmMismatch reports a header alg that differs from the
	// algorithm the selected key is pinned to.
	ErrAlgorithmMismatch = errors.New("jose: algorithm does not match key")
	// ErrUnknownKey reports a token whose key is not in the trusted set.
	ErrUnknownKey = errors.New("jose: unknown key")
	// ErrSignature reports a signature that does not verify, including one
	// of the wrong length or, for ECDSA, with r or s outside [1, n-1].
	ErrSignature = errors.New("jose: invalid signature")
	// ErrCritical reports a header that needs an extension latch does
	// not implement: any "crit" entry, or "b64": false (RFC 7797).
	ErrCritical = errors.New("jose: unsupported critical header")
	// ErrInvalidKey reports key material that is refused: too short or
	// too small, not on its curve, inconsistent, weak (an RSA modulus
	// with the ROCA fingerprint), or of the wrong kind for the operation;
	// and key sets that are refused: duplicate key IDs, or HMAC secrets
	// mixed with public keys.
	ErrInvalidKey = errors.New("jose: invalid key")
)
