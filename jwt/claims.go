package jwt

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"
	"unsafe"

	"github.com/latch-auth/latch/internal/strictjson"
	"github.com/latch-auth/latch/jose"
)

// Claims is a JWT claims set (RFC 7519 §4): the registered claims, the
// access-token claims latch issues (RFC 9068 §2.2), the ID-token claims of
// OpenID Connect (OIDC Core §2, §5.1), and any others.
//
// Times are whole seconds on the wire (NumericDate); a zero time.Time means
// the claim is absent, as does an empty string.
type Claims struct {
	Issuer    string    // "iss"
	Subject   string    // "sub"
	Audience  Audience  // "aud": one value is written as a string, several as an array
	ExpiresAt time.Time // "exp"
	NotBefore time.Time // "nbf"
	IssuedAt  time.Time // "iat"
	ID        string    // "jti"

	ClientID  string   // "client_id" (RFC 9068 §2.2)
	SessionID string   // "sid": the login session the token belongs to
	Scope     string   // "scope": space-separated scopes (RFC 8693 §4.2)
	Roles     []string // "roles" (RFC 9068 §2.2.3.1)

	Nonce           string    // "nonce": the authentication request's nonce (OIDC Core §2)
	AuthTime        time.Time // "auth_time": when the user last authenticated (OIDC Core §2)
	AccessTokenHash string    // "at_hash": half of the access token's hash (OIDC Core §3.1.3.6)
	AMR             []string  // "amr": authentication methods (OIDC Core §2, RFC 8176)
	AuthorizedParty string    // "azp": the client the ID token was issued to (OIDC Core §2)
	Email           string    // "email" (OIDC Core §5.1)
	// EmailVerified is "email_verified" (OIDC Core §5.1). It is written
	// when true or when Email is set, so that false is only left out
	// together with the address it is about.
	EmailVerified bool

	// Extra holds further claims for Sign: a struct or map that
	// encoding/json marshals to a JSON object. Its members must not repeat a
	// claim above. Parse leaves it nil; use Decode to read other claims.
	Extra any

	raw []byte // verified payload, set by Parse
}

// Audience is the "aud" claim: the recipients the token is meant for.
type Audience []string

// Contains reports whether aud names s.
func (aud Audience) Contains(s string) bool { return slices.Contains(aud, s) }

// HasScope reports whether the space-separated "scope" claim contains s.
func (c *Claims) HasScope(s string) bool {
	if s == "" {
		return false
	}
	rest := c.Scope
	for rest != "" {
		var tok string
		if i := indexSpace(rest); i >= 0 {
			tok, rest = rest[:i], rest[i+1:]
		} else {
			tok, rest = rest, ""
		}
		if tok == s {
			return true
		}
	}
	return false
}

func indexSpace(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' {
			return i
		}
	}
	return -1
}

// HasRole reports whether the "roles" claim contains r.
func (c *Claims) HasRole(r string) bool { return slices.Contains(c.Roles, r) }

// Raw returns a copy of the verified payload bytes the claims were parsed
// from, or nil for claims that were not produced by Parse. The claims'
// strings share memory with the payload, so Raw copies it: the caller may
// do as it likes with the result, and the claims (and any copies of them,
// such as those a verifier caches) stay as they were verified.
func (c *Claims) Raw() []byte { return bytes.Clone(c.raw) }

// Decode unmarshals the verified payload into v with encoding/json, for
// claims beyond the typed fields. The payload has already passed strict
// parsing, so it holds no duplicate names.
func (c *Claims) Decode(v any) error {
	if c.raw == nil {
		return fmt.Errorf("%w: claims were not produced by Parse", ErrMalformed)
	}
	if err := json.Unmarshal(c.raw, v); err != nil {
		return fmt.Errorf("jwt: decoding claims: %w", err)
	}
	return nil
}

// registered lists the claim names Claims owns; Extra may not repeat them.
var registered = [...]string{
	"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id", "sid", "scope", "roles",
	"nonce", "auth_time", "at_hash", "amr", "azp", "email", "email_verified",
}

// maxNumericDate is 9999-12-31T23:59:59Z; later or negative times are
// refused as malformed.
const maxNumericDate = 253402300799

// appendJSON writes the claims set as a JSON object. It is written as
// plain appends on dst (no writer struct) so that a caller's stack buffer
// stays on the stack.
func (c *Claims) appendJSON(dst []byte) ([]byte, error) {
	dst = append(dst, '{')
	start := len(dst)
	var err error
	for _, m := range [...]struct{ name, v string }{{"iss", c.Issuer}, {"sub", c.Subject}} {
		if dst, err = appendStringClaim(dst, start, m.name, m.v); err != nil {
			return nil, err
		}
	}
	switch len(c.Audience) {
	case 0:
	case 1:
		dst, err = strictjson.AppendQuoted(appendName(dst, start, "aud"), c.Audience[0])
	default:
		dst, err = appendListClaim(dst, start, "aud", c.Audience)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: claim aud is not valid UTF-8", ErrMalformed)
	}
	for _, m := range [...]struct {
		name string
		t    time.Time
	}{{"exp", c.ExpiresAt}, {"nbf", c.NotBefore}, {"iat", c.IssuedAt}} {
		if m.t.IsZero() {
			continue
		}
		if dst, err = appendDateClaim(dst, start, m.name, m.t); err != nil {
			return nil, err
		}
	}
	for _, m := range [...]struct{ name, v string }{{"jti", c.ID}, {"client_id", c.ClientID}, {"sid", c.SessionID}, {"scope", c.Scope}} {
		if dst, err = appendStringClaim(dst, start, m.name, m.v); err != nil {
			return nil, err
		}
	}
	if c.Roles != nil {
		if dst, err = appendListClaim(dst, start, "roles", c.Roles); err != nil {
			return nil, err
		}
	}
	if dst, err = appendStringClaim(dst, start, "nonce", c.Nonce); err != nil {
		return nil, err
	}
	if !c.AuthTime.IsZero() {
		if dst, err = appendDateClaim(dst, start, "auth_time", c.AuthTime); err != nil {
			return nil, err
		}
	}
	if dst, err = appendStringClaim(dst, start, "at_hash", c.AccessTokenHash); err != nil {
		return nil, err
	}
	if c.AMR != nil {
		if dst, err = appendListClaim(dst, start, "amr", c.AMR); err != nil {
			return nil, err
		}
	}
	for _, m := range [...]struct{ name, v string }{{"azp", c.AuthorizedParty}, {"email", c.Email}} {
		if dst, err = appendStringClaim(dst, start, m.name, m.v); err != nil {
			return nil, err
		}
	}
	if c.EmailVerified || c.Email != "" {
		dst = strconv.AppendBool(appendName(dst, start, "email_verified"), c.EmailVerified)
	}
	if c.Extra != nil {
		if dst, err = appendExtra(dst, start, c.Extra); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

// appendName writes `"name":`, preceded by a comma unless it is the first
// member after the '{' at start-1.
func appendName(dst []byte, start int, name string) []byte {
	if len(dst) > start {
		dst = append(dst, ',')
	}
	dst = append(dst, '"')
	dst = append(dst, name...)
	return append(dst, '"', ':')
}

// appendDateClaim writes t as a NumericDate of whole seconds.
func appendDateClaim(dst []byte, start int, name string, t time.Time) ([]byte, error) {
	sec := t.Unix()
	if sec < 0 || sec > maxNumericDate {
		return nil, fmt.Errorf("%w: %s %v is outside 1970..9999", ErrMalformed, name, t)
	}
	return strconv.AppendInt(appendName(dst, start, name), sec, 10), nil
}

func appendStringClaim(dst []byte, start int, name, v string) ([]byte, error) {
	if v == "" {
		return dst, nil
	}
	dst, err := strictjson.AppendQuoted(appendName(dst, start, name), v)
	if err != nil {
		return nil, fmt.Errorf("%w: claim %s is not valid UTF-8", ErrMalformed, name)
	}
	return dst, nil
}

func appendListClaim(dst []byte, start int, name string, vs []string) ([]byte, error) {
	dst = append(appendName(dst, start, name), '[')
	for i, v := range vs {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = strictjson.AppendQuoted(dst, v); err != nil {
			return nil, fmt.Errorf("%w: claim %s is not valid UTF-8", ErrMalformed, name)
		}
	}
	return append(dst, ']'), nil
}

// appendExtra splices the members of the marshalled Extra value into the
// object.
func appendExtra(dst []byte, start int, v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("jwt: marshalling extra claims: %w", err)
	}
	o := strictjson.NewObject(b)
	for o.Next(b) {
		name := o.Name(b)
		if slices.Contains(registered[:], string(name)) {
			return nil, fmt.Errorf("%w: extra claims repeat %q, set the Claims field instead", ErrMalformed, name)
		}
		if len(dst) > start {
			dst = append(dst, ',')
		}
		dst = append(dst, o.NameValue().Raw(b)...)
		dst = append(dst, ':')
		dst = append(dst, o.Value().Raw(b)...)
	}
	if err := o.Err(); err != nil {
		return nil, fmt.Errorf("%w: extra claims must marshal to a JSON object: %v", ErrMalformed, err)
	}
	return dst, nil
}

// parseClaims decodes a verified payload without reflection. String claims
// without escapes alias the payload, which the caller hands over and never
// modifies.
func parseClaims(payload []byte) (Claims, error) {
	var c Claims
	if decodeClaimsFast(payload, &c) {
		return c, nil
	}
	c = Claims{}
	if err := parseGeneral(payload, &c); err != nil {
		return Claims{}, err
	}
	return c, nil
}

// parseGeneral is parseClaims with the strict general JSON reader, for any
// payload: the only path that refuses one.
func parseGeneral(payload []byte, out *Claims) error {
	var c Claims
	if len(payload) == 0 {
		return fmt.Errorf("%w: empty claims set", ErrMalformed)
	}
	// The payload is never written again, so strings may share it.
	s := unsafe.String(&payload[0], len(payload))
	o := strictjson.NewObject(payload)
	for o.Next(payload) {
		v := o.Value()
		var err error
		switch string(o.Name(payload)) {
		case "iss":
			c.Issuer, err = str(s, payload, v, "iss")
		case "sub":
			c.Subject, err = str(s, payload, v, "sub")
		case "jti":
			c.ID, err = str(s, payload, v, "jti")
		case "client_id":
			c.ClientID, err = str(s, payload, v, "client_id")
		case "sid":
			c.SessionID, err = str(s, payload, v, "sid")
		case "scope":
			c.Scope, err = str(s, payload, v, "scope")
		case "aud":
			if v.Kind == strictjson.String {
				var a string
				a, err = str(s, payload, v, "aud")
				c.Audience = Audience{a}
			} else {
				c.Audience, err = strs(s, payload, v, "aud")
			}
		case "roles":
			c.Roles, err = strs(s, payload, v, "roles")
		case "exp":
			c.ExpiresAt, err = numericDate(payload, v, "exp")
		case "nbf":
			c.NotBefore, err = numericDate(payload, v, "nbf")
		case "iat":
			c.IssuedAt, err = numericDate(payload, v, "iat")
		case "nonce":
			c.Nonce, err = str(s, payload, v, "nonce")
		case "auth_time":
			c.AuthTime, err = numericDate(payload, v, "auth_time")
		case "at_hash":
			c.AccessTokenHash, err = str(s, payload, v, "at_hash")
		case "amr":
			c.AMR, err = strs(s, payload, v, "amr")
		case "azp":
			c.AuthorizedParty, err = str(s, payload, v, "azp")
		case "email":
			c.Email, err = str(s, payload, v, "email")
		case "email_verified":
			c.EmailVerified, err = boolean(v, "email_verified")
		}
		if err != nil {
			return err
		}
	}
	if err := o.Err(); err != nil {
		return claimsErr(err)
	}
	c.raw = payload
	*out = c
	return nil
}

func claimsErr(err error) error {
	if errorsIsDuplicate(err) {
		return fmt.Errorf("%w: %w: claims: %v", ErrMalformed, jose.ErrDuplicateMember, err)
	}
	return fmt.Errorf("%w: claims: %v", ErrMalformed, err)
}

func str(s string, payload []byte, v strictjson.Value, name string) (string, error) {
	if v.Kind != strictjson.String {
		return "", fmt.Errorf("%w: claim %s is not a string", ErrMalformed, name)
	}
	if !v.Escaped {
		i, j := v.Inner()
		return s[i:j], nil
	}
	return string(strictjson.Unquote(payload, v, nil)), nil
}

func strs(s string, payload []byte, v strictjson.Value, name string) ([]string, error) {
	if v.Kind != strictjson.ArrayKind {
		return nil, fmt.Errorf("%w: claim %s is not an array of strings", ErrMalformed, name)
	}
	var small [8]string
	out := small[:0]
	a := strictjson.NewArrayAt(payload, v)
	for a.Next(payload) {
		e, err := str(s, payload, a.Value(), name)
		if err != nil {
			return nil, fmt.Errorf("%w: claim %s is not an array of strings", ErrMalformed, name)
		}
		out = append(out, e)
	}
	if err := a.Err(); err != nil {
		return nil, claimsErr(err)
	}
	return append([]string(nil), out...), nil
}

func boolean(v strictjson.Value, name string) (bool, error) {
	switch v.Kind {
	case strictjson.True:
		return true, nil
	case strictjson.False:
		return false, nil
	}
	return false, fmt.Errorf("%w: claim %s is not a boolean", ErrMalformed, name)
}

// numericDate reads seconds since the epoch (RFC 7519 §2), integer or not.
func numericDate(payload []byte, v strictjson.Value, name string) (time.Time, error) {
	if v.Kind != strictjson.Number {
		return time.Time{}, fmt.Errorf("%w: claim %s is not a number", ErrMalformed, name)
	}
	raw := v.Raw(payload)
	var sec, nsec int64
	if n, ok := parseUint(raw); ok {
		sec = n
	} else {
		f, err := strconv.ParseFloat(string(raw), 64)
		if err != nil || f < 0 || f > maxNumericDate {
			return time.Time{}, fmt.Errorf("%w: claim %s is out of range", ErrMalformed, name)
		}
		sec = int64(f)
		nsec = int64((f - float64(sec)) * 1e9)
	}
	if sec > maxNumericDate {
		return time.Time{}, fmt.Errorf("%w: claim %s is out of range", ErrMalformed, name)
	}
	return time.Unix(sec, nsec), nil
}

// parseUint parses a plain run of at most 15 digits.
func parseUint(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}
