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

	// Confirmation is "cnf" (RFC 7800): the key the token is bound to.
	// latch reads and writes its "jkt" member only (RFC 9449 §6.1);
	// other confirmation methods are ignored.
	Confirmation Confirmation

	// Extra holds further claims for Sign: a struct or map that
	// encoding/json marshals to a JSON object. Its members must not repeat a
	// claim above. Parse leaves it nil; use Decode to read other claims.
	Extra any

	raw []byte // verified payload, set by Parse
}

// Confirmation is the "cnf" claim's content that latch understands.
type Confirmation struct {
	// JKT is "jkt": the base64url SHA-256 JWK thumbprint (RFC 7638) of the
	// DPoP key the token is bound to (RFC 9449 §6.1). Empty means the token
	// is not bound to a DPoP key.
	JKT string
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

// claimID is a claim Claims owns: its index in claimTable, and its bit in
// the fast decoder's set of the claims it has read.
type claimID uint8

const (
	claimIss claimID = iota
	claimSub
	claimAud
	claimExp
	claimNbf
	claimIat
	claimJti
	claimClientID
	claimSid
	claimScope
	claimRoles
	claimNonce
	claimAuthTime
	claimAtHash
	claimAMR
	claimAzp
	claimEmail
	claimEmailVerified
	claimCnf
	numClaims

	// claimOther is any other name: one of Extra's, or unknown.
	claimOther = numClaims
)

// The fast decoder keeps one bit per claim in a uint32: this constant
// overflows, and the package stops compiling, past 32 claims.
const _ uint32 = 1<<numClaims - 1

// claimKind is a claim's JSON type, and when Sign leaves it out.
type claimKind uint8

const (
	kindString   claimKind = iota // a string; left out when empty
	kindDate                      // a NumericDate; left out when zero
	kindList                      // an array of strings; left out when nil
	kindAudience                  // one string, or an array of several; left out when empty
	kindBool                      // true or false; see Claims.EmailVerified
	kindCnf                       // {"jkt": string}; left out when the string is empty
)

// claimTable is the one list of the claims Claims owns, in the order Sign
// writes them. The encoder (appendJSON), both decoders (parseGeneral,
// decodeClaimsFast) and the check that Extra repeats none of them read it;
// Claims.field maps each to its field.
var claimTable = [numClaims]struct {
	name string
	kind claimKind
}{
	claimIss:           {"iss", kindString},
	claimSub:           {"sub", kindString},
	claimAud:           {"aud", kindAudience},
	claimExp:           {"exp", kindDate},
	claimNbf:           {"nbf", kindDate},
	claimIat:           {"iat", kindDate},
	claimJti:           {"jti", kindString},
	claimClientID:      {"client_id", kindString},
	claimSid:           {"sid", kindString},
	claimScope:         {"scope", kindString},
	claimRoles:         {"roles", kindList},
	claimNonce:         {"nonce", kindString},
	claimAuthTime:      {"auth_time", kindDate},
	claimAtHash:        {"at_hash", kindString},
	claimAMR:           {"amr", kindList},
	claimAzp:           {"azp", kindString},
	claimEmail:         {"email", kindString},
	claimEmailVerified: {"email_verified", kindBool},
	claimCnf:           {"cnf", kindCnf},
}

// claimByName finds a claim of claimTable by its name.
var claimByName = func() map[string]claimID {
	m := make(map[string]claimID, numClaims)
	for id, c := range claimTable {
		m[c.name] = claimID(id)
	}
	return m
}()

// field points at the field that holds claim id: the one result of the
// claim's kind (kindAudience's is l) is not nil.
func (c *Claims) field(id claimID) (s *string, t *time.Time, l *[]string, b *bool) {
	switch id {
	case claimIss:
		s = &c.Issuer
	case claimSub:
		s = &c.Subject
	case claimAud:
		l = (*[]string)(&c.Audience)
	case claimExp:
		t = &c.ExpiresAt
	case claimNbf:
		t = &c.NotBefore
	case claimIat:
		t = &c.IssuedAt
	case claimJti:
		s = &c.ID
	case claimClientID:
		s = &c.ClientID
	case claimSid:
		s = &c.SessionID
	case claimScope:
		s = &c.Scope
	case claimRoles:
		l = &c.Roles
	case claimNonce:
		s = &c.Nonce
	case claimAuthTime:
		t = &c.AuthTime
	case claimAtHash:
		s = &c.AccessTokenHash
	case claimAMR:
		l = &c.AMR
	case claimAzp:
		s = &c.AuthorizedParty
	case claimEmail:
		s = &c.Email
	case claimEmailVerified:
		b = &c.EmailVerified
	case claimCnf:
		s = &c.Confirmation.JKT
	}
	return s, t, l, b
}

// maxNumericDate is 9999-12-31T23:59:59Z; later or negative times are
// refused as malformed.
const maxNumericDate = 253402300799

// appendJSON writes the claims set as a JSON object, the claims of
// claimTable in its order, then Extra's. It is written as plain appends on
// dst (no writer struct) so that a caller's stack buffer stays on the
// stack.
func (c *Claims) appendJSON(dst []byte) ([]byte, error) {
	dst = append(dst, '{')
	start := len(dst)
	var err error
	for id := range numClaims {
		name := claimTable[id].name
		s, t, l, b := c.field(id)
		switch claimTable[id].kind {
		case kindString:
			dst, err = appendStringClaim(dst, start, name, *s)
		case kindDate:
			if !t.IsZero() {
				dst, err = appendDateClaim(dst, start, name, *t)
			}
		case kindList:
			if *l != nil {
				dst, err = appendListClaim(dst, start, name, *l)
			}
		case kindAudience:
			switch len(*l) {
			case 0:
			case 1:
				if dst, err = strictjson.AppendQuoted(appendName(dst, start, name), (*l)[0]); err != nil {
					err = fmt.Errorf("%w: claim %s is not valid UTF-8", ErrMalformed, name)
				}
			default:
				dst, err = appendListClaim(dst, start, name, *l)
			}
		case kindBool:
			// Written when true, or with the claim it is about
			// (Claims.EmailVerified).
			if *b || c.Email != "" {
				dst = strconv.AppendBool(appendName(dst, start, name), *b)
			}
		case kindCnf:
			if *s != "" {
				dst = append(appendName(dst, start, name), '{')
				dst, err = appendStringClaim(dst, len(dst), "jkt", *s)
				dst = append(dst, '}')
			}
		}
		if err != nil {
			return nil, err
		}
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
		if _, ok := claimByName[string(name)]; ok {
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
		id, ok := claimByName[string(o.Name(payload))]
		if !ok {
			continue
		}
		v := o.Value()
		name := claimTable[id].name
		sf, tf, lf, bf := c.field(id)
		var err error
		switch claimTable[id].kind {
		case kindString:
			*sf, err = str(s, payload, v, name)
		case kindDate:
			*tf, err = numericDate(payload, v, name)
		case kindList:
			*lf, err = strs(s, payload, v, name)
		case kindAudience:
			if v.Kind == strictjson.String {
				var a string
				a, err = str(s, payload, v, name)
				*lf = []string{a}
			} else {
				*lf, err = strs(s, payload, v, name)
			}
		case kindBool:
			*bf, err = boolean(v, name)
		case kindCnf:
			*sf, err = confirmation(s, payload, v, name)
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

// confirmation reads the "jkt" member of a "cnf" object (RFC 7800 §3.1);
// other members are skipped.
func confirmation(s string, payload []byte, v strictjson.Value, name string) (string, error) {
	if v.Kind != strictjson.ObjectKind {
		return "", fmt.Errorf("%w: claim %s is not an object", ErrMalformed, name)
	}
	var jkt string
	o := strictjson.NewObjectAt(payload, v)
	for o.Next(payload) {
		if string(o.Name(payload)) != "jkt" {
			continue
		}
		var err error
		if jkt, err = str(s, payload, o.Value(), name+".jkt"); err != nil {
			return "", err
		}
	}
	if err := o.Err(); err != nil {
		return "", claimsErr(err)
	}
	return jkt, nil
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
