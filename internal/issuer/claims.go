package issuer

// Custom claims: what an operator attaches to a user (store.User.Claims),
// the names latch keeps for itself, and where a token's bytes go.

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/latch-auth/latch/internal/strictjson"
)

// Limits on a user's custom claims. They keep a token well inside
// Config.MaxTokenSize's default; the size budget at issue is still the
// final word.
const (
	// MaxCustomClaims is the most custom claims a user may have.
	MaxCustomClaims = 32
	// MaxClaimNameLen is the longest custom claim name, in bytes.
	MaxClaimNameLen = 64
	// MaxClaimValueSize is the largest custom claim value, in bytes of
	// compact JSON.
	MaxClaimValueSize = 1 << 10
	// MaxCustomClaimsSize is the largest total of a user's custom claims:
	// the bytes of their compact JSON object.
	MaxCustomClaimsSize = 4 << 10
)

// Errors of custom claims; CheckClaims, IssueAccess and IssueID return
// them wrapped with the claim's name.
var (
	// ErrReservedClaim reports a custom claim with a name latch sets
	// itself or that has a meaning to verifiers (see ReservedClaims).
	ErrReservedClaim = errors.New("issuer: reserved claim name")
	// ErrInvalidClaims reports custom claims that break a rule other
	// than a reserved name: a malformed name, a value that is not one
	// strict JSON value, or a limit exceeded.
	ErrInvalidClaims = errors.New("issuer: invalid custom claims")
)

// reservedClaims are the claim names no custom claim may have.
// TestReservedClaimsCoverIssuedTokens checks that every claim the issuer
// writes, in access tokens and ID tokens, is among them, and
// internal/oauth's tests do the same for UserInfo.
var reservedClaims = map[string]bool{
	// Registered claims (RFC 7519 §4.1).
	"iss": true, "sub": true, "aud": true, "exp": true, "nbf": true, "iat": true, "jti": true,
	// Access tokens (RFC 9068 §2.2), and the DPoP binding (RFC 7800,
	// RFC 9449 §6).
	"client_id": true, "sid": true, "scope": true, "roles": true, "cnf": true,
	// ID tokens (OIDC Core §2) and the e-mail claims (§5.1), from the
	// account.
	"nonce": true, "auth_time": true, "at_hash": true, "amr": true, "azp": true,
	"email": true, "email_verified": true,
	// UserInfo with the scope profile (OIDC Core §5.3).
	"updated_at": true,
	// Not set by latch, but a verifier may act on them: the
	// authentication context class (OIDC Core §2), actor and delegation
	// (RFC 8693 §4.1, §4.4), and what makes a token look like a Security
	// Event Token (RFC 8417 §2.2, RFC 9493).
	"acr": true, "act": true, "may_act": true, "events": true, "sub_id": true,
}

// reservedPrefix starts claim names kept for latch's own use.
const reservedPrefix = "latch_"

// ReservedClaims returns the claim names a custom claim may not have,
// sorted: the registered claims (RFC 7519 §4.1), every claim latch writes
// in access tokens, ID tokens and UserInfo, and claims with a meaning to
// verifiers (acr, act, may_act, events, sub_id). Names starting with
// "latch_" are reserved too.
func ReservedClaims() []string { return slices.Sorted(maps.Keys(reservedClaims)) }

// IsReservedClaim reports whether name is reserved (see ReservedClaims).
func IsReservedClaim(name string) bool {
	return reservedClaims[name] || strings.HasPrefix(name, reservedPrefix)
}

// CheckClaims checks a user's custom claims before they are stored and
// again when a token is issued with them: at most MaxCustomClaims; each
// name 1 to MaxClaimNameLen bytes of ASCII letters, digits and "_-.:/"
// (so a collision-resistant URI name, RFC 7519 §4.2, is fine) and not
// reserved (ErrReservedClaim); each value exactly one JSON value that a
// strict reader accepts (valid UTF-8, no duplicate member names: latch's
// verifiers refuse a token with them), at most MaxClaimValueSize bytes
// compact; the whole at most MaxCustomClaimsSize bytes of compact JSON.
// Other failures are ErrInvalidClaims. Names are checked in sorted
// order, so the error is the same on every call.
func CheckClaims(claims map[string]json.RawMessage) error {
	if len(claims) > MaxCustomClaims {
		return fmt.Errorf("%w: %d claims, at most %d", ErrInvalidClaims, len(claims), MaxCustomClaims)
	}
	total := 1 // {
	for _, name := range slices.Sorted(maps.Keys(claims)) {
		if err := checkClaimName(name); err != nil {
			return err
		}
		v := claims[name]
		if err := strictjson.Validate(v); err != nil {
			return fmt.Errorf("%w: claim %s is not one JSON value: %v", ErrInvalidClaims, name, err)
		}
		var compact bytes.Buffer
		if err := json.Compact(&compact, v); err != nil {
			return fmt.Errorf("%w: claim %s is not one JSON value: %v", ErrInvalidClaims, name, err)
		}
		if n := compact.Len(); n > MaxClaimValueSize {
			return fmt.Errorf("%w: claim %s is %d bytes, at most %d", ErrInvalidClaims, name, n, MaxClaimValueSize)
		}
		total += len(name) + 3 + compact.Len() + 1 // "name":value and a comma or the }
	}
	if total = max(total, 2); total > MaxCustomClaimsSize {
		return fmt.Errorf("%w: the claims are %d bytes of JSON, at most %d", ErrInvalidClaims, total, MaxCustomClaimsSize)
	}
	return nil
}

// checkClaimName checks one custom claim name (see CheckClaims).
func checkClaimName(name string) error {
	if name == "" || len(name) > MaxClaimNameLen {
		return fmt.Errorf("%w: a claim name is 1 to %d bytes", ErrInvalidClaims, MaxClaimNameLen)
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("_-.:/", c) >= 0) {
			return fmt.Errorf("%w: claim name %q has a character other than ASCII letters, digits and _-.:/", ErrInvalidClaims, name)
		}
	}
	if IsReservedClaim(name) {
		return fmt.Errorf("%w: %q is set by latch or has a meaning to verifiers", ErrReservedClaim, name)
	}
	return nil
}

// ClaimSize is the room one top-level claim takes in a token.
type ClaimSize struct {
	// Name is the claim's name.
	Name string
	// Bytes is the length of the member `"name":value` in the JSON
	// payload as written; base64url adds a third to it in the token.
	Bytes int
}

// ClaimSizes returns the size of each top-level member of a JSON object
// payload, largest first (equal sizes by name). It refuses a payload
// that is not one strict JSON object.
func ClaimSizes(payload []byte) ([]ClaimSize, error) {
	if err := strictjson.Validate(payload); err != nil {
		return nil, fmt.Errorf("issuer: payload: %w", err)
	}
	var sizes []ClaimSize
	o := strictjson.NewObject(payload)
	for o.Next(payload) {
		name := string(strictjson.Unquote(payload, o.NameValue(), nil))
		sizes = append(sizes, ClaimSize{Name: name, Bytes: o.Value().End - o.NameValue().Start})
	}
	if err := o.Err(); err != nil {
		return nil, fmt.Errorf("issuer: payload: %w", err)
	}
	slices.SortFunc(sizes, func(a, b ClaimSize) int {
		return cmp.Or(cmp.Compare(b.Bytes, a.Bytes), strings.Compare(a.Name, b.Name))
	})
	return sizes, nil
}

// TokenClaimSizes is ClaimSizes of the payload of a compact JWS.
func TokenClaimSizes(token string) ([]ClaimSize, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("issuer: not a compact JWS")
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, fmt.Errorf("issuer: payload: %w", err)
	}
	return ClaimSizes(payload)
}

// largestClaims describes the n largest claims of token for a log
// ("roles:1204 dept:40"), names and sizes only: values may be secrets or
// personal data.
func largestClaims(token string, n int) string {
	sizes, err := TokenClaimSizes(token)
	if err != nil {
		return ""
	}
	var b strings.Builder
	for i, s := range sizes[:min(n, len(sizes))] {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s:%d", s.Name, s.Bytes)
	}
	return b.String()
}
